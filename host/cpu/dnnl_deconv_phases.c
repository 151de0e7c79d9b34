/* The forward pass of a strided transposed convolution as s x s ordinary
 * convolutions, one per output phase (the cpu engine's; dnnl_conv.c picks
 * it). oneDNN runs a transposed convolution's forward on its convolution
 * backward-data kernels, which are 1.3-2x slower than its forward kernels
 * in bf16 on this project's machine (bench/README.md); split by phase, the
 * same multiply-adds run on the forward kernels.
 *
 * With stride s, pad p and kernel K (geometry: gpd_conv_geom),
 *   y[oy] = sum over iy, ky with oy = s iy - p + ky of x[iy] w[ky]
 * (one axis shown; both axes split alike). Output rows with
 * (oy + p) mod s = t take the taps ky = t + s j, j < J_t = ceil((K - t) / s),
 * from input rows qy - j where qy = (oy + p - t) / s, so the rows of phase t
 * are a stride-1 convolution of x with the flipped sub-kernel
 *   v_t[j'] = w[t + s (J_t - 1 - j')],  j' < J_t,
 * padded by J_t - 1 - qy0 rows before x and qy1 - (H_in - 1) after it, its
 * output row o being y's row s (qy0 + o) - p + t, for qy from qy0 =
 * ceil((p - t) / s) to qy1 = floor((H_out - 1 + p - t) / s).
 *
 * Per call: x reordered once into the convolutions' layout; each phase's
 * convolution writes its own (N, size_y, size_x, C_out) output in NHWC
 * (`acdb`, the layout oneDNN's brgemm convolutions write anyway), and one
 * pass interleaves the phases into y (interleave_phases); the sub-kernels
 * are cut from w and reordered at every call unless w is held constant
 * (dnnl_plan.c). The pass replaced one strided reorder per phase (oneDNN's
 * generic reorder kernel, writing every s-th float of y: 18 of 235 ms of an
 * Algorithm 1 iteration at 100 restarts in bf16); bench/README.md. */
#include <stdlib.h>
#include <string.h>

#include "dnnl_internal.h"
#include "gpd/common.h"

enum { MAX_STRIDE = 4 };

/* One axis of one phase. */
typedef struct phase_axis {
  int t, taps;        /* residue t, J_t taps */
  int q0, size;       /* first input-grid index qy0, output rows of the phase */
  int pad_before, pad_after;
  int start;          /* y's first row of the phase: s q0 - p + t */
} phase_axis;

struct dnnl_phases {
  dnnl_plan_key key;
  int s, n_phases;
  dnnl_primitive_t src_reorder; /* x (plain fp32) -> src (the convolutions' layout) */
  dnnl_memory_t x_user, src;
  struct {
    phase_axis ay, ax;
    dnnl_plan *conv;            /* src, weights in the primitive's layout; dst `out` */
    float *out;                 /* (N, size_y, size_x, C_out) fp32: the phase's output, NHWC */
    float *w_plain;             /* (C_in, C_out, J_y, J_x) fp32 (`iohw`), cut from w */
    dnnl_memory_t w_user, w_inner;
    dnnl_primitive_t w_reorder;
  } phase[MAX_STRIDE * MAX_STRIDE];
  const float *kept_w;          /* w whose sub-kernels w_inner hold (held constant); NULL: none */
  unsigned long kept_epoch;
  struct dnnl_phases *next;
};

static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The axis of residue t, or 0 when a phase would need negative padding or
 * has no output (then the direct kernel runs). */
static int axis_init(phase_axis *a, int t, int s, int p, int k, int in, int out) {
  a->t = t;
  a->taps = (k - t + s - 1) / s;
  a->q0 = floor_div(p - t + s - 1, s);
  const int q1 = floor_div(out - 1 + p - t, s);
  a->size = q1 - a->q0 + 1;
  a->pad_before = a->taps - 1 - a->q0;
  a->pad_after = q1 - (in - 1);
  a->start = s * a->q0 - p + t;
  return a->taps >= 1 && a->size >= 1 && a->pad_before >= 0 && a->pad_after >= 0 && a->pad_before < a->taps &&
         a->pad_after < a->taps;
}

