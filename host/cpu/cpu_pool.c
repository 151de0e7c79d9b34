/* Max-pool (window = stride = size, no padding, floor output size) and
 * nearest upsampling by an integer factor, NCHW.
 * argmax holds, per output, the flat index (y * W + x) of the chosen input
 * within its (H, W) plane, as PyTorch's indices; ties go to the first in
 * row-major window order and NaN wins, as in PyTorch. */
#include <math.h>
#include <string.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static int check_dims(const char *op, int n, int c, int h, int w, int f, const char *fname) {
  if (n < 0 || c < 1 || h < 1 || w < 1 || f < 1)
    return gpd_error("%s: bad shape (n %d, c %d, h %d, w %d, %s %d)", op, n, c, h, w, fname, f);
  return 0;
}

int cpu_maxpool2d_forward(gpd_engine *e, int n, int c, int h, int w, int size, const float *x, float *y, int32_t *argmax) {
  (void)e;
  GPD_TRY(check_dims("maxpool2d_forward", n, c, h, w, size, "size"));
  const int ho = h / size, wo = w / size;
  if (ho < 1 || wo < 1) return gpd_error("maxpool2d_forward: %dx%d input is smaller than the %d window", h, w, size);
  if (n == 0) return 0;
  if (!x || !y || !argmax) return gpd_error("maxpool2d_forward: NULL x, y or argmax");
  const size_t planes = (size_t)n * c;
  for (size_t p = 0; p < planes; p++) {
    const float *xp = x + p * h * w;
    float *yp = y + p * ho * wo;
    int32_t *ap = argmax + p * ho * wo;
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        int best = oy * size * w + ox * size;
        float bv = xp[best];
        for (int ky = 0; ky < size; ky++) {
          const int row = (oy * size + ky) * w + ox * size;
          for (int kx = 0; kx < size; kx++) {
            const float v = xp[row + kx];
            if (v > bv || (isnan(v) && !isnan(bv))) {
              bv = v;
              best = row + kx;
            }
          }
        }
        yp[oy * wo + ox] = bv;
        ap[oy * wo + ox] = best;
      }
  }
  return 0;
}

/* dx is zero except at each window's argmax, which gets that output's dy;
 * inputs beyond the floor output size get zero. */
int cpu_maxpool2d_backward(gpd_engine *e, int n, int c, int h, int w, int size, const float *dy, const int32_t *argmax, float *dx) {
  (void)e;
  GPD_TRY(check_dims("maxpool2d_backward", n, c, h, w, size, "size"));
  const int ho = h / size, wo = w / size;
  if (ho < 1 || wo < 1) return gpd_error("maxpool2d_backward: %dx%d input is smaller than the %d window", h, w, size);
  if (n == 0) return 0;
  if (!dy || !argmax || !dx) return gpd_error("maxpool2d_backward: NULL dy, argmax or dx");
  const size_t planes = (size_t)n * c, hw = (size_t)h * w, hwo = (size_t)ho * wo;
  memset(dx, 0, planes * hw * sizeof(float));
  for (size_t p = 0; p < planes; p++) {
    const float *dp = dy + p * hwo;
    const int32_t *ap = argmax + p * hwo;
    float *xp = dx + p * hw;
    for (size_t j = 0; j < hwo; j++) {
      const int32_t a = ap[j];
      if (a < 0 || (size_t)a >= hw) return gpd_error("maxpool2d_backward: argmax %d outside the %dx%d plane", (int)a, h, w);
      xp[a] += dp[j];
    }
  }
  return 0;
}

/* x (N, C, H, W) -> y (N, C, H*f, W*f), y[yy, xx] = x[yy / f, xx / f]. */
int cpu_upsample_nearest_forward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *x, float *y) {
  (void)e;
  GPD_TRY(check_dims("upsample_nearest_forward", n, c, h, w, factor, "factor"));
  if (n == 0) return 0;
  if (!x || !y) return gpd_error("upsample_nearest_forward: NULL x or y");
  const int f = factor, wo = w * f;
  const size_t planes = (size_t)n * c;
  for (size_t p = 0; p < planes; p++) {
    const float *xp = x + p * h * w;
    float *yp = y + p * h * w * f * f;
    for (int iy = 0; iy < h; iy++) {
      float *row = yp + (size_t)iy * f * wo;
      for (int ix = 0; ix < w; ix++)
        for (int k = 0; k < f; k++) row[ix * f + k] = xp[iy * w + ix];
      for (int k = 1; k < f; k++) memcpy(row + (size_t)k * wo, row, (size_t)wo * sizeof(float));
    }
  }
  return 0;
}

/* The adjoint: each input gets the sum of its f x f block of dy. */
int cpu_upsample_nearest_backward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *dy, float *dx) {
  (void)e;
  GPD_TRY(check_dims("upsample_nearest_backward", n, c, h, w, factor, "factor"));
  if (n == 0) return 0;
  if (!dy || !dx) return gpd_error("upsample_nearest_backward: NULL dy or dx");
  const int f = factor, wo = w * f;
  const size_t planes = (size_t)n * c;
  for (size_t p = 0; p < planes; p++) {
    const float *dp = dy + p * h * w * f * f;
    float *xp = dx + p * h * w;
    for (int iy = 0; iy < h; iy++) {
      float *out = xp + (size_t)iy * w;
      for (int ix = 0; ix < w; ix++) out[ix] = 0.0f;
      for (int k = 0; k < f; k++) {
        const float *row = dp + ((size_t)iy * f + k) * wo;
        for (int ix = 0; ix < w; ix++)
          for (int j = 0; j < f; j++) out[ix] += row[ix * f + j];
      }
    }
  }
  return 0;
}
