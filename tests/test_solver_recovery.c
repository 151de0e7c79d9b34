/* What the solvers are for, on small problems with known answers:
 *  - Algorithm 1 recovers an image in the range of G_I blurred by a kernel
 *    in the range of G_K with sigma = 0.01 noise: >= 30 dB PSNR and a
 *    kernel within 0.2 relative l2 error (gpd_kernel_error, best integer
 *    shift within +-2); the chosen restart has the lowest measurement.
 *  - Diverging restarts are dropped without touching the others (their
 *    losses are the same as in a batch without the diverging ones), and
 *    when all diverge the call fails with one clear line.
 *  - Algorithm 2 beats Algorithm 1 on an image outside G_I's range.
 *  - Algorithm 3 (untrained generator) on a small natural image blurred by
 *    a kernel of G_K's range: PSNR clearly above the blurry input's.
 *  - bf16 on the cpu engine recovers within 0.1 dB of fp32 (Algorithms 1, 2).
 *  - Size and channel validation gives the documented one-line errors.
 *
 * The generators (solver_test_nets.h) are small random networks, not the
 * paper's: a dcgan_tf image generator (32x32x3, width 8, latent 8, weights
 * x5 so its images have contrast through batch norm in inference mode) and
 * a tiny kernel generator making compact 7x7-support kernels on the 28x28
 * canvas (a random blur_vae decoder's range is one huge blob). Their
 * gradients are larger than the trained paper generators', so Algorithm 1
 * here steps with lr 0.5 for 300 steps instead of 0.01 for 10,000; the
 * other algorithms run with the paper's steps and fewer iterations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpd/blur.h"
#include "gpd/metrics.h"
#include "gpd/solve.h"
#include "solver_test_nets.h"

static gpd_net GI, GK;
static float ZI[8], ZK[4], KTRUE[28 * 28];

static int all_finite(const gpd_image *im) {
  for (size_t i = 0; i < (size_t)im->c * im->h * im->w; i++)
    if (!isfinite(im->data[i])) return 0;
  return 1;
}

static gpd_solve_options alg1_options(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.restarts = 8;
  o.steps = 300;
  o.lr = 0.5f;
  o.seed = 3;
  return o;
}

static void test_alg1(const gpd_image *truth, const gpd_image *y) {
  gpd_solve_options o = alg1_options();
  gpd_solve_result res;
  if (gpd_solve(E, y, &GI, &GK, &o, &res) != 0) {
    CHECK(0, "Algorithm 1: %s", gpd_last_error());
    return;
  }
  double psnr = gpd_psnr(res.image.data, truth->data, 3, 32, 32);
  double kerr = gpd_kernel_error(res.kernel, KTRUE, 28, 2);
  fprintf(stderr, "Algorithm 1: PSNR %.2f dB (blurry %.2f), kernel error %.3f, measurement %.4f (noise level %.4f)\n",
          psnr, gpd_psnr(y->data, truth->data, 3, 32, 32), kerr, res.measurement, 0.01 * 0.01 * 32 * 32);
  CHECK(psnr >= 30.0, "Algorithm 1 image PSNR %.2f dB < 30", psnr);
  CHECK(kerr < 0.2, "Algorithm 1 kernel error %.3f >= 0.2", kerr);
  CHECK(res.ksize == 28, "kernel size %d", res.ksize);
  CHECK(res.diverged == 0, "%d restarts diverged", res.diverged);
  /* sigma^2 per pixel, summed over pixels, mean over channels: 0.1024 */
  CHECK(res.measurement < 0.2, "measurement %.4f is not near the noise level", res.measurement);
  for (int r = 0; r < res.restarts; r++)
    CHECK(res.measurement <= res.restart_measurement[r], "best-of-restarts measurement %.6g above restart %d's %.6g",
          res.measurement, r, res.restart_measurement[r]);
  CHECK(res.restart_measurement[res.chosen] == res.measurement, "chosen restart's measurement differs");
  CHECK(res.image.c == 3 && res.image.h == 32 && res.image.w == 32, "image is %dx%dx%d", res.image.h, res.image.w,
        res.image.c);
  CHECK(res.seconds > 0, "seconds %.3g", res.seconds);
  gpd_solve_result_free(&res);
}

