/* PSNR and SSIM against scikit-image (tests/fixtures/skimage_metrics.bin from
 * scripts/make_skimage_fixture.py), known answers for the shift-tolerant
 * metrics and the kernel error, and PNG loading against the same fixture. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/image.h"
#include "gpd/metrics.h"

#define FIXTURE_MAGIC 0x4D535047u
#define FIXTURE_VERSION 1u

typedef struct {
  int c, h, w;
  double psnr, ssim;
  float *a, *b;
} pair;

static int read_fixture(const char *path, pair **out, int *count) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  uint32_t head[3];
  int ok = fread(head, 4, 3, f) == 3 && head[0] == FIXTURE_MAGIC && head[1] == FIXTURE_VERSION;
  pair *p = ok ? calloc(head[2], sizeof *p) : NULL;
  for (uint32_t i = 0; p && i < head[2]; i++) {
    int32_t dims[3];
    double ref[2];
    if (fread(dims, 4, 3, f) != 3 || fread(ref, 8, 2, f) != 2) {
      ok = 0;
      break;
    }
    size_t n = (size_t)dims[0] * dims[1] * dims[2];
    p[i] = (pair){dims[0], dims[1], dims[2], ref[0], ref[1], malloc(n * 4), malloc(n * 4)};
    if (fread(p[i].a, 4, n, f) != n || fread(p[i].b, 4, n, f) != n) {
      ok = 0;
      break;
    }
  }
  fclose(f);
  if (!ok) return -1;
  *out = p;
  *count = (int)head[2];
  return 0;
}

static void test_against_skimage(void) {
  pair *p;
  int n;
  const char *path = source_path("tests/fixtures/skimage_metrics.bin");
  if (read_fixture(path, &p, &n) != 0) {
    CHECK(0, "cannot read fixture %s (bad magic/version?)", path);
    return;
  }
  CHECK(n >= 5, "fixture has %d pairs", n);
  for (int i = 0; i < n; i++) {
    double ps = gpd_psnr(p[i].b, p[i].a, p[i].c, p[i].h, p[i].w);
    double ss = gpd_ssim(p[i].a, p[i].b, p[i].c, p[i].h, p[i].w);
    fprintf(stderr, "  %dx%dx%d: PSNR %.6f (skimage %.6f)  SSIM %.8f (skimage %.8f)\n", p[i].c, p[i].h, p[i].w, ps,
            p[i].psnr, ss, p[i].ssim);
    CHECK(fabs(ps - p[i].psnr) < 1e-5, "pair %d PSNR %.8f vs %.8f", i, ps, p[i].psnr);
    CHECK(fabs(ss - p[i].ssim) < 1e-6, "pair %d SSIM %.8f vs %.8f", i, ss, p[i].ssim);
    /* SSIM is symmetric in its arguments */
    double sr = gpd_ssim(p[i].b, p[i].a, p[i].c, p[i].h, p[i].w);
    CHECK(fabs(sr - ss) < 1e-12, "pair %d SSIM not symmetric: %.12f vs %.12f", i, sr, ss);
  }

  /* PNG loading: pair 0's `a` is tests/fixtures/chelsea_64.png / 255 (CHW). */
  gpd_image im = {0}, g = {0};
  CHECK_OK(gpd_image_load(&im, source_path("tests/fixtures/chelsea_64.png"), 0));
  CHECK(im.c == 3 && im.h == 64 && im.w == 64, "chelsea_64.png loaded as %dx%dx%d", im.h, im.w, im.c);
  if (im.c == 3 && im.h == 64 && im.w == 64 && p[0].c == 3) check_close("chelsea_64.png", im.data, p[0].a, 3 * 64 * 64, 1e-7, 0);
  /* forced gray is the ITU-R 601 luma of the same pixels */
  CHECK_OK(gpd_image_load(&g, source_path("tests/fixtures/chelsea_64.png"), 1));
  if (g.c == 1 && im.c == 3) {
    float luma[64 * 64];
    for (int i = 0; i < 64 * 64; i++) luma[i] = 0.299f * im.data[i] + 0.587f * im.data[4096 + i] + 0.114f * im.data[8192 + i];
    check_close("gray load", g.data, luma, 64 * 64, 1e-6, 0);
  }
  gpd_image_free(&im);
  gpd_image_free(&g);
  for (int i = 0; i < n; i++) {
    free(p[i].a);
    free(p[i].b);
  }
  free(p);
}

static void test_known_answers(void) {
  enum { C = 2, H = 20, W = 24 };
  static float a[C * H * W], b[C * H * W];
  for (int i = 0; i < C * H * W; i++) {
    a[i] = (float)(200 + (i * 37) % 501) / 1024.0f; /* on a 2^-10 grid so the offset below is exact */
    b[i] = a[i] + 0.125f; /* MSE = 1/64, PSNR = 20 log10(8) */
  }
  double ps = gpd_psnr(a, b, C, H, W);
  CHECK(fabs(ps - 20.0 * log10(8.0)) < 1e-9, "PSNR of a constant 1/8 offset: %.12f", ps);
  CHECK(isinf(gpd_psnr(a, a, C, H, W)) && gpd_psnr(a, a, C, H, W) > 0, "PSNR of identical images should be +inf");
  CHECK(fabs(gpd_ssim(a, a, C, H, W) - 1.0) < 1e-12, "SSIM of identical images: %.15f", gpd_ssim(a, a, C, H, W));
  gpd_clear_error();
  CHECK(isnan(gpd_ssim(a, b, 1, 10, 30)), "SSIM of a 10-row image must fail (11x11 window)");
  CHECK(strstr(gpd_last_error(), "11x11") != NULL, "error says why: '%s'", gpd_last_error());
}

