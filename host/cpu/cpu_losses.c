/* Training losses: the VAE reparameterisation with its KL term, and binary
 * cross-entropy with logits against a constant target (see gpd/engine.h).
 * stats (N, 2L): mean in the first L, log-variance in the last L per item. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static int check_dims(const char *op, int n, int latent) {
  if (n < 0 || latent < 1) return gpd_error("%s: bad shape (n %d, latent %d)", op, n, latent);
  return 0;
}

/* z = mean + exp(logvar / 2) * eps; eps, z (N, L). */
int cpu_vae_sample(gpd_engine *e, int n, int latent, const float *stats, const float *eps, float *z) {
  (void)e;
  GPD_TRY(check_dims("vae_sample", n, latent));
  if (n == 0) return 0;
  if (!stats || !eps || !z) return gpd_error("vae_sample: NULL stats, eps or z");
  for (int i = 0; i < n; i++) {
    const float *mu = stats + (size_t)i * 2 * latent, *lv = mu + latent;
    const float *ep = eps + (size_t)i * latent;
    float *zp = z + (size_t)i * latent;
    for (int j = 0; j < latent; j++) zp[j] = mu[j] + expf(0.5f * lv[j]) * ep[j];
  }
  return 0;
}

/* d/dmean   = dz + kl_weight * mean
 * d/dlogvar = dz * eps * exp(logvar/2) / 2 + kl_weight * (exp(logvar) - 1) / 2 */
int cpu_vae_sample_backward(gpd_engine *e, int n, int latent, const float *stats, const float *eps, const float *dz, float kl_weight, float *dstats) {
  (void)e;
  GPD_TRY(check_dims("vae_sample_backward", n, latent));
  if (n == 0) return 0;
  if (!stats || !eps || !dz || !dstats) return gpd_error("vae_sample_backward: NULL stats, eps, dz or dstats");
  for (int i = 0; i < n; i++) {
    const float *mu = stats + (size_t)i * 2 * latent, *lv = mu + latent;
    const float *ep = eps + (size_t)i * latent, *g = dz + (size_t)i * latent;
    float *dmu = dstats + (size_t)i * 2 * latent, *dlv = dmu + latent;
    for (int j = 0; j < latent; j++) {
      const float sd = expf(0.5f * lv[j]);
      dmu[j] = g[j] + kl_weight * mu[j];
      dlv[j] = 0.5f * g[j] * ep[j] * sd + 0.5f * kl_weight * (sd * sd - 1.0f);
    }
  }
  return 0;
}

/* out[i] = -1/2 sum_j (1 + logvar - mean^2 - exp(logvar)), summed in double. */
int cpu_vae_kl_per_item(gpd_engine *e, int n, int latent, const float *stats, float *out) {
  (void)e;
  GPD_TRY(check_dims("vae_kl_per_item", n, latent));
  if (n == 0) return 0;
  if (!stats || !out) return gpd_error("vae_kl_per_item: NULL stats or out");
  for (int i = 0; i < n; i++) {
    const float *mu = stats + (size_t)i * 2 * latent, *lv = mu + latent;
    double s = 0.0;
    for (int j = 0; j < latent; j++) s += 1.0 + lv[j] - (double)mu[j] * mu[j] - exp((double)lv[j]);
    out[i] = (float)(-0.5 * s);
  }
  return 0;
}

/* loss[i] = max(x, 0) - x t + log(1 + exp(-|x|)); dlogits[i] = scale *
 * (sigmoid(x) - t). Either output may be NULL when not wanted. */
int cpu_bce_with_logits(gpd_engine *e, int n, const float *logits, float target, float scale, float *loss, float *dlogits) {
  (void)e;
  if (n < 0) return gpd_error("bce_with_logits: bad count %d", n);
  if (n == 0) return 0;
  if (!logits) return gpd_error("bce_with_logits: NULL logits");
  for (int i = 0; i < n; i++) {
    const float x = logits[i];
    const float t = expf(-fabsf(x)); /* in (0, 1]: no overflow */
    if (loss) loss[i] = fmaxf(x, 0.0f) - x * target + log1pf(t);
    if (dlogits) {
      const float sig = x >= 0.0f ? 1.0f / (1.0f + t) : t / (1.0f + t);
      dlogits[i] = scale * (sig - target);
    }
  }
  return 0;
}
