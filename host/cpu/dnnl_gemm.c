/* The cpu engine's backend for the im2col + sgemm convolution cores
 * (cpu_conv_gemm.h): oneDNN's sgemm and the OpenMP pool oneDNN runs on, so
 * that the layers oneDNN's direct kernels handle badly (dnnl_conv.c says
 * which) run on the same threads as the rest of the engine, never on
 * OpenBLAS's. */
#include <omp.h>

#include "cpu_conv_gemm.h"
#include "dnnl_internal.h"

static int omp_sgemm(char ta, char tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc) {
  DNNL_CHECK(dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "convolution gemm");
  return 0;
}

static int omp_threads(void) { return omp_get_max_threads(); }

static void omp_parallel(int parts, void (*part)(void *ctx, int i), void *ctx) {
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int i = 0; i < parts; i++) part(ctx, i);
}

const cpu_gemm_backend dnnl_gemm_backend = {omp_sgemm, omp_threads, omp_parallel};