static void test_divergence(const gpd_image *y) {
  /* lr 1.7 sends some restarts' kernels off to infinity */
  gpd_solve_options o = alg1_options();
  o.lr = 1.7f;
  gpd_solve_result res;
  if (gpd_solve(E, y, &GI, &GK, &o, &res) != 0) {
    CHECK(0, "Algorithm 1 at lr 1.7: %s", gpd_last_error());
    return;
  }
  fprintf(stderr, "lr 1.7: %d of %d restarts diverged, chosen %d\n", res.diverged, res.restarts, res.chosen);
  CHECK(res.diverged >= 1 && res.diverged < res.restarts, "expected some but not all restarts to diverge, got %d",
        res.diverged);
  int survivor = -1, count = 0;
  for (int r = 0; r < res.restarts; r++) {
    int gone = res.diverged_at[r] >= 0;
    count += gone;
    CHECK(gone == !isfinite(res.restart_measurement[r]), "restart %d: diverged_at %d but measurement %g", r,
          res.diverged_at[r], res.restart_measurement[r]);
    if (!gone && survivor < 0 && r > 0 && res.diverged_at[r - 1] >= 0) survivor = r;
  }
  CHECK(count == res.diverged, "diverged count %d, marked %d", res.diverged, count);
  CHECK(res.diverged_at[res.chosen] < 0, "the chosen restart %d diverged", res.chosen);
  CHECK(all_finite(&res.image) && isfinite(res.measurement), "the returned image or loss is not finite");
  /* a survivor that had diverged companions computes the same losses in a
   * batch that ends with it (restart r's start is the same in both) */
  if (survivor > 0) {
    gpd_solve_options o2 = o;
    o2.restarts = survivor + 1;
    gpd_solve_result res2;
    if (gpd_solve(E, y, &GI, &GK, &o2, &res2) == 0) {
      float a = res.restart_measurement[survivor], b = res2.restart_measurement[survivor];
      CHECK(fabsf(a - b) <= 1e-3f * fabsf(b), "restart %d: measurement %.7g with 8 restarts, %.7g with %d", survivor, a,
            b, o2.restarts);
      gpd_solve_result_free(&res2);
    } else {
      CHECK(0, "second run: %s", gpd_last_error());
    }
  }
  gpd_solve_result_free(&res);

  o.lr = 50.0f;
  int rc = gpd_solve(E, y, &GI, &GK, &o, &res);
  CHECK(rc != 0, "lr 50 should make every restart diverge");
  CHECK(strstr(gpd_last_error(), "all 8 restarts diverged (NaN loss at step") != NULL, "message: %s", gpd_last_error());
  CHECK(res.image.data == NULL && res.restart_measurement == NULL, "a failed solve left allocations in the result");
}

/* G_I(z*) with a 10x14 block pushed by +-0.25 (green the other way): no
 * latent of an 8-dimensional generator makes that; y its blurry, noisy
 * measurement. */
static void beyond_range_problem(gpd_image *truth, gpd_image *y) {
  gpd_image_alloc(truth, 3, 32, 32);
  CHECK_OK(forward_one(&GI, ZI, truth->data));
  for (int c = 0; c < 3; c++)
    for (int py = 10; py < 20; py++)
      for (int px = 8; px < 22; px++) {
        float *v = &truth->data[((size_t)c * 32 + py) * 32 + px];
        *v = fminf(1.0f, fmaxf(0.0f, *v + (c == 1 ? -0.25f : 0.25f)));
      }
  CHECK_OK(gpd_blur_image(truth, KTRUE, 28, GPD_BOUNDARY_CIRCULAR, 0.01f, 6, y));
}

static gpd_solve_options alg2_options(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_2);
  o.restarts = 8;
  o.steps = 1500;
  o.seed = 3;
  return o;
}

