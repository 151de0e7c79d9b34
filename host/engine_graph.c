/* Engine-independent entry points of gpd/engine_graph.h: CUDA engines
 * capture and replay graphs (cuda/cuda_graph.c); every other engine runs
 * calls eagerly, so begin/end are no-ops and there is nothing to launch. */
#include <string.h>

#include "gpd/common.h"
#include "gpd/engine_graph.h"

#ifdef GPD_HAVE_CUDA
#include "cuda_graph.h"
#endif

static int is_cuda(const gpd_engine *e) {
#ifdef GPD_HAVE_CUDA
  return e && e->name && !strcmp(e->name, "cuda");
#else
  (void)e;
  return 0;
#endif
}

int gpd_engine_supports_graphs(gpd_engine *e) { return is_cuda(e); }

int gpd_engine_graph_begin(gpd_engine *e) {
  if (!e) return gpd_error("graph_begin: NULL engine");
#ifdef GPD_HAVE_CUDA
  if (is_cuda(e)) return gpd_cuda_graph_begin(e);
#endif
  return 0;
}

int gpd_engine_graph_end(gpd_engine *e, void **graph) {
  if (!e || !graph) return gpd_error("graph_end: NULL engine or graph pointer");
#ifdef GPD_HAVE_CUDA
  if (is_cuda(e)) return gpd_cuda_graph_end(e, graph);
#endif
  *graph = NULL;
  return 0;
}

int gpd_engine_graph_launch(gpd_engine *e, void *graph) {
  if (!e) return gpd_error("graph_launch: NULL engine");
#ifdef GPD_HAVE_CUDA
  if (is_cuda(e)) return gpd_cuda_graph_launch(e, graph);
#endif
  (void)graph;
  return gpd_error("graph_launch: the %s engine does not support graphs (check gpd_engine_supports_graphs)",
                   e->name ? e->name : "unnamed");
}

void gpd_engine_graph_free(void *graph) {
#ifdef GPD_HAVE_CUDA
  gpd_cuda_graph_free(graph);
#else
  (void)graph; /* only CUDA engines make graphs: nothing else to free */
#endif
}
