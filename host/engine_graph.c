/* Engine-independent entry points of gpd/engine_graph.h over the engine
 * table's graph slots, and the eager slots of engines without graphs
 * (begin / end do nothing, there is nothing to launch). A graph handed out
 * here remembers the engine that made it, so that gpd_engine_graph_free
 * needs only the graph. */
#include <stdlib.h>

#include "gpd/common.h"
#include "gpd/engine_graph.h"

typedef struct engine_graph {
  gpd_engine *e;
  void *graph; /* the engine's own */
} engine_graph;

/* ---- the slots of an engine without graphs ---- */

static int eager_begin(gpd_engine *e) {
  (void)e;
  return 0;
}

static int eager_end(gpd_engine *e, void **graph) {
  (void)e;
  *graph = NULL;
  return 0;
}

static int eager_launch(gpd_engine *e, void *graph) {
  (void)graph;
  return gpd_error("graph_launch: the %s engine does not support graphs (check gpd_engine_supports_graphs)",
                   e->name ? e->name : "unnamed");
}

static void eager_free(gpd_engine *e, void *graph) {
  (void)e;
  (void)graph; /* it never made one */
}

void gpd_engine_fill_eager_graphs(gpd_engine *e) {
  e->caps.graphs = 0;
  e->graph_begin = eager_begin;
  e->graph_end = eager_end;
  e->graph_launch = eager_launch;
  e->graph_free = eager_free;
}

/* ---- dispatch ---- */

int gpd_engine_supports_graphs(gpd_engine *e) {
  return e && e->caps.graphs && e->graph_begin && e->graph_end && e->graph_launch;
}

int gpd_engine_graph_begin(gpd_engine *e) {
  if (!e) return gpd_error("graph_begin: NULL engine");
  return gpd_engine_supports_graphs(e) ? e->graph_begin(e) : 0;
}

int gpd_engine_graph_end(gpd_engine *e, void **graph) {
  if (!e || !graph) return gpd_error("graph_end: NULL engine or graph pointer");
  *graph = NULL;
  if (!gpd_engine_supports_graphs(e)) return 0;
  void *own = NULL;
  GPD_TRY(e->graph_end(e, &own));
  engine_graph *g = gpd_calloc(1, sizeof *g, "a graph handle");
  if (!g) {
    if (e->graph_free) e->graph_free(e, own);
    return -1;
  }
  g->e = e;
  g->graph = own;
  *graph = g;
  return 0;
}

int gpd_engine_graph_launch(gpd_engine *e, void *graph) {
  if (!e) return gpd_error("graph_launch: NULL engine");
  if (!gpd_engine_supports_graphs(e)) return eager_launch(e, graph);
  if (!graph) return gpd_error("graph_launch: NULL graph");
  const engine_graph *g = graph;
  if (g->e != e) return gpd_error("graph_launch: the graph belongs to another engine");
  return e->graph_launch(e, g->graph);
}

void gpd_engine_graph_free(void *graph) {
  engine_graph *g = graph;
  if (!g) return;
  if (g->e->graph_free) g->e->graph_free(g->e, g->graph);
  free(g);
}
