/* Kernel files: the exact ".kernel" text format, Levin-style text kernels
 * (rows of numbers) and kernel images (gpd/blur.h). */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/image.h"

#define KERNEL_MAGIC "gpdeblur-kernel"
enum { KERNEL_VERSION = 1, KERNEL_MAX = 4096 };
/* the largest text kernel: 4096 x 4096 numbers of 16 characters */
#define KERNEL_MAX_BYTES ((size_t)1 << 28)

int gpd_kernel_save(const char *path, const float *k, int ksize) {
  if (!k || ksize < 1) return gpd_error("cannot save kernel '%s': empty kernel", path);
  FILE *f = fopen(path, "w");
  if (!f) return gpd_error("cannot write kernel '%s': %s", path, strerror(errno));
  fprintf(f, "%s %d %d\n", KERNEL_MAGIC, KERNEL_VERSION, ksize);
  for (int y = 0; y < ksize; y++)
    for (int x = 0; x < ksize; x++) fprintf(f, "%.9g%c", (double)k[y * ksize + x], x + 1 < ksize ? ' ' : '\n');
  int bad = ferror(f);
  int err = errno;
  if (fclose(f) != 0 || bad) return gpd_error("cannot write kernel '%s': %s", path, strerror(err ? err : EIO));
  return 0;
}

int gpd_kernel_save_both(const char *path, const float *k, int ksize) {
  char png[4096];
  gpd_image im = {0};
  GPD_TRY(gpd_kernel_save(path, k, ksize));
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - path) : strlen(path);
  snprintf(png, sizeof png, "%.*s.png", (int)stem, path);
  GPD_TRY(gpd_image_from_kernel(k, ksize, 1, &im));
  int rc = gpd_image_save_png(&im, png);
  gpd_image_free(&im);
  return rc;
}

/* The token at p (up to whitespace, at most 24 characters shown), for
 * messages that quote what was found. */
static int token_len(const char *p) {
  int n = 0;
  while (p[n] && !isspace((unsigned char)p[n]) && n < 24) n++;
  return n;
}

static int line_of(const char *text, const char *p) {
  int line = 1;
  for (const char *q = text; q < p; q++) line += *q == '\n';
  return line;
}

/* One finite number filling the token at *p; errors name the file, the
 * line and the token. */
static int parse_number(const char *name, const char *text, const char **p, float *out) {
  char *end;
  double v = strtod(*p, &end);
  if (end == *p || !isfinite(v) || (*end && !isspace((unsigned char)*end)) || fabs(v) > FLT_MAX)
    return gpd_error("kernel '%s': line %d: '%.*s' is not a finite number", name, line_of(text, *p), token_len(*p), *p);
  *out = (float)v;
  *p = end;
  return 0;
}

/* Parses `count` numbers from *p. */
static int parse_numbers(const char *name, const char *text, const char **p, float *out, int count) {
  for (int i = 0; i < count; i++) {
    while (isspace((unsigned char)**p)) (*p)++;
    if (!**p) return gpd_error("kernel '%s': ends after %d of %d numbers", name, i, count);
    GPD_TRY(parse_number(name, text, p, &out[i]));
  }
  return 0;
}

/* "gpdeblur-kernel 1 K" then K*K numbers. */
static int parse_kernel_file(const char *name, const char *text, size_t len, float **k, int *ksize) {
  int version, n, used = 0;
  if (sscanf(text, KERNEL_MAGIC " %d %d%n", &version, &n, &used) != 2)
    return gpd_error("kernel '%s': bad header '%.*s' (expected '" KERNEL_MAGIC " 1 K')", name,
                     (int)strcspn(text, "\n") < 60 ? (int)strcspn(text, "\n") : 60, text);
  if (version != KERNEL_VERSION) return gpd_error("kernel '%s': unsupported version %d (this build reads %d)", name, version, KERNEL_VERSION);
  if (n < 1 || n > KERNEL_MAX) return gpd_error("kernel '%s': invalid size %d (1..%d)", name, n, KERNEL_MAX);
  /* each number takes at least a digit and a separator */
  if ((size_t)n * (size_t)n > len / 2 + 1)
    return gpd_error("kernel '%s': declares %d x %d numbers in %zu bytes: truncated", name, n, n, len);
  float *buf = gpd_malloc(sizeof(float) * n * n, "kernel");
  if (!buf) return -1;
  const char *p = text + used;
  if (parse_numbers(name, text, &p, buf, n * n) != 0) {
    free(buf);
    return -1;
  }
  while (isspace((unsigned char)*p)) p++;
  if (*p) {
    free(buf);
    return gpd_error("kernel '%s': more than %d x %d numbers (line %d: '%.*s')", name, n, n, line_of(text, p),
                     token_len(p), p);
  }
  *k = buf;
  *ksize = n;
  return 0;
}