int dnnl_deconv_phases_apply(const gpd_conv_geom *g) {
  const int s = g->stride;
  if (s < 2 || s > MAX_STRIDE || g->k < s) return 0;
  for (int t = 0; t < s; t++) {
    phase_axis ay, ax;
    if (!axis_init(&ay, t, s, g->pad, g->k, g->h_in, g->h_out) || !axis_init(&ax, t, s, g->pad, g->k, g->w_in, g->w_out))
      return 0;
  }
  return 1;
}

static void phases_free(struct dnnl_phases *ph) {
  if (ph->src_reorder) dnnl_primitive_destroy(ph->src_reorder);
  if (ph->x_user) dnnl_memory_destroy(ph->x_user);
  if (ph->src) dnnl_memory_destroy(ph->src);
  for (int i = 0; i < ph->n_phases; i++) {
    /* the conv plans live in the state's plan list (freed with it) */
    free(ph->phase[i].w_plain);
    free(ph->phase[i].out);
    if (ph->phase[i].w_user) dnnl_memory_destroy(ph->phase[i].w_user);
    if (ph->phase[i].w_inner) dnnl_memory_destroy(ph->phase[i].w_inner);
    if (ph->phase[i].w_reorder) dnnl_primitive_destroy(ph->phase[i].w_reorder);
  }
  free(ph);
}

void dnnl_phases_free_all(dnnl_state *s) {
  while (s->phases) {
    struct dnnl_phases *next = s->phases->next;
    phases_free(s->phases);
    s->phases = next;
  }
}

/* The convolution of one phase: src and weights in its own layout, dst
 * (N, C_out, size_y, size_x) in NHWC. */
static dnnl_plan *phase_conv(dnnl_state *s, const dnnl_plan_key *base, int index, const gpd_conv_geom *g, int bf16,
                             int bias, const phase_axis *ay, const phase_axis *ax, const char *op) {
  dnnl_plan_key key = *base;
  key.kind = PLAN_DECONV_PHASE;
  key.ints[DNNL_PLAN_KEY_INTS - 1] = index;
  const dnnl_dims_t src = {g->n, g->c_in, g->h_in, g->w_in}, wd = {g->c_out, g->c_in, ay->taps, ax->taps};
  const dnnl_dims_t dst = {g->n, g->c_out, ay->size, ax->size}, bd = {g->c_out};
  dnnl_memory_desc_t src_any, w_any, dst_nhwc, b_md;
  if (dnnl_any_md(&src_any, 4, src, bf16, op) || dnnl_any_md(&w_any, 4, wd, bf16, op) ||
      dnnl_plain_md(&dst_nhwc, 4, dst, dnnl_acdb, op) || dnnl_plain_md(&b_md, 1, bd, dnnl_x, op))
    return NULL;
  const dnnl_dims_t strides = {1, 1}, pad_l = {ay->pad_before, ax->pad_before}, pad_r = {ay->pad_after, ax->pad_after};
  dnnl_convolution_desc_t desc;
  dnnl_status_t st = dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &src_any, &w_any,
                                                        bias ? &b_md : NULL, &dst_nhwc, strides, pad_l, pad_r);
  if (st != dnnl_success) {
    dnnl_report(st, "dnnl_convolution_forward_desc_init (deconvolution phase)", op, __FILE__, __LINE__);
    return NULL;
  }
  dnnl_plan_arg_spec specs[4] = {{DNNL_ARG_SRC, 0, 0, {0}},
                                 {DNNL_ARG_WEIGHTS, 0, 0, {0}},
                                 {DNNL_ARG_DST, 1, 0, {0}},
                                 {DNNL_ARG_BIAS, 0, 0, b_md}};
  return dnnl_plan_create(s, &key, &desc, NULL, bias ? 4 : 3, specs, op);
}

