/* The VAE objective (negative ELBO) and its gradient, through the engine:
 *   loss = 1/n sum_i [ recon_weight * ||x_i - D(z_i)||^2 + kl_weight * KL_i ],
 *   z_i = mean_i + exp(logvar_i / 2) * eps_i  (reparameterisation),
 * so gradients reach the encoder through z (vae_sample_backward). */
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"

static double host_mean(gpd_trainer *t, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += t->host_items[i];
  return s / n;
}

int gpd_vae_loss_grad(gpd_trainer *t, int n, const float *x, const float *eps, gpd_train_losses *out) {
  gpd_engine *e = t->e;
  gpd_net *enc = &t->nets[0], *dec = &t->nets[1];
  int l = t->latent;
  size_t item = gpd_net_out_size(dec);
  size_t count = (size_t)n * item;
  if (n < 1 || n > t->ws[0].n) return gpd_error("VAE step: batch %d outside 1..%d", n, t->ws[0].n);
  GPD_TRY(e->fill(e, enc->grads, 0.0f, enc->n_params));
  GPD_TRY(e->fill(e, dec->grads, 0.0f, dec->n_params));

  const float *stats = gpd_net_forward(enc, &t->ws[0], n, x); /* (n, 2L) */
  if (!stats) return -1;
  GPD_TRY(e->vae_sample(e, n, l, stats, eps, t->z));
  const float *xhat = gpd_net_forward(dec, &t->ws[1], n, t->z); /* (n, item) */
  if (!xhat) return -1;

  GPD_TRY(e->squared_distance_per_item(e, n, item, xhat, x, t->items));
  GPD_TRY(gpd_engine_download_items(e, t->host_items, t->items, n));
  double recon = host_mean(t, n);
  GPD_TRY(e->vae_kl_per_item(e, n, l, stats, t->items));
  GPD_TRY(gpd_engine_download_items(e, t->host_items, t->items, n));
  double kl = host_mean(t, n);

  /* d loss / d xhat = (2 recon_weight / n) (xhat - x) */
  float s = 2.0f * t->cfg.recon_weight / (float)n;
  GPD_TRY(e->copy(e, t->dy, xhat, count));
  GPD_TRY(e->axpby(e, count, -s, x, s, t->dy));
  gpd_layer *last = &dec->layers[dec->n_layers - 1];
  int leak = t->cfg.relu_leak > 0 && last->kind == GPD_LAYER_RELU;
  if (leak) {
    last->kind = GPD_LAYER_LEAKY_RELU; /* backward only: see gpd_train_config.relu_leak */
    last->slope = t->cfg.relu_leak;
  }
  int rc = gpd_net_backward(dec, &t->ws[1], n, t->dy, t->dz, 1);
  if (leak) {
    last->kind = GPD_LAYER_RELU;
    last->slope = 0.0f;
  }
  GPD_TRY(rc);
  GPD_TRY(e->vae_sample_backward(e, n, l, stats, eps, t->dz, t->cfg.kl_weight / (float)n, t->dstats));
  GPD_TRY(gpd_net_backward(enc, &t->ws[0], n, t->dstats, NULL, 1));

  if (out) {
    memset(out, 0, sizeof *out);
    out->recon = recon;
    out->kl = kl;
    out->loss = t->cfg.recon_weight * recon + t->cfg.kl_weight * kl;
  }
  return 0;
}
