/* Blur kernels, the host forward model, kernel files and the PIL-matching
 * resize: properties and known answers, a naive scatter-form reference for
 * the circular convolution, and tests/fixtures/pil_resize.bin (from
 * scripts/make_pil_resize_fixture.py). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/image.h"

enum { K = 28 };

/* Support bounding box of a K x K kernel (values > 0). */
static void support_box(const float *k, int n, int *y0, int *y1, int *x0, int *x1) {
  *y0 = *x0 = n;
  *y1 = *x1 = -1;
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      if (k[y * n + x] > 0) {
        if (y < *y0) *y0 = y;
        if (y > *y1) *y1 = y;
        if (x < *x0) *x0 = x;
        if (x > *x1) *x1 = x;
      }
}

static void test_motion_kernels(void) {
  static float k[K * K], k2[K * K];
  int seen_min = 0, seen_max = 0;
  double side_short = 0, side_long = 0;
  int n_short = 0, n_long = 0;
  for (uint64_t s = 0; s < 300; s++) {
    int len = gpd_motion_kernel_length(s, 5, 28);
    CHECK(len >= 5 && len <= 28, "seed %llu: length %d outside [5, 28]", (unsigned long long)s, len);
    seen_min |= len == 5;
    seen_max |= len == 28;
    if (gpd_motion_kernel(k, K, s, 5, 28) != 0) {
      CHECK(0, "seed %llu: %s", (unsigned long long)s, gpd_last_error());
      continue;
    }
    double sum = 0;
    int neg = 0, finite = 1;
    for (int i = 0; i < K * K; i++) {
      sum += k[i];
      neg += k[i] < 0;
      finite &= isfinite(k[i]) != 0;
    }
    CHECK(finite && neg == 0, "seed %llu: %d negative or non-finite values", (unsigned long long)s, neg);
    CHECK(fabs(sum - 1.0) < 1e-5, "seed %llu: sum %.8f", (unsigned long long)s, sum);
    int y0, y1, x0, x1;
    support_box(k, K, &y0, &y1, &x0, &x1);
    int side = (y1 - y0 > x1 - x0 ? y1 - y0 : x1 - x0) + 1;
    /* A path of length L spans at most L pixels plus one on each side from
     * the bilinear weights; with anxiety 0.01 it never folds up to less than
     * ~0.45 L (measured over 2,000 seeds). */
    CHECK(side <= len + 2, "seed %llu: extent %d for length %d", (unsigned long long)s, side, len);
    CHECK(side >= 0.4 * len, "seed %llu: extent %d too small for length %d", (unsigned long long)s, side, len);
    /* centred on K/2: the bounding box centre within a pixel of 14, and a
     * path that fits (extent <= K-2) keeps row 0 and column 0 empty */
    CHECK(fabs(0.5 * (y0 + y1) - K / 2) <= 1.0 && fabs(0.5 * (x0 + x1) - K / 2) <= 1.0,
          "seed %llu: support box [%d,%d]x[%d,%d] not centred on %d", (unsigned long long)s, y0, y1, x0, x1, K / 2);
    if (len <= K - 2) CHECK(y0 >= 1 && x0 >= 1, "seed %llu: length %d touches the canvas edge", (unsigned long long)s, len);
    if (len <= 10) side_short += side, n_short++;
    if (len >= 22) side_long += side, n_long++;
    /* same seed: identical; next seed: different */
    CHECK_OK(gpd_motion_kernel(k2, K, s, 5, 28));
    CHECK(memcmp(k, k2, sizeof k) == 0, "seed %llu: not reproducible", (unsigned long long)s);
    CHECK_OK(gpd_motion_kernel(k2, K, s + 1, 5, 28));
    CHECK(memcmp(k, k2, sizeof k) != 0, "seeds %llu and %llu give the same kernel", (unsigned long long)s,
          (unsigned long long)s + 1);
  }
  CHECK(seen_min && seen_max, "300 seeds should draw both ends of [5, 28]");
  CHECK(n_short && n_long && side_long / n_long > 2.0 * side_short / n_short, "mean extent: %.1f (L <= 10), %.1f (L >= 22)",
        side_short / n_short, side_long / n_long);
  /* a fixed length range: lengths all equal */
  CHECK(gpd_motion_kernel_length(5, 9, 9) == 9, "length range [9, 9]");
  gpd_clear_error();
  CHECK(gpd_motion_kernel(k, K, 1, 5, 29) == -1 && strstr(gpd_last_error(), "29"), "length 29 on 28 canvas must fail: '%s'",
        gpd_last_error());
  CHECK(gpd_motion_kernel(k, K, 1, 6, 5) == -1, "empty length range must fail");
}

