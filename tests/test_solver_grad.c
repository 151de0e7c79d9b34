/* The whole objective of every solver (naive, Algorithm 1, 2, 3 with its
 * eq. 12 fit, range projection), both boundaries: the gradients each
 * objective computes for z_i, z_k, the free image i and (Algorithm 3) a
 * sample of the untrained generator's weights W are compared with central
 * finite differences of the per-restart objective that the same code
 * reports. Perturbing one restart's variables must leave every other
 * restart's objective exactly unchanged (restarts are independent items of
 * one batch).
 *
 * Networks are small and random (gpd_net_build + gpd_net_init): a dcgan_tf
 * image generator of width 4 and latent 6 at 32x32 (the blur VAE's 28x28
 * kernel must fit the image), and a blur_vae decoder of width 4 and latent
 * 5 whose kernels are scaled to sum to about 1 (normalise_kernels). The
 * DCGAN's weights are scaled up where N(0, 0.02) would leave the image a
 * flat grey, so that every layer (and every ReLU) is exercised. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../host/solve/solve_internal.h"
#include "check.h"
#include "solver_test_nets.h"
#include "gpd/engine.h"
#include "gpd/net.h"
#include "gpd/rng.h"

static float get1(const float *dev) {
  float v;
  E->download(E, &v, dev, 1);
  return v;
}

static void set1(float *dev, float v) { E->upload(E, dev, &v, 1); }

/* Finite differences of the per-restart total for `count` coordinates of
 * a group (every coordinate when count <= 0), against its gradient. */
static void check_group(const char *label, solve_problem *p, solve_group *g, int count, float h, uint64_t seed) {
  size_t n = g->count;
  float *grad = malloc(sizeof(float) * n);
  E->download(E, grad, g->g, n);
  double gmax = 0;
  for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(grad[i]));
  CHECK(gmax > 0, "%s: gradient of %s is identically zero, nothing is tested", label, g->name);
  int m = count <= 0 || (size_t)count > n ? (int)n : count;
  float *fd = malloc(sizeof(float) * m), *an = malloc(sizeof(float) * m);
  float *base = malloc(sizeof(float) * p->restarts), *lp = malloc(sizeof(float) * p->restarts);
  CHECK_OK(p->objective(p, 0));
  memcpy(base, p->total, sizeof(float) * p->restarts);
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  int independent = 1;
  for (int j = 0; j < m; j++) {
    size_t idx = m == (int)n ? (size_t)j : (size_t)(gpd_rng_u64(&r) % n);
    int item = g->per_restart ? (int)(idx / g->per_restart) : 0;
    float x0 = get1(g->p + idx);
    set1(g->p + idx, x0 + h);
    CHECK_OK(p->objective(p, 0));
    memcpy(lp, p->total, sizeof(float) * p->restarts);
    set1(g->p + idx, x0 - h);
    CHECK_OK(p->objective(p, 0));
    set1(g->p + idx, x0);
    /* The generators are ReLU networks, piecewise smooth in their inputs
     * and weights: a step can cross a kink on one side (thousands of ReLUs,
     * so it happens). Then the one-sided difference on the other side is
     * still the derivative at x0, so the reference is whichever of the
     * central, forward and backward differences is closest. A wrong
     * gradient (a factor, a sign, a missing term) matches none of them. */
    const double central = ((double)lp[item] - p->total[item]) / (2.0 * h);
    const double forward = ((double)lp[item] - base[item]) / h, backward = ((double)base[item] - p->total[item]) / h;
    double ref = central;
    if (fabs(forward - grad[idx]) < fabs(ref - grad[idx])) ref = forward;
    if (fabs(backward - grad[idx]) < fabs(ref - grad[idx])) ref = backward;
    fd[j] = (float)ref;
    an[j] = grad[idx];
    for (int q = 0; q < p->restarts; q++)
      if (q != item && (lp[q] != base[q] || p->total[q] != base[q])) independent = 0;
  }
  char what[160];
  snprintf(what, sizeof what, "%s d/d%s", label, g->name);
  /* the objective is a float32: differences resolve about an ulp of it
   * over the step, and the forward pass adds a few ulps of its own */
  float lmax = 0;
  for (int q = 0; q < p->restarts; q++) lmax = fmaxf(lmax, fabsf(base[q]));
  const double resolution = 3.0 * (nextafterf(lmax, INFINITY) - lmax) / h;
  check_close(what, an, fd, (size_t)m, 3e-3 * gmax + resolution, 2e-2);
  CHECK(independent, "%s: perturbing one restart's %s changed another restart's objective", label, g->name);
  free(grad);
  free(fd);
  free(an);
  free(base);
  free(lp);
}

static gpd_net GI, GK;

/* Algorithm 2's free image for the check: a checkerboard of 0.5 +- 0.1
 * with a little noise, so that every neighbour difference is at least 0.1
 * and a central difference of step 0.01 never crosses a kink of TV's
 * absolute values (where the derivative jumps). */
