/* Kernel files: the exact ".kernel" text format, Levin-style text kernels
 * (rows of numbers) and kernel images (gpd/blur.h). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/image.h"

#define KERNEL_MAGIC "gpdeblur-kernel"
enum { KERNEL_VERSION = 1, KERNEL_MAX = 4096 };

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

/* The whole file as a NUL-terminated string of *size bytes. */
static char *read_text(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    gpd_error("cannot open kernel '%s': %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  char *s = gpd_malloc(cap, "kernel file");
  while (s) {
    len += fread(s + len, 1, cap - 1 - len, f);
    if (len < cap - 1) break;
    char *t = realloc(s, cap * 2);
    if (!t) {
      free(s);
      s = NULL;
      gpd_error("out of host memory reading kernel '%s'", path);
      break;
    }
    s = t;
    cap *= 2;
  }
  if (s && ferror(f)) {
    free(s);
    s = NULL;
    gpd_error("cannot read kernel '%s': %s", path, strerror(errno));
  }
  fclose(f);
  if (s) s[len] = 0;
  *size = len;
  return s;
}

/* Parses `count` finite numbers from *p; errors name the file and the line. */
static int parse_numbers(const char *path, const char *text, const char **p, float *out, int count) {
  for (int i = 0; i < count; i++) {
    char *end;
    while (isspace((unsigned char)**p)) (*p)++;
    double v = strtod(*p, &end);
    if (end == *p || !isfinite(v)) {
      int line = 1;
      for (const char *q = text; q < *p; q++) line += *q == '\n';
      if (!**p) return gpd_error("kernel '%s': ends after %d of %d numbers", path, i, count);
      return gpd_error("kernel '%s': line %d: '%.16s' is not a finite number", path, line, *p);
    }
    out[i] = (float)v;
    *p = end;
  }
  return 0;
}

/* "gpdeblur-kernel 1 K" then K*K numbers. */
static int parse_kernel_file(const char *path, const char *text, float **k, int *ksize) {
  int version, n, used = 0;
  if (sscanf(text, KERNEL_MAGIC " %d %d%n", &version, &n, &used) != 2)
    return gpd_error("kernel '%s': bad header (expected '" KERNEL_MAGIC " 1 K')", path);
  if (version != KERNEL_VERSION) return gpd_error("kernel '%s': unsupported version %d (this build reads %d)", path, version, KERNEL_VERSION);
  if (n < 1 || n > KERNEL_MAX) return gpd_error("kernel '%s': invalid size %d", path, n);
  float *buf = gpd_malloc(sizeof(float) * n * n, "kernel");
  if (!buf) return -1;
  const char *p = text + used;
  if (parse_numbers(path, text, &p, buf, n * n) != 0) {
    free(buf);
    return -1;
  }
  while (isspace((unsigned char)*p)) p++;
  if (*p) {
    free(buf);
    return gpd_error("kernel '%s': more than %d x %d numbers", path, n, n);
  }
  *k = buf;
  *ksize = n;
  return 0;
}

/* Rows of numbers, one kernel row per non-empty line (Levin's format). */
static int parse_rows(const char *path, const char *text, float **k, int *ksize) {
  int rows = 0, cols = -1, n = 0;
  for (const char *line = text; *line;) {
    const char *eol = strchr(line, '\n');
    if (!eol) eol = line + strlen(line);
    int count = 0;
    for (const char *q = line; q < eol;) {
      while (q < eol && isspace((unsigned char)*q)) q++;
      if (q == eol) break;
      count++;
      while (q < eol && !isspace((unsigned char)*q)) q++;
    }
    if (count) {
      rows++;
      if (cols < 0) cols = count;
      else if (count != cols) return gpd_error("kernel '%s': row %d has %d numbers, row 1 has %d", path, rows, count, cols);
    }
    line = *eol ? eol + 1 : eol;
  }
  if (rows == 0) return gpd_error("kernel '%s': no numbers", path);
  if (rows != cols) return gpd_error("kernel '%s': %d rows of %d numbers is not square", path, rows, cols);
  if (rows > KERNEL_MAX) return gpd_error("kernel '%s': invalid size %d", path, rows);
  n = rows;
  float *buf = gpd_malloc(sizeof(float) * n * n, "kernel");
  if (!buf) return -1;
  const char *p = text;
  if (parse_numbers(path, text, &p, buf, n * n) != 0) {
    free(buf);
    return -1;
  }
  *k = buf;
  *ksize = n;
  return 0;
}

/* An image, as gray, normalised to sum 1. */
static int load_kernel_image(const char *path, float **k, int *ksize) {
  gpd_image im = {0};
  GPD_TRY(gpd_image_load(&im, path, 1));
  if (im.h != im.w) {
    gpd_error("kernel image '%s' is %dx%d, not square", path, im.h, im.w);
    gpd_image_free(&im);
    return -1;
  }
  double sum = 0.0;
  for (int i = 0; i < im.h * im.w; i++) sum += im.data[i];
  if (sum <= 0.0) {
    gpd_error("kernel image '%s' is all black", path);
    gpd_image_free(&im);
    return -1;
  }
  for (int i = 0; i < im.h * im.w; i++) im.data[i] = (float)(im.data[i] / sum);
  *k = im.data; /* the (1, K, K) plane is the kernel */
  *ksize = im.h;
  return 0;
}

/* Text is printable ASCII and whitespace throughout (images have binary
 * headers), except the ASCII PNM images, which start "P1".."P3". */
static int looks_like_text(const char *s, size_t len) {
  if (len >= 2 && s[0] == 'P' && s[1] >= '1' && s[1] <= '3') return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (!(isprint(ch) || isspace(ch))) return 0;
  }
  return 1;
}

int gpd_kernel_load(const char *path, float **k, int *ksize) {
  *k = NULL;
  *ksize = 0;
  size_t len;
  char *text = read_text(path, &len);
  if (!text) return -1;
  const char *p = text;
  while (isspace((unsigned char)*p)) p++;
  int rc;
  if (!strncmp(p, KERNEL_MAGIC, strlen(KERNEL_MAGIC))) rc = parse_kernel_file(path, p, k, ksize);
  else if (looks_like_text(text, len)) rc = parse_rows(path, text, k, ksize);
  else rc = load_kernel_image(path, k, ksize);
  free(text);
  return rc;
}
