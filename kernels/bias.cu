/* The dense layer's bias (convolutions use cuDNN's bias ops). Reference:
 * host/cpu/cpu_linear.c: y = x W^T + b and db += column sums of dy. */
#include "kernel_util.cuh"

/* y (N, Out) += b (Out), one thread per value */
static __global__ void bias_add_rows_kernel(size_t total, int out, const float *b, float *y) {
  GRID_STRIDE_LOOP(t, total) y[t] += b[t % out];
}

/* db[o] += sum_i dy[i, o]: one thread per column, rows summed in order in
 * float as the CPU does (consecutive threads read consecutive columns). */
static __global__ void bias_grad_rows_kernel(int n, int out, const float *dy, float *db) {
  GRID_STRIDE_LOOP(o, (size_t)out) {
    float s = db[o];
    for (int i = 0; i < n; i++) s += dy[(size_t)i * out + o];
    db[o] = s;
  }
}

extern "C" int cuda_bias_add_rows(gpd_engine *e, int n, int out, const float *b, float *y) {
  const size_t total = (size_t)n * out;
  if (!total) return 0;
  bias_add_rows_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(total, out, b, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_bias_grad_rows(gpd_engine *e, int n, int out, const float *dy, float *db) {
  if (n <= 0 || out <= 0) return 0;
  bias_grad_rows_kernel<<<cuda_grid_for(e, (size_t)out, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(n, out, dy,
                                                                                                           db);
  CUDA_LAUNCH_CHECK();
  return 0;
}
