/* The CPU engine's layer ops, called directly (no engine table needed).
 *
 * Every backward is checked against central finite differences of the loss
 * L = sum(dy .* forward(...)) for a random dy, accumulated in double, with
 * each input, weight, bias, gamma and beta perturbed in turn:
 *   step h = 1e-2 * max(1, |v|) (the float-rounded step is used as the
 *   divisor), pass when |analytic - fd| <= 2e-4 + 5e-3 * |fd| (the worst
 *   error seen is ~6e-5, float rounding of the forward: a wrong gradient
 *   is off by far more).
 * Forwards of conv2d / conv_transpose2d are checked against a direct double
 * evaluation of the definitions in gpd/engine.h (rel 1e-5), and
 * conv_transpose2d_forward against conv2d_forward as its exact adjoint
 * (<A x, y> = <x, A^T y> to 1e-5 relative). Larger convolutions (chunked
 * batches, im2col / col2im split over two threads) check the gradients by
 * linearity instead: <dx, x> = <dw, w> = <dy, conv(x, w)>.
 * Outputs are poisoned with NaN before each call (check_close fails on NaN),
 * and accumulating gradients are pre-filled with random values that must be
 * kept (+=). Relu and max-pool inputs stay away from the kinks and ties by
 * more than h. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "../host/cpu/cpu_ops.h"
#include "gpd/common.h"
#include "gpd/rng.h"

#define FD_REL_STEP 1e-2
#ifndef FD_ATOL /* overridable with -D to probe the margin */
#define FD_ATOL 2e-4
#define FD_RTOL 5e-3
#endif

static gpd_rng rng;
static gpd_engine eng; /* the CPU ops ignore the engine; zeroed */

static float *random_floats(size_t n, float lo, float hi) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)gpd_rng_uniform(&rng);
  return x;
}

/* Uniform in +-[lo, hi]: keeps values away from 0 (relu kinks). */
static float *random_away_from_zero(size_t n, float lo, float hi) {
  float *x = random_floats(n, lo, hi);
  for (size_t i = 0; i < n; i++)
    if (gpd_rng_uniform(&rng) < 0.5) x[i] = -x[i];
  return x;
}

static float *nan_floats(size_t n) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = NAN;
  return x;
}

static float *copy_floats(const float *src, size_t n) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  memcpy(x, src, n * sizeof *x);
  return x;
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* Accumulated gradient minus the value it was pre-filled with. */
static float *accumulated(const float *after, const float *before, size_t n) {
  float *d = malloc((n ? n : 1) * sizeof *d);
  for (size_t i = 0; i < n; i++) d[i] = after[i] - before[i];
  return d;
}

/* ---- finite differences ----------------------------------------------------- */

typedef double (*loss_fn)(void *ctx);

/* Central differences of loss(ctx) with respect to each of param[0..n),
 * compared with the analytic gradient. */
static void check_fd(const char *what, float *param, size_t n, loss_fn loss, void *ctx, const float *analytic) {
  float *fd = malloc(n * sizeof *fd);
  for (size_t i = 0; i < n; i++) {
    const float v = param[i];
    const double h = FD_REL_STEP * fmax(1.0, fabs(v));
    const float vp = (float)(v + h), vm = (float)(v - h);
    param[i] = vp;
    const double lp = loss(ctx);
    param[i] = vm;
    const double lm = loss(ctx);
    param[i] = v;
    fd[i] = (float)((lp - lm) / ((double)vp - (double)vm));
  }
  check_close(what, analytic, fd, n, FD_ATOL, FD_RTOL);
  free(fd);
}

/* ---- activations --------------------------------------------------------- */

typedef struct {
  gpd_activation act;
  float slope;
  size_t n;
  float *x, *y, *dy;
} act_ctx;

static double act_loss(void *p) {
  act_ctx *c = p;
  CHECK_OK(cpu_activation_forward(&eng, c->act, c->slope, c->n, c->x, c->y));
  return dot(c->dy, c->y, c->n);
}

