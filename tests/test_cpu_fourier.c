/* The CPU engine's non-layer ops, called directly (no engine table needed):
 * FFTs against a naive double DFT, complex products, canvas and valid-window
 * ops (placement and exact adjointness), reductions, total variation (a
 * hand-checked value, gradient against finite differences), SGD and Adam
 * against a direct double reference, gather, elementwise ops. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "../host/cpu/cpu_ops.h"
#include "gpd/common.h"
#include "gpd/rng.h"

static gpd_rng rng;

static float *random_floats(size_t n, float lo, float hi) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)gpd_rng_uniform(&rng);
  return x;
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* ---- FFT ------------------------------------------------------------------ */

/* Naive double DFT of one real H x W plane, half spectrum H x (W/2+1). */
static void dft_r2c_naive(int h, int w, const float *x, double *X) {
  const int wc = w / 2 + 1;
  for (int u = 0; u < h; u++)
    for (int v = 0; v < wc; v++) {
      double re = 0, im = 0;
      for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
          double ph = -2 * M_PI * ((double)u * y / h + (double)v * xx / w);
          re += x[y * w + xx] * cos(ph);
          im += x[y * w + xx] * sin(ph);
        }
      X[2 * (u * wc + v)] = re;
      X[2 * (u * wc + v) + 1] = im;
    }
}

/* Naive unnormalised inverse of a Hermitian half spectrum: the full spectrum
 * is X[u,v] for v <= W/2 and conj(X[-u,-v]) beyond. */
static void dft_c2r_naive(int h, int w, const float *X, double *x) {
  const int wc = w / 2 + 1;
  for (int y = 0; y < h; y++)
    for (int xx = 0; xx < w; xx++) {
      double s = 0;
      for (int u = 0; u < h; u++)
        for (int v = 0; v < w; v++) {
          double re, im;
          if (v < wc) {
            re = X[2 * (u * wc + v)];
            im = X[2 * (u * wc + v) + 1];
          } else {
            int uu = (h - u) % h, vv = w - v;
            re = X[2 * (uu * wc + vv)];
            im = -X[2 * (uu * wc + vv) + 1];
          }
          double ph = 2 * M_PI * ((double)u * y / h + (double)v * xx / w);
          s += re * cos(ph) - im * sin(ph);
        }
      x[y * w + xx] = s;
    }
}

static void test_fft(void) {
  gpd_engine e = {0};
  const int sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {2, 8, 6}, {4, 6, 9}, {1, 16, 16}, {2, 7, 8}, {5, 3, 2}, {1, 32, 31}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const int b = sizes[s][0], h = sizes[s][1], w = sizes[s][2];
    const size_t plane = (size_t)h * w, spec = (size_t)h * (w / 2 + 1);
    /* +1 and the offset: tensors are offsets into buffers, not aligned. */
    float *x = random_floats(b * plane + 1, -1, 1);
    float *X = calloc(2 * b * spec + 1, sizeof *X);
    float *back = calloc(b * plane + 1, sizeof *back);
    float *Xcopy = malloc(2 * b * spec * sizeof *Xcopy);
    float *ref = malloc(2 * spec * sizeof *ref);
    double *dref = malloc(2 * spec * sizeof *dref), *dback = malloc(plane * sizeof *dback);
    const float *xs = x + 1;
    float *Xs = X + 1, *bs = back + 1;
    char what[64];

    CHECK_OK(cpu_fft_r2c(&e, b, h, w, xs, Xs));
    const double atol = 1e-5 * sqrt((double)plane) + 1e-6;
    for (int i = 0; i < b; i++) {
      dft_r2c_naive(h, w, xs + i * plane, dref);
      for (size_t j = 0; j < 2 * spec; j++) ref[j] = (float)dref[j];
      snprintf(what, sizeof what, "r2c %dx%dx%d item %d", b, h, w, i);
      check_close(what, Xs + 2 * i * spec, ref, 2 * spec, atol, 1e-5);
    }

    memcpy(Xcopy, Xs, 2 * b * spec * sizeof *Xcopy);
    CHECK_OK(cpu_fft_c2r(&e, b, h, w, Xs, bs));
    CHECK(memcmp(Xcopy, Xs, 2 * b * spec * sizeof *Xcopy) == 0, "c2r %dx%dx%d modified its input", b, h, w);
    for (int i = 0; i < b; i++) {
      dft_c2r_naive(h, w, Xs + 2 * i * spec, dback);
      float *fref = malloc(plane * sizeof *fref), *hw_x = malloc(plane * sizeof *hw_x);
      for (size_t j = 0; j < plane; j++) {
        fref[j] = (float)dback[j];
        hw_x[j] = (float)plane * xs[i * plane + j];
      }
      snprintf(what, sizeof what, "c2r %dx%dx%d item %d vs naive", b, h, w, i);
      check_close(what, bs + i * plane, fref, plane, atol * sqrt((double)plane), 1e-5);
      snprintf(what, sizeof what, "c2r(r2c(x)) %dx%dx%d item %d vs HW x", b, h, w, i);
      check_close(what, bs + i * plane, hw_x, plane, 1e-5 * plane, 1e-5);
      free(fref);
      free(hw_x);
    }
    free(x), free(X), free(back), free(Xcopy), free(ref), free(dref), free(dback);
  }
  /* A second call with a cached plan and different data, then a cleanup and
   * a fresh plan, give the same results as the first time. */
  {
    const int b = 2, h = 6, w = 5;
    float *x = random_floats(b * h * w, -1, 1), X1[2 * 2 * 6 * 3], X2[2 * 2 * 6 * 3];
    CHECK_OK(cpu_fft_r2c(&e, b, h, w, x, X1));
    cpu_fft_cleanup(&e);
    CHECK_OK(cpu_fft_r2c(&e, b, h, w, x, X2));
    CHECK(memcmp(X1, X2, sizeof X1) == 0, "r2c after cleanup differs");
    free(x);
  }
  float dummy[4] = {0};
  CHECK(cpu_fft_r2c(&e, 1, 0, 4, dummy, dummy) == -1, "r2c accepted H=0");
  CHECK(strstr(gpd_last_error(), "fft_r2c") != NULL, "r2c error names the op: %s", gpd_last_error());
  CHECK(cpu_fft_c2r(&e, -1, 2, 2, dummy, dummy) == -1, "c2r accepted B=-1");
  cpu_fft_cleanup(&e);
}

