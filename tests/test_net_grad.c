/* Whole-network gradients against central finite differences.
 *
 * For every architecture at a small configuration, with batch norm on
 * running statistics (bn_train 0) and on batch statistics (bn_train 1), the
 * loss L = <dy, G(x)> for a random dy; gpd_net_backward's dL/dx and dL/dW
 * for 30 random entries of the input and of every parameter tensor are
 * compared with finite differences of L (summed in double on the host):
 * central, forward and backward differences at steps 1e-2 .. 1e-5, one of
 * which must agree (see compare() for why; one entry per tensor that sits
 * among dense kinks may instead lie between the one-sided differences).
 * Tolerance: |fd - analytic| <=
 * 2e-3 * rms(analytic of that tensor) + 1e-4 * rms(all parameter
 * gradients) + 2e-2 * |analytic|; the second term covers gradients that
 * are exactly zero (a bias right before a training-mode batch norm), where
 * only float32 rounding noise in L remains. Scaling one layer's backward by
 * 1.05 fails this test. Test networks whose outputs are mostly zero (dead
 * ReLUs) or whose gradients vanish are reported, not passed.
 *
 * Also checked: weight gradients accumulate (a second backward doubles
 * them, to 1e-4 relative: the sums round differently), accumulate_weights
 * = 0 leaves net->grads alone, dx = NULL gives the same weight gradients,
 * and a forward at a batch above the workspace's is refused.
 *
 * The finite differences run on the reference engine `ref`, whose float
 * sums are plain loops; the `cpu` engine (oneDNN) is then held to ref's
 * analytic output, input gradient and weight gradients on the same
 * networks (|cpu - ref| <= 1e-4 * rms(ref tensor) + 1e-4 * |ref|): its
 * blocked sums round differently, which makes its own finite differences
 * too noisy at the smallest steps. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/net.h"
#include "gpd/rng.h"
#include "gpd/weights.h"

#define SAMPLES 30

typedef struct setup {
  gpd_engine *e;
  gpd_net net;
  gpd_net_workspace ws;
  int n;
  size_t in, out;
  float *x;    /* host input (n, in) */
  float *dy;   /* host (n, out) */
  float *xd;   /* engine copies */
  float *dyd;
  float *y;    /* host scratch (n, out) */
  double l0;   /* loss at the unperturbed point */
} setup;

static double loss(setup *s) {
  const float *yd = gpd_net_forward(&s->net, &s->ws, s->n, s->xd);
  if (!yd) {
    fprintf(stderr, "forward failed: %s\n", gpd_last_error());
    exit(1);
  }
  s->e->download(s->e, s->y, yd, (size_t)s->n * s->out);
  double l = 0;
  for (size_t i = 0; i < (size_t)s->n * s->out; i++) l += (double)s->dy[i] * s->y[i];
  return l;
}

/* Finite differences of L with respect to one float of engine memory at
 * step h: est[0] central, est[1] forward, est[2] backward (one-sided, from
 * the unperturbed loss s->l0). */
static void fd_one(setup *s, float *engine_buf, size_t idx, double h, double est[3]) {
  float v;
  s->e->download(s->e, &v, engine_buf + idx, 1);
  float vp = (float)(v + h), vm = (float)(v - h);
  s->e->upload(s->e, engine_buf + idx, &vp, 1);
  double lp = loss(s);
  s->e->upload(s->e, engine_buf + idx, &vm, 1);
  double lm = loss(s);
  s->e->upload(s->e, engine_buf + idx, &v, 1);
  est[0] = (lp - lm) / ((double)vp - (double)vm);
  est[1] = (lp - s->l0) / ((double)vp - (double)v);
  est[2] = (s->l0 - lm) / ((double)v - (double)vm);
}

/* Compares sampled finite differences of one tensor with its analytic
 * gradient (host array over the whole tensor).
 *
 * The networks are piecewise smooth with thousands of ReLU / max-pool
 * kinks, and float32 rounding limits how small a step can be, so no single
 * step size is clean for every entry: a step that crosses a kink spoils the
 * central difference, while the one-sided difference on the side without
 * the kink stays exact (piecewise linear) or O(h) close (tanh, sigmoid,
 * batch statistics). Each entry therefore tries steps h, h/10, h/100,
 * h/1000 and the central, forward and backward differences of each, and
 * passes when one agrees; a wrong gradient agrees with none. */
