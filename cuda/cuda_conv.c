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
 * graph is being captured (the timing holds the setup lock, so no other
 * engine captures meanwhile). Deterministic algorithms are preferred, so
 * that a run repeats bit for bit on the same GPU. A pass's first run tries
 * the rows in that order until one runs (first_run).
 *
 * Precision: FP32 queries and runs every algorithm under CUDNN_FMA_MATH
 * (no TF32, whatever NVIDIA_TF32_OVERRIDE says), as PyTorch does with
 * allow_tf32 off. TF32 (and BF16, served as
 * TF32) sets CUDNN_DEFAULT_MATH, which lets FP32 convolutions use TF32
 * tensor cores on Ampere and later but never converts to FP16. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_ops.h"

/* The three passes of a conv2d plan, and names for messages. */
typedef enum conv_pass_kind { PASS_FWD = 0, PASS_BWD_DATA, PASS_BWD_FILTER, PASS_COUNT } conv_pass_kind;
static const char *const PASS_NAME[PASS_COUNT] = {"forward", "backward-data", "backward-filter"};
static const char *const PASS_API[PASS_COUNT] = {"Forward", "BackwardData", "BackwardFilter"};

/* What a pass runs with, fixed by its first run. */
typedef struct conv_pass {
  int chosen;
  int algo; /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
  cudnnMathType_t math;
  size_t workspace; /* for that algorithm under that math type */
} conv_pass;

/* A pass's operands in cuDNN's order (see launch). */
typedef struct pass_args {
  const float *a, *b;
  float *out;
} pass_args;

typedef struct conv_plan {
  gpd_conv_geom key; /* conv2d orientation */
  cudnnTensorDescriptor_t x, y;              /* (N, C_in, H_in, W_in), (N, C_out, H_out, W_out) */
  cudnnTensorDescriptor_t bias_in, bias_out; /* (1, C_in, 1, 1), (1, C_out, 1, 1) */
  cudnnFilterDescriptor_t w;                 /* (C_out, C_in, K, K) */
  cudnnConvolutionDescriptor_t conv;
  conv_pass pass[PASS_COUNT];
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

/* Workspace an algorithm may use: what we hold plus half the free memory,
 * at most the engine's cap (which its caps.instance_reserve counts). */
static size_t workspace_limit(const gpd_engine *e) {
  const cuda_impl *m = cuda_impl_of(e);
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    free_b = 0;
  }
  size_t limit = m->scratch_bytes[CUDA_SCRATCH_CONV_WORKSPACE] + free_b / 2;
  return limit < m->conv_workspace_cap ? limit : m->conv_workspace_cap;
}

/* The three perf structs share their leading fields but are distinct types:
 * copy what the choice needs into one shape. */
typedef struct perf_row {
  int algo;
  cudnnStatus_t status;
  cudnnDeterminism_t determinism;
  cudnnMathType_t math;
} perf_row;

#define MAX_ROWS 16 /* more than any pass has algorithms (FWD: 8, BWD_DATA: 6, BWD_FILTER: 7) */

#define COPY_ROWS(perf, n, rows)                                               \
  do {                                                                         \
    for (int i_ = 0; i_ < (n); i_++) {                                         \
      (rows)[i_].algo = (int)(perf)[i_].algo;                                  \
      (rows)[i_].status = (perf)[i_].status;                                   \
      (rows)[i_].determinism = (perf)[i_].determinism;                         \
      (rows)[i_].math = (perf)[i_].mathType;                                   \
    }                                                                          \
  } while (0)

/* Queries are made with the descriptor's preferred math type set. */
static cudnnMathType_t preferred_math(const gpd_engine *e) {
  return e->precision == GPD_PRECISION_FP32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

/* cuDNN's rows for a pass, fastest first: timed (cudnnFind*, under the
 * setup lock: it allocates and synchronises) in benchmark mode, else its
 * heuristics (host-only and capture-safe), or the heuristics when the
 * timing fails (no memory for its trials). */
static int query_rows(gpd_engine *e, conv_plan *p, conv_pass_kind k, perf_row *rows, int *count) {
  cudnnHandle_t h = cuda_impl_of(e)->cudnn;
  int n = 0;
  cudnnStatus_t found = CUDNN_STATUS_NOT_SUPPORTED;
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, preferred_math(e)));
  const int timed = benchmark_mode(e);
  if (timed) cuda_setup_lock();
  if (k == PASS_FWD) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    if (timed)
      found = cudnnFindConvolutionForwardAlgorithm(h, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n,
                                                   perf);
    if (found != CUDNN_STATUS_SUCCESS || n == 0)
      found = cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                     &n, perf);
    if (found == CUDNN_STATUS_SUCCESS) COPY_ROWS(perf, n, rows);
  } else if (k == PASS_BWD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    if (timed)
      found = cudnnFindConvolutionBackwardDataAlgorithm(h, p->w, p->y, p->conv, p->x,
                                                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf);
    if (found != CUDNN_STATUS_SUCCESS || n == 0)
      found = cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv, p->x,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf);
    if (found == CUDNN_STATUS_SUCCESS) COPY_ROWS(perf, n, rows);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    if (timed)
      found = cudnnFindConvolutionBackwardFilterAlgorithm(h, p->x, p->y, p->conv, p->w,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf);
    if (found != CUDNN_STATUS_SUCCESS || n == 0)
      found = cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv, p->w,
                                                            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf);
    if (found == CUDNN_STATUS_SUCCESS) COPY_ROWS(perf, n, rows);
  }
  (void)cudaGetLastError(); /* what timing trials may have left (see cuda_check.h) */
  if (timed) cuda_setup_unlock();
  if (found != CUDNN_STATUS_SUCCESS)
    return gpd_error("cudnnGetConvolution%sAlgorithm_v7 failed: %s (%s:%d)", PASS_API[k], cudnnGetErrorString(found),
                     gpd_cuda_short_file(__FILE__), __LINE__);
  *count = n < MAX_ROWS ? n : MAX_ROWS;
  return 0;
}

