/* Batch norm over (N, C, HW) per channel, as PyTorch's BatchNorm2d:
 * y = (x - mean) * invstd * gamma + beta, invstd = 1 / sqrt(var + eps).
 * Training uses the batch statistics (biased var) and moves the running
 * stats by `momentum` (running var with the unbiased var); inference uses
 * the running stats. gamma / beta may be NULL (1 and 0); dgamma / dbeta
 * accumulate and may be NULL; dx may be NULL when only the parameter
 * gradients are wanted. Channel sums are in double: a channel has N*HW
 * terms (in SIMD lanes: the order of the additions within a plane is the
 * vector unit's). In place is allowed (y == x, dx == dy).
 * Channels are independent: the cpu engine runs the same loops with the
 * channels split over its OpenMP pool (the *_omp entry points); the ref
 * engine runs them on the calling thread. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static int check_dims(const char *op, int n, int c, int hw) {
  if (n < 0 || c < 1 || hw < 1) return gpd_error("%s: bad shape (n %d, c %d, hw %d)", op, n, c, hw);
  return 0;
}

/* Below this many values a batch norm runs on the calling thread: waking
 * the pool's threads costs more than they save. */
static int worth_threads(int n, int c, int hw) { return (size_t)n * c * hw >= 65536; }

/* Plane (i, ch) of an (N, C, HW) tensor. */
#define PLANE(t, i, ch) ((t) + ((size_t)(i) * c + (ch)) * hw)

/* y = x * scale + shift over channel ch. */
static void affine_channel(int n, int c, int hw, int ch, float scale, float shift, const float *x, float *y) {
  for (int i = 0; i < n; i++) {
    const float *xp = PLANE(x, i, ch);
    float *yp = PLANE(y, i, ch);
    for (int j = 0; j < hw; j++) yp[j] = xp[j] * scale + shift;
  }
}

static int forward_train(int parallel, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var) {
  GPD_TRY(check_dims("batchnorm_forward_train", n, c, hw));
  const double m = (double)n * hw;
  if (m < 2) return gpd_error("batchnorm_forward_train: need more than one value per channel (n %d, hw %d)", n, hw);
  if (!x || !y) return gpd_error("batchnorm_forward_train: NULL x or y");
#pragma omp parallel for if (parallel && worth_threads(n, c, hw)) schedule(static)
  for (int ch = 0; ch < c; ch++) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
      const float *xp = PLANE(x, i, ch);
#pragma omp simd reduction(+ : sum)
      for (int j = 0; j < hw; j++) sum += xp[j];
    }
    const double mean = sum / m;
    double ss = 0.0; /* second pass: no cancellation in the variance */
    for (int i = 0; i < n; i++) {
      const float *xp = PLANE(x, i, ch);
#pragma omp simd reduction(+ : ss)
      for (int j = 0; j < hw; j++) {
        double d = xp[j] - mean;
        ss += d * d;
      }
    }
    const double var = ss / m;
    const double invstd = 1.0 / sqrt(var + eps);
    const double scale = invstd * (gamma ? gamma[ch] : 1.0f);
    const double shift = (beta ? beta[ch] : 0.0f) - mean * scale;
    affine_channel(n, c, hw, ch, (float)scale, (float)shift, x, y);
    if (save_mean) save_mean[ch] = (float)mean;
    if (save_invstd) save_invstd[ch] = (float)invstd;
    if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean);
    if (running_var) running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * var * m / (m - 1.0));
  }
  return 0;
}

/* With xhat = (x - mean) * invstd and M = N*HW values per channel:
 * dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
 * dgamma += sum(dy * xhat), dbeta += sum(dy). */
static int backward_train(int parallel, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta) {
  GPD_TRY(check_dims("batchnorm_backward_train", n, c, hw));
  if (n == 0) return 0;
  if (!x || !dy || !save_mean || !save_invstd)
    return gpd_error("batchnorm_backward_train: NULL x, dy, save_mean or save_invstd");
  const double m = (double)n * hw;
#pragma omp parallel for if (parallel && worth_threads(n, c, hw)) schedule(static)
  for (int ch = 0; ch < c; ch++) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    double sdy = 0.0, sdyx = 0.0;
    for (int i = 0; i < n; i++) {
      const float *xp = PLANE(x, i, ch), *dp = PLANE(dy, i, ch);
#pragma omp simd reduction(+ : sdy, sdyx)
      for (int j = 0; j < hw; j++) {
        sdy += dp[j];
        sdyx += (double)dp[j] * (xp[j] - mean);
      }
    }
    sdyx *= invstd; /* sum(dy * xhat) */
    if (dgamma) dgamma[ch] += (float)sdyx;
    if (dbeta) dbeta[ch] += (float)sdy;
    if (!dx) continue;
    const float k = (gamma ? gamma[ch] : 1.0f) * invstd;
    const float mdy = (float)(sdy / m), c1 = (float)(sdyx / m) * invstd; /* per (x - mean) */
    for (int i = 0; i < n; i++) {
      const float *xp = PLANE(x, i, ch), *dp = PLANE(dy, i, ch);
      float *op = PLANE(dx, i, ch);
      for (int j = 0; j < hw; j++) op[j] = k * (dp[j] - mdy - (xp[j] - mean) * c1);
    }
  }
  return 0;
}

