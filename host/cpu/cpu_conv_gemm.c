/* The gemm cores of conv2d and conv_transpose2d (see cpu_conv_gemm.h).
 * Images are processed in chunks: each chunk's column matrix holds several
 * images side by side (C_in*K*K rows, chunk*H_out*W_out columns) so one
 * sgemm covers the chunk. The chunk is sized to reach a useful gemm width
 * while keeping the column matrix small enough to stay mostly in cache
 * between the gemm and the im2col / col2im that touches it.
 * The backend (cpu_gemm_backend) threads the gemms; im2col / col2im are
 * split over channels across as many threads as it uses (they would
 * otherwise leave the other cores idle for ~15-20% of a layer's time). The
 * ref engine's backend is OpenBLAS with pthreads (cpu_gemm_openblas, here). */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_conv_gemm.h"
#include "gpd/common.h"

#ifndef TARGET_COLUMNS
/* Aim for at least this many gemm columns per call ... */
#define TARGET_COLUMNS 1024
/* ... but keep the column matrix under this many floats (8 MiB) when more
 * than one image is in it. Measured on the DCGAN-64 generator (batch 100):
 * 1024 columns / 2M floats is as fast as whole-batch gemms, with far less
 * memory. */
#define MAX_COLUMN_FLOATS ((size_t)2 << 20)
#endif
/* Below this many column entries a transform runs on one thread. */
#define PARALLEL_MIN_FLOATS ((size_t)1 << 17)
#define MAX_THREADS 16

int cpu_conv_geom_check(const gpd_conv_geom *g, const char *op) {
  if (!g) return gpd_error("%s: NULL geometry", op);
  if (g->n < 0 || g->c_in < 1 || g->h_in < 1 || g->w_in < 1 || g->c_out < 1 || g->h_out < 1 || g->w_out < 1 ||
      g->k < 1 || g->stride < 1 || g->pad < 0)
    return gpd_error("%s: bad geometry (n %d, in %dx%dx%d, out %dx%dx%d, k %d, stride %d, pad %d)", op, g->n,
                     g->c_in, g->h_in, g->w_in, g->c_out, g->h_out, g->w_out, g->k, g->stride, g->pad);
  return 0;
}

gpd_conv_geom cpu_conv_geom_swap(const gpd_conv_geom *g) {
  gpd_conv_geom s = *g;
  s.c_in = g->c_out;
  s.h_in = g->h_out;
  s.w_in = g->w_out;
  s.c_out = g->c_in;
  s.h_out = g->h_in;
  s.w_out = g->w_in;
  return s;
}

/* Images per chunk for a column matrix of `rows` x (chunk * hw). */
static int chunk_images(int n, size_t rows, size_t hw) {
  size_t nb = (TARGET_COLUMNS + hw - 1) / hw;
  if (nb > (size_t)n) nb = (size_t)n;
  while (nb > 1 && rows * hw * nb > MAX_COLUMN_FLOATS) nb--;
  return nb < 1 ? 1 : (int)nb;
}

/* ---- im2col / col2im over threads ------------------------------------------- */

typedef struct {
  const gpd_conv_geom *g;
  int m, col2im, c0, c1;
  const float *x_in;  /* im2col source */
  float *x_out;       /* col2im destination */
  size_t xs, ld;
  const float *col_in; /* col2im source */
  float *col_out;      /* im2col destination */
} column_job;

static void column_job_run(const column_job *j) {
  if (j->col2im) cpu_col2im_batch(j->g, j->m, j->col_in, j->ld, j->x_out, j->xs, j->c0, j->c1);
  else cpu_im2col_batch(j->g, j->m, j->x_in, j->xs, j->col_out, j->ld, j->c0, j->c1);
}

/* A job split into `parts` channel ranges. */
typedef struct column_split {
  column_job job;
  int parts;
} column_split;