static void test_gaussian_kernel(void) {
  enum { N = 15 };
  float k[N * N];
  const float sigma = 1.7f;
  CHECK_OK(gpd_gaussian_kernel(k, N, sigma));
  double sum = 0, m2 = 0;
  int c = N / 2;
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++) {
      sum += k[y * N + x];
      m2 += k[y * N + x] * ((y - c) * (y - c) + (x - c) * (x - c));
      CHECK(fabsf(k[y * N + x] - k[(N - 1 - y) * N + (N - 1 - x)]) < 1e-9f, "not symmetric at %d,%d", y, x);
      CHECK(fabsf(k[y * N + x] - k[x * N + y]) < 1e-9f, "not isotropic at %d,%d", y, x);
    }
  CHECK(fabs(sum - 1.0) < 1e-6, "Gaussian sum %.8f", sum);
  /* E|r|^2 = 2 sigma^2 (the 15x15 window holds > 4 sigma) */
  CHECK(fabs(m2 - 2.0 * sigma * sigma) < 1e-3, "second moment %.6f vs %.6f", m2, 2.0 * sigma * sigma);
  CHECK(fabsf(k[c * N + c] / k[c * N + c + 1] - expf(0.5f / (sigma * sigma))) < 1e-4f, "centre / neighbour ratio");
  float ke[K * K];
  CHECK_OK(gpd_gaussian_kernel(ke, K, 2.0f));
  int best = 0;
  for (int i = 0; i < K * K; i++)
    if (ke[i] > ke[best]) best = i;
  CHECK(best == (K / 2) * K + K / 2, "even-size Gaussian peaks at %d, not at (K/2, K/2)", best);
  CHECK(gpd_gaussian_kernel(k, N, 0.0f) == -1, "sigma 0 must fail");
}

/* Circular blur written as a scatter with explicit modular indexing:
 * each input pixel s spreads k[q] * x[s] to (s + q - K/2) mod size. */
static void blur_scatter(const float *x, int c, int h, int w, const float *k, int n, double *y) {
  memset(y, 0, sizeof(double) * c * h * w);
  for (int ch = 0; ch < c; ch++)
    for (int sy = 0; sy < h; sy++)
      for (int sx = 0; sx < w; sx++)
        for (int qy = 0; qy < n; qy++)
          for (int qx = 0; qx < n; qx++) {
            int ty = ((sy + qy - n / 2) % h + h) % h, tx = ((sx + qx - n / 2) % w + w) % w;
            y[(ch * h + ty) * w + tx] += (double)k[qy * n + qx] * x[(ch * h + sy) * w + sx];
          }
}

static void fill_image(float *x, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u + seed * 40503u) % 1000u) / 1000.0f;
}