/* ---- complex products ------------------------------------------------------ */

static void test_complex(void) {
  gpd_engine e = {0};
  const int n = 3, c = 4;
  const size_t m = 7;
  float *a = random_floats(2 * n * c * m, -1, 1), *bb = random_floats(2 * n * m, -1, 1);
  float *bc = random_floats(2 * n * c * m, -1, 1);
  float *out = calloc(2 * n * c * m, sizeof *out), *ref = calloc(2 * n * c * m, sizeof *ref);
  for (int conj = 0; conj <= 1; conj++) {
    const double sg = conj ? -1 : 1;
    /* broadcast */
    for (int i = 0; i < n; i++)
      for (int ch = 0; ch < c; ch++)
        for (size_t j = 0; j < m; j++) {
          size_t ai = 2 * (((size_t)i * c + ch) * m + j), bi = 2 * ((size_t)i * m + j);
          double ar = a[ai], aim = a[ai + 1], br = bb[bi], bim = sg * bb[bi + 1];
          ref[ai] = (float)(ar * br - aim * bim);
          ref[ai + 1] = (float)(ar * bim + aim * br);
        }
    CHECK_OK(cpu_complex_multiply_broadcast(&e, n, c, m, conj, a, bb, out));
    check_close(conj ? "broadcast conj" : "broadcast", out, ref, 2 * n * c * m, 1e-6, 1e-5);
    /* in place: out aliases a */
    float *acopy = malloc(2 * n * c * m * sizeof *acopy);
    memcpy(acopy, a, 2 * n * c * m * sizeof *acopy);
    CHECK_OK(cpu_complex_multiply_broadcast(&e, n, c, m, conj, acopy, bb, acopy));
    check_close("broadcast in place", acopy, ref, 2 * n * c * m, 1e-6, 1e-5);
    free(acopy);
    /* sum over channels */
    for (int i = 0; i < n; i++)
      for (size_t j = 0; j < m; j++) {
        double sr = 0, si = 0;
        for (int ch = 0; ch < c; ch++) {
          size_t k = 2 * (((size_t)i * c + ch) * m + j);
          double ar = a[k], aim = a[k + 1], br = bc[k], bim = sg * bc[k + 1];
          sr += ar * br - aim * bim;
          si += ar * bim + aim * br;
        }
        ref[2 * (i * m + j)] = (float)sr;
        ref[2 * (i * m + j) + 1] = (float)si;
      }
    for (size_t j = 0; j < 2 * n * m; j++) out[j] = 1e9f; /* overwritten, not accumulated */
    CHECK_OK(cpu_complex_multiply_sum_channels(&e, n, c, m, conj, a, bc, out));
    check_close(conj ? "sum_channels conj" : "sum_channels", out, ref, 2 * n * m, 1e-6, 1e-5);
  }
  /* a known value: (1+2i) * conj(3+4i) = 11 + 2i; (1+2i)(3+4i) = -5 + 10i */
  float p[2] = {1, 2}, q[2] = {3, 4}, r[2];
  CHECK_OK(cpu_complex_multiply_broadcast(&e, 1, 1, 1, 1, p, q, r));
  CHECK(r[0] == 11 && r[1] == 2, "(1+2i)conj(3+4i) = %g%+gi", r[0], r[1]);
  CHECK_OK(cpu_complex_multiply_sum_channels(&e, 1, 1, 1, 0, p, q, r));
  CHECK(r[0] == -5 && r[1] == 10, "(1+2i)(3+4i) = %g%+gi", r[0], r[1]);
  free(a), free(bb), free(bc), free(out), free(ref);
}

