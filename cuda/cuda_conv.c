/* conv2d and conv_transpose2d with cuDNN's convolution API (PyTorch
 * semantics, see gpd_conv_geom). Reference: host/cpu/cpu_conv2d.c and
 * cpu_conv_transpose2d.c.
 *
 * A transposed convolution is the adjoint of the conv2d whose input is the
 * layer's output (swap(g): in and out exchanged; the layer's weight
 * (C_in, C_out, K, K) is that conv2d's filter (K_out', C_in', K, K)). So
 * every op is one of the three passes of a conv2d "plan":
 *                     conv2d layer             conv_transpose2d layer
 *   forward           ConvolutionForward       ConvolutionBackwardData
 *   backward_data     ConvolutionBackwardData  ConvolutionForward
 *   backward_weights  BackwardFilter(x, dy)    BackwardFilter(x := dy, dy := x)
 * Weight and bias gradients accumulate (beta = 1); outputs are overwritten
 * (beta = 0: cuDNN does not read them, NaN poison included).
 *
 * Plans (descriptors plus the algorithm, math type and workspace size of
 * each pass) are cached per engine by conv2d geometry. Algorithms come from
 * cuDNN's heuristics (cudnnGet*_v7, host-only and capture-safe, as PyTorch
 * without cudnn.benchmark), or from timing every algorithm
 * (cudnnFind*, like cudnn.benchmark) when GPD_CUDNN_BENCHMARK=1 and no CUDA
 * graph is being captured. Deterministic algorithms are preferred, so that
 * a run repeats bit for bit on the same GPU.
 *
 * Precision: FP32 queries and runs every algorithm under CUDNN_FMA_MATH
 * (no TF32, whatever NVIDIA_TF32_OVERRIDE says), as PyTorch does with
 * allow_tf32 off. TF32 (and BF16, served as
 * TF32) sets CUDNN_DEFAULT_MATH, which lets FP32 convolutions use TF32
 * tensor cores on Ampere and later but never converts to FP16. */
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_ops.h"

/* Largest workspace an algorithm may ask for. */
#define CONV_WORKSPACE_CAP ((size_t)4 << 30)

typedef struct conv_pass {
  int chosen;
  int algo; /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
  cudnnMathType_t math;
  size_t workspace;
} conv_pass;

typedef struct conv_plan {
  gpd_conv_geom key; /* conv2d orientation */
  cudnnTensorDescriptor_t x, y;              /* (N, C_in, H_in, W_in), (N, C_out, H_out, W_out) */
  cudnnTensorDescriptor_t bias_in, bias_out; /* (1, C_in, 1, 1), (1, C_out, 1, 1) */
  cudnnFilterDescriptor_t w;                 /* (C_out, C_in, K, K) */
  cudnnConvolutionDescriptor_t conv;
  conv_pass fwd, bwd_data, bwd_filter;
  struct conv_plan *next;
} conv_plan;

static int geom_check(const gpd_conv_geom *g, const char *op) {
  if (!g) return gpd_error("%s: NULL geometry", op);
  if (g->n < 0 || g->c_in < 1 || g->h_in < 1 || g->w_in < 1 || g->c_out < 1 || g->h_out < 1 || g->w_out < 1 ||
      g->k < 1 || g->stride < 1 || g->pad < 0)
    return gpd_error("%s: bad geometry (n %d, in %dx%dx%d, out %dx%dx%d, k %d, stride %d, pad %d)", op, g->n, g->c_in,
                     g->h_in, g->w_in, g->c_out, g->h_out, g->w_out, g->k, g->stride, g->pad);
  return 0;
}

/* The conv2d geometry whose adjoint is the conv_transpose2d geometry g. */
static gpd_conv_geom geom_swap(const gpd_conv_geom *g) {
  gpd_conv_geom s = *g;
  s.c_in = g->c_out;
  s.h_in = g->h_out;
  s.w_in = g->w_out;
  s.c_out = g->c_in;
  s.h_out = g->h_in;
  s.w_out = g->w_in;
  return s;
}

