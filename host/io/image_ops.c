/* Geometric operations on host images: center crop, PIL-style bilinear
 * resize, side-by-side grids and kernel pictures (gpd/image.h). */
#include "gpd/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"

static int image_ok(const gpd_image *im, const char *what) {
  if (!im || !im->data || im->c < 1 || im->h < 1 || im->w < 1) return gpd_error("%s: empty image", what);
  return 0;
}

int gpd_image_center_crop(const gpd_image *src, int ch, int cw, gpd_image *dst) {
  GPD_TRY(image_ok(src, "center crop"));
  if (ch < 1 || cw < 1 || ch > src->h || cw > src->w)
    return gpd_error("cannot center-crop a %dx%d image to %dx%d", src->h, src->w, ch, cw);
  /* Odd margins round the offset up, as the DCGAN CelebA recipe's
   * int(round((h - ch) / 2.)) does (109 -> 54 starts at row 28, 89 -> 54 at
   * column 18). */
  int top = (src->h - ch + 1) / 2, left = (src->w - cw + 1) / 2;
  GPD_TRY(gpd_image_alloc(dst, src->c, ch, cw));
  for (int c = 0; c < src->c; c++)
    for (int y = 0; y < ch; y++)
      memcpy(dst->data + ((size_t)c * ch + y) * cw, src->data + ((size_t)c * src->h + top + y) * src->w + left,
             (size_t)cw * sizeof(float));
  return 0;
}

/* Per-output-sample taps of PIL's resampling (Resample.c precompute_coeffs)
 * with the triangle filter: when shrinking, the filter is stretched by the
 * scale so every input pixel contributes (antialiasing); when enlarging it is
 * plain bilinear interpolation with half-pixel centres. Taps are clipped at
 * the borders and renormalised. first[o] is the first input index, taps
 * ksize weights per output (zero past the clipped end). */
typedef struct {
  int ksize;
  int *first, *count;
  double *weight; /* (out, ksize) */
} resample_taps;

static double triangle(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

static int taps_make(resample_taps *t, int in, int out) {
  double scale = (double)in / out;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filterscale;
  t->ksize = (int)ceil(support) * 2 + 1;
  t->first = gpd_malloc(sizeof(int) * out, "resize taps");
  t->count = gpd_malloc(sizeof(int) * out, "resize taps");
  t->weight = gpd_calloc((size_t)out * t->ksize, sizeof(double), "resize taps");
  if (!t->first || !t->count || !t->weight) return -1;
  for (int o = 0; o < out; o++) {
    double center = (o + 0.5) * scale;
    double ss = 1.0 / filterscale, sum = 0.0;
    int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    double *wt = t->weight + (size_t)o * t->ksize;
    for (int x = 0; x < hi - lo; x++) {
      wt[x] = triangle((x + lo - center + 0.5) * ss);
      sum += wt[x];
    }
    for (int x = 0; x < hi - lo; x++)
      if (sum != 0.0) wt[x] /= sum;
    t->first[o] = lo;
    t->count[o] = hi - lo;
  }
  return 0;
}

static void taps_free(resample_taps *t) {
  free(t->first);
  free(t->count);
  free(t->weight);
}

int gpd_image_resize(const gpd_image *src, int h, int w, gpd_image *dst) {
  GPD_TRY(image_ok(src, "resize"));
  if (h < 1 || w < 1) return gpd_error("cannot resize to %dx%d", h, w);
  resample_taps th = {0}, tw = {0};
  double *rows = NULL; /* (src->h, w): horizontal pass, kept in double */
  int rc = -1;
  if (taps_make(&th, src->h, h) != 0 || taps_make(&tw, src->w, w) != 0) goto done;
  rows = gpd_malloc(sizeof(double) * src->h * w, "resize rows");
  if (!rows || gpd_image_alloc(dst, src->c, h, w) != 0) goto done;
  for (int c = 0; c < src->c; c++) {
    const float *s = src->data + (size_t)c * src->h * src->w;
    for (int y = 0; y < src->h; y++)
      for (int x = 0; x < w; x++) {
        const double *wt = tw.weight + (size_t)x * tw.ksize;
        const float *row = s + (size_t)y * src->w + tw.first[x];
        double acc = 0.0;
        for (int i = 0; i < tw.count[x]; i++) acc += wt[i] * row[i];
        rows[(size_t)y * w + x] = acc;
      }
    float *d = dst->data + (size_t)c * h * w;
    for (int y = 0; y < h; y++) {
      const double *wt = th.weight + (size_t)y * th.ksize;
      for (int x = 0; x < w; x++) {
        double acc = 0.0;
        for (int i = 0; i < th.count[y]; i++) acc += wt[i] * rows[(size_t)(th.first[y] + i) * w + x];
        d[(size_t)y * w + x] = (float)acc;
      }
    }
  }
  rc = 0;
done:
  free(rows);
  taps_free(&th);
  taps_free(&tw);
  return rc;
}

int gpd_image_crop_resize(const gpd_image *src, int crop, int size, gpd_image *dst) {
  gpd_image mid = {0};
  GPD_TRY(gpd_image_center_crop(src, crop, crop, &mid));
  int rc = gpd_image_resize(&mid, size, size, dst);
  gpd_image_free(&mid);
  return rc;
}

int gpd_image_hstack(const gpd_image *const *ims, int count, int pad, gpd_image *dst) {
  if (!ims || count < 1) return gpd_error("hstack: no images");
  if (pad < 0) return gpd_error("hstack: negative padding %d", pad);
  int c = 1, h = 0, w = 0;
  for (int i = 0; i < count; i++) {
    GPD_TRY(image_ok(ims[i], "hstack"));
    if (ims[i]->c != 1 && ims[i]->c != 3) return gpd_error("hstack: image %d has %d channels (1 or 3)", i, ims[i]->c);
    if (ims[i]->c == 3) c = 3;
    if (ims[i]->h > h) h = ims[i]->h;
    w += ims[i]->w + (i ? pad : 0);
  }
  GPD_TRY(gpd_image_alloc(dst, c, h, w));
  size_t n = (size_t)c * h * w;
  for (size_t i = 0; i < n; i++) dst->data[i] = 1.0f; /* white background and gaps */
  int x0 = 0;
  for (int i = 0; i < count; i++) {
    const gpd_image *im = ims[i];
    for (int ch = 0; ch < c; ch++) {
      int sc = im->c == 1 ? 0 : ch; /* gray is repeated into R, G and B */
      for (int y = 0; y < im->h; y++)
        memcpy(dst->data + ((size_t)ch * h + y) * w + x0, im->data + ((size_t)sc * im->h + y) * im->w,
               (size_t)im->w * sizeof(float));
    }
    x0 += im->w + pad;
  }
  return 0;
}

int gpd_image_from_kernel(const float *k, int ksize, int zoom, gpd_image *dst) {
  if (!k || ksize < 1) return gpd_error("kernel image: empty kernel");
  if (zoom < 1) return gpd_error("kernel image: zoom %d must be at least 1", zoom);
  float mx = 0.0f;
  for (int i = 0; i < ksize * ksize; i++)
    if (k[i] > mx) mx = k[i];
  int n = ksize * zoom;
  GPD_TRY(gpd_image_alloc(dst, 1, n, n));
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++) {
      float v = k[(y / zoom) * ksize + x / zoom];
      dst->data[(size_t)y * n + x] = mx > 0.0f && v > 0.0f ? v / mx : 0.0f;
    }
  return 0;
}
