/* The test kernels (gpd/eval.h): motion kernels from seeds at and above
 * 1e9, disjoint from the training kernels' seeds, optionally only those of
 * a length bucket (Fig. 14); or a folder of kernel files used in turn. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/eval.h"

void gpd_eval_kernels_free(gpd_eval_kernels *k) {
  if (!k) return;
  free(k->seeds);
  for (int i = 0; i < k->n_files; i++) free(k->files[i]);
  free(k->files);
  k->seeds = NULL;
  k->files = NULL;
  k->n_files = 0;
  k->n = 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_kernel_files(gpd_eval_kernels *k) {
  DIR *d = opendir(k->dir);
  if (!d) return gpd_error("cannot open the kernel folder %s: %s", k->dir, strerror(errno));
  struct dirent *de;
  int cap = 0, rc = 0;
  while ((de = readdir(d))) {
    const char *dot = strrchr(de->d_name, '.');
    if (de->d_name[0] == '.' || !dot) continue;
    /* the PNG written beside each .kernel is for people; skip it then */
    if (strcmp(dot, ".kernel") && strcmp(dot, ".txt") && strcmp(dot, ".png")) continue;
    if (!strcmp(dot, ".png")) {
      char twin[4096];
      snprintf(twin, sizeof twin, "%s/%.*s.kernel", k->dir, (int)(dot - de->d_name), de->d_name);
      FILE *f = fopen(twin, "r");
      if (f) {
        fclose(f);
        continue;
      }
    }
    if (k->n_files == cap) {
      cap = cap ? 2 * cap : 64;
      char **v = realloc(k->files, sizeof(char *) * (size_t)cap);
      if (!v) {
        rc = gpd_error("out of host memory listing kernels");
        break;
      }
      k->files = v;
    }
    size_t n = strlen(k->dir) + strlen(de->d_name) + 2;
    if (!(k->files[k->n_files] = gpd_malloc(n, "kernel path"))) {
      rc = -1;
      break;
    }
    snprintf(k->files[k->n_files++], n, "%s/%s", k->dir, de->d_name);
  }
  closedir(d);
  if (rc) return -1;
  if (k->n_files == 0) return gpd_error("no kernel files (.kernel, .txt, .png) in %s", k->dir);
  qsort(k->files, (size_t)k->n_files, sizeof(char *), by_name);
  /* check each once and fingerprint the set for the manifest */
  uint64_t h = GPD_FNV1A64_INIT;
  for (int i = 0; i < k->n_files; i++) {
    float *kv = NULL;
    int ks = 0;
    if (gpd_kernel_load(k->files[i], &kv, &ks) != 0) return -1;
    const char *base = strrchr(k->files[i], '/') + 1;
    h = gpd_fnv1a64(h, base, strlen(base) + 1);
    h = gpd_fnv1a64(h, kv, sizeof(float) * (size_t)ks * ks);
    free(kv);
    if (ks > k->ksize) return gpd_error("kernel %s is %dx%d, larger than the %dx%d canvas", k->files[i], ks, ks, k->ksize, k->ksize);
  }
  k->files_hash = h;
  return 0;
}

static int seeds_wrap(const gpd_eval_kernels *k, long count) {
  return gpd_error("test kernels: the motion seeds from %llu pass %llu before %ld kernels are drawn",
                   (unsigned long long)k->seed0, (unsigned long long)UINT64_MAX, count);
}

int gpd_eval_kernels_prepare(gpd_eval_kernels *k, long count) {
  gpd_eval_kernels_free(k);
  if (k->ksize < 1) return gpd_error("test kernels: canvas size %d", k->ksize);
  if (k->dir) {
    GPD_TRY(list_kernel_files(k));
    k->n = count;
    return 0;
  }
  if (k->len_min < 1 || k->len_max < k->len_min)
    return gpd_error("test kernels: motion length range [%d, %d]", k->len_min, k->len_max);
  const int bucket = k->bucket_min > 0 || k->bucket_max > 0;
  if (bucket && (k->bucket_min > k->bucket_max || k->bucket_max < k->len_min || k->bucket_min > k->len_max))
    return gpd_error("test kernels: no motion length in [%d, %d] is drawn (lengths are %d..%d)", k->bucket_min,
                     k->bucket_max, k->len_min, k->len_max);
  k->seeds = gpd_malloc(sizeof(uint64_t) * (size_t)(count ? count : 1), "test kernel seeds");
  if (!k->seeds) return -1;
  uint64_t s = k->seed0;
  for (long i = 0; i < count; i++) {
    /* lengths are uniform over [len_min, len_max], so a bucket accepts a
     * fixed fraction of seeds and the scan is short; seeds never wrap round
     * to 0 (and so to the training seeds) */
    for (;;) {
      int len = gpd_motion_kernel_length(s, k->len_min, k->len_max);
      if (len < 0) return -1;
      if (!bucket || (len >= k->bucket_min && len <= k->bucket_max)) break;
      if (s == UINT64_MAX) return seeds_wrap(k, count);
      s++;
    }
    if (s == UINT64_MAX && i + 1 < count) return seeds_wrap(k, count);
    k->seeds[i] = s++;
  }
  k->n = count;
  return 0;
}

int gpd_eval_kernel_embed(const float *src, int k, float *dst, int K) {
  if (k < 1 || k > K) return gpd_error("cannot place a %dx%d kernel on a %dx%d canvas", k, k, K, K);
  memset(dst, 0, sizeof(float) * (size_t)K * K);
  const int off = K / 2 - k / 2;
  for (int y = 0; y < k; y++) memcpy(dst + (size_t)(y + off) * K + off, src + (size_t)y * k, sizeof(float) * (size_t)k);
  return 0;
}

int gpd_eval_kernel_get(const gpd_eval_kernels *k, long index, float **kernel, char *id, size_t id_size) {
  *kernel = NULL;
  if (index < 0 || index >= k->n) return gpd_error("test kernel for item %ld: only %ld prepared", index, k->n);
  float *out = gpd_malloc(sizeof(float) * (size_t)k->ksize * k->ksize, "test kernel");
  if (!out) return -1;
  if (k->dir) {
    const char *path = k->files[index % k->n_files];
    float *kv = NULL;
    int ks = 0;
    if (gpd_kernel_load(path, &kv, &ks) != 0 || gpd_eval_kernel_embed(kv, ks, out, k->ksize) != 0) {
      free(kv);
      free(out);
      return -1;
    }
    free(kv);
    snprintf(id, id_size, "%s", strrchr(path, '/') + 1);
  } else {
    if (gpd_motion_kernel(out, k->ksize, k->seeds[index], k->len_min, k->len_max) != 0) {
      free(out);
      return -1;
    }
    snprintf(id, id_size, "%llu", (unsigned long long)k->seeds[index]);
  }
  *kernel = out;
  return 0;
}