/* restored[y][x] = sharp[y - dy][x - dx] (circularly): the shift-tolerant
 * metrics must find the shift back. */
static void test_shift_tolerant(void) {
  enum { C = 3, H = 40, W = 36, DY = 2, DX = -3 };
  static float sharp[C * H * W], restored[C * H * W], noisy[C * H * W];
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        sharp[(c * H + y) * W + x] = 0.5f + 0.25f * sinf(0.37f * x + 0.21f * y * y / H + c) * cosf(0.29f * y - 0.5f * c);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        restored[(c * H + y) * W + x] = sharp[(c * H + (y - DY + H) % H) * W + (x - DX + W) % W];
  double plain = gpd_psnr(restored, sharp, C, H, W);
  double tol = gpd_psnr_shift_tolerant(restored, sharp, C, H, W, 3, 4);
  double ssim = gpd_ssim_shift_tolerant(restored, sharp, C, H, W, 3, 4);
  CHECK(isfinite(plain) && plain < 20, "plain PSNR of a shifted image: %.3f", plain);
  CHECK(isinf(tol), "shift-tolerant PSNR (max 3) should find the (2,-3) shift exactly: %.3f", tol);
  CHECK(fabs(ssim - 1.0) < 1e-12, "shift-tolerant SSIM at the found shift: %.15f", ssim);
  double short_reach = gpd_psnr_shift_tolerant(restored, sharp, C, H, W, 2, 4);
  CHECK(isfinite(short_reach), "a +-2 search cannot undo a 3-pixel shift: %.3f", short_reach);

  /* With noise, compare against the metrics of explicitly aligned crops. */
  for (int i = 0; i < C * H * W; i++) noisy[i] = restored[i] + 0.03f * sinf(12.9898f * i);
  enum { B = 5, HH = H - 2 * B, WW = W - 2 * B };
  static float ra[C * HH * WW], sb[C * HH * WW];
  for (int c = 0; c < C; c++)
    for (int y = 0; y < HH; y++)
      for (int x = 0; x < WW; x++) {
        ra[(c * HH + y) * WW + x] = noisy[(c * H + y + B + DY) * W + x + B + DX];
        sb[(c * HH + y) * WW + x] = sharp[(c * H + y + B) * W + x + B];
      }
  double p_ref = gpd_psnr(ra, sb, C, HH, WW), s_ref = gpd_ssim(ra, sb, C, HH, WW);
  double p_st = gpd_psnr_shift_tolerant(noisy, sharp, C, H, W, 4, B);
  double s_st = gpd_ssim_shift_tolerant(noisy, sharp, C, H, W, 4, B);
  CHECK(fabs(p_st - p_ref) < 1e-9, "noisy shift-tolerant PSNR %.9f vs aligned crop %.9f", p_st, p_ref);
  CHECK(fabs(s_st - s_ref) < 1e-12, "noisy shift-tolerant SSIM %.12f vs aligned crop %.12f", s_st, s_ref);
  /* the border is at least the search radius, so windows stay inside */
  double p_small_border = gpd_psnr_shift_tolerant(noisy, sharp, C, H, W, 4, 0);
  double p_b4 = gpd_psnr_shift_tolerant(noisy, sharp, C, H, W, 4, 4);
  CHECK(p_small_border == p_b4, "border below the shift acts as border = shift: %.9f vs %.9f", p_small_border, p_b4);
  gpd_clear_error();
  CHECK(isnan(gpd_psnr_shift_tolerant(noisy, sharp, C, H, W, 4, 18)), "a border that leaves nothing must fail");
  CHECK(gpd_last_error()[0] != 0, "and say why");
}

static void test_kernel_error(void) {
  enum { K = 28 };
  float kt[K * K], k[K * K];
  CHECK_OK(gpd_motion_kernel(kt, K, 11, 5, 12));
  /* k = kt moved by (+1, -2): inside the canvas since length <= 12 */
  memset(k, 0, sizeof k);
  for (int y = 0; y < K; y++)
    for (int x = 0; x < K; x++) {
      int sy = y - 1, sx = x + 2;
      if (sy >= 0 && sy < K && sx >= 0 && sx < K) k[y * K + x] = kt[sy * K + sx];
    }
  double e0 = gpd_kernel_error(k, kt, K, 0), e2 = gpd_kernel_error(k, kt, K, 2);
  CHECK(e0 > 0.1, "unshifted error of a moved kernel: %.6f", e0);
  CHECK(e2 < 1e-7, "error after the best shift: %.3g", e2);
  for (int i = 0; i < K * K; i++) k[i] = 1.25f * kt[i];
  double es = gpd_kernel_error(k, kt, K, 3);
  CHECK(fabs(es - 0.25) < 1e-6, "relative error of 1.25 * k: %.9f", es);
  /* a kernel pushed off the canvas is not a perfect match */
  float d1[K * K] = {0}, d2[K * K] = {0};
  d1[0] = 1.0f;
  d2[1] = 1.0f;
  double ec = gpd_kernel_error(d1, d2, K, 1);
  CHECK(fabs(ec) < 1e-12, "deltas one pixel apart: %.3g", ec);
  d2[1] = 0.0f;
  d2[K * K - 1] = 1.0f;
  double ef = gpd_kernel_error(d1, d2, K, 2);
  CHECK(fabs(ef - sqrt(2.0)) < 1e-12, "far deltas: %.12f (sqrt 2)", ef);
}

int main(void) {
  test_against_skimage();
  test_known_answers();
  test_shift_tolerant();
  test_kernel_error();
  return check_report("test_metrics");
}
