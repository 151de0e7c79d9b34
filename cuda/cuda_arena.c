/* Device memory for alloc()/free(): first-fit blocks in cudaMalloc'd chunks.
 *
 * alloc() is called per tensor at setup; carving tensors out of big chunks
 * means a run costs a handful of cudaMalloc calls, and free() never returns
 * memory to the driver (cudaFree synchronises the whole device and would
 * break a CUDA graph capture). Blocks are 256-byte aligned, as cuDNN and
 * cuFFT prefer. Chunks are released when the engine is destroyed. */
#include <stdint.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_internal.h"

#define ARENA_ALIGN ((size_t)256)
#define ARENA_CHUNK_ROUND ((size_t)2 << 20)   /* larger chunks: multiples of 2 MiB */

struct cuda_block {
  size_t off, size; /* within the chunk */
  int used;
  cuda_block *prev, *next;
};

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

static double mib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* Splits block b so that it is exactly `size` bytes, the rest a free block. */
static int block_split(cuda_block *b, size_t size) {
  if (b->size == size) return 0;
  cuda_block *rest = calloc(1, sizeof *rest);
  if (!rest) return gpd_error("out of host memory (a GPU arena block record)");
  rest->off = b->off + size;
  rest->size = b->size - size;
  rest->prev = b;
  rest->next = b->next;
  if (b->next) b->next->prev = rest;
  b->next = rest;
  b->size = size;
  return 0;
}

/* *p = the first free block of at least `size` bytes in any chunk: 0 when
 * found, 1 when no block is large enough, -1 on a host allocation failure. */
static int arena_take(cuda_impl *m, size_t size, void **p) {
  for (int c = 0; c < m->chunk_count; c++)
    for (cuda_block *b = m->chunks[c].blocks; b; b = b->next)
      if (!b->used && b->size >= size) {
        GPD_TRY(block_split(b, size));
        b->used = 1;
        *p = m->chunks[c].base + b->off;
        return 0;
      }
  return 1;
}

/* A new chunk of at least `size` bytes; -1 (no error recorded) when the
 * device has no room, so that the caller can word the out-of-memory error. */
static int arena_grow(cuda_impl *m, size_t size) {
  if (m->chunk_count == m->chunk_cap) {
    int cap = m->chunk_cap ? 2 * m->chunk_cap : 8;
    cuda_chunk *grown = realloc(m->chunks, (size_t)cap * sizeof *grown);
    if (!grown) return -1;
    m->chunks = grown;
    m->chunk_cap = cap;
  }
  size_t bytes = size > CUDA_ARENA_CHUNK_BYTES ? round_up(size, ARENA_CHUNK_ROUND) : CUDA_ARENA_CHUNK_BYTES;
  void *base = NULL;
  if (cudaMalloc(&base, bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    if (bytes == size) return -1;
    bytes = size; /* a default-sized chunk did not fit: try just the request */
    if (cudaMalloc(&base, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      return -1;
    }
  }
  cuda_block *b = calloc(1, sizeof *b);
  if (!b) {
    cudaFree(base);
    return -1;
  }
  b->size = bytes;
  cuda_chunk *ch = &m->chunks[m->chunk_count++];
  ch->base = base;
  ch->size = bytes;
  ch->blocks = b;
  return 0;
}

void *cuda_arena_alloc(gpd_engine *e, size_t bytes, const char *what) {
  cuda_impl *m = cuda_impl_of(e);
  if (!what) what = "a tensor";
  if (bytes > SIZE_MAX - 2 * ARENA_CHUNK_ROUND) {
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    (void)cudaGetLastError();
    gpd_error("out of GPU memory: %.1f MiB requested for %s, %.1f MiB free", mib(bytes), what, mib(free_b));
    return NULL;
  }
  const size_t size = round_up(bytes ? bytes : 1, ARENA_ALIGN);
  void *p = NULL;
  int found = arena_take(m, size, &p);
  if (found < 0) return NULL;
  if (found > 0) {
    if (arena_grow(m, size)) {
      size_t free_b = 0, total_b = 0;
      (void)cudaMemGetInfo(&free_b, &total_b);
      (void)cudaGetLastError();
      gpd_error("out of GPU memory: %.1f MiB requested for %s, %.1f MiB free", mib(bytes), what,
                mib(free_b + cuda_arena_free_bytes(e)));
      return NULL;
    }
    if (arena_take(m, size, &p) != 0) return NULL; /* the new chunk fits: only a host allocation can fail */
  }
  cudaError_t err = cudaMemsetAsync(p, 0, size, m->stream);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    cuda_arena_free(e, p);
    gpd_error("cudaMemsetAsync failed: %s: %s (zeroing %s) (%s:%d)", cudaGetErrorName(err), cudaGetErrorString(err),
              what, gpd_cuda_short_file(__FILE__), __LINE__);
    return NULL;
  }
  return p;
}

int cuda_arena_free(gpd_engine *e, void *p) {
  cuda_impl *m = cuda_impl_of(e);
  char *q = p;
  for (int c = 0; c < m->chunk_count; c++) {
    cuda_chunk *ch = &m->chunks[c];
    if (q < ch->base || q >= ch->base + ch->size) continue;
    const size_t off = (size_t)(q - ch->base);
    for (cuda_block *b = ch->blocks; b; b = b->next) {
      if (b->off != off) continue;
      if (!b->used) return gpd_error("GPU free: pointer %p was already freed", p);
      b->used = 0;
      /* Coalesce with free neighbours so large tensors fit again later. */
      if (b->next && !b->next->used) {
        cuda_block *n = b->next;
        b->size += n->size;
        b->next = n->next;
        if (n->next) n->next->prev = b;
        free(n);
      }
      if (b->prev && !b->prev->used) {
        cuda_block *pv = b->prev;
        pv->size += b->size;
        pv->next = b->next;
        if (b->next) b->next->prev = pv;
        free(b);
      }
      return 0;
    }
    break;
  }
  return gpd_error("GPU free: pointer %p was not allocated by this engine", p);
}

size_t cuda_arena_free_bytes(const gpd_engine *e) {
  const cuda_impl *m = cuda_impl_of(e);
  size_t total = 0;
  for (int c = 0; c < m->chunk_count; c++)
    for (const cuda_block *b = m->chunks[c].blocks; b; b = b->next)
      if (!b->used) total += b->size;
  return total;
}

void cuda_arena_release(gpd_engine *e) {
  cuda_impl *m = cuda_impl_of(e);
  for (int c = 0; c < m->chunk_count; c++) {
    cuda_block *b = m->chunks[c].blocks;
    while (b) {
      cuda_block *n = b->next;
      free(b);
      b = n;
    }
    cudaFree(m->chunks[c].base);
  }
  free(m->chunks);
  m->chunks = NULL;
  m->chunk_count = m->chunk_cap = 0;
}
