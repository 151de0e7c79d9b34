/* Optimiser steps over flat parameter buffers. Reference:
 * host/cpu/cpu_optim.c (PyTorch's order of operations; Adam's bias
 * corrections computed in double on the host, as Python does). */
#include <math.h>

#include "kernel_util.cuh"

static __global__ void sgd_kernel(size_t n, float lr, const float *g, float *p) {
  GRID_STRIDE_LOOP(i, n) p[i] -= lr * g[i];
}

static __global__ void adam_kernel(size_t n, float beta1, float beta2, float one_b1, float one_b2, float step_size,
                                   float bc2_sqrt, float eps, const float *g, float *m, float *v, float *p) {
  GRID_STRIDE_LOOP(i, n) {
    const float gi = g[i];
    const float mi = beta1 * m[i] + one_b1 * gi;
    const float vi = beta2 * v[i] + one_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

extern "C" int cuda_sgd_step(gpd_engine *e, size_t count, float lr, const float *g, float *p) {
  if (!count) return 0;
  sgd_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(count, lr, g, p);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_adam_step(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t,
                              const float *g, float *m, float *v, float *p) {
  if (t < 1) return gpd_error("adam_step: step %d (must be >= 1 for the bias correction)", t);
  if (!count) return 0;
  const double bc1 = 1.0 - pow((double)beta1, t), bc2 = 1.0 - pow((double)beta2, t);
  const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  adam_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      count, beta1, beta2, 1.0f - beta1, 1.0f - beta2, step_size, bc2_sqrt, eps, g, m, v, p);
  CUDA_LAUNCH_CHECK();
  return 0;
}
