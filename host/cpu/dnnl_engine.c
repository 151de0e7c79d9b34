/* The `cpu` engine: the reference engine's table (ref_engine.c) with the
 * generator math -- conv2d, conv_transpose2d, linear -- on oneDNN
 * primitives (dnnl_conv.c, dnnl_linear.c; some convolution passes as
 * im2col + oneDNN sgemm, dnnl_gemm.c), in fp32 or bf16. FFTs stay on FFTW,
 * elementwise ops, TV and optimisers on the reference loops; batch norms
 * run the reference loops with their channels split over the OpenMP pool
 * (cpu_batchnorm.c): oneDNN 2.6's batch norm on plain NCHW data measured
 * 1.0-7.5x slower than those loops on one thread (inference 0.35 ms
 * against 0.05 ms at batch 10 x 128 x 16 x 16; training backward 8.4 ms
 * against 4.2 ms at batch 64), and a blocked layout would add reorders.
 *
 * Threads: oneDNN runs on OpenMP (OMP_NUM_THREADS, or gpd_cpu_set_threads);
 * OpenBLAS, which the reference ops still use, is kept to one thread while
 * a `cpu` engine exists so that the two pools never share the cores. */
#include <cblas.h>
#include <fftw3.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_ops.h"
#include "dnnl_internal.h"
#include "gpd/common.h"

#define DNNL_OP_DECLARE(name, params) int dnnl_##name params;
GPD_ENGINE_OPS(DNNL_OP_DECLARE)
#undef DNNL_OP_DECLARE

/* The ops oneDNN runs; the rest of the table is the reference engine's. */
#define GPD_DNNL_OPS(X)                                                                                       \
  X(linear_forward) X(linear_backward_data) X(linear_backward_weights) X(conv2d_forward)                     \
  X(conv2d_backward_data) X(conv2d_backward_weights) X(conv_transpose2d_forward)                            \
  X(conv_transpose2d_backward_data) X(conv_transpose2d_backward_weights)

static void dnnl_destroy(gpd_engine *e) {
  dnnl_state *s = dnnl_state_of(e);
  if (s) {
    dnnl_phases_free_all(s);
    dnnl_plans_free(s);
    if (s->stream) dnnl_stream_destroy(s->stream);
    if (s->engine) dnnl_engine_destroy(s->engine);
    free(s);
  }
  cpu_fft_cleanup(e);
  free(e);
}

/* Its own plans and stream: forks run in other host threads. */
static gpd_engine *dnnl_fork(gpd_engine *e) { return gpd_engine_cpu_create_precision(e->precision); }

static int dnnl_state_init(dnnl_state *s) {
  DNNL_CHECK(dnnl_engine_create(&s->engine, dnnl_cpu, 0), "cpu engine");
  DNNL_CHECK(dnnl_stream_create(&s->stream, s->engine, dnnl_stream_default_flags), "cpu engine");
  return 0;
}

gpd_engine *gpd_engine_cpu_create_precision(gpd_precision precision) {
  if (precision == GPD_PRECISION_TF32) {
    gpd_error("--precision tf32 is a GPU tensor-core mode; the cpu engine computes in fp32 or bf16");
    return NULL;
  }
  gpd_engine *e = gpd_calloc(1, sizeof *e, "the CPU engine");
  dnnl_state *s = gpd_calloc(1, sizeof *s, "the CPU engine's oneDNN state");
  if (!e || !s || dnnl_state_init(s) != 0) {
    if (e) e->impl = s, dnnl_destroy(e);
    else free(s);
    return NULL;
  }
  cpu_engine_fill_reference(e);
  e->name = "cpu";
  e->impl = s;
  e->precision = precision;
  e->destroy = dnnl_destroy;
  e->fork = dnnl_fork;
  e->hold_constant = dnnl_hold_constant;
#define DNNL_OP_SET(name) e->name = dnnl_##name;
  GPD_DNNL_OPS(DNNL_OP_SET)
#undef DNNL_OP_SET
#define OMP_OP_SET(name) e->name = cpu_##name##_omp;
  GPD_CPU_OMP_OPS(OMP_OP_SET)
#undef OMP_OP_SET
  openblas_set_num_threads(1);
  return e;
}

gpd_engine *gpd_engine_cpu_create(void) { return gpd_engine_cpu_create_precision(GPD_PRECISION_FP32); }

void gpd_cpu_set_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

void gpd_engine_cpu_libraries(char *buf, size_t size) {
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, size, "oneDNN %d.%d.%d, %s", v->major, v->minor, v->patch, fftwf_version);
}
