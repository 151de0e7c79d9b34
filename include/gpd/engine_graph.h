/* Capturing a fixed sequence of engine calls once and replaying it (CUDA
 * graphs): one launch per solver iteration instead of dozens of kernel and
 * library calls, which is what small generators at a large batch are bound
 * by. An engine with caps.graphs (the CUDA engine) captures and replays in
 * its graph slots; these functions dispatch to them, and on any other
 * engine begin/end do nothing, so the calls simply run. Solvers ask first:
 *
 *   if (gpd_engine_supports_graphs(e)) {
 *     run_iteration(e);                    // once eagerly: plans, algorithms,
 *                                          // workspaces exist before capture
 *     void *g;
 *     if (gpd_engine_graph_begin(e)) ...;
 *     int rc = run_iteration(e);           // recorded, not executed
 *     if (gpd_engine_graph_end(e, &g) || rc) ...;   // always end a begun capture
 *     for (...) gpd_engine_graph_launch(e, g);
 *     gpd_engine_graph_free(g);
 *   }
 *
 * A graph replays the captured calls with the pointers and scalar arguments
 * they had (step sizes, gather indices, FFT sizes); values that change per
 * iteration must live in engine memory. While capturing, calls that talk to
 * the host (upload, download, sync) fail with an error; alloc works but its
 * zeroing becomes part of the graph. Graphs belong to the engine that
 * captured them and must be freed before it is destroyed. */
#ifndef GPD_ENGINE_GRAPH_H
#define GPD_ENGINE_GRAPH_H

#include "gpd/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when e can capture and replay graphs (e->caps.graphs), else 0. */
int gpd_engine_supports_graphs(gpd_engine *e);
/* Starts recording the engine's calls. On an engine without graphs this
 * does nothing and returns 0 (the calls then simply run). */
int gpd_engine_graph_begin(gpd_engine *e);
/* Stops recording and makes the graph (*graph; NULL on an engine without
 * graphs, returning 0). Fails if a recorded call failed or the capture was
 * invalidated. */
int gpd_engine_graph_end(gpd_engine *e, void **graph);
/* Replays the graph on the engine's stream (asynchronously, like any op);
 * -1 with an error on an engine without graphs. */
int gpd_engine_graph_launch(gpd_engine *e, void *graph);
/* Frees a graph from gpd_engine_graph_end (NULL is fine). */
void gpd_engine_graph_free(void *graph);

/* For an engine without graphs (caps.graphs 0): fills its graph slots with
 * the eager behaviour above, so that no slot of its table is NULL. */
void gpd_engine_fill_eager_graphs(gpd_engine *e);

#ifdef __cplusplus
}
#endif
#endif
