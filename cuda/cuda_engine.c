/* The CUDA engine: device, stream, library handles, memory, and the op
 * table (cuda/cuda_ops.h lists the ops; kernels/ and cuda/ implement them).
 *
 * Precision: FP32 is strict FP32 everywhere (cuDNN CUDNN_FMA_MATH, cuBLAS
 * CUBLAS_DEFAULT_MATH, which never uses TF32). TF32 allows TF32 tensor cores
 * in cuDNN and cuBLAS. BF16 is served as TF32 for now: the generators are
 * small and a bf16 path would need bf16 copies of weights and activations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_ops.h"

/* cuBLAS's own workspace, set explicitly so that it never allocates while
 * a CUDA graph is being captured (NVIDIA recommends 32 MiB on Hopper). */
#define CUBLAS_WORKSPACE_BYTES ((size_t)32 << 20)
/* A convolution's workspace: at most 4 GiB, and at most 1/16 of the
 * device, so that a GPU's worth of forks (Alg 3 runs 8) keeps most of it
 * for tensors. */
#define CONV_WORKSPACE_MAX ((size_t)4 << 30)
#define CONV_WORKSPACE_DEVICE_SHARE 16
/* What the libraries' handles take on the device beyond the workspaces
 * (cuDNN's and cuBLAS's own buffers, cuFFT plan objects, the overlapping-
 * copy scratch): measured elsewhere at a few MiB; this is a margin. */
#define HANDLES_BYTES ((size_t)64 << 20)

static double mib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

int gpd_cuda_available(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError(); /* no driver or no device: not an error here */
    return 0;
  }
  return count > 0;
}

