/* Which test images: a folder's image files, CelebA's test split when the
 * folder has list_eval_partition.txt, a numeric range of file names, a
 * limit, shards; or the Levin benchmark's 32 captures (gpd/eval.h). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gpd/common.h"
#include "gpd/eval.h"

static char *dup_str(const char *s, const char *what) {
  size_t n = strlen(s) + 1;
  char *d = gpd_malloc(n, what);
  if (d) memcpy(d, s, n);
  return d;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = gpd_malloc(n, "image path");
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

void gpd_eval_list_free(gpd_eval_list *l) {
  if (!l) return;
  for (long i = 0; i < l->n; i++) {
    free(l->items[i].name);
    free(l->items[i].path);
    free(l->items[i].truth);
    free(l->items[i].kernel);
  }
  free(l->items);
  memset(l, 0, sizeof *l);
}

/* A growing list of names. */
typedef struct names {
  long n, cap;
  char **v;
} names;

static int names_add(names *s, const char *name) {
  if (s->n == s->cap) {
    long cap = s->cap ? 2 * s->cap : 256;
    char **v = realloc(s->v, sizeof(char *) * (size_t)cap);
    if (!v) return gpd_error("out of host memory listing images");
    s->v = v;
    s->cap = cap;
  }
  if (!(s->v[s->n] = dup_str(name, "image name"))) return -1;
  s->n++;
  return 0;
}

static void names_free(names *s) {
  for (long i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_image_name(const char *name) {
  static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tga"};
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name) return 0;
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
    if (!strcasecmp(dot, ext[i])) return 1;
  return 0;
}

/* The number a file name spells before its extension ("008001.jpg" ->
 * 8001), or -1 when it is not all digits. */
static long name_number(const char *name) {
  const char *dot = strrchr(name, '.');
  size_t len = dot ? (size_t)(dot - name) : strlen(name);
  if (len == 0 || len > 15) return -1;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)name[i])) return -1;
    v = 10 * v + (name[i] - '0');
  }
  return v;
}

static int list_folder(const char *dir, names *out) {
  DIR *d = opendir(dir);
  if (!d) return gpd_error("cannot open the image folder %s: %s", dir, strerror(errno));
  struct dirent *de;
  int rc = 0;
  while (!rc && (de = readdir(d))) {
    if (de->d_name[0] == '.' || !is_image_name(de->d_name)) continue;
    char *p = join(dir, de->d_name);
    struct stat st;
    if (!p) rc = -1;
    else if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      /* a folder named like an image is not one */
    } else rc = names_add(out, de->d_name);
    free(p);
  }
  closedir(d);
  return rc;
}

/* CelebA's list_eval_partition.txt: "000001.jpg 0" per line (0 train,
 * 1 validation, 2 test). */
static int list_partition(const char *path, int partition, names *out) {
  FILE *f = fopen(path, "r");
  if (!f) return gpd_error("cannot open %s: %s", path, strerror(errno));
  char line[1024];
  long lineno = 0;
  int rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    char name[512];
    int part;
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) continue;
    if (sscanf(p, "%511s %d", name, &part) != 2 || part < 0) {
      rc = gpd_error("%s line %ld: expected 'NAME PARTITION', got '%.60s'", path, lineno, p);
      break;
    }
    if (part == partition) rc = names_add(out, name);
  }
  if (!rc && ferror(f)) rc = gpd_error("cannot read %s", path);
  fclose(f);
  return rc;
}

static int make_items(const char *dir, names *ns, const gpd_eval_selection *s, gpd_eval_list *out) {
  out->items = gpd_calloc((size_t)(ns->n ? ns->n : 1), sizeof(gpd_eval_item), "image list");
  if (!out->items) return -1;
  for (long i = 0; i < ns->n; i++) {
    if (s->first >= 0) {
      long v = name_number(ns->v[i]);
      if (v < s->first || v > s->last) continue;
    }
    if (s->limit > 0 && out->n >= s->limit) break;
    gpd_eval_item *it = &out->items[out->n];
    it->index = out->n;
    it->name = ns->v[i];
    ns->v[i] = NULL;
    out->n++;
    if (!(it->path = join(dir, it->name))) return -1;
  }
  return 0;
}

