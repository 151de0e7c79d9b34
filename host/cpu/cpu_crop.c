/* crop2d and its adjoint (see gpd/engine.h). */
#include <string.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static int crop_check(int h, int w, int top, int left, int out_h, int out_w) {
  if (top < 0 || left < 0 || out_h <= 0 || out_w <= 0 || top + out_h > h || left + out_w > w)
    return gpd_error("crop2d: window %dx%d at (%d, %d) does not fit a %dx%d plane", out_h, out_w, top, left, h, w);
  return 0;
}

int cpu_crop2d(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *src,
               float *dst) {
  (void)e;
  GPD_TRY(crop_check(h, w, top, left, out_h, out_w));
  for (long p = 0; p < (long)n * c; p++) {
    const float *s = src + (size_t)p * h * w + (size_t)top * w + left;
    float *d = dst + (size_t)p * out_h * out_w;
    for (int y = 0; y < out_h; y++) memcpy(d + (size_t)y * out_w, s + (size_t)y * w, (size_t)out_w * sizeof(float));
  }
  return 0;
}

int cpu_crop2d_backward(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w,
                        const float *ddst, float *dsrc) {
  (void)e;
  GPD_TRY(crop_check(h, w, top, left, out_h, out_w));
  memset(dsrc, 0, (size_t)n * c * h * w * sizeof(float));
  for (long p = 0; p < (long)n * c; p++) {
    float *s = dsrc + (size_t)p * h * w + (size_t)top * w + left;
    const float *d = ddst + (size_t)p * out_h * out_w;
    for (int y = 0; y < out_h; y++) memcpy(s + (size_t)y * w, d + (size_t)y * out_w, (size_t)out_w * sizeof(float));
  }
  return 0;
}