/* ---- canvas and valid window ---------------------------------------------- */

static void test_canvas(void) {
  gpd_engine e = {0};
  const int cases[][3] = {{3, 5, 5}, {4, 7, 6}, {5, 5, 5}, {28, 32, 32}, {28, 31, 33}, {1, 4, 3}, {2, 2, 9}};
  for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
    const int K = cases[s][0], h = cases[s][1], w = cases[s][2], n = 2;
    const size_t kk = (size_t)K * K, plane = (size_t)h * w;
    for (int centered = 0; centered <= 1; centered++) {
      float *k = random_floats(n * kk, 0.1f, 1), *canvas = random_floats(n * plane, -1, 1);
      float *cv = random_floats(n * plane, -1, 1), *dk = random_floats(n * kk, -1, 1);
      CHECK_OK(cpu_kernel_to_canvas(&e, n, K, h, w, centered, k, canvas));
      /* placement: centre (K/2, K/2) at (0, 0) with wrap, or [0, K) */
      int misplaced = 0;
      double ksum = 0, csum = 0;
      for (int i = 0; i < n; i++) {
        for (int a = 0; a < K; a++)
          for (int b = 0; b < K; b++) {
            int y = centered ? ((a - K / 2) % h + h) % h : a;
            int x = centered ? ((b - K / 2) % w + w) % w : b;
            if (canvas[i * plane + (size_t)y * w + x] != k[i * kk + a * K + b]) misplaced++;
            ksum += k[i * kk + a * K + b];
          }
        for (size_t j = 0; j < plane; j++) csum += canvas[i * plane + j];
      }
      CHECK(misplaced == 0, "K=%d %dx%d centered=%d: %d kernel cells misplaced", K, h, w, centered, misplaced);
      CHECK(fabs(ksum - csum) < 1e-4, "K=%d %dx%d centered=%d: canvas sum %g != kernel sum %g (not zero elsewhere)", K, h, w, centered, csum, ksum);
      /* adjoint: <A k, c> = <k, A^T c> */
      CHECK_OK(cpu_kernel_from_canvas(&e, n, K, h, w, centered, cv, dk));
      double lhs = dot(canvas, cv, n * plane), rhs = dot(k, dk, n * kk);
      CHECK(fabs(lhs - rhs) <= 1e-5 * (fabs(lhs) + 1), "canvas adjoint K=%d %dx%d centered=%d: %.9g vs %.9g", K, h, w, centered, lhs, rhs);
      free(k), free(canvas), free(cv), free(dk);
    }
    /* valid crop / pad, C = 3 */
    const int c = 3, hv = h - K + 1, wv = w - K + 1;
    const size_t full_n = (size_t)n * c * plane, valid_n = (size_t)n * c * hv * wv;
    float *full = random_floats(full_n, -1, 1), *valid = random_floats(valid_n, -1, 1);
    float *crop = random_floats(valid_n, -1, 1), *pad = random_floats(full_n, -1, 1);
    CHECK_OK(cpu_valid_crop(&e, n, c, h, w, K, full, crop));
    CHECK_OK(cpu_valid_pad(&e, n, c, h, w, K, valid, pad));
    int wrong = 0;
    for (int p = 0; p < n * c; p++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          int inside = y >= K - 1 && x >= K - 1;
          float pv = pad[p * plane + (size_t)y * w + x];
          if (inside) {
            size_t vi = (size_t)p * hv * wv + (size_t)(y - K + 1) * wv + (x - K + 1);
            if (pv != valid[vi] || crop[vi] != full[p * plane + (size_t)y * w + x]) wrong++;
          } else if (pv != 0) {
            wrong++;
          }
        }
    CHECK(wrong == 0, "valid crop/pad K=%d %dx%d: %d values wrong", K, h, w, wrong);
    double lhs = dot(crop, valid, valid_n), rhs = dot(full, pad, full_n);
    CHECK(fabs(lhs - rhs) <= 1e-5 * (fabs(lhs) + 1), "valid adjoint K=%d %dx%d: %.9g vs %.9g", K, h, w, lhs, rhs);
    free(full), free(valid), free(crop), free(pad);
  }
  float dummy[64] = {0};
  CHECK(cpu_kernel_to_canvas(&e, 1, 5, 4, 8, 1, dummy, dummy) == -1, "a 5x5 kernel accepted on a 4x8 canvas");
  CHECK(cpu_valid_crop(&e, 1, 1, 4, 4, 5, dummy, dummy) == -1, "valid_crop accepted K > H");
}

