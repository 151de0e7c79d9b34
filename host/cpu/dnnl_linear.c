/* The dense layer y = x W^T + b of the `cpu` engine as oneDNN inner-product
 * primitives. x (N, In), W (Out, In) (`oi`, PyTorch's layout), b (Out) or
 * NULL, y (N, Out); backward_weights accumulates into dw / db. */
#include "cpu_ops.h"
#include "dnnl_internal.h"
#include "gpd/common.h"

typedef enum linear_pass { LINEAR_FORWARD = 0, LINEAR_BACKWARD_DATA, LINEAR_BACKWARD_WEIGHTS } linear_pass;

static dnnl_plan *linear_plan(gpd_engine *e, int n, int in, int out, linear_pass pass, int bias, const char *op) {
  dnnl_state *s = dnnl_state_of(e);
  dnnl_plan_key key = {0};
  key.kind = PLAN_LINEAR_FORWARD + (int)pass;
  key.precision = e->precision;
  key.ints[0] = n, key.ints[1] = in, key.ints[2] = out, key.ints[3] = bias;
  dnnl_plan *p = dnnl_plan_find(s, &key);
  if (p) return p;

  /* weight gradients in fp32 in bf16 mode too (unlike the convolutions', dnnl_conv.c): a dense layer's
   * bias gradient summed from bf16-rounded output gradients lost ~2 significant digits where the sum
   * cancels, and the layer is ~0.2% of a training step */
  const int bf16 = dnnl_is_bf16(e) && pass != LINEAR_BACKWARD_WEIGHTS;
  const dnnl_dims_t xd = {n, in}, yd = {n, out}, wd = {out, in}, bd = {out};
  dnnl_memory_desc_t x_user, y_user, w_user, b_user, x_any, x_f32, y_any, y_f32, w_any, w_f32;
  if (dnnl_plain_md(&x_user, 2, xd, dnnl_nc, op) || dnnl_plain_md(&y_user, 2, yd, dnnl_nc, op) ||
      dnnl_plain_md(&w_user, 2, wd, dnnl_oi, op) || dnnl_plain_md(&b_user, 1, bd, dnnl_x, op) ||
      dnnl_any_md(&x_any, 2, xd, bf16, op) || dnnl_any_md(&x_f32, 2, xd, 0, op) ||
      dnnl_any_md(&y_any, 2, yd, bf16, op) || dnnl_any_md(&y_f32, 2, yd, 0, op) ||
      dnnl_any_md(&w_any, 2, wd, bf16, op) || dnnl_any_md(&w_f32, 2, wd, 0, op))
    return NULL;
  const dnnl_memory_desc_t *b = bias ? &b_user : NULL;
  dnnl_inner_product_desc_t fwd, hint_desc, bwd;
  if (dnnl_inner_product_forward_desc_init(&fwd, dnnl_forward_training, &x_any, &w_any, b, &y_f32) != dnnl_success) {
    gpd_error("%s: oneDNN cannot describe a %d x %d dense layer", op, in, out);
    return NULL;
  }
  if (pass == LINEAR_FORWARD) {
    dnnl_plan_arg_spec specs[4] = {
        {DNNL_ARG_SRC, 0, 0, x_user}, {DNNL_ARG_WEIGHTS, 0, 0, w_user}, {DNNL_ARG_DST, 1, 0, y_user}, {DNNL_ARG_BIAS, 0, 0, b_user}};
    return dnnl_plan_create(s, &key, &fwd, NULL, bias ? 4 : 3, specs, op);
  }
  dnnl_status_t st = dnnl_inner_product_forward_desc_init(&hint_desc, dnnl_forward_training, &x_any, &w_any, b, &y_any);
  dnnl_primitive_desc_t hint = NULL;
  if (st == dnnl_success) st = dnnl_primitive_desc_create(&hint, &hint_desc, NULL, s->engine, NULL);
  if (st == dnnl_success)
    st = pass == LINEAR_BACKWARD_DATA ? dnnl_inner_product_backward_data_desc_init(&bwd, &x_f32, &w_any, &y_any)
                                      : dnnl_inner_product_backward_weights_desc_init(&bwd, &x_any, &w_f32, b, &y_any);
  if (st != dnnl_success) {
    if (hint) dnnl_primitive_desc_destroy(hint);
    dnnl_report(st, "dnnl_inner_product_backward_desc_init", op, __FILE__, __LINE__);
    return NULL;
  }
  if (pass == LINEAR_BACKWARD_DATA) {
    dnnl_plan_arg_spec specs[3] = {
        {DNNL_ARG_DIFF_DST, 0, 0, y_user}, {DNNL_ARG_WEIGHTS, 0, 0, w_user}, {DNNL_ARG_DIFF_SRC, 1, 0, x_user}};
    p = dnnl_plan_create(s, &key, &bwd, hint, 3, specs, op);
  } else {
    dnnl_plan_arg_spec specs[4] = {{DNNL_ARG_SRC, 0, 0, x_user},
                                   {DNNL_ARG_DIFF_DST, 0, 0, y_user},
                                   {DNNL_ARG_DIFF_WEIGHTS, 1, 1, w_user},
                                   {DNNL_ARG_DIFF_BIAS, 1, 1, b_user}};
    p = dnnl_plan_create(s, &key, &bwd, hint, bias ? 4 : 3, specs, op);
  }
  dnnl_primitive_desc_destroy(hint);
  return p;
}

static int linear_run(gpd_engine *e, int n, int in, int out, linear_pass pass, const float *a, const float *b,
                      float *c, float *bias, const char *op) {
  if (n < 0 || in < 1 || out < 1) return gpd_error("%s: bad shape (n %d, in %d, out %d)", op, n, in, out);
  if (n == 0) return 0;
  if (!a || !b || !c) return gpd_error("%s: NULL tensor", op);
  dnnl_plan *p = linear_plan(e, n, in, out, pass, bias != NULL, op);
  if (!p) return -1;
  const float *tensors[4] = {a, b, c, bias};
  return dnnl_plan_run(dnnl_state_of(e), p, tensors, op);
}

int dnnl_linear_forward(gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b,
                        float *y) {
  return linear_run(e, n, in, out, LINEAR_FORWARD, x, w, y, (float *)b, "linear_forward");
}

int dnnl_linear_backward_data(gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx) {
  return linear_run(e, n, in, out, LINEAR_BACKWARD_DATA, dy, w, dx, NULL, "linear_backward_data");
}

int dnnl_linear_backward_weights(gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw,
                                 float *db) {
  return linear_run(e, n, in, out, LINEAR_BACKWARD_WEIGHTS, x, dy, dw, db, "linear_backward_weights");
}