void gpd_engine_cuda_libraries(char *buf, size_t size) {
  int runtime = 0, driver = 0, cufft = 0, cublas_major = 0, cublas_minor = 0, count = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
  if (cufftGetVersion(&cufft) != CUFFT_SUCCESS) cufft = 0;
  if (cublasGetProperty(MAJOR_VERSION, &cublas_major) != CUBLAS_STATUS_SUCCESS) cublas_major = 0;
  if (cublasGetProperty(MINOR_VERSION, &cublas_minor) != CUBLAS_STATUS_SUCCESS) cublas_minor = 0;
  const size_t cudnn = cudnnGetVersion();
  char gpu[512];
  if (!driver) {
    snprintf(gpu, sizeof gpu, "no NVIDIA driver");
  } else if (cudaGetDeviceCount(&count) != cudaSuccess || count < 1) {
    snprintf(gpu, sizeof gpu, "driver %d.%d, no GPU visible", driver / 1000, driver % 1000 / 10);
  } else {
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
      snprintf(gpu, sizeof gpu, "driver %d.%d, %d GPU%s: 0 %s (sm_%d%d, %.0f GiB)", driver / 1000, driver % 1000 / 10,
               count, count == 1 ? "" : "s", prop.name, prop.major, prop.minor,
               (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    else snprintf(gpu, sizeof gpu, "driver %d.%d, %d GPUs", driver / 1000, driver % 1000 / 10, count);
  }
  (void)cudaGetLastError(); /* a missing driver or GPU is reported above, not left pending */
  snprintf(buf, size, "CUDA runtime %d.%d, cuDNN %zu.%zu.%zu, cuFFT %d.%d.%d, cuBLAS %d.%d; %s", runtime / 1000,
           runtime % 1000 / 10, cudnn / 10000, cudnn % 10000 / 100, cudnn % 100, cufft / 1000, cufft % 1000 / 100,
           cufft % 100, cublas_major, cublas_minor, gpu);
}

int cuda_capturing(const gpd_engine *e) {
  enum cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(cuda_stream_of(e), &status) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return status != cudaStreamCaptureStatusNone;
}

static const char *scratch_name(cuda_scratch_slot slot) {
  switch (slot) {
  case CUDA_SCRATCH_CONV_WORKSPACE: return "the cuDNN workspace";
  case CUDA_SCRATCH_FFT_INPUT: return "the cuFFT C2R input copy";
  case CUDA_SCRATCH_COPY: return "an overlapping-copy buffer";
  default: return "a scratch buffer";
  }
}

int cuda_scratch(gpd_engine *e, cuda_scratch_slot slot, size_t bytes, void **out) {
  cuda_impl *m = cuda_impl_of(e);
  if (bytes <= m->scratch_bytes[slot] && m->scratch[slot]) {
    *out = m->scratch[slot];
    return 0;
  }
  if (m->retired_count == m->retired_cap) {
    int cap = m->retired_cap ? 2 * m->retired_cap : 8;
    void **grown = realloc(m->retired, (size_t)cap * sizeof *grown);
    if (!grown) return gpd_error("out of host memory (the retired scratch list)");
    m->retired = grown;
    m->retired_cap = cap;
  }
  /* Grow geometrically (1 MiB granules) so a slowly rising need does not
   * retire a buffer per call. */
  size_t want = bytes < 2 * m->scratch_bytes[slot] ? 2 * m->scratch_bytes[slot] : bytes;
  want = (want + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
  void *p = NULL;
  if (cudaMalloc(&p, want) != cudaSuccess) {
    (void)cudaGetLastError();
    want = bytes ? bytes : 1;
    if (cudaMalloc(&p, want) != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      (void)cudaMemGetInfo(&free_b, &total_b);
      (void)cudaGetLastError();
      return gpd_error("out of GPU memory: %.1f MiB requested for %s, %.1f MiB free", mib(bytes),
                       scratch_name(slot), mib(free_b));
    }
  }
  /* The old buffer may still be in use by queued work or by a captured
   * graph: keep it until the engine goes. */
  if (m->scratch[slot]) m->retired[m->retired_count++] = m->scratch[slot];
  m->scratch[slot] = p;
  m->scratch_bytes[slot] = want;
  *out = p;
  return 0;
}

/* ---- memory ops ----------------------------------------------------------- */

static float *engine_alloc(gpd_engine *e, size_t count, const char *what) {
  if (count > SIZE_MAX / sizeof(float)) {
    gpd_error("out of GPU memory: %zu floats requested for %s", count, what ? what : "a tensor");
    return NULL;
  }
  return cuda_arena_alloc(e, count * sizeof(float), what);
}

static void engine_free(gpd_engine *e, void *p) {
  if (p) (void)cuda_arena_free(e, p); /* an unknown pointer records an error; free() has no way to return it */
}

static int engine_not_capturing(gpd_engine *e, const char *op) {
  if (cuda_capturing(e))
    return gpd_error("%s: not allowed while a CUDA graph is being captured (it synchronises with the host)", op);
  return 0;
}

/* Synchronous: the host buffer may be reused as soon as this returns, even
 * when it is pinned memory. */
static int engine_upload(gpd_engine *e, float *dst, const float *src, size_t count) {
  if (!count) return 0;
  GPD_TRY(engine_not_capturing(e, "upload"));
  if (!dst || !src) return gpd_error("upload: NULL pointer");
  cudaStream_t s = cuda_stream_of(e);
  CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return 0;
}

static int engine_download(gpd_engine *e, float *dst, const float *src, size_t count) {
  if (!count) return 0;
  GPD_TRY(engine_not_capturing(e, "download"));
  if (!dst || !src) return gpd_error("download: NULL pointer");
  cudaStream_t s = cuda_stream_of(e);
  CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return 0;
}

/* memmove semantics, as the CPU engine: overlapping ranges go through a
 * bounce buffer (cudaMemcpy's result is undefined for them). */
static int engine_copy(gpd_engine *e, float *dst, const float *src, size_t count) {
  if (!count || dst == src) return 0;
  if (!dst || !src) return gpd_error("copy: NULL pointer");
  cudaStream_t s = cuda_stream_of(e);
  const size_t bytes = count * sizeof(float);
  const uintptr_t d = (uintptr_t)dst, r = (uintptr_t)src;
  if (d < r + bytes && r < d + bytes) {
    void *tmp = NULL;
    GPD_TRY(cuda_scratch(e, CUDA_SCRATCH_COPY, bytes, &tmp));
    CUDA_CHECK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, s));
    CUDA_CHECK(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, s));
    return 0;
  }
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
  return 0;
}