static void test_activation(gpd_activation act, float slope, const char *name) {
  act_ctx c = {act, slope, 97, NULL, NULL, NULL};
  c.x = random_away_from_zero(c.n, 0.1f, 3.0f);
  c.dy = random_floats(c.n, -1, 1);
  c.y = nan_floats(c.n);
  CHECK_OK(cpu_activation_forward(&eng, act, slope, c.n, c.x, c.y));
  /* the forward itself, from its definition */
  float *ref = malloc(c.n * sizeof *ref);
  for (size_t i = 0; i < c.n; i++) {
    double v = c.x[i];
    ref[i] = (float)(act == GPD_ACT_RELU ? fmax(v, 0) : act == GPD_ACT_LEAKY_RELU ? (v > 0 ? v : slope * v)
                     : act == GPD_ACT_TANH ? tanh(v) : 1 / (1 + exp(-v)));
  }
  char what[64];
  snprintf(what, sizeof what, "%s forward", name);
  check_close(what, c.y, ref, c.n, 1e-7, 1e-6);
  float *dx = nan_floats(c.n);
  CHECK_OK(cpu_activation_backward(&eng, act, slope, c.n, c.x, c.y, c.dy, dx));
  /* in place: y == x forward, dx == dy backward */
  float *inplace = copy_floats(c.x, c.n);
  CHECK_OK(cpu_activation_forward(&eng, act, slope, c.n, inplace, inplace));
  snprintf(what, sizeof what, "%s forward in place", name);
  check_close(what, inplace, c.y, c.n, 0, 0);
  float *g = copy_floats(c.dy, c.n);
  CHECK_OK(cpu_activation_backward(&eng, act, slope, c.n, c.x, c.y, g, g));
  snprintf(what, sizeof what, "%s backward in place", name);
  check_close(what, g, dx, c.n, 0, 0);
  snprintf(what, sizeof what, "%s dx", name); /* last: it overwrites c.y */
  check_fd(what, c.x, c.n, act_loss, &c, dx);
  /* sigmoid must not overflow for large |x| */
  if (act == GPD_ACT_SIGMOID) {
    float big[2] = {-200.0f, 200.0f}, out[2];
    CHECK_OK(cpu_activation_forward(&eng, act, slope, 2, big, out));
    CHECK(out[0] == 0.0f && out[1] == 1.0f, "sigmoid(+-200) = %g, %g", out[0], out[1]);
  }
  free(c.x), free(c.y), free(c.dy), free(ref), free(dx), free(inplace), free(g);
}

/* ---- linear ---------------------------------------------------------------- */

typedef struct {
  int n, in, out;
  float *x, *w, *b, *y, *dy;
} linear_ctx;

static double linear_loss(void *p) {
  linear_ctx *c = p;
  CHECK_OK(cpu_linear_forward(&eng, c->n, c->in, c->out, c->x, c->w, c->b, c->y));
  return dot(c->dy, c->y, (size_t)c->n * c->out);
}

static void test_linear(void) {
  linear_ctx c = {3, 5, 4, NULL, NULL, NULL, NULL, NULL};
  const size_t nx = (size_t)c.n * c.in, nw = (size_t)c.out * c.in, ny = (size_t)c.n * c.out;
  c.x = random_floats(nx, -1, 1);
  c.w = random_floats(nw, -1, 1);
  c.b = random_floats(c.out, -1, 1);
  c.dy = random_floats(ny, -1, 1);
  c.y = nan_floats(ny);
  /* forward against its definition, with and without bias */
  float *ref = malloc(ny * sizeof *ref), *refnb = malloc(ny * sizeof *refnb);
  for (int i = 0; i < c.n; i++)
    for (int o = 0; o < c.out; o++) {
      double s = 0;
      for (int k = 0; k < c.in; k++) s += (double)c.x[i * c.in + k] * c.w[o * c.in + k];
      refnb[i * c.out + o] = (float)s;
      ref[i * c.out + o] = (float)(s + c.b[o]);
    }
  CHECK_OK(cpu_linear_forward(&eng, c.n, c.in, c.out, c.x, c.w, c.b, c.y));
  check_close("linear forward", c.y, ref, ny, 1e-6, 1e-5);
  float *y2 = nan_floats(ny);
  CHECK_OK(cpu_linear_forward(&eng, c.n, c.in, c.out, c.x, c.w, NULL, y2));
  check_close("linear forward without bias", y2, refnb, ny, 1e-6, 1e-5);

  float *dx = nan_floats(nx);
  CHECK_OK(cpu_linear_backward_data(&eng, c.n, c.in, c.out, c.dy, c.w, dx));
  float *dw0 = random_floats(nw, -1, 1), *db0 = random_floats(c.out, -1, 1);
  float *dw = copy_floats(dw0, nw), *db = copy_floats(db0, c.out);
  CHECK_OK(cpu_linear_backward_weights(&eng, c.n, c.in, c.out, c.x, c.dy, dw, db));
  float *gw = accumulated(dw, dw0, nw), *gb = accumulated(db, db0, c.out);
  check_fd("linear dx", c.x, nx, linear_loss, &c, dx);
  check_fd("linear dw", c.w, nw, linear_loss, &c, gw);
  check_fd("linear db", c.b, c.out, linear_loss, &c, gb);
  /* db may be NULL */
  float *dw1 = copy_floats(dw0, nw);
  CHECK_OK(cpu_linear_backward_weights(&eng, c.n, c.in, c.out, c.x, c.dy, dw1, NULL));
  check_close("linear dw without db", dw1, dw, nw, 0, 0);
  CHECK(cpu_linear_forward(&eng, 2, 0, 3, c.x, c.w, NULL, c.y) == -1, "in = 0 accepted");
  free(c.x), free(c.w), free(c.b), free(c.dy), free(c.y), free(ref), free(refnb), free(y2), free(dx);
  free(dw0), free(db0), free(dw), free(db), free(gw), free(gb), free(dw1);
}

/* ---- convolutions ------------------------------------------------------------ */