static void column_part(void *ctx, int i) {
  const column_split *s = ctx;
  column_job j = s->job;
  j.c0 = (int)((long)j.g->c_in * i / s->parts);
  j.c1 = (int)((long)j.g->c_in * (i + 1) / s->parts);
  column_job_run(&j);
}

/* Splits the channels of a job over the backend's threads. */
static void column_job_parallel(const cpu_gemm_backend *be, column_job job) {
  int t = be->threads();
  const size_t work = (size_t)job.g->c_in * job.g->k * job.g->k * job.ld;
  if (t > MAX_THREADS) t = MAX_THREADS;
  if (t > job.g->c_in) t = job.g->c_in;
  if (t <= 1 || work < PARALLEL_MIN_FLOATS) {
    job.c0 = 0, job.c1 = job.g->c_in;
    column_job_run(&job);
    return;
  }
  column_split s = {job, t};
  be->parallel(t, column_part, &s);
}

static void im2col_chunk(const cpu_gemm_backend *be, const gpd_conv_geom *g, int m, const float *x, size_t xs,
                         float *col, size_t ld) {
  column_job j = {g, m, 0, 0, 0, x, NULL, xs, ld, NULL, col};
  column_job_parallel(be, j);
}

static void col2im_chunk(const cpu_gemm_backend *be, const gpd_conv_geom *g, int m, const float *col, size_t ld,
                         float *x, size_t xs) {
  column_job j = {g, m, 1, 0, 0, NULL, x, xs, ld, col, NULL};
  column_job_parallel(be, j);
}

/* ---- the ref engine's backend: OpenBLAS, pthreads ------------------------------- */

static int openblas_sgemm(char ta, char tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                          int ldb, float beta, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta == 'T' ? CblasTrans : CblasNoTrans, tb == 'T' ? CblasTrans : CblasNoTrans, m, n, k,
              alpha, a, lda, b, ldb, beta, c, ldc);
  return 0;
}

static int openblas_threads(void) { return openblas_get_num_threads(); }

typedef struct pthread_part {
  void (*part)(void *ctx, int i);
  void *ctx;
  int i;
} pthread_part;

static void *pthread_part_run(void *p) {
  const pthread_part *q = p;
  q->part(q->ctx, q->i);
  return NULL;
}

/* The calling thread takes part 0; a thread that cannot be started has its
 * part run here. */
