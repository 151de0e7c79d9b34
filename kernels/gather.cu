/* Gathering items by a host index (minibatches, the chosen restarts):
 * dst[j] = src[index[j]], items of item_size floats. Reference:
 * host/cpu/cpu_gather.c.
 *
 * The index travels as a kernel parameter (GATHER_BATCH indices per launch,
 * __grid_constant__ so the kernel reads it in place), not through a device
 * buffer: no host-to-device copy to order against the previous call, and a
 * gather captured into a CUDA graph replays with the indices it was
 * captured with. When dst overlaps the source items, the items are copied
 * one by one in order, which is the CPU's memmove-per-item semantics. */
#include <stdint.h>

#include "kernel_util.cuh"

#define GATHER_BATCH 512
typedef struct gather_index {
  int item[GATHER_BATCH];
} gather_index;

/* grid (slices, items in this batch): block row j copies item j. */
static __global__ void gather_kernel(const __grid_constant__ gather_index index, size_t item_size, const float *src,
                                     float *dst) {
  const int j = blockIdx.y;
  const float *from = src + (size_t)index.item[j] * item_size;
  float *to = dst + (size_t)j * item_size;
  for (size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x; t < item_size; t += (size_t)blockDim.x * gridDim.x)
    to[t] = from[t];
}

extern "C" int cuda_gather_items(gpd_engine *e, int count, size_t item_size, const int *index, const float *src,
                                 float *dst) {
  if (count < 0) return gpd_error("gather_items: negative count %d", count);
  if (count == 0 || item_size == 0) return 0;
  if (!index || !src || !dst) return gpd_error("gather_items: NULL index, src or dst");
  int top = 0;
  for (int j = 0; j < count; j++) {
    if (index[j] < 0) return gpd_error("gather_items: negative index %d at position %d", index[j], j);
    if (index[j] > top) top = index[j];
  }
  const size_t bytes = sizeof(float) * item_size;
  const uintptr_t s0 = (uintptr_t)src, s1 = s0 + ((size_t)top + 1) * bytes;
  const uintptr_t d0 = (uintptr_t)dst, d1 = d0 + (size_t)count * bytes;
  if (d0 < s1 && s0 < d1) {
    for (int j = 0; j < count; j++)
      GPD_TRY(e->copy(e, dst + (size_t)j * item_size, src + (size_t)index[j] * item_size, item_size));
    return 0;
  }
  const unsigned slices = cuda_grid_for(e, item_size, CUDA_THREADS);
  for (int base = 0; base < count; base += GATHER_BATCH) {
    const int batch = count - base < GATHER_BATCH ? count - base : GATHER_BATCH;
    gather_index idx;
    for (int j = 0; j < batch; j++) idx.item[j] = index[base + j];
    for (int j = batch; j < GATHER_BATCH; j++) idx.item[j] = 0;
    dim3 grid(slices, (unsigned)batch);
    gather_kernel<<<grid, CUDA_THREADS, 0, cuda_stream_of(e)>>>(idx, item_size, src, dst + (size_t)base * item_size);
    CUDA_LAUNCH_CHECK();
  }
  return 0;
}
