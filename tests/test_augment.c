/* The CPU engine's diffaugment_forward / _backward (gpd/engine.h):
 *  - the forward against a direct composition of the six stages as Zhao et
 *    al.'s DiffAugment code writes them (flip, brightness, saturation,
 *    contrast, translation by a zero-padded gather, cutout by a mask), on
 *    random draws including flips, negative cutout corners and shifts past
 *    half the image, for 3-channel and 1-channel, square and oblong items;
 *  - identity parameters give the input back;
 *  - the backward against central finite differences of <dy, forward(x)>
 *    on the image (exact up to rounding: the map is affine in x) at every
 *    value of a small item, and against the adjoint identity
 *    <dy, A x> = <A^T dy, x> for the linear part on a large one. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/rng.h"

static gpd_engine *E;

/* Random draws in the ranges DiffAugment uses, widened a little. */
static void draw_params(gpd_rng *r, int n, int h, int w, float *p) {
  for (int i = 0; i < n; i++) {
    float *q = p + (size_t)i * GPD_AUGMENT_PARAMS;
    q[GPD_AUG_FLIP] = (float)(gpd_rng_u64(r) & 1);
    q[GPD_AUG_BRIGHTNESS] = (float)gpd_rng_uniform(r) - 0.5f;
    q[GPD_AUG_SATURATION] = 2.0f * (float)gpd_rng_uniform(r);
    q[GPD_AUG_CONTRAST] = 0.5f + (float)gpd_rng_uniform(r);
    q[GPD_AUG_SHIFT_Y] = (float)gpd_rng_int(r, -h / 2 - 1, h / 2 + 1);
    q[GPD_AUG_SHIFT_X] = (float)gpd_rng_int(r, -w / 2 - 1, w / 2 + 1);
    int cs = gpd_rng_int(r, 0, h / 2 + 1);
    q[GPD_AUG_CUT_SIZE] = (float)cs;
    q[GPD_AUG_CUT_TOP] = (float)gpd_rng_int(r, -cs, h);
    q[GPD_AUG_CUT_LEFT] = (float)gpd_rng_int(r, -cs, w);
  }
}

/* The stages one by one on one item (C, H, W), in double. */
static void reference_item(int c, int h, int w, const float *p, const float *x, float *y) {
  size_t plane = (size_t)h * w, item = (size_t)c * plane;
  double *a = malloc(item * sizeof *a), *t = malloc(item * sizeof *t);
  for (int ch = 0; ch < c; ch++) /* flip, brightness */
    for (int r = 0; r < h; r++)
      for (int q = 0; q < w; q++)
        a[ch * plane + r * w + q] = x[ch * plane + r * w + (p[GPD_AUG_FLIP] != 0 ? w - 1 - q : q)] + p[GPD_AUG_BRIGHTNESS];
  for (size_t o = 0; o < plane; o++) { /* saturation */
    double m = 0;
    for (int ch = 0; ch < c; ch++) m += a[ch * plane + o] / c;
    for (int ch = 0; ch < c; ch++) a[ch * plane + o] = (a[ch * plane + o] - m) * p[GPD_AUG_SATURATION] + m;
  }
  double m = 0; /* contrast */
  for (size_t j = 0; j < item; j++) m += a[j] / (double)item;
  for (size_t j = 0; j < item; j++) a[j] = (a[j] - m) * p[GPD_AUG_CONTRAST] + m;
  int sy = (int)p[GPD_AUG_SHIFT_Y], sx = (int)p[GPD_AUG_SHIFT_X]; /* translation: a gather from a zero-padded copy */
  for (int ch = 0; ch < c; ch++)
    for (int r = 0; r < h; r++)
      for (int q = 0; q < w; q++) {
        int yy = r + sy, xx = q + sx;
        t[ch * plane + r * w + q] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? a[ch * plane + yy * w + xx] : 0.0;
      }
  int top = (int)p[GPD_AUG_CUT_TOP], left = (int)p[GPD_AUG_CUT_LEFT], cs = (int)p[GPD_AUG_CUT_SIZE]; /* cutout mask */
  for (int r = 0; r < h; r++)
    for (int q = 0; q < w; q++) {
      int cut = r >= top && r < top + cs && q >= left && q < left + cs;
      for (int ch = 0; ch < c; ch++) y[ch * plane + r * w + q] = cut ? 0.0f : (float)t[ch * plane + r * w + q];
    }
  free(a);
  free(t);
}

static float *upload(const float *h, size_t n) {
  float *d = E->alloc(E, n, "test data");
  E->upload(E, d, h, n);
  return d;
}

