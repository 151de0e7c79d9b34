/* Blur geometry of the CPU engine: placing kernels on FFT canvases, and the
 * valid window of a linear convolution, each with its exact adjoint. */
#include "cpu_ops.h"
#include "gpd/common.h"

/* Canvas row (or column) of kernel index a: centred kernels put index K/2
 * at 0 and wrap negative offsets to the end; uncentred ones sit at [0, K). */
static int canvas_index(int a, int ksize, int size, int centered) {
  if (!centered) return a;
  int r = a - ksize / 2;
  return r < 0 ? r + size : r;
}

static int canvas_check(const char *op, int n, int ksize, int h, int w) {
  if (n < 0 || ksize < 1 || h < 1 || w < 1)
    return gpd_error("%s: invalid size N=%d K=%d H=%d W=%d", op, n, ksize, h, w);
  if (ksize > h || ksize > w) return gpd_error("%s: kernel %dx%d does not fit the %dx%d canvas", op, ksize, ksize, h, w);
  return 0;
}

/* k (N, K, K) -> canvas (N, H, W), zero outside the kernel */
int cpu_kernel_to_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *k, float *canvas) {
  (void)e;
  GPD_TRY(canvas_check("kernel_to_canvas", n, ksize, h, w));
  const size_t plane = (size_t)h * w;
  for (int i = 0; i < n; i++) {
    float *ci = canvas + i * plane;
    const float *ki = k + (size_t)i * ksize * ksize;
    for (size_t j = 0; j < plane; j++) ci[j] = 0.0f;
    for (int a = 0; a < ksize; a++) {
      float *row = ci + (size_t)canvas_index(a, ksize, h, centered) * w;
      for (int b = 0; b < ksize; b++) row[canvas_index(b, ksize, w, centered)] = ki[a * ksize + b];
    }
  }
  return 0;
}

/* canvas (N, H, W) -> dk (N, K, K): the adjoint, which reads the kernel's
 * cells back (overwrites dk). */
int cpu_kernel_from_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *canvas, float *dk) {
  (void)e;
  GPD_TRY(canvas_check("kernel_from_canvas", n, ksize, h, w));
  const size_t plane = (size_t)h * w;
  for (int i = 0; i < n; i++) {
    const float *ci = canvas + i * plane;
    float *ki = dk + (size_t)i * ksize * ksize;
    for (int a = 0; a < ksize; a++) {
      const float *row = ci + (size_t)canvas_index(a, ksize, h, centered) * w;
      for (int b = 0; b < ksize; b++) ki[a * ksize + b] = row[canvas_index(b, ksize, w, centered)];
    }
  }
  return 0;
}

static int valid_check(const char *op, int n, int c, int h, int w, int ksize) {
  if (n < 0 || c < 0 || ksize < 1 || h < ksize || w < ksize)
    return gpd_error("%s: invalid size N=%d C=%d H=%d W=%d K=%d (need H, W >= K)", op, n, c, h, w, ksize);
  return 0;
}

/* full (N, C, H, W) -> valid (N, C, H-K+1, W-K+1) from offset (K-1, K-1) */
int cpu_valid_crop(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *full, float *valid) {
  (void)e;
  GPD_TRY(valid_check("valid_crop", n, c, h, w, ksize));
  const int hv = h - ksize + 1, wv = w - ksize + 1;
  const size_t planes = (size_t)n * c;
  for (size_t p = 0; p < planes; p++) {
    const float *src = full + p * h * w + (size_t)(ksize - 1) * w + (ksize - 1);
    float *dst = valid + p * hv * wv;
    for (int y = 0; y < hv; y++)
      for (int x = 0; x < wv; x++) dst[(size_t)y * wv + x] = src[(size_t)y * w + x];
  }
  return 0;
}

/* valid (N, C, H-K+1, W-K+1) -> full (N, C, H, W), zero outside the window */
int cpu_valid_pad(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *valid, float *full) {
  (void)e;
  GPD_TRY(valid_check("valid_pad", n, c, h, w, ksize));
  const int hv = h - ksize + 1, wv = w - ksize + 1;
  const size_t planes = (size_t)n * c;
  for (size_t p = 0; p < planes; p++) {
    float *dst = full + p * h * w;
    const float *src = valid + p * hv * wv;
    for (size_t j = 0; j < (size_t)h * w; j++) dst[j] = 0.0f;
    dst += (size_t)(ksize - 1) * w + (ksize - 1);
    for (int y = 0; y < hv; y++)
      for (int x = 0; x < wv; x++) dst[(size_t)y * w + x] = src[(size_t)y * wv + x];
  }
  return 0;
}
