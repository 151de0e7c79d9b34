/* PSNR, SSIM (as scikit-image computes it), the Levin benchmark's
 * shift-tolerant versions and the kernel error (gpd/metrics.h). */
#include "gpd/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"

/* ---- PSNR ---- */

/* Mean squared error of a window: rows [y0, y0+hh), cols [x0, x0+ww) of b
 * against the same window of a moved by (dy, dx). */
static double window_mse(const float *a, const float *b, int c, int h, int w, int y0, int x0, int hh, int ww, int dy,
                         int dx) {
  double sum = 0.0;
  for (int ch = 0; ch < c; ch++)
    for (int y = y0; y < y0 + hh; y++) {
      const float *ra = a + ((size_t)ch * h + y + dy) * w + x0 + dx;
      const float *rb = b + ((size_t)ch * h + y) * w + x0;
      for (int x = 0; x < ww; x++) {
        double d = (double)ra[x] - rb[x];
        sum += d * d;
      }
    }
  return sum / ((double)c * hh * ww);
}

/* data range 1: PSNR = 10 log10(1 / MSE); identical images give +inf. */
static double psnr_from_mse(double mse) { return mse > 0.0 ? -10.0 * log10(mse) : INFINITY; }

double gpd_psnr(const float *a, const float *b, int c, int h, int w) {
  if (c < 1 || h < 1 || w < 1) {
    gpd_error("PSNR of an empty %dx%dx%d image", h, w, c);
    return NAN;
  }
  return psnr_from_mse(window_mse(a, b, c, h, w, 0, 0, h, w, 0, 0));
}

/* ---- SSIM ----
 * skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=1): local statistics from
 * scipy.ndimage.gaussian_filter (truncate 3.5: radius int(3.5*1.5+0.5) = 5,
 * an 11-tap window, 'reflect' borders i.e. d c b a | a b c d | d c b a),
 * the SSIM map averaged after cropping the 5-pixel border the filter had to
 * invent. Everything in double, as skimage does for float64 input. */

enum { SSIM_RADIUS = 5, SSIM_WIN = 2 * SSIM_RADIUS + 1 };

static void ssim_taps(double *g) {
  const double sigma = 1.5;
  double sum = 0.0;
  for (int i = -SSIM_RADIUS; i <= SSIM_RADIUS; i++) {
    g[i + SSIM_RADIUS] = exp(-0.5 * i * i / (sigma * sigma));
    sum += g[i + SSIM_RADIUS];
  }
  for (int i = 0; i < SSIM_WIN; i++) g[i] /= sum;
}

