/* Random camera-shake kernels (Boracchi and Foi 2012, their createTrajectory
 * and createPSFs) and Gaussian kernels (gpd/blur.h). */
#include "gpd/blur.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>

#include "gpd/common.h"
#include "gpd/rng.h"

enum { TRAJ_SAMPLES = 100 };
static const double TRAJ_ANXIETY = 0.01;
static const double PI = 3.14159265358979323846;

static int check_lengths(int ksize, int len_min, int len_max) {
  if (ksize < 1) return gpd_error("motion kernel: invalid size %d", ksize);
  if (len_min < 1 || len_max < len_min)
    return gpd_error("motion kernel: invalid length range [%d, %d]", len_min, len_max);
  if (len_max > ksize) return gpd_error("motion kernel: length %d does not fit a %dx%d canvas", len_max, ksize, ksize);
  return 0;
}

int gpd_motion_kernel_length(uint64_t seed, int len_min, int len_max) {
  if (len_min < 1 || len_max < len_min) return gpd_error("motion kernel: invalid length range [%d, %d]", len_min, len_max);
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  return gpd_rng_int(&r, len_min, len_max);
}

/* The trajectory: x[0] = 0, then TRAJ_SAMPLES - 1 steps of length
 * L / (TRAJ_SAMPLES - 1) whose direction is pushed by Gaussian noise, pulled
 * back toward the start (centripetal term) and, rarely, reversed (big shakes).
 * The draws are made in the order of the MATLAB code. */
static void trajectory(gpd_rng *r, double len, double complex *x) {
  const int n = TRAJ_SAMPLES;
  const double anxiety = TRAJ_ANXIETY, step = len / (n - 1);
  double centripetal = 0.7 * gpd_rng_uniform(r);
  double prob_big_shake = 0.2 * gpd_rng_uniform(r);
  double gaussian_term = 10.0 * gpd_rng_uniform(r);
  double init_angle = 2.0 * PI * gpd_rng_uniform(r);
  double complex v0 = cos(init_angle) + I * sin(init_angle);
  /* The reference sets v = v0 * step and then, since anxiety > 0, overrides
   * it with v0 * anxiety; we keep the override. */
  double complex v = v0 * anxiety;
  x[0] = 0;
  for (int t = 0; t < n - 1; t++) {
    double complex next_dir = 0;
    if (gpd_rng_uniform(r) < prob_big_shake * anxiety)
      next_dir = 2.0 * v * cexp(I * (PI + (gpd_rng_uniform(r) - 0.5)));
    double gr = gpd_rng_normal(r), gi = gpd_rng_normal(r);
    double complex dv = next_dir + anxiety * (gaussian_term * (gr + I * gi) - centripetal * x[t]) * step;
    double complex nv = v + dv;
    /* a zero velocity has no direction: keep the previous one */
    if (cabs(nv) > 0.0) v = nv;
    v = v / cabs(v) * step;
    x[t + 1] = x[t] + v;
  }
}

/* Adds weight w at (px, py) split bilinearly over the four neighbours. */
static void splat(double *psf, int k, double px, double py, double w) {
  int x0 = (int)floor(px), y0 = (int)floor(py);
  double fx = px - x0, fy = py - y0;
  for (int dy = 0; dy <= 1; dy++)
    for (int dx = 0; dx <= 1; dx++) {
      int xx = x0 + dx, yy = y0 + dy;
      double wt = (dx ? fx : 1.0 - fx) * (dy ? fy : 1.0 - fy);
      if (wt > 0.0 && xx >= 0 && xx < k && yy >= 0 && yy < k) psf[yy * k + xx] += w * wt;
    }
}

/* Offset that puts the centre of [lo, hi] at the canvas centre k/2 (the
 * index the forward model treats as the kernel's origin, so the blur does not
 * shift the image), moved by at most half a pixel when that keeps the whole
 * extent inside [0, k-1]. */
static double centre_offset(double lo, double hi, int k) {
  double off = k / 2 - 0.5 * (lo + hi);
  if (hi + off > k - 1) off = k - 1 - hi;
  if (lo + off < 0) off = -lo;
  return off;
}

int gpd_motion_kernel(float *k, int ksize, uint64_t seed, int len_min, int len_max) {
  GPD_TRY(check_lengths(ksize, len_min, len_max));
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  int len = gpd_rng_int(&r, len_min, len_max); /* the draw gpd_motion_kernel_length makes */
  double complex x[TRAJ_SAMPLES];
  trajectory(&r, (double)len, x);

  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (int t = 0; t < TRAJ_SAMPLES; t++) {
    xlo = fmin(xlo, creal(x[t]));
    xhi = fmax(xhi, creal(x[t]));
    ylo = fmin(ylo, cimag(x[t]));
    yhi = fmax(yhi, cimag(x[t]));
  }
  double ox = centre_offset(xlo, xhi, ksize), oy = centre_offset(ylo, yhi, ksize);

  /* One exposure (T = 1): every sample has the same weight. Samples beyond
   * the canvas (only when an extent exceeds ksize - 1, i.e. a nearly straight
   * path of the maximum length) are clamped to its edge, as the reference
   * clamps its rasterisation cells. */
  double *psf = gpd_calloc((size_t)ksize * ksize, sizeof(double), "motion kernel");
  if (!psf) return -1;
  for (int t = 0; t < TRAJ_SAMPLES; t++) {
    double px = fmin(fmax(creal(x[t]) + ox, 0.0), ksize - 1);
    double py = fmin(fmax(cimag(x[t]) + oy, 0.0), ksize - 1);
    splat(psf, ksize, px, py, 1.0);
  }
  double sum = 0.0;
  for (int i = 0; i < ksize * ksize; i++) sum += psf[i];
  for (int i = 0; i < ksize * ksize; i++) k[i] = (float)(psf[i] / sum);
  free(psf);
  return 0;
}

int gpd_gaussian_kernel(float *k, int ksize, float sigma) {
  if (ksize < 1) return gpd_error("Gaussian kernel: invalid size %d", ksize);
  if (!(sigma > 0.0f) || !isfinite(sigma)) return gpd_error("Gaussian kernel: sigma %g must be positive", (double)sigma);
  /* centred on k/2, the forward model's kernel origin */
  int c = ksize / 2;
  double sum = 0.0;
  for (int y = 0; y < ksize; y++)
    for (int x = 0; x < ksize; x++) sum += exp(-0.5 * ((y - c) * (y - c) + (x - c) * (x - c)) / ((double)sigma * sigma));
  for (int y = 0; y < ksize; y++)
    for (int x = 0; x < ksize; x++)
      k[y * ksize + x] = (float)(exp(-0.5 * ((y - c) * (y - c) + (x - c) * (x - c)) / ((double)sigma * sigma)) / sum);
  return 0;
}