static void set_checkerboard(solve_group *g, uint64_t seed) {
  float *x = malloc(sizeof(float) * g->count);
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  const int side = (int)sqrt((double)(g->per_restart / 3));
  for (size_t i = 0; i < g->count; i++) {
    int px = (int)(i % side), py = (int)((i / side) % side);
    x[i] = 0.5f + (((px + py) & 1) ? 0.1f : -0.1f) + 0.03f * (float)(2 * gpd_rng_uniform(&r) - 1);
  }
  E->upload(E, g->p, x, g->count);
  free(x);
}

static void check_batched(const char *label, gpd_algorithm alg, gpd_boundary b, const gpd_image *y) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, alg);
  o.boundary = b;
  o.restarts = 2;
  o.seed = 7;
  /* weights that make every term visible in the gradient */
  o.gamma = 0.05f;
  o.lambda = 0.03f;
  o.tau = 3.0f;
  o.zeta = 0.7f;
  o.free_weight = 0.5f;
  o.rho = 0.05f;
  solve_inputs in = {.e = E, .y = y, .gi = &GI, .gk = (alg == GPD_ALG_NAIVE || alg == GPD_ALG_RANGE) ? NULL : &GK, .o = &o};
  if (solve_geom_init(&in.g, y, in.gi, in.gk, &o) != 0) {
    CHECK(0, "%s: %s", label, gpd_last_error());
    return;
  }
  solve_problem *p = NULL;
  int rc = alg == GPD_ALG_NAIVE ? naive_create(&in, 0, &p)
           : alg == GPD_ALG_RANGE ? naive_create(&in, 1, &p)
           : alg == GPD_ALG_1 ? alg1_create(&in, &p)
                              : alg2_create(&in, &p);
  CHECK(rc == 0, "%s: create: %s", label, gpd_last_error());
  if (rc) return;
  for (int i = 0; i < p->n_groups; i++)
    if (!strcmp(p->group[i].name, "i")) set_checkerboard(&p->group[i], 13);
  CHECK_OK(p->objective(p, 1));
  for (int i = 0; i < p->n_groups; i++) {
    solve_group *g = &p->group[i];
    int is_image = !strcmp(g->name, "i");
    check_group(label, p, g, is_image ? 40 : 0, is_image ? 1e-2f : 2e-3f, 11 + i);
    CHECK_OK(p->objective(p, 1)); /* gradients again for the next group */
  }
  solve_problem_free(p);
}

static void check_alg3(const char *label, gpd_boundary b, const gpd_image *y) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_3);
  o.boundary = b;
  o.restarts = 2;
  o.seed = 5;
  o.untrained_width = 4;
  o.untrained_latent = 6;
  o.nu = 0.01f;
  o.kappa = 0.1f;
  solve_inputs in = {.e = E, .y = y, .gi = NULL, .gk = &GK, .o = &o};
  if (solve_geom_init(&in.g, y, NULL, &GK, &o) != 0) {
    CHECK(0, "%s: %s", label, gpd_last_error());
    return;
  }
  alg3_restart *a = NULL;
  int rc = alg3_restart_create(&in, 1, &a);
  CHECK(rc == 0, "%s: create: %s", label, gpd_last_error());
  if (rc) return;
  char what[96];
  /* the eq. 12 fit: W only */
  solve_problem *fit = alg3_fit_problem(a);
  CHECK_OK(fit->objective(fit, 1));
  snprintf(what, sizeof what, "%s (eq. 12 fit)", label);
  check_group(what, fit, &fit->group[0], 40, 2e-3f, 3);
  /* eq. 11: z_i, z_k, W */
  solve_problem *mp = alg3_main_problem(a);
  for (int i = 0; i < mp->n_groups; i++) {
    CHECK_OK(mp->objective(mp, 1));
    int is_w = !strcmp(mp->group[i].name, "W");
    check_group(label, mp, &mp->group[i], is_w ? 40 : 0, 2e-3f, 21 + i);
  }
  alg3_restart_free(a);
}

/* The y-aligned window: with the linear boundary the generator's image is
 * K-1 larger than y, and naive deblurring and Algorithm 3's eq. 12 fit
 * compare y with its window (K-1)/2 in from the top-left (gpd_solve_window).
 * A y cut from a generator image at exactly that window must be fitted
 * with zero loss by the same latent and weights. */
