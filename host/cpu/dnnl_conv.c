/* conv2d and conv_transpose2d of the `cpu` engine as oneDNN convolution and
 * deconvolution primitives (geometry: gpd_conv_geom, PyTorch semantics).
 *
 * oneDNN states padding per side: PyTorch's symmetric `pad` is the top/left
 * padding and the explicit output size fixes the bottom/right one (which
 * absorbs the floor of the output size and the transposed convolution's
 * output_padding). oneDNN's deconvolution is the adjoint of its convolution,
 * as PyTorch's conv_transpose2d is, and takes PyTorch's (C_in, C_out, K, K)
 * weights as the layout `iohw` of its logical (C_out, C_in, K, K) weights.
 *
 * x (N, C_in, H_in, W_in), y (N, C_out, H_out, W_out), b (C_out) or NULL;
 * backward_weights accumulates into dw / db as the engine contract says. */
#include "cpu_conv_gemm.h"
#include "cpu_ops.h"
#include "dnnl_internal.h"
#include "gpd/common.h"

typedef cpu_conv_pass conv_pass;
#define PASS_FORWARD CPU_CONV_FORWARD
#define PASS_BACKWARD_DATA CPU_CONV_BACKWARD_DATA
#define PASS_BACKWARD_WEIGHTS CPU_CONV_BACKWARD_WEIGHTS

/* Memory descriptors and padding of geometry g, for one layer kind. */
typedef struct conv_descs {
  dnnl_memory_desc_t src_user, dst_user, w_user, b_user; /* the caller's fp32 tensors */
  dnnl_memory_desc_t src_any, dst_any, w_any, b_any;     /* what oneDNN may choose */
  dnnl_memory_desc_t src_out_any;                        /* diff_src: fp32 output */
  dnnl_dims_t strides, pad_l, pad_r;
} conv_descs;

static int conv_descs_init(conv_descs *d, const gpd_conv_geom *g, int transposed, int bf16, const char *op) {
  const dnnl_dims_t src = {g->n, g->c_in, g->h_in, g->w_in}, dst = {g->n, g->c_out, g->h_out, g->w_out};
  const dnnl_dims_t w = {g->c_out, g->c_in, g->k, g->k}, b = {g->c_out};
  GPD_TRY(dnnl_plain_md(&d->src_user, 4, src, dnnl_nchw, op));
  GPD_TRY(dnnl_plain_md(&d->dst_user, 4, dst, dnnl_nchw, op));
  GPD_TRY(dnnl_plain_md(&d->w_user, 4, w, transposed ? dnnl_iohw : dnnl_oihw, op));
  GPD_TRY(dnnl_plain_md(&d->b_user, 1, b, dnnl_x, op));
  GPD_TRY(dnnl_any_md(&d->src_any, 4, src, bf16, op));
  GPD_TRY(dnnl_any_md(&d->src_out_any, 4, src, 0, op));
  GPD_TRY(dnnl_any_md(&d->w_any, 4, w, bf16, op));
  d->b_any = d->b_user;
  /* the destination of a forward pass is an output (fp32); of a backward
   * pass, an input gradient in the compute type */
  GPD_TRY(dnnl_any_md(&d->dst_any, 4, dst, bf16, op));
  d->strides[0] = d->strides[1] = g->stride;
  d->pad_l[0] = d->pad_l[1] = g->pad;
  /* the side whose size is derived from the other: output for conv, input for deconv */
  const int big_h = transposed ? g->h_in : g->h_out, big_w = transposed ? g->w_in : g->w_out;
  const int small_h = transposed ? g->h_out : g->h_in, small_w = transposed ? g->w_out : g->w_in;
  d->pad_r[0] = (dnnl_dim_t)(big_h - 1) * g->stride + g->k - small_h - g->pad;
  d->pad_r[1] = (dnnl_dim_t)(big_w - 1) * g->stride + g->k - small_w - g->pad;
  return 0;
}