static void test_forward(int n, int c, int h, int w, uint64_t seed) {
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  size_t item = (size_t)c * h * w, total = (size_t)n * item;
  float *x = malloc(total * sizeof *x), *p = malloc((size_t)n * GPD_AUGMENT_PARAMS * sizeof *p);
  float *want = malloc(total * sizeof *want), *got = malloc(total * sizeof *got);
  gpd_rng_fill_normal(&r, x, total, 0.0f, 0.6f);
  draw_params(&r, n, h, w, p);
  for (int i = 0; i < n; i++) reference_item(c, h, w, p + i * GPD_AUGMENT_PARAMS, x + i * item, want + i * item);
  float *dx = upload(x, total), *dp = upload(p, (size_t)n * GPD_AUGMENT_PARAMS), *dy = E->alloc(E, total, "y");
  CHECK_OK(E->fill(E, dy, NAN, total));
  CHECK_OK(E->diffaugment_forward(E, n, c, h, w, dp, dx, dy));
  E->download(E, got, dy, total);
  char what[80];
  snprintf(what, sizeof what, "diffaugment_forward %dx%dx%dx%d", n, c, h, w);
  check_close(what, got, want, total, 1e-5, 1e-5);
  /* The draws must have exercised the cases: some zeroed values, some flips. */
  size_t zeros = 0;
  int flips = 0;
  for (size_t j = 0; j < total; j++) zeros += got[j] == 0.0f;
  for (int i = 0; i < n; i++) flips += p[i * GPD_AUGMENT_PARAMS + GPD_AUG_FLIP] != 0;
  CHECK(zeros > 0 && flips > 0 && flips < n, "%s: %zu zeros, %d of %d flipped", what, zeros, flips, n);
  /* Identity parameters give x back. */
  for (int i = 0; i < n; i++) {
    float *q = p + i * GPD_AUGMENT_PARAMS;
    memset(q, 0, GPD_AUGMENT_PARAMS * sizeof *q);
    q[GPD_AUG_SATURATION] = q[GPD_AUG_CONTRAST] = 1.0f;
  }
  E->upload(E, dp, p, (size_t)n * GPD_AUGMENT_PARAMS);
  CHECK_OK(E->diffaugment_forward(E, n, c, h, w, dp, dx, dy));
  E->download(E, got, dy, total);
  check_close("diffaugment_forward, identity parameters", got, x, total, 1e-6, 1e-6);
  E->free(E, dx), E->free(E, dp), E->free(E, dy);
  free(x), free(p), free(want), free(got);
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* L(x) = <g, forward(x)>, so dL/dx = backward(g). */
static double probe(const float *params, const float *g, int n, int c, int h, int w, const float *x_host, float *xd, float *yd,
                    float *y_host) {
  size_t total = (size_t)n * c * h * w;
  E->upload(E, xd, x_host, total);
  if (E->diffaugment_forward(E, n, c, h, w, params, xd, yd) != 0) return NAN;
  E->download(E, y_host, yd, total);
  return dot(g, y_host, total);
}

static void test_backward(int n, int c, int h, int w, uint64_t seed, int fd_every) {
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  size_t total = (size_t)n * c * h * w;
  float *x = malloc(total * sizeof *x), *g = malloc(total * sizeof *g), *y = malloc(total * sizeof *y);
  float *grad = malloc(total * sizeof *grad), *fd = malloc(total * sizeof *fd), *p = malloc((size_t)n * GPD_AUGMENT_PARAMS * 4);
  gpd_rng_fill_normal(&r, x, total, 0.0f, 0.6f);
  gpd_rng_fill_normal(&r, g, total, 0.0f, 1.0f);
  draw_params(&r, n, h, w, p);
  float *dp = upload(p, (size_t)n * GPD_AUGMENT_PARAMS), *dg = upload(g, total);
  float *xd = E->alloc(E, total, "x"), *yd = E->alloc(E, total, "y"), *gd = E->alloc(E, total, "dx");
  CHECK_OK(E->fill(E, gd, NAN, total));
  CHECK_OK(E->diffaugment_backward(E, n, c, h, w, dp, dg, gd));
  E->download(E, grad, gd, total);
  char what[96];
  /* Finite differences at every fd_every-th value: step 0.5 (affine map, no
   * truncation error; a large step keeps rounding small). */
  size_t m = 0;
  float *got = malloc(total * sizeof *got);
  double scale = 0;
  for (size_t j = 0; j < total; j += (size_t)fd_every) {
    float saved = x[j];
    x[j] = saved + 0.5f;
    double up = probe(dp, g, n, c, h, w, x, xd, yd, y);
    x[j] = saved - 0.5f;
    double down = probe(dp, g, n, c, h, w, x, xd, yd, y);
    x[j] = saved;
    fd[m] = (float)(up - down);
    got[m] = grad[j];
    if (fabs(got[m]) > scale) scale = fabs(got[m]);
    m++;
  }
  snprintf(what, sizeof what, "diffaugment_backward %dx%dx%dx%d vs finite differences", n, c, h, w);
  CHECK(scale > 0, "%s: all gradients zero", what);
  check_close(what, got, fd, m, 1e-4 * (scale > 1 ? scale : 1) * sqrt((double)total / 100), 1e-4);
  /* Adjoint identity for the linear part: A x = forward(x) - forward(0). */
  double ax = probe(dp, g, n, c, h, w, x, xd, yd, y);
  memset(fd, 0, total * sizeof *fd);
  double a0 = probe(dp, g, n, c, h, w, fd, xd, yd, y);
  double lhs = ax - a0, rhs = dot(grad, x, total);
  CHECK(fabs(lhs - rhs) <= 1e-4 * (fabs(lhs) + 1.0), "%s: <g, A x> = %.8g but <A^T g, x> = %.8g", what, lhs, rhs);
  E->free(E, dp), E->free(E, dg), E->free(E, xd), E->free(E, yd), E->free(E, gd);
  free(x), free(g), free(y), free(grad), free(fd), free(p), free(got);
}

int main(void) {
  E = gpd_engine_cpu_create();
  if (!E) {
    fprintf(stderr, "no CPU engine: %s\n", gpd_last_error());
    return 1;
  }
  test_forward(16, 3, 16, 16, 1);
  test_forward(9, 3, 12, 7, 2);
  test_forward(12, 1, 10, 10, 3);
  test_forward(4, 3, 64, 64, 4);
  test_backward(6, 3, 8, 8, 5, 1);
  test_backward(6, 1, 6, 9, 6, 1);
  test_backward(5, 3, 64, 64, 7, 97);
  CHECK(E->diffaugment_forward(E, 1, 0, 4, 4, NULL, NULL, NULL) != 0, "zero channels accepted");
  gpd_engine_destroy(E);
  return check_report("test_augment");
}
