/* The data term shared by every algorithm (gpd/solve.h, the paper's eq. 7-9)
 * and its gradients, computed in the Fourier domain through the engine
 * table only, so the same code runs on the CPU and CUDA engines.
 *
 * Model, per item n (x (N,C,Hx,Wx) image, k (N,K,K) kernel):
 *   z = x (*) k, a circular convolution of size Hx x Wx through FFTs of that
 *     size; the kernel goes on an Hx x Wx canvas centred (circular boundary:
 *     no shift) or at [0, K) (linear boundary: then rows and columns
 *     K-1..Hx-1 of the circular result never wrap, and are exactly the
 *     linear convolution's 'valid' part);
 *   r = B(z) - y[n mod y_items], B the identity or the valid crop;
 *   loss[n] = (1/C) sum r^2.
 * Normalisation: with unnormalised FFTs, Parseval gives
 *   sum_freq |F r|^2 = Hx*Wx * sum_pixels r^2,
 * so for the circular model loss[n] is the mean over channels and
 * frequencies of |F y - F x . F k|^2, the authors' data term, and equally
 * (1/C) times the sum of squared spatial residuals, which is what we compute
 * (and what the linear model, which has no single spectrum, uses too).
 *
 * Gradients, dz = (2/C) * weight * B^T(r):
 *   dx = dz correlated with the kernel = irfft(F dz . conj(F canvas)) / HW
 *   dcanvas = sum_c dz_c correlated with x_c = irfft(sum_c F dz_c . conj(F x_c)) / HW
 *   dk = the kernel cells of dcanvas (the adjoint of kernel_to_canvas).
 * The 1/HW of both inverse FFTs is folded into dz's scale. */
#include <stdlib.h>

#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/solve.h"

struct gpd_data_term {
  gpd_engine *e;
  int n, c, hx, wx, ksize;
  int cap;         /* the batch the buffers hold (n <= cap) */
  gpd_boundary boundary;
  int hy, wy;      /* y's plane: Hx x Wx (circular) or the valid window */
  size_t spec;     /* complex values per plane: Hx * (Wx/2 + 1) */
  float *canvas;   /* (N, Hx, Wx) kernel canvas, then its gradient */
  float *kspec;    /* (N, spec) complex: F canvas */
  float *kgrad;    /* (N, spec) complex: sum_c F dz_c . conj(F x_c) */
  float *xspec;    /* (N, C, spec) complex: F x, then F dz . conj(F canvas) */
  float *zspec;    /* (N, C, spec) complex: F x . F canvas, then F dz */
  float *z;        /* (N, C, Hx, Wx): the blurred image, residual, dz */
  float *valid;    /* (N, C, Hy, Wy): the linear model's cropped residual */
  float *yexp;     /* (N, C, Hy, Wy): y repeated over the items */
};

void gpd_data_term_free(gpd_data_term *d) {
  if (!d) return;
  gpd_engine *e = d->e;
  float *bufs[] = {d->canvas, d->kspec, d->kgrad, d->xspec, d->zspec, d->z, d->valid, d->yexp};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    if (bufs[i]) e->free(e, bufs[i]);
  free(d);
}

gpd_data_term *gpd_data_term_create(gpd_engine *e, int n, int c, int hx, int wx, int ksize, gpd_boundary boundary) {
  if (!e) {
    gpd_error("data term: no engine");
    return NULL;
  }
  if (n < 1 || c < 1 || hx < 1 || wx < 1 || ksize < 1) {
    gpd_error("data term: invalid size N=%d C=%d H=%d W=%d K=%d", n, c, hx, wx, ksize);
    return NULL;
  }
  if (boundary != GPD_BOUNDARY_CIRCULAR && boundary != GPD_BOUNDARY_LINEAR) {
    gpd_error("data term: unknown boundary %d", (int)boundary);
    return NULL;
  }
  if (ksize > hx || ksize > wx) {
    gpd_error("data term: %dx%d kernel larger than the %dx%d image", ksize, ksize, hx, wx);
    return NULL;
  }
  gpd_data_term *d = gpd_calloc(1, sizeof *d, "the data term");
  if (!d) return NULL;
  d->e = e;
  d->n = n;
  d->cap = n;
  d->c = c;
  d->hx = hx;
  d->wx = wx;
  d->ksize = ksize;
  d->boundary = boundary;
  d->hy = boundary == GPD_BOUNDARY_LINEAR ? hx - ksize + 1 : hx;
  d->wy = boundary == GPD_BOUNDARY_LINEAR ? wx - ksize + 1 : wx;
  d->spec = (size_t)hx * (wx / 2 + 1);
  const size_t nc = (size_t)n * c, plane = (size_t)hx * wx, yplane = (size_t)d->hy * d->wy;
  if (!(d->canvas = e->alloc(e, n * plane, "the data term's kernel canvas")) ||
      !(d->kspec = e->alloc(e, 2 * n * d->spec, "the data term's kernel spectrum")) ||
      !(d->kgrad = e->alloc(e, 2 * n * d->spec, "the data term's kernel gradient spectrum")) ||
      !(d->xspec = e->alloc(e, 2 * nc * d->spec, "the data term's image spectrum")) ||
      !(d->zspec = e->alloc(e, 2 * nc * d->spec, "the data term's blurred spectrum")) ||
      !(d->z = e->alloc(e, nc * plane, "the data term's blurred image")) ||
      !(d->yexp = e->alloc(e, nc * yplane, "the data term's repeated measurement")) ||
      (boundary == GPD_BOUNDARY_LINEAR && !(d->valid = e->alloc(e, nc * yplane, "the data term's valid residual")))) {
    gpd_data_term_free(d);
    return NULL;
  }
  return d;
}

