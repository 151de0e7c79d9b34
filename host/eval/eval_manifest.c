/* The manifest beside a results CSV (<csv>.json, gpd/eval.h): the settings
 * that change the numbers, the full selection of images and the shard, so
 * that resuming with other settings is refused and a merge can tell which
 * images no shard evaluated.
 *
 *   {"format": "gpdeblur-eval", "version": 1, "shard": [K, N],
 *    "settings": {"alg": "1", ...}, "info": {"dataset": "celeba", ...},
 *    "files": ["008001.jpg", ...]} */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/json_parse.h"
#include "gpd/common.h"
#include "gpd/eval.h"
#include "gpd/repo_path.h"

#define FORMAT_NAME "gpdeblur-eval"
#define FORMAT_VERSION 1

static int kv_set(gpd_eval_kv *kv, int *n, int max, const char *key, const char *fmt, va_list ap) {
  if (strlen(key) >= sizeof kv[0].key) return gpd_error("manifest key '%s' is too long", key);
  int i = 0;
  while (i < *n && strcmp(kv[i].key, key)) i++;
  if (i == *n) {
    if (*n == max) return gpd_error("too many manifest entries (adding '%s')", key);
    (*n)++;
  }
  snprintf(kv[i].key, sizeof kv[i].key, "%s", key);
  int len = vsnprintf(kv[i].value, sizeof kv[i].value, fmt, ap);
  if (len < 0 || (size_t)len >= sizeof kv[i].value) return gpd_error("manifest value of '%s' is too long", key);
  return 0;
}

int gpd_eval_manifest_set(gpd_eval_manifest *m, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = kv_set(m->settings, &m->n_settings, GPD_EVAL_MAX_SETTINGS, key, fmt, ap);
  va_end(ap);
  return rc;
}

int gpd_eval_manifest_info(gpd_eval_manifest *m, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = kv_set(m->info, &m->n_info, GPD_EVAL_MAX_INFO, key, fmt, ap);
  va_end(ap);
  return rc;
}

const char *gpd_eval_manifest_get(const gpd_eval_manifest *m, const char *key) {
  for (int i = 0; i < m->n_settings; i++)
    if (!strcmp(m->settings[i].key, key)) return m->settings[i].value;
  for (int i = 0; i < m->n_info; i++)
    if (!strcmp(m->info[i].key, key)) return m->info[i].value;
  return NULL;
}

static void free_files(gpd_eval_manifest *m) {
  for (long i = 0; i < m->count; i++) free(m->files[i]);
  free(m->files);
  m->files = NULL;
  m->count = 0;
}

int gpd_eval_manifest_set_files(gpd_eval_manifest *m, const gpd_eval_list *full) {
  free_files(m);
  m->files = gpd_calloc((size_t)(full->n ? full->n : 1), sizeof(char *), "manifest file list");
  if (!m->files) return -1;
  for (long i = 0; i < full->n; i++) {
    size_t n = strlen(full->items[i].name) + 1;
    if (!(m->files[i] = gpd_malloc(n, "manifest file name"))) return -1;
    memcpy(m->files[i], full->items[i].name, n);
    m->count = i + 1;
  }
  return 0;
}

void gpd_eval_manifest_free(gpd_eval_manifest *m) {
  if (!m) return;
  free_files(m);
  memset(m, 0, sizeof *m);
}

void gpd_eval_manifest_path(const char *csv, char *buf, size_t size) { snprintf(buf, size, "%s.json", csv); }

/* ---- writing ----------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

/* relative: absolute paths in the values are written relative to the
 * repository (the info of a manifest from an older build may hold some). */
static void json_kv(FILE *f, const gpd_eval_kv *kv, int n, int relative) {
  fputc('{', f);
  for (int i = 0; i < n; i++) {
    char value[sizeof kv[i].value];
    if (relative) gpd_repo_relative_text(kv[i].value, value, sizeof value);
    else snprintf(value, sizeof value, "%s", kv[i].value);
    fprintf(f, "%s\n  ", i ? "," : "");
    json_string(f, kv[i].key);
    fputs(": ", f);
    json_string(f, value);
  }
  fputc('}', f);
}

