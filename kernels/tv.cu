/* Anisotropic total variation per item: the sum of absolute differences of
 * vertical and horizontal neighbours inside each (H, W) plane, no wrap.
 * Reference: host/cpu/cpu_tv.c. */
#include "kernel_util.cuh"

/* One block per item: out[i] = sum over its C planes (double sums). */
static __global__ void tv_forward_kernel(int c, int h, int w, const float *x, float *out) {
  const size_t plane = (size_t)h * w, per_item = (size_t)c * plane;
  const float *xi = x + (size_t)blockIdx.x * per_item;
  double s = 0.0;
  BLOCK_STRIDE_LOOP(j, per_item) {
    const size_t r = j % plane;
    const int y = (int)(r / w), xx = (int)(r - (size_t)y * w);
    const float v = xi[j];
    if (y + 1 < h) s += fabs((double)xi[j + w] - v);
    if (xx + 1 < w) s += fabs((double)xi[j + 1] - v);
  }
  s = block_sum(s);
  if (threadIdx.x == 0) out[blockIdx.x] = (float)s;
}

static __device__ __forceinline__ float sign_of(float d) { return d > 0.0f ? 1.0f : d < 0.0f ? -1.0f : 0.0f; }

/* One thread per value: dx += weight * d(tv)/dx. The four neighbour terms
 * are added in the order the CPU's raster loop adds them (from above, from
 * the left, then its own down and right differences), so the float sums
 * agree exactly. */
static __global__ void tv_backward_kernel(size_t total, int h, int w, float weight, const float *x, float *dx) {
  const size_t plane = (size_t)h * w;
  GRID_STRIDE_LOOP(t, total) {
    const size_t r = t % plane;
    const int y = (int)(r / w), xx = (int)(r - (size_t)y * w);
    const float v = x[t];
    float g = dx[t];
    if (y > 0) g += weight * sign_of(v - x[t - w]);
    if (xx > 0) g += weight * sign_of(v - x[t - 1]);
    if (y + 1 < h) g -= weight * sign_of(x[t + w] - v);
    if (xx + 1 < w) g -= weight * sign_of(x[t + 1] - v);
    dx[t] = g;
  }
}

extern "C" int cuda_tv_forward(gpd_engine *e, int n, int c, int h, int w, const float *x, float *out) {
  if (n < 0 || c < 0 || h < 1 || w < 1) return gpd_error("tv_forward: invalid size N=%d C=%d H=%d W=%d", n, c, h, w);
  if (n == 0) return 0;
  tv_forward_kernel<<<(unsigned)n, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(c, h, w, x, out);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_tv_backward(gpd_engine *e, int n, int c, int h, int w, float weight, const float *x, float *dx) {
  if (n < 0 || c < 0 || h < 1 || w < 1) return gpd_error("tv_backward: invalid size N=%d C=%d H=%d W=%d", n, c, h, w);
  const size_t total = (size_t)n * c * h * w;
  if (!total) return 0;
  tv_backward_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(total, h, w, weight,
                                                                                                  x, dx);
  CUDA_LAUNCH_CHECK();
  return 0;
}
