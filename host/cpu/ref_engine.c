/* The reference engine `ref`: host memory, plain loops, OpenBLAS and FFTW.
 * Builds the op table from the cpu_* functions (one family per file in
 * host/cpu/) for every op of gpd/engine_ops.h. It is the oracle every other
 * engine is tested against, and the base of the oneDNN `cpu` engine
 * (dnnl_engine.c), which replaces its convolutions, dense layers and batch
 * norms. */
#define _DEFAULT_SOURCE
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_ops.h"
#include "gpd/common.h"
#include "gpd/engine_graph.h"

static float *cpu_alloc(gpd_engine *e, size_t count, const char *what) {
  (void)e;
  return gpd_calloc(count, sizeof(float), what);
}

static void cpu_free(gpd_engine *e, void *p) {
  (void)e;
  free(p);
}

static int cpu_upload(gpd_engine *e, float *dst, const float *src, size_t count) {
  (void)e;
  if (count) memmove(dst, src, count * sizeof(float));
  return 0;
}

static int cpu_copy(gpd_engine *e, float *dst, const float *src, size_t count) {
  (void)e;
  if (count && dst != src) memmove(dst, src, count * sizeof(float));
  return 0;
}

static int cpu_fill(gpd_engine *e, float *x, float value, size_t count) {
  (void)e;
  for (size_t i = 0; i < count; i++) x[i] = value;
  return 0;
}

static int cpu_sync(gpd_engine *e) {
  (void)e;
  return 0;
}

static size_t cpu_memory_free(gpd_engine *e) {
  (void)e;
  long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)1 << 32;
}

/* A second reference engine: it has no per-engine state to share. */
static gpd_engine *ref_fork(gpd_engine *e) {
  (void)e;
  return gpd_engine_ref_create();
}

static void ref_destroy(gpd_engine *e) {
  cpu_fft_cleanup(e);
  free(e);
}

void cpu_engine_fill_reference(gpd_engine *e) {
  e->precision = GPD_PRECISION_FP32;
  /* forks share the two cores; no tensor limit; outside alloc() it keeps
   * the im2col chunks of one call and FFTW's plans */
  e->caps = (gpd_engine_caps){.memory_name = "memory", .instance_reserve = (size_t)64 << 20};
  e->fft_scratch_bytes = cpu_fft_scratch_bytes;
  gpd_engine_fill_eager_graphs(e);
  e->alloc = cpu_alloc;
  e->free = cpu_free;
  e->upload = cpu_upload;
  e->download = cpu_upload; /* host to host: the same copy */
  e->copy = cpu_copy;
  e->fill = cpu_fill;
  e->sync = cpu_sync;
  e->memory_free = cpu_memory_free;
#define OP(name, params) e->name = cpu_##name;
  GPD_ENGINE_OPS(OP)
#undef OP
}

gpd_engine *gpd_engine_ref_create(void) {
  gpd_engine *e = gpd_calloc(1, sizeof *e, "the reference engine");
  if (!e) return NULL;
  cpu_engine_fill_reference(e);
  e->name = "ref";
  e->destroy = ref_destroy;
  e->fork = ref_fork;
  return e;
}

void gpd_ref_set_threads(int threads) {
  if (threads > 0) openblas_set_num_threads(threads);
}

void gpd_engine_ref_libraries(char *buf, size_t size) {
  const char *config = openblas_get_config();
  snprintf(buf, size, "%s", config ? config : "OpenBLAS (version unknown)");
}