/* Direct double evaluation of the definitions in gpd/engine.h. */
static void conv2d_naive(const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  for (int n = 0; n < g->n; n++)
    for (int co = 0; co < g->c_out; co++)
      for (int oy = 0; oy < g->h_out; oy++)
        for (int ox = 0; ox < g->w_out; ox++) {
          double s = b ? b[co] : 0;
          for (int ci = 0; ci < g->c_in; ci++)
            for (int ky = 0; ky < g->k; ky++)
              for (int kx = 0; kx < g->k; kx++) {
                int iy = oy * g->stride - g->pad + ky, ix = ox * g->stride - g->pad + kx;
                if (iy < 0 || iy >= g->h_in || ix < 0 || ix >= g->w_in) continue;
                s += (double)w[((co * g->c_in + ci) * g->k + ky) * g->k + kx] *
                     x[((n * g->c_in + ci) * g->h_in + iy) * g->w_in + ix];
              }
          y[((n * g->c_out + co) * g->h_out + oy) * g->w_out + ox] = (float)s;
        }
}

static void conv_transpose2d_naive(const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y) {
  const size_t ny = (size_t)g->n * g->c_out * g->h_out * g->w_out;
  double *acc = calloc(ny, sizeof *acc);
  for (int n = 0; n < g->n; n++)
    for (int ci = 0; ci < g->c_in; ci++)
      for (int iy = 0; iy < g->h_in; iy++)
        for (int ix = 0; ix < g->w_in; ix++) {
          double v = x[((n * g->c_in + ci) * g->h_in + iy) * g->w_in + ix];
          for (int co = 0; co < g->c_out; co++)
            for (int ky = 0; ky < g->k; ky++)
              for (int kx = 0; kx < g->k; kx++) {
                int oy = iy * g->stride - g->pad + ky, ox = ix * g->stride - g->pad + kx;
                if (oy < 0 || oy >= g->h_out || ox < 0 || ox >= g->w_out) continue;
                acc[((n * g->c_out + co) * g->h_out + oy) * g->w_out + ox] +=
                    v * w[((ci * g->c_out + co) * g->k + ky) * g->k + kx];
              }
        }
  for (size_t i = 0; i < ny; i++) {
    int co = (int)(i / ((size_t)g->h_out * g->w_out) % g->c_out);
    y[i] = (float)(acc[i] + (b ? b[co] : 0));
  }
  free(acc);
}

typedef struct {
  int transposed;
  gpd_conv_geom g;
  float *x, *w, *b, *y, *dy;
} conv_ctx;

static int conv_forward(conv_ctx *c, const float *x, const float *w, const float *b, float *y) {
  return c->transposed ? cpu_conv_transpose2d_forward(&eng, &c->g, x, w, b, y)
                       : cpu_conv2d_forward(&eng, &c->g, x, w, b, y);
}

static double conv_loss(void *p) {
  conv_ctx *c = p;
  CHECK_OK(conv_forward(c, c->x, c->w, c->b, c->y));
  return dot(c->dy, c->y, (size_t)c->g.n * c->g.c_out * c->g.h_out * c->g.w_out);
}

/* Forward against the naive definition; with fd, every gradient against
 * finite differences. */
static void test_conv_case(int transposed, gpd_conv_geom g, int fd) {
  const gpd_conv_geom *G = &g;
  conv_ctx c = {transposed, g, NULL, NULL, NULL, NULL, NULL};
  const size_t nx = (size_t)g.n * g.c_in * g.h_in * g.w_in, ny = (size_t)g.n * g.c_out * g.h_out * g.w_out;
  const size_t nw = (size_t)g.c_in * g.c_out * g.k * g.k;
  char tag[160], what[200];
  snprintf(tag, sizeof tag, "%s n%d %dx%dx%d->%dx%dx%d k%d s%d p%d", transposed ? "conv_transpose2d" : "conv2d", g.n,
           g.c_in, g.h_in, g.w_in, g.c_out, g.h_out, g.w_out, g.k, g.stride, g.pad);
  c.x = random_floats(nx, -1, 1);
  c.w = random_floats(nw, -1, 1);
  c.b = random_floats(g.c_out, -1, 1);
  c.dy = random_floats(ny, -1, 1);
  c.y = nan_floats(ny);
  float *ref = malloc(ny * sizeof *ref);
  (transposed ? conv_transpose2d_naive : conv2d_naive)(G, c.x, c.w, c.b, ref);
  CHECK_OK(conv_forward(&c, c.x, c.w, c.b, c.y));
  snprintf(what, sizeof what, "%s forward", tag);
  check_close(what, c.y, ref, ny, 1e-5, 1e-5);
  (transposed ? conv_transpose2d_naive : conv2d_naive)(G, c.x, c.w, NULL, ref);
  float *ynb = nan_floats(ny);
  CHECK_OK(conv_forward(&c, c.x, c.w, NULL, ynb));
  snprintf(what, sizeof what, "%s forward without bias", tag);
  check_close(what, ynb, ref, ny, 1e-5, 1e-5);

  float *dx = nan_floats(nx);
  CHECK_OK(transposed ? cpu_conv_transpose2d_backward_data(&eng, G, c.dy, c.w, dx)
                      : cpu_conv2d_backward_data(&eng, G, c.dy, c.w, dx));
  float *dw0 = random_floats(nw, -1, 1), *db0 = random_floats(g.c_out, -1, 1);
  float *dw = copy_floats(dw0, nw), *db = copy_floats(db0, g.c_out);
  CHECK_OK(transposed ? cpu_conv_transpose2d_backward_weights(&eng, G, c.x, c.dy, dw, db)
                      : cpu_conv2d_backward_weights(&eng, G, c.x, c.dy, dw, db));
  float *gw = accumulated(dw, dw0, nw), *gb = accumulated(db, db0, g.c_out);
  if (fd) {
    snprintf(what, sizeof what, "%s dx", tag);
    check_fd(what, c.x, nx, conv_loss, &c, dx);
    snprintf(what, sizeof what, "%s dw", tag);
    check_fd(what, c.w, nw, conv_loss, &c, gw);
    snprintf(what, sizeof what, "%s db", tag);
    check_fd(what, c.b, g.c_out, conv_loss, &c, gb);
  }
  /* L = <dy, conv(x, w)> is linear in x and in w, so <dx, x> = <dw, w> = L
   * (the bias-free part); checks the large cases where FD is too slow. */
  double l = 0, scale = 0;
  for (size_t i = 0; i < ny; i++) l += (double)c.dy[i] * ref[i], scale += fabs((double)c.dy[i] * ref[i]);
  CHECK(fabs(dot(dx, c.x, nx) - l) <= 1e-5 * scale, "%s: <dx, x> %.9g != <dy, y> %.9g", tag, dot(dx, c.x, nx), l);
  CHECK(fabs(dot(gw, c.w, nw) - l) <= 1e-5 * scale, "%s: <dw, w> %.9g != <dy, y> %.9g", tag, dot(gw, c.w, nw), l);
  /* db may be NULL and leaves dw the same */
  float *dw1 = copy_floats(dw0, nw);
  CHECK_OK(transposed ? cpu_conv_transpose2d_backward_weights(&eng, G, c.x, c.dy, dw1, NULL)
                      : cpu_conv2d_backward_weights(&eng, G, c.x, c.dy, dw1, NULL));
  snprintf(what, sizeof what, "%s dw without db", tag);
  check_close(what, dw1, dw, nw, 0, 0);
  free(c.x), free(c.w), free(c.b), free(c.dy), free(c.y), free(ref), free(ynb), free(dx);
  free(dw0), free(db0), free(dw), free(db), free(gw), free(gb), free(dw1);
}

