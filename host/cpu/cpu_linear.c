/* Linear layer y = x W^T + b with OpenBLAS; x (N, In), W (Out, In),
 * b (Out) or NULL, y (N, Out). */
#include <cblas.h>
#include <string.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static int check_dims(const char *op, int n, int in, int out) {
  if (n < 0 || in < 1 || out < 1) return gpd_error("%s: bad shape (n %d, in %d, out %d)", op, n, in, out);
  return 0;
}

int cpu_linear_forward(gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b, float *y) {
  (void)e;
  GPD_TRY(check_dims("linear_forward", n, in, out));
  if (n == 0) return 0;
  if (!x || !w || !y) return gpd_error("linear_forward: NULL x, w or y");
  float beta = 0.0f;
  if (b) { /* seed y with the bias, then let the gemm add x W^T */
    for (int i = 0; i < n; i++) memcpy(y + (size_t)i * out, b, (size_t)out * sizeof(float));
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, beta, y, out);
  return 0;
}

/* dx (N, In) = dy (N, Out) W (Out, In); overwrites dx. */
int cpu_linear_backward_data(gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx) {
  (void)e;
  GPD_TRY(check_dims("linear_backward_data", n, in, out));
  if (n == 0) return 0;
  if (!dy || !w || !dx) return gpd_error("linear_backward_data: NULL dy, w or dx");
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
  return 0;
}

/* dw (Out, In) += dy^T x; db (Out) += column sums of dy (db may be NULL). */
int cpu_linear_backward_weights(gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw, float *db) {
  (void)e;
  GPD_TRY(check_dims("linear_backward_weights", n, in, out));
  if (n == 0) return 0;
  if (!x || !dy || !dw) return gpd_error("linear_backward_weights: NULL x, dy or dw");
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
  if (db)
    for (int i = 0; i < n; i++) {
      const float *row = dy + (size_t)i * out;
      for (int o = 0; o < out; o++) db[o] += row[o];
    }
  return 0;
}