static void plan_free(conv_plan *p) {
  if (p->x) cudnnDestroyTensorDescriptor(p->x);
  if (p->y) cudnnDestroyTensorDescriptor(p->y);
  if (p->bias_in) cudnnDestroyTensorDescriptor(p->bias_in);
  if (p->bias_out) cudnnDestroyTensorDescriptor(p->bias_out);
  if (p->w) cudnnDestroyFilterDescriptor(p->w);
  if (p->conv) cudnnDestroyConvolutionDescriptor(p->conv);
  free(p);
}

static int plan_init(gpd_engine *e, conv_plan *p, const gpd_conv_geom *k, const char *op, int transposed) {
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias_in));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias_out));
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k->n, k->c_in, k->h_in, k->w_in));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, k->n, k->c_out, k->h_out, k->w_out));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->bias_in, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, k->c_in, 1, 1));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->bias_out, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, k->c_out, 1, 1));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k->c_out, k->c_in, k->k, k->k));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, k->pad, k->pad, k->stride, k->stride, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, e->precision == GPD_PRECISION_FP32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));
  /* cuDNN derives the output size from the input; our geometry states it.
   * Every PyTorch layer is consistent (output_padding < stride for the
   * transposed one); anything else is refused rather than mis-computed. */
  int on = 0, oc = 0, oh = 0, ow = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
  if (oh != k->h_out || ow != k->w_out) {
    if (transposed)
      return gpd_error("%s: input %dx%d does not match output %dx%d with k %d, stride %d, pad %d (cuDNN needs "
                       "H_out = (H_in-1)*stride - 2*pad + k + output_padding with 0 <= output_padding < stride)",
                       op, k->h_out, k->w_out, k->h_in, k->w_in, k->k, k->stride, k->pad);
    return gpd_error("%s: output %dx%d does not match input %dx%d with k %d, stride %d, pad %d (expected %dx%d)", op,
                     k->h_out, k->w_out, k->h_in, k->w_in, k->k, k->stride, k->pad, oh, ow);
  }
  return 0;
}

/* The cached plan for conv2d geometry k, or NULL with an error. */
static conv_plan *plan_get(gpd_engine *e, const gpd_conv_geom *k, const char *op, int transposed) {
  cuda_impl *m = cuda_impl_of(e);
  for (conv_plan *p = m->conv_cache; p; p = p->next)
    if (!memcmp(&p->key, k, sizeof *k)) return p;
  conv_plan *p = gpd_calloc(1, sizeof *p, "a cuDNN convolution plan");
  if (!p) return NULL;
  p->key = *k;
  if (plan_init(e, p, k, op, transposed)) {
    plan_free(p);
    return NULL;
  }
  p->next = m->conv_cache;
  m->conv_cache = p;
  return p;
}

void cuda_conv_cleanup(gpd_engine *e) {
  cuda_impl *m = cuda_impl_of(e);
  conv_plan *p = m->conv_cache;
  while (p) {
    conv_plan *next = p->next;
    plan_free(p);
    p = next;
  }
  m->conv_cache = NULL;
}

/* ---- algorithm choice ------------------------------------------------------ */

static int benchmark_mode(const gpd_engine *e) {
  const char *v = getenv("GPD_CUDNN_BENCHMARK");
  return v && v[0] && strcmp(v, "0") != 0 && !cuda_capturing(e);
}

/* Workspace an algorithm may use: what we hold plus half the free memory. */
static size_t workspace_limit(const gpd_engine *e) {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    free_b = 0;
  }
  size_t limit = cuda_impl_of(e)->scratch_bytes[CUDA_SCRATCH_CONV_WORKSPACE] + free_b / 2;
  return limit < CONV_WORKSPACE_CAP ? limit : CONV_WORKSPACE_CAP;
}

