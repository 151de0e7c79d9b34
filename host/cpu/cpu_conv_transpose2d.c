/* conv_transpose2d (PyTorch semantics, see gpd_conv_geom): the adjoint of
 * the conv2d whose input is this layer's output. With that conv2d geometry
 * s = swap(g), the weight (C_in, C_out, K, K) of this layer is exactly s's
 * (C_out', C_in', K, K), so:
 *   forward        = adjoint of conv2d in s  (gemm w^T x, then col2im)
 *   backward_data  = conv2d forward in s     (im2col of dy, then gemm)
 *   backward_weights = conv2d weight gradient in s with the roles of input
 *                    (dy here) and output gradient (x here) swapped.
 * x (N, C_in, H_in, W_in), y (N, C_out, H_out, W_out), b (C_out) or NULL. */
#include "cpu_conv_gemm.h"
#include "cpu_ops.h"
#include "gpd/common.h"

int cpu_conv_transpose2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  (void)e;
  GPD_TRY(cpu_conv_geom_check(g, "conv_transpose2d_forward"));
  if (g->n == 0) return 0;
  if (!x || !w || !y) return gpd_error("conv_transpose2d_forward: NULL x, w or y");
  gpd_conv_geom s = cpu_conv_geom_swap(g);
  GPD_TRY(cpu_conv_gemm_adjoint(&s, x, w, y, "conv_transpose2d_forward"));
  if (b) cpu_conv_add_bias(g->n, g->c_out, (size_t)g->h_out * g->w_out, b, y);
  return 0;
}

int cpu_conv_transpose2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  (void)e;
  GPD_TRY(cpu_conv_geom_check(g, "conv_transpose2d_backward_data"));
  if (g->n == 0) return 0;
  if (!dy || !w || !dx) return gpd_error("conv_transpose2d_backward_data: NULL dy, w or dx");
  gpd_conv_geom s = cpu_conv_geom_swap(g);
  return cpu_conv_gemm_forward(&s, dy, w, dx, "conv_transpose2d_backward_data");
}

int cpu_conv_transpose2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db) {
  (void)e;
  GPD_TRY(cpu_conv_geom_check(g, "conv_transpose2d_backward_weights"));
  if (g->n == 0) return 0;
  if (!x || !dy || !dw) return gpd_error("conv_transpose2d_backward_weights: NULL x, dy or dw");
  gpd_conv_geom s = cpu_conv_geom_swap(g);
  GPD_TRY(cpu_conv_gemm_weights(&s, dy, x, dw, "conv_transpose2d_backward_weights"));
  if (db) cpu_conv_bias_grad(g->n, g->c_out, (size_t)g->h_out * g->w_out, dy, db);
  return 0;
}
