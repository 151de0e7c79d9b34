/* The three gemm cores shared by conv2d and conv_transpose2d (private to
 * host/cpu/). A transposed convolution is the adjoint of a convolution with
 * input and output swapped, so both layers reduce to these, stated in the
 * CONV2D geometry g (x: (N, C_in, H_in, W_in), y: (N, C_out, H_out, W_out),
 * w: (C_out, C_in, K, K)):
 *   forward: y = conv(x, w)               im2col + gemm
 *   adjoint: x = conv^T(y, w)             gemm + col2im (overwrites x)
 *   weights: dw += d<dy, conv(x, w)>/dw   im2col + gemm (accumulates)
 * Several images are folded into one gemm (columns of a shared column
 * matrix) so that small feature maps still make large gemm calls. */
#ifndef GPD_CPU_CONV_GEMM_H
#define GPD_CPU_CONV_GEMM_H

#include <stddef.h>

#include "gpd/engine.h"

/* 0, or -1 with an error naming op when a size is not positive. */
int cpu_conv_geom_check(const gpd_conv_geom *g, const char *op);
/* The conv2d geometry whose adjoint is the conv_transpose2d geometry g. */
gpd_conv_geom cpu_conv_geom_swap(const gpd_conv_geom *g);

int cpu_conv_gemm_forward(const gpd_conv_geom *g, const float *x, const float *w, float *y, const char *op);
int cpu_conv_gemm_adjoint(const gpd_conv_geom *g, const float *y, const float *w, float *x, const char *op);
int cpu_conv_gemm_weights(const gpd_conv_geom *g, const float *x, const float *dy, float *dw, const char *op);

/* y[n, c, :] += b[c] over (N, C, HW); db[c] += sum of dy[n, c, :]. */
void cpu_conv_add_bias(int n, int c, size_t hw, const float *b, float *y);
void cpu_conv_bias_grad(int n, int c, size_t hw, const float *dy, float *db);

/* im2col / col2im of m images (image j at x + j*xs) into (or from) one
 * column matrix with row stride ld >= m*H_out*W_out, image j in columns
 * [j*H_out*W_out, (j+1)*H_out*W_out); only the channels [c0, c1) (rows
 * c0*K*K up to c1*K*K), so that threads can split the work. col2im
 * accumulates into x. */
void cpu_im2col_batch(const gpd_conv_geom *g, int m, const float *x, size_t xs, float *col, size_t ld, int c0, int c1);
void cpu_col2im_batch(const gpd_conv_geom *g, int m, const float *col, size_t ld, float *x, size_t xs, int c0, int c1);

#endif
