/* Checkpoints: one safetensors file with both networks, the Adam moments and,
 * in the metadata, everything else a bit-exact resume needs (step, RNG
 * state, training seconds) and the settings it must match. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/repo_path.h"
#include "gpd/train.h"
#include "gpd/weights.h"
#include "train_internal.h"

static int meta_printf(gpd_st_writer *w, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int meta_printf(gpd_st_writer *w, const char *key, const char *fmt, ...) {
  char value[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(value, sizeof value, fmt, ap);
  va_end(ap);
  return gpd_st_writer_meta(w, key, value);
}

/* A gpd_rng as metadata text: its four state words, the spare flag and
 * the spare normal's bits. */
static int meta_rng(gpd_st_writer *w, const char *key, const gpd_rng *r) {
  double spare = r->spare;
  uint64_t spare_bits;
  memcpy(&spare_bits, &spare, sizeof spare_bits);
  return meta_printf(w, key, "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %d %016" PRIx64, r->s[0], r->s[1],
                     r->s[2], r->s[3], r->has_spare, spare_bits);
}

static int parse_rng(const gpd_safetensors *st, const char *key, gpd_rng *out) {
  const char *text = gpd_st_meta_get(st, key);
  uint64_t s[4], spare_bits;
  int has_spare;
  if (!text || sscanf(text, "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %d %" SCNx64, &s[0], &s[1], &s[2], &s[3], &has_spare,
                      &spare_bits) != 6)
    return gpd_error("%s: checkpoint metadata '%s' is missing or malformed", st->path, key);
  memcpy(out->s, s, sizeof s);
  out->has_spare = has_spare;
  memcpy(&out->spare, &spare_bits, sizeof spare_bits);
  return 0;
}

static void moment_name(const gpd_net *net, const char *which, char *buf, size_t size) {
  snprintf(buf, size, "optimizer.%s.%s", net->role, which);
}

int gpd_checkpoint_save(const gpd_trainer *t, const char *path, const char *data_description) {
  gpd_engine *e = t->e;
  gpd_st_writer *w = gpd_st_writer_create();
  if (!w) return -1;
  float *host[4] = {0};
  int rc = -1;
  for (int i = 0; i < 2; i++)
    if (gpd_weights_add_net(w, &t->nets[i]) != 0) goto done;
  if (t->ema.params && gpd_weights_add_net(w, &t->ema) != 0) goto done;
  if (gpd_train_latents_save(t, w) != 0) goto done;
  for (int i = 0; i < 2; i++) {
    const gpd_net *net = &t->nets[i];
    int64_t shape[1] = {(int64_t)net->n_params};
    const float *src[2] = {t->adam_m[i], t->adam_v[i]};
    const char *which[2] = {"exp_avg", "exp_avg_sq"};
    for (int j = 0; j < 2; j++) {
      float **h = &host[2 * i + j];
      if (!(*h = gpd_malloc(net->n_params * sizeof(float), "a checkpoint's Adam moments"))) goto done;
      if (e->download(e, *h, src[j], net->n_params) != 0) goto done;
      char name[128];
      moment_name(net, which[j], name, sizeof name);
      if (gpd_st_writer_add(w, name, 1, shape, *h) != 0) goto done;
    }
  }
  const gpd_train_config *c = &t->cfg;
  char augment[64], data[256];
  gpd_augment_describe(c->augment, augment, sizeof augment);
  gpd_repo_relative_text(data_description ? data_description : "", data, sizeof data);
  if (meta_rng(w, "ckpt_rng", &t->rng) != 0 || meta_rng(w, "ckpt_aug_rng", &t->aug_rng) != 0 ||
      gpd_st_writer_meta(w, "ckpt_augment", augment) != 0 || meta_printf(w, "ckpt_ema", "%.9g", c->ema) != 0)
    goto done;
  if (gpd_weights_add_arch(w, &c->arch) != 0 || gpd_st_writer_meta(w, "gpdeblur_checkpoint", "1") != 0 ||
      meta_printf(w, "ckpt_step", "%ld", t->step) != 0 || meta_printf(w, "ckpt_steps_per_epoch", "%ld", t->steps_per_epoch) != 0 || meta_printf(w, "ckpt_seconds", "%.17g", t->seconds) != 0 ||
      meta_printf(w, "ckpt_seed", "%" PRIu64, c->seed) != 0 || meta_printf(w, "ckpt_batch", "%d", c->batch) != 0 ||
      meta_printf(w, "ckpt_disc_width", "%d", t->kind == GPD_TRAIN_GAN ? c->disc_width : 0) != 0 ||
      meta_printf(w, "ckpt_lr", "%.9g", c->lr) != 0 || meta_printf(w, "ckpt_recon_weight", "%.9g", c->recon_weight) != 0 ||
      meta_printf(w, "ckpt_data_scale", "%.9g", c->data_scale) != 0 ||
      gpd_st_writer_meta(w, "ckpt_data", data) != 0)
    goto done;
  if ((t->precision_history[0] && gpd_st_writer_meta(w, "ckpt_precision_history", t->precision_history) != 0) ||
      (t->recon_history[0] && gpd_st_writer_meta(w, "ckpt_recon_history", t->recon_history) != 0))
    goto done;
  rc = gpd_st_writer_save(w, path);
done:
  gpd_st_writer_free(w);
  for (int i = 0; i < 4; i++) free(host[i]);
  return rc;
}

