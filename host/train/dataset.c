/* Training data sets (gpd/train.h): motion kernels drawn on the fly from a
 * seed range, image folders held in 8-bit memory, and float blocks. */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/repo_path.h"
#include "gpd/image.h"
#include "gpd/train.h"

size_t gpd_dataset_item_size(const gpd_dataset *ds) { return (size_t)ds->c * (size_t)ds->h * (size_t)ds->w; }

int gpd_dataset_kernels(gpd_dataset *ds, int ksize, uint64_t seed_first, long count, int len_min, int len_max) {
  memset(ds, 0, sizeof *ds);
  if (ksize < 1 || count < 1) return gpd_error("kernel data set: need ksize >= 1 and count >= 1 (got %d, %ld)", ksize, count);
  if (len_min < 1 || len_max < len_min) return gpd_error("kernel data set: bad length range %d..%d", len_min, len_max);
  if (seed_first > UINT64_MAX - (uint64_t)count) return gpd_error("kernel data set: seed range overflows");
  ds->kind = GPD_DATASET_KERNELS;
  ds->c = 1;
  ds->h = ds->w = ksize;
  ds->count = count;
  ds->seed_first = seed_first;
  ds->len_min = len_min;
  ds->len_max = len_max;
  snprintf(ds->description, sizeof ds->description, "motion kernels %dx%d, seeds %llu..%llu, lengths %d-%d", ksize, ksize,
           (unsigned long long)seed_first, (unsigned long long)(seed_first + (uint64_t)count - 1), len_min, len_max);
  return 0;
}

int gpd_dataset_memory(gpd_dataset *ds, int c, int h, int w, long count, const float *items) {
  memset(ds, 0, sizeof *ds);
  if (c < 1 || h < 1 || w < 1 || count < 1) return gpd_error("memory data set: empty shape or count");
  size_t n = (size_t)count * (size_t)c * (size_t)h * (size_t)w;
  ds->items = gpd_malloc(n * sizeof(float), "a memory data set");
  if (!ds->items) return -1;
  memcpy(ds->items, items, n * sizeof(float));
  ds->kind = GPD_DATASET_MEMORY;
  ds->c = c;
  ds->h = h;
  ds->w = w;
  ds->count = count;
  snprintf(ds->description, sizeof ds->description, "%ld items of %dx%dx%d in memory", count, c, h, w);
  return 0;
}

void gpd_dataset_free(gpd_dataset *ds) {
  free(ds->pixels);
  free(ds->items);
  memset(ds, 0, sizeof *ds);
}

static int has_image_extension(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot) return 0;
  static const char *exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm"};
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
    if (!strcasecmp(dot, exts[i])) return 1;
  return 0;
}

/* The number a file name's stem spells ("000123.jpg" -> 123), or -1. */
static long numeric_stem(const char *name) {
  const char *dot = strrchr(name, '.');
  size_t len = dot ? (size_t)(dot - name) : strlen(name);
  if (len == 0 || len > 18) return -1;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)name[i])) return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Brings one loaded image to size x size: the CelebA recipe when crop > 0,
 * else unchanged when already size x size, else the largest centred square
 * resized. */
static int fit_image(const gpd_image *src, int size, int crop, gpd_image *dst, const char *path) {
  if (crop > 0) {
    if (src->h < crop || src->w < crop) return gpd_error("%s: %dx%d is smaller than the %dx%d crop", path, src->w, src->h, crop, crop);
    return gpd_image_crop_resize(src, crop, size, dst);
  }
  if (src->h == size && src->w == size) {
    GPD_TRY(gpd_image_alloc(dst, src->c, size, size));
    memcpy(dst->data, src->data, (size_t)src->c * size * size * sizeof(float));
    return 0;
  }
  int side = src->h < src->w ? src->h : src->w;
  return gpd_image_crop_resize(src, side, size, dst);
}

