/* Training losses: the VAE reparameterisation with its KL term, and binary
 * cross-entropy with logits against a constant target. Reference:
 * host/cpu/cpu_losses.c. stats (N, 2L): per item the mean (first L) then
 * the log-variance (last L). */
#include "kernel_util.cuh"

/* One thread per latent value: z = mean + exp(logvar / 2) * eps. */
static __global__ void vae_sample_kernel(size_t total, int latent, const float *stats, const float *eps, float *z) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t i = t / latent, j = t - i * latent;
    const float *mu = stats + i * 2 * latent;
    z[t] = mu[j] + expf(0.5f * mu[latent + j]) * eps[t];
  }
}

/* d/dmean   = dz + kl_weight * mean
 * d/dlogvar = dz * eps * exp(logvar/2) / 2 + kl_weight * (exp(logvar) - 1) / 2 */
static __global__ void vae_sample_backward_kernel(size_t total, int latent, const float *stats, const float *eps,
                                                  const float *dz, float kl_weight, float *dstats) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t i = t / latent, j = t - i * latent;
    const float *mu = stats + i * 2 * latent;
    float *dmu = dstats + i * 2 * latent;
    const float sd = expf(0.5f * mu[latent + j]);
    const float g = dz[t];
    dmu[j] = g + kl_weight * mu[j];
    dmu[latent + j] = 0.5f * g * eps[t] * sd + 0.5f * kl_weight * (sd * sd - 1.0f);
  }
}

/* One block per item: -1/2 sum_j (1 + logvar - mean^2 - exp(logvar)), in
 * double. */
static __global__ void vae_kl_kernel(int latent, const float *stats, float *out) {
  const float *mu = stats + (size_t)blockIdx.x * 2 * latent, *lv = mu + latent;
  double s = 0.0;
  BLOCK_STRIDE_LOOP(j, latent) s += 1.0 + lv[j] - (double)mu[j] * mu[j] - exp((double)lv[j]);
  s = block_sum(s);
  if (threadIdx.x == 0) out[blockIdx.x] = (float)(-0.5 * s);
}

/* loss = max(x, 0) - x t + log(1 + exp(-|x|)); dlogits = scale * (sigmoid(x)
 * - t); either output may be NULL. */
static __global__ void bce_with_logits_kernel(size_t n, const float *logits, float target, float scale, float *loss,
                                              float *dlogits) {
  GRID_STRIDE_LOOP(i, n) {
    const float x = logits[i];
    const float t = expf(-fabsf(x)); /* in (0, 1]: no overflow */
    if (loss) loss[i] = fmaxf(x, 0.0f) - x * target + log1pf(t);
    if (dlogits) {
      const float sig = x >= 0.0f ? 1.0f / (1.0f + t) : t / (1.0f + t);
      dlogits[i] = scale * (sig - target);
    }
  }
}

static int vae_check(const char *op, int n, int latent) {
  if (n < 0 || latent < 1) return gpd_error("%s: bad shape (n %d, latent %d)", op, n, latent);
  return 0;
}

extern "C" int cuda_vae_sample(gpd_engine *e, int n, int latent, const float *stats, const float *eps, float *z) {
  GPD_TRY(vae_check("vae_sample", n, latent));
  if (n == 0) return 0;
  if (!stats || !eps || !z) return gpd_error("vae_sample: NULL stats, eps or z");
  const size_t total = (size_t)n * latent;
  vae_sample_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(total, latent, stats,
                                                                                                  eps, z);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_vae_sample_backward(gpd_engine *e, int n, int latent, const float *stats, const float *eps,
                                        const float *dz, float kl_weight, float *dstats) {
  GPD_TRY(vae_check("vae_sample_backward", n, latent));
  if (n == 0) return 0;
  if (!stats || !eps || !dz || !dstats) return gpd_error("vae_sample_backward: NULL stats, eps, dz or dstats");
  const size_t total = (size_t)n * latent;
  vae_sample_backward_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, latent, stats, eps, dz, kl_weight, dstats);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_vae_kl_per_item(gpd_engine *e, int n, int latent, const float *stats, float *out) {
  GPD_TRY(vae_check("vae_kl_per_item", n, latent));
  if (n == 0) return 0;
  if (!stats || !out) return gpd_error("vae_kl_per_item: NULL stats or out");
  vae_kl_kernel<<<(unsigned)n, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(latent, stats, out);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_bce_with_logits(gpd_engine *e, int n, const float *logits, float target, float scale, float *loss,
                                    float *dlogits) {
  if (n < 0) return gpd_error("bce_with_logits: bad count %d", n);
  if (n == 0) return 0;
  if (!logits) return gpd_error("bce_with_logits: NULL logits");
  if (!loss && !dlogits) return 0;
  bce_with_logits_kernel<<<cuda_grid_for(e, (size_t)n, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      (size_t)n, logits, target, scale, loss, dlogits);
  CUDA_LAUNCH_CHECK();
  return 0;
}
