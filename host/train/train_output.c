/* The shipped weights file: the generator (GAN) or decoder and encoder
 * (VAE), its architecture, and how it was trained. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/repo_path.h"
#include "gpd/train.h"
#include "train_internal.h"
#include "gpd/weights.h"

static int meta(gpd_st_writer *w, const char *key, const char *fmt, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, fmt, v);
  return gpd_st_writer_meta(w, key, buf);
}

static int has_weights(const gpd_layer *l) {
  return l->kind == GPD_LAYER_LINEAR || l->kind == GPD_LAYER_CONV2D || l->kind == GPD_LAYER_CONV_TRANSPOSE2D;
}

/* Adds net to w with the training data scale s folded in: the encoder's
 * first weight times s (it saw s x), the decoder's last weight and bias over
 * s (it made s x; only ReLUs and reshapes may follow). */
static int add_net_unscaled(gpd_st_writer *w, const gpd_net *net, float s) {
  if (s == 1.0f) return gpd_weights_add_net(w, net);
  int encoder = !strcmp(net->role, "encoder");
  const gpd_layer *target = NULL;
  for (int i = 0; i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    if (!has_weights(l)) continue;
    if (encoder) {
      target = l;
      break;
    }
    target = l;
  }
  if (!target) return gpd_error("%s %s: no weights to fold the data scale into", net->arch, net->role);
  for (int i = (int)(target - net->layers) + 1; !encoder && i < net->n_layers; i++)
    if (net->layers[i].kind != GPD_LAYER_RELU && net->layers[i].kind != GPD_LAYER_RESHAPE)
      return gpd_error("%s decoder: a data scale cannot be folded through its final layers; train with data scale 1", net->arch);
  gpd_engine *e = net->engine;
  gpd_net copy = *net;
  copy.params = copy.grads = copy.buffers = NULL;
  GPD_TRY(gpd_net_alloc(&copy, e));
  int rc = e->copy(e, copy.params, net->params, net->n_params);
  if (!rc && net->n_buffers) rc = e->copy(e, copy.buffers, net->buffers, net->n_buffers);
  size_t nw = target->kind == GPD_LAYER_LINEAR ? (size_t)target->in_c * target->out_c
                                                : (size_t)target->in_c * target->out_c * target->k * target->k;
  float f = encoder ? s : 1.0f / s;
  float *wp = copy.params + target->w_off;
  if (!rc) rc = e->affine(e, nw, f, wp, 0.0f, wp);
  if (!rc && !encoder && target->b_off >= 0) rc = e->affine(e, (size_t)target->out_c, f, copy.params + target->b_off, 0.0f, copy.params + target->b_off);
  if (!rc) rc = gpd_weights_add_net(w, &copy);
  gpd_net_free(&copy);
  return rc;
}

int gpd_train_save_output(gpd_trainer *t, const char *path, const char *data_description) {
  const gpd_net *shipped = gpd_trainer_shipped_net(t);
  if (!shipped) return -1;
  /* The EMA ships under G's role (its own role names it in checkpoints). */
  gpd_net ship = *shipped;
  snprintf(ship.role, sizeof ship.role, "%s", t->nets[1].role);
  gpd_st_writer *w = gpd_st_writer_create();
  if (!w) return -1;
  const gpd_train_config *c = &t->cfg;
  int rc = -1;
  float scale = t->kind == GPD_TRAIN_VAE ? c->data_scale : 1.0f;
  if (add_net_unscaled(w, &ship, scale) != 0) goto done;
  if (t->kind == GPD_TRAIN_VAE && add_net_unscaled(w, &t->nets[0], scale) != 0) goto done;
  char seed[32];
  snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
  double epochs = t->steps_per_epoch > 0 ? (double)t->step / (double)t->steps_per_epoch : 0.0;
  /* paths in the description relative to the repository (a checkpoint
   * written by an older build may hold absolute ones) */
  char data[256];
  gpd_repo_relative_text(data_description ? data_description : t->data_description, data, sizeof data);
  /* the precision training ran in (an export's own engine does not count) */
  char precision[160];
  if (t->precision_history[0]) gpd_train_history_summary(t->precision_history, precision, sizeof precision);
  else snprintf(precision, sizeof precision, "%s", gpd_precision_name(t->e->precision));
  const char *method = t->kind == GPD_TRAIN_VAE ? "variational inference (negative ELBO: recon_weight * squared error + KL), Adam"
                     : c->recon_weight > 0 ? "GAN, non-saturating loss against dcgan_disc + recon_weight * ||x_i - G(z_i)||^2 "
                                             "with a fitted latent per training image (GLO), Adam"
                                           : "GAN, non-saturating loss against dcgan_disc, Adam";
  if (gpd_weights_add_arch(w, &c->arch) != 0 || gpd_st_writer_meta(w, "train_method", method) != 0 ||
      gpd_st_writer_meta(w, "train_data", data) != 0 ||
      meta(w, "train_epochs", "%.3f", epochs) != 0 || meta(w, "train_steps", "%.0f", (double)t->step) != 0 ||
      meta(w, "train_seconds", "%.0f", t->seconds) != 0 || meta(w, "train_batch", "%.0f", c->batch) != 0 ||
      meta(w, "train_lr", "%.6g", c->lr) != 0 || meta(w, "train_beta1", "%.3g", c->beta1) != 0 ||
      gpd_st_writer_meta(w, "train_seed", seed) != 0 || gpd_st_writer_meta(w, "train_engine", t->e->name) != 0 ||
      gpd_st_writer_meta(w, "train_precision", precision) != 0)
    goto done;
  if (t->kind == GPD_TRAIN_VAE &&
      (meta(w, "train_recon_weight", "%.6g", c->recon_weight) != 0 || meta(w, "train_kl_weight", "%.6g", c->kl_weight) != 0 ||
       meta(w, "train_data_scale", "%.6g", c->data_scale) != 0))
    goto done;
  if (t->kind == GPD_TRAIN_GAN) {
    char augment[64];
    gpd_augment_describe(c->augment, augment, sizeof augment);
    if (meta(w, "train_disc_width", "%.0f", c->disc_width) != 0 || gpd_st_writer_meta(w, "train_augment", augment) != 0 ||
        meta(w, "train_ema", "%.6g", c->ema) != 0)
      goto done;
    if (c->ema > 0 && meta(w, "train_ema_bn_samples", "%.0f", GPD_EMA_STAT_SAMPLES) != 0) goto done;
    if (c->recon_weight > 0 && (meta(w, "train_recon_weight", "%.6g", c->recon_weight) != 0 ||
                                meta(w, "train_latent_lr", "%.6g", c->latent_lr) != 0 ||
                                meta(w, "train_latent_init_steps", "%.0f", c->latent_init_steps) != 0))
      goto done;
    if (t->recon_history[0]) {
      char schedule[160];
      gpd_train_history_summary(t->recon_history, schedule, sizeof schedule);
      if (gpd_st_writer_meta(w, "train_recon_schedule", schedule) != 0) goto done;
    }
  }
  rc = gpd_st_writer_save(w, path);
done:
  gpd_st_writer_free(w);
  return rc;
}