/* The forward descriptor (also the hint every backward pass needs). */
static int conv_forward_desc(void *out, const conv_descs *d, int transposed, const dnnl_memory_desc_t *dst, int bias,
                             const char *op) {
  const dnnl_memory_desc_t *b = bias ? &d->b_any : NULL;
  if (transposed)
    DNNL_CHECK(dnnl_deconvolution_forward_desc_init(out, dnnl_forward_training, dnnl_deconvolution_direct, &d->src_any,
                                                    &d->w_any, b, dst, d->strides, d->pad_l, d->pad_r),
               op);
  else
    DNNL_CHECK(dnnl_convolution_forward_desc_init(out, dnnl_forward_training, dnnl_convolution_direct, &d->src_any,
                                                  &d->w_any, b, dst, d->strides, d->pad_l, d->pad_r),
               op);
  return 0;
}

static dnnl_plan *conv_plan(gpd_engine *e, const gpd_conv_geom *g, int transposed, conv_pass pass, int bias,
                            const char *op) {
  dnnl_state *s = dnnl_state_of(e);
  dnnl_plan_key key = {0};
  key.kind = (transposed ? PLAN_DECONV_FORWARD : PLAN_CONV_FORWARD) + (int)pass;
  key.precision = e->precision;
  const int ints[] = {g->n, g->c_in, g->h_in, g->w_in, g->c_out, g->h_out, g->w_out, g->k, g->stride, g->pad, bias};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) key.ints[i] = ints[i];
  dnnl_plan *p = dnnl_plan_find(s, &key);
  if (p) return p;

  /* bf16 mode: weight gradients read bf16 sources and output gradients too
   * (jit_bf16:avx512_core_bf16, fp32 accumulation and fp32 dw): 1.3-1.9x
   * the fp32 kernels on DCGAN-64's layers at batch 64 (bench_layers, one
   * thread: 256x8x8 -> 128x16x16 transposed, 85 -> 45 ms). */
  const int bf16 = dnnl_is_bf16(e);
  conv_descs d;
  if (conv_descs_init(&d, g, transposed, bf16, op) != 0) return NULL;
  dnnl_memory_desc_t dst_f32;
  if (dnnl_any_md(&dst_f32, 4, (dnnl_dims_t){g->n, g->c_out, g->h_out, g->w_out}, 0, op) != 0) return NULL;
  /* op descriptors of both kinds share the convolution descriptor's layout */
  dnnl_convolution_desc_t fwd, bwd;
  if (conv_forward_desc(&fwd, &d, transposed, &dst_f32, bias, op) != 0) return NULL;
  if (pass == PASS_FORWARD) {
    dnnl_plan_arg_spec specs[4] = {{DNNL_ARG_SRC, 0, 0, d.src_user},
                                   {DNNL_ARG_WEIGHTS, 0, 0, d.w_user},
                                   {DNNL_ARG_DST, 1, 0, d.dst_user},
                                   {DNNL_ARG_BIAS, 0, 0, d.b_user}};
    return dnnl_plan_create(s, &key, &fwd, NULL, bias ? 4 : 3, specs, op);
  }
  /* the hint: a forward pass with the backward pass's compute types */
  dnnl_convolution_desc_t hint_desc;
  if (conv_forward_desc(&hint_desc, &d, transposed, &d.dst_any, bias, op) != 0) return NULL;
  dnnl_primitive_desc_t hint = NULL;
  dnnl_status_t st = dnnl_primitive_desc_create(&hint, &hint_desc, NULL, s->engine, NULL);
  if (st != dnnl_success) {
    dnnl_report(st, "dnnl_primitive_desc_create (forward hint)", op, __FILE__, __LINE__);
    return NULL;
  }
  dnnl_status_t init;
  if (pass == PASS_BACKWARD_DATA)
    init = transposed ? dnnl_deconvolution_backward_data_desc_init(&bwd, dnnl_deconvolution_direct, &d.src_out_any,
                                                                   &d.w_any, &d.dst_any, d.strides, d.pad_l, d.pad_r)
                      : dnnl_convolution_backward_data_desc_init(&bwd, dnnl_convolution_direct, &d.src_out_any,
                                                                 &d.w_any, &d.dst_any, d.strides, d.pad_l, d.pad_r);
  else {
    dnnl_memory_desc_t dw_any;
    if (dnnl_any_md(&dw_any, 4, (dnnl_dims_t){g->c_out, g->c_in, g->k, g->k}, 0, op) != 0) {
      dnnl_primitive_desc_destroy(hint);
      return NULL;
    }
    const dnnl_memory_desc_t *db = bias ? &d.b_any : NULL;
    init = transposed ? dnnl_deconvolution_backward_weights_desc_init(&bwd, dnnl_deconvolution_direct, &d.src_any,
                                                                      &dw_any, db, &d.dst_any, d.strides, d.pad_l,
                                                                      d.pad_r)
                      : dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &d.src_any, &dw_any,
                                                                    db, &d.dst_any, d.strides, d.pad_l, d.pad_r);
  }
  if (init != dnnl_success) {
    dnnl_primitive_desc_destroy(hint);
    dnnl_report(init, "dnnl_(de)convolution_backward_desc_init", op, __FILE__, __LINE__);
    return NULL;
  }
  if (pass == PASS_BACKWARD_DATA) {
    dnnl_plan_arg_spec specs[3] = {{DNNL_ARG_DIFF_DST, 0, 0, d.dst_user},
                                   {DNNL_ARG_WEIGHTS, 0, 0, d.w_user},
                                   {DNNL_ARG_DIFF_SRC, 1, 0, d.src_user}};
    p = dnnl_plan_create(s, &key, &bwd, hint, 3, specs, op);
  } else {
    dnnl_plan_arg_spec specs[4] = {{DNNL_ARG_SRC, 0, 0, d.src_user},
                                   {DNNL_ARG_DIFF_DST, 0, 0, d.dst_user},
                                   {DNNL_ARG_DIFF_WEIGHTS, 1, 1, d.w_user},
                                   {DNNL_ARG_DIFF_BIAS, 1, 1, d.b_user}};
    p = dnnl_plan_create(s, &key, &bwd, hint, bias ? 4 : 3, specs, op);
  }
  dnnl_primitive_desc_destroy(hint);
  return p;
}

