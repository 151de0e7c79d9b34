/* conv2d (PyTorch semantics, see gpd_conv_geom) by im2col + sgemm.
 * x (N, C_in, H_in, W_in), w (C_out, C_in, K, K), b (C_out) or NULL,
 * y (N, C_out, H_out, W_out). */
#include "cpu_conv_gemm.h"
#include "cpu_ops.h"
#include "gpd/common.h"

int cpu_conv2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  (void)e;
  GPD_TRY(cpu_conv_geom_check(g, "conv2d_forward"));
  if (g->n == 0) return 0;
  if (!x || !w || !y) return gpd_error("conv2d_forward: NULL x, w or y");
  GPD_TRY(cpu_conv_gemm_forward(g, x, w, y, "conv2d_forward"));
  if (b) cpu_conv_add_bias(g->n, g->c_out, (size_t)g->h_out * g->w_out, b, y);
  return 0;
}

/* dx = conv^T(dy): the column gradient w^T dy folded back by col2im. */
int cpu_conv2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  (void)e;
  GPD_TRY(cpu_conv_geom_check(g, "conv2d_backward_data"));
  if (g->n == 0) return 0;
  if (!dy || !w || !dx) return gpd_error("conv2d_backward_data: NULL dy, w or dx");
  return cpu_conv_gemm_adjoint(g, dy, w, dx, "conv2d_backward_data");
}

/* dw += dy im2col(x)^T over the batch; db += sums of dy per channel. */
int cpu_conv2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db) {
  (void)e;
  GPD_TRY(cpu_conv_geom_check(g, "conv2d_backward_weights"));
  if (g->n == 0) return 0;
  if (!x || !dy || !dw) return gpd_error("conv2d_backward_weights: NULL x, dy or dw");
  GPD_TRY(cpu_conv_gemm_weights(g, x, dy, dw, "conv2d_backward_weights"));
  if (db) cpu_conv_bias_grad(g->n, g->c_out, (size_t)g->h_out * g->w_out, dy, db);
  return 0;
}