int gpd_eval_manifest_write(const char *csv, const gpd_eval_manifest *m) {
  char path[4096], tmp[4200];
  gpd_eval_manifest_path(csv, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return gpd_error("cannot write %s: %s", tmp, strerror(errno));
  gpd_kill_point("manifest: temporary file created");
  fprintf(f, "{\"format\": \"%s\", \"version\": %d, \"shard\": [%d, %d],\n\"settings\": ", FORMAT_NAME, FORMAT_VERSION,
          m->shard_k, m->shard_n);
  json_kv(f, m->settings, m->n_settings, 0);
  if (gpd_kill_points_armed()) {
    fflush(f);
    gpd_kill_point("manifest: half written");
  }
  fputs(",\n\"info\": ", f);
  json_kv(f, m->info, m->n_info, 1);
  fprintf(f, ",\n\"count\": %ld,\n\"files\": [", m->count);
  for (long i = 0; i < m->count; i++) {
    fputs(i ? (i % 8 ? ", " : ",\n  ") : "\n  ", f);
    json_string(f, m->files[i]);
  }
  fputs("]}\n", f);
  int rc = 0;
  if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) rc = gpd_error("cannot write %s: %s", tmp, strerror(errno));
  if (fclose(f) != 0 && !rc) rc = gpd_error("cannot write %s: %s", tmp, strerror(errno));
  if (!rc) gpd_kill_point("manifest: written, not renamed");
  if (!rc && rename(tmp, path) != 0) rc = gpd_error("cannot rename %s to %s: %s", tmp, path, strerror(errno));
  if (rc) remove(tmp);
  if (!rc) gpd_kill_point("manifest: renamed into place");
  return rc;
}

/* ---- reading ------------------------------------------------------------------------- */

static int read_kv(const gpd_json *obj, const char *path, const char *what, gpd_eval_kv *kv, int *n, int max) {
  if (!obj || obj->type != GPD_JSON_OBJECT) return gpd_error("%s: \"%s\" is not an object", path, what);
  *n = 0;
  for (int i = 0; i < obj->n; i++) {
    if (obj->items[i].type != GPD_JSON_STRING) return gpd_error("%s: %s.%s is not a string", path, what, obj->keys[i]);
    if (*n == max) return gpd_error("%s: too many %s entries", path, what);
    if (strlen(obj->keys[i]) >= sizeof kv[0].key || strlen(obj->items[i].str) >= sizeof kv[0].value)
      return gpd_error("%s: %s.%s is too long", path, what, obj->keys[i]);
    snprintf(kv[*n].key, sizeof kv[*n].key, "%s", obj->keys[i]);
    snprintf(kv[*n].value, sizeof kv[*n].value, "%s", obj->items[i].str);
    (*n)++;
  }
  return 0;
}

static int parse_manifest(const gpd_json *v, const char *path, gpd_eval_manifest *m) {
  const gpd_json *fmt = gpd_json_get(v, "format"), *ver = gpd_json_get(v, "version");
  if (v->type != GPD_JSON_OBJECT || !fmt || fmt->type != GPD_JSON_STRING || strcmp(fmt->str, FORMAT_NAME))
    return gpd_error("%s is not a gpdeblur evaluation manifest", path);
  if (!ver || !ver->is_uint || ver->uint_value != FORMAT_VERSION)
    return gpd_error("%s: manifest version is not %d", path, FORMAT_VERSION);
  const gpd_json *shard = gpd_json_get(v, "shard");
  if (!shard || shard->type != GPD_JSON_ARRAY || shard->n != 2 || !shard->items[0].is_uint || !shard->items[1].is_uint ||
      shard->items[0].uint_value < 1 || shard->items[0].uint_value > shard->items[1].uint_value ||
      shard->items[1].uint_value > 1000000)
    return gpd_error("%s: \"shard\" is not [K, N] with 1 <= K <= N", path);
  m->shard_k = (int)shard->items[0].uint_value;
  m->shard_n = (int)shard->items[1].uint_value;
  GPD_TRY(read_kv(gpd_json_get(v, "settings"), path, "settings", m->settings, &m->n_settings, GPD_EVAL_MAX_SETTINGS));
  GPD_TRY(read_kv(gpd_json_get(v, "info"), path, "info", m->info, &m->n_info, GPD_EVAL_MAX_INFO));
  const gpd_json *files = gpd_json_get(v, "files");
  if (!files || files->type != GPD_JSON_ARRAY) return gpd_error("%s: \"files\" is not an array", path);
  m->files = gpd_calloc((size_t)(files->n ? files->n : 1), sizeof(char *), "manifest file list");
  if (!m->files) return -1;
  for (int i = 0; i < files->n; i++) {
    if (files->items[i].type != GPD_JSON_STRING) return gpd_error("%s: files[%d] is not a string", path, i);
    size_t n = strlen(files->items[i].str) + 1;
    if (!(m->files[i] = gpd_malloc(n, "manifest file name"))) return -1;
    memcpy(m->files[i], files->items[i].str, n);
    m->count = i + 1;
  }
  return 0;
}

