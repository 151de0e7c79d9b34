/* Batch norm of the `cpu` engine (engine contract: gpd/engine.h) as oneDNN
 * batch-normalization primitives on plain NCHW fp32 data, (N, C, HW) seen
 * as (N, C, HW, 1). oneDNN works with the variance; the engine saves invstd
 * = 1 / sqrt(var + eps) for the backward, which oneDNN is then given as the
 * variance 1 / invstd^2 with eps 0. Running statistics move as PyTorch's
 * (unbiased variance) on the host side. The rare calls without gamma / beta
 * or without some gradient run the reference loops (cpu_batchnorm.c). */
#include <math.h>
#include <stdlib.h>

#include "cpu_ops.h"
#include "dnnl_internal.h"
#include "gpd/common.h"

/* Scratch of the engine: mean / variance / unused outputs, grown on demand. */
static float *bn_scratch(gpd_engine *e, size_t count) {
  dnnl_state *s = dnnl_state_of(e);
  if (count > s->scratch_count) {
    float *p = realloc(s->scratch, count * sizeof(float));
    if (!p) {
      gpd_error("out of host memory (%zu bytes of batch-norm scratch)", count * sizeof(float));
      return NULL;
    }
    s->scratch = p;
    s->scratch_count = count;
  }
  return s->scratch;
}

static dnnl_plan *bn_plan(gpd_engine *e, dnnl_plan_kind kind, int n, int c, int hw, float eps, const char *op) {
  dnnl_state *s = dnnl_state_of(e);
  dnnl_plan_key key = {0};
  key.kind = kind;
  key.ints[0] = n, key.ints[1] = c, key.ints[2] = hw;
  key.eps = eps;
  dnnl_plan *p = dnnl_plan_find(s, &key);
  if (p) return p;
  const dnnl_dims_t dd = {n, c, hw, 1}, cd = {c};
  dnnl_memory_desc_t data, chan;
  if (dnnl_plain_md(&data, 4, dd, dnnl_nchw, op) || dnnl_plain_md(&chan, 1, cd, dnnl_x, op)) return NULL;
  const unsigned affine = dnnl_use_scale | dnnl_use_shift;
  const unsigned flags = affine | (kind == PLAN_BATCHNORM_FORWARD_TRAIN ? 0u : dnnl_use_global_stats);
  dnnl_batch_normalization_desc_t fwd, bwd;
  dnnl_status_t st = dnnl_batch_normalization_forward_desc_init(
      &fwd, kind == PLAN_BATCHNORM_FORWARD_INFER ? dnnl_forward_inference : dnnl_forward_training, &data, eps, flags);
  if (st != dnnl_success) {
    dnnl_report(st, "dnnl_batch_normalization_forward_desc_init", op, __FILE__, __LINE__);
    return NULL;
  }
  const int train = kind == PLAN_BATCHNORM_FORWARD_TRAIN;
  if (kind != PLAN_BATCHNORM_BACKWARD) {
    dnnl_plan_arg_spec specs[6] = {{DNNL_ARG_SRC, 0, 0, data},   {DNNL_ARG_DST, 1, 0, data},
                                   {DNNL_ARG_SCALE, 0, 0, chan}, {DNNL_ARG_SHIFT, 0, 0, chan},
                                   {DNNL_ARG_MEAN, train, 0, chan}, {DNNL_ARG_VARIANCE, train, 0, chan}};
    return dnnl_plan_create(s, &key, &fwd, NULL, 6, specs, op);
  }
  dnnl_primitive_desc_t hint = NULL;
  st = dnnl_primitive_desc_create(&hint, &fwd, NULL, s->engine, NULL);
  if (st == dnnl_success) st = dnnl_batch_normalization_backward_desc_init(&bwd, dnnl_backward, &data, &data, eps, affine);
  if (st != dnnl_success) {
    if (hint) dnnl_primitive_desc_destroy(hint);
    dnnl_report(st, "dnnl_batch_normalization_backward_desc_init", op, __FILE__, __LINE__);
    return NULL;
  }
  /* oneDNN 2.6 asks for the shift as an input of the backward, unread */
  dnnl_plan_arg_spec specs[9] = {{DNNL_ARG_SRC, 0, 0, data},        {DNNL_ARG_DIFF_DST, 0, 0, data},
                                 {DNNL_ARG_SCALE, 0, 0, chan},      {DNNL_ARG_MEAN, 0, 0, chan},
                                 {DNNL_ARG_VARIANCE, 0, 0, chan},   {DNNL_ARG_DIFF_SRC, 1, 0, data},
                                 {DNNL_ARG_DIFF_SCALE, 1, 1, chan}, {DNNL_ARG_DIFF_SHIFT, 1, 1, chan},
                                 {DNNL_ARG_SHIFT, 0, 0, chan}};
  p = dnnl_plan_create(s, &key, &bwd, hint, 9, specs, op);
  dnnl_primitive_desc_destroy(hint);
  return p;
}