/* The three perf structs share their leading fields but are distinct types:
 * copy what the choice needs into one shape. */
typedef struct perf_row {
  int algo;
  cudnnStatus_t status;
  size_t memory;
  cudnnDeterminism_t determinism;
  cudnnMathType_t math;
} perf_row;

/* Picks the first usable row (rows come fastest first): successful, within
 * the workspace limit, deterministic if any such row is, and in FP32 mode
 * not a tensor-op row. cuDNN reports rows queried under CUDNN_FMA_MATH with
 * that math type (PyTorch asserts it); a row reported as DEFAULT is also
 * taken in FP32 mode but still run under FMA_MATH, which keeps it off TF32. */
static int pick(const gpd_engine *e, const perf_row *rows, int count, conv_pass *out, const char *op,
                const char *pass, const gpd_conv_geom *k) {
  const size_t limit = workspace_limit(e);
  const int strict = e->precision == GPD_PRECISION_FP32;
  for (int want_det = 1; want_det >= 0; want_det--)
    for (int i = 0; i < count; i++) {
      const perf_row *r = &rows[i];
      if (r->status != CUDNN_STATUS_SUCCESS || r->memory > limit) continue;
      if (strict && r->math != CUDNN_FMA_MATH && r->math != CUDNN_DEFAULT_MATH) continue;
      if (want_det && r->determinism != CUDNN_DETERMINISTIC) continue;
      out->algo = r->algo;
      out->math = strict ? CUDNN_FMA_MATH : r->math;
      out->workspace = r->memory;
      out->chosen = 1;
      return 0;
    }
  return gpd_error("%s: cuDNN offers no %s algorithm for n %d, in %dx%dx%d, out %dx%dx%d, k %d, stride %d, pad %d "
                   "(%s math, workspace limit %.0f MiB, %d candidates)",
                   op, pass, k->n, k->c_in, k->h_in, k->w_in, k->c_out, k->h_out, k->w_out, k->k, k->stride, k->pad,
                   strict ? "FMA" : "TF32", (double)limit / (1024.0 * 1024.0), count);
}

#define COPY_ROWS(perf, n, rows)                                               \
  do {                                                                         \
    for (int i_ = 0; i_ < (n); i_++) {                                         \
      (rows)[i_].algo = (int)(perf)[i_].algo;                                  \
      (rows)[i_].status = (perf)[i_].status;                                   \
      (rows)[i_].memory = (perf)[i_].memory;                                   \
      (rows)[i_].determinism = (perf)[i_].determinism;                         \
      (rows)[i_].math = (perf)[i_].mathType;                                   \
    }                                                                          \
  } while (0)

/* Queries are made with the descriptor's preferred math type set. */
static cudnnMathType_t preferred_math(const gpd_engine *e) {
  return e->precision == GPD_PRECISION_FP32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

static int choose_fwd(gpd_engine *e, conv_plan *p, const char *op) {
  cudnnHandle_t h = cuda_impl_of(e)->cudnn;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  perf_row rows[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int n = 0;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, preferred_math(e)));
  if (benchmark_mode(e) &&
      cudnnFindConvolutionForwardAlgorithm(h, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf) !=
          CUDNN_STATUS_SUCCESS)
    n = 0; /* timing failed (e.g. no memory for its trials): use the heuristics */
  (void)cudaGetLastError(); /* what its trials may have left (see cuda_check.h) */
  if (n == 0)
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                       &n, perf));
  COPY_ROWS(perf, n, rows);
  return pick(e, rows, n, &p->fwd, op, "forward", &p->key);
}

