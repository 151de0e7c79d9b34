/* Rows of the results CSV (gpd/eval.h): formatting with RFC 4180 quoting,
 * parsing, reading a file cut short by a kill, and durable appends. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpd/common.h"
#include "gpd/eval.h"

#define N_FIELDS 19 /* V2: 17 (no blurry_psnr, blurry_ssim); V1: 16 (no restart_iterations either) */

void gpd_eval_row_init(gpd_eval_row *r) {
  memset(r, 0, sizeof *r);
  r->sigma = r->psnr = r->ssim = r->kernel_error = NAN;
  r->measurement = r->total = r->range_psnr = r->seconds = r->restart_iterations = NAN;
  r->blurry_psnr = r->blurry_ssim = NAN;
  r->chosen = -1;
  snprintf(r->status, sizeof r->status, "ok");
}

/* ---- formatting ---------------------------------------------------------------- */

typedef struct out_buf {
  char *p;
  size_t size, len;
  int overflow;
} out_buf;

static void put(out_buf *b, const char *fmt, ...) {
  if (b->overflow) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= b->size - b->len) b->overflow = 1;
  else b->len += (size_t)n;
}

/* A text field: quoted when it holds a comma or a quote; line breaks
 * become spaces so that every row stays one line. */
static void put_text(out_buf *b, const char *s, int comma) {
  if (comma) put(b, ",");
  int quote = strpbrk(s, ",\"") != NULL;
  if (quote) put(b, "\"");
  for (const char *c = s; *c; c++) {
    if (*c == '"') put(b, "\"\"");
    else if (*c == '\n' || *c == '\r') put(b, " ");
    else put(b, "%c", *c);
  }
  if (quote) put(b, "\"");
}

/* Numbers: %.9g (round-trips through strtod and back to the same text),
 * "nan" for NaN whatever its sign bit. */
static void put_num(out_buf *b, double v, const char *fmt) {
  put(b, ",");
  if (isnan(v)) put(b, "nan");
  else put(b, fmt, v);
}

int gpd_eval_row_format(const gpd_eval_row *r, char *buf, size_t size) {
  out_buf b = {buf, size, 0, 0};
  put_text(&b, r->file, 0);
  put(&b, ",%ld", r->index);
  put_text(&b, r->kernel, 1);
  put_num(&b, r->sigma, "%.6g");
  put_text(&b, r->alg, 1);
  put_text(&b, r->target, 1);
  put_text(&b, r->status, 1);
  put_num(&b, r->psnr, "%.9g");
  put_num(&b, r->ssim, "%.9g");
  put_num(&b, r->kernel_error, "%.9g");
  put(&b, ",%d", r->chosen);
  put_num(&b, r->measurement, "%.9g");
  put_num(&b, r->total, "%.9g");
  put_num(&b, r->range_psnr, "%.9g");
  put_num(&b, r->seconds, "%.3f");
  put_num(&b, r->restart_iterations, "%.0f");
  put_num(&b, r->blurry_psnr, "%.9g");
  put_num(&b, r->blurry_ssim, "%.9g");
  put_text(&b, r->note, 1);
  put(&b, "\n");
  if (b.overflow) return gpd_error("results row for %s does not fit %zu bytes", r->file, size);
  return 0;
}

/* ---- parsing --------------------------------------------------------------------- */

/* Splits one line into fields (quotes removed, "" unescaped) written into
 * store; returns the field count or -1. */
static int split_fields(const char *line, char *store, size_t store_size, char **fields, int max_fields) {
  int n = 0;
  size_t w = 0;
  const char *p = line;
  for (;;) {
    if (n == max_fields) return -1;
    fields[n++] = store + w;
    if (*p == '"') {
      p++;
      for (;;) {
        if (!*p) return -1; /* unterminated quote */
        if (*p == '"') {
          if (p[1] == '"') {
            if (w + 1 >= store_size) return -1;
            store[w++] = '"';
            p += 2;
            continue;
          }
          p++;
          break;
        }
        if (w + 1 >= store_size) return -1;
        store[w++] = *p++;
      }
      if (*p && *p != ',') return -1;
    } else {
      while (*p && *p != ',') {
        if (w + 1 >= store_size) return -1;
        store[w++] = *p++;
      }
    }
    if (w + 1 >= store_size) return -1;
    store[w++] = 0;
    if (!*p) return n;
    p++; /* the comma */
  }
}

static const char *const FIELD_NAMES[N_FIELDS] = {"file",    "index",       "kernel",      "sigma", "alg",
                                                  "target",  "status",      "psnr",        "ssim",  "kernel_error",
                                                  "chosen",  "measurement", "total",       "range_psnr",
                                                  "seconds", "restart_iterations", "blurry_psnr", "blurry_ssim",
                                                  "note"};

static int parse_double(const char *s, int field, double *v) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  if (end == s || *end) return gpd_error("field %s: '%s' is not a number", FIELD_NAMES[field], s);
  return 0;
}

static int parse_long(const char *s, int field, long *v) {
  char *end;
  errno = 0;
  *v = strtol(s, &end, 10);
  if (errno || end == s || *end) return gpd_error("field %s: '%s' is not an integer", FIELD_NAMES[field], s);
  return 0;
}