/* ---- reductions --------------------------------------------------------------- */

static void test_reduce(void) {
  gpd_engine e = {0};
  const int items = 4;
  const size_t per = 1001;
  float *a = random_floats(items * per, -2, 2), *b = random_floats(items * per, -2, 2);
  float out[4], ref[4];
  for (int kind = 0; kind < 3; kind++) {
    for (int i = 0; i < items; i++) {
      double s = 0;
      for (size_t j = 0; j < per; j++) {
        double x = a[i * per + j], d = x - b[i * per + j];
        s += kind == 0 ? x * x : kind == 1 ? d * d : x;
      }
      ref[i] = (float)s;
    }
    if (kind == 0) CHECK_OK(cpu_sum_squares_per_item(&e, items, per, a, out));
    if (kind == 1) CHECK_OK(cpu_squared_distance_per_item(&e, items, per, a, b, out));
    if (kind == 2) CHECK_OK(cpu_sum_per_item(&e, items, per, a, out));
    check_close(kind == 0 ? "sum_squares" : kind == 1 ? "squared_distance" : "sum", out, ref, items, 1e-6, 1e-6);
  }
  /* 2^24 + 1 ones: a float accumulator stalls at 2^24, a double one does not */
  const size_t big = ((size_t)1 << 24) + 8;
  float *ones = malloc(big * sizeof *ones);
  for (size_t j = 0; j < big; j++) ones[j] = 1.0f;
  float s;
  CHECK_OK(cpu_sum_per_item(&e, 1, big, ones, &s));
  CHECK(s == (float)big, "sum of %zu ones = %.1f", big, s);
  CHECK_OK(cpu_sum_squares_per_item(&e, 1, big, ones, &s));
  CHECK(s == (float)big, "sum of squares of %zu ones = %.1f", big, s);
  free(ones), free(a), free(b);
}

/* ---- total variation -------------------------------------------------------- */

