/* Optimiser steps over flat parameter buffers. Reference:
 * host/cpu/cpu_optim.c (PyTorch's order of operations; Adam's bias
 * corrections computed in double on the host, as Python does). The
 * element math is optim_math.cuh, shared with optim_device.cu. */
#include "kernel_util.cuh"
#include "optim_math.cuh"

static __global__ void sgd_kernel(size_t n, float lr, const float *g, float *p) {
  GRID_STRIDE_LOOP(i, n) sgd_element(i, lr, g, p);
}

static __global__ void adam_kernel(size_t n, float beta1, float beta2, float one_b1, float one_b2, adam_scalars s,
                                   float eps, const float *g, float *m, float *v, float *p) {
  GRID_STRIDE_LOOP(i, n) adam_element(i, beta1, beta2, one_b1, one_b2, s, eps, g, m, v, p);
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
  const adam_scalars s = adam_bias_corrections(lr, beta1, beta2, (double)t);
  adam_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      count, beta1, beta2, 1.0f - beta1, 1.0f - beta2, s, eps, g, m, v, p);
  CUDA_LAUNCH_CHECK();
  return 0;
}
