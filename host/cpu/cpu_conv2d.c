/* conv2d (PyTorch semantics, see gpd_conv_geom) by im2col + sgemm
 * (cpu_conv_gemm.c, OpenBLAS). x (N, C_in, H_in, W_in), w (C_out, C_in, K,
 * K), b (C_out) or NULL, y (N, C_out, H_out, W_out). */
#include "cpu_conv_gemm.h"
#include "cpu_ops.h"
#include "gpd/common.h"

int cpu_conv2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  (void)e;
  return cpu_conv_gemm_pass(&cpu_gemm_openblas, g, 0, CPU_CONV_FORWARD, x, w, y, (float *)b, "conv2d_forward");
}

/* dx = conv^T(dy): the column gradient w^T dy folded back by col2im. */
int cpu_conv2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  (void)e;
  return cpu_conv_gemm_pass(&cpu_gemm_openblas, g, 0, CPU_CONV_BACKWARD_DATA, dy, w, dx, NULL, "conv2d_backward_data");
}

/* dw += dy im2col(x)^T over the batch; db += sums of dy per channel. */
int cpu_conv2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db) {
  (void)e;
  return cpu_conv_gemm_pass(&cpu_gemm_openblas, g, 0, CPU_CONV_BACKWARD_WEIGHTS, x, dy, dw, db, "conv2d_backward_weights");
}