static void test_tv(void) {
  gpd_engine e = {0};
  /* item 0: one channel [[0,1,3],[2,2,0]]: horizontal 1+2+0+2 = 5,
   * vertical 2+1+3 = 6, so 11. item 1: that plane and -2 times it: 33. */
  float x[3 * 6] = {0, 1, 3, 2, 2, 0, 0, 1, 3, 2, 2, 0, 0, -2, -6, -4, -4, 0}, out[2];
  CHECK_OK(cpu_tv_forward(&e, 1, 1, 2, 3, x, out));
  CHECK(out[0] == 11.0f, "tv of the 2x3 example = %g, expected 11", out[0]);
  CHECK_OK(cpu_tv_forward(&e, 1, 2, 2, 3, x + 6, out + 1));
  CHECK(out[1] == 33.0f, "tv of the 2-channel example = %g, expected 33", out[1]);
  /* The example's gradient by hand: a difference d = x[q] - x[p] adds
   * sign(d) at q and -sign(d) at p.
   * (0,0): right d=1 -1, down d=2 -1            -> -2
   * (0,1): left +1, right d=2 -1, down d=1 -1   -> -1
   * (0,2): left +1, down d=-3 +1                -> +2
   * (1,0): up +1, right d=0 (sign 0)            -> +1
   * (1,1): up +1, left 0, right d=-2 +1         -> +2
   * (1,2): up -1, left -1                       -> -2 */
  float g[6] = {0}, gref[6] = {-2, -1, 2, 1, 2, -2};
  CHECK_OK(cpu_tv_backward(&e, 1, 1, 2, 3, 1.0f, x, g));
  check_close("tv gradient of the example", g, gref, 6, 0, 0);

  /* finite differences on values distinct by >= 0.05, so +-0.01 never
   * crosses a kink and TV is linear there */
  const int n = 2, c = 2, h = 5, w = 4;
  const size_t cnt = (size_t)n * c * h * w;
  float *v = malloc(cnt * sizeof *v), *dx = malloc(cnt * sizeof *dx), *fd = malloc(cnt * sizeof *fd);
  for (size_t j = 0; j < cnt; j++) v[j] = 0.05f * j;
  for (size_t j = cnt - 1; j > 0; j--) { /* shuffle */
    size_t r = (size_t)gpd_rng_int(&rng, 0, (int)j);
    float t = v[j];
    v[j] = v[r];
    v[r] = t;
  }
  const float weight = 0.3f, eps = 0.01f, base = 0.5f;
  for (size_t j = 0; j < cnt; j++) dx[j] = base;
  CHECK_OK(cpu_tv_backward(&e, n, c, h, w, weight, v, dx));
  const size_t item = (size_t)c * h * w;
  for (size_t j = 0; j < cnt; j++) {
    float keep = v[j], lo[2], hi[2];
    v[j] = keep + eps;
    cpu_tv_forward(&e, n, c, h, w, v, hi);
    v[j] = keep - eps;
    cpu_tv_forward(&e, n, c, h, w, v, lo);
    v[j] = keep;
    int it = (int)(j / item);
    fd[j] = base + weight * (hi[it] - lo[it]) / (2 * eps);
  }
  check_close("tv gradient vs finite differences (accumulated, weighted)", dx, fd, cnt, 2e-3, 0);
  /* sign(0) = 0: a constant image has zero gradient */
  for (size_t j = 0; j < cnt; j++) v[j] = 0.25f, dx[j] = 0;
  CHECK_OK(cpu_tv_backward(&e, n, c, h, w, 1.0f, v, dx));
  int nonzero = 0;
  for (size_t j = 0; j < cnt; j++) nonzero += dx[j] != 0;
  CHECK(nonzero == 0, "constant image: %d nonzero tv gradients", nonzero);
  free(v), free(dx), free(fd);
}

/* ---- optimisers -------------------------------------------------------------- */

static void test_optim(void) {
  gpd_engine e = {0};
  const size_t cnt = 257;
  const float lr = 0.005f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  float *p = random_floats(cnt, -1, 1), *m = calloc(cnt, sizeof *m), *v = calloc(cnt, sizeof *v);
  double *pr = malloc(cnt * sizeof *pr), *mr = calloc(cnt, sizeof *mr), *vr = calloc(cnt, sizeof *vr);
  float *pref = malloc(cnt * sizeof *pref), *p0 = malloc(cnt * sizeof *p0);
  for (size_t j = 0; j < cnt; j++) pr[j] = p[j], p0[j] = p[j];
  for (int t = 1; t <= 12; t++) {
    float *g = random_floats(cnt, -1, 1);
    if (t == 3) g[0] = 0; /* a zero gradient: v stays tiny, eps matters */
    CHECK_OK(cpu_adam_step(&e, cnt, lr, b1, b2, eps, t, g, m, v, p));
    for (size_t j = 0; j < cnt; j++) {
      mr[j] = b1 * mr[j] + (1 - (double)b1) * g[j];
      vr[j] = b2 * vr[j] + (1 - (double)b2) * (double)g[j] * g[j];
      double mhat = mr[j] / (1 - pow(b1, t)), vhat = vr[j] / (1 - pow(b2, t));
      pr[j] -= lr * mhat / (sqrt(vhat) + eps);
    }
    if (t == 1) {
      /* the first step moves every parameter by lr * sign(g) */
      int off = 0;
      for (size_t j = 0; j < cnt; j++)
        if (fabs((p0[j] - p[j]) - lr * (g[j] > 0 ? 1 : -1)) > 1e-6) off++;
      CHECK(off == 0, "adam first step: %d parameters did not move by lr*sign(g)", off);
    }
    free(g);
  }
  for (size_t j = 0; j < cnt; j++) pref[j] = (float)pr[j];
  check_close("adam 12 steps vs double reference", p, pref, cnt, 2e-6, 1e-5);
  for (size_t j = 0; j < cnt; j++) pref[j] = (float)mr[j];
  check_close("adam first moment", m, pref, cnt, 1e-6, 1e-5);
  for (size_t j = 0; j < cnt; j++) pref[j] = (float)vr[j];
  check_close("adam second moment", v, pref, cnt, 1e-8, 1e-5);
  float dummy = 0;
  CHECK(cpu_adam_step(&e, 1, lr, b1, b2, eps, 0, &dummy, &dummy, &dummy, &dummy) == -1, "adam accepted step 0");

  /* SGD: several steps p -= lr g */
  for (size_t j = 0; j < cnt; j++) pr[j] = p[j];
  for (int t = 0; t < 5; t++) {
    float *g = random_floats(cnt, -3, 3);
    CHECK_OK(cpu_sgd_step(&e, cnt, 0.1f, g, p));
    for (size_t j = 0; j < cnt; j++) pr[j] -= 0.1 * g[j];
    free(g);
  }
  for (size_t j = 0; j < cnt; j++) pref[j] = (float)pr[j];
  check_close("sgd 5 steps", p, pref, cnt, 1e-6, 1e-5);
  free(p), free(m), free(v), free(pr), free(mr), free(vr), free(pref), free(p0);
}

