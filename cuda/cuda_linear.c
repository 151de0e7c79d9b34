/* Linear layer y = x W^T + b with cuBLAS; x (N, In), W (Out, In), b (Out)
 * or NULL, y (N, Out). Reference: host/cpu/cpu_linear.c.
 *
 * cuBLAS is column-major: a row-major (R, C) matrix is the column-major
 * (C, R) matrix with leading dimension C, i.e. its transpose. So each
 * row-major product A B is computed as the column-major B^T A^T, where
 * "w" below is W's memory read column-major, i.e. W^T (In, Out):
 *   y  = x W^T   ->  y^T  (Out, N)   = op_T(w) x^T        gemm(T, N)
 *   dx = dy W    ->  dx^T (In, N)    = w dy^T             gemm(N, N)
 *   dW += dy^T x ->  dW^T (In, Out) += x^T op_T(dy^T)     gemm(N, T), beta 1
 * The math mode set on the handle at creation decides FP32 or TF32. */
#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_ops.h"

static int check_dims(const char *op, int n, int in, int out) {
  if (n < 0 || in < 1 || out < 1) return gpd_error("%s: bad shape (n %d, in %d, out %d)", op, n, in, out);
  return 0;
}

int cuda_linear_forward(gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b, float *y) {
  GPD_TRY(check_dims("linear_forward", n, in, out));
  if (n == 0) return 0;
  if (!x || !w || !y) return gpd_error("linear_forward: NULL x, w or y");
  const float one = 1.0f, zero = 0.0f;
  CUBLAS_CHECK(cublasSgemm(cuda_impl_of(e)->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x, in, &zero, y, out));
  if (b) GPD_TRY(cuda_bias_add_rows(e, n, out, b, y));
  return 0;
}

/* dx (N, In) = dy (N, Out) W (Out, In); overwrites dx (beta 0: not read). */
int cuda_linear_backward_data(gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx) {
  GPD_TRY(check_dims("linear_backward_data", n, in, out));
  if (n == 0) return 0;
  if (!dy || !w || !dx) return gpd_error("linear_backward_data: NULL dy, w or dx");
  const float one = 1.0f, zero = 0.0f;
  CUBLAS_CHECK(cublasSgemm(cuda_impl_of(e)->cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, in, dy, out, &zero, dx, in));
  return 0;
}

/* dw (Out, In) += dy^T x; db (Out) += column sums of dy (db may be NULL). */
int cuda_linear_backward_weights(gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw, float *db) {
  GPD_TRY(check_dims("linear_backward_weights", n, in, out));
  if (n == 0) return 0;
  if (!x || !dy || !dw) return gpd_error("linear_backward_weights: NULL x, dy or dw");
  const float one = 1.0f;
  CUBLAS_CHECK(cublasSgemm(cuda_impl_of(e)->cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, in, dy, out, &one, dw, in));
  if (db) GPD_TRY(cuda_bias_grad_rows(e, n, out, dy, db));
  return 0;
}
