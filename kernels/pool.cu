/* Max-pool (window = stride = size, no padding, floor output size) and
 * nearest upsampling by an integer factor, NCHW. Reference:
 * host/cpu/cpu_pool.c. argmax holds, per output, the flat index y * W + x
 * of the chosen input within its (H, W) plane; ties go to the first in
 * row-major window order and NaN wins, as in PyTorch.
 * Backward kernels run one thread per input element and gather from the
 * outputs that element feeds (no atomics, dx fully overwritten). */
#include "kernel_util.cuh"

/* One thread per output: x (P, H, W) -> y, argmax (P, Ho, Wo). */
static __global__ void maxpool_forward_kernel(size_t total, int h, int w, int size, int ho, int wo, const float *x,
                                              float *y, int32_t *argmax) {
  GRID_STRIDE_LOOP(o, total) {
    const size_t p = o / ((size_t)ho * wo);
    const int r = (int)(o - p * ho * wo), oy = r / wo, ox = r - oy * wo;
    const float *xp = x + p * h * w;
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
    y[o] = bv;
    argmax[o] = best;
  }
}

/* One thread per input: dx = dy of its window if it is the window's argmax,
 * else 0 (also beyond the floor output size). */
static __global__ void maxpool_backward_kernel(size_t total, int h, int w, int size, int ho, int wo, const float *dy,
                                               const int32_t *argmax, float *dx) {
  GRID_STRIDE_LOOP(i, total) {
    const size_t p = i / ((size_t)h * w);
    const int r = (int)(i - p * h * w), iy = r / w, ix = r - iy * w;
    const int oy = iy / size, ox = ix / size;
    float g = 0.0f;
    if (oy < ho && ox < wo) {
      const size_t o = p * ho * wo + (size_t)oy * wo + ox;
      if (argmax[o] == r) g = dy[o];
    }
    dx[i] = g;
  }
}

/* One thread per output: y[Y, X] = x[Y / f, X / f]. */
static __global__ void upsample_forward_kernel(size_t total, int h, int w, int f, const float *x, float *y) {
  const int wo = w * f;
  const size_t plane_out = (size_t)h * f * wo;
  GRID_STRIDE_LOOP(o, total) {
    const size_t p = o / plane_out;
    const size_t r = o - p * plane_out;
    const int oy = (int)(r / wo), ox = (int)(r - (size_t)oy * wo);
    y[o] = x[p * h * w + (size_t)(oy / f) * w + ox / f];
  }
}

/* One thread per input: the sum of its f x f block of dy, in the CPU's
 * order (rows of the block, then columns). */
static __global__ void upsample_backward_kernel(size_t total, int h, int w, int f, const float *dy, float *dx) {
  const int wo = w * f;
  GRID_STRIDE_LOOP(i, total) {
    const size_t p = i / ((size_t)h * w);
    const int r = (int)(i - p * h * w), iy = r / w, ix = r - iy * w;
    const float *dp = dy + p * h * w * f * f;
    float s = 0.0f;
    for (int k = 0; k < f; k++) {
      const float *row = dp + ((size_t)iy * f + k) * wo + (size_t)ix * f;
      for (int j = 0; j < f; j++) s += row[j];
    }
    dx[i] = s;
  }
}

static int pool_check(const char *op, int n, int c, int h, int w, int f, const char *fname) {
  if (n < 0 || c < 1 || h < 1 || w < 1 || f < 1)
    return gpd_error("%s: bad shape (n %d, c %d, h %d, w %d, %s %d)", op, n, c, h, w, fname, f);
  if ((long long)h * w * f * f > INT32_MAX)
    return gpd_error("%s: %dx%d planes with %s %d are too large", op, h, w, fname, f);
  return 0;
}

extern "C" int cuda_maxpool2d_forward(gpd_engine *e, int n, int c, int h, int w, int size, const float *x, float *y,
                                      int32_t *argmax) {
  GPD_TRY(pool_check("maxpool2d_forward", n, c, h, w, size, "size"));
  const int ho = h / size, wo = w / size;
  if (ho < 1 || wo < 1) return gpd_error("maxpool2d_forward: %dx%d input is smaller than the %d window", h, w, size);
  if (n == 0) return 0;
  if (!x || !y || !argmax) return gpd_error("maxpool2d_forward: NULL x, y or argmax");
  const size_t total = (size_t)n * c * ho * wo;
  maxpool_forward_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, h, w, size, ho, wo, x, y, argmax);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_maxpool2d_backward(gpd_engine *e, int n, int c, int h, int w, int size, const float *dy,
                                       const int32_t *argmax, float *dx) {
  GPD_TRY(pool_check("maxpool2d_backward", n, c, h, w, size, "size"));
  const int ho = h / size, wo = w / size;
  if (ho < 1 || wo < 1) return gpd_error("maxpool2d_backward: %dx%d input is smaller than the %d window", h, w, size);
  if (n == 0) return 0;
  if (!dy || !argmax || !dx) return gpd_error("maxpool2d_backward: NULL dy, argmax or dx");
  const size_t total = (size_t)n * c * h * w;
  maxpool_backward_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, h, w, size, ho, wo, dy, argmax, dx);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_upsample_nearest_forward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *x,
                                             float *y) {
  GPD_TRY(pool_check("upsample_nearest_forward", n, c, h, w, factor, "factor"));
  if (n == 0) return 0;
  if (!x || !y) return gpd_error("upsample_nearest_forward: NULL x or y");
  const size_t total = (size_t)n * c * h * w * factor * factor;
  upsample_forward_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, h, w, factor, x, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_upsample_nearest_backward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *dy,
                                              float *dx) {
  GPD_TRY(pool_check("upsample_nearest_backward", n, c, h, w, factor, "factor"));
  if (n == 0) return 0;
  if (!dy || !dx) return gpd_error("upsample_nearest_backward: NULL dy or dx");
  const size_t total = (size_t)n * c * h * w;
  upsample_backward_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, h, w, factor, dy, dx);
  CUDA_LAUNCH_CHECK();
  return 0;
}