/* ---- gather and elementwise ------------------------------------------------- */

static void test_gather_elementwise(void) {
  gpd_engine e = {0};
  float src[4 * 3], dst[5 * 3];
  for (int j = 0; j < 12; j++) src[j] = (float)j;
  const int index[5] = {3, 0, 3, 2, 1};
  CHECK_OK(cpu_gather_items(&e, 5, 3, index, src, dst));
  int wrong = 0;
  for (int j = 0; j < 5; j++)
    for (int q = 0; q < 3; q++) wrong += dst[j * 3 + q] != (float)(index[j] * 3 + q);
  CHECK(wrong == 0, "gather: %d values wrong", wrong);
  const int bad[1] = {-1};
  CHECK(cpu_gather_items(&e, 1, 3, bad, src, dst) == -1, "gather accepted index -1");

  float x[4] = {1, -2, 3, 0.5f}, y[4] = {2, 2, -1, 4}, s[2] = {2, -3}, o[4];
  CHECK_OK(cpu_axpby(&e, 4, 2.0f, x, -1.0f, y)); /* 2x - y */
  CHECK(y[0] == 0 && y[1] == -6 && y[2] == 7 && y[3] == -3, "axpby: %g %g %g %g", y[0], y[1], y[2], y[3]);
  o[0] = NAN, o[1] = NAN, o[2] = NAN, o[3] = NAN;
  CHECK_OK(cpu_axpby(&e, 4, 3.0f, x, 0.0f, o)); /* beta = 0 does not read y */
  CHECK(o[0] == 3 && o[1] == -6 && o[2] == 9 && o[3] == 1.5f, "axpby beta=0: %g %g %g %g", o[0], o[1], o[2], o[3]);
  CHECK_OK(cpu_affine(&e, 4, -2.0f, x, 1.0f, o));
  CHECK(o[0] == -1 && o[1] == 5 && o[2] == -5 && o[3] == 0, "affine: %g %g %g %g", o[0], o[1], o[2], o[3]);
  CHECK_OK(cpu_scale_per_item(&e, 2, 2, s, x, o));
  CHECK(o[0] == 2 && o[1] == -4 && o[2] == -9 && o[3] == -1.5f, "scale_per_item: %g %g %g %g", o[0], o[1], o[2], o[3]);
  CHECK_OK(cpu_multiply(&e, 4, x, x, o));
  CHECK(o[0] == 1 && o[1] == 4 && o[2] == 9 && o[3] == 0.25f, "multiply: %g %g %g %g", o[0], o[1], o[2], o[3]);
  CHECK_OK(cpu_multiply(&e, 2, x, s, x)); /* in place */
  CHECK(x[0] == 2 && x[1] == 6, "multiply in place: %g %g", x[0], x[1]);
}

int main(void) {
  gpd_rng_seed(&rng, 20240611);
  test_fft();
  test_complex();
  test_canvas();
  test_reduce();
  test_tv();
  test_optim();
  test_gather_elementwise();
  return check_report("test_cpu_fourier");
}
