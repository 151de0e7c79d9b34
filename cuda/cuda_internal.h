/* The CUDA engine's private state and the helpers its files share.
 *
 * Everything runs on one stream per engine: our kernels, cuDNN, cuBLAS and
 * cuFFT (their handles are bound to it), the memsets that zero fresh memory,
 * uploads and downloads. Stream order therefore replaces explicit
 * synchronisation between ops. Included from C (the cuda/ files) and CUDA C++
 * (the kernels/ files). */
#ifndef GPD_CUDA_INTERNAL_H
#define GPD_CUDA_INTERNAL_H

#include <stddef.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "gpd/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device memory handed out by alloc(): first-fit blocks carved from big
 * cudaMalloc'd chunks, so that tensors allocated at setup cost a handful of
 * cudaMalloc calls and freeing/reallocating never returns memory to the
 * driver (which would synchronise the device). */
typedef struct cuda_block cuda_block;
#define CUDA_ARENA_CHUNK_BYTES ((size_t)256 << 20) /* default chunk: 256 MiB */
typedef struct cuda_chunk {
  char *base;
  size_t size;
  cuda_block *blocks; /* in address order, covering [base, base + size) */
} cuda_chunk;

/* Engine-owned device buffers that grow at need (the cuDNN workspace, the
 * cuFFT C2R input copy, the bounce buffer of overlapping copies). A buffer that is outgrown is
 * retired, not freed, until the engine is destroyed: a captured CUDA graph
 * may still point at it. */
typedef enum cuda_scratch_slot {
  CUDA_SCRATCH_CONV_WORKSPACE = 0,
  CUDA_SCRATCH_FFT_INPUT,
  CUDA_SCRATCH_COPY,
  CUDA_SCRATCH_COUNT
} cuda_scratch_slot;

typedef struct cuda_impl {
  int device;
  int sm_count;
  cudaStream_t stream;
  cudnnHandle_t cudnn;
  cublasHandle_t cublas;
  void *cublas_workspace; /* set explicitly so cuBLAS never allocates during graph capture */

  cuda_chunk *chunks;
  int chunk_count, chunk_cap;

  void *scratch[CUDA_SCRATCH_COUNT];
  size_t scratch_bytes[CUDA_SCRATCH_COUNT];
  void **retired;
  int retired_count, retired_cap;

  size_t conv_workspace_cap; /* the most a convolution's workspace may take (part of caps.instance_reserve) */
  int capture_locked;        /* this engine's capture holds the shared side of the setup lock */

  void *conv_cache; /* cuda_conv.c: descriptors and algorithms by geometry */
  void *fft_cache;  /* cuda_fft.c: cuFFT plans by (b, h, w) */
} cuda_impl;

static inline cuda_impl *cuda_impl_of(const gpd_engine *e) { return (cuda_impl *)e->impl; }
static inline cudaStream_t cuda_stream_of(const gpd_engine *e) { return cuda_impl_of(e)->stream; }

/* Threads per block for the elementwise kernels, and a grid for a
 * grid-stride loop over n elements: enough blocks to fill the GPU, never
 * more than the work needs (n > 0). */
#define CUDA_THREADS 256
static inline unsigned cuda_grid_for(const gpd_engine *e, size_t n, unsigned threads) {
  size_t blocks = (n + threads - 1) / threads;
  size_t cap = (size_t)cuda_impl_of(e)->sm_count * 32;
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return (unsigned)blocks;
}

/* ---- arena (cuda_arena.c) ---- */
/* Zeroed device memory (zeroed on the engine stream), or NULL with
 * "out of GPU memory: N MiB requested for WHAT, M MiB free". */
void *cuda_arena_alloc(gpd_engine *e, size_t bytes, const char *what);
/* Returns the block to its chunk; -1 (error set) for an unknown pointer. */
int cuda_arena_free(gpd_engine *e, void *p);
/* Bytes free inside the chunks already allocated. */
size_t cuda_arena_free_bytes(const gpd_engine *e);
void cuda_arena_release(gpd_engine *e);

/* ---- scratch (cuda_engine.c) ---- */
/* *out = the slot's buffer, at least `bytes` long (grown when needed). */
int cuda_scratch(gpd_engine *e, cuda_scratch_slot slot, size_t bytes, void **out);
/* 1 while the engine stream is being captured into a CUDA graph. */
int cuda_capturing(const gpd_engine *e);

/* ---- graphs and the setup lock (cuda_graph.c) ---- */
/* The engine table's graph slots (gpd/engine_graph.h). */
int cuda_graph_begin(gpd_engine *e);
int cuda_graph_end(gpd_engine *e, void **graph);
int cuda_graph_launch(gpd_engine *e, void *graph);
void cuda_graph_free(gpd_engine *e, void *graph);
/* Ends a capture left open (the engine's destroy). */
void cuda_capture_abandon(gpd_engine *e);
/* Device setup that may allocate, free or synchronise the device (timing
 * cuDNN's algorithms, making cuFFT plans, creating and destroying engines)
 * runs between these, never while any engine of the process captures a
 * graph: captures hold the lock's shared side from begin to end, setup its
 * exclusive side. Not to be called by a thread whose engine is capturing. */
void cuda_setup_lock(void);
void cuda_setup_unlock(void);

/* ---- caches freed with the engine ---- */
void cuda_conv_cleanup(gpd_engine *e);
void cuda_fft_cleanup(gpd_engine *e);

/* ---- the engine table's fft_scratch_bytes (cuda_fft.c) ---- */
size_t cuda_fft_scratch_bytes(gpd_engine *e, int b, int h, int w);

#ifdef __cplusplus
}
#endif
#endif
