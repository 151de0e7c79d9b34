/* conv_transpose2d (PyTorch semantics, see gpd_conv_geom): the adjoint of
 * the conv2d whose input is this layer's output, by the same im2col + sgemm
 * cores (cpu_conv_gemm_pass says how each pass maps onto them; OpenBLAS).
 * x (N, C_in, H_in, W_in), w (C_in, C_out, K, K), y (N, C_out, H_out,
 * W_out), b (C_out) or NULL. */
#include "cpu_conv_gemm.h"
#include "cpu_ops.h"
#include "gpd/common.h"

int cpu_conv_transpose2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  (void)e;
  return cpu_conv_gemm_pass(&cpu_gemm_openblas, g, 1, CPU_CONV_FORWARD, x, w, y, (float *)b, "conv_transpose2d_forward");
}

int cpu_conv_transpose2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  (void)e;
  return cpu_conv_gemm_pass(&cpu_gemm_openblas, g, 1, CPU_CONV_BACKWARD_DATA, dy, w, dx, NULL, "conv_transpose2d_backward_data");
}

int cpu_conv_transpose2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db) {
  (void)e;
  return cpu_conv_gemm_pass(&cpu_gemm_openblas, g, 1, CPU_CONV_BACKWARD_WEIGHTS, x, dy, dw, db, "conv_transpose2d_backward_weights");
}