/* conv_transpose2d in the swapped geometry is the exact adjoint of conv2d:
 * <conv2d(x), y> = <x, conv_transpose2d(y)> with the same weights. */
static void test_conv_adjoint(gpd_conv_geom g) {
  gpd_conv_geom t = g;
  t.c_in = g.c_out, t.h_in = g.h_out, t.w_in = g.w_out;
  t.c_out = g.c_in, t.h_out = g.h_in, t.w_out = g.w_in;
  const size_t nx = (size_t)g.n * g.c_in * g.h_in * g.w_in, ny = (size_t)g.n * g.c_out * g.h_out * g.w_out;
  float *x = random_floats(nx, -1, 1), *y = random_floats(ny, -1, 1);
  float *w = random_floats((size_t)g.c_in * g.c_out * g.k * g.k, -1, 1);
  float *ax = nan_floats(ny), *aty = nan_floats(nx);
  CHECK_OK(cpu_conv2d_forward(&eng, &g, x, w, NULL, ax));
  CHECK_OK(cpu_conv_transpose2d_forward(&eng, &t, y, w, NULL, aty));
  double lhs = dot(ax, y, ny), rhs = dot(x, aty, nx);
  double scale = sqrt(dot(ax, ax, ny) * dot(y, y, ny));
  CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "adjoint k%d s%d p%d: <Ax,y> %.9g vs <x,A^T y> %.9g", g.k, g.stride, g.pad,
        lhs, rhs);
  free(x), free(y), free(w), free(ax), free(aty);
}

static gpd_conv_geom geom(int n, int ci, int hi, int wi, int co, int ho, int wo, int k, int s, int p) {
  gpd_conv_geom g = {n, ci, hi, wi, co, ho, wo, k, s, p};
  return g;
}

/* PyTorch output sizes */
static int conv_out(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }
static int convt_out(int in, int k, int s, int p, int op) { return (in - 1) * s - 2 * p + k + op; }