/* Rows of numbers, one kernel row per non-empty line (Levin's format). */
static int parse_rows(const char *name, const char *text, float **k, int *ksize) {
  int rows = 0, cols = -1, n = 0;
  for (const char *line = text; *line;) {
    const char *eol = strchr(line, '\n');
    if (!eol) eol = line + strlen(line);
    int count = 0;
    for (const char *q = line; q < eol;) {
      while (q < eol && isspace((unsigned char)*q)) q++;
      if (q == eol) break;
      if (count == 0 && rows == 0 && isalpha((unsigned char)*q) && strncasecmp(q, "nan", 3) && strncasecmp(q, "inf", 3))
        return gpd_error("kernel '%s': line 1 '%.*s' is neither the header '" KERNEL_MAGIC " 1 K' nor a row of numbers",
                         name, (int)(eol - line) < 60 ? (int)(eol - line) : 60, line);
      float v;
      const char *t = q;
      GPD_TRY(parse_number(name, text, &t, &v));
      count++;
      q = t;
    }
    if (count) {
      rows++;
      if (cols < 0) cols = count;
      else if (count != cols) return gpd_error("kernel '%s': row %d has %d numbers, row 1 has %d", name, rows, count, cols);
    }
    line = *eol ? eol + 1 : eol;
  }
  if (rows == 0) return gpd_error("kernel '%s': no numbers", name);
  if (rows != cols) return gpd_error("kernel '%s': %d rows of %d numbers is not square", name, rows, cols);
  if (rows > KERNEL_MAX) return gpd_error("kernel '%s': invalid size %d (1..%d)", name, rows, KERNEL_MAX);
  n = rows;
  float *buf = gpd_malloc(sizeof(float) * n * n, "kernel");
  if (!buf) return -1;
  const char *p = text;
  if (parse_numbers(name, text, &p, buf, n * n) != 0) {
    free(buf);
    return -1;
  }
  *k = buf;
  *ksize = n;
  return 0;
}

/* An image, as gray, normalised to sum 1. */
static int load_kernel_image(const char *name, const unsigned char *bytes, size_t len, float **k, int *ksize) {
  gpd_image im = {0};
  GPD_TRY(gpd_image_load_memory(&im, name, bytes, len, 1));
  if (im.h != im.w) {
    gpd_error("kernel image '%s' is %dx%d, not square", name, im.h, im.w);
    gpd_image_free(&im);
    return -1;
  }
  if (im.h > KERNEL_MAX) {
    gpd_error("kernel image '%s' is %dx%d, larger than %dx%d", name, im.h, im.w, KERNEL_MAX, KERNEL_MAX);
    gpd_image_free(&im);
    return -1;
  }
  double sum = 0.0;
  for (int i = 0; i < im.h * im.w; i++) sum += im.data[i];
  if (sum > 0.0)
    for (int i = 0; i < im.h * im.w; i++) im.data[i] = (float)(im.data[i] / sum);
  *k = im.data; /* the (1, K, K) plane is the kernel */
  *ksize = im.h;
  return 0;
}

/* Text is printable ASCII and whitespace throughout (images have binary
 * headers), except the ASCII PNM images, which start "P1".."P3". */
static int looks_like_text(const unsigned char *s, size_t len) {
  if (len >= 2 && s[0] == 'P' && s[1] >= '1' && s[1] <= '3') return 0;
  for (size_t i = 0; i < len; i++)
    if (!(isprint(s[i]) || isspace(s[i]))) return 0;
  return 1;
}

int gpd_kernel_check(const char *name, const float *k, int ksize) {
  if (!k || ksize < 1 || ksize > KERNEL_MAX) return gpd_error("kernel '%s': size %d (1..%d)", name, ksize, KERNEL_MAX);
  double sum = 0.0;
  for (int i = 0; i < ksize * ksize; i++) {
    if (!isfinite(k[i]))
      return gpd_error("kernel '%s': entry (row %d, column %d) is %g", name, i / ksize + 1, i % ksize + 1, (double)k[i]);
    if (k[i] < 0.0f)
      return gpd_error("kernel '%s': entry (row %d, column %d) is %g; a blur kernel has no negative entries", name,
                       i / ksize + 1, i % ksize + 1, (double)k[i]);
    sum += k[i];
  }
  if (!(sum > 0.0)) return gpd_error("kernel '%s' is all zeros; a blur kernel must sum to more than 0", name);
  return 0;
}

int gpd_kernel_load_memory(const char *name, const unsigned char *bytes, size_t len, float **k, int *ksize) {
  *k = NULL;
  *ksize = 0;
  int rc;
  if (looks_like_text(bytes, len)) {
    /* a copy with its NUL: the parsers read C strings */
    char *text = gpd_malloc(len + 1, "kernel text");
    if (!text) return -1;
    memcpy(text, bytes, len);
    text[len] = 0;
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    if (!strncmp(p, KERNEL_MAGIC, strlen(KERNEL_MAGIC))) rc = parse_kernel_file(name, p, len - (size_t)(p - text), k, ksize);
    else rc = parse_rows(name, text, k, ksize);
    free(text);
  } else {
    rc = load_kernel_image(name, bytes, len, k, ksize);
  }
  if (!rc && (rc = gpd_kernel_check(name, *k, *ksize)) != 0) {
    free(*k);
    *k = NULL;
    *ksize = 0;
  }
  return rc;
}

int gpd_kernel_load(const char *path, float **k, int *ksize) {
  *k = NULL;
  *ksize = 0;
  size_t len;
  unsigned char *bytes = (unsigned char *)gpd_read_file(path, "kernel", KERNEL_MAX_BYTES, &len);
  if (!bytes) return -1;
  int rc = gpd_kernel_load_memory(path, bytes, len, k, ksize);
  free(bytes);
  return rc;
}