static void compare(setup *s, const char *what, float *engine_buf, const float *analytic, size_t count, gpd_rng *r,
                    double h, double rms_all) {
  double ss = 0;
  for (size_t i = 0; i < count; i++) ss += (double)analytic[i] * analytic[i];
  double rms = sqrt(ss / (double)count);
  int m = count < SAMPLES ? (int)count : SAMPLES, bad = 0, kinks = 0;
  for (int j = 0; j < m; j++) {
    size_t idx = count <= SAMPLES ? (size_t)j : (size_t)gpd_rng_int(r, 0, (int)count - 1);
    double an = analytic[idx], best = NAN;
    double tol = 2e-3 * rms + 1e-4 * rms_all + 2e-2 * fabs(an);
    double step = h;
    int between = 0; /* at some step, a kink shows and an lies between the one-sided slopes */
    for (int k = 0; k < 4 && !(fabs(best - an) <= tol); k++, step /= 10) {
      double est[3];
      fd_one(s, engine_buf, idx, step, est);
      for (int q = 0; q < 3; q++)
        if (isnan(best) || fabs(est[q] - an) < fabs(best - an)) best = est[q];
      double lo = fmin(est[1], est[2]), hi = fmax(est[1], est[2]);
      between |= hi - lo > 2 * tol && an >= lo - tol && an <= hi + tol;
    }
    /* An entry can sit where kinks are denser than the smallest clean step
     * (a first-layer weight moves every ReLU and max-pool choice of the
     * image: slopes 0.3 left and 0.04 right of the point, new kinks every
     * 1e-4 on both sides): no difference is clean there. Backprop's value
     * is then one of the slopes that meet at the point, so it lies between
     * the one-sided differences. One such entry per tensor is accepted;
     * a wrong gradient is caught by the others. */
    if (!(fabs(best - an) <= tol) && between && kinks == 0) {
      kinks++;
      continue;
    }
    if (!(fabs(best - an) <= tol)) {
      if (bad < 5)
        fprintf(stderr, "  %s %s bn_train %d: %s[%zu]: analytic %.7g, finite difference %.7g (tol %.3g)\n", s->net.arch,
                s->net.role, s->net.bn_train, what, idx, an, best, tol);
      bad++;
    }
  }
  CHECK(bad == 0, "%s %s bn_train %d: %d of %d gradients of %s off", s->net.arch, s->net.role, s->net.bn_train, bad, m,
        what);
}

/* Parameters with activations of order one: N(0, 1/fan_in) weights,
 * batch-norm gamma near 1, beta near 0, running statistics away from the
 * fresh 0 / 1 so that inference mode is not the identity. */
static void randomise(setup *s, gpd_rng *r) {
  gpd_net *net = &s->net;
  float *p = calloc(net->n_params, sizeof(float)), *b = calloc(net->n_buffers + 1, sizeof(float));
  for (int i = 0; i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    if (l->kind == GPD_LAYER_BATCHNORM) {
      gpd_rng_fill_normal(r, p + l->w_off, (size_t)l->in_c, 1.0f, 0.2f);
      gpd_rng_fill_normal(r, p + l->b_off, (size_t)l->in_c, 0.0f, 0.2f);
      gpd_rng_fill_normal(r, b + l->mean_off, (size_t)l->in_c, 0.0f, 0.1f);
      for (int c = 0; c < l->in_c; c++) b[l->var_off + c] = 0.5f + (float)gpd_rng_uniform(r);
      continue;
    }
    double fan;
    size_t nw;
    if (l->kind == GPD_LAYER_LINEAR) {
      fan = l->in_c;
      nw = (size_t)l->in_c * l->out_c;
    } else if (l->kind == GPD_LAYER_CONV2D) {
      fan = (double)l->in_c * l->k * l->k;
      nw = (size_t)l->in_c * l->out_c * l->k * l->k;
    } else if (l->kind == GPD_LAYER_CONV_TRANSPOSE2D) {
      fan = (double)l->in_c * l->k * l->k / ((double)l->stride * l->stride);
      nw = (size_t)l->in_c * l->out_c * l->k * l->k;
    } else {
      continue;
    }
    gpd_rng_fill_normal(r, p + l->w_off, nw, 0.0f, (float)(1.0 / sqrt(fan)));
    if (l->b_off >= 0) gpd_rng_fill_normal(r, p + l->b_off, (size_t)l->out_c, 0.0f, 0.1f);
  }
  s->e->upload(s->e, net->params, p, net->n_params);
  if (net->n_buffers) s->e->upload(s->e, net->buffers, b, net->n_buffers);
  free(p);
  free(b);
}