int gpd_dataset_image_folder(gpd_dataset *ds, const char *dir, int channels, int size, int crop, long first, long last) {
  memset(ds, 0, sizeof *ds);
  if (channels != 1 && channels != 3) return gpd_error("image data set: channels must be 1 or 3");
  if (size < 1) return gpd_error("image data set: bad size %d", size);
  DIR *d = opendir(dir);
  if (!d) return gpd_error("%s: cannot open the data folder (%s)", dir, strerror(errno));
  char **names = NULL;
  long n = 0, cap = 0;
  struct dirent *ent;
  int rc = -1;
  while ((ent = readdir(d))) {
    if (ent->d_name[0] == '.' || !has_image_extension(ent->d_name)) continue;
    if (first >= 0 && first <= last) {
      long v = numeric_stem(ent->d_name);
      if (v < first || v > last) continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 1024;
      char **grown = realloc(names, (size_t)cap * sizeof *names);
      if (!grown) {
        gpd_error("out of host memory listing %s", dir);
        goto done;
      }
      names = grown;
    }
    if (!(names[n] = strdup(ent->d_name))) {
      gpd_error("out of host memory listing %s", dir);
      goto done;
    }
    n++;
  }
  if (n == 0) {
    if (first >= 0 && first <= last)
      gpd_error("%s: no images with numbered names in %ld..%ld", dir, first, last);
    else
      gpd_error("%s: no PNG/JPEG/BMP/PPM images", dir);
    goto done;
  }
  qsort(names, (size_t)n, sizeof *names, compare_names);
  size_t item = (size_t)channels * size * size;
  ds->pixels = gpd_malloc((size_t)n * item, "the image data set");
  if (!ds->pixels) goto done;
  for (long i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    gpd_image src = {0}, fitted = {0};
    if (gpd_image_load(&src, path, channels) != 0) goto done;
    int ok = fit_image(&src, size, crop, &fitted, path);
    gpd_image_free(&src);
    if (ok != 0) goto done;
    uint8_t *dst = ds->pixels + (size_t)i * item;
    for (size_t j = 0; j < item; j++) {
      float v = fitted.data[j];
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      dst[j] = (uint8_t)(v * 255.0f + 0.5f);
    }
    gpd_image_free(&fitted);
  }
  ds->kind = GPD_DATASET_IMAGES;
  ds->c = channels;
  ds->h = ds->w = size;
  ds->count = n;
  /* the description ships in weights metadata: the folder relative to the repository */
  char where[1024];
  gpd_repo_relative(dir, where, sizeof where);
  if (crop > 0)
    snprintf(ds->description, sizeof ds->description, "%.120s: %ld images %s..%s, center crop %d, resized to %d", where, n,
             names[0], names[n - 1], crop, size);
  else
    snprintf(ds->description, sizeof ds->description, "%.120s: %ld images %s..%s at %dx%d", where, n, names[0], names[n - 1],
             size, size);
  rc = 0;
done:
  closedir(d);
  for (long i = 0; i < n; i++) free(names[i]);
  free(names);
  if (rc != 0) {
    free(ds->pixels);
    ds->pixels = NULL;
  }
  return rc;
}

int gpd_dataset_get(const gpd_dataset *ds, long index, float *out) {
  if (index < 0 || index >= ds->count) return gpd_error("data set: item %ld outside 0..%ld", index, ds->count - 1);
  size_t item = gpd_dataset_item_size(ds);
  switch (ds->kind) {
  case GPD_DATASET_KERNELS:
    return gpd_motion_kernel(out, ds->h, ds->seed_first + (uint64_t)index, ds->len_min, ds->len_max);
  case GPD_DATASET_IMAGES: {
    const uint8_t *src = ds->pixels + (size_t)index * item;
    /* divided, not multiplied by 1/255: the same floats gpd_image_load
     * gives for an 8-bit file (evalgen's items are then project's images) */
    for (size_t j = 0; j < item; j++) out[j] = (float)src[j] / 255.0f;
    return 0;
  }
  case GPD_DATASET_MEMORY:
    memcpy(out, ds->items + (size_t)index * item, item * sizeof(float));
    return 0;
  }
  return gpd_error("data set: unknown kind");
}

int gpd_dataset_batch(const gpd_dataset *ds, const long *index, int n, float *out) {
  size_t item = gpd_dataset_item_size(ds);
  for (int i = 0; i < n; i++) GPD_TRY(gpd_dataset_get(ds, index[i], out + (size_t)i * item));
  return 0;
}

int gpd_parse_range(const char *opt, const char *text, long *first, long *last) {
  char *end;
  errno = 0;
  long a = strtol(text, &end, 10);
  if (errno || end == text || *end != ':') return gpd_error("--%s: '%s' is not a range A:B", opt, text);
  const char *second = end + 1;
  long b = strtol(second, &end, 10);
  if (errno || end == second || *end) return gpd_error("--%s: '%s' is not a range A:B", opt, text);
  if (a < 0 || b < a) return gpd_error("--%s: '%s' needs 0 <= A <= B", opt, text);
  *first = a;
  *last = b;
  return 0;
}
