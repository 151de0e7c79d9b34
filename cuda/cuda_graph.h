/* CUDA graph capture and replay on the engine stream (cuda_graph.c), behind
 * the engine-independent gpd/engine_graph.h (host/engine_graph.c). */
#ifndef GPD_CUDA_GRAPH_H
#define GPD_CUDA_GRAPH_H

#include "gpd/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

int gpd_cuda_graph_begin(gpd_engine *e);
int gpd_cuda_graph_end(gpd_engine *e, void **graph);
int gpd_cuda_graph_launch(gpd_engine *e, void *graph);
void gpd_cuda_graph_free(void *graph);

#ifdef __cplusplus
}
#endif
#endif
