/* Elementwise kernels: axpby, affine, per-item scaling, product, fill.
 * Reference: host/cpu/cpu_elementwise.c. Every kernel reads element i
 * before writing it, so outputs may alias inputs. */
#include "kernel_util.cuh"

/* With beta == 0, y is not read (as BLAS and the CPU engine), so a NaN-filled
 * output is simply overwritten. */
static __global__ void axpby_kernel(size_t n, float alpha, const float *x, float beta, float *y) {
  if (beta == 0.0f) {
    GRID_STRIDE_LOOP(i, n) y[i] = alpha * x[i];
  } else {
    GRID_STRIDE_LOOP(i, n) y[i] = alpha * x[i] + beta * y[i];
  }
}

static __global__ void affine_kernel(size_t n, float alpha, const float *x, float beta, float *y) {
  GRID_STRIDE_LOOP(i, n) y[i] = alpha * x[i] + beta;
}

/* x, y (items, per_item); s (items) */
static __global__ void scale_per_item_kernel(size_t n, size_t per_item, const float *s, const float *x, float *y) {
  GRID_STRIDE_LOOP(i, n) y[i] = x[i] * s[i / per_item];
}

static __global__ void multiply_kernel(size_t n, const float *a, const float *b, float *y) {
  GRID_STRIDE_LOOP(i, n) y[i] = a[i] * b[i];
}

static __global__ void fill_kernel(size_t n, float value, float *x) {
  GRID_STRIDE_LOOP(i, n) x[i] = value;
}

extern "C" int cuda_axpby(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y) {
  if (!count) return 0;
  axpby_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(count, alpha, x, beta, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_affine(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y) {
  if (!count) return 0;
  affine_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(count, alpha, x, beta, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_scale_per_item(gpd_engine *e, int items, size_t per_item, const float *s, const float *x, float *y) {
  if (items < 0) return gpd_error("scale_per_item: negative item count %d", items);
  const size_t n = (size_t)items * per_item;
  if (!n) return 0;
  scale_per_item_kernel<<<cuda_grid_for(e, n, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(n, per_item, s, x, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_multiply(gpd_engine *e, size_t count, const float *a, const float *b, float *y) {
  if (!count) return 0;
  multiply_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(count, a, b, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_fill_value(gpd_engine *e, float *x, float value, size_t count) {
  if (!count) return 0;
  fill_kernel<<<cuda_grid_for(e, count, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(count, value, x);
  CUDA_LAUNCH_CHECK();
  return 0;
}