static void check_arch(gpd_engine *e, const gpd_arch *arch, const char *role, int bn_train, uint64_t seed) {
  setup s = {0};
  s.e = e;
  s.n = 2;
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  if (gpd_net_build(&s.net, arch, role) || gpd_net_alloc(&s.net, e)) {
    CHECK(0, "%s %s: %s", arch->name, role, gpd_last_error());
    return;
  }
  CHECK_OK(gpd_net_init(&s.net, seed));
  randomise(&s, &r);
  s.net.bn_train = bn_train;
  CHECK_OK(gpd_net_workspace_alloc(&s.ws, &s.net, s.n));
  s.in = gpd_net_in_size(&s.net);
  s.out = gpd_net_out_size(&s.net);
  size_t nin = (size_t)s.n * s.in, nout = (size_t)s.n * s.out, np = s.net.n_params;
  s.x = malloc(nin * sizeof(float));
  s.dy = malloc(nout * sizeof(float));
  s.y = malloc(nout * sizeof(float));
  int latent_input = s.net.in_h == 1;
  if (latent_input) gpd_rng_fill_normal(&r, s.x, nin, 0.0f, 1.0f);
  else for (size_t i = 0; i < nin; i++) s.x[i] = (float)gpd_rng_uniform(&r);
  gpd_rng_fill_normal(&r, s.dy, nout, 0.0f, 1.0f);
  s.xd = e->alloc(e, nin, "x");
  s.dyd = e->alloc(e, nout, "dy");
  float *dxd = e->alloc(e, nin, "dx");
  e->upload(e, s.xd, s.x, nin);
  e->upload(e, s.dyd, s.dy, nout);

  /* Analytic gradients. */
  float *dx = malloc(nin * sizeof(float)), *g = malloc(np * sizeof(float)), *g2 = malloc(np * sizeof(float));
  e->fill(e, s.net.grads, 0.0f, np);
  loss(&s);
  CHECK_OK(gpd_net_backward(&s.net, &s.ws, s.n, s.dyd, dxd, 1));
  e->download(e, dx, dxd, nin);
  e->download(e, g, s.net.grads, np);

  /* Accumulation: a second backward doubles; without weights, grads stay. */
  CHECK_OK(gpd_net_backward(&s.net, &s.ws, s.n, s.dyd, NULL, 1));
  e->download(e, g2, s.net.grads, np);
  /* Tolerance: the second pass adds into sums that already hold the
   * first, so the float sums round differently, and a weight gradient
   * that is a cancelling sum keeps little relative precision (dcgan_tf
   * on an AMD EPYC: 0.053, and 2e-6 from doubling), so the bound is 1e-4
   * of the value plus 1e-5 of the gradients' rms. Not accumulating is off
   * by the whole value. */
  double ssg = 0;
  for (size_t i = 0; i < np; i++) ssg += (double)g[i] * g[i];
  const double acc_abs = 1e-5 * sqrt(ssg / (double)(np ? np : 1)) + 1e-12;
  int bad = 0;
  for (size_t i = 0; i < np; i++) bad += !(fabs(g2[i] - 2 * g[i]) <= 1e-4 * fabs(g[i]) + acc_abs);
  CHECK(bad == 0, "%s %s: %d weight gradients do not accumulate (or dx = NULL changed them)", arch->name, role, bad);
  e->fill(e, dxd, 0.0f, nin);
  CHECK_OK(gpd_net_backward(&s.net, &s.ws, s.n, s.dyd, dxd, 0));
  float *dx2 = malloc(nin * sizeof(float));
  e->download(e, g2, s.net.grads, np);
  e->download(e, dx2, dxd, nin);
  bad = 0;
  for (size_t i = 0; i < np; i++) bad += !(fabs(g2[i] - 2 * g[i]) <= 1e-4 * fabs(g[i]) + acc_abs);
  CHECK(bad == 0, "%s %s: accumulate_weights = 0 changed %d weight gradients", arch->name, role, bad);
  CHECK(!memcmp(dx, dx2, nin * sizeof(float)), "%s %s: dx differs between backward passes", arch->name, role);
  CHECK_OK(gpd_net_backward(&s.net, &s.ws, s.n, s.dyd, NULL, 0));
  free(dx2);

  /* The input gradient, then every parameter tensor. */
  double ss = 0;
  for (size_t i = 0; i < np; i++) ss += (double)g[i] * g[i];
  double rms_all = sqrt(ss / (double)np);
  s.l0 = loss(&s);
  /* A test network whose ReLUs all died would pass any gradient check. */
  size_t live = 0;
  for (size_t i = 0; i < nout; i++) live += s.y[i] != 0;
  CHECK(live * 4 >= nout, "%s %s: only %zu of %zu outputs are non-zero: degenerate test network", arch->name, role, live,
        nout);
  compare(&s, "input", s.xd, dx, nin, &r, 1e-2, rms_all);
  for (int i = 0; i < s.net.n_layers; i++) {
    const gpd_layer *l = &s.net.layers[i];
    const char *what[2] = {"weight", "bias"};
    long off[2] = {l->w_off, l->b_off};
    size_t count[2] = {0, (size_t)l->out_c};
    if (l->kind == GPD_LAYER_LINEAR) count[0] = (size_t)l->in_c * l->out_c;
    else if (l->kind == GPD_LAYER_BATCHNORM) count[0] = (size_t)l->in_c;
    else count[0] = (size_t)l->in_c * l->out_c * l->k * l->k;
    for (int t = 0; t < 2; t++) {
      if (off[t] < 0) continue;
      char name[96];
      gpd_layer_tensor_name(&s.net, l, what[t], name, sizeof name);
      /* Only a bias right before a training-mode batch norm has an exactly
       * zero gradient (the batch mean removes it). */
      int zero_expected = t == 1 && bn_train && i + 1 < s.net.n_layers &&
                          s.net.layers[i + 1].kind == GPD_LAYER_BATCHNORM;
      double sum = 0;
      for (size_t k = 0; k < count[t]; k++) sum += fabs(g[off[t] + k]);
      CHECK(zero_expected || sum > 0, "%s %s bn_train %d: gradient of %s is all zero", arch->name, role, bn_train, name);
      compare(&s, name, s.net.params + off[t], g + off[t], count[t], &r, 1e-2, rms_all);
    }
  }

  CHECK(gpd_net_forward(&s.net, &s.ws, s.n + 1, s.xd) == NULL, "a forward above the workspace batch was accepted");

  free(dx);
  free(g);
  free(g2);
  free(s.x);
  free(s.dy);
  free(s.y);
  e->free(e, s.xd);
  e->free(e, s.dyd);
  e->free(e, dxd);
  gpd_net_workspace_free(&s.ws, e);
  gpd_net_free(&s.net);
}