static int choose_bwd_data(gpd_engine *e, conv_plan *p, const char *op) {
  cudnnHandle_t h = cuda_impl_of(e)->cudnn;
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  perf_row rows[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int n = 0;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, preferred_math(e)));
  if (benchmark_mode(e) &&
      cudnnFindConvolutionBackwardDataAlgorithm(h, p->w, p->y, p->conv, p->x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n,
                                                perf) != CUDNN_STATUS_SUCCESS)
    n = 0;
  (void)cudaGetLastError();
  if (n == 0)
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv, p->x,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
  COPY_ROWS(perf, n, rows);
  return pick(e, rows, n, &p->bwd_data, op, "backward-data", &p->key);
}

static int choose_bwd_filter(gpd_engine *e, conv_plan *p, const char *op) {
  cudnnHandle_t h = cuda_impl_of(e)->cudnn;
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  perf_row rows[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int n = 0;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, preferred_math(e)));
  if (benchmark_mode(e) &&
      cudnnFindConvolutionBackwardFilterAlgorithm(h, p->x, p->y, p->conv, p->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                  &n, perf) != CUDNN_STATUS_SUCCESS)
    n = 0;
  (void)cudaGetLastError();
  if (n == 0)
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv, p->w,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
  COPY_ROWS(perf, n, rows);
  return pick(e, rows, n, &p->bwd_filter, op, "backward-filter", &p->key);
}

/* The workspace for a pass (NULL when it needs none). */
static int pass_workspace(gpd_engine *e, const conv_pass *pass, void **ws) {
  *ws = NULL;
  if (!pass->workspace) return 0;
  return cuda_scratch(e, CUDA_SCRATCH_CONV_WORKSPACE, pass->workspace, ws);
}

/* ---- the three passes of a plan --------------------------------------------- */

/* y = conv(x, w) */
static int run_forward(gpd_engine *e, conv_plan *p, const float *x, const float *w, float *y, const char *op) {
  if (!p->fwd.chosen) GPD_TRY(choose_fwd(e, p, op));
  void *ws;
  GPD_TRY(pass_workspace(e, &p->fwd, &ws));
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, p->fwd.math));
  CUDNN_CHECK(cudnnConvolutionForward(cuda_impl_of(e)->cudnn, &one, p->x, x, p->w, w, p->conv,
                                      (cudnnConvolutionFwdAlgo_t)p->fwd.algo, ws, p->fwd.workspace, &zero, p->y, y));
  return 0;
}

/* dx = conv^T(dy, w) */
static int run_backward_data(gpd_engine *e, conv_plan *p, const float *w, const float *dy, float *dx, const char *op) {
  if (!p->bwd_data.chosen) GPD_TRY(choose_bwd_data(e, p, op));
  void *ws;
  GPD_TRY(pass_workspace(e, &p->bwd_data, &ws));
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, p->bwd_data.math));
  CUDNN_CHECK(cudnnConvolutionBackwardData(cuda_impl_of(e)->cudnn, &one, p->w, w, p->y, dy, p->conv,
                                           (cudnnConvolutionBwdDataAlgo_t)p->bwd_data.algo, ws, p->bwd_data.workspace,
                                           &zero, p->x, dx));
  return 0;
}

/* dw += d<dy, conv(x, w)>/dw */
static int run_backward_filter(gpd_engine *e, conv_plan *p, const float *x, const float *dy, float *dw, const char *op) {
  if (!p->bwd_filter.chosen) GPD_TRY(choose_bwd_filter(e, p, op));
  void *ws;
  GPD_TRY(pass_workspace(e, &p->bwd_filter, &ws));
  const float one = 1.0f;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, p->bwd_filter.math));
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(cuda_impl_of(e)->cudnn, &one, p->x, x, p->y, dy, p->conv,
                                             (cudnnConvolutionBwdFilterAlgo_t)p->bwd_filter.algo, ws,
                                             p->bwd_filter.workspace, &one, p->w, dw));
  return 0;
}

/* t (described by td, C channels) += b broadcast over N, H, W */
static int add_bias(gpd_engine *e, cudnnTensorDescriptor_t bd, const float *b, cudnnTensorDescriptor_t td, float *t) {
  const float one = 1.0f;
  CUDNN_CHECK(cudnnAddTensor(cuda_impl_of(e)->cudnn, &one, bd, b, &one, td, t));
  return 0;
}

