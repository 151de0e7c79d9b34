/* safetensors: read with validation, convert to float32, write atomically.
 *
 * The reader trusts nothing in the file: the header length must fit the
 * file, the header must be well-formed JSON of the documented shape, every
 * tensor's byte range must lie inside the data section and match its dtype
 * and shape, and the ranges must tile the data section exactly (no overlap,
 * no byte left over). Every error names the file.
 *
 * The writer follows the reference implementation (huggingface/safetensors):
 * "__metadata__" first, tensors sorted by name (all are F32, so the
 * reference's dtype-then-name order is the name order), data packed in that
 * order, and the header padded with spaces to a multiple of 8 bytes so the
 * data section starts aligned. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpd/common.h"
#include "gpd/weights.h"
#include "json_parse.h"

/* The reference implementation refuses headers above 100 MB. */
#define ST_MAX_HEADER 100000000ULL
/* Files above 16 GiB are not weights this program could use. */
#define ST_MAX_FILE ((size_t)1 << 34)

static int dtype_size(const char *dtype) {
  static const struct {
    const char *name;
    int size;
  } table[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
               {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(dtype, table[i].name)) return table[i].size;
  return 0;
}

static uint64_t read_u64_le(const uint8_t *b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

static void write_u64_le(uint8_t *b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

/* ---- reading -------------------------------------------------------------- */

static int parse_tensor(gpd_safetensors *st, const char *name, const gpd_json *v, gpd_st_tensor *t) {
  const char *path = st->path;
  if (strlen(name) >= sizeof t->name)
    return gpd_error("%s: tensor name '%.60s...' is longer than %zu characters", path, name, sizeof t->name - 1);
  snprintf(t->name, sizeof t->name, "%s", name);
  if (v->type != GPD_JSON_OBJECT)
    return gpd_error("%s: header entry '%s' is a %s, expected an object with dtype, shape and data_offsets", path, name,
                     gpd_json_type_name(v->type));
  const gpd_json *dt = gpd_json_get(v, "dtype"), *shape = gpd_json_get(v, "shape"),
                 *offs = gpd_json_get(v, "data_offsets");
  if (!dt || dt->type != GPD_JSON_STRING) return gpd_error("%s: tensor %s has no string \"dtype\"", path, name);
  int esize = dtype_size(dt->str);
  if (!esize) return gpd_error("%s: tensor %s has unknown dtype '%.20s'", path, name, dt->str);
  snprintf(t->dtype, sizeof t->dtype, "%s", dt->str);
  if (!shape || shape->type != GPD_JSON_ARRAY) return gpd_error("%s: tensor %s has no \"shape\" array", path, name);
  if (shape->n > GPD_ST_MAX_DIMS)
    return gpd_error("%s: tensor %s has %d dimensions (at most %d supported)", path, name, shape->n, GPD_ST_MAX_DIMS);
  t->ndim = shape->n;
  uint64_t count = 1;
  for (int i = 0; i < shape->n; i++) {
    const gpd_json *d = &shape->items[i];
    if (d->type != GPD_JSON_NUMBER || !d->is_uint || d->uint_value > (uint64_t)INT64_MAX)
      return gpd_error("%s: tensor %s: shape entry %d is not a non-negative integer", path, name, i);
    t->shape[i] = (int64_t)d->uint_value;
    if (d->uint_value && count > UINT64_MAX / 8 / d->uint_value)
      return gpd_error("%s: tensor %s: shape is too large", path, name);
    count *= d->uint_value;
  }
  if (!offs || offs->type != GPD_JSON_ARRAY || offs->n != 2)
    return gpd_error("%s: tensor %s has no \"data_offsets\" [begin, end]", path, name);
  for (int i = 0; i < 2; i++)
    if (offs->items[i].type != GPD_JSON_NUMBER || !offs->items[i].is_uint)
      return gpd_error("%s: tensor %s: data_offsets are not non-negative integers", path, name);
  t->begin = offs->items[0].uint_value;
  t->end = offs->items[1].uint_value;
  if (t->begin > t->end)
    return gpd_error("%s: tensor %s: data_offsets [%llu, %llu] run backwards", path, name, (unsigned long long)t->begin,
                     (unsigned long long)t->end);
  if (t->end > st->data_size)
    return gpd_error("%s: tensor %s: data_offsets [%llu, %llu] exceed the data section of %llu bytes", path, name,
                     (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)st->data_size);
  if (t->end - t->begin != count * (uint64_t)esize)
    return gpd_error("%s: tensor %s: %llu bytes of data, but %s with %llu elements needs %llu", path, name,
                     (unsigned long long)(t->end - t->begin), t->dtype, (unsigned long long)count,
                     (unsigned long long)(count * (uint64_t)esize));
  return 0;
}

static int parse_metadata(gpd_safetensors *st, const gpd_json *v) {
  if (v->type != GPD_JSON_OBJECT)
    return gpd_error("%s: __metadata__ is a %s, expected an object of strings", st->path, gpd_json_type_name(v->type));
  st->meta = gpd_calloc((size_t)v->n, sizeof *st->meta, "safetensors metadata");
  if (!st->meta) return -1;
  for (int i = 0; i < v->n; i++) {
    const char *key = v->keys[i];
    const gpd_json *val = &v->items[i];
    if (val->type != GPD_JSON_STRING)
      return gpd_error("%s: __metadata__ value of '%.60s' is a %s, expected a string", st->path, key,
                       gpd_json_type_name(val->type));
    if (strlen(key) >= sizeof st->meta[0].key)
      return gpd_error("%s: __metadata__ key '%.60s...' is longer than %zu characters", st->path, key,
                       sizeof st->meta[0].key - 1);
    if (strlen(val->str) >= sizeof st->meta[0].value)
      return gpd_error("%s: __metadata__ value of '%s' is longer than %zu characters", st->path, key,
                       sizeof st->meta[0].value - 1);
    snprintf(st->meta[i].key, sizeof st->meta[i].key, "%s", key);
    snprintf(st->meta[i].value, sizeof st->meta[i].value, "%s", val->str);
    st->n_meta++;
  }
  return 0;
}

static int cmp_begin(const void *a, const void *b) {
  const gpd_st_tensor *x = *(const gpd_st_tensor *const *)a, *y = *(const gpd_st_tensor *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors, in order of their offsets, tile the data section: no two
 * share a byte, and no byte belongs to none (as the reference reader
 * insists: bytes inserted or left over mean the offsets are not the ones
 * the data was written with). */
static int check_coverage(gpd_safetensors *st) {
  const gpd_st_tensor **order = gpd_malloc((size_t)(st->n_tensors ? st->n_tensors : 1) * sizeof *order,
                                           "safetensors coverage check");
  if (!order) return -1;
  for (int i = 0; i < st->n_tensors; i++) order[i] = &st->tensors[i];
  if (st->n_tensors > 1) qsort(order, (size_t)st->n_tensors, sizeof *order, cmp_begin);
  const gpd_st_tensor *prev = NULL;
  uint64_t covered = 0;
  int rc = 0;
  for (int i = 0; i < st->n_tensors && !rc; i++) {
    const gpd_st_tensor *t = order[i];
    if (t->begin < covered)
      rc = gpd_error("%s: tensors %s and %s overlap in the data section", st->path, prev->name, t->name);
    else if (t->begin > covered)
      rc = gpd_error("%s: data section bytes [%llu, %llu) belong to no tensor (before %s): the offsets do not "
                     "describe this data",
                     st->path, (unsigned long long)covered, (unsigned long long)t->begin, t->name);
    covered = t->end > covered ? t->end : covered;
    prev = t;
  }
  if (!rc && covered != st->data_size)
    rc = gpd_error("%s: the tensors cover %llu bytes of the %llu-byte data section: the last %llu belong to none",
                   st->path, (unsigned long long)covered, (unsigned long long)st->data_size,
                   (unsigned long long)(st->data_size - covered));
  free(order);
  return rc;
}

static int parse_header(gpd_safetensors *st, const char *text, size_t len) {
  gpd_json root;
  char err[256];
  if (gpd_json_parse(text, len, &root, err, sizeof err))
    return gpd_error("%s: header is not valid JSON (%s)", st->path, err);
  int rc = 0;
  if (root.type != GPD_JSON_OBJECT) {
    rc = gpd_error("%s: header is a JSON %s, expected an object", st->path, gpd_json_type_name(root.type));
    goto done;
  }
  st->tensors = gpd_calloc((size_t)root.n, sizeof *st->tensors, "safetensors tensor list");
  if (!st->tensors) {
    rc = -1;
    goto done;
  }
  for (int i = 0; i < root.n && !rc; i++) {
    if (!strcmp(root.keys[i], "__metadata__")) rc = parse_metadata(st, &root.items[i]);
    else if (!(rc = parse_tensor(st, root.keys[i], &root.items[i], &st->tensors[st->n_tensors]))) st->n_tensors++;
  }
  if (!rc) rc = check_coverage(st);
done:
  gpd_json_free(&root);
  return rc;
}

/* Validates file[0..size) (owned by st from here on). */
static int st_parse(gpd_safetensors *st, uint8_t *file, size_t size) {
  const char *path = st->path;
  st->file = file;
  if (size < 8) return gpd_error("%s: file is %zu bytes, too short for a safetensors header", path, size);
  const uint64_t hlen = read_u64_le(file);
  if (hlen > (uint64_t)size - 8)
    return gpd_error("%s: header length %llu exceeds file size %zu", path, (unsigned long long)hlen, size);
  if (hlen > ST_MAX_HEADER)
    return gpd_error("%s: header length %llu exceeds the limit of %llu bytes", path, (unsigned long long)hlen,
                     ST_MAX_HEADER);
  if (hlen < 2) return gpd_error("%s: header length %llu is too short for a JSON object", path, (unsigned long long)hlen);
  st->data = file + 8 + hlen;
  st->data_size = (uint64_t)size - 8 - hlen;
  return parse_header(st, (const char *)file + 8, (size_t)hlen);
}

/* On failure: keep the error, free what was read. */
static int st_finish(gpd_safetensors *st, int rc) {
  if (rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", gpd_last_error()); /* gpd_st_free must not lose the error */
    gpd_st_free(st);
    gpd_error("%s", msg);
  }
  return rc;
}

int gpd_st_read(gpd_safetensors *st, const char *path) {
  memset(st, 0, sizeof *st);
  snprintf(st->path, sizeof st->path, "%s", path);
  size_t size;
  uint8_t *file = (uint8_t *)gpd_read_file(path, "weights file", ST_MAX_FILE, &size);
  if (!file) return -1;
  return st_finish(st, st_parse(st, file, size));
}

int gpd_st_read_memory(gpd_safetensors *st, const char *name, const uint8_t *bytes, size_t size) {
  memset(st, 0, sizeof *st);
  snprintf(st->path, sizeof st->path, "%s", name);
  uint8_t *file = gpd_malloc(size, "safetensors file");
  if (!file) return -1;
  if (size) memcpy(file, bytes, size);
  return st_finish(st, st_parse(st, file, size));
}

void gpd_st_free(gpd_safetensors *st) {
  if (!st) return;
  free(st->tensors);
  free(st->meta);
  free(st->file);
  st->tensors = NULL;
  st->meta = NULL;
  st->file = NULL;
  st->data = NULL;
  st->n_tensors = st->n_meta = 0;
  st->data_size = 0;
}

const gpd_st_tensor *gpd_st_find(const gpd_safetensors *st, const char *name) {
  for (int i = 0; i < st->n_tensors; i++)
    if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
  return NULL;
}

const char *gpd_st_meta_get(const gpd_safetensors *st, const char *key) {
  for (int i = 0; i < st->n_meta; i++)
    if (!strcmp(st->meta[i].key, key)) return st->meta[i].value;
  return NULL;
}

/* ---- conversion ------------------------------------------------------------ */

static float f32_from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* IEEE half -> float, exact for every value (subnormals, inf, NaN). */
static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    if (!mant) return f32_from_bits(sign);
    float v = (float)mant * 0x1p-24f; /* subnormal: mant * 2^-24, exact in float */
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

int gpd_st_tensor_to_f32(const gpd_safetensors *st, const gpd_st_tensor *t, float *out, size_t count) {
  size_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
  if (n != count)
    return gpd_error("%s: tensor %s has %zu elements, %zu expected", st->path, t->name, n, count);
  const uint8_t *src = st->data + t->begin;
  if (!strcmp(t->dtype, "F32")) {
    if (n) memcpy(out, src, n * 4);
  } else if (!strcmp(t->dtype, "F16")) {
    for (size_t i = 0; i < n; i++) out[i] = f16_to_f32((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
  } else if (!strcmp(t->dtype, "BF16")) {
    for (size_t i = 0; i < n; i++) out[i] = f32_from_bits((uint32_t)(src[2 * i] | (src[2 * i + 1] << 8)) << 16);
  } else if (!strcmp(t->dtype, "F64")) {
    for (size_t i = 0; i < n; i++) {
      double d;
      memcpy(&d, src + 8 * i, 8);
      out[i] = (float)d;
    }
  } else {
    return gpd_error("%s: tensor %s has dtype %s, which cannot be read as float (F32, F16, BF16 or F64 expected)",
                     st->path, t->name, t->dtype);
  }
  return 0;
}

int gpd_st_tensor_to_finite_f32(const gpd_safetensors *st, const gpd_st_tensor *t, float *out, size_t count) {
  GPD_TRY(gpd_st_tensor_to_f32(st, t, out, count));
  for (size_t i = 0; i < count; i++)
    if (!isfinite(out[i]))
      return gpd_error("%s: tensor %s holds %g at element %zu of %zu: the weights are broken (a diverged training?)",
                       st->path, t->name, (double)out[i], i, count);
  return 0;
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct st_entry {
  char *name;
  int ndim;
  int64_t shape[GPD_ST_MAX_DIMS];
  size_t count;
  float *data;
} st_entry;

struct gpd_st_writer {
  st_entry *entries;
  int n, cap;
  gpd_st_meta *meta;
  int n_meta, cap_meta;
};

gpd_st_writer *gpd_st_writer_create(void) { return gpd_calloc(1, sizeof(gpd_st_writer), "safetensors writer"); }

void gpd_st_writer_free(gpd_st_writer *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) {
    free(w->entries[i].name);
    free(w->entries[i].data);
  }
  free(w->entries);
  free(w->meta);
  free(w);
}

static int json_safe(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\') return 0;
  return 1;
}

int gpd_st_writer_add(gpd_st_writer *w, const char *name, int ndim, const int64_t *shape, const float *host_data) {
  if (!name[0] || strlen(name) >= sizeof(((gpd_st_tensor *)0)->name) || !json_safe(name) ||
      !strcmp(name, "__metadata__"))
    return gpd_error("safetensors writer: invalid tensor name '%.60s'", name);
  if (ndim < 0 || ndim > GPD_ST_MAX_DIMS)
    return gpd_error("safetensors writer: tensor %s has %d dimensions (at most %d)", name, ndim, GPD_ST_MAX_DIMS);
  for (int i = 0; i < w->n; i++)
    if (!strcmp(w->entries[i].name, name)) return gpd_error("safetensors writer: tensor %s added twice", name);
  if (w->n == w->cap) {
    int nc = w->cap ? 2 * w->cap : 16;
    st_entry *e = realloc(w->entries, (size_t)nc * sizeof *e);
    if (!e) return gpd_error("out of host memory (safetensors writer)");
    w->entries = e;
    w->cap = nc;
  }
  st_entry *e = &w->entries[w->n];
  memset(e, 0, sizeof *e);
  e->ndim = ndim;
  e->count = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return gpd_error("safetensors writer: tensor %s has a negative dimension", name);
    e->shape[i] = shape[i];
    e->count *= (size_t)shape[i];
  }
  e->name = gpd_malloc(strlen(name) + 1, "safetensors tensor name");
  e->data = gpd_malloc(e->count * sizeof(float), name);
  if (!e->name || !e->data) {
    free(e->name);
    free(e->data);
    return -1;
  }
  strcpy(e->name, name);
  if (e->count) memcpy(e->data, host_data, e->count * sizeof(float));
  w->n++;
  return 0;
}

int gpd_st_writer_meta(gpd_st_writer *w, const char *key, const char *value) {
  if (!key[0] || strlen(key) >= sizeof w->meta[0].key || !json_safe(key))
    return gpd_error("safetensors writer: invalid metadata key '%.60s'", key);
  if (strlen(value) >= sizeof w->meta[0].value || !json_safe(value))
    return gpd_error("safetensors writer: invalid metadata value for '%s'", key);
  for (int i = 0; i < w->n_meta; i++)
    if (!strcmp(w->meta[i].key, key)) {
      snprintf(w->meta[i].value, sizeof w->meta[i].value, "%s", value);
      return 0;
    }
  if (w->n_meta == w->cap_meta) {
    int nc = w->cap_meta ? 2 * w->cap_meta : 8;
    gpd_st_meta *m = realloc(w->meta, (size_t)nc * sizeof *m);
    if (!m) return gpd_error("out of host memory (safetensors writer)");
    w->meta = m;
    w->cap_meta = nc;
  }
  snprintf(w->meta[w->n_meta].key, sizeof w->meta[0].key, "%s", key);
  snprintf(w->meta[w->n_meta].value, sizeof w->meta[0].value, "%s", value);
  w->n_meta++;
  return 0;
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int cmp_meta(const void *a, const void *b) { return strcmp(((const gpd_st_meta *)a)->key, ((const gpd_st_meta *)b)->key); }

/* A growing text buffer for the header. */
typedef struct text {
  char *s;
  size_t n, cap;
  int failed;
} text;

static void text_put(text *t, const char *fmt, ...) {
  if (t->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      t->failed = 1;
      return;
    }
    if (t->s && t->n + (size_t)k < t->cap) {
      t->n += (size_t)k;
      return;
    }
    size_t nc = t->cap ? t->cap * 2 : 4096;
    while (nc < t->n + (size_t)k + 16) nc *= 2;
    char *s = realloc(t->s, nc);
    if (!s) {
      t->failed = 1;
      return;
    }
    t->s = s;
    t->cap = nc;
  }
}

int gpd_st_writer_save(gpd_st_writer *w, const char *path) {
  if (w->n) qsort(w->entries, (size_t)w->n, sizeof *w->entries, cmp_entry);
  if (w->n_meta) qsort(w->meta, (size_t)w->n_meta, sizeof *w->meta, cmp_meta);
  text h = {0};
  text_put(&h, "{");
  int first = 1;
  if (w->n_meta) {
    text_put(&h, "\"__metadata__\":{");
    for (int i = 0; i < w->n_meta; i++)
      text_put(&h, "%s\"%s\":\"%s\"", i ? "," : "", w->meta[i].key, w->meta[i].value);
    text_put(&h, "}");
    first = 0;
  }
  uint64_t offset = 0;
  for (int i = 0; i < w->n; i++) {
    const st_entry *e = &w->entries[i];
    text_put(&h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", first ? "" : ",", e->name);
    for (int d = 0; d < e->ndim; d++) text_put(&h, "%s%lld", d ? "," : "", (long long)e->shape[d]);
    uint64_t bytes = (uint64_t)e->count * 4;
    text_put(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset, (unsigned long long)(offset + bytes));
    offset += bytes;
    first = 0;
  }
  text_put(&h, "}");
  while (!h.failed && h.n % 8) text_put(&h, " ");
  if (h.failed) {
    free(h.s);
    return gpd_error("%s: out of host memory for the safetensors header", path);
  }

  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    int err = errno;
    free(h.s);
    return gpd_error("%s: cannot create %s: %s", path, tmp, strerror(err));
  }
  uint8_t lenbuf[8];
  write_u64_le(lenbuf, h.n);
  int ok = fwrite(lenbuf, 1, 8, f) == 8 && fwrite(h.s, 1, h.n, f) == h.n;
  for (int i = 0; ok && i < w->n; i++)
    ok = fwrite(w->entries[i].data, sizeof(float), w->entries[i].count, f) == w->entries[i].count;
  int err = errno;
  free(h.s);
  if (fflush(f) != 0 && ok) {
    ok = 0;
    err = errno;
  }
  if (ok && fsync(fileno(f)) != 0) {
    ok = 0;
    err = errno;
  }
  if (fclose(f) != 0 && ok) {
    ok = 0;
    err = errno;
  }
  if (!ok) {
    remove(tmp);
    return gpd_error("%s: write failed: %s", path, strerror(err));
  }
  if (rename(tmp, path) != 0) {
    err = errno;
    remove(tmp);
    return gpd_error("%s: cannot rename %s into place: %s", path, tmp, strerror(err));
  }
  return 0;
}

int gpd_st_read_if_exists(gpd_safetensors *st, const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT) return 0;
    return gpd_error("%s: %s", path, strerror(errno));
  }
  GPD_TRY(gpd_st_read(st, path));
  return 1;
}