/* Levin: blurred/im{I}_kernel{K}_img.png with gt/im{I}.png and
 * kernels/kernel{K}.txt. */
static int select_levin(const gpd_eval_selection *s, gpd_eval_list *out) {
  char sub[4096];
  names ns = {0};
  snprintf(sub, sizeof sub, "%s/blurred", s->dir);
  int rc = list_folder(sub, &ns);
  if (!rc && ns.n > 1) qsort(ns.v, (size_t)ns.n, sizeof(char *), by_name);
  if (!rc) rc = make_items(sub, &ns, s, out);
  for (long i = 0; !rc && i < out->n; i++) {
    gpd_eval_item *it = &out->items[i];
    int im, k;
    char tail[16];
    if (sscanf(it->name, "im%d_kernel%d_img.%15s", &im, &k, tail) != 3) {
      rc = gpd_error("%s/%s is not named im<I>_kernel<K>_img.png as the Levin benchmark's captures are", sub, it->name);
      break;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "gt/im%d.png", im);
    if (!(it->truth = join(s->dir, buf))) rc = -1;
    snprintf(buf, sizeof buf, "kernels/kernel%d.txt", k);
    if (!rc && !(it->kernel = join(s->dir, buf))) rc = -1;
  }
  names_free(&ns);
  return rc;
}

int gpd_eval_select(const gpd_eval_selection *s, gpd_eval_list *out) {
  memset(out, 0, sizeof *out);
  if (!s || !s->dir) return gpd_error("no image folder given");
  if (s->first >= 0 && s->last < s->first) return gpd_error("empty file range %ld:%ld", s->first, s->last);
  int rc;
  const char *how = "";
  if (s->levin) {
    rc = select_levin(s, out);
  } else {
    names ns = {0};
    char part[4096];
    snprintf(part, sizeof part, "%s/list_eval_partition.txt", s->dir);
    FILE *probe = fopen(part, "r");
    if (probe) {
      fclose(probe);
      rc = list_partition(part, s->partition, &ns);
      how = " (list_eval_partition.txt split)";
    } else {
      rc = list_folder(s->dir, &ns);
    }
    if (!rc && ns.n > 1) qsort(ns.v, (size_t)ns.n, sizeof(char *), by_name);
    if (!rc) rc = make_items(s->dir, &ns, s, out);
    names_free(&ns);
  }
  if (!rc && out->n == 0) {
    if (s->first >= 0)
      rc = gpd_error("no image in %s%s has a numeric name in %ld:%ld", s->dir, how, s->first, s->last);
    else rc = gpd_error("no images in %s%s", s->dir, how);
  }
  if (rc) gpd_eval_list_free(out);
  return rc;
}

int gpd_eval_in_shard(long index, int k, int n) { return n <= 1 || index % n == k - 1; }

int gpd_eval_parse_shard(const char *text, int *k, int *n) {
  long a, b;
  char *end;
  errno = 0;
  a = strtol(text, &end, 10);
  if (errno || end == text || *end != '/') goto bad;
  const char *t = end + 1;
  b = strtol(t, &end, 10);
  if (errno || end == t || *end || a < 1 || b < 1 || a > b || b > 1000000) goto bad;
  *k = (int)a;
  *n = (int)b;
  return 0;
bad:
  return gpd_error("--shard: '%s' is not K/N with 1 <= K <= N (shard K holds the images whose index %% N == K-1)", text);
}

int gpd_eval_parse_range(const char *opt, const char *text, long *a, long *b) {
  char *end;
  errno = 0;
  long x = strtol(text, &end, 10);
  if (errno || end == text || *end != ':') goto bad;
  const char *t = end + 1;
  long y = strtol(t, &end, 10);
  if (errno || end == t || *end || x < 0 || y < x) goto bad;
  *a = x;
  *b = y;
  return 0;
bad:
  return gpd_error("--%s: '%s' is not A:B with 0 <= A <= B", opt, text);
}
