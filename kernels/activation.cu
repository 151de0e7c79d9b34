/* Activations, elementwise: relu, leaky relu (caller's slope), tanh,
 * sigmoid. Reference: host/cpu/cpu_activation.c (same formulas, same
 * branches). In place allowed: element i is read before it is written. */
#include "kernel_util.cuh"

/* Numerically stable logistic: never evaluates exp of a large positive. */
static __device__ __forceinline__ float sigmoid_stable(float v) {
  if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
  const float t = expf(v);
  return t / (1.0f + t);
}

static __global__ void activation_forward_kernel(gpd_activation act, float slope, size_t n, const float *x, float *y) {
  switch (act) {
  case GPD_ACT_RELU:
    GRID_STRIDE_LOOP(i, n) { const float v = x[i]; y[i] = v > 0.0f ? v : 0.0f; }
    break;
  case GPD_ACT_LEAKY_RELU:
    GRID_STRIDE_LOOP(i, n) { const float v = x[i]; y[i] = v > 0.0f ? v : slope * v; }
    break;
  case GPD_ACT_TANH:
    GRID_STRIDE_LOOP(i, n) y[i] = tanhf(x[i]);
    break;
  case GPD_ACT_SIGMOID:
    GRID_STRIDE_LOOP(i, n) y[i] = sigmoid_stable(x[i]);
    break;
  }
}

/* relu / leaky use the forward input x; tanh / sigmoid the forward output y. */
static __global__ void activation_backward_kernel(gpd_activation act, float slope, size_t n, const float *x, const float *y,
                                                  const float *dy, float *dx) {
  switch (act) {
  case GPD_ACT_RELU:
    GRID_STRIDE_LOOP(i, n) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    break;
  case GPD_ACT_LEAKY_RELU:
    GRID_STRIDE_LOOP(i, n) { const float g = dy[i]; dx[i] = x[i] > 0.0f ? g : slope * g; }
    break;
  case GPD_ACT_TANH:
    GRID_STRIDE_LOOP(i, n) { const float v = y[i]; dx[i] = dy[i] * (1.0f - v * v); }
    break;
  case GPD_ACT_SIGMOID:
    GRID_STRIDE_LOOP(i, n) { const float v = y[i]; dx[i] = dy[i] * v * (1.0f - v); }
    break;
  }
}

static int known_activation(gpd_activation act) {
  return act == GPD_ACT_RELU || act == GPD_ACT_LEAKY_RELU || act == GPD_ACT_TANH || act == GPD_ACT_SIGMOID;
}

extern "C" int cuda_activation_forward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y) {
  if (!known_activation(act)) return gpd_error("activation_forward: unknown activation %d", (int)act);
  if (!count) return 0;
  if (!x || !y) return gpd_error("activation_forward: NULL x or y");
  activation_forward_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(act, slope, count, x, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_activation_backward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x,
                                        const float *y, const float *dy, float *dx) {
  if (!known_activation(act)) return gpd_error("activation_backward: unknown activation %d", (int)act);
  if (!count) return 0;
  if (!dy || !dx) return gpd_error("activation_backward: NULL dy or dx");
  if ((act == GPD_ACT_RELU || act == GPD_ACT_LEAKY_RELU) && !x)
    return gpd_error("activation_backward: %s needs the forward input x", act == GPD_ACT_RELU ? "relu" : "leaky relu");
  if ((act == GPD_ACT_TANH || act == GPD_ACT_SIGMOID) && !y)
    return gpd_error("activation_backward: %s needs the forward output y", act == GPD_ACT_TANH ? "tanh" : "sigmoid");
  activation_backward_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(act, slope, count, x, y, dy, dx);
  CUDA_LAUNCH_CHECK();
  return 0;
}