static int engine_fill(gpd_engine *e, float *x, float value, size_t count) {
  if (!count) return 0;
  if (!x) return gpd_error("fill: NULL pointer");
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  if (bits == 0) {
    CUDA_CHECK(cudaMemsetAsync(x, 0, count * sizeof(float), cuda_stream_of(e)));
    return 0;
  }
  return cuda_fill_value(e, x, value, count);
}

static int engine_sync(gpd_engine *e) {
  GPD_TRY(engine_not_capturing(e, "sync"));
  CUDA_CHECK(cudaStreamSynchronize(cuda_stream_of(e)));
  return 0;
}

/* What alloc() can still hand out: the device's free memory plus the free
 * space inside chunks already taken (fragmentation aside). */
static size_t engine_memory_free(gpd_engine *e) {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    free_b = 0;
  }
  return free_b + cuda_arena_free_bytes(e);
}

/* Frees whatever part of the engine exists: also the error path of create.
 * Freeing device memory waits for the device: under the setup lock (no
 * other engine is capturing meanwhile). */
static void engine_release(gpd_engine *e) {
  cuda_impl *m = cuda_impl_of(e);
  if (m) {
    if (m->stream) {
      /* A capture left open by a failed caller must be ended before the
       * stream can be synchronised or destroyed. */
      cuda_capture_abandon(e);
      (void)cudaStreamSynchronize(m->stream);
    }
    cuda_conv_cleanup(e);
    cuda_fft_cleanup(e);
    if (m->cudnn) cudnnDestroy(m->cudnn);
    if (m->cublas) cublasDestroy(m->cublas);
    if (m->cublas_workspace) cudaFree(m->cublas_workspace);
    for (int i = 0; i < CUDA_SCRATCH_COUNT; i++)
      if (m->scratch[i]) cudaFree(m->scratch[i]);
    for (int i = 0; i < m->retired_count; i++) cudaFree(m->retired[i]);
    free(m->retired);
    cuda_arena_release(e);
    if (m->stream) cudaStreamDestroy(m->stream);
    (void)cudaGetLastError();
    free(m);
  }
  free(e);
}

static void engine_destroy(gpd_engine *e) {
  if (!e) return;
  if (e->impl) cuda_capture_abandon(e); /* before taking the lock its capture holds */
  cuda_setup_lock();
  engine_release(e);
  cuda_setup_unlock();
}

/* A sibling on the same device: a whole new engine (own stream, handles,
 * plan caches, arena), which shares the device's memory space because both
 * use the device's primary context. */
static gpd_engine *engine_fork(gpd_engine *e) {
  return gpd_engine_cuda_create(cuda_impl_of(e)->device, e->precision);
}