static int copy_text(char *dst, size_t size, const char *s, int field) {
  if (strlen(s) >= size) return gpd_error("field %s is longer than %zu characters", FIELD_NAMES[field], size - 1);
  memcpy(dst, s, strlen(s) + 1);
  return 0;
}

/* legacy: an older layout (gpd_eval_rows.legacy), its missing columns NaN */
static int parse_row(const char *line, gpd_eval_row *r, int legacy) {
  char store[2048];
  char *f[N_FIELDS + 1];
  gpd_eval_row_init(r);
  const int want = legacy == 1 ? N_FIELDS - 3 : legacy == 2 ? N_FIELDS - 2 : N_FIELDS;
  int n = split_fields(line, store, sizeof store, f, N_FIELDS + 1);
  if (n != want) {
    if (n < 0) return gpd_error("malformed row (bad quoting or too long)");
    return gpd_error("%d fields, expected %d", n, want);
  }
  long l;
  GPD_TRY(copy_text(r->file, sizeof r->file, f[0], 0));
  if (!r->file[0]) return gpd_error("empty file name");
  GPD_TRY(parse_long(f[1], 1, &r->index));
  if (r->index < 0) return gpd_error("field index: %ld is negative", r->index);
  GPD_TRY(copy_text(r->kernel, sizeof r->kernel, f[2], 2));
  GPD_TRY(parse_double(f[3], 3, &r->sigma));
  GPD_TRY(copy_text(r->alg, sizeof r->alg, f[4], 4));
  GPD_TRY(copy_text(r->target, sizeof r->target, f[5], 5));
  GPD_TRY(copy_text(r->status, sizeof r->status, f[6], 6));
  if (strcmp(r->status, "ok") && strcmp(r->status, "skipped") && strcmp(r->status, "diverged"))
    return gpd_error("field status: '%s' is not ok, skipped or diverged", r->status);
  GPD_TRY(parse_double(f[7], 7, &r->psnr));
  GPD_TRY(parse_double(f[8], 8, &r->ssim));
  GPD_TRY(parse_double(f[9], 9, &r->kernel_error));
  GPD_TRY(parse_long(f[10], 10, &l));
  r->chosen = (int)l;
  GPD_TRY(parse_double(f[11], 11, &r->measurement));
  GPD_TRY(parse_double(f[12], 12, &r->total));
  GPD_TRY(parse_double(f[13], 13, &r->range_psnr));
  GPD_TRY(parse_double(f[14], 14, &r->seconds));
  if (legacy != 1) GPD_TRY(parse_double(f[15], 15, &r->restart_iterations));
  if (!legacy) {
    GPD_TRY(parse_double(f[16], 16, &r->blurry_psnr));
    GPD_TRY(parse_double(f[17], 17, &r->blurry_ssim));
  }
  GPD_TRY(copy_text(r->note, sizeof r->note, f[want - 1], N_FIELDS - 1));
  return 0;
}

int gpd_eval_row_parse(const char *line, gpd_eval_row *r) { return parse_row(line, r, 0); }

/* ---- row lists ------------------------------------------------------------------- */

int gpd_eval_rows_push(gpd_eval_rows *rs, const gpd_eval_row *r) {
  if (rs->n == rs->cap) {
    long cap = rs->cap ? 2 * rs->cap : 64;
    gpd_eval_row *v = realloc(rs->rows, sizeof(gpd_eval_row) * (size_t)cap);
    if (!v) return gpd_error("out of host memory for results rows");
    rs->rows = v;
    rs->cap = cap;
  }
  rs->rows[rs->n++] = *r;
  return 0;
}

void gpd_eval_rows_free(gpd_eval_rows *rs) {
  if (!rs) return;
  free(rs->rows);
  memset(rs, 0, sizeof *rs);
}

/* ---- files ------------------------------------------------------------------------ */

static int truncate_to(const char *path, long keep) {
  FILE *f = fopen(path, "r+b");
  if (!f) return gpd_error("cannot open %s to cut its partial last line: %s", path, strerror(errno));
  int rc = 0;
  if (ftruncate(fileno(f), (off_t)keep) != 0 || fsync(fileno(f)) != 0)
    rc = gpd_error("cannot cut the partial last line of %s: %s", path, strerror(errno));
  fclose(f);
  gpd_kill_point("csv: partial last line cut");
  return rc;
}

typedef struct row_key {
  const gpd_eval_row *row;
  long line;
} row_key;