static int bn_check(const char *op, int n, int c, int hw) {
  if (n < 0 || c < 1 || hw < 1) return gpd_error("%s: bad shape (n %d, c %d, hw %d)", op, n, c, hw);
  return 0;
}

int dnnl_batchnorm_forward_train(gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x,
                                 const float *gamma, const float *beta, float *y, float *save_mean,
                                 float *save_invstd, float *running_mean, float *running_var) {
  const char *op = "batchnorm_forward_train";
  GPD_TRY(bn_check(op, n, c, hw));
  const double m = (double)n * hw;
  if (m < 2 || !gamma || !beta || !x || !y)
    return cpu_batchnorm_forward_train(e, n, c, hw, eps, momentum, x, gamma, beta, y, save_mean, save_invstd,
                                       running_mean, running_var);
  float *stats = bn_scratch(e, 2 * (size_t)c);
  if (!stats) return -1;
  float *mean = stats, *var = stats + c;
  dnnl_plan *p = bn_plan(e, PLAN_BATCHNORM_FORWARD_TRAIN, n, c, hw, eps, op);
  if (!p) return -1;
  const float *tensors[6] = {x, y, gamma, beta, mean, var};
  GPD_TRY(dnnl_plan_run(dnnl_state_of(e), p, tensors, op));
  for (int ch = 0; ch < c; ch++) {
    if (save_mean) save_mean[ch] = mean[ch];
    if (save_invstd) save_invstd[ch] = (float)(1.0 / sqrt((double)var[ch] + eps));
    if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean[ch]);
    if (running_var)
      running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * var[ch] * m / (m - 1.0));
  }
  return 0;
}

/* dx, and dgamma / dbeta accumulated (in place allowed: dx == dy). */
int dnnl_batchnorm_backward_train(gpd_engine *e, int n, int c, int hw, const float *x, const float *dy,
                                  const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
                                  float *dgamma, float *dbeta) {
  const char *op = "batchnorm_backward_train";
  GPD_TRY(bn_check(op, n, c, hw));
  if (n == 0) return 0;
  if (!gamma || !dx || !dgamma || !dbeta || !x || !dy || !save_mean || !save_invstd)
    return cpu_batchnorm_backward_train(e, n, c, hw, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
  float *var = bn_scratch(e, 2 * (size_t)c), *zeros = var ? var + c : NULL;
  if (!var) return -1;
  for (int ch = 0; ch < c; ch++) var[ch] = 1.0f / (save_invstd[ch] * save_invstd[ch]), zeros[ch] = 0.0f;
  dnnl_plan *p = bn_plan(e, PLAN_BATCHNORM_BACKWARD, n, c, hw, 0.0f, op);
  if (!p) return -1;
  const float *tensors[9] = {x, dy, gamma, save_mean, var, dx, dgamma, dbeta, zeros};
  return dnnl_plan_run(dnnl_state_of(e), p, tensors, op);
}

int dnnl_batchnorm_forward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma,
                                 const float *beta, const float *running_mean, const float *running_var, float *y) {
  const char *op = "batchnorm_forward_infer";
  GPD_TRY(bn_check(op, n, c, hw));
  if (n == 0) return 0;
  if (!gamma || !beta || !x || !y || !running_mean || !running_var)
    return cpu_batchnorm_forward_infer(e, n, c, hw, eps, x, gamma, beta, running_mean, running_var, y);
  dnnl_plan *p = bn_plan(e, PLAN_BATCHNORM_FORWARD_INFER, n, c, hw, eps, op);
  if (!p) return -1;
  const float *tensors[6] = {x, y, gamma, beta, running_mean, running_var};
  return dnnl_plan_run(dnnl_state_of(e), p, tensors, op);
}