/* oneDNN would pad any output size into place; the engine contract (and
 * cuDNN) holds every engine to PyTorch's sizes: h_out = (h_in + 2 pad - k) /
 * stride + 1 for conv2d, and h_out = (h_in - 1) stride - 2 pad + k +
 * output_padding with 0 <= output_padding < stride for conv_transpose2d. */
static int conv_geometry_consistent(const gpd_conv_geom *g, int transposed, const char *op) {
  if (transposed) {
    const int h0 = (g->h_in - 1) * g->stride - 2 * g->pad + g->k, w0 = (g->w_in - 1) * g->stride - 2 * g->pad + g->k;
    if (g->h_out < h0 || g->h_out >= h0 + g->stride || g->w_out < w0 || g->w_out >= w0 + g->stride)
      return gpd_error("%s: input %dx%d does not match output %dx%d with k %d, stride %d, pad %d (H_out = "
                       "(H_in-1)*stride - 2*pad + k + output_padding with 0 <= output_padding < stride)",
                       op, g->h_in, g->w_in, g->h_out, g->w_out, g->k, g->stride, g->pad);
    return 0;
  }
  const int h = (g->h_in + 2 * g->pad - g->k) / g->stride + 1, w = (g->w_in + 2 * g->pad - g->k) / g->stride + 1;
  if (g->h_out != h || g->w_out != w)
    return gpd_error("%s: output %dx%d does not match input %dx%d with k %d, stride %d, pad %d (expected %dx%d)", op,
                     g->h_out, g->w_out, g->h_in, g->w_in, g->k, g->stride, g->pad, h, w);
  return 0;
}

/* The passes where oneDNN 2.6's direct kernels lose to im2col + sgemm
 * (dnnl_gemm.c), measured per layer of DCGAN-64, its discriminator and the
 * blur VAE on one core of this project's Zen 4 machine (process CPU time,
 * batch 10 and 64; bench/README.md, "Where the time goes"). Stated in the
 * convolution s that the layer is (a transposed convolution is the adjoint
 * of the convolution s = swap(g): its forward is s's adjoint, its input
 * s's output):
 *  - the channels a pass writes are not a multiple of 16: oneDNN pads them
 *    to its block of 16 (3 -> 16, 20 -> 32) and ran 1.3-10x slower -- the
 *    transposed convolutions ending the generators (64 -> 3: 46 ms against
 *    12 ms at batch 64), the discriminator's gradient to its 3-channel
 *    input, the blur VAE's 20-channel layers. Not for a 1x1 output (the
 *    discriminator's one logit: oneDNN 9x faster), and not for a pass that
 *    only reads few channels (the first layer's forward: oneDNN as fast or
 *    faster);
 *  - in fp32, the weight gradient of an output of at most 4x4 with 16 or
 *    more channels -- DCGAN-64's first transposed convolution (512 -> 256
 *    from 4x4) and the discriminator's last stride-2 one (256 -> 512 to
 *    4x4): 2.1-2.3x slower (188 ms against 83 ms). In bf16 oneDNN's kernels
 *    win there (67 against 80 ms, 41 against 55 ms). */
