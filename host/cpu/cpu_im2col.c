/* im2col / col2im for the conv2d geometry (see gpd_conv_geom): row
 * (c, ky, kx) of the column matrix holds x[c, oy*s - p + ky, ox*s - p + kx]
 * for every output pixel (oy, ox), zero where that falls outside x.
 * The valid output range of each ky (rows) and kx (columns) is computed once
 * so the inner loops are plain copies without per-pixel bounds tests.
 * The batched forms walk the column matrix row by row across all images of
 * a chunk: sequential in the (large) column matrix, while the image planes
 * they touch for one channel stay in cache. */
#include <string.h>

#include "cpu_conv_gemm.h"
#include "cpu_ops.h"

/* First output index o >= 0 with o*s - p + k >= 0, and one past the last
 * with o*s - p + k <= in - 1, clamped to [0, out]. */
static void valid_range(int k, int s, int p, int in, int out, int *lo, int *hi) {
  int a = p - k; /* need o*s >= a */
  int l = a <= 0 ? 0 : (a + s - 1) / s;
  int b = in - 1 + p - k; /* need o*s <= b */
  int h = b < 0 ? 0 : b / s + 1;
  if (h > out) h = out;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* One row (c, ky, kx) of one image: dst (H_out*W_out) from plane xc. */
static inline void im2col_row(const gpd_conv_geom *g, int ky, int kx, int oy0, int oy1, int ox0, int ox1,
                              const float *xc, float *dst) {
  const int s = g->stride, p = g->pad, Wi = g->w_in, Ho = g->h_out, Wo = g->w_out;
  if (oy0 > 0) memset(dst, 0, (size_t)oy0 * Wo * sizeof(float));
  for (int oy = oy0; oy < oy1; oy++) {
    float *d = dst + (size_t)oy * Wo;
    const float *src = xc + (size_t)(oy * s - p + ky) * Wi + (ox0 * s - p + kx);
    for (int ox = 0; ox < ox0; ox++) d[ox] = 0.0f;
    if (s == 1) {
      memcpy(d + ox0, src, (size_t)(ox1 - ox0) * sizeof(float));
    } else {
      for (int ox = ox0, j = 0; ox < ox1; ox++, j += s) d[ox] = src[j];
    }
    for (int ox = ox1; ox < Wo; ox++) d[ox] = 0.0f;
  }
  if (oy1 < Ho) memset(dst + (size_t)oy1 * Wo, 0, (size_t)(Ho - oy1) * Wo * sizeof(float));
}

/* The adjoint of im2col_row: adds src back onto plane xc. */
static inline void col2im_row(const gpd_conv_geom *g, int ky, int kx, int oy0, int oy1, int ox0, int ox1,
                              const float *src, float *xc) {
  const int s = g->stride, p = g->pad, Wi = g->w_in, Wo = g->w_out;
  for (int oy = oy0; oy < oy1; oy++) {
    const float *r = src + (size_t)oy * Wo;
    float *d = xc + (size_t)(oy * s - p + ky) * Wi + (ox0 * s - p + kx);
    if (s == 1) {
      for (int ox = ox0, j = 0; ox < ox1; ox++, j++) d[j] += r[ox];
    } else {
      for (int ox = ox0, j = 0; ox < ox1; ox++, j += s) d[j] += r[ox];
    }
  }
}

void cpu_im2col_batch(const gpd_conv_geom *g, int m, const float *x, size_t xs, float *col, size_t ld, int c0, int c1) {
  const int K = g->k;
  const size_t plane = (size_t)g->h_in * g->w_in, hwo = (size_t)g->h_out * g->w_out;
  for (int c = c0; c < c1; c++)
    for (int ky = 0; ky < K; ky++) {
      int oy0, oy1;
      valid_range(ky, g->stride, g->pad, g->h_in, g->h_out, &oy0, &oy1);
      for (int kx = 0; kx < K; kx++) {
        int ox0, ox1;
        valid_range(kx, g->stride, g->pad, g->w_in, g->w_out, &ox0, &ox1);
        float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
        for (int j = 0; j < m; j++) im2col_row(g, ky, kx, oy0, oy1, ox0, ox1, x + j * xs + c * plane, row + j * hwo);
      }
    }
}

void cpu_col2im_batch(const gpd_conv_geom *g, int m, const float *col, size_t ld, float *x, size_t xs, int c0, int c1) {
  const int K = g->k;
  const size_t plane = (size_t)g->h_in * g->w_in, hwo = (size_t)g->h_out * g->w_out;
  for (int c = c0; c < c1; c++)
    for (int ky = 0; ky < K; ky++) {
      int oy0, oy1;
      valid_range(ky, g->stride, g->pad, g->h_in, g->h_out, &oy0, &oy1);
      for (int kx = 0; kx < K; kx++) {
        int ox0, ox1;
        valid_range(kx, g->stride, g->pad, g->w_in, g->w_out, &ox0, &ox1);
        const float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
        for (int j = 0; j < m; j++) col2im_row(g, ky, kx, oy0, oy1, ox0, ox1, row + j * hwo, x + j * xs + c * plane);
      }
    }
}

void cpu_im2col(const gpd_conv_geom *g, const float *x, float *col) {
  cpu_im2col_batch(g, 1, x, 0, col, (size_t)g->h_out * g->w_out, 0, g->c_in);
}

/* Accumulates into x. */
void cpu_col2im(const gpd_conv_geom *g, const float *col, float *x) {
  cpu_col2im_batch(g, 1, col, (size_t)g->h_out * g->w_out, x, 0, 0, g->c_in);
}