static void test_convolutions(void) {
  /* conv2d: stride 1 and 2, pad 0/1/2, K 1..5, non-square inputs */
  static const int cases[][8] = {/* n, ci, hi, wi, co, k, s, p */
                                 {2, 3, 7, 6, 4, 3, 1, 1}, {2, 3, 7, 7, 2, 3, 2, 0}, {2, 2, 6, 5, 3, 5, 2, 2},
                                 {3, 2, 5, 5, 3, 4, 2, 1}, {1, 1, 5, 5, 1, 1, 1, 0}, {2, 2, 6, 6, 3, 2, 1, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int *c = cases[i];
    gpd_conv_geom g = geom(c[0], c[1], c[2], c[3], c[4], conv_out(c[2], c[5], c[6], c[7]),
                           conv_out(c[3], c[5], c[6], c[7]), c[5], c[6], c[7]);
    test_conv_case(0, g, 1);
    test_conv_adjoint(g);
  }
  /* conv_transpose2d: stride 1 and 2, pad 0/1/2, output padding 0/1 */
  static const int tcases[][9] = {/* n, ci, hi, wi, co, k, s, p, out_pad */
                                  {2, 3, 4, 3, 2, 4, 2, 1, 0}, {2, 3, 3, 3, 2, 5, 2, 2, 1}, {2, 2, 5, 5, 3, 3, 1, 0, 0},
                                  {2, 2, 4, 4, 2, 3, 1, 1, 0}, {3, 2, 3, 4, 2, 2, 2, 0, 0}, {2, 2, 4, 3, 2, 4, 2, 1, 1},
                                  {2, 3, 5, 5, 2, 2, 1, 0, 0}};
  for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) {
    const int *c = tcases[i];
    gpd_conv_geom g = geom(c[0], c[1], c[2], c[3], c[4], convt_out(c[2], c[5], c[6], c[7], c[8]),
                           convt_out(c[3], c[5], c[6], c[7], c[8]), c[5], c[6], c[7]);
    test_conv_case(1, g, 1);
  }
  /* Large enough that the batch is split into chunks of several images and
   * a final single image (the gemm paths with and without packing). */
  test_conv_case(0, geom(3, 2, 40, 40, 2, 40, 40, 3, 1, 1), 0);
  test_conv_case(1, geom(3, 2, 36, 36, 2, 72, 72, 4, 2, 1), 0);
  test_conv_adjoint(geom(3, 2, 40, 40, 2, 40, 40, 3, 1, 1));
  /* im2col / col2im split over threads (large enough to go parallel) */
  openblas_set_num_threads(2);
  test_conv_case(0, geom(3, 16, 40, 40, 4, 40, 40, 3, 1, 1), 0);
  test_conv_case(1, geom(2, 4, 36, 36, 8, 72, 72, 4, 2, 1), 0);
  openblas_set_num_threads(1);
  test_conv_adjoint(geom(5, 3, 9, 9, 4, 5, 5, 5, 2, 2));

  gpd_conv_geom bad = geom(1, 1, 5, 5, 1, 5, 5, 3, 0, 1);
  float buf[64] = {0};
  CHECK(cpu_conv2d_forward(&eng, &bad, buf, buf, NULL, buf) == -1, "stride 0 accepted");
  CHECK(strstr(gpd_last_error(), "conv2d_forward") != NULL, "error names the op: %s", gpd_last_error());
}

/* ---- batch norm ---------------------------------------------------------- */

typedef struct {
  int train, n, c, hw;
  float eps;
  float *x, *gamma, *beta, *rm, *rv, *y, *dy;
} bn_ctx;

static double bn_loss(void *p) {
  bn_ctx *b = p;
  if (b->train)
    CHECK_OK(cpu_batchnorm_forward_train(&eng, b->n, b->c, b->hw, b->eps, 0.1f, b->x, b->gamma, b->beta, b->y, NULL,
                                         NULL, NULL, NULL));
  else
    CHECK_OK(cpu_batchnorm_forward_infer(&eng, b->n, b->c, b->hw, b->eps, b->x, b->gamma, b->beta, b->rm, b->rv, b->y));
  return dot(b->dy, b->y, (size_t)b->n * b->c * b->hw);
}