static void test_forward(void) {
  enum { C = 2, H = 33, W = 30 };
  static float x[C * H * W], y[C * H * W], yref[C * H * W], k[K * K];
  static double yd[C * H * W];
  fill_image(x, C * H * W, 3);
  CHECK_OK(gpd_motion_kernel(k, K, 42, 5, 28));
  gpd_blur_direct(x, C, H, W, k, K, GPD_BOUNDARY_CIRCULAR, y);
  blur_scatter(x, C, H, W, k, K, yd);
  for (int i = 0; i < C * H * W; i++) yref[i] = (float)yd[i];
  check_close("circular vs scatter", y, yref, C * H * W, 1e-6, 1e-6);

  /* odd kernel size, image smaller than twice the kernel (wraps twice) */
  float k5[25];
  for (int i = 0; i < 25; i++) k5[i] = (float)(i + 1) / 325.0f;
  float xs[7 * 6], ys[7 * 6], yrs[7 * 6];
  double yds[7 * 6];
  fill_image(xs, 42, 9);
  gpd_blur_direct(xs, 1, 7, 6, k5, 5, GPD_BOUNDARY_CIRCULAR, ys);
  blur_scatter(xs, 1, 7, 6, k5, 5, yds);
  for (int i = 0; i < 42; i++) yrs[i] = (float)yds[i];
  check_close("circular 5x5 on 7x6", ys, yrs, 42, 1e-6, 1e-6);

  /* a delta at the centre K/2 leaves the image unchanged, for even and odd K */
  int sizes[2] = {K, 5};
  for (int t = 0; t < 2; t++) {
    int n = sizes[t];
    float d[K * K] = {0};
    d[(n / 2) * n + n / 2] = 1.0f;
    gpd_blur_direct(x, C, H, W, d, n, GPD_BOUNDARY_CIRCULAR, y);
    CHECK(memcmp(x, y, sizeof x) == 0, "centred %dx%d delta shifted the image", n, n);
    /* a delta one to the right of centre moves the image one to the right */
    memset(d, 0, sizeof d);
    d[(n / 2) * n + n / 2 + 1] = 1.0f;
    gpd_blur_direct(x, C, H, W, d, n, GPD_BOUNDARY_CIRCULAR, y);
    int moved = 1;
    for (int c = 0; c < C; c++)
      for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++) moved &= y[(c * H + r) * W + q] == x[(c * H + r) * W + (q + W - 1) % W];
    CHECK(moved, "delta at (K/2, K/2+1) should move the image right by one (K = %d)", n);
  }

  /* linear: valid part of the convolution of a (H+K-1) image; it equals the
   * circular blur of that image away from its borders */
  enum { HB = H + K - 1, WB = W + K - 1 };
  static float big[C * HB * WB], ycirc[C * HB * WB], ylin[C * H * W], yint[C * H * W];
  fill_image(big, C * HB * WB, 5);
  gpd_blur_direct(big, C, H, W, k, K, GPD_BOUNDARY_LINEAR, ylin);
  gpd_blur_direct(big, C, HB, WB, k, K, GPD_BOUNDARY_CIRCULAR, ycirc);
  int off = K - 1 - K / 2;
  for (int c = 0; c < C; c++)
    for (int r = 0; r < H; r++)
      for (int q = 0; q < W; q++) yint[(c * H + r) * W + q] = ycirc[(c * HB + r + off) * WB + q + off];
  check_close("linear vs circular interior", ylin, yint, C * H * W, 1e-6, 1e-6);

  gpd_image sharp = {0}, blurry = {0}, b2 = {0};
  CHECK_OK(gpd_image_alloc(&sharp, C, HB, WB));
  memcpy(sharp.data, big, sizeof big);
  CHECK_OK(gpd_blur_image(&sharp, k, K, GPD_BOUNDARY_LINEAR, 0.0f, 1, &blurry));
  CHECK(blurry.c == C && blurry.h == H && blurry.w == W, "linear output %dx%dx%d, expected %dx%dx%d", blurry.h, blurry.w,
        blurry.c, H, W, C);
  if (blurry.h == H && blurry.w == W) check_close("blur_image linear, no noise", blurry.data, ylin, C * H * W, 0, 0);
  gpd_image_free(&blurry);

  /* noise: N(0, sigma^2) from the seed, reproducible, then clipped */
  for (int i = 0; i < C * HB * WB; i++) sharp.data[i] = 0.5f;
  const float sigma = 0.05f;
  CHECK_OK(gpd_blur_image(&sharp, k, K, GPD_BOUNDARY_CIRCULAR, sigma, 7, &blurry));
  CHECK_OK(gpd_blur_image(&sharp, k, K, GPD_BOUNDARY_CIRCULAR, sigma, 7, &b2));
  size_t n = (size_t)C * HB * WB;
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; i++) mean += blurry.data[i] - 0.5;
  mean /= n;
  for (size_t i = 0; i < n; i++) var += (blurry.data[i] - 0.5 - mean) * (blurry.data[i] - 0.5 - mean);
  double sd = sqrt(var / n);
  CHECK(fabs(mean) < 4 * sigma / sqrt((double)n), "noise mean %.5f", mean);
  CHECK(fabs(sd - sigma) < 0.05 * sigma, "noise std %.5f vs %.5f", sd, sigma);
  CHECK(blurry.data && b2.data && memcmp(blurry.data, b2.data, n * sizeof(float)) == 0, "noise not reproducible");
  gpd_image_free(&b2);
  CHECK_OK(gpd_blur_image(&sharp, k, K, GPD_BOUNDARY_CIRCULAR, sigma, 8, &b2));
  CHECK(b2.data && memcmp(blurry.data, b2.data, n * sizeof(float)) != 0, "another seed gives the same noise");
  gpd_image_free(&b2);
  gpd_image_free(&blurry);
  for (int i = 0; i < C * HB * WB; i++) sharp.data[i] = i % 2 ? 1.0f : 0.0f;
  CHECK_OK(gpd_blur_image(&sharp, k, K, GPD_BOUNDARY_CIRCULAR, 0.5f, 3, &blurry));
  float lo = 1, hi = 0;
  for (size_t i = 0; i < n; i++) lo = fminf(lo, blurry.data[i]), hi = fmaxf(hi, blurry.data[i]);
  CHECK(lo == 0.0f && hi == 1.0f, "strong noise should be clipped to exactly [0, 1]: [%g, %g]", lo, hi);
  gpd_image_free(&blurry);
  gpd_image_free(&sharp);

  /* a kernel larger than the image is refused with a message */
  CHECK_OK(gpd_image_alloc(&sharp, 1, 20, 40));
  memset(sharp.data, 0, sizeof(float) * 800);
  gpd_clear_error();
  CHECK(gpd_blur_image(&sharp, k, K, GPD_BOUNDARY_CIRCULAR, 0.01f, 1, &blurry) == -1, "28x28 kernel on 20x40 must fail");
  CHECK(strstr(gpd_last_error(), "larger") != NULL, "message: '%s'", gpd_last_error());
  gpd_image_free(&sharp);
}

