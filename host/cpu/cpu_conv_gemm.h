/* The three gemm cores shared by conv2d and conv_transpose2d (private to
 * host/cpu/). A transposed convolution is the adjoint of a convolution with
 * input and output swapped, so both layers reduce to these, stated in the
 * CONV2D geometry g (x: (N, C_in, H_in, W_in), y: (N, C_out, H_out, W_out),
 * w: (C_out, C_in, K, K)):
 *   forward: y = conv(x, w)               im2col + gemm
 *   adjoint: x = conv^T(y, w)             gemm + col2im (overwrites x)
 *   weights: dw += d<dy, conv(x, w)>/dw   im2col + gemm (accumulates)
 * Several images are folded into one gemm (columns of a shared column
 * matrix) so that small feature maps still make large gemm calls.
 * cpu_conv_gemm_pass maps every pass of both layers onto them. */
#ifndef GPD_CPU_CONV_GEMM_H
#define GPD_CPU_CONV_GEMM_H

#include <stddef.h>

#include "gpd/engine.h"

/* How the cores multiply and share work among threads: the ref engine's
 * OpenBLAS and pthreads (cpu_gemm_openblas), or the cpu engine's oneDNN
 * sgemm and OpenMP pool (dnnl_gemm.c), so that each engine's threads stay
 * in its own pool. */
typedef struct cpu_gemm_backend {
  /* row-major c (m x n) = alpha op(a) op(b) + beta c, ta / tb 'N' or 'T';
   * 0, or -1 with an error */
  int (*sgemm)(char ta, char tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);
  /* threads the work may be split over */
  int (*threads)(void);
  /* part(ctx, i) for every i < parts, each part on its own thread */
  void (*parallel)(int parts, void (*part)(void *ctx, int i), void *ctx);
} cpu_gemm_backend;

extern const cpu_gemm_backend cpu_gemm_openblas;

/* 0, or -1 with an error naming op when a size is not positive. */
int cpu_conv_geom_check(const gpd_conv_geom *g, const char *op);
/* The conv2d geometry whose adjoint is the conv_transpose2d geometry g. */
gpd_conv_geom cpu_conv_geom_swap(const gpd_conv_geom *g);

int cpu_conv_gemm_forward(const cpu_gemm_backend *be, const gpd_conv_geom *g, const float *x, const float *w,
                          float *y, const char *op);
int cpu_conv_gemm_adjoint(const cpu_gemm_backend *be, const gpd_conv_geom *g, const float *y, const float *w,
                          float *x, const char *op);
int cpu_conv_gemm_weights(const cpu_gemm_backend *be, const gpd_conv_geom *g, const float *x, const float *dy,
                          float *dw, const char *op);

/* One pass of conv2d (transposed = 0) or conv_transpose2d (1) of geometry g
 * (checked here: sizes, NULL tensors; nothing to do at n = 0), bias included:
 *   CPU_CONV_FORWARD:          a = x, b = w, c = y, bias = b or NULL
 *   CPU_CONV_BACKWARD_DATA:    a = dy, b = w, c = dx
 *   CPU_CONV_BACKWARD_WEIGHTS: a = x, b = dy, c = dw, bias = db or NULL
 *                              (both accumulated) */
typedef enum cpu_conv_pass { CPU_CONV_FORWARD = 0, CPU_CONV_BACKWARD_DATA, CPU_CONV_BACKWARD_WEIGHTS } cpu_conv_pass;
int cpu_conv_gemm_pass(const cpu_gemm_backend *be, const gpd_conv_geom *g, int transposed, cpu_conv_pass pass,
                       const float *a, const float *b, float *c, float *bias, const char *op);

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