/* Layer arithmetic of the paper's networks (Table IV, DESIGN.md). */
static void check_shapes(void) {
  gpd_net net;
  gpd_arch blur = {"blur_vae", 0, 0, 0, 0};
  CHECK_OK(gpd_net_build(&net, &blur, "decoder"));
  CHECK(net.in_c == 50 && net.out_c == 1 && net.out_h == 28 && net.n_layers == 11, "blur decoder %d -> %dx%dx%d, %d layers",
        net.in_c, net.out_c, net.out_h, net.out_w, net.n_layers);
  CHECK(net.layers[3].out_h == 12 && net.layers[4].out_h == 13 && net.layers[6].out_h == 26 && net.layers[7].out_h == 27,
        "blur decoder sizes 12 13 26 27");
  CHECK(net.n_params == (size_t)50 * 720 + 720 + 2 * (20 * 20 * 4 + 20) + 20 * 4 + 1,
        "blur decoder has %zu parameters", net.n_params);
  CHECK_OK(gpd_net_build(&net, &blur, "encoder"));
  CHECK(net.layers[6].out_c == 720 && net.out_c == 100 && net.layers[7].index == 7, "blur encoder flatten %d, out %d",
        net.layers[6].out_c, net.out_c);
  gpd_arch svhn = {"svhn_vae", 0, 0, 0, 0};
  CHECK_OK(gpd_net_build(&net, &svhn, "encoder"));
  CHECK(net.layers[9].out_c == 8192 && net.out_c == 200, "svhn encoder flatten %d out %d", net.layers[9].out_c, net.out_c);
  CHECK_OK(gpd_net_build(&net, &svhn, "decoder"));
  CHECK(net.layers[0].out_c == 8192 && net.layers[2].out_c == 512 && net.layers[2].out_h == 8 && net.layers[5].out_c == 256 &&
            net.layers[8].out_c == 128 && net.out_c == 3 && net.out_h == 32 && net.layers[12].kind == GPD_LAYER_SIGMOID,
        "svhn decoder layers");
  gpd_arch tf = {"dcgan_tf", 0, 0, 0, 0};
  CHECK_OK(gpd_net_build(&net, &tf, NULL));
  CHECK(!strcmp(net.role, "generator") && net.layers[0].out_c == 8192 && net.layers[4].in_c == 512 &&
            net.layers[4].out_c == 256 && net.layers[4].k == 5 && net.layers[4].out_h == 8 && net.out_h == 64 &&
            net.out_c == 3 && net.layers[net.n_layers - 1].kind == GPD_LAYER_AFFINE,
        "dcgan_tf layers");
  char name[64];
  gpd_layer_tensor_name(&net, &net.layers[2], "running_var", name, sizeof name);
  CHECK(!strcmp(name, "generator.2.running_var"), "tensor name %s", name);
  tf.size = 256;
  CHECK_OK(gpd_net_build(&net, &tf, "generator"));
  CHECK(net.out_h == 256 && net.layers[net.n_layers - 3].in_c == 64 && net.layers[net.n_layers - 3].out_h == 256,
        "dcgan_tf 256: out %d", net.out_h);
  gpd_arch torch = {"dcgan_torch", 0, 0, 0, 0};
  CHECK_OK(gpd_net_build(&net, &torch, "generator"));
  CHECK(net.layers[0].kind == GPD_LAYER_CONV_TRANSPOSE2D && net.layers[0].out_h == 4 && net.layers[0].b_off < 0 &&
            net.out_h == 64,
        "dcgan_torch layers");
  CHECK_OK(gpd_net_build(&net, &torch, "discriminator"));
  CHECK(net.in_c == 3 && net.in_h == 64 && net.out_c == 1 && net.out_h == 1 && net.layers[0].out_c == 64 &&
            net.layers[1].kind == GPD_LAYER_LEAKY_RELU && net.layers[2].out_c == 128 && net.layers[3].kind == GPD_LAYER_BATCHNORM,
        "dcgan discriminator layers");
  CHECK(gpd_net_build(&net, &blur, "generator") != 0 && strstr(gpd_last_error(), "encoder or decoder"),
        "wrong role: %s", gpd_last_error());
  gpd_arch bad = {"dcgan_tf", 100, 3, 48, 64};
  CHECK(gpd_net_build(&net, &bad, NULL) != 0 && strstr(gpd_last_error(), "power of two"), "size 48: %s", gpd_last_error());
  gpd_arch unknown = {"resnet", 0, 0, 0, 0};
  CHECK(gpd_net_build(&net, &unknown, NULL) != 0 && strstr(gpd_last_error(), "unknown architecture"), "unknown: %s",
        gpd_last_error());
}

