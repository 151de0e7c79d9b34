/* Activations, elementwise: relu, leaky relu (caller's slope), tanh, sigmoid.
 * In place is allowed (y == x forward, dx == dy backward): every loop reads
 * element i before writing element i. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* Numerically stable logistic: never evaluates exp of a large positive. */
static inline float sigmoidf(float v) {
  if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
  float t = expf(v);
  return t / (1.0f + t);
}

int cpu_activation_forward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y) {
  (void)e;
  if (count && (!x || !y)) return gpd_error("activation_forward: NULL x or y");
  switch (act) {
  case GPD_ACT_RELU:
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return 0;
  case GPD_ACT_LEAKY_RELU:
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    return 0;
  case GPD_ACT_TANH:
    for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
    return 0;
  case GPD_ACT_SIGMOID:
    for (size_t i = 0; i < count; i++) y[i] = sigmoidf(x[i]);
    return 0;
  }
  return gpd_error("activation_forward: unknown activation %d", (int)act);
}

/* relu / leaky use the forward input x (its sign); tanh / sigmoid use the
 * forward output y, as the derivative is a function of it. */
int cpu_activation_backward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx) {
  (void)e;
  if (count && (!dy || !dx)) return gpd_error("activation_backward: NULL dy or dx");
  switch (act) {
  case GPD_ACT_RELU:
    if (count && !x) return gpd_error("activation_backward: relu needs the forward input x");
    for (size_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    return 0;
  case GPD_ACT_LEAKY_RELU:
    if (count && !x) return gpd_error("activation_backward: leaky relu needs the forward input x");
    for (size_t i = 0; i < count; i++) dx[i] = x[i] > 0.0f ? dy[i] : slope * dy[i];
    return 0;
  case GPD_ACT_TANH:
    if (count && !y) return gpd_error("activation_backward: tanh needs the forward output y");
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
    return 0;
  case GPD_ACT_SIGMOID:
    if (count && !y) return gpd_error("activation_backward: sigmoid needs the forward output y");
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
    return 0;
  }
  return gpd_error("activation_backward: unknown activation %d", (int)act);
}
