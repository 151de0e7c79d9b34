/* The solver's data term (gpd/solve.h) on the CPU engine, against a
 * double-precision direct (spatial) convolution written here:
 *  - loss[n] = (1/C) sum (blur(x, k) - y)^2 for both boundaries, C = 1 and 3,
 *    odd, even and non-square images, odd and even K (5 and 28 on 32x32);
 *  - dx and dk against central finite differences of the data term's own
 *    loss (exact for a quadratic up to rounding), both boundaries;
 *  - y broadcast: y_items = 1 (and 2) with N = 3 equals y repeated. */
#include <math.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/rng.h"
#include "gpd/solve.h"

static gpd_rng rng;
static gpd_engine *eng;

static float *random_floats(size_t n, float lo, float hi) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)gpd_rng_uniform(&rng);
  return x;
}

/* Nonnegative kernels of sum 1, like blur kernels. */
static float *random_kernels(int n, int K) {
  float *k = random_floats((size_t)n * K * K, 0, 1);
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < K * K; j++) s += k[i * K * K + j];
    for (int j = 0; j < K * K; j++) k[i * K * K + j] /= (float)s;
  }
  return k;
}

static float *to_engine(const float *host, size_t n) {
  float *d = eng->alloc(eng, n, "test tensor");
  if (d && eng->upload(eng, d, host, n) != 0) return NULL;
  return d;
}

static int y_height(int h, int K, gpd_boundary b) { return b == GPD_BOUNDARY_LINEAR ? h - K + 1 : h; }

/* Direct convolution in double, one item: x (C,H,W), k (K,K) -> z (C,Hy,Wy).
 * circular: z[p,q] = sum_{a,b} k[a,b] x[(p - a + K/2) mod H, (q - b + K/2) mod W]
 *   (kernel centre (K/2, K/2) at the origin: a centred delta is the identity);
 * linear:   z[p,q] = sum_{a,b} k[a,b] x[p + K-1 - a, q + K-1 - b], the 'valid'
 *   part of the full linear convolution. */
static void blur_direct(const float *x, int c, int h, int w, const float *k, int K, gpd_boundary bd, double *z) {
  const int hy = y_height(h, K, bd), wy = y_height(w, K, bd);
  for (int ch = 0; ch < c; ch++)
    for (int p = 0; p < hy; p++)
      for (int q = 0; q < wy; q++) {
        double s = 0;
        for (int a = 0; a < K; a++)
          for (int b = 0; b < K; b++) {
            int yy, xx;
            if (bd == GPD_BOUNDARY_CIRCULAR) {
              yy = ((p - a + K / 2) % h + h) % h;
              xx = ((q - b + K / 2) % w + w) % w;
            } else {
              yy = p + K - 1 - a;
              xx = q + K - 1 - b;
            }
            s += (double)k[a * K + b] * x[((size_t)ch * h + yy) * w + xx];
          }
        z[((size_t)ch * hy + p) * wy + q] = s;
      }
}

static double ref_loss(const float *x, int c, int h, int w, const float *k, int K, gpd_boundary bd, const float *y) {
  const size_t cnt = (size_t)c * y_height(h, K, bd) * y_height(w, K, bd);
  double *z = malloc(cnt * sizeof *z), s = 0;
  blur_direct(x, c, h, w, k, K, bd, z);
  for (size_t j = 0; j < cnt; j++) s += (z[j] - y[j]) * (z[j] - y[j]);
  free(z);
  return s / c;
}

static const char *bname(gpd_boundary b) { return b == GPD_BOUNDARY_LINEAR ? "linear" : "circular"; }