/* Output, dx and weight gradients of one network on engine e (same seed,
 * same inputs on every engine); host arrays the caller frees. */
typedef struct net_result {
  float *y, *dx, *g;
  size_t ny, nx, np;
} net_result;

static int net_run(gpd_engine *e, const gpd_arch *arch, const char *role, int bn_train, uint64_t seed, net_result *out) {
  gpd_net net;
  gpd_net_workspace ws;
  const int n = 3;
  if (gpd_net_build(&net, arch, role) || gpd_net_alloc(&net, e) || gpd_net_init(&net, seed) ||
      gpd_net_workspace_alloc(&ws, &net, n))
    return -1;
  net.bn_train = bn_train;
  out->nx = (size_t)n * gpd_net_in_size(&net), out->ny = (size_t)n * gpd_net_out_size(&net), out->np = net.n_params;
  gpd_rng r;
  gpd_rng_seed(&r, seed + 1);
  float *x = malloc(out->nx * sizeof(float)), *dy = malloc(out->ny * sizeof(float));
  gpd_rng_fill_normal(&r, x, out->nx, 0.5f, 0.5f);
  gpd_rng_fill_normal(&r, dy, out->ny, 0.0f, 1.0f);
  float *xd = e->alloc(e, out->nx, "x"), *dyd = e->alloc(e, out->ny, "dy"), *dxd = e->alloc(e, out->nx, "dx");
  out->y = malloc(out->ny * sizeof(float)), out->dx = malloc(out->nx * sizeof(float));
  out->g = malloc(out->np * sizeof(float));
  int rc = !xd || !dyd || !dxd || e->upload(e, xd, x, out->nx) || e->upload(e, dyd, dy, out->ny) ||
           e->fill(e, net.grads, 0.0f, out->np);
  const float *yd = rc ? NULL : gpd_net_forward(&net, &ws, n, xd);
  rc = rc || !yd || e->download(e, out->y, yd, out->ny) || gpd_net_backward(&net, &ws, n, dyd, dxd, 1) ||
       e->download(e, out->dx, dxd, out->nx) || e->download(e, out->g, net.grads, out->np);
  e->free(e, xd), e->free(e, dyd), e->free(e, dxd);
  free(x), free(dy);
  gpd_net_workspace_free(&ws, e);
  gpd_net_free(&net);
  return rc ? -1 : 0;
}