int gpd_data_term_set_batch(gpd_data_term *d, int n) {
  if (!d || n < 1 || n > d->cap) return gpd_error("data term: batch %d for buffers of %d", n, d ? d->cap : 0);
  d->n = n;
  return 0;
}

/* y for every item: y itself when it has an item per item, else the
 * y_items blocks repeated into yexp (item n gets y[n mod y_items]). */
static const float *measurement_per_item(gpd_data_term *d, const float *y, int y_items) {
  if (y_items >= d->n) return y;
  gpd_engine *e = d->e;
  const size_t item = (size_t)d->c * d->hy * d->wy;
  for (int n0 = 0; n0 < d->n; n0 += y_items) {
    const int count = d->n - n0 < y_items ? d->n - n0 : y_items;
    if (e->copy(e, d->yexp + (size_t)n0 * item, y, (size_t)count * item) != 0) return NULL;
  }
  return d->yexp;
}

int gpd_data_term_eval(gpd_data_term *d, const float *x, const float *k, const float *y, int y_items,
                       float weight, float *loss, float *dx, float *dk) {
  if (!d) return gpd_error("data term: NULL");
  if (!x || !k || !y) return gpd_error("data term: missing %s", !x ? "image x" : !k ? "kernel k" : "measurement y");
  if (y_items < 1) return gpd_error("data term: y has %d items (need >= 1)", y_items);
  gpd_engine *e = d->e;
  const int n = d->n, c = d->c, h = d->hx, w = d->wx, K = d->ksize;
  const int nc = n * c;
  const int linear = d->boundary == GPD_BOUNDARY_LINEAR;
  const size_t plane = (size_t)h * w, yitem = (size_t)c * d->hy * d->wy;
  const float inv_hw = 1.0f / (float)plane;

  /* Forward: z = irfft(F x . F canvas) / HW. */
  GPD_TRY(e->kernel_to_canvas(e, n, K, h, w, !linear, k, d->canvas));
  GPD_TRY(e->fft_r2c(e, n, h, w, d->canvas, d->kspec));
  GPD_TRY(e->fft_r2c(e, nc, h, w, x, d->xspec));
  GPD_TRY(e->complex_multiply_broadcast(e, n, c, d->spec, 0, d->xspec, d->kspec, d->zspec));
  GPD_TRY(e->fft_c2r(e, nc, h, w, d->zspec, d->z));

  /* Residual r = B(z) / HW - y, in z (circular) or valid (linear). */
  const float *ys = measurement_per_item(d, y, y_items);
  if (!ys) return -1;
  float *r = d->z;
  if (linear) {
    GPD_TRY(e->valid_crop(e, n, c, h, w, K, d->z, d->valid));
    r = d->valid;
  }
  GPD_TRY(e->axpby(e, (size_t)n * yitem, -1.0f, ys, inv_hw, r));
  if (loss) {
    GPD_TRY(e->sum_squares_per_item(e, n, yitem, r, loss));
    GPD_TRY(e->affine(e, (size_t)n, 1.0f / (float)c, loss, 0.0f, loss));
  }
  if (!dx && !dk) return 0;

  /* dz = (2/C) weight B^T(r), with the inverse FFTs' 1/HW folded in. */
  const float scale = 2.0f * weight / (float)c * inv_hw;
  if (linear) GPD_TRY(e->valid_pad(e, n, c, h, w, K, d->valid, d->z));
  GPD_TRY(e->affine(e, (size_t)nc * plane, scale, d->z, 0.0f, d->z));
  GPD_TRY(e->fft_r2c(e, nc, h, w, d->z, d->zspec));
  if (dk) {
    GPD_TRY(e->complex_multiply_sum_channels(e, n, c, d->spec, 1, d->zspec, d->xspec, d->kgrad));
    GPD_TRY(e->fft_c2r(e, n, h, w, d->kgrad, d->canvas));
    GPD_TRY(e->kernel_from_canvas(e, n, K, h, w, !linear, d->canvas, dk));
  }
  if (dx) {
    /* xspec is no longer needed: it takes F dz . conj(F canvas). */
    GPD_TRY(e->complex_multiply_broadcast(e, n, c, d->spec, 1, d->zspec, d->kspec, d->xspec));
    GPD_TRY(e->fft_c2r(e, nc, h, w, d->xspec, dx));
  }
  return 0;
}