static void test_alg2_beyond_range(void) {
  gpd_image truth, y;
  beyond_range_problem(&truth, &y);
  gpd_solve_options o1 = alg1_options(), o2 = alg2_options();
  gpd_solve_result r1, r2;
  if (gpd_solve(E, &y, &GI, &GK, &o1, &r1) != 0 || gpd_solve(E, &y, &GI, &GK, &o2, &r2) != 0) {
    CHECK(0, "Algorithm 1 / 2 beyond the range: %s", gpd_last_error());
    return;
  }
  double p1 = gpd_psnr(r1.image.data, truth.data, 3, 32, 32), p2 = gpd_psnr(r2.image.data, truth.data, 3, 32, 32);
  double prange = gpd_psnr(r2.range_image.data, truth.data, 3, 32, 32);
  fprintf(stderr, "beyond the range: Algorithm 1 %.2f dB, Algorithm 2 %.2f dB (its G_I(z_i) %.2f dB)\n", p1, p2, prange);
  CHECK(p2 > p1 + 3.0, "Algorithm 2 (%.2f dB) is not clearly closer to the truth than Algorithm 1 (%.2f dB)", p2, p1);
  CHECK(r2.range_image.data && r2.range_image.h == 32, "Algorithm 2 returns no range image");
  for (int r = 0; r < r2.restarts; r++)
    CHECK(r2.measurement <= r2.restart_measurement[r], "Algorithm 2 chose restart %d but %d has a lower residual",
          r2.chosen, r);
  gpd_solve_result_free(&r1);
  gpd_solve_result_free(&r2);
  gpd_image_free(&truth);
  gpd_image_free(&y);
}

/* Piecewise smooth: a ramp, a brighter disc and a dark bar. */
static void synthetic_image(gpd_image *im) {
  gpd_image_alloc(im, 1, 32, 32);
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++) {
      float v = 0.2f + 0.4f * x / 31.0f;
      if ((x - 19) * (x - 19) + (y - 12) * (y - 12) < 49) v = 0.85f;
      if (y >= 22 && y < 27 && x >= 4 && x < 24) v = 0.1f;
      im->data[y * 32 + x] = v;
    }
}

static void test_alg3(void) {
  gpd_image full = {0}, truth = {0}, y = {0};
  const char *data = shared_data_dir();
  char path[1200];
  int natural = 0;
  if (data) {
    snprintf(path, sizeof path, "%s/natural/set12/05.png", data);
    if (gpd_image_load(&full, path, 1) == 0 && gpd_image_center_crop(&full, 32, 32, &truth) == 0) natural = 1;
  }
  if (!natural) {
    fprintf(stderr, "Algorithm 3: ../shared/data/natural/set12/05.png not available; using a synthetic image\n");
    synthetic_image(&truth);
  }
  CHECK_OK(gpd_blur_image(&truth, KTRUE, 28, GPD_BOUNDARY_CIRCULAR, 0.01f, 7, &y));
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_3);
  o.restarts = 1;
  o.steps = 1000;
  o.untrained_width = 16;
  o.seed = 3;
  gpd_solve_result res;
  if (gpd_solve(E, &y, NULL, &GK, &o, &res) != 0) {
    CHECK(0, "Algorithm 3: %s", gpd_last_error());
  } else {
    double pb = gpd_psnr(y.data, truth.data, 1, 32, 32), p3 = gpd_psnr(res.image.data, truth.data, 1, 32, 32);
    fprintf(stderr, "Algorithm 3 on %s: PSNR %.2f dB, blurry %.2f dB\n", natural ? "set12/05 (32x32 crop)" : "a synthetic image",
            p3, pb);
    CHECK(p3 > pb + 3.0, "Algorithm 3 PSNR %.2f dB is not clearly above the blurry input's %.2f dB", p3, pb);
    CHECK(res.image.c == 1 && res.image.h == 32 && res.image.w == 32, "Algorithm 3 image is %dx%dx%d", res.image.h,
          res.image.w, res.image.c);
    gpd_solve_result_free(&res);
  }
  /* restarts run one after another there: all of them diverging is the
   * same one-line error */
  o.restarts = 2;
  o.steps = 30;
  o.fit_steps = 2;
  o.lr_z = 1e20f; /* Adam steps of 1e20: kernels of 1e20, losses overflow */
  if (gpd_solve(E, &y, NULL, &GK, &o, &res) == 0) {
    CHECK(0, "Algorithm 3 with lr_z 1e20 did not fail");
    gpd_solve_result_free(&res);
  }
  CHECK(strstr(gpd_last_error(), "all 2 restarts diverged (NaN loss at step") != NULL, "message: %s",
        gpd_last_error());
  gpd_image_free(&full);
  gpd_image_free(&truth);
  gpd_image_free(&y);
}