static void close_to_ref(const char *what, const float *got, const float *want, size_t n) {
  double ss = 0;
  for (size_t i = 0; i < n; i++) ss += (double)want[i] * want[i];
  const double rms = sqrt(ss / (double)(n ? n : 1));
  check_close(what, got, want, n, 1e-4 * rms, 1e-4);
}

static void check_engine_vs_ref(gpd_engine *ref, gpd_engine *e, const gpd_arch *arch, const char *role, int bn_train,
                                uint64_t seed) {
  net_result a = {0}, b = {0};
  if (net_run(ref, arch, role, bn_train, seed, &a) || net_run(e, arch, role, bn_train, seed, &b)) {
    CHECK(0, "%s %s on %s: %s", arch->name, role, e->name, gpd_last_error());
  } else {
    char what[128];
    snprintf(what, sizeof what, "%s %s bn_train %d: %s output vs ref", arch->name, role, bn_train, e->name);
    close_to_ref(what, b.y, a.y, a.ny);
    snprintf(what, sizeof what, "%s %s bn_train %d: %s dx vs ref", arch->name, role, bn_train, e->name);
    close_to_ref(what, b.dx, a.dx, a.nx);
    snprintf(what, sizeof what, "%s %s bn_train %d: %s weight gradients vs ref", arch->name, role, bn_train, e->name);
    close_to_ref(what, b.g, a.g, a.np);
  }
  free(a.y), free(a.dx), free(a.g), free(b.y), free(b.dx), free(b.g);
}

int main(void) {
  check_shapes();
  gpd_engine *ref = gpd_engine_ref_create(), *cpu = gpd_engine_cpu_create();
  if (!ref || !cpu) {
    fprintf(stderr, "engines: %s\n", gpd_last_error());
    return 1;
  }
  gpd_engine *e = ref;
  /* Small widths and sizes keep the number of ReLU units, and so of kinks
   * a finite-difference step can cross, low; the layer lists are the same
   * at every size (check_shapes covers the full-size arithmetic). */
  gpd_arch blur = {"blur_vae", 8, 1, 28, 4};
  check_arch(e, &blur, "encoder", 0, 1);
  check_arch(e, &blur, "decoder", 0, 4);
  gpd_arch svhn = {"svhn_vae", 8, 3, 16, 4};
  gpd_arch tf = {"dcgan_tf", 8, 3, 16, 4}, torch = {"dcgan_torch", 8, 3, 16, 4}, disc = {"dcgan_disc", 8, 3, 16, 4};
  for (int bn = 0; bn <= 1; bn++) {
    check_arch(e, &svhn, "encoder", bn, 10 + bn);
    check_arch(e, &svhn, "decoder", bn, 20 + bn);
    check_arch(e, &tf, "generator", bn, 30 + bn);
    check_arch(e, &torch, "generator", bn, 40 + bn);
    check_arch(e, &disc, "discriminator", bn, 50 + bn);
  }
  /* Sizes above 64 add doubling stages of width w. */
  gpd_arch tf128 = {"dcgan_tf", 8, 1, 128, 1};
  check_arch(e, &tf128, "generator", 1, 60);
  /* the cpu engine against ref, at the shipped sizes */
  const gpd_arch full[] = {{"blur_vae", 50, 1, 28, 20}, {"svhn_vae", 100, 3, 32, 32}, {"dcgan_tf", 100, 3, 64, 16},
                           {"dcgan_torch", 100, 3, 64, 16}, {"dcgan_disc", 100, 3, 64, 16}};
  const char *roles[] = {"decoder", "decoder", "generator", "generator", "discriminator"};
  for (int a = 0; a < 5; a++)
    for (int bn = 0; bn <= 1; bn++) check_engine_vs_ref(ref, cpu, &full[a], roles[a], bn, 70 + a);
  check_engine_vs_ref(ref, cpu, &full[0], "encoder", 0, 80);
  gpd_engine_destroy(cpu);
  gpd_engine_destroy(ref);
  return check_report("test_net_grad");
}