int gpd_eval_manifest_read(const char *csv, gpd_eval_manifest *m) {
  memset(m, 0, sizeof *m);
  char path[4096];
  gpd_eval_manifest_path(csv, path, sizeof path);
  FILE *f = fopen(path, "rb");
  if (!f) return gpd_error("cannot open %s (the manifest written beside %s): %s", path, csv, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *text = malloc(cap);
  while (text) {
    n += fread(text + n, 1, cap - n, f);
    if (n < cap) break;
    cap *= 2;
    char *t = realloc(text, cap);
    if (!t) free(text);
    text = t;
  }
  int err = ferror(f);
  fclose(f);
  if (!text) return gpd_error("out of host memory reading %s", path);
  if (err) {
    free(text);
    return gpd_error("cannot read %s", path);
  }
  gpd_json v;
  char why[256];
  int rc = gpd_json_parse(text, n, &v, why, sizeof why);
  free(text);
  if (rc) return gpd_error("%s: %s", path, why);
  rc = parse_manifest(&v, path, m);
  gpd_json_free(&v);
  if (rc) gpd_eval_manifest_free(m);
  return rc;
}

/* ---- comparing --------------------------------------------------------------------- */

static const char *setting_of(const gpd_eval_manifest *m, const char *key) {
  for (int i = 0; i < m->n_settings; i++)
    if (!strcmp(m->settings[i].key, key)) return m->settings[i].value;
  return NULL;
}

int gpd_eval_manifest_compare(const gpd_eval_manifest *a, const char *an, const gpd_eval_manifest *b, const char *bn) {
  for (int pass = 0; pass < 2; pass++) {
    const gpd_eval_manifest *x = pass ? b : a, *y = pass ? a : b;
    const char *xn = pass ? bn : an, *yn = pass ? an : bn;
    for (int i = 0; i < x->n_settings; i++) {
      if (!strcmp(x->settings[i].key, "inputs")) continue; /* below, once the names are known to agree */
      const char *other = setting_of(y, x->settings[i].key);
      if (!other)
        return gpd_error("%s was made with %s=%s, %s without that setting", xn, x->settings[i].key, x->settings[i].value,
                         yn);
      if (strcmp(other, x->settings[i].value))
        return gpd_error("%s was made with %s=%s, %s with %s=%s", xn, x->settings[i].key, x->settings[i].value, yn,
                         x->settings[i].key, other);
    }
  }
  if (a->count != b->count)
    return gpd_error("%s selects %ld images, %s selects %ld: not the same selection", an, a->count, bn, b->count);
  for (long i = 0; i < a->count; i++)
    if (strcmp(a->files[i], b->files[i]))
      return gpd_error("%s and %s select different images (item %ld is %s in one and %s in the other)", an, bn, i,
                       a->files[i], b->files[i]);
  /* Compared only when both have it: manifests written before it existed
   * lack it. */
  const char *ia = setting_of(a, "inputs"), *ib = setting_of(b, "inputs");
  if (ia && ib && strcmp(ia, ib))
    return gpd_error("%s and %s were made from different image files under the same names (inputs=%s and %s)", an,
                     bn, ia, ib);
  return 0;
}

/* Folds a file's bytes into h; -1 (h unspecified) when it cannot be read. */
static int fold_file(FILE *f, uint64_t *h) {
  unsigned char buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) *h = gpd_fnv1a64(*h, buf, got);
  return ferror(f) ? -1 : 0;
}

int gpd_eval_hash_file(const char *path, uint64_t *hash) {
  FILE *f = fopen(path, "rb");
  if (!f) return gpd_error("cannot open %s: %s", path, strerror(errno));
  uint64_t h = GPD_FNV1A64_INIT;
  int err = fold_file(f, &h);
  fclose(f);
  if (err) return gpd_error("cannot read %s", path);
  *hash = h;
  return 0;
}

/* A tag byte, then the file's bytes (or a marker when it cannot be read);
 * the item's name is folded in before with its NUL, so fields stay apart. */
static uint64_t fold_input(uint64_t h, char tag, const char *path) {
  h = gpd_fnv1a64(h, &tag, 1);
  if (!path) return h;
  FILE *f = fopen(path, "rb");
  uint64_t folded = h;
  if (f && fold_file(f, &folded) == 0) h = folded;
  else h = gpd_fnv1a64(h, "\xffunreadable", 11);
  if (f) fclose(f);
  return h;
}

uint64_t gpd_eval_hash_inputs(const gpd_eval_list *full) {
  uint64_t h = GPD_FNV1A64_INIT;
  for (long i = 0; i < full->n; i++) {
    const gpd_eval_item *it = &full->items[i];
    h = gpd_fnv1a64(h, it->name, strlen(it->name) + 1);
    h = fold_input(h, 'i', it->path);
    h = fold_input(h, 't', it->truth);
    h = fold_input(h, 'k', it->kernel);
  }
  return h;
}
