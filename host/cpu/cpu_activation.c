/* Activations, elementwise: relu, leaky relu (caller's slope), tanh, sigmoid.
 * In place is allowed (y == x forward, dx == dy backward): every loop reads
 * element i before writing element i. The cpu engine runs the same loops
 * split over its OpenMP pool (the *_omp entry points), tanh vectorised. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* tanh for the cpu engine's loops, in a form the compiler vectorises (libm's
 * tanhf does not: ~10 ns a value on this project's machine, the largest
 * elementwise cost of a solver iteration): 1 - 2 / (exp(2|v|) + 1) with v's
 * sign, exp by range reduction 2|v| = k ln 2 + r (|r| <= ln 2 / 2, k
 * rounded by the 1.5 * 2^23 trick, ln 2 in two parts) and a degree-6
 * polynomial, 2^k by its exponent bits. Within 2e-7 of tanhf on [-30, 30]
 * (|v| >= 9 gives +-1, as tanhf to 3e-8). */
static inline float tanh_vector(float v) {
  float a = fabsf(v);
  a = a < 9.0f ? a : 9.0f;
  const float t = 2.0f * a;
  const float kf = (t * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (t - kf * 0.693145751953125f) - kf * 1.428606765330187e-06f;
  const float p =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const union {
    int i;
    float f;
  } scale = {.i = ((int)kf + 127) << 23};
  return copysignf(1.0f - 2.0f / (p * scale.f + 1.0f), v);
}

/* y = tanh_vector(x) over n values (in place allowed: elementwise). */
#define TANH_BLOCK 4096
static void tanh_block(const float *x, float *y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) y[i] = tanh_vector(x[i]);
}

/* Numerically stable logistic: never evaluates exp of a large positive. */
static inline float sigmoidf(float v) {
  if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
  float t = expf(v);
  return t / (1.0f + t);
}

/* Loops of at least this many elements are split over the pool. */
#define PARALLEL_MIN 32768

/* cpu: the cpu engine's (its pool, tanh_vector); else the ref engine's. */
static int forward(int cpu, gpd_activation act, float slope, size_t count, const float *x, float *y) {
  const int vector = cpu, parallel = cpu && count >= PARALLEL_MIN;
  if (count && (!x || !y)) return gpd_error("activation_forward: NULL x or y");
  switch (act) {
  case GPD_ACT_RELU:
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return 0;
  case GPD_ACT_LEAKY_RELU:
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    return 0;
  case GPD_ACT_TANH:
    if (vector) {
      const size_t blocks = (count + TANH_BLOCK - 1) / TANH_BLOCK;
#pragma omp parallel for if (parallel) schedule(static)
      for (size_t b = 0; b < blocks; b++) {
        const size_t i0 = b * TANH_BLOCK, m = count - i0 < TANH_BLOCK ? count - i0 : TANH_BLOCK;
        tanh_block(x + i0, y + i0, m);
      }
      return 0;
    }
    for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
    return 0;
  case GPD_ACT_SIGMOID:
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) y[i] = sigmoidf(x[i]);
    return 0;
  }
  return gpd_error("activation_forward: unknown activation %d", (int)act);
}

/* relu / leaky use the forward input x (its sign); tanh / sigmoid use the
 * forward output y, as the derivative is a function of it. */
static int backward(int parallel, gpd_activation act, float slope, size_t count, const float *x, const float *y,
                    const float *dy, float *dx) {
  parallel = parallel && count >= PARALLEL_MIN;
  if (count && (!dy || !dx)) return gpd_error("activation_backward: NULL dy or dx");
  switch (act) {
  case GPD_ACT_RELU:
    if (count && !x) return gpd_error("activation_backward: relu needs the forward input x");
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    return 0;
  case GPD_ACT_LEAKY_RELU:
    if (count && !x) return gpd_error("activation_backward: leaky relu needs the forward input x");
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
    return 0;
  case GPD_ACT_TANH:
    if (count && !y) return gpd_error("activation_backward: tanh needs the forward output y");
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return 0;
  case GPD_ACT_SIGMOID:
    if (count && !y) return gpd_error("activation_backward: sigmoid needs the forward output y");
#pragma omp parallel for if (parallel) schedule(static)
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
    return 0;
  }
  return gpd_error("activation_backward: unknown activation %d", (int)act);
}

int cpu_activation_forward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y) {
  (void)e;
  return forward(0, act, slope, count, x, y);
}

int cpu_activation_forward_omp(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x,
                               float *y) {
  (void)e;
  return forward(1, act, slope, count, x, y);
}

int cpu_activation_backward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx) {
  (void)e;
  return backward(0, act, slope, count, x, y, dy, dx);
}

int cpu_activation_backward_omp(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x,
                                const float *y, const float *dy, float *dx) {
  (void)e;
  return backward(1, act, slope, count, x, y, dy, dx);
}
