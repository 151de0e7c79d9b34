/* The net that ships from a trainer, and the batch-norm statistics of G's
 * exponential moving average.
 *
 * The EMA's weights are an average of G's; the running statistics G's
 * batch norms collected describe G's activations, not the EMA's, and an
 * average of them would describe neither. So the EMA's statistics are
 * recomputed whenever it is used, from its own samples at fixed latents:
 * the cumulative average over GPD_EMA_STAT_SAMPLES samples of the batch
 * statistics (momentum 1/(k+1) at batch k, as torch.optim.swa_utils.update_bn
 * does for averaged weights, and BigGAN's "standing statistics"). The
 * result is a function of the EMA's parameters alone, so a checkpoint needs
 * nothing more to resume exactly. */
#include <stdlib.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

static int recompute_stats(gpd_trainer *t) {
  gpd_engine *e = t->e;
  gpd_net *g = &t->ema;
  const int n = t->ws[1].n;
  const size_t l = (size_t)t->latent;
  const int batches = (GPD_EMA_STAT_SAMPLES + n - 1) / n;
  float *z = gpd_malloc((size_t)n * l * sizeof(float), "latents for the EMA's statistics");
  float momentum[GPD_MAX_LAYERS];
  if (!z) return -1;
  for (int i = 0; i < g->n_layers; i++) momentum[i] = g->layers[i].momentum;
  gpd_rng r;
  gpd_rng_seed(&r, gpd_train_mix_seed(t->cfg.seed, GPD_STREAM_EMA_STATS));
  int rc = 0;
  g->bn_train = 1;
  for (int k = 0; k < batches && rc == 0; k++) {
    for (int i = 0; i < g->n_layers; i++)
      if (g->layers[i].kind == GPD_LAYER_BATCHNORM) g->layers[i].momentum = 1.0f / (float)(k + 1);
    gpd_rng_fill_normal(&r, z, (size_t)n * l, 0.0f, 1.0f);
    rc = e->upload(e, t->noise, z, (size_t)n * l);
    if (rc == 0 && !gpd_net_forward(g, &t->ws[1], n, t->noise)) rc = -1;
  }
  for (int i = 0; i < g->n_layers; i++) g->layers[i].momentum = momentum[i];
  g->bn_train = 0;
  t->fake = NULL; /* the forwards above replaced G's activations */
  free(z);
  return rc;
}

gpd_net *gpd_trainer_shipped_net(gpd_trainer *t) {
  if (t->kind != GPD_TRAIN_GAN || !t->ema.params) return &t->nets[1];
  if (t->ema_stats_step != t->step) {
    if (recompute_stats(t) != 0) return NULL;
    t->ema_stats_step = t->step;
  }
  return &t->ema;
}
