/* The GAN game of Goodfellow et al. with the non-saturating generator loss,
 * as in Radford et al.'s DCGAN (logits and binary cross-entropy):
 *   D: -mean log sigmoid(D(x)) - mean log(1 - sigmoid(D(G(z))))
 *   G: -mean log sigmoid(D(G(z)))
 * Real and fake images go through D as separate batches, so D's batch norm
 * sees each on its own (as the reference code does). With augmentation on,
 * D sees every image through this step's view for its place (augment.c):
 * real and fake in D's update, fake in G's, and G's gradient comes back
 * through the augmentation's adjoint.
 *
 * The latent reconstruction (cfg.recon_weight > 0) adds to G's loss
 *   recon_weight * 1/n sum_i ||x01_i - G(z_i)||^2
 * for the batch's images and their own latents (latent_table.c). */
#include <math.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

/* Mean of the per-item values in t->items over n items. */
static int items_mean(gpd_trainer *t, int n, double *mean) {
  GPD_TRY(gpd_engine_download_items(t->e, t->host_items, t->items, n));
  double s = 0;
  for (int i = 0; i < n; i++) s += t->host_items[i];
  *mean = s / n;
  return 0;
}

/* Mean of the per-item losses and of sigmoid(logit) over n items. */
static int bce_stats(gpd_trainer *t, int n, const float *logits, double *loss, double *prob) {
  GPD_TRY(items_mean(t, n, loss));
  GPD_TRY(gpd_engine_download_items(t->e, t->host_items, logits, n));
  double s = 0;
  for (int i = 0; i < n; i++) s += 1.0 / (1.0 + exp(-(double)t->host_items[i]));
  *prob = s / n;
  return 0;
}

int gpd_train_gan_scale_real(gpd_trainer *t, int n, float *x) {
  if (!t->d_rescale) return 0;
  size_t count = (size_t)n * gpd_net_out_size(&t->nets[1]);
  return t->e->affine(t->e, count, 2.0f, x, -1.0f, x);
}

/* D's view of G's last output: fake_d = 2 G(z) - 1 (or G(z) itself). */
static const float *fake_for_d(gpd_trainer *t, int n) {
  if (!t->d_rescale) return t->fake;
  size_t count = (size_t)n * gpd_net_out_size(&t->nets[1]);
  if (t->e->affine(t->e, count, 2.0f, t->fake, -1.0f, t->fake_d) != 0) return NULL;
  return t->fake_d;
}

/* One pass of D on images x with a constant target; accumulates D's weight
 * gradients. */
static int d_half(gpd_trainer *t, int n, const float *x, float target, double *loss, double *prob) {
  gpd_engine *e = t->e;
  gpd_net *d = &t->nets[0];
  const float *logits = gpd_net_forward(d, &t->ws[0], n, x);
  if (!logits) return -1;
  GPD_TRY(e->bce_with_logits(e, n, logits, target, 1.0f / (float)n, t->items, t->dlogit));
  GPD_TRY(bce_stats(t, n, logits, loss, prob));
  return gpd_net_backward(d, &t->ws[0], n, t->dlogit, NULL, 1);
}

static int augments_fakes(const gpd_trainer *t) { return t->aug_params && (t->cfg.augment & GPD_AUGMENT_DIFFAUG); }

int gpd_gan_d_loss_grad(gpd_trainer *t, int n, const float *x_real, const float *z, gpd_train_losses *out) {
  gpd_engine *e = t->e;
  gpd_net *d = &t->nets[0], *g = &t->nets[1];
  if (n < 1 || n > t->ws[0].n) return gpd_error("GAN step: batch %d outside 1..%d", n, t->ws[0].n);
  GPD_TRY(e->fill(e, d->grads, 0.0f, d->n_params));
  t->fake = gpd_net_forward(g, &t->ws[1], n, z);
  if (!t->fake) return -1;
  double loss_real, loss_fake, p_real, p_fake;
  if (t->aug_params) {
    GPD_TRY(gpd_train_gan_augment(t, GPD_VIEW_REAL, n, x_real, t->real_aug));
    x_real = t->real_aug;
  }
  GPD_TRY(d_half(t, n, x_real, 1.0f, &loss_real, &p_real));
  const float *fake = fake_for_d(t, n);
  if (!fake) return -1;
  if (augments_fakes(t)) {
    GPD_TRY(gpd_train_gan_augment(t, GPD_VIEW_FAKE_D, n, fake, t->fake_aug));
    fake = t->fake_aug;
  }
  GPD_TRY(d_half(t, n, fake, 0.0f, &loss_fake, &p_fake));
  if (out) {
    out->loss = loss_real + loss_fake;
    out->d_real = p_real;
    out->d_fake = p_fake;
  }
  return 0;
}