static void test_batchnorm(int train) {
  bn_ctx b = {train, 2, 3, 25, 1e-5f, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  const int n = b.n, c = b.c, hw = b.hw;
  const size_t nx = (size_t)n * c * hw;
  const char *tag = train ? "batchnorm train" : "batchnorm infer";
  char what[96];
  b.x = random_floats(nx, -2, 3);
  b.gamma = random_floats(c, 0.5f, 1.5f);
  b.beta = random_floats(c, -1, 1);
  b.rm = random_floats(c, -0.5f, 0.5f);
  b.rv = random_floats(c, 0.5f, 2.0f);
  b.dy = random_floats(nx, -1, 1);
  b.y = nan_floats(nx);

  /* the statistics in double */
  double mean[8], var[8];
  for (int ch = 0; ch < c; ch++) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < hw; j++) s += b.x[(i * c + ch) * hw + j];
    mean[ch] = s / (n * hw);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < hw; j++) ss += pow(b.x[(i * c + ch) * hw + j] - mean[ch], 2);
    var[ch] = ss / (n * hw);
  }
  float *ref = malloc(nx * sizeof *ref);
  for (int i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      for (int j = 0; j < hw; j++) {
        size_t k = ((size_t)i * c + ch) * hw + j;
        double m = train ? mean[ch] : b.rm[ch], v = train ? var[ch] : b.rv[ch];
        ref[k] = (float)((b.x[k] - m) / sqrt(v + b.eps) * b.gamma[ch] + b.beta[ch]);
      }

  float smean[8], sinv[8], rm[8], rv[8];
  if (train) {
    for (int ch = 0; ch < c; ch++) smean[ch] = sinv[ch] = NAN, rm[ch] = b.rm[ch], rv[ch] = b.rv[ch];
    CHECK_OK(cpu_batchnorm_forward_train(&eng, n, c, hw, b.eps, 0.1f, b.x, b.gamma, b.beta, b.y, smean, sinv, rm, rv));
    float emean[8], einv[8], erm[8], erv[8];
    for (int ch = 0; ch < c; ch++) {
      emean[ch] = (float)mean[ch];
      einv[ch] = (float)(1 / sqrt(var[ch] + b.eps));
      erm[ch] = (float)(0.9 * b.rm[ch] + 0.1 * mean[ch]);
      erv[ch] = (float)(0.9 * b.rv[ch] + 0.1 * var[ch] * (n * hw) / (n * hw - 1.0)); /* unbiased */
    }
    check_close("batchnorm save_mean", smean, emean, c, 1e-6, 1e-5);
    check_close("batchnorm save_invstd", sinv, einv, c, 1e-6, 1e-5);
    check_close("batchnorm running_mean", rm, erm, c, 1e-6, 1e-5);
    check_close("batchnorm running_var", rv, erv, c, 1e-6, 1e-5);
  } else {
    CHECK_OK(cpu_batchnorm_forward_infer(&eng, n, c, hw, b.eps, b.x, b.gamma, b.beta, b.rm, b.rv, b.y));
  }
  snprintf(what, sizeof what, "%s forward", tag);
  check_close(what, b.y, ref, nx, 1e-5, 1e-5);

  float *dx = nan_floats(nx);
  float *dg0 = random_floats(c, -1, 1), *db0 = random_floats(c, -1, 1);
  float *dg = copy_floats(dg0, c), *dbt = copy_floats(db0, c);
  if (train)
    CHECK_OK(cpu_batchnorm_backward_train(&eng, n, c, hw, b.x, b.dy, b.gamma, smean, sinv, dx, dg, dbt));
  else
    CHECK_OK(cpu_batchnorm_backward_infer(&eng, n, c, hw, b.eps, b.x, b.dy, b.gamma, b.rm, b.rv, dx, dg, dbt));
  float *gg = accumulated(dg, dg0, c), *gb = accumulated(dbt, db0, c);
  snprintf(what, sizeof what, "%s dx", tag);
  check_fd(what, b.x, nx, bn_loss, &b, dx);
  snprintf(what, sizeof what, "%s dgamma", tag);
  check_fd(what, b.gamma, c, bn_loss, &b, gg);
  snprintf(what, sizeof what, "%s dbeta", tag);
  check_fd(what, b.beta, c, bn_loss, &b, gb);

  /* in place: y == x forward, dx == dy backward */
  float *xi = copy_floats(b.x, nx), *gi = copy_floats(b.dy, nx);
  float *y0 = nan_floats(nx);
  if (train) {
    CHECK_OK(cpu_batchnorm_forward_train(&eng, n, c, hw, b.eps, 0.1f, b.x, b.gamma, b.beta, y0, NULL, NULL, NULL, NULL));
    CHECK_OK(cpu_batchnorm_forward_train(&eng, n, c, hw, b.eps, 0.1f, xi, b.gamma, b.beta, xi, NULL, NULL, NULL, NULL));
    CHECK_OK(cpu_batchnorm_backward_train(&eng, n, c, hw, b.x, gi, b.gamma, smean, sinv, gi, NULL, NULL));
  } else {
    CHECK_OK(cpu_batchnorm_forward_infer(&eng, n, c, hw, b.eps, b.x, b.gamma, b.beta, b.rm, b.rv, y0));
    CHECK_OK(cpu_batchnorm_forward_infer(&eng, n, c, hw, b.eps, xi, b.gamma, b.beta, b.rm, b.rv, xi));
    CHECK_OK(cpu_batchnorm_backward_infer(&eng, n, c, hw, b.eps, b.x, gi, b.gamma, b.rm, b.rv, gi, NULL, NULL));
  }
  snprintf(what, sizeof what, "%s forward in place", tag);
  check_close(what, xi, y0, nx, 0, 0);
  snprintf(what, sizeof what, "%s backward in place", tag);
  check_close(what, gi, dx, nx, 0, 0);
  if (train) {
    float one[1] = {1};
    CHECK(cpu_batchnorm_forward_train(&eng, 1, 1, 1, 1e-5f, 0.1f, one, NULL, NULL, one, NULL, NULL, NULL, NULL) == -1,
          "one value per channel accepted in training");
  }
  free(b.x), free(b.gamma), free(b.beta), free(b.rm), free(b.rv), free(b.dy), free(b.y), free(ref), free(dx);
  free(dg0), free(db0), free(dg), free(dbt), free(gg), free(gb), free(xi), free(gi), free(y0);
}

/* ---- pooling and upsampling ------------------------------------------------ */

typedef struct {
  int n, c, h, w, f;
  float *x, *y, *dy;
  int32_t *argmax;
} pool_ctx;

static double maxpool_loss(void *p) {
  pool_ctx *q = p;
  CHECK_OK(cpu_maxpool2d_forward(&eng, q->n, q->c, q->h, q->w, q->f, q->x, q->y, q->argmax));
  return dot(q->dy, q->y, (size_t)q->n * q->c * (q->h / q->f) * (q->w / q->f));
}

static double upsample_loss(void *p) {
  pool_ctx *q = p;
  CHECK_OK(cpu_upsample_nearest_forward(&eng, q->n, q->c, q->h, q->w, q->f, q->x, q->y));
  return dot(q->dy, q->y, (size_t)q->n * q->c * q->h * q->w * q->f * q->f);
}