/* The rows worth trying, in the order to try them: successful, in FP32
 * mode not a tensor-op row (cuDNN reports rows queried under FMA_MATH with
 * that math type, as PyTorch asserts; one reported as DEFAULT is run under
 * FMA_MATH, which keeps it off TF32), never a row that may convert to FP16;
 * deterministic rows first (a run repeats bit for bit on the same GPU),
 * each kind fastest first. Returns how many. */
static int order_rows(const gpd_engine *e, const perf_row *rows, int count, perf_row *out) {
  const int strict = e->precision == GPD_PRECISION_FP32;
  int n = 0;
  for (int want_det = 1; want_det >= 0; want_det--)
    for (int i = 0; i < count; i++) {
      const perf_row *r = &rows[i];
      if (r->status != CUDNN_STATUS_SUCCESS || (r->determinism == CUDNN_DETERMINISTIC) != want_det) continue;
      if (r->math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if (strict && r->math != CUDNN_FMA_MATH && r->math != CUDNN_DEFAULT_MATH) continue;
      out[n] = *r;
      out[n].math = strict ? CUDNN_FMA_MATH : r->math;
      n++;
    }
  return n;
}

/* The workspace algorithm `algo` needs under the math type set on p->conv. */
static cudnnStatus_t workspace_size(gpd_engine *e, conv_plan *p, conv_pass_kind k, int algo, size_t *bytes) {
  cudnnHandle_t h = cuda_impl_of(e)->cudnn;
  *bytes = 0;
  if (k == PASS_FWD)
    return cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y, (cudnnConvolutionFwdAlgo_t)algo,
                                                   bytes);
  if (k == PASS_BWD_DATA)
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv, p->x,
                                                        (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
  return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv, p->w,
                                                        (cudnnConvolutionBwdFilterAlgo_t)algo, bytes);
}

/* One pass with a given algorithm (math type already set):
 *   forward          out = conv(a = x, b = w)
 *   backward-data    out = conv^T(a = w, b = dy)
 *   backward-filter  out += d<dy, conv(x, w)>/dw with a = x, b = dy
 * Outputs are overwritten (beta 0: cuDNN does not read them, NaN poison
 * included); the weight gradient accumulates (beta 1). */
static cudnnStatus_t launch(gpd_engine *e, conv_plan *p, conv_pass_kind k, int algo, void *ws, size_t ws_bytes,
                            const pass_args *a) {
  cudnnHandle_t h = cuda_impl_of(e)->cudnn;
  const float one = 1.0f, zero = 0.0f;
  if (k == PASS_FWD)
    return cudnnConvolutionForward(h, &one, p->x, a->a, p->w, a->b, p->conv, (cudnnConvolutionFwdAlgo_t)algo, ws,
                                   ws_bytes, &zero, p->y, a->out);
  if (k == PASS_BWD_DATA)
    return cudnnConvolutionBackwardData(h, &one, p->w, a->a, p->y, a->b, p->conv, (cudnnConvolutionBwdDataAlgo_t)algo,
                                        ws, ws_bytes, &zero, p->x, a->out);
  return cudnnConvolutionBackwardFilter(h, &one, p->x, a->a, p->y, a->b, p->conv,
                                        (cudnnConvolutionBwdFilterAlgo_t)algo, ws, ws_bytes, &one, p->w, a->out);
}

/* A failure that says "this algorithm, not this call": try the next row. */
static int next_row_may_work(cudnnStatus_t s) {
  const int category = CUDNN_STATUS_CATEGORY(s);
  return category == CUDNN_STATUS_BAD_PARAM || category == CUDNN_STATUS_NOT_SUPPORTED ||
         s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
}