int gpd_train_gan_g_backward(gpd_trainer *t, int n, gpd_train_losses *out) {
  gpd_engine *e = t->e;
  gpd_net *d = &t->nets[0], *g = &t->nets[1];
  if (!t->fake) return gpd_error("GAN generator step: no generator forward to differentiate");
  GPD_TRY(e->fill(e, g->grads, 0.0f, g->n_params));
  const float *fake = fake_for_d(t, n);
  if (!fake) return -1;
  if (augments_fakes(t)) {
    GPD_TRY(gpd_train_gan_augment(t, GPD_VIEW_FAKE_G, n, fake, t->fake_aug));
    fake = t->fake_aug;
  }
  const float *logits = gpd_net_forward(d, &t->ws[0], n, fake);
  if (!logits) return -1;
  GPD_TRY(e->bce_with_logits(e, n, logits, 1.0f, 1.0f / (float)n, t->items, t->dlogit));
  double loss, prob;
  GPD_TRY(bce_stats(t, n, logits, &loss, &prob));
  float *dfake = t->dy;
  if (augments_fakes(t)) {
    GPD_TRY(gpd_net_backward(d, &t->ws[0], n, t->dlogit, t->dfake, 0));
    GPD_TRY(gpd_train_gan_augment_backward(t, GPD_VIEW_FAKE_G, n, t->dfake, dfake));
  } else {
    GPD_TRY(gpd_net_backward(d, &t->ws[0], n, t->dlogit, dfake, 0));
  }
  if (t->d_rescale) GPD_TRY(e->affine(e, (size_t)n * gpd_net_out_size(g), 2.0f, dfake, 0.0f, dfake));
  GPD_TRY(gpd_net_backward(g, &t->ws[1], n, dfake, NULL, 1));
  if (out) out->g_loss = loss;
  return 0;
}

int gpd_gan_g_loss_grad(gpd_trainer *t, int n, const float *z, gpd_train_losses *out) {
  if (n < 1 || n > t->ws[1].n) return gpd_error("GAN step: batch %d outside 1..%d", n, t->ws[1].n);
  t->fake = gpd_net_forward(&t->nets[1], &t->ws[1], n, z);
  if (!t->fake) return -1;
  return gpd_train_gan_g_backward(t, n, out);
}

int gpd_gan_recon_loss_grad(gpd_trainer *t, int n, const float *x_real, const float *z, gpd_recon_grads weights,
                            gpd_train_losses *out) {
  gpd_engine *e = t->e;
  gpd_net *g = &t->nets[1];
  if (n < 1 || n > t->ws[1].n) return gpd_error("GAN latent reconstruction: batch %d outside 1..%d", n, t->ws[1].n);
  size_t count = (size_t)n * gpd_net_out_size(g);
  if (weights == GPD_RECON_SET_G) GPD_TRY(e->fill(e, g->grads, 0.0f, g->n_params));
  const float *xhat = gpd_net_forward(g, &t->ws[1], n, z); /* (n, item) in [0, 1] */
  if (!xhat) return -1;
  /* r = xhat - x01, with x01 = (x_real + 1) / 2 when D sees [-1, 1] */
  float *r = t->dy;
  GPD_TRY(e->copy(e, r, xhat, count));
  if (t->d_rescale) {
    GPD_TRY(e->axpby(e, count, -0.5f, x_real, 1.0f, r));
    GPD_TRY(e->affine(e, count, 1.0f, r, -0.5f, r));
  } else {
    GPD_TRY(e->axpby(e, count, -1.0f, x_real, 1.0f, r));
  }
  GPD_TRY(e->sum_squares_per_item(e, n, count / (size_t)n, r, t->items));
  double recon;
  GPD_TRY(items_mean(t, n, &recon));
  /* d loss / d xhat = (2 recon_weight / n) r */
  GPD_TRY(e->affine(e, count, 2.0f * t->cfg.recon_weight / (float)n, r, 0.0f, r));
  GPD_TRY(gpd_net_backward(g, &t->ws[1], n, r, t->dz, weights != GPD_RECON_LATENTS_ONLY));
  if (out) out->recon = recon;
  return 0;
}
