/* Per-item reductions: one block per item, each thread accumulating in
 * double and the block summing in double, so long sums (a whole image, a
 * whole kernel) agree with the CPU reference (host/cpu/cpu_reduce.c, also
 * double) to the final float rounding. */
#include "kernel_util.cuh"

enum reduce_kind { REDUCE_SUM = 0, REDUCE_SUM_SQUARES, REDUCE_SQUARED_DISTANCE };

/* out[i] = sum_j f(a[i,j], b[i,j]) over per_item values */
static __global__ void reduce_per_item_kernel(int kind, size_t per_item, const float *a, const float *b, float *out) {
  const size_t base = (size_t)blockIdx.x * per_item;
  const float *ai = a + base;
  double s = 0.0;
  if (kind == REDUCE_SUM) {
    BLOCK_STRIDE_LOOP(j, per_item) s += ai[j];
  } else if (kind == REDUCE_SUM_SQUARES) {
    BLOCK_STRIDE_LOOP(j, per_item) { const double v = ai[j]; s += v * v; }
  } else {
    const float *bi = b + base;
    BLOCK_STRIDE_LOOP(j, per_item) { const double d = (double)ai[j] - bi[j]; s += d * d; }
  }
  s = block_sum(s);
  if (threadIdx.x == 0) out[blockIdx.x] = (float)s;
}

static int reduce_launch(gpd_engine *e, const char *op, int kind, int items, size_t per_item, const float *a,
                         const float *b, float *out) {
  if (items < 0) return gpd_error("%s: negative item count %d", op, items);
  if (items == 0) return 0;
  reduce_per_item_kernel<<<(unsigned)items, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(kind, per_item, a, b, out);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_sum_squares_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out) {
  return reduce_launch(e, "sum_squares_per_item", REDUCE_SUM_SQUARES, items, per_item, x, NULL, out);
}

extern "C" int cuda_squared_distance_per_item(gpd_engine *e, int items, size_t per_item, const float *a, const float *b,
                                              float *out) {
  return reduce_launch(e, "squared_distance_per_item", REDUCE_SQUARED_DISTANCE, items, per_item, a, b, out);
}

extern "C" int cuda_sum_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out) {
  return reduce_launch(e, "sum_per_item", REDUCE_SUM, items, per_item, x, NULL, out);
}
