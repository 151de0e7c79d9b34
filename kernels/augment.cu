/* DiffAugment with a flip in front (gpd/engine.h, diffaugment_forward /
 * _backward). Reference: host/cpu/cpu_augment.c, whose comment explains the
 * two passes. One block per item: a block sum of the item's mean, then the
 * block's threads write the item's pixels (all channels of a pixel in one
 * thread, as the channel mean needs). */
#include <math.h>

#include "kernel_util.cuh"

typedef struct augment_item {
  int flip, shift_y, shift_x, cut_top, cut_left, cut_size;
  float b, s, k;
} augment_item;

static __device__ __forceinline__ augment_item item_params(const float *p) {
  augment_item a;
  a.flip = p[GPD_AUG_FLIP] != 0.0f;
  a.b = p[GPD_AUG_BRIGHTNESS];
  a.s = p[GPD_AUG_SATURATION];
  a.k = p[GPD_AUG_CONTRAST];
  a.shift_y = __float2int_rn(p[GPD_AUG_SHIFT_Y]);
  a.shift_x = __float2int_rn(p[GPD_AUG_SHIFT_X]);
  a.cut_top = __float2int_rn(p[GPD_AUG_CUT_TOP]);
  a.cut_left = __float2int_rn(p[GPD_AUG_CUT_LEFT]);
  a.cut_size = __float2int_rn(p[GPD_AUG_CUT_SIZE]);
  return a;
}

static __device__ __forceinline__ int in_cut(const augment_item &a, int r, int q) {
  return r >= a.cut_top && r < a.cut_top + a.cut_size && q >= a.cut_left && q < a.cut_left + a.cut_size;
}

/* Input pixel shown at output (r, q), or 0 when the output is zero. */
static __device__ __forceinline__ int output_source(const augment_item &a, int h, int w, int r, int q, int *sr, int *sq) {
  if (in_cut(a, r, q)) return 0;
  const int y = r + a.shift_y, x = q + a.shift_x;
  if (y < 0 || y >= h || x < 0 || x >= w) return 0;
  *sr = y;
  *sq = a.flip ? w - 1 - x : x;
  return 1;
}

/* Output pixel showing input (sr, sq), or 0 when none does. */
static __device__ __forceinline__ int input_target(const augment_item &a, int h, int w, int sr, int sq, int *r, int *q) {
  const int x = a.flip ? w - 1 - sq : sq;
  *r = sr - a.shift_y;
  *q = x - a.shift_x;
  if (*r < 0 || *r >= h || *q < 0 || *q >= w) return 0;
  return !in_cut(a, *r, *q);
}

static __global__ void diffaugment_forward_kernel(int c, int h, int w, const float *params, const float *x, float *y) {
  const size_t plane = (size_t)h * w, item = (size_t)c * plane;
  const augment_item a = item_params(params + (size_t)blockIdx.x * GPD_AUGMENT_PARAMS);
  const float *xi = x + (size_t)blockIdx.x * item;
  float *yi = y + (size_t)blockIdx.x * item;
  double s = 0.0;
  BLOCK_STRIDE_LOOP(j, item) s += xi[j];
  const float mean_all = (float)(block_sum(s) / (double)item) + a.b;
  BLOCK_STRIDE_LOOP(o, plane) {
    const int r = (int)(o / w), q = (int)(o - (size_t)r * w);
    int sr, sq;
    if (!output_source(a, h, w, r, q, &sr, &sq)) {
      for (int ch = 0; ch < c; ch++) yi[ch * plane + o] = 0.0f;
      continue;
    }
    const float *src = xi + (size_t)sr * w + sq;
    float mean_c = 0.0f;
    for (int ch = 0; ch < c; ch++) mean_c += src[ch * plane] + a.b;
    mean_c /= (float)c;
    for (int ch = 0; ch < c; ch++) {
      const float sat = (src[ch * plane] + a.b - mean_c) * a.s + mean_c;
      yi[ch * plane + o] = (sat - mean_all) * a.k + mean_all;
    }
  }
}

static __global__ void diffaugment_backward_kernel(int c, int h, int w, const float *params, const float *dy, float *dx) {
  const size_t plane = (size_t)h * w, item = (size_t)c * plane;
  const augment_item a = item_params(params + (size_t)blockIdx.x * GPD_AUGMENT_PARAMS);
  const float *gi = dy + (size_t)blockIdx.x * item;
  float *dxi = dx + (size_t)blockIdx.x * item;
  double s = 0.0;
  BLOCK_STRIDE_LOOP(o, plane) {
    const int r = (int)(o / w), q = (int)(o - (size_t)r * w);
    int sr, sq;
    if (output_source(a, h, w, r, q, &sr, &sq))
      for (int ch = 0; ch < c; ch++) s += gi[ch * plane + o];
  }
  const float g_mean = (float)(block_sum(s) / (double)item);
  BLOCK_STRIDE_LOOP(i, plane) {
    const int sr = (int)(i / w), sq = (int)(i - (size_t)sr * w);
    int r, q;
    const int shown = input_target(a, h, w, sr, sq, &r, &q);
    const float *g = shown ? gi + (size_t)r * w + q : gi;
    float g_c = 0.0f;
    for (int ch = 0; ch < c && shown; ch++) g_c += g[ch * plane];
    const float d_c = a.k * g_c / (float)c + (1.0f - a.k) * g_mean;
    for (int ch = 0; ch < c; ch++) {
      const float d = a.k * (shown ? g[ch * plane] : 0.0f) + (1.0f - a.k) * g_mean;
      dxi[ch * plane + i] = a.s * d + (1.0f - a.s) * d_c;
    }
  }
}

static int augment_check(const char *op, int n, int c, int h, int w) {
  if (n < 0 || c < 1 || h < 1 || w < 1) return gpd_error("%s: invalid size N=%d C=%d H=%d W=%d", op, n, c, h, w);
  return 0;
}

extern "C" int cuda_diffaugment_forward(gpd_engine *e, int n, int c, int h, int w, const float *params, const float *x,
                                        float *y) {
  GPD_TRY(augment_check("diffaugment_forward", n, c, h, w));
  if (n == 0) return 0;
  diffaugment_forward_kernel<<<(unsigned)n, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(c, h, w, params, x, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_diffaugment_backward(gpd_engine *e, int n, int c, int h, int w, const float *params, const float *dy,
                                         float *dx) {
  GPD_TRY(augment_check("diffaugment_backward", n, c, h, w));
  if (n == 0) return 0;
  diffaugment_backward_kernel<<<(unsigned)n, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(c, h, w, params, dy, dx);
  CUDA_LAUNCH_CHECK();
  return 0;
}