static void test_maxpool(int h, int w, int size) {
  pool_ctx q = {2, 2, h, w, size, NULL, NULL, NULL, NULL};
  const int ho = h / size, wo = w / size;
  const size_t nx = (size_t)q.n * q.c * h * w, ny = (size_t)q.n * q.c * ho * wo;
  char what[96];
  /* distinct values 0.1 apart, shuffled: |x| <= 0.05 nx keeps the FD step
   * (1e-2 max(1, |x|)) below the spacing, so no perturbation changes a max */
  q.x = malloc(nx * sizeof *q.x);
  for (size_t i = 0; i < nx; i++) q.x[i] = 0.1f * (float)i - 0.05f * (float)nx;
  for (size_t i = nx - 1; i > 0; i--) {
    size_t j = (size_t)gpd_rng_int(&rng, 0, (int)i);
    float t = q.x[i];
    q.x[i] = q.x[j], q.x[j] = t;
  }
  q.dy = random_floats(ny, -1, 1);
  q.y = nan_floats(ny);
  q.argmax = malloc(ny * sizeof *q.argmax);
  CHECK_OK(cpu_maxpool2d_forward(&eng, q.n, q.c, h, w, size, q.x, q.y, q.argmax));
  float *ref = calloc(ny, sizeof *ref);
  int argmax_ok = 1;
  for (int p = 0; p < q.n * q.c; p++)
    for (int oy = 0; oy < ho; oy++)
      for (int ox = 0; ox < wo; ox++) {
        float m = -INFINITY;
        int best = -1;
        for (int ky = 0; ky < size; ky++)
          for (int kx = 0; kx < size; kx++) {
            int k = (oy * size + ky) * w + ox * size + kx;
            if (q.x[p * h * w + k] > m) m = q.x[p * h * w + k], best = k;
          }
        ref[(p * ho + oy) * wo + ox] = m;
        argmax_ok &= q.argmax[(p * ho + oy) * wo + ox] == best;
      }
  snprintf(what, sizeof what, "maxpool %dx%d/%d forward", h, w, size);
  check_close(what, q.y, ref, ny, 0, 0);
  CHECK(argmax_ok, "maxpool %dx%d/%d: argmax is not the in-plane index of the maximum", h, w, size);
  float *dx = nan_floats(nx);
  CHECK_OK(cpu_maxpool2d_backward(&eng, q.n, q.c, h, w, size, q.dy, q.argmax, dx));
  snprintf(what, sizeof what, "maxpool %dx%d/%d dx", h, w, size);
  check_fd(what, q.x, nx, maxpool_loss, &q, dx);
  /* ties: the first in the window wins, as in PyTorch */
  float tie[4] = {1, 3, 3, 2}, ty;
  int32_t ta;
  CHECK_OK(cpu_maxpool2d_forward(&eng, 1, 1, 2, 2, 2, tie, &ty, &ta));
  CHECK(ty == 3 && ta == 1, "maxpool tie: %g at %d", ty, (int)ta);
  free(q.x), free(q.dy), free(q.y), free(q.argmax), free(ref), free(dx);
}

static void test_upsample(int h, int w, int f) {
  pool_ctx q = {2, 3, h, w, f, NULL, NULL, NULL, NULL};
  const size_t nx = (size_t)q.n * q.c * h * w, ny = nx * f * f;
  char what[96];
  q.x = random_floats(nx, -1, 1);
  q.dy = random_floats(ny, -1, 1);
  q.y = nan_floats(ny);
  CHECK_OK(cpu_upsample_nearest_forward(&eng, q.n, q.c, h, w, f, q.x, q.y));
  float *ref = malloc(ny * sizeof *ref);
  for (int p = 0; p < q.n * q.c; p++)
    for (int yy = 0; yy < h * f; yy++)
      for (int xx = 0; xx < w * f; xx++)
        ref[((size_t)p * h * f + yy) * w * f + xx] = q.x[((size_t)p * h + yy / f) * w + xx / f];
  snprintf(what, sizeof what, "upsample %dx%d x%d forward", h, w, f);
  check_close(what, q.y, ref, ny, 0, 0);
  float *dx = nan_floats(nx);
  CHECK_OK(cpu_upsample_nearest_backward(&eng, q.n, q.c, h, w, f, q.dy, dx));
  snprintf(what, sizeof what, "upsample %dx%d x%d dx", h, w, f);
  check_fd(what, q.x, nx, upsample_loss, &q, dx);
  free(q.x), free(q.dy), free(q.y), free(ref), free(dx);
}

/* ---- losses ------------------------------------------------------------------ */

typedef struct {
  int n, latent;
  float klw;
  float *stats, *eps, *dz, *z, *kl;
} vae_ctx;

static double vae_loss(void *p) {
  vae_ctx *v = p;
  CHECK_OK(cpu_vae_sample(&eng, v->n, v->latent, v->stats, v->eps, v->z));
  CHECK_OK(cpu_vae_kl_per_item(&eng, v->n, v->latent, v->stats, v->kl));
  double s = dot(v->dz, v->z, (size_t)v->n * v->latent);
  for (int i = 0; i < v->n; i++) s += v->klw * v->kl[i];
  return s;
}