/* (1) loss values against the direct convolution. */
static void test_loss(gpd_boundary bd, int c, int h, int w, int K) {
  const int n = 2, hy = y_height(h, K, bd), wy = y_height(w, K, bd);
  const size_t xi = (size_t)c * h * w, yi = (size_t)c * hy * wy;
  float *x = random_floats(n * xi, 0, 1), *k = random_kernels(n, K), *y = random_floats(n * yi, 0, 1);
  float *dx_ = to_engine(x, n * xi), *dk_ = to_engine(k, (size_t)n * K * K), *dy_ = to_engine(y, n * yi);
  float *dloss = eng->alloc(eng, n, "loss"), loss[2], ref[2];
  gpd_data_term *d = gpd_data_term_create(eng, n, c, h, w, K, bd);
  CHECK(d != NULL, "create %s C=%d %dx%d K=%d: %s", bname(bd), c, h, w, K, gpd_last_error());
  if (!d) return;
  CHECK_OK(gpd_data_term_eval(d, dx_, dk_, dy_, n, 0.7f, dloss, NULL, NULL));
  CHECK_OK(eng->download(eng, loss, dloss, n));
  for (int i = 0; i < n; i++) ref[i] = (float)ref_loss(x + i * xi, c, h, w, k + i * K * K, K, bd, y + i * yi);
  char what[96];
  snprintf(what, sizeof what, "loss %s C=%d %dx%d K=%d", bname(bd), c, h, w, K);
  check_close(what, loss, ref, n, 1e-6, 1e-4);

  /* y = the exact blur of x: the loss vanishes (no shift, no flip) */
  double *z = malloc(yi * sizeof *z);
  double ysq = 0;
  for (int i = 0; i < n; i++) {
    blur_direct(x + i * xi, c, h, w, k + i * K * K, K, bd, z);
    for (size_t j = 0; j < yi; j++) y[i * yi + j] = (float)z[j], ysq += z[j] * z[j] / c;
  }
  CHECK_OK(eng->upload(eng, dy_, y, n * yi));
  CHECK_OK(gpd_data_term_eval(d, dx_, dk_, dy_, n, 1.0f, dloss, NULL, NULL));
  CHECK_OK(eng->download(eng, loss, dloss, n));
  CHECK(loss[0] >= 0 && loss[0] < 1e-9 * ysq && loss[1] >= 0 && loss[1] < 1e-9 * ysq,
        "%s: exact measurement gives loss %g, %g (sum y^2 / C = %g)", what, loss[0], loss[1], ysq);
  free(z);
  gpd_data_term_free(d);
  eng->free(eng, dx_), eng->free(eng, dk_), eng->free(eng, dy_), eng->free(eng, dloss);
  free(x), free(k), free(y);
}

/* Loss of item `item` at the current host x, k (uploaded each time). */
static float loss_at(gpd_data_term *d, int n, size_t xcnt, size_t kcnt, const float *x, const float *k, float *ex, float *ek,
                     const float *ey, int y_items, float *eloss, int item) {
  float loss[4];
  CHECK_OK(eng->upload(eng, ex, x, xcnt));
  CHECK_OK(eng->upload(eng, ek, k, kcnt));
  CHECK_OK(gpd_data_term_eval(d, ex, ek, ey, y_items, 1.0f, eloss, NULL, NULL));
  CHECK_OK(eng->download(eng, loss, eloss, n));
  return loss[item];
}

/* (2) dx and dk against central finite differences. The loss is quadratic
 * in x (and in k), so central differences are exact but for rounding and
 * steps can be large; dx_samples < 0 checks every pixel. */