static void expect_error(const char *what, const gpd_image *y, gpd_net *gi, gpd_net *gk, gpd_algorithm alg,
                         gpd_boundary b, const char *message) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, alg);
  o.boundary = b;
  o.steps = 1;
  o.restarts = 1;
  gpd_solve_result res;
  int rc = gpd_solve(E, y, gi, gk, &o, &res);
  CHECK(rc != 0, "%s: accepted", what);
  CHECK(strstr(gpd_last_error(), message) != NULL, "%s: message '%s' does not contain '%s'", what, gpd_last_error(),
        message);
  CHECK(!strchr(gpd_last_error(), '\n'), "%s: message has more than one line", what);
}

static void test_validation(void) {
  gpd_image wrong, gray, small, linear_ok;
  gpd_image_alloc(&wrong, 3, 100, 80);
  gpd_image_alloc(&gray, 1, 32, 32);
  gpd_image_alloc(&small, 3, 20, 20);
  gpd_image_alloc(&linear_ok, 3, 5, 5);
  memset(wrong.data, 0, sizeof(float) * 3 * 100 * 80);
  memset(gray.data, 0, sizeof(float) * 32 * 32);
  memset(small.data, 0, sizeof(float) * 3 * 20 * 20);
  memset(linear_ok.data, 0, sizeof(float) * 3 * 5 * 5);
  expect_error("size", &wrong, &GI, &GK, GPD_ALG_1, GPD_BOUNDARY_CIRCULAR,
               "image is 100x80x3 but the image generator makes 32x32x3 (circular boundary)");
  expect_error("channels", &gray, &GI, &GK, GPD_ALG_2, GPD_BOUNDARY_CIRCULAR,
               "image is 32x32x1 but the image generator makes 32x32x3");
  expect_error("linear size", &small, &GI, &GK, GPD_ALG_1, GPD_BOUNDARY_LINEAR, "the blurry image must be 5x5x3");
  expect_error("kernel fit", &small, NULL, &GK, GPD_ALG_3, GPD_BOUNDARY_CIRCULAR,
               "the blur generator's 28x28 kernel does not fit a 20x20 image");
  expect_error("generator as blur generator", &linear_ok, &GI, &GI, GPD_ALG_1, GPD_BOUNDARY_LINEAR,
               "not 1-channel square kernels");
  expect_error("no blur generator", &linear_ok, &GI, NULL, GPD_ALG_1, GPD_BOUNDARY_LINEAR,
               "Algorithm 1 needs a blur generator");
  /* and the linear boundary's right size is accepted: 32 - 28 + 1 = 5 */
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.boundary = GPD_BOUNDARY_LINEAR;
  o.restarts = 2;
  o.steps = 2;
  gpd_solve_result res;
  CHECK_OK(gpd_solve(E, &linear_ok, &GI, &GK, &o, &res));
  CHECK(res.image.h == 32 && res.image.w == 32, "linear boundary image is %dx%d (expected the generator's 32x32)",
        res.image.h, res.image.w);
  gpd_solve_result_free(&res);
  gpd_image_free(&wrong);
  gpd_image_free(&gray);
  gpd_image_free(&small);
  gpd_image_free(&linear_ok);
}

/* A copy of net on engine e (same layers, parameters and buffers). */
static int copy_net(gpd_net *dst, const gpd_net *src, gpd_engine *e) {
  *dst = *src;
  GPD_TRY(gpd_net_alloc(dst, e));
  float *h = malloc(sizeof(float) * (src->n_params + src->n_buffers + 1));
  int rc = h ? 0 : gpd_error("out of host memory");
  if (rc == 0) rc = E->download(E, h, src->params, src->n_params);
  if (rc == 0) rc = e->upload(e, dst->params, h, src->n_params);
  if (rc == 0 && src->n_buffers) rc = E->download(E, h, src->buffers, src->n_buffers);
  if (rc == 0 && src->n_buffers) rc = e->upload(e, dst->buffers, h, src->n_buffers);
  free(h);
  return rc;
}

