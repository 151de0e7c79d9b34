/* Activations, elementwise: relu, leaky relu (caller's slope), tanh, sigmoid.
 * In place is allowed (y == x forward, dx == dy backward): every loop reads
 * element i before writing element i. The cpu engine runs the same loops
 * split over its OpenMP pool (the *_omp entry points). */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* Numerically stable logistic: never evaluates exp of a large positive. */
static inline float sigmoidf(float v) {
  if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
  float t = expf(v);
  return t / (1.0f + t);
}

/* Loops of at least this many elements are split over the pool. */
#define PARALLEL_MIN 32768

static int forward(int parallel, gpd_activation act, float slope, size_t count, const float *x, float *y) {
  parallel = parallel && count >= PARALLEL_MIN;
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
#pragma omp parallel for if (parallel) schedule(static)
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
