/* Optimiser steps of the CPU engine over flat parameter buffers. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* p -= lr * g */
int cpu_sgd_step(gpd_engine *e, size_t count, float lr, const float *g, float *p) {
  (void)e;
  for (size_t i = 0; i < count; i++) p[i] -= lr * g[i];
  return 0;
}

/* PyTorch's Adam (torch.optim.Adam, no weight decay, no amsgrad), in its
 * order of operations:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The bias corrections are computed in double, as Python does. */
static int adam(int parallel, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m,
                float *v, float *p) {
  if (t < 1) return gpd_error("adam_step: step %d (must be >= 1 for the bias correction)", t);
  const double bc1 = 1.0 - pow((double)beta1, t), bc2 = 1.0 - pow((double)beta2, t);
  const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  const float one_b1 = 1.0f - beta1, one_b2 = 1.0f - beta2;
#pragma omp parallel for if (parallel && count >= 65536) schedule(static)
  for (size_t i = 0; i < count; i++) {
    const float gi = g[i];
    const float mi = beta1 * m[i] + one_b1 * gi;
    const float vi = beta2 * v[i] + one_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
  return 0;
}

int cpu_adam_step(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m, float *v, float *p) {
  (void)e;
  return adam(0, count, lr, beta1, beta2, eps, t, g, m, v, p);
}

/* The same on the cpu engine's OpenMP pool (elementwise: any split gives
 * the same result). */
int cpu_adam_step_omp(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t,
                      const float *g, float *m, float *v, float *p) {
  (void)e;
  return adam(1, count, lr, beta1, beta2, eps, t, g, m, v, p);
}
