/* The forward model y = i (*) k + n on the host, by direct spatial
 * convolution: the reference the engines' FFT versions are tested against
 * (gpd/blur.h). */
#include "gpd/blur.h"

#include <math.h>
#include <stdlib.h>

#include "gpd/common.h"
#include "gpd/rng.h"

static int wrap(int i, int n) {
  i %= n;
  return i < 0 ? i + n : i;
}

/* circular: y[p] = sum_q k[q] x[(p - (q - K/2)) mod (h, w)], so a delta at
 * the kernel's centre K/2 leaves x unchanged.
 * linear:   x is (c, h+K-1, w+K-1); y[p] = sum_q k[q] x[p + K-1 - q], the
 * valid part of the true convolution. */
void gpd_blur_direct(const float *x, int c, int h, int w, const float *k, int ksize, gpd_boundary boundary, float *y) {
  int half = ksize / 2;
  for (int ch = 0; ch < c; ch++) {
    float *yc = y + (size_t)ch * h * w;
    if (boundary == GPD_BOUNDARY_CIRCULAR) {
      const float *xc = x + (size_t)ch * h * w;
      for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
          double acc = 0.0;
          for (int qy = 0; qy < ksize; qy++) {
            const float *row = xc + (size_t)wrap(py - qy + half, h) * w;
            for (int qx = 0; qx < ksize; qx++) acc += (double)k[qy * ksize + qx] * row[wrap(px - qx + half, w)];
          }
          yc[(size_t)py * w + px] = (float)acc;
        }
    } else {
      int wx = w + ksize - 1, hx = h + ksize - 1;
      const float *xc = x + (size_t)ch * hx * wx;
      for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
          double acc = 0.0;
          for (int qy = 0; qy < ksize; qy++) {
            const float *row = xc + (size_t)(py + ksize - 1 - qy) * wx + px + ksize - 1;
            for (int qx = 0; qx < ksize; qx++) acc += (double)k[qy * ksize + qx] * row[-qx];
          }
          yc[(size_t)py * w + px] = (float)acc;
        }
    }
  }
}

int gpd_blur_image(const gpd_image *sharp, const float *k, int ksize, gpd_boundary boundary, float sigma, uint64_t seed,
                   gpd_image *blurry) {
  if (!sharp || !sharp->data || sharp->c < 1) return gpd_error("blur: empty image");
  if (!k || ksize < 1) return gpd_error("blur: empty kernel");
  if (boundary != GPD_BOUNDARY_CIRCULAR && boundary != GPD_BOUNDARY_LINEAR) return gpd_error("blur: unknown boundary %d", (int)boundary);
  if (!(sigma >= 0.0f) || !isfinite(sigma)) return gpd_error("blur: noise sigma %g must be >= 0", (double)sigma);
  if (ksize > sharp->h || ksize > sharp->w)
    return gpd_error("cannot blur a %dx%d image with a %dx%d kernel: the kernel is larger", sharp->h, sharp->w, ksize, ksize);
  int h = sharp->h, w = sharp->w;
  if (boundary == GPD_BOUNDARY_LINEAR) {
    h -= ksize - 1;
    w -= ksize - 1;
  }
  GPD_TRY(gpd_image_alloc(blurry, sharp->c, h, w));
  gpd_blur_direct(sharp->data, sharp->c, h, w, k, ksize, boundary, blurry->data);
  if (sigma > 0.0f) {
    gpd_rng r;
    gpd_rng_seed(&r, seed);
    size_t n = (size_t)blurry->c * h * w;
    for (size_t i = 0; i < n; i++) {
      double v = blurry->data[i] + sigma * gpd_rng_normal(&r);
      blurry->data[i] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
    }
  }
  return 0;
}