static void test_gradients(gpd_boundary bd, int c, int h, int w, int K, int dx_samples) {
  const int n = 2, hy = y_height(h, K, bd), wy = y_height(w, K, bd);
  const size_t xcnt = (size_t)n * c * h * w, kcnt = (size_t)n * K * K, ycnt = (size_t)n * c * hy * wy;
  const size_t xi = xcnt / n, ki = kcnt / n;
  const float weight = 0.7f;
  float *x = random_floats(xcnt, 0, 1), *k = random_kernels(n, K), *y = random_floats(ycnt, 0, 1);
  float *ex = to_engine(x, xcnt), *ek = to_engine(k, kcnt), *ey = to_engine(y, ycnt);
  float *eloss = eng->alloc(eng, n, "loss"), *edx = eng->alloc(eng, xcnt, "dx"), *edk = eng->alloc(eng, kcnt, "dk");
  float *gx = malloc(xcnt * sizeof *gx), *gk = malloc(kcnt * sizeof *gk);
  gpd_data_term *d = gpd_data_term_create(eng, n, c, h, w, K, bd);
  CHECK(d != NULL, "create: %s", gpd_last_error());
  if (!d) return;
  /* gradients overwrite: start from garbage */
  CHECK_OK(eng->fill(eng, edx, 1e3f, xcnt));
  CHECK_OK(eng->fill(eng, edk, -1e3f, kcnt));
  CHECK_OK(gpd_data_term_eval(d, ex, ek, ey, n, weight, eloss, edx, edk));
  CHECK_OK(eng->download(eng, gx, edx, xcnt));
  CHECK_OK(eng->download(eng, gk, edk, kcnt));

  char what[96];
  /* dk: every entry */
  const float ek_step = 0.05f, ex_step = 10.0f;
  float *fd = malloc((xcnt > kcnt ? xcnt : kcnt) * sizeof *fd), *got = malloc((xcnt > kcnt ? xcnt : kcnt) * sizeof *got);
  double gmax = 0;
  for (size_t j = 0; j < kcnt; j++) {
    const int item = (int)(j / ki);
    const float keep = k[j];
    k[j] = keep + ek_step;
    const float hi = loss_at(d, n, xcnt, kcnt, x, k, ex, ek, ey, n, eloss, item);
    k[j] = keep - ek_step;
    const float lo = loss_at(d, n, xcnt, kcnt, x, k, ex, ek, ey, n, eloss, item);
    k[j] = keep;
    fd[j] = weight * (hi - lo) / (2 * ek_step);
    if (fabs(fd[j]) > gmax) gmax = fabs(fd[j]);
  }
  snprintf(what, sizeof what, "dk %s C=%d %dx%d K=%d", bname(bd), c, h, w, K);
  check_close(what, gk, fd, kcnt, 1e-4 * gmax + 1e-7, 2e-3);

  /* dx: every pixel, or a sample */
  const size_t checks = dx_samples < 0 ? xcnt : (size_t)dx_samples;
  gmax = 0;
  for (size_t s = 0; s < checks; s++) {
    const size_t j = dx_samples < 0 ? s : (size_t)gpd_rng_int(&rng, 0, (int)xcnt - 1);
    const int item = (int)(j / xi);
    const float keep = x[j];
    x[j] = keep + ex_step;
    const float hi = loss_at(d, n, xcnt, kcnt, x, k, ex, ek, ey, n, eloss, item);
    x[j] = keep - ex_step;
    const float lo = loss_at(d, n, xcnt, kcnt, x, k, ex, ek, ey, n, eloss, item);
    x[j] = keep;
    fd[s] = weight * (hi - lo) / (2 * ex_step);
    got[s] = gx[j];
    if (fabs(fd[s]) > gmax) gmax = fabs(fd[s]);
  }
  snprintf(what, sizeof what, "dx %s C=%d %dx%d K=%d", bname(bd), c, h, w, K);
  check_close(what, got, fd, checks, 1e-4 * gmax + 1e-7, 2e-3);

  /* asking for one gradient alone gives the same numbers */
  float *gx1 = malloc(xcnt * sizeof *gx1), *gk1 = malloc(kcnt * sizeof *gk1);
  CHECK_OK(eng->upload(eng, ex, x, xcnt));
  CHECK_OK(eng->upload(eng, ek, k, kcnt));
  CHECK_OK(gpd_data_term_eval(d, ex, ek, ey, n, weight, NULL, edx, NULL));
  CHECK_OK(eng->download(eng, gx1, edx, xcnt));
  CHECK_OK(gpd_data_term_eval(d, ex, ek, ey, n, weight, NULL, NULL, edk));
  CHECK_OK(eng->download(eng, gk1, edk, kcnt));
  CHECK(!memcmp(gx, gx1, xcnt * sizeof *gx) && !memcmp(gk, gk1, kcnt * sizeof *gk), "%s: dx or dk alone differs", what);

  free(gx1), free(gk1), free(fd), free(got), free(gx), free(gk), free(x), free(k), free(y);
  gpd_data_term_free(d);
  eng->free(eng, ex), eng->free(eng, ek), eng->free(eng, ey), eng->free(eng, eloss), eng->free(eng, edx), eng->free(eng, edk);
}

/* (3) y broadcast: N = 3 items sharing y_items = 1 (or 2) measurements give
 * exactly what an explicitly repeated y gives, and the reference loss. */