static void test_kernel_files(void) {
  float k[K * K], *got = NULL;
  int n = 0;
  CHECK_OK(gpd_motion_kernel(k, K, 123, 5, 28));
  k[3] = 1.0f / 3.0f; /* digits that %.6g would lose */
  CHECK_OK(gpd_kernel_save(check_tmp_path("a.kernel"), k, K));
  CHECK_OK(gpd_kernel_load(check_tmp_path("a.kernel"), &got, &n));
  CHECK(n == K && got && memcmp(got, k, sizeof k) == 0, "kernel file round trip not exact (size %d)", n);
  free(got);
  got = NULL;

  /* save_both: the PNG beside it loads back as an 8-bit kernel */
  CHECK_OK(gpd_motion_kernel(k, K, 124, 5, 28));
  CHECK_OK(gpd_kernel_save_both(check_tmp_path("b.kernel"), k, K));
  CHECK(access(check_tmp_path("b.png"), R_OK) == 0, "save_both did not write b.png");
  CHECK_OK(gpd_kernel_load(check_tmp_path("b.png"), &got, &n));
  if (got && n == K) {
    double sum = 0, kmax = 0, gmax = 0;
    for (int i = 0; i < K * K; i++) sum += got[i], kmax = fmax(kmax, k[i]), gmax = fmax(gmax, got[i]);
    CHECK(fabs(sum - 1.0) < 1e-5, "kernel image normalised to %.8f", sum);
    float scaled[K * K];
    for (int i = 0; i < K * K; i++) scaled[i] = (float)(got[i] / gmax * kmax);
    check_close("kernel PNG", scaled, k, K * K, 1.0 / 255 * kmax + 1e-7, 0);
  } else {
    CHECK(0, "kernel PNG loaded with size %d", n);
  }
  free(got);
  got = NULL;

  /* Levin-style rows of numbers */
  FILE *f = fopen(check_tmp_path("levin.txt"), "w");
  fprintf(f, "0 0.25 0\n0.125 0.25 0.125\n\n0 0.25e0 0\n");
  fclose(f);
  CHECK_OK(gpd_kernel_load(check_tmp_path("levin.txt"), &got, &n));
  float want[9] = {0, 0.25f, 0, 0.125f, 0.25f, 0.125f, 0, 0.25f, 0};
  CHECK(n == 3 && got && memcmp(got, want, sizeof want) == 0, "Levin text kernel (size %d)", n);
  free(got);
  got = NULL;
  const char *shared = shared_data_dir();
  if (shared) {
    char p[1200];
    snprintf(p, sizeof p, "%s/levin/kernels/kernel1.txt", shared);
    CHECK_OK(gpd_kernel_load(p, &got, &n));
    double sum = 0;
    for (int i = 0; got && i < n * n; i++) sum += got[i];
    CHECK(n >= 13 && n <= 27 && fabs(sum - 1.0) < 1e-4, "Levin kernel1: size %d, sum %.6f", n, sum);
    free(got);
    got = NULL;
  } else {
    fprintf(stderr, "  (no ../shared/data: Levin kernel file check skipped)\n");
  }

  /* bad files name the file and say what is wrong */
  struct {
    const char *name, *text, *expect;
  } bad[] = {
      {"rect.txt", "1 2 3\n4 5 6\n", "not square"},
      {"ragged.txt", "1 2\n3\n", "row 2"},
      {"word.kernel", "gpdeblur-kernel 1 2\n0.5 0.5\n0.5 oops\n", "line 3"},
      {"short.kernel", "gpdeblur-kernel 1 3\n1 2 3\n", "ends after"},
      {"long.kernel", "gpdeblur-kernel 1 1\n1 2\n", "more than"},
      {"v2.kernel", "gpdeblur-kernel 2 1\n1\n", "version 2"},
      {"nan.txt", "nan 1\n1 1\n", "not a finite"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    f = fopen(check_tmp_path(bad[i].name), "w");
    fputs(bad[i].text, f);
    fclose(f);
    gpd_clear_error();
    int rc = gpd_kernel_load(check_tmp_path(bad[i].name), &got, &n);
    CHECK(rc == -1 && got == NULL, "%s should fail", bad[i].name);
    CHECK(strstr(gpd_last_error(), bad[i].name) && strstr(gpd_last_error(), bad[i].expect), "%s: message '%s'",
          bad[i].name, gpd_last_error());
  }
  gpd_clear_error();
  CHECK(gpd_kernel_load(check_tmp_path("missing.kernel"), &got, &n) == -1 && strstr(gpd_last_error(), "missing.kernel"),
        "missing file: '%s'", gpd_last_error());
}

/* gpd_image_resize / crop_resize against PIL's BILINEAR on float images. */
static void test_resize_pil(void) {
  const char *path = source_path("tests/fixtures/pil_resize.bin");
  FILE *f = fopen(path, "rb");
  uint32_t head[3];
  if (!f || fread(head, 4, 3, f) != 3 || head[0] != 0x5A525047u || head[1] != 1u) {
    CHECK(0, "cannot read %s (bad magic/version?)", path);
    if (f) fclose(f);
    return;
  }
  for (uint32_t t = 0; t < head[2]; t++) {
    int32_t d[6];
    if (fread(d, 4, 6, f) != 6) break;
    int c = d[0], h = d[1], w = d[2], crop = d[3], oh = d[4], ow = d[5];
    gpd_image src = {0}, out = {0};
    float *ref = malloc(sizeof(float) * c * oh * ow);
    CHECK_OK(gpd_image_alloc(&src, c, h, w));
    if (fread(src.data, 4, (size_t)c * h * w, f) != (size_t)c * h * w || fread(ref, 4, (size_t)c * oh * ow, f) != (size_t)c * oh * ow) {
      CHECK(0, "truncated fixture");
      break;
    }
    if (crop) CHECK_OK(gpd_image_crop_resize(&src, crop, oh, &out));
    else CHECK_OK(gpd_image_resize(&src, oh, ow, &out));
    char what[64];
    snprintf(what, sizeof what, "resize %dx%d%s -> %dx%d", h, w, crop ? " (crop)" : "", oh, ow);
    if (out.data && out.h == oh && out.w == ow && out.c == c) check_close(what, out.data, ref, (size_t)c * oh * ow, 2e-6, 0);
    else CHECK(0, "%s: wrong output shape", what);
    gpd_image_free(&src);
    gpd_image_free(&out);
    free(ref);
  }
  fclose(f);

  /* crop offsets round up; cropping larger than the image fails */
  gpd_image a = {0}, b = {0};
  CHECK_OK(gpd_image_alloc(&a, 1, 5, 4));
  for (int i = 0; i < 20; i++) a.data[i] = (float)i;
  CHECK_OK(gpd_image_center_crop(&a, 2, 3, &b));
  float want[6] = {9, 10, 11, 13, 14, 15}; /* rows 2-3, columns 1-3 */
  if (b.data) check_close("center crop", b.data, want, 6, 0, 0);
  gpd_image_free(&b);
  CHECK(gpd_image_center_crop(&a, 6, 2, &b) == -1, "crop larger than the image must fail");

  /* hstack: gray promoted to RGB, white gaps, padded to the tallest */
  gpd_image rgb = {0}, st = {0};
  CHECK_OK(gpd_image_alloc(&rgb, 3, 3, 2));
  for (int i = 0; i < 18; i++) rgb.data[i] = 0.0f;
  const gpd_image *list[2] = {&a, &rgb};
  CHECK_OK(gpd_image_hstack(list, 2, 1, &st));
  CHECK(st.c == 3 && st.h == 5 && st.w == 7, "hstack shape %dx%dx%d", st.h, st.w, st.c);
  if (st.c == 3 && st.h == 5 && st.w == 7) {
    CHECK(st.data[2 * 35 + 1 * 7 + 3] == 7.0f, "gray copied into the blue plane");
    CHECK(st.data[0 * 35 + 0 * 7 + 4] == 1.0f, "gap is white");
    CHECK(st.data[1 * 35 + 2 * 7 + 6] == 0.0f && st.data[1 * 35 + 4 * 7 + 6] == 1.0f, "short image padded with white");
  }
  gpd_image_free(&st);
  gpd_image_free(&rgb);
  gpd_image_free(&a);

  float kk[4] = {0, 0.25f, 0.5f, 0.25f};
  gpd_image ki = {0};
  CHECK_OK(gpd_image_from_kernel(kk, 2, 3, &ki));
  CHECK(ki.c == 1 && ki.h == 6 && ki.w == 6 && ki.data[0] == 0.0f && ki.data[5] == 0.5f && ki.data[35] == 0.5f &&
            ki.data[3 * 6 + 0] == 1.0f,
        "kernel image: zoom 3, scaled to max 1");
  gpd_image_free(&ki);
}

int main(void) {
  check_tmp_make("test_blur");
  test_motion_kernels();
  test_gaussian_kernel();
  test_forward();
  test_kernel_files();
  test_resize_pil();
  check_tmp_remove();
  return check_report("test_blur");
}