static int gemm_is_faster(const gpd_conv_geom *g, int transposed, conv_pass pass, int bf16) {
  const gpd_conv_geom s = transposed ? cpu_conv_geom_swap(g) : *g;
  const int adjoint = transposed ? pass == PASS_FORWARD : pass == PASS_BACKWARD_DATA;
  const int out_pixels = s.h_out * s.w_out;
  if (adjoint) return s.c_in % 16 != 0;
  if (s.c_out % 16 != 0) return out_pixels > 1;
  return pass == PASS_BACKWARD_WEIGHTS && out_pixels <= 16 && !bf16;
}

static int conv_run(gpd_engine *e, const gpd_conv_geom *g, int transposed, conv_pass pass, const float *a,
                    const float *b, float *c, float *bias, const char *op) {
  GPD_TRY(cpu_conv_geom_check(g, op));
  GPD_TRY(conv_geometry_consistent(g, transposed, op));
  if (g->n == 0) return 0;
  if (!a || !b || !c) return gpd_error("%s: NULL tensor", op);
  if (gemm_is_faster(g, transposed, pass, dnnl_is_bf16(e)))
    return cpu_conv_gemm_pass(&dnnl_gemm_backend, g, transposed, pass, a, b, c, bias, op);
  /* bf16: the forward of a strided transposed convolution by phases on
   * oneDNN's forward kernels (dnnl_deconv_phases.c): 1.1-2.9x faster than
   * its backward-data kernels on DCGAN-64's layers (bench_layers) when the
   * weights are held; otherwise cutting and reordering the sub-kernels at
   * every call (9 ms for the 512 -> 256 layer's) pays from about 20 items
   * on. In fp32 as fast or slower. */
  if (transposed && pass == PASS_FORWARD && dnnl_is_bf16(e) && dnnl_deconv_phases_apply(g) &&
      (g->n >= 32 || dnnl_is_held(dnnl_state_of(e), b, (size_t)g->c_in * g->c_out * g->k * g->k)))
    return dnnl_deconv_phases_forward(e, g, a, b, bias, c, op);
  dnnl_plan *p = conv_plan(e, g, transposed, pass, bias != NULL, op);
  if (!p) return -1;
  const float *tensors[4] = {a, b, c, bias};
  return dnnl_plan_run(dnnl_state_of(e), p, tensors, op);
}

int dnnl_conv2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b,
                        float *y) {
  return conv_run(e, g, 0, PASS_FORWARD, x, w, y, (float *)b, "conv2d_forward");
}

int dnnl_conv2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx) {
  return conv_run(e, g, 0, PASS_BACKWARD_DATA, dy, w, dx, NULL, "conv2d_backward_data");
}

int dnnl_conv2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw,
                                 float *db) {
  return conv_run(e, g, 0, PASS_BACKWARD_WEIGHTS, x, dy, dw, db, "conv2d_backward_weights");
}

int dnnl_conv_transpose2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w,
                                  const float *b, float *y) {
  return conv_run(e, g, 1, PASS_FORWARD, x, w, y, (float *)b, "conv_transpose2d_forward");
}

int dnnl_conv_transpose2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w,
                                        float *dx) {
  return conv_run(e, g, 1, PASS_BACKWARD_DATA, dy, w, dx, NULL, "conv_transpose2d_backward_data");
}

int dnnl_conv_transpose2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy,
                                           float *dw, float *db) {
  return conv_run(e, g, 1, PASS_BACKWARD_WEIGHTS, x, dy, dw, db, "conv_transpose2d_backward_weights");
}