static int meta_long(const gpd_safetensors *st, const char *key, long *out) {
  const char *v = gpd_st_meta_get(st, key);
  char *end;
  if (!v) return gpd_error("%s: checkpoint metadata lacks '%s'", st->path, key);
  *out = strtol(v, &end, 10);
  if (end == v || *end) return gpd_error("%s: checkpoint metadata '%s' = '%s' is not an integer", st->path, key, v);
  return 0;
}

static int load_moment(gpd_trainer *t, const gpd_safetensors *st, int i, const char *which, float *dst) {
  char name[128];
  const gpd_net *net = &t->nets[i];
  moment_name(net, which, name, sizeof name);
  const gpd_st_tensor *ten = gpd_st_find(st, name);
  if (!ten) return gpd_error("%s: checkpoint lacks tensor '%s'", st->path, name);
  float *h = gpd_malloc(net->n_params * sizeof(float), "Adam moments from a checkpoint");
  if (!h) return -1;
  int rc = gpd_st_tensor_to_finite_f32(st, ten, h, net->n_params);
  if (rc == 0) rc = t->e->upload(t->e, dst, h, net->n_params);
  free(h);
  return rc;
}

int gpd_checkpoint_load(gpd_trainer *t, const char *path) {
  gpd_safetensors st;
  memset(&st, 0, sizeof st);
  GPD_TRY(gpd_st_read(&st, path));
  int rc = -1;
  const gpd_train_config *c = &t->cfg;
  gpd_arch arch;
  long step = 0, batch = 0, disc_width = 0;
  if (!gpd_st_meta_get(&st, "gpdeblur_checkpoint")) {
    gpd_error("%s: not a gpdeblur training checkpoint (no 'gpdeblur_checkpoint' metadata)", path);
    goto done;
  }
  if (gpd_weights_arch(&st, &arch) != 0) goto done;
  if (strcmp(arch.name, c->arch.name) || arch.latent != c->arch.latent || arch.channels != c->arch.channels ||
      arch.size != c->arch.size || arch.width != c->arch.width) {
    gpd_error("%s: checkpoint is %s latent %d channels %d size %d width %d; this run is %s latent %d channels %d size %d width %d",
              path, arch.name, arch.latent, arch.channels, arch.size, arch.width, c->arch.name, c->arch.latent, c->arch.channels,
              c->arch.size, c->arch.width);
    goto done;
  }
  if (meta_long(&st, "ckpt_step", &step) || meta_long(&st, "ckpt_batch", &batch) || meta_long(&st, "ckpt_disc_width", &disc_width))
    goto done;
  if (batch != c->batch) {
    gpd_error("%s: checkpoint was trained with --batch %ld, this run has %d (the data order depends on it)", path, batch, c->batch);
    goto done;
  }
  if (t->kind == GPD_TRAIN_GAN && disc_width != c->disc_width) {
    gpd_error("%s: checkpoint's discriminator width is %ld, this run's %d", path, disc_width, c->disc_width);
    goto done;
  }
  const char *seed = gpd_st_meta_get(&st, "ckpt_seed");
  char want[32];
  snprintf(want, sizeof want, "%" PRIu64, c->seed);
  if (!seed || strcmp(seed, want)) {
    gpd_error("%s: checkpoint was trained with --seed %s, this run has %s", path, seed ? seed : "?", want);
    goto done;
  }
  const char *scale = gpd_st_meta_get(&st, "ckpt_data_scale");
  if (scale && strtof(scale, NULL) != c->data_scale) {
    gpd_error("%s: checkpoint was trained with --data-scale %s, this run has %g", path, scale, c->data_scale);
    goto done;
  }
  /* Augmentation and EMA settings must match (checkpoints from before
   * they existed had neither). */
  const char *aug = gpd_st_meta_get(&st, "ckpt_augment"), *ema = gpd_st_meta_get(&st, "ckpt_ema");
  char augment[64];
  gpd_augment_describe(c->augment, augment, sizeof augment);
  if (strcmp(aug ? aug : "none", augment)) {
    gpd_error("%s: checkpoint was trained with --augment %s, this run has %s", path, aug ? aug : "none", augment);
    goto done;
  }
  if ((ema ? strtof(ema, NULL) : 0.0f) != c->ema) {
    gpd_error("%s: checkpoint was trained with --ema %s, this run has %g", path, ema ? ema : "0", c->ema);
    goto done;
  }
  gpd_rng rng, aug_rng = t->aug_rng;
  if (parse_rng(&st, "ckpt_rng", &rng) != 0 || (aug && parse_rng(&st, "ckpt_aug_rng", &aug_rng) != 0)) goto done;
  for (int i = 0; i < 2; i++)
    if (gpd_weights_fill_net(&t->nets[i], &st) != 0) goto done;
  if (t->ema.params && gpd_weights_fill_net(&t->ema, &st) != 0) goto done;
  t->ema_stats_step = -1;
  for (int i = 0; i < 2; i++)
    if (load_moment(t, &st, i, "exp_avg", t->adam_m[i]) != 0 || load_moment(t, &st, i, "exp_avg_sq", t->adam_v[i]) != 0) goto done;
  const char *secs = gpd_st_meta_get(&st, "ckpt_seconds");
  const char *spe = gpd_st_meta_get(&st, "ckpt_steps_per_epoch");
  const char *data = gpd_st_meta_get(&st, "ckpt_data");
  /* A run over the data replaces these; an export keeps them. */
  if (spe && t->steps_per_epoch == 0) t->steps_per_epoch = strtol(spe, NULL, 10);
  if (data && !t->data_description[0]) snprintf(t->data_description, sizeof t->data_description, "%s", data);
  t->seconds = secs ? strtod(secs, NULL) : 0.0;
  t->rng = rng;
  t->aug_rng = aug_rng;
  t->step = step;
  /* a checkpoint from before the history was kept: what ran is unknown */
  const char *precisions = gpd_st_meta_get(&st, "ckpt_precision_history");
  if (precisions) snprintf(t->precision_history, sizeof t->precision_history, "%s", precisions);
  else snprintf(t->precision_history, sizeof t->precision_history, "unrecorded before step %ld", step);
  if (gpd_train_latents_load(t, &st) != 0) goto done;
  rc = 0;
done:
  gpd_st_free(&st);
  return rc;
}
