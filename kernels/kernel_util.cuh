/* Helpers shared by the kernel families: grid-stride loops and block-wide
 * sums in double (our per-item and per-channel reductions accumulate in
 * double, as the CPU reference does, so long sums agree to float rounding). */
#ifndef GPD_KERNEL_UTIL_CUH
#define GPD_KERNEL_UTIL_CUH

#include <cuda_runtime.h>

#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_ops.h"

/* for (i over [0, n)) spread over the whole grid */
#define GRID_STRIDE_LOOP(i, n)                                                 \
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n); \
       i += (size_t)blockDim.x * gridDim.x)

/* for (j over [0, n)) spread over the threads of one block */
#define BLOCK_STRIDE_LOOP(j, n)                                                \
  for (size_t j = threadIdx.x; j < (size_t)(n); j += blockDim.x)

/* Threads per block of the reduction kernels (one block per item or per
 * channel); a multiple of 32. */
#define REDUCE_THREADS 256

static __device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

/* The sum of v over the block, returned to every thread. blockDim.x must be
 * a multiple of 32. Ends with a barrier so it can be called again. */
static __device__ __forceinline__ double block_sum(double v) {
  __shared__ double partial[32];
  __shared__ double total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double t = lane < warps ? partial[lane] : 0.0;
    t = warp_sum(t);
    if (lane == 0) total = t;
  }
  __syncthreads();
  const double r = total;
  __syncthreads();
  return r;
}

#endif
