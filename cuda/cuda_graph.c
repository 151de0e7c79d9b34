/* CUDA graphs of engine calls: capture the engine stream, instantiate,
 * replay (see gpd/engine_graph.h for the rules a caller follows).
 *
 * The capture is in relaxed mode: a scratch buffer that has to grow during
 * capture may still call cudaMalloc (outgrown buffers are retired, never
 * freed, so no graph is left pointing at freed memory). Calls that must not
 * be captured (upload, download, sync, cuFFT planning) check
 * cuda_capturing() and fail with a message instead. */
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_graph.h"
#include "cuda_internal.h"

typedef struct cuda_graph {
  cudaGraphExec_t exec;
} cuda_graph;

int gpd_cuda_graph_begin(gpd_engine *e) {
  if (cuda_capturing(e)) return gpd_error("graph_begin: the engine stream is already being captured");
  CUDA_CHECK(cudaStreamBeginCapture(cuda_stream_of(e), cudaStreamCaptureModeRelaxed));
  return 0;
}

int gpd_cuda_graph_end(gpd_engine *e, void **graph) {
  if (!graph) return gpd_error("graph_end: NULL graph pointer");
  *graph = NULL;
  if (!cuda_capturing(e)) return gpd_error("graph_end: no capture in progress (call gpd_engine_graph_begin first)");
  cudaGraph_t g = NULL;
  CUDA_CHECK(cudaStreamEndCapture(cuda_stream_of(e), &g));
  cuda_graph *cg = gpd_calloc(1, sizeof *cg, "a CUDA graph handle");
  if (!cg) {
    cudaGraphDestroy(g);
    return -1;
  }
  cudaError_t err = cudaGraphInstantiate(&cg->exec, g, 0);
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

int gpd_cuda_graph_launch(gpd_engine *e, void *graph) {
  if (!graph) return gpd_error("graph_launch: NULL graph");
  if (cuda_capturing(e)) return gpd_error("graph_launch: not allowed while capturing");
  CUDA_CHECK(cudaGraphLaunch(((cuda_graph *)graph)->exec, cuda_stream_of(e)));
  return 0;
}

void gpd_cuda_graph_free(void *graph) {
  cuda_graph *cg = graph;
  if (!cg) return;
  cudaGraphExecDestroy(cg->exec);
  (void)cudaGetLastError();
  free(cg);
}