/* PSNR of the image Algorithm `o` recovers from y on engine e with gi, gk. */
static double solve_psnr(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o,
                         const gpd_image *truth) {
  gpd_solve_result res;
  if (gpd_solve(e, y, gi, gk, o, &res) != 0) {
    CHECK(0, "%s engine: %s", e->name, gpd_last_error());
    return NAN;
  }
  double p = gpd_psnr(res.image.data, truth->data, 3, 32, 32);
  gpd_solve_result_free(&res);
  return p;
}

/* bf16 on the cpu engine (its conv / dense layers in bf16, fp32
 * accumulation) recovers what fp32 recovers: Algorithm 1 on the image in
 * the range, Algorithm 2 beyond it, the same generators' weights on a
 * bf16 engine. Measured: 34.609 against 34.654 dB (Algorithm 1) and 22.661
 * against 22.657 dB (Algorithm 2); bf16 rounds each layer's inputs to 8
 * bits of mantissa, so the bound is 0.1 dB. */
static void test_bf16_recovery(const gpd_image *truth, const gpd_image *y) {
  gpd_engine *e16 = gpd_engine_cpu_create_precision(GPD_PRECISION_BF16);
  gpd_net gi16, gk16;
  if (!e16 || copy_net(&gi16, &GI, e16) != 0 || copy_net(&gk16, &GK, e16) != 0) {
    CHECK(0, "bf16 engine and nets: %s", gpd_last_error());
    return;
  }
  gpd_image truth2, y2;
  beyond_range_problem(&truth2, &y2);
  const gpd_solve_options o1 = alg1_options(), o2 = alg2_options();
  const double a1 = solve_psnr(E, y, &GI, &GK, &o1, truth), b1 = solve_psnr(e16, y, &gi16, &gk16, &o1, truth);
  const double a2 = solve_psnr(E, &y2, &GI, &GK, &o2, &truth2), b2 = solve_psnr(e16, &y2, &gi16, &gk16, &o2, &truth2);
  fprintf(stderr, "bf16 against fp32: Algorithm 1 %.3f dB (fp32 %.3f), Algorithm 2 beyond the range %.3f dB (fp32 %.3f)\n",
          b1, a1, b2, a2);
  CHECK(fabs(b1 - a1) <= 0.1, "Algorithm 1 in bf16: %.3f dB, fp32 %.3f dB", b1, a1);
  CHECK(fabs(b2 - a2) <= 0.1, "Algorithm 2 in bf16: %.3f dB, fp32 %.3f dB", b2, a2);
  gpd_image_free(&truth2);
  gpd_image_free(&y2);
  gpd_net_free(&gi16);
  gpd_net_free(&gk16);
  gpd_engine_destroy(e16);
}

int main(void) {
  E = gpd_engine_cpu_create();
  if (!E) {
    fprintf(stderr, "%s\n", gpd_last_error());
    return 1;
  }
  CHECK_OK(make_net(&GI, "dcgan_tf", "generator", 8, 3, 32, 8, 1, 5.0f));
  CHECK_OK(make_compact_kernel_net(&GK, 4, 7, 28, 2));
  if (check_failures) return check_report("test_solver_recovery");
  gpd_rng r;
  gpd_rng_seed(&r, 1);
  gpd_rng_fill_normal(&r, ZI, 8, 0.0f, 1.0f);
  gpd_rng_fill_normal(&r, ZK, 4, 0.0f, 1.0f);
  CHECK_OK(normalise_kernels(&GK, ZK, 0)); /* the true kernel sums to 1 */
  CHECK_OK(forward_one(&GK, ZK, KTRUE));

  gpd_image truth, y;
  gpd_image_alloc(&truth, 3, 32, 32);
  CHECK_OK(forward_one(&GI, ZI, truth.data));
  CHECK_OK(gpd_blur_image(&truth, KTRUE, 28, GPD_BOUNDARY_CIRCULAR, 0.01f, 5, &y));

  test_validation();
  test_alg1(&truth, &y);
  test_divergence(&y);
  test_alg2_beyond_range();
  test_alg3();
  test_bf16_recovery(&truth, &y);

  gpd_image_free(&truth);
  gpd_image_free(&y);
  gpd_net_free(&GI);
  gpd_net_free(&GK);
  gpd_engine_destroy(E);
  return check_report("test_solver_recovery");
}
