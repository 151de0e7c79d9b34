/* The optimiser steps whose step size and Adam step count are read from
 * engine memory (gpd/engine.h: sgd_step_device_lr, adam_step_device_t), so
 * that a captured CUDA graph can replay an iteration whose schedule changes
 * every step. On the CPU, engine memory is host memory: read the scalars
 * and run the by-value steps of cpu_optim.c, which makes the two paths
 * agree bit for bit. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* p -= lr[0] * g */
int cpu_sgd_step_device_lr(gpd_engine *e, size_t count, const float *lr, const float *g, float *p) {
  if (!count) return 0;
  if (!lr) return gpd_error("sgd_step_device_lr: NULL step size");
  return cpu_sgd_step(e, count, lr[0], g, p);
}

/* The step count as the CUDA kernel reads it: an integer stored as a
 * float, below 1 (or NaN) taken as 1. */
static int step_count(float t) {
  if (!(t >= 1.0f)) return 1;
  if (t >= 2147483647.0f) return 2147483647;
  return (int)t;
}

/* Adam with lr = sched[0], t = sched[1] */
int cpu_adam_step_device_t(gpd_engine *e, size_t count, const float *sched, float beta1, float beta2, float eps,
                           const float *g, float *m, float *v, float *p) {
  if (!count) return 0;
  if (!sched) return gpd_error("adam_step_device_t: NULL schedule");
  return cpu_adam_step(e, count, sched[0], beta1, beta2, eps, step_count(sched[1]), g, m, v, p);
}