/* db += sums of dy (described by dd) per channel */
static int bias_grad(gpd_engine *e, cudnnTensorDescriptor_t dd, const float *dy, cudnnTensorDescriptor_t bd, float *db) {
  const float one = 1.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardBias(cuda_impl_of(e)->cudnn, &one, dd, dy, &one, bd, db));
  return 0;
}

/* ---- conv2d ------------------------------------------------------------------ */

int cuda_conv2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  static const char op[] = "conv2d_forward";
  GPD_TRY(geom_check(g, op));
  if (g->n == 0) return 0;
  if (!x || !w || !y) return gpd_error("%s: NULL x, w or y", op);
  conv_plan *p = plan_get(e, g, op, 0);
  if (!p) return -1;
  GPD_TRY(run_forward(e, p, x, w, y, op));
  if (b) GPD_TRY(add_bias(e, p->bias_out, b, p->y, y));
  return 0;
}

int cuda_conv2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  static const char op[] = "conv2d_backward_data";
  GPD_TRY(geom_check(g, op));
  if (g->n == 0) return 0;
  if (!dy || !w || !dx) return gpd_error("%s: NULL dy, w or dx", op);
  conv_plan *p = plan_get(e, g, op, 0);
  if (!p) return -1;
  return run_backward_data(e, p, w, dy, dx, op);
}

int cuda_conv2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db) {
  static const char op[] = "conv2d_backward_weights";
  GPD_TRY(geom_check(g, op));
  if (g->n == 0) return 0;
  if (!x || !dy || !dw) return gpd_error("%s: NULL x, dy or dw", op);
  conv_plan *p = plan_get(e, g, op, 0);
  if (!p) return -1;
  GPD_TRY(run_backward_filter(e, p, x, dy, dw, op));
  if (db) GPD_TRY(bias_grad(e, p->y, dy, p->bias_out, db));
  return 0;
}

/* ---- conv_transpose2d: plans in the swapped (conv2d) orientation -------------- */

int cuda_conv_transpose2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  static const char op[] = "conv_transpose2d_forward";
  GPD_TRY(geom_check(g, op));
  if (g->n == 0) return 0;
  if (!x || !w || !y) return gpd_error("%s: NULL x, w or y", op);
  const gpd_conv_geom s = geom_swap(g);
  conv_plan *p = plan_get(e, &s, op, 1);
  if (!p) return -1;
  GPD_TRY(run_backward_data(e, p, w, x, y, op)); /* the layer's output is the plan's input */
  if (b) GPD_TRY(add_bias(e, p->bias_in, b, p->x, y));
  return 0;
}

int cuda_conv_transpose2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  static const char op[] = "conv_transpose2d_backward_data";
  GPD_TRY(geom_check(g, op));
  if (g->n == 0) return 0;
  if (!dy || !w || !dx) return gpd_error("%s: NULL dy, w or dx", op);
  const gpd_conv_geom s = geom_swap(g);
  conv_plan *p = plan_get(e, &s, op, 1);
  if (!p) return -1;
  return run_forward(e, p, dy, w, dx, op);
}

int cuda_conv_transpose2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db) {
  static const char op[] = "conv_transpose2d_backward_weights";
  GPD_TRY(geom_check(g, op));
  if (g->n == 0) return 0;
  if (!x || !dy || !dw) return gpd_error("%s: NULL x, dy or dw", op);
  const gpd_conv_geom s = geom_swap(g);
  conv_plan *p = plan_get(e, &s, op, 1);
  if (!p) return -1;
  GPD_TRY(run_backward_filter(e, p, dy, x, dw, op)); /* plan input := layer dy, plan output grad := layer x */
  if (db) GPD_TRY(bias_grad(e, p->x, dy, p->bias_in, db));
  return 0;
}