/* scipy 'reflect' (half-sample symmetric), valid for any distance. */
static int reflect(int i, int n) {
  int period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

/* out (h, w) = Gaussian filter of in (h, w); tmp (h, w) scratch. */
static void gauss2d(const double *in, double *out, double *tmp, int h, int w, const double *g) {
  for (int y = 0; y < h; y++) /* scipy filters axis 0 first, then axis 1 */
    for (int x = 0; x < w; x++) {
      double acc = 0.0;
      for (int t = -SSIM_RADIUS; t <= SSIM_RADIUS; t++) acc += g[t + SSIM_RADIUS] * in[(size_t)reflect(y + t, h) * w + x];
      tmp[(size_t)y * w + x] = acc;
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double acc = 0.0;
      for (int t = -SSIM_RADIUS; t <= SSIM_RADIUS; t++) acc += g[t + SSIM_RADIUS] * tmp[(size_t)y * w + reflect(x + t, w)];
      out[(size_t)y * w + x] = acc;
    }
}

/* Mean SSIM of one channel: a and b are (h, w) windows with row stride
 * `stride`. */
static double ssim_channel(const float *a, const float *b, int h, int w, size_t stride_a, size_t stride_b,
                           double *buf) {
  const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;
  size_t n = (size_t)h * w;
  double *x = buf, *y = buf + n, *prod = buf + 2 * n, *tmp = buf + 3 * n;
  double *ux = buf + 4 * n, *uy = buf + 5 * n, *uxx = buf + 6 * n, *uyy = buf + 7 * n, *uxy = buf + 8 * n;
  double g[SSIM_WIN];
  ssim_taps(g);
  for (int i = 0; i < h; i++)
    for (int j = 0; j < w; j++) {
      x[(size_t)i * w + j] = a[i * stride_a + j];
      y[(size_t)i * w + j] = b[i * stride_b + j];
    }
  gauss2d(x, ux, tmp, h, w, g);
  gauss2d(y, uy, tmp, h, w, g);
  for (size_t i = 0; i < n; i++) prod[i] = x[i] * x[i];
  gauss2d(prod, uxx, tmp, h, w, g);
  for (size_t i = 0; i < n; i++) prod[i] = y[i] * y[i];
  gauss2d(prod, uyy, tmp, h, w, g);
  for (size_t i = 0; i < n; i++) prod[i] = x[i] * y[i];
  gauss2d(prod, uxy, tmp, h, w, g);
  double sum = 0.0;
  for (int i = SSIM_RADIUS; i < h - SSIM_RADIUS; i++)
    for (int j = SSIM_RADIUS; j < w - SSIM_RADIUS; j++) {
      size_t p = (size_t)i * w + j;
      double mx = ux[p], my = uy[p];
      double vx = uxx[p] - mx * mx, vy = uyy[p] - my * my, vxy = uxy[p] - mx * my;
      double num = (2 * mx * my + C1) * (2 * vxy + C2);
      double den = (mx * mx + my * my + C1) * (vx + vy + C2);
      sum += num / den;
    }
  return sum / ((double)(h - 2 * SSIM_RADIUS) * (w - 2 * SSIM_RADIUS));
}

/* SSIM of the (hh, ww) window at (y0, x0) of b against a moved by (dy, dx);
 * mean over channels. */
static double window_ssim(const float *a, const float *b, int c, int h, int w, int y0, int x0, int hh, int ww, int dy,
                          int dx) {
  if (hh < SSIM_WIN || ww < SSIM_WIN) {
    gpd_error("SSIM needs images of at least %dx%d pixels (got %dx%d)", SSIM_WIN, SSIM_WIN, hh, ww);
    return NAN;
  }
  double *buf = gpd_malloc(sizeof(double) * 9 * (size_t)hh * ww, "SSIM buffers");
  if (!buf) return NAN;
  double sum = 0.0;
  for (int ch = 0; ch < c; ch++) {
    const float *pa = a + ((size_t)ch * h + y0 + dy) * w + x0 + dx;
    const float *pb = b + ((size_t)ch * h + y0) * w + x0;
    sum += ssim_channel(pa, pb, hh, ww, (size_t)w, (size_t)w, buf);
  }
  free(buf);
  return sum / c;
}

double gpd_ssim(const float *a, const float *b, int c, int h, int w) {
  if (c < 1) {
    gpd_error("SSIM of an image with %d channels", c);
    return NAN;
  }
  return window_ssim(a, b, c, h, w, 0, 0, h, w, 0, 0);
}

/* ---- Levin et al.'s shift-tolerant comparison ----
 * A blind method recovers the image only up to a small translation (the
 * kernel can absorb it), so the restored image is aligned to the sharp one
 * first: the integer shift within +-max_shift with the lowest MSE over the
 * sharp image's interior (cropped by `border`, and at least by max_shift so
 * every shifted window stays inside the restored image). PSNR is taken at
 * that shift, and so is SSIM: the alignment is chosen once, by squared
 * error, as Levin's comp_upto_shift does, not separately per metric. */
static int best_shift(const float *restored, const float *sharp, int c, int h, int w, int max_shift, int border,
                      int *crop, int *by, int *bx, double *best_mse) {
  if (max_shift < 0 || border < 0) return gpd_error("shift-tolerant metrics: negative shift %d or border %d", max_shift, border);
  int m = border > max_shift ? border : max_shift;
  if (c < 1 || h - 2 * m < 1 || w - 2 * m < 1)
    return gpd_error("shift-tolerant metrics: a %dx%d image has no pixels left after a %d-pixel crop", h, w, m);
  double best = INFINITY;
  *by = *bx = 0;
  for (int dy = -max_shift; dy <= max_shift; dy++)
    for (int dx = -max_shift; dx <= max_shift; dx++) {
      double mse = window_mse(restored, sharp, c, h, w, m, m, h - 2 * m, w - 2 * m, dy, dx);
      /* ties keep the smallest |shift| seen first; the scan is deterministic */
      if (mse < best || (mse == best && abs(dy) + abs(dx) < abs(*by) + abs(*bx))) {
        best = mse;
        *by = dy;
        *bx = dx;
      }
    }
  *crop = m;
  *best_mse = best;
  return 0;
}

double gpd_psnr_shift_tolerant(const float *restored, const float *sharp, int c, int h, int w, int max_shift,
                               int border) {
  int m, dy, dx;
  double mse;
  if (best_shift(restored, sharp, c, h, w, max_shift, border, &m, &dy, &dx, &mse) != 0) return NAN;
  return psnr_from_mse(mse);
}

double gpd_ssim_shift_tolerant(const float *restored, const float *sharp, int c, int h, int w, int max_shift,
                               int border) {
  int m, dy, dx;
  double mse;
  if (best_shift(restored, sharp, c, h, w, max_shift, border, &m, &dy, &dx, &mse) != 0) return NAN;
  return window_ssim(restored, sharp, c, h, w, m, m, h - 2 * m, w - 2 * m, dy, dx);
}

/* ---- kernel error ---- */

double gpd_kernel_error(const float *k, const float *k_true, int ksize, int max_shift) {
  if (ksize < 1 || max_shift < 0) {
    gpd_error("kernel error: invalid size %d or shift %d", ksize, max_shift);
    return NAN;
  }
  double norm = 0.0;
  for (int i = 0; i < ksize * ksize; i++) norm += (double)k_true[i] * k_true[i];
  if (norm <= 0.0) {
    gpd_error("kernel error: the true kernel is zero");
    return NAN;
  }
  /* k moved by (dy, dx) with zeros shifted in: s[y][x] = k[y - dy][x - dx]. */
  double best = INFINITY;
  for (int dy = -max_shift; dy <= max_shift; dy++)
    for (int dx = -max_shift; dx <= max_shift; dx++) {
      double err = 0.0;
      for (int y = 0; y < ksize; y++)
        for (int x = 0; x < ksize; x++) {
          int sy = y - dy, sx = x - dx;
          double s = (sy >= 0 && sy < ksize && sx >= 0 && sx < ksize) ? k[sy * ksize + sx] : 0.0;
          double d = s - k_true[y * ksize + x];
          err += d * d;
        }
      /* mass of k shifted out of the canvas counts as error too */
      for (int y = 0; y < ksize; y++)
        for (int x = 0; x < ksize; x++) {
          int ty = y + dy, tx = x + dx;
          if (ty < 0 || ty >= ksize || tx < 0 || tx >= ksize) err += (double)k[y * ksize + x] * k[y * ksize + x];
        }
      if (err < best) best = err;
    }
  return sqrt(best / norm);
}