static void test_broadcast(gpd_boundary bd, int y_items) {
  const int n = 3, c = 3, h = 16, w = 12, K = 5, hy = y_height(h, K, bd), wy = y_height(w, K, bd);
  const size_t xi = (size_t)c * h * w, yi = (size_t)c * hy * wy;
  float *x = random_floats(n * xi, 0, 1), *k = random_kernels(n, K), *y = random_floats(y_items * yi, 0, 1);
  float *yrep = malloc(n * yi * sizeof *yrep);
  for (int i = 0; i < n; i++) memcpy(yrep + i * yi, y + (i % y_items) * yi, yi * sizeof *y);
  float *ex = to_engine(x, n * xi), *ek = to_engine(k, (size_t)n * K * K);
  float *ey = to_engine(y, y_items * yi), *eyrep = to_engine(yrep, n * yi);
  float *eloss = eng->alloc(eng, n, "loss"), *edx = eng->alloc(eng, n * xi, "dx"), *edk = eng->alloc(eng, (size_t)n * K * K, "dk");
  float loss[3], loss2[3], ref[3];
  float *gx = malloc(n * xi * sizeof *gx), *gx2 = malloc(n * xi * sizeof *gx);
  float *gk = malloc(n * K * K * sizeof *gk), *gk2 = malloc(n * K * K * sizeof *gk);
  gpd_data_term *d = gpd_data_term_create(eng, n, c, h, w, K, bd);
  CHECK(d != NULL, "create: %s", gpd_last_error());
  if (!d) return;
  CHECK_OK(gpd_data_term_eval(d, ex, ek, ey, y_items, 1.5f, eloss, edx, edk));
  CHECK_OK(eng->download(eng, loss, eloss, n));
  CHECK_OK(eng->download(eng, gx, edx, n * xi));
  CHECK_OK(eng->download(eng, gk, edk, (size_t)n * K * K));
  CHECK_OK(gpd_data_term_eval(d, ex, ek, eyrep, n, 1.5f, eloss, edx, edk));
  CHECK_OK(eng->download(eng, loss2, eloss, n));
  CHECK_OK(eng->download(eng, gx2, edx, n * xi));
  CHECK_OK(eng->download(eng, gk2, edk, (size_t)n * K * K));
  for (int i = 0; i < n; i++) ref[i] = (float)ref_loss(x + i * xi, c, h, w, k + i * K * K, K, bd, y + (i % y_items) * yi);
  char what[64];
  snprintf(what, sizeof what, "broadcast %s y_items=%d loss", bname(bd), y_items);
  check_close(what, loss, ref, n, 1e-6, 1e-4);
  CHECK(!memcmp(loss, loss2, sizeof loss) && !memcmp(gx, gx2, n * xi * sizeof *gx) && !memcmp(gk, gk2, n * K * K * sizeof *gk),
        "%s: broadcast y differs from the repeated y", what);
  free(x), free(k), free(y), free(yrep), free(gx), free(gx2), free(gk), free(gk2);
  gpd_data_term_free(d);
  eng->free(eng, ex), eng->free(eng, ek), eng->free(eng, ey), eng->free(eng, eyrep);
  eng->free(eng, eloss), eng->free(eng, edx), eng->free(eng, edk);
}

static void test_errors(void) {
  CHECK(gpd_data_term_create(eng, 1, 1, 8, 8, 9, GPD_BOUNDARY_CIRCULAR) == NULL, "a 9x9 kernel accepted on 8x8");
  CHECK(strstr(gpd_last_error(), "kernel") != NULL, "error names the kernel: %s", gpd_last_error());
  CHECK(gpd_data_term_create(eng, 0, 1, 8, 8, 3, GPD_BOUNDARY_LINEAR) == NULL, "N=0 accepted");
  gpd_data_term *d = gpd_data_term_create(eng, 1, 1, 8, 8, 3, GPD_BOUNDARY_LINEAR);
  CHECK(d != NULL, "create: %s", gpd_last_error());
  float *buf = eng->alloc(eng, 64, "buf");
  CHECK(gpd_data_term_eval(d, buf, buf, buf, 0, 1.0f, buf, NULL, NULL) == -1, "y_items = 0 accepted");
  eng->free(eng, buf);
  gpd_data_term_free(d);
  gpd_data_term_free(NULL);
}

int main(void) {
  eng = gpd_engine_cpu_create();
  if (!eng) {
    fprintf(stderr, "gpd_engine_cpu_create: %s\n", gpd_last_error());
    return 1;
  }
  gpd_rng_seed(&rng, 7);
  const gpd_boundary bds[2] = {GPD_BOUNDARY_CIRCULAR, GPD_BOUNDARY_LINEAR};
  const int sizes[][3] = {{32, 32, 5}, {32, 32, 28}, {31, 33, 5}, {31, 33, 28}, {20, 15, 6}, {9, 9, 9}};
  for (int b = 0; b < 2; b++)
    for (int c = 1; c <= 3; c += 2)
      for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) test_loss(bds[b], c, sizes[s][0], sizes[s][1], sizes[s][2]);
  for (int b = 0; b < 2; b++)
    for (int c = 1; c <= 3; c += 2) {
      test_gradients(bds[b], c, 9, 8, 3, -1);
      test_gradients(bds[b], c, 10, 11, 4, -1);
    }
  test_gradients(GPD_BOUNDARY_CIRCULAR, 3, 32, 32, 28, 150);
  test_gradients(GPD_BOUNDARY_LINEAR, 3, 31, 33, 28, 150);
  for (int b = 0; b < 2; b++) {
    test_broadcast(bds[b], 1);
    test_broadcast(bds[b], 2);
  }
  test_errors();
  gpd_engine_destroy(eng);
  return check_report("test_data_term");
}