static double mib(size_t b) { return (double)b / (1024.0 * 1024.0); }

/* Appends to a message, dropping what does not fit. */
static void append(char *buf, size_t size, const char *fmt, ...) {
  const size_t used = strlen(buf);
  if (used + 1 >= size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, size - used, fmt, ap);
  va_end(ap);
}

/* The first run of a pass: the rows in order, each with the math type it
 * runs under set before its workspace is asked for, until one runs (as
 * PyTorch does: a heuristic row can still be refused for the shapes, or
 * want more workspace than there is). The one that ran is the pass's from
 * then on. */
static int first_run(gpd_engine *e, conv_plan *p, conv_pass_kind k, const pass_args *a, const char *op) {
  perf_row rows[MAX_ROWS], order[MAX_ROWS];
  int count = 0;
  GPD_TRY(query_rows(e, p, k, rows, &count));
  const int n = order_rows(e, rows, count, order);
  const size_t limit = workspace_limit(e);
  char why[640] = "";
  for (int i = 0; i < n; i++) {
    const perf_row *r = &order[i];
    size_t ws_bytes = 0;
    void *ws = NULL;
    cudnnStatus_t s = cudnnSetConvolutionMathType(p->conv, r->math);
    if (s == CUDNN_STATUS_SUCCESS) s = workspace_size(e, p, k, r->algo, &ws_bytes);
    if (s == CUDNN_STATUS_SUCCESS && ws_bytes > limit) {
      append(why, sizeof why, "; algo %d: workspace %.0f MiB", r->algo, mib(ws_bytes));
      continue;
    }
    if (s == CUDNN_STATUS_SUCCESS && ws_bytes && cuda_scratch(e, CUDA_SCRATCH_CONV_WORKSPACE, ws_bytes, &ws) != 0) {
      append(why, sizeof why, "; algo %d: %s", r->algo, gpd_last_error());
      continue;
    }
    if (s == CUDNN_STATUS_SUCCESS) s = launch(e, p, k, r->algo, ws, ws_bytes, a);
    (void)cudaGetLastError(); /* cuDNN reports through s (see cuda_check.h) */
    if (s == CUDNN_STATUS_SUCCESS) {
      p->pass[k] = (conv_pass){.chosen = 1, .algo = r->algo, .math = r->math, .workspace = ws_bytes};
      return 0;
    }
    if (!next_row_may_work(s))
      return gpd_error("%s: cuDNN %s algorithm %d failed: %s (%s:%d)", op, PASS_NAME[k], r->algo,
                       cudnnGetErrorString(s), gpd_cuda_short_file(__FILE__), __LINE__);
    append(why, sizeof why, "; algo %d: %s", r->algo, cudnnGetErrorString(s));
  }
  const gpd_conv_geom *g = &p->key;
  return gpd_error("%s: no cuDNN %s algorithm runs for n %d, in %dx%dx%d, out %dx%dx%d, k %d, stride %d, pad %d "
                   "(%s math, workspace limit %.0f MiB, %d of %d rows tried%s)",
                   op, PASS_NAME[k], g->n, g->c_in, g->h_in, g->w_in, g->c_out, g->h_out, g->w_out, g->k, g->stride,
                   g->pad, e->precision == GPD_PRECISION_FP32 ? "FMA" : "TF32", mib(limit), n, count, why);
}

/* ---- the three passes of a plan --------------------------------------------- */

static int run_pass(gpd_engine *e, conv_plan *p, conv_pass_kind k, const pass_args *a, const char *op) {
  const conv_pass *pass = &p->pass[k];
  if (!pass->chosen) return first_run(e, p, k, a, op);
  void *ws = NULL;
  if (pass->workspace) GPD_TRY(cuda_scratch(e, CUDA_SCRATCH_CONV_WORKSPACE, pass->workspace, &ws));
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, pass->math));
  CUDNN_CHECK(launch(e, p, k, pass->algo, ws, pass->workspace, a));
  return 0;
}

/* y = conv(x, w) */
static int run_forward(gpd_engine *e, conv_plan *p, const float *x, const float *w, float *y, const char *op) {
  const pass_args a = {x, w, y};
  return run_pass(e, p, PASS_FWD, &a, op);
}

/* dx = conv^T(dy, w) */
static int run_backward_data(gpd_engine *e, conv_plan *p, const float *w, const float *dy, float *dx, const char *op) {
  const pass_args a = {w, dy, dx};
  return run_pass(e, p, PASS_BWD_DATA, &a, op);
}

/* dw += d<dy, conv(x, w)>/dw */
static int run_backward_filter(gpd_engine *e, conv_plan *p, const float *x, const float *dy, float *dw, const char *op) {
  const pass_args a = {x, dy, dw};
  return run_pass(e, p, PASS_BWD_FILTER, &a, op);
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