static int by_index(const void *a, const void *b) {
  const row_key *x = a, *y = b;
  if (x->row->index != y->row->index) return x->row->index < y->row->index ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

static int by_file(const void *a, const void *b) {
  const row_key *x = a, *y = b;
  const int c = strcmp(x->row->file, y->row->file);
  if (c) return c;
  return x->line < y->line ? -1 : x->line > y->line;
}

/* No item twice: a row repeated (by index or by file name) would be
 * counted twice by a summary and is never what a run wrote. */
static int check_unique(const char *name, const gpd_eval_rows *rows, const long *line_of) {
  if (rows->n < 2) return 0;
  row_key *keys = gpd_malloc(sizeof(row_key) * (size_t)rows->n, "results rows check");
  if (!keys) return -1;
  int rc = 0;
  for (int pass = 0; pass < 2 && !rc; pass++) {
    for (long i = 0; i < rows->n; i++) keys[i] = (row_key){&rows->rows[i], line_of[i]};
    qsort(keys, (size_t)rows->n, sizeof *keys, pass ? by_file : by_index);
    for (long i = 1; i < rows->n && !rc; i++)
      if (pass ? !strcmp(keys[i].row->file, keys[i - 1].row->file) : keys[i].row->index == keys[i - 1].row->index)
        rc = gpd_error("%s line %ld: %s (index %ld) repeats line %ld (%s, index %ld): an image is in the results "
                       "twice",
                       name, keys[i].line, keys[i].row->file, keys[i].row->index, keys[i - 1].line,
                       keys[i - 1].row->file, keys[i - 1].row->index);
  }
  free(keys);
  return rc;
}

int gpd_eval_csv_parse(const char *name, const char *bytes, size_t len, gpd_eval_rows *out, size_t *keep) {
  memset(out, 0, sizeof *out);
  /* everything after the last newline is a write cut short */
  size_t k = len;
  while (k > 0 && bytes[k - 1] != '\n') k--;
  *keep = k;
  const char *nul = memchr(bytes, 0, k);
  if (nul) {
    long line = 1;
    for (const char *q = bytes; q < nul; q++) line += *q == '\n';
    return gpd_error("%s line %ld holds a NUL byte: the file is damaged (rows after it would be lost); repair or "
                     "remove that line",
                     name, line);
  }
  char *text = gpd_malloc(k + 1, "results CSV text");
  long *line_of = NULL, cap = 0;
  if (!text) return -1;
  memcpy(text, bytes, k);
  text[k] = 0;
  int rc = 0;
  char *line = text, *nl;
  long lineno = 0;
  while (!rc && (nl = strchr(line, '\n'))) {
    *nl = 0;
    if (nl > line && nl[-1] == '\r') nl[-1] = 0;
    lineno++;
    if (lineno == 1) {
      if (!strcmp(line, GPD_EVAL_CSV_HEADER_V1)) out->legacy = 1;
      else if (!strcmp(line, GPD_EVAL_CSV_HEADER_V2)) out->legacy = 2;
      else if (strcmp(line, GPD_EVAL_CSV_HEADER))
        rc = gpd_error("%s is not a gpdeblur results CSV (its first line is '%.80s')", name, line);
    } else if (line[0]) {
      gpd_eval_row r;
      if (parse_row(line, &r, out->legacy) != 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", gpd_last_error());
        rc = gpd_error("%s line %ld: %s", name, lineno, why);
      } else if (!(rc = gpd_eval_rows_push(out, &r))) {
        if (out->n > cap) {
          cap = out->cap;
          long *l = realloc(line_of, sizeof(long) * (size_t)cap);
          if (!l) rc = gpd_error("out of host memory reading %s", name);
          else line_of = l;
        }
        if (!rc) line_of[out->n - 1] = lineno;
      }
    }
    line = nl + 1;
  }
  if (!rc) rc = check_unique(name, out, line_of);
  free(text);
  free(line_of);
  if (rc) gpd_eval_rows_free(out);
  return rc;
}

int gpd_eval_csv_read(const char *path, int truncate_partial, gpd_eval_rows *out, long *dropped) {
  memset(out, 0, sizeof *out);
  if (dropped) *dropped = 0;
  size_t len, keep;
  char *text = gpd_read_file(path, "results CSV", (size_t)1 << 32, &len);
  if (!text) return -1;
  int rc = gpd_eval_csv_parse(path, text, len, out, &keep);
  free(text);
  if (!rc && dropped) *dropped = (long)(len - keep);
  if (!rc && truncate_partial && keep < len) rc = truncate_to(path, (long)keep);
  if (rc) gpd_eval_rows_free(out);
  return rc;
}

int gpd_eval_csv_append(FILE *f, const char *path, const gpd_eval_row *r) {
  char line[4096];
  GPD_TRY(gpd_eval_row_format(r, line, sizeof line));
  size_t n = strlen(line), first = 0;
  /* one write of the whole line, then to the disk before the next item
   * (the crash-safety test splits it, to be killed in the middle) */
  if (gpd_kill_points_armed()) {
    first = n / 2;
    if (fwrite(line, 1, first, f) != first || fflush(f) != 0)
      return gpd_error("cannot append to %s: %s", path, strerror(errno));
    gpd_kill_point("csv: row half written");
  }
  if (fwrite(line + first, 1, n - first, f) != n - first || fflush(f) != 0)
    return gpd_error("cannot append to %s: %s", path, strerror(errno));
  gpd_kill_point("csv: row written, not synced");
  if (fsync(fileno(f)) != 0) return gpd_error("cannot append to %s: %s", path, strerror(errno));
  gpd_kill_point("csv: row synced");
  return 0;
}