static int engine_init(gpd_engine *e, int device, gpd_precision precision) {
  cuda_impl *m = cuda_impl_of(e);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return gpd_error("no CUDA GPU available: cudaGetDeviceCount: %s (%s)", cudaGetErrorName(err), cudaGetErrorString(err));
  }
  if (count < 1) return gpd_error("no CUDA GPU available (cudaGetDeviceCount found none)");
  if (device < 0 || device >= count)
    return gpd_error("CUDA device %d does not exist (%d device%s visible)", device, count, count == 1 ? "" : "s");
  m->device = device;
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaDeviceGetAttribute(&m->sm_count, cudaDevAttrMultiProcessorCount, device));
  if (m->sm_count < 1) m->sm_count = 1;
  /* Non-blocking: no implicit synchronisation with the legacy default
   * stream, which also could not be captured into a graph. */
  CUDA_CHECK(cudaStreamCreateWithFlags(&m->stream, cudaStreamNonBlocking));

  CUDNN_CHECK(cudnnCreate(&m->cudnn));
  CUDNN_CHECK(cudnnSetStream(m->cudnn, m->stream));

  CUBLAS_CHECK(cublasCreate(&m->cublas));
  /* cublasSetStream resets the workspace to cuBLAS's pool: set it after. */
  CUBLAS_CHECK(cublasSetStream(m->cublas, m->stream));
  CUDA_CHECK(cudaMalloc(&m->cublas_workspace, CUBLAS_WORKSPACE_BYTES));
  CUBLAS_CHECK(cublasSetWorkspace(m->cublas, m->cublas_workspace, CUBLAS_WORKSPACE_BYTES));
  CUBLAS_CHECK(cublasSetPointerMode(m->cublas, CUBLAS_POINTER_MODE_HOST));
  CUBLAS_CHECK(cublasSetMathMode(m->cublas, precision == GPD_PRECISION_FP32 ? CUBLAS_DEFAULT_MATH : CUBLAS_TF32_TENSOR_OP_MATH));

  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  m->conv_workspace_cap = total_b / CONV_WORKSPACE_DEVICE_SHARE;
  if (m->conv_workspace_cap > CONV_WORKSPACE_MAX) m->conv_workspace_cap = CONV_WORKSPACE_MAX;
  e->caps.instance_reserve = CUDA_ARENA_CHUNK_BYTES + CUBLAS_WORKSPACE_BYTES + m->conv_workspace_cap + HANDLES_BYTES;
  return 0;
}

gpd_engine *gpd_engine_cuda_create(int device, gpd_precision precision) {
  if (precision != GPD_PRECISION_FP32 && precision != GPD_PRECISION_TF32 && precision != GPD_PRECISION_BF16) {
    gpd_error("CUDA engine: unknown precision %d", (int)precision);
    return NULL;
  }
  gpd_engine *e = gpd_calloc(1, sizeof *e, "the CUDA engine");
  if (!e) return NULL;
  e->impl = gpd_calloc(1, sizeof(cuda_impl), "the CUDA engine state");
  if (!e->impl) {
    free(e);
    return NULL;
  }
  e->name = "cuda";
  e->precision = precision;
  e->caps.memory_name = "GPU memory";
  e->caps.graphs = 1;
  e->caps.concurrent_forks = 1;
  e->caps.max_tensor_elements = (size_t)INT32_MAX; /* cuDNN's tensor descriptors count elements in int */
  e->alloc = engine_alloc;
  e->free = engine_free;
  e->upload = engine_upload;
  e->download = engine_download;
  e->copy = engine_copy;
  e->fill = engine_fill;
  e->sync = engine_sync;
  e->destroy = engine_destroy;
  e->memory_free = engine_memory_free;
  e->fft_scratch_bytes = cuda_fft_scratch_bytes;
  e->graph_begin = cuda_graph_begin;
  e->graph_end = cuda_graph_end;
  e->graph_launch = cuda_graph_launch;
  e->graph_free = cuda_graph_free;
#define OP(name, params) e->name = cuda_##name;
  GPD_ENGINE_OPS(OP)
#undef OP
  e->fork = engine_fork;
  /* cudnnCreate and friends may synchronise the device: not during
   * another engine's capture (a fork is made while others run) */
  cuda_setup_lock();
  const int rc = engine_init(e, device, precision);
  if (rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", gpd_last_error());
    engine_release(e);
    gpd_error("%s", msg); /* releasing may have touched the error: keep the cause */
  }
  cuda_setup_unlock();
  return rc ? NULL : e;
}