static void pthreads_parallel(int parts, void (*part)(void *ctx, int i), void *ctx) {
  pthread_part job[MAX_THREADS];
  pthread_t tid[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  if (parts > MAX_THREADS) parts = MAX_THREADS;
  for (int i = 0; i < parts; i++) job[i] = (pthread_part){part, ctx, i};
  for (int i = 1; i < parts; i++) started[i] = pthread_create(&tid[i], NULL, pthread_part_run, &job[i]) == 0;
  part(ctx, 0);
  for (int i = 1; i < parts; i++) {
    if (started[i]) pthread_join(tid[i], NULL);
    else part(ctx, i);
  }
}

const cpu_gemm_backend cpu_gemm_openblas = {openblas_sgemm, openblas_threads, pthreads_parallel};

/* ---- packing ---------------------------------------------------------------- */

/* (c, hw) blocks of m images -> one (c, m*hw) matrix, and back. */
static void pack_images(int m, int c, size_t hw, const float *src, float *dst) {
  size_t ld = (size_t)m * hw;
  for (int j = 0; j < m; j++)
    for (int ch = 0; ch < c; ch++) memcpy(dst + ch * ld + j * hw, src + ((size_t)j * c + ch) * hw, hw * sizeof(float));
}

static void unpack_images(int m, int c, size_t hw, const float *src, float *dst) {
  size_t ld = (size_t)m * hw;
  for (int j = 0; j < m; j++)
    for (int ch = 0; ch < c; ch++) memcpy(dst + ((size_t)j * c + ch) * hw, src + ch * ld + j * hw, hw * sizeof(float));
}

/* Scratch for one call: the column matrix and, when chunks hold several
 * images, a packed (C_out, chunk*HW) matrix. */
/* The output-side operand of a chunk of m images as one (C, m*HW) matrix:
 * the images themselves when m == 1, else packed into `packed`. */
static const float *output_chunk(int m, int c, size_t hw, const float *src, float *packed) {
  if (m == 1) return src;
  pack_images(m, c, hw, src, packed);
  return packed;
}

static int scratch(const char *op, size_t col_floats, size_t packed_floats, float **col, float **packed) {
  *col = gpd_malloc(col_floats * sizeof(float), op);
  *packed = packed_floats ? gpd_malloc(packed_floats * sizeof(float), op) : NULL;
  if (!*col || (packed_floats && !*packed)) {
    free(*col);
    free(*packed);
    return -1;
  }
  return 0;
}

/* ---- the three cores ------------------------------------------------------------ */

int cpu_conv_gemm_forward(const cpu_gemm_backend *be, const gpd_conv_geom *g, const float *x, const float *w,
                          float *y, const char *op) {
  const size_t rows = (size_t)g->c_in * g->k * g->k, hwo = (size_t)g->h_out * g->w_out;
  const size_t xs = (size_t)g->c_in * g->h_in * g->w_in, ys = (size_t)g->c_out * hwo;
  const int nb = chunk_images(g->n, rows, hwo);
  float *col, *out;
  int rc = 0;
  GPD_TRY(scratch(op, rows * hwo * nb, nb > 1 ? ys * nb : 0, &col, &out));
  for (int i0 = 0; i0 < g->n && rc == 0; i0 += nb) {
    const int m = g->n - i0 < nb ? g->n - i0 : nb;
    const size_t ld = (size_t)m * hwo;
    im2col_chunk(be, g, m, x + i0 * xs, xs, col, ld);
    /* y (C_out, m*HWo) = w (C_out, rows) col (rows, m*HWo) */
    float *dst = m == 1 ? y + i0 * ys : out;
    rc = be->sgemm('N', 'N', g->c_out, (int)ld, (int)rows, 1.0f, w, (int)rows, col, (int)ld, 0.0f, dst, (int)ld);
    if (rc == 0 && m > 1) unpack_images(m, g->c_out, hwo, out, y + i0 * ys);
  }
  free(col);
  free(out);
  return rc;
}

int cpu_conv_gemm_adjoint(const cpu_gemm_backend *be, const gpd_conv_geom *g, const float *y, const float *w,
                          float *x, const char *op) {
  const size_t rows = (size_t)g->c_in * g->k * g->k, hwo = (size_t)g->h_out * g->w_out;
  const size_t xs = (size_t)g->c_in * g->h_in * g->w_in, ys = (size_t)g->c_out * hwo;
  const int nb = chunk_images(g->n, rows, hwo);
  float *col, *in;
  int rc = 0;
  GPD_TRY(scratch(op, rows * hwo * nb, nb > 1 ? ys * nb : 0, &col, &in));
  for (int i0 = 0; i0 < g->n && rc == 0; i0 += nb) {
    const int m = g->n - i0 < nb ? g->n - i0 : nb;
    const size_t ld = (size_t)m * hwo;
    const float *src = output_chunk(m, g->c_out, hwo, y + i0 * ys, in);
    /* col (rows, m*HWo) = w^T (rows, C_out) y (C_out, m*HWo) */
    rc = be->sgemm('T', 'N', (int)rows, (int)ld, g->c_out, 1.0f, w, (int)rows, src, (int)ld, 0.0f, col, (int)ld);
    if (rc != 0) break;
    memset(x + i0 * xs, 0, (size_t)m * xs * sizeof(float));
    col2im_chunk(be, g, m, col, ld, x + i0 * xs, xs);
  }
  free(col);
  free(in);
  return rc;
}

int cpu_conv_gemm_weights(const cpu_gemm_backend *be, const gpd_conv_geom *g, const float *x, const float *dy,
                          float *dw, const char *op) {
  const size_t rows = (size_t)g->c_in * g->k * g->k, hwo = (size_t)g->h_out * g->w_out;
  const size_t xs = (size_t)g->c_in * g->h_in * g->w_in, ys = (size_t)g->c_out * hwo;
  const int nb = chunk_images(g->n, rows, hwo);
  float *col, *grad;
  int rc = 0;
  GPD_TRY(scratch(op, rows * hwo * nb, nb > 1 ? ys * nb : 0, &col, &grad));
  for (int i0 = 0; i0 < g->n && rc == 0; i0 += nb) {
    const int m = g->n - i0 < nb ? g->n - i0 : nb;
    const size_t ld = (size_t)m * hwo;
    const float *src = output_chunk(m, g->c_out, hwo, dy + i0 * ys, grad);
    im2col_chunk(be, g, m, x + i0 * xs, xs, col, ld);
    /* dw (C_out, rows) += dy (C_out, m*HWo) col^T (m*HWo, rows) */
    rc = be->sgemm('N', 'T', g->c_out, (int)rows, (int)ld, 1.0f, src, (int)ld, col, (int)ld, 1.0f, dw, (int)rows);
  }
  free(col);
  free(grad);
  return rc;
}

/* A transposed convolution is the adjoint of the conv2d s = swap(g), whose
 * weight (C_out', C_in', K, K) is this layer's (C_in, C_out, K, K):
 * forward = adjoint in s, backward_data = forward in s, backward_weights =
 * the weight gradient in s with input (dy here) and output gradient (x
 * here) swapped. */
int cpu_conv_gemm_pass(const cpu_gemm_backend *be, const gpd_conv_geom *g, int transposed, cpu_conv_pass pass,
                       const float *a, const float *b, float *c, float *bias, const char *op) {
  GPD_TRY(cpu_conv_geom_check(g, op));
  if (g->n == 0) return 0;
  if (!a || !b || !c) return gpd_error("%s: NULL tensor", op);
  const gpd_conv_geom s = transposed ? cpu_conv_geom_swap(g) : *g;
  const size_t hw = (size_t)g->h_out * g->w_out;
  switch (pass) {
  case CPU_CONV_FORWARD:
    GPD_TRY(transposed ? cpu_conv_gemm_adjoint(be, &s, a, b, c, op) : cpu_conv_gemm_forward(be, &s, a, b, c, op));
    if (bias) cpu_conv_add_bias(g->n, g->c_out, hw, bias, c);
    return 0;
  case CPU_CONV_BACKWARD_DATA:
    return transposed ? cpu_conv_gemm_forward(be, &s, a, b, c, op) : cpu_conv_gemm_adjoint(be, &s, a, b, c, op);
  case CPU_CONV_BACKWARD_WEIGHTS:
    GPD_TRY(transposed ? cpu_conv_gemm_weights(be, &s, b, a, c, op) : cpu_conv_gemm_weights(be, &s, a, b, c, op));
    if (bias) cpu_conv_bias_grad(g->n, g->c_out, hw, b, bias);
    return 0;
  }
  return gpd_error("%s: unknown pass %d", op, (int)pass);
}

void cpu_conv_add_bias(int n, int c, size_t hw, const float *b, float *y) {
  for (int i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++) {
      float *p = y + ((size_t)i * c + ch) * hw;
      const float v = b[ch];
      for (size_t j = 0; j < hw; j++) p[j] += v;
    }
}

void cpu_conv_bias_grad(int n, int c, size_t hw, const float *dy, float *db) {
  for (int ch = 0; ch < c; ch++) {
    double s = 0.0; /* double: sums of up to N*HW terms */
    for (int i = 0; i < n; i++) {
      const float *p = dy + ((size_t)i * c + ch) * hw;
      float part = 0.0f;
      for (size_t j = 0; j < hw; j++) part += p[j];
      s += part;
    }
    db[ch] += (float)s;
  }
}