static int forward_infer(int parallel, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y) {
  GPD_TRY(check_dims("batchnorm_forward_infer", n, c, hw));
  if (n == 0) return 0;
  if (!x || !y || !running_mean || !running_var)
    return gpd_error("batchnorm_forward_infer: NULL x, y, running_mean or running_var");
#pragma omp parallel for if (parallel && worth_threads(n, c, hw)) schedule(static)
  for (int ch = 0; ch < c; ch++) {
    const double invstd = 1.0 / sqrt((double)running_var[ch] + eps);
    const double scale = invstd * (gamma ? gamma[ch] : 1.0f);
    const double shift = (beta ? beta[ch] : 0.0f) - running_mean[ch] * scale;
    affine_channel(n, c, hw, ch, (float)scale, (float)shift, x, y);
  }
  return 0;
}

/* The statistics are constants here: dx = dy * gamma * invstd,
 * dgamma += sum(dy * (x - mean) * invstd), dbeta += sum(dy). */
static int backward_infer(int parallel, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta) {
  GPD_TRY(check_dims("batchnorm_backward_infer", n, c, hw));
  if (n == 0) return 0;
  if (!dy || !running_mean || !running_var)
    return gpd_error("batchnorm_backward_infer: NULL dy, running_mean or running_var");
  if (dgamma && !x) return gpd_error("batchnorm_backward_infer: dgamma needs the forward input x");
#pragma omp parallel for if (parallel && worth_threads(n, c, hw)) schedule(static)
  for (int ch = 0; ch < c; ch++) {
    const float mean = running_mean[ch];
    const float invstd = (float)(1.0 / sqrt((double)running_var[ch] + eps));
    if (dgamma || dbeta) {
      double sdy = 0.0, sdyx = 0.0;
      for (int i = 0; i < n; i++) {
        const float *dp = PLANE(dy, i, ch);
        if (x) {
          const float *xp = PLANE(x, i, ch);
#pragma omp simd reduction(+ : sdy, sdyx)
          for (int j = 0; j < hw; j++) {
            sdy += dp[j];
            sdyx += (double)dp[j] * (xp[j] - mean);
          }
        } else {
#pragma omp simd reduction(+ : sdy)
          for (int j = 0; j < hw; j++) sdy += dp[j];
        }
      }
      if (dgamma) dgamma[ch] += (float)(sdyx * invstd);
      if (dbeta) dbeta[ch] += (float)sdy;
    }
    if (dx) affine_channel(n, c, hw, ch, (gamma ? gamma[ch] : 1.0f) * invstd, 0.0f, dy, dx);
  }
  return 0;
}

/* ---- entry points: the ref engine's (one thread) and the cpu engine's (its OpenMP pool) ---- */

#define BN_FORWARD_TRAIN_ARGS n, c, hw, eps, momentum, x, gamma, beta, y, save_mean, save_invstd, running_mean, running_var
#define BN_BACKWARD_TRAIN_ARGS n, c, hw, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta
#define BN_FORWARD_INFER_ARGS n, c, hw, eps, x, gamma, beta, running_mean, running_var, y
#define BN_BACKWARD_INFER_ARGS n, c, hw, eps, x, dy, gamma, running_mean, running_var, dx, dgamma, dbeta
#define BN_ENTRY(name, params, impl, args)                                                                    \
  int cpu_##name params {                                                                                     \
    (void)e;                                                                                                  \
    return impl(0, args);                                                                                     \
  }                                                                                                           \
  int cpu_##name##_omp params {                                                                               \
    (void)e;                                                                                                  \
    return impl(1, args);                                                                                     \
  }
BN_ENTRY(batchnorm_forward_train, (gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var), forward_train, BN_FORWARD_TRAIN_ARGS)
BN_ENTRY(batchnorm_backward_train, (gpd_engine *e, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta), backward_train, BN_BACKWARD_TRAIN_ARGS)
BN_ENTRY(batchnorm_forward_infer, (gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y), forward_infer, BN_FORWARD_INFER_ARGS)
BN_ENTRY(batchnorm_backward_infer, (gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta), backward_infer, BN_BACKWARD_INFER_ARGS)
