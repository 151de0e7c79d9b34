/* DiffAugment with a flip in front (gpd/engine.h, diffaugment_forward /
 * _backward): the reference for kernels/augment.cu.
 *
 * Per item the map is affine in x: flip and translation move pixels,
 * cutout zeroes some, brightness adds b, saturation and contrast mix each
 * value with a mean. Two facts keep both directions to two passes:
 *  - the contrast mean is mean(x) + b: flip moves pixels, and saturation
 *    keeps each pixel's channel mean, so neither changes the item's mean;
 *  - the backward's only global quantity is the mean of the gradient that
 *    reaches the colour stage (dy where the output took a pixel). */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static int augment_check(const char *op, int n, int c, int h, int w) {
  if (n < 0 || c < 1 || h < 1 || w < 1) return gpd_error("%s: invalid size N=%d C=%d H=%d W=%d", op, n, c, h, w);
  return 0;
}

/* One item's draws, the integers rounded from their float slots. */
typedef struct augment_item {
  int flip, shift_y, shift_x, cut_top, cut_left, cut_size;
  float b, s, k;
} augment_item;

static augment_item item_params(const float *p) {
  augment_item a;
  a.flip = p[GPD_AUG_FLIP] != 0.0f;
  a.b = p[GPD_AUG_BRIGHTNESS];
  a.s = p[GPD_AUG_SATURATION];
  a.k = p[GPD_AUG_CONTRAST];
  a.shift_y = (int)lrintf(p[GPD_AUG_SHIFT_Y]);
  a.shift_x = (int)lrintf(p[GPD_AUG_SHIFT_X]);
  a.cut_top = (int)lrintf(p[GPD_AUG_CUT_TOP]);
  a.cut_left = (int)lrintf(p[GPD_AUG_CUT_LEFT]);
  a.cut_size = (int)lrintf(p[GPD_AUG_CUT_SIZE]);
  return a;
}

/* The input pixel (row, column of x before the flip) that output pixel
 * (r, q) shows, or 0 when it shows zero (translated in from outside, or
 * cut out). */
static int output_source(const augment_item *a, int h, int w, int r, int q, int *sr, int *sq) {
  if (r >= a->cut_top && r < a->cut_top + a->cut_size && q >= a->cut_left && q < a->cut_left + a->cut_size) return 0;
  int y = r + a->shift_y, x = q + a->shift_x;
  if (y < 0 || y >= h || x < 0 || x >= w) return 0;
  *sr = y;
  *sq = a->flip ? w - 1 - x : x;
  return 1;
}

int cpu_diffaugment_forward(gpd_engine *e, int n, int c, int h, int w, const float *params, const float *x, float *y) {
  (void)e;
  GPD_TRY(augment_check("diffaugment_forward", n, c, h, w));
  const size_t plane = (size_t)h * w, item = (size_t)c * plane;
  for (int i = 0; i < n; i++) {
    const augment_item a = item_params(params + (size_t)i * GPD_AUGMENT_PARAMS);
    const float *xi = x + i * item;
    float *yi = y + i * item;
    double sum = 0;
    for (size_t j = 0; j < item; j++) sum += xi[j];
    const float mean_all = (float)(sum / (double)item) + a.b;
    for (int r = 0; r < h; r++)
      for (int q = 0; q < w; q++) {
        const size_t o = (size_t)r * w + q;
        int sr, sq;
        if (!output_source(&a, h, w, r, q, &sr, &sq)) {
          for (int ch = 0; ch < c; ch++) yi[ch * plane + o] = 0.0f;
          continue;
        }
        const float *src = xi + (size_t)sr * w + sq;
        float mean_c = 0;
        for (int ch = 0; ch < c; ch++) mean_c += src[ch * plane] + a.b;
        mean_c /= (float)c;
        for (int ch = 0; ch < c; ch++) {
          const float sat = (src[ch * plane] + a.b - mean_c) * a.s + mean_c;
          yi[ch * plane + o] = (sat - mean_all) * a.k + mean_all;
        }
      }
  }
  return 0;
}

/* The output pixel that shows input pixel (sr, sq), or 0 when none does
 * (the inverse of output_source: translation and flip are one-to-one). */
static int input_target(const augment_item *a, int h, int w, int sr, int sq, int *r, int *q) {
  const int x = a->flip ? w - 1 - sq : sq;
  *r = sr - a->shift_y;
  *q = x - a->shift_x;
  if (*r < 0 || *r >= h || *q < 0 || *q >= w) return 0;
  return !(*r >= a->cut_top && *r < a->cut_top + a->cut_size && *q >= a->cut_left && *q < a->cut_left + a->cut_size);
}

int cpu_diffaugment_backward(gpd_engine *e, int n, int c, int h, int w, const float *params, const float *dy, float *dx) {
  (void)e;
  GPD_TRY(augment_check("diffaugment_backward", n, c, h, w));
  const size_t plane = (size_t)h * w, item = (size_t)c * plane;
  for (int i = 0; i < n; i++) {
    const augment_item a = item_params(params + (size_t)i * GPD_AUGMENT_PARAMS);
    const float *gi = dy + i * item;
    float *dxi = dx + i * item;
    /* g: dy moved back to the pixels it shows (0 elsewhere); first its mean. */
    double sum = 0;
    for (int r = 0; r < h; r++)
      for (int q = 0; q < w; q++) {
        int sr, sq;
        if (output_source(&a, h, w, r, q, &sr, &sq))
          for (int ch = 0; ch < c; ch++) sum += gi[ch * plane + (size_t)r * w + q];
      }
    const float g_mean = (float)(sum / (double)item);
    for (int sr = 0; sr < h; sr++)
      for (int sq = 0; sq < w; sq++) {
        int r, q;
        const int shown = input_target(&a, h, w, sr, sq, &r, &q);
        const float *g = shown ? gi + (size_t)r * w + q : gi;
        /* contrast's adjoint: d = k g + (1 - k) mean(g); saturation's:
         * s d + (1 - s) mean over channels of d; brightness passes it on. */
        float g_c = 0;
        for (int ch = 0; ch < c && shown; ch++) g_c += g[ch * plane];
        const float d_c = a.k * g_c / (float)c + (1.0f - a.k) * g_mean;
        for (int ch = 0; ch < c; ch++) {
          const float d = a.k * (shown ? g[ch * plane] : 0.0f) + (1.0f - a.k) * g_mean;
          dxi[ch * plane + (size_t)sr * w + sq] = a.s * d + (1.0f - a.s) * d_c;
        }
      }
  }
  return 0;
}