static void check_windows(const gpd_image *y) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_NAIVE);
  o.boundary = GPD_BOUNDARY_LINEAR;
  o.restarts = 2;
  solve_inputs in = {.e = E, .y = y, .gi = &GI, .gk = NULL, .o = &o};
  solve_problem *p = NULL;
  gpd_solve_result res = {0};
  gpd_image win = {0};
  CHECK_OK(solve_geom_init(&in.g, y, &GI, NULL, &o));
  CHECK_OK(naive_create(&in, 0, &p));
  CHECK_OK(p->objective(p, 0));
  CHECK_OK(p->result(p, 0, &res)); /* G_I(z) of restart 0, 32x32 */
  CHECK_OK(gpd_solve_window(&res.image, y->h, y->w, &win));
  solve_problem_free(p);
  in.y = &win;
  CHECK_OK(naive_create(&in, 0, &p));
  CHECK_OK(p->objective(p, 0));
  CHECK(p->measurement[0] < 1e-12f && p->measurement[1] > 1e-4f,
        "naive linear: y cut at the window gives losses %g (restart 0) and %g (restart 1)", p->measurement[0],
        p->measurement[1]);
  solve_problem_free(p);
  gpd_solve_result_free(&res);
  gpd_image_free(&win);

  /* Algorithm 3: a 6x5 y, a 33x32 image inside a 64x64 output */
  gpd_solve_defaults(&o, GPD_ALG_3);
  o.boundary = GPD_BOUNDARY_LINEAR;
  o.restarts = 1;
  o.untrained_width = 4;
  o.untrained_latent = 6;
  solve_inputs in3 = {.e = E, .y = y, .gi = NULL, .gk = &GK, .o = &o};
  alg3_restart *a = NULL;
  CHECK_OK(solve_geom_init(&in3.g, y, NULL, &GK, &o));
  CHECK_OK(alg3_restart_create(&in3, 0, &a));
  solve_problem *mp = alg3_main_problem(a);
  CHECK_OK(mp->objective(mp, 0));
  CHECK_OK(mp->result(mp, 0, &res));
  CHECK(res.image.h == in3.g.hx && res.image.w == in3.g.wx, "Algorithm 3 image %dx%d, expected %dx%d", res.image.h,
        res.image.w, in3.g.hx, in3.g.wx);
  CHECK_OK(gpd_solve_window(&res.image, y->h, y->w, &win));
  alg3_restart_free(a);
  in3.y = &win;
  CHECK_OK(alg3_restart_create(&in3, 0, &a)); /* the same restart: the same weights and z_i */
  solve_problem *fit = alg3_fit_problem(a);
  CHECK_OK(fit->objective(fit, 0));
  CHECK(fit->measurement[0] < 1e-12f, "Algorithm 3 linear: eq. 12 loss %g for y cut at the window",
        fit->measurement[0]);
  alg3_restart_free(a);
  gpd_solve_result_free(&res);
  gpd_image_free(&win);
}

int main(void) {
  E = gpd_engine_cpu_create();
  if (!E) {
    fprintf(stderr, "%s\n", gpd_last_error());
    return 1;
  }
  /* DCGAN weights x10 (N(0, 0.2)): contrast through batch norm in
   * inference mode; blur decoder as initialised */
  CHECK_OK(make_net(&GI, "dcgan_tf", "generator", 6, 3, 32, 4, 1, 10.0f));
  CHECK_OK(make_net(&GK, "blur_vae", "decoder", 5, 1, 28, 4, 2, 1.0f));
  CHECK_OK(normalise_kernels(&GK, NULL, 3));
  if (check_failures) return check_report("test_solver_grad");

  gpd_image yc = {0}, yl = {0}, y3c = {0}, y3l = {0};
  smooth_image(&yc, 3, 32, 32, 0.1f); /* circular: the generator's size */
  smooth_image(&yl, 3, 5, 5, 0.2f);   /* linear: 32 - 28 + 1 */
  smooth_image(&y3c, 3, 30, 29, 0.3f); /* Alg 3, circular: 32x32 output cropped to 30x29 */
  smooth_image(&y3l, 3, 6, 5, 0.4f);   /* Alg 3, linear: 33x32 image, 64x64 output cropped */

  check_batched("naive circular", GPD_ALG_NAIVE, GPD_BOUNDARY_CIRCULAR, &yc);
  check_batched("naive linear", GPD_ALG_NAIVE, GPD_BOUNDARY_LINEAR, &yl);
  check_batched("range", GPD_ALG_RANGE, GPD_BOUNDARY_CIRCULAR, &yc);
  check_batched("alg1 circular", GPD_ALG_1, GPD_BOUNDARY_CIRCULAR, &yc);
  check_batched("alg1 linear", GPD_ALG_1, GPD_BOUNDARY_LINEAR, &yl);
  check_batched("alg2 circular", GPD_ALG_2, GPD_BOUNDARY_CIRCULAR, &yc);
  check_batched("alg2 linear", GPD_ALG_2, GPD_BOUNDARY_LINEAR, &yl);
  check_alg3("alg3 circular", GPD_BOUNDARY_CIRCULAR, &y3c);
  check_alg3("alg3 linear", GPD_BOUNDARY_LINEAR, &y3l);
  check_windows(&y3l);

  gpd_image_free(&yc);
  gpd_image_free(&yl);
  gpd_image_free(&y3c);
  gpd_image_free(&y3l);
  gpd_net_free(&GI);
  gpd_net_free(&GK);
  gpd_engine_destroy(E);
  return check_report("test_solver_grad");
}
