/* Optimiser steps whose step size and Adam step count are read from device
 * memory when the kernel runs (gpd/engine.h: sgd_step_device_lr,
 * adam_step_device_t), so that a CUDA graph captured once replays each
 * iteration with that iteration's schedule: the host writes the scalars
 * between launches, the graph's kernel arguments never change. Reference:
 * host/cpu/cpu_optim_device.c (the by-value steps of cpu_optim.c); the
 * element updates are those of kernels/optim.cu (optim_math.cuh). */
#include <math.h>

#include "kernel_util.cuh"
#include "optim_math.cuh"

static __global__ void sgd_device_lr_kernel(size_t n, const float *lr, const float *g, float *p) {
  const float step = *lr;
  GRID_STRIDE_LOOP(i, n) sgd_element(i, step, g, p);
}

/* Every thread derives the bias corrections itself, in double as the CPU
 * does on the host (two pow per thread, not per element). */
static __global__ void adam_device_t_kernel(size_t n, const float *sched, float beta1, float beta2, float one_b1,
                                            float one_b2, float eps, const float *g, float *m, float *v, float *p) {
  const float lr = sched[0], tf = sched[1];
  /* the CPU's step_count(): an integer, below 1 (or NaN) taken as 1 */
  double t = tf >= 1.0f ? floor((double)tf) : 1.0;
  if (t > 2147483647.0) t = 2147483647.0;
  const adam_scalars s = adam_bias_corrections(lr, beta1, beta2, t);
  GRID_STRIDE_LOOP(i, n) adam_element(i, beta1, beta2, one_b1, one_b2, s, eps, g, m, v, p);
}

extern "C" int cuda_sgd_step_device_lr(gpd_engine *e, size_t count, const float *lr, const float *g, float *p) {
  if (!count) return 0;
  if (!lr) return gpd_error("sgd_step_device_lr: NULL step size");
  sgd_device_lr_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(count, lr, g, p);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_adam_step_device_t(gpd_engine *e, size_t count, const float *sched, float beta1, float beta2,
                                       float eps, const float *g, float *m, float *v, float *p) {
  if (!count) return 0;
  if (!sched) return gpd_error("adam_step_device_t: NULL schedule");
  adam_device_t_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      count, sched, beta1, beta2, 1.0f - beta1, 1.0f - beta2, eps, g, m, v, p);
  CUDA_LAUNCH_CHECK();
  return 0;
}
