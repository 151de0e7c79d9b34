/* CUDA graphs of engine calls: capture the engine stream, instantiate,
 * replay (the engine table's graph slots; gpd/engine_graph.h gives the
 * rules a caller follows), and the lock that keeps device setup out of
 * every capture.
 *
 * The capture is in relaxed mode: a scratch buffer that has to grow during
 * capture may still call cudaMalloc (outgrown buffers are retired, never
 * freed, so no graph is left pointing at freed memory). Calls that must not
 * be captured (upload, download, sync, cuFFT planning) check
 * cuda_capturing() and fail with a message instead.
 *
 * Other threads' engines share the device: a capture is invalidated when
 * the device is synchronised while it runs (cudnnFind* times its trials,
 * cuFFT and cuDNN set themselves up, cudaFree waits for the device). Those
 * run under cuda_setup_lock(), the exclusive side of a process-wide
 * read-write lock whose shared side every capture holds from begin to end:
 * setup waits for the captures in flight, and no capture starts during
 * setup. */
#include <pthread.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_internal.h"

static pthread_rwlock_t setup_lock = PTHREAD_RWLOCK_INITIALIZER;

void cuda_setup_lock(void) { pthread_rwlock_wrlock(&setup_lock); }
void cuda_setup_unlock(void) { pthread_rwlock_unlock(&setup_lock); }

typedef struct cuda_graph {
  cudaGraphExec_t exec;
} cuda_graph;

int cuda_graph_begin(gpd_engine *e) {
  cuda_impl *m = cuda_impl_of(e);
  if (m->capture_locked || cuda_capturing(e)) return gpd_error("graph_begin: the engine stream is already being captured");
  pthread_rwlock_rdlock(&setup_lock);
  cudaError_t err = cudaStreamBeginCapture(m->stream, cudaStreamCaptureModeRelaxed);
  if (err != cudaSuccess) {
    pthread_rwlock_unlock(&setup_lock);
    (void)cudaGetLastError();
    return gpd_error("cudaStreamBeginCapture failed: %s: %s (%s:%d)", cudaGetErrorName(err), cudaGetErrorString(err),
                     gpd_cuda_short_file(__FILE__), __LINE__);
  }
  m->capture_locked = 1;
  return 0;
}

/* Ends a capture and releases the lock whatever happened; *g the graph or
 * NULL. Also the engine's destroy, for a capture a failed caller left open. */
static cudaError_t capture_finish(gpd_engine *e, cudaGraph_t *g) {
  cuda_impl *m = cuda_impl_of(e);
  *g = NULL;
  cudaError_t err = cudaStreamEndCapture(m->stream, g);
  if (m->capture_locked) {
    m->capture_locked = 0;
    pthread_rwlock_unlock(&setup_lock);
  }
  return err;
}

void cuda_capture_abandon(gpd_engine *e) {
  if (!cuda_impl_of(e)->capture_locked && !cuda_capturing(e)) return;
  cudaGraph_t g = NULL;
  if (capture_finish(e, &g) == cudaSuccess && g) cudaGraphDestroy(g);
  (void)cudaGetLastError();
}

int cuda_graph_end(gpd_engine *e, void **graph) {
  if (!graph) return gpd_error("graph_end: NULL graph pointer");
  *graph = NULL;
  if (!cuda_impl_of(e)->capture_locked)
    return gpd_error("graph_end: no capture in progress (call gpd_engine_graph_begin first)");
  cudaGraph_t g = NULL;
  cudaError_t err = capture_finish(e, &g);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    /* cudaErrorStreamCaptureInvalidated: something in the capture (a call
     * that synchronises, an op on another stream) broke it */
    return gpd_error("cudaStreamEndCapture failed: %s: %s (%s:%d)", cudaGetErrorName(err), cudaGetErrorString(err),
                     gpd_cuda_short_file(__FILE__), __LINE__);
  }
  cuda_graph *cg = gpd_calloc(1, sizeof *cg, "a CUDA graph handle");
  if (!cg) {
    cudaGraphDestroy(g);
    return -1;
  }
  err = cudaGraphInstantiate(&cg->exec, g, 0);
  cudaGraphDestroy(g); /* the executable graph is independent of it */
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    free(cg);
    return gpd_error("cudaGraphInstantiate failed: %s: %s (%s:%d)", cudaGetErrorName(err), cudaGetErrorString(err),
                     gpd_cuda_short_file(__FILE__), __LINE__);
  }
  *graph = cg;
  return 0;
}

int cuda_graph_launch(gpd_engine *e, void *graph) {
  if (!graph) return gpd_error("graph_launch: NULL graph");
  if (cuda_capturing(e)) return gpd_error("graph_launch: not allowed while capturing");
  CUDA_CHECK(cudaGraphLaunch(((cuda_graph *)graph)->exec, cuda_stream_of(e)));
  return 0;
}

void cuda_graph_free(gpd_engine *e, void *graph) {
  (void)e;
  cuda_graph *cg = graph;
  if (!cg) return;
  cuda_setup_lock(); /* destroying an executable graph may wait for the device */
  cudaGraphExecDestroy(cg->exec);
  (void)cudaGetLastError();
  cuda_setup_unlock();
  free(cg);
}