static void test_vae(void) {
  vae_ctx v = {3, 4, 0.7f, NULL, NULL, NULL, NULL, NULL};
  const size_t ns = (size_t)v.n * 2 * v.latent, nz = (size_t)v.n * v.latent;
  v.stats = random_floats(ns, -1, 1);
  v.eps = random_floats(nz, -2, 2);
  v.dz = random_floats(nz, -1, 1);
  v.z = nan_floats(nz);
  v.kl = nan_floats(v.n);
  CHECK_OK(cpu_vae_sample(&eng, v.n, v.latent, v.stats, v.eps, v.z));
  float *zref = malloc(nz * sizeof *zref);
  for (int i = 0; i < v.n; i++)
    for (int j = 0; j < v.latent; j++)
      zref[i * v.latent + j] = (float)(v.stats[i * 2 * v.latent + j] +
                                       exp(0.5 * v.stats[i * 2 * v.latent + v.latent + j]) * v.eps[i * v.latent + j]);
  check_close("vae_sample z", v.z, zref, nz, 1e-6, 1e-6);
  /* KL known answers: N(0,1) has KL 0; mean 1, logvar 0 gives 1/2 per dim;
   * logvar = log 2, mean 0 gives (2 - 1 - log 2)/2 per dim. */
  float st[3 * 8] = {0}, kl[3], klref[3] = {0.0f, 2.0f, (float)(4 * (1 - log(2.0)) / 2)};
  for (int j = 0; j < 4; j++) st[8 + j] = 1.0f, st[16 + 4 + j] = (float)log(2.0);
  CHECK_OK(cpu_vae_kl_per_item(&eng, 3, 4, st, kl));
  check_close("vae KL known answers", kl, klref, 3, 1e-6, 1e-6);
  float *ds = nan_floats(ns);
  CHECK_OK(cpu_vae_sample_backward(&eng, v.n, v.latent, v.stats, v.eps, v.dz, v.klw, ds));
  check_fd("vae_sample_backward dstats", v.stats, ns, vae_loss, &v, ds);
  free(v.stats), free(v.eps), free(v.dz), free(v.z), free(v.kl), free(zref), free(ds);
}

typedef struct {
  int n;
  float target, *x, *loss;
} bce_ctx;

static double bce_loss(void *p) {
  bce_ctx *b = p;
  CHECK_OK(cpu_bce_with_logits(&eng, b->n, b->x, b->target, 1.0f, b->loss, NULL));
  double s = 0;
  for (int i = 0; i < b->n; i++) s += b->loss[i];
  return s;
}

static void test_bce(void) {
  for (int t = 0; t <= 1; t++) {
    bce_ctx b = {9, (float)t, NULL, NULL};
    b.x = random_floats(b.n, -4, 4);
    b.loss = nan_floats(b.n);
    float *ref = malloc(b.n * sizeof *ref), *d = nan_floats(b.n);
    CHECK_OK(cpu_bce_with_logits(&eng, b.n, b.x, b.target, 1.0f, b.loss, d));
    for (int i = 0; i < b.n; i++) { /* the textbook form, fine for moderate x */
      double s = 1 / (1 + exp(-(double)b.x[i]));
      ref[i] = (float)-(t * log(s) + (1 - t) * log(1 - s));
    }
    check_close("bce loss", b.loss, ref, b.n, 1e-6, 1e-5);
    check_fd("bce dlogits", b.x, b.n, bce_loss, &b, d);
    /* scale multiplies the gradient; loss may be NULL */
    float *d3 = nan_floats(b.n);
    CHECK_OK(cpu_bce_with_logits(&eng, b.n, b.x, b.target, 3.0f, NULL, d3));
    for (int i = 0; i < b.n; i++) d[i] *= 3.0f;
    check_close("bce scaled dlogits", d3, d, b.n, 1e-6, 1e-6);
    free(b.x), free(b.loss), free(ref), free(d), free(d3);
  }
  /* stable for large logits */
  float x[4] = {100, -100, 0, -100}, loss[4], d[4];
  CHECK_OK(cpu_bce_with_logits(&eng, 2, x, 0.0f, 1.0f, loss, d));
  CHECK_OK(cpu_bce_with_logits(&eng, 2, x + 2, 1.0f, 1.0f, loss + 2, d + 2));
  float lref[4] = {100, 0, (float)log(2.0), 100}, dref[4] = {1, 0, -0.5f, -1};
  check_close("bce large logits loss", loss, lref, 4, 1e-6, 1e-6);
  check_close("bce large logits dlogits", d, dref, 4, 1e-6, 1e-6);
}

int main(void) {
  gpd_rng_seed(&rng, 1234);
  test_activation(GPD_ACT_RELU, 0, "relu");
  test_activation(GPD_ACT_LEAKY_RELU, 0.2f, "leaky relu");
  test_activation(GPD_ACT_TANH, 0, "tanh");
  test_activation(GPD_ACT_SIGMOID, 0, "sigmoid");
  test_linear();
  test_convolutions();
  test_batchnorm(1);
  test_batchnorm(0);
  test_maxpool(7, 6, 2);
  test_maxpool(6, 6, 3);
  test_upsample(3, 4, 2);
  test_upsample(2, 3, 3);
  test_vae();
  test_bce();
  return check_report("test_cpu_layers");
}
