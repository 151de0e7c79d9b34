/* The optimiser math shared by the steps with a by-value schedule
 * (optim.cu) and the ones that read it from device memory
 * (optim_device.cu): one element of SGD and of PyTorch's Adam, and Adam's
 * bias corrections. Reference: host/cpu/cpu_optim.c, whose order of
 * operations this follows (torch.optim.Adam, no weight decay, no amsgrad). */
#ifndef GPD_OPTIM_MATH_CUH
#define GPD_OPTIM_MATH_CUH

#include <math.h>

/* p -= lr * g at element i */
static __device__ __forceinline__ void sgd_element(size_t i, float lr, const float *g, float *p) { p[i] -= lr * g[i]; }

/* Adam's scalars at step t: lr / (1 - b1^t) and sqrt(1 - b2^t), computed
 * in double as Python (and the CPU engine) does. */
typedef struct adam_scalars {
  float step_size, bc2_sqrt;
} adam_scalars;

static __host__ __device__ inline adam_scalars adam_bias_corrections(float lr, float beta1, float beta2, double t) {
  const double bc1 = 1.0 - pow((double)beta1, t), bc2 = 1.0 - pow((double)beta2, t);
  adam_scalars s;
  s.step_size = (float)((double)lr / bc1);
  s.bc2_sqrt = (float)sqrt(bc2);
  return s;
}

/* One element of Adam (one_b1 = 1 - beta1, one_b2 = 1 - beta2):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps) */
static __device__ __forceinline__ void adam_element(size_t i, float beta1, float beta2, float one_b1, float one_b2,
                                                    adam_scalars s, float eps, const float *g, float *m, float *v,
                                                    float *p) {
  const float gi = g[i];
  const float mi = beta1 * m[i] + one_b1 * gi;
  const float vi = beta2 * v[i] + one_b2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] -= s.step_size * mi / (sqrtf(vi) / s.bc2_sqrt + eps);
}

#endif