static struct dnnl_phases *phases_create(dnnl_state *s, const dnnl_plan_key *key, const gpd_conv_geom *g, int bf16,
                                         int bias, const char *op) {
  struct dnnl_phases *ph = gpd_calloc(1, sizeof *ph, "a transposed convolution's phases");
  if (!ph) return NULL;
  ph->key = *key;
  ph->s = g->stride;
  int rc = 0;
  for (int ty = 0; ty < ph->s && rc == 0; ty++)
    for (int tx = 0; tx < ph->s && rc == 0; tx++) {
      const int i = ph->n_phases++;
      phase_axis *ay = &ph->phase[i].ay, *ax = &ph->phase[i].ax;
      axis_init(ay, ty, ph->s, g->pad, g->k, g->h_in, g->h_out);
      axis_init(ax, tx, ph->s, g->pad, g->k, g->w_in, g->w_out);
      dnnl_plan *conv = phase_conv(s, key, i, g, bf16, bias, ay, ax, op);
      if (!conv) {
        rc = -1;
        break;
      }
      ph->phase[i].conv = conv;
      const size_t out_count = (size_t)g->n * g->c_out * ay->size * ax->size;
      if (!(ph->phase[i].out = gpd_malloc(out_count * sizeof(float), "a transposed convolution phase's output"))) {
        rc = -1;
        break;
      }
      /* the sub-kernel: plain fp32 in w's order (`iohw` of the conv's (C_out, C_in, J_y, J_x)),
       * reordered into the conv's layout */
      const dnnl_dims_t wd = {g->c_out, g->c_in, ay->taps, ax->taps};
      dnnl_memory_desc_t w_plain, w_inner;
      const dnnl_memory_desc_t *src_inner = NULL;
      size_t count = (size_t)g->c_out * g->c_in * ay->taps * ax->taps;
      if (!(ph->phase[i].w_plain = gpd_malloc(count * sizeof(float), "a transposed convolution's sub-kernel")) ||
          dnnl_plain_md(&w_plain, 4, wd, dnnl_iohw, op) != 0 ||
          dnnl_memory_get_memory_desc(conv->args[1].user, &src_inner) != dnnl_success) {
        rc = -1;
        break;
      }
      w_inner = *src_inner;
      if (dnnl_memory_create(&ph->phase[i].w_user, &w_plain, s->engine, ph->phase[i].w_plain) != dnnl_success ||
          dnnl_memory_create(&ph->phase[i].w_inner, &w_inner, s->engine, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
          dnnl_make_reorder(s, &w_plain, &w_inner, &ph->phase[i].w_reorder, op) != 0) {
        rc = gpd_error("%s: cannot set up a phase's weights", op);
        break;
      }
      /* every phase reads x in the same layout: made once per call */
      const dnnl_memory_desc_t *src_md = NULL;
      if (dnnl_memory_get_memory_desc(conv->args[0].user, &src_md) != dnnl_success) {
        rc = gpd_error("%s: no source layout", op);
        break;
      }
      if (i == 0) {
        const dnnl_dims_t xd = {g->n, g->c_in, g->h_in, g->w_in};
        dnnl_memory_desc_t x_md;
        if (dnnl_plain_md(&x_md, 4, xd, dnnl_nchw, op) != 0 ||
            dnnl_memory_create(&ph->x_user, &x_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success ||
            dnnl_memory_create(&ph->src, src_md, s->engine, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
            dnnl_make_reorder(s, &x_md, src_md, &ph->src_reorder, op) != 0)
          rc = gpd_error("%s: cannot set up the phases' source", op);
      } else {
        const dnnl_memory_desc_t *first = NULL;
        if (dnnl_memory_get_memory_desc(ph->src, &first) != dnnl_success || !dnnl_memory_desc_equal(first, src_md))
          rc = gpd_error("%s: the phases' convolutions want different source layouts", op);
      }
    }
  if (rc != 0) {
    phases_free(ph);
    return NULL;
  }
  ph->next = s->phases;
  s->phases = ph;
  return ph;
}

/* y (N, C_out, H_out, W_out) from the phases' NHWC outputs. Output pixel
 * (oy, ox) is phase (ty, tx) = ((oy + p) mod s, (ox + p) mod s)'s pixel
 * ((oy - start_y) / s, (ox - start_x) / s): each (n, oy) reads its row of
 * the s phases of its ty (C_out floats per pixel) and writes y's rows oy
 * of every channel, INTERLEAVE_CHANNELS channels at a time: the rows of
 * successive channels lie H_out W_out floats apart (4 KiB at 32 x 32), the
 * same L1 set, so writing more rows at once than the cache has ways evicts
 * each line before it is full (measured: all channels at once was 8 %
 * slower than oneDNN's strided reorders for the SVHN VAE's 2 x 2 kernels). */
enum { INTERLEAVE_CHANNELS = 8 };
static void interleave_phases(const struct dnnl_phases *ph, const gpd_conv_geom *g, float *y) {
  const int s = ph->s, c_out = g->c_out, h = g->h_out, w = g->w_out;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < g->n; n++)
    for (int oy = 0; oy < h; oy++) {
      const int ty = (oy + g->pad) % s;
      float *row = y + (size_t)n * c_out * h * w + (size_t)oy * w; /* channel 0's row oy */
      for (int c0 = 0; c0 < c_out; c0 += INTERLEAVE_CHANNELS) {
        const int c1 = c0 + INTERLEAVE_CHANNELS < c_out ? c0 + INTERLEAVE_CHANNELS : c_out;
        for (int tx = 0; tx < s; tx++) {
          const phase_axis *ay = &ph->phase[ty * s + tx].ay, *ax = &ph->phase[ty * s + tx].ax;
          const int qy = (oy - ay->start) / s;
          const float *in = ph->phase[ty * s + tx].out + ((size_t)n * ay->size + qy) * ax->size * c_out;
          for (int qx = 0; qx < ax->size; qx++) {
            const int ox = ax->start + s * qx;
            const float *pixel = in + (size_t)qx * c_out;
            for (int c = c0; c < c1; c++) row[(size_t)c * h * w + ox] = pixel[c];
          }
        }
      }
    }
}

/* v_t (C_in, C_out, J_y, J_x) = w (C_in, C_out, K, K) at the phase's taps,
 * flipped: both walked in order. */
static void cut_sub_kernel(const gpd_conv_geom *g, const phase_axis *ay, const phase_axis *ax, const float *w,
                           float *v) {
  const int s = g->stride, k = g->k, jy = ay->taps, jx = ax->taps;
  const long pairs = (long)g->c_in * g->c_out;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < pairs; i++) {
    const float *wp = w + (size_t)i * k * k;
    float *vp = v + (size_t)i * jy * jx;
    for (int a = 0; a < jy; a++)
      for (int b = 0; b < jx; b++) vp[a * jx + b] = wp[(ay->t + s * (jy - 1 - a)) * k + ax->t + s * (jx - 1 - b)];
  }
}

int dnnl_deconv_phases_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b,
                               float *y, const char *op) {
  dnnl_state *s = dnnl_state_of(e);
  dnnl_plan_key key = {0};
  key.kind = PLAN_DECONV_PHASES;
  key.precision = e->precision;
  const int ints[] = {g->n, g->c_in, g->h_in, g->w_in, g->c_out, g->h_out, g->w_out, g->k, g->stride, g->pad, b != NULL};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) key.ints[i] = ints[i];
  struct dnnl_phases *ph = s->phases;
  while (ph && memcmp(&ph->key, &key, sizeof key)) ph = ph->next;
  if (!ph && !(ph = phases_create(s, &key, g, dnnl_is_bf16(e), b != NULL, op))) return -1;

  DNNL_CHECK(dnnl_memory_set_data_handle(ph->x_user, (void *)x), op);
  GPD_TRY(dnnl_run_reorder(s, ph->src_reorder, ph->x_user, ph->src, op));
  const size_t nw = (size_t)g->c_in * g->c_out * g->k * g->k;
  const int keep = dnnl_is_held(s, w, nw);
  if (!(keep && ph->kept_w == w && ph->kept_epoch == s->hold_epoch)) {
    ph->kept_w = NULL;
    for (int i = 0; i < ph->n_phases; i++) {
      cut_sub_kernel(g, &ph->phase[i].ay, &ph->phase[i].ax, w, ph->phase[i].w_plain);
      GPD_TRY(dnnl_run_reorder(s, ph->phase[i].w_reorder, ph->phase[i].w_user, ph->phase[i].w_inner, op));
    }
    if (keep) {
      ph->kept_w = w;
      ph->kept_epoch = s->hold_epoch;
    }
  }
  void *src = NULL;
  DNNL_CHECK(dnnl_memory_get_data_handle(ph->src, &src), op);
  for (int i = 0; i < ph->n_phases; i++) {
    void *wi = NULL;
    DNNL_CHECK(dnnl_memory_get_data_handle(ph->phase[i].w_inner, &wi), op);
    const float *tensors[4] = {src, wi, ph->phase[i].out, b};
    GPD_TRY(dnnl_plan_run(s, ph->phase[i].conv, tensors, op));
  }
  interleave_phases(ph, g, y);
  return 0;
}
