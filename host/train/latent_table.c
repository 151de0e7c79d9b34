/* Per-image latents for the GAN's latent reconstruction (cfg.recon_weight,
 * GLO: Bojanowski et al. 2018, "Optimizing the latent space of generative
 * networks").
 *
 * Why: range projection (the paper's eq. 13) and the solvers look for the
 * point of G's range nearest an image, from N(0, I) starts. The GAN game
 * alone rewards G for making faces, not for covering every face, and on
 * 8,000 training faces it covers them slowly (weights/README.md). Giving each
 * training image i a latent z_i and adding ||x_i - G(z_i)||^2 to G's loss
 * trains G to reach every training face from some latent; the adversarial
 * loss keeps G(z) sharp for z ~ N(0, I).
 *
 * The table lives in host memory (count x L floats, 3.2 MB for 8,000 faces
 * at L = 100, with Adam's two moments as much again each): a step gathers its
 * batch's rows, the engine runs Adam on them, then they are put back on the
 * sphere of radius sqrt(L) (where N(0, I) samples concentrate, so the
 * solver's random starts and G's adversarial samples live where the table
 * does) and scattered back. Each row is visited once per epoch, so Adam's
 * bias correction uses the epochs since the table started. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

static const char *const TENSOR_Z = "latents.z";
static const char *const TENSOR_M = "optimizer.latents.exp_avg";
static const char *const TENSOR_V = "optimizer.latents.exp_avg_sq";

/* The epoch the next step belongs to (the step itself when the run's epoch
 * length is unknown: tests stepping the trainer by hand). */
static long current_epoch(const gpd_trainer *t) { return t->steps_per_epoch > 0 ? t->step / t->steps_per_epoch : t->step; }

/* Scales each row of a host (n, l) block to norm sqrt(l). */
static void rows_to_sphere_host(float *z, long n, int l) {
  for (long i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < l; j++) s += (double)z[i * l + j] * z[i * l + j];
    float k = s > 0 ? (float)sqrt(l / s) : 1.0f;
    for (int j = 0; j < l; j++) z[i * l + j] *= k;
  }
}

int gpd_trainer_latent_table(gpd_trainer *t, long count) {
  if (t->kind != GPD_TRAIN_GAN || !(t->cfg.recon_weight > 0)) return 0;
  if (count < 1) return gpd_error("latent table: %ld items", count);
  int l = t->latent;
  size_t b = (size_t)t->cfg.batch * (size_t)l;
  free(t->latent_table);
  free(t->latent_table_m);
  free(t->latent_table_v);
  size_t bytes = (size_t)count * (size_t)l * sizeof(float);
  t->latent_table = gpd_malloc(bytes, "the per-image latents");
  t->latent_table_m = gpd_malloc(bytes, "the per-image latents' Adam moments");
  t->latent_table_v = gpd_malloc(bytes, "the per-image latents' Adam moments");
  if (!t->host_latents) t->host_latents = gpd_malloc(3 * b * sizeof(float), "latent staging");
  if (!t->latent_m) t->latent_m = t->e->alloc(t->e, b, "batch latents' Adam moments");
  if (!t->latent_v) t->latent_v = t->e->alloc(t->e, b, "batch latents' Adam moments");
  if (!t->latent_table || !t->latent_table_m || !t->latent_table_v || !t->host_latents || !t->latent_m || !t->latent_v) return -1;
  gpd_rng r;
  gpd_rng_seed(&r, gpd_train_mix_seed(t->cfg.seed, GPD_STREAM_LATENTS));
  gpd_rng_fill_normal(&r, t->latent_table, (size_t)count * (size_t)l, 0.0f, 1.0f);
  rows_to_sphere_host(t->latent_table, count, l);
  memset(t->latent_table_m, 0, bytes);
  memset(t->latent_table_v, 0, bytes);
  t->latent_count = count;
  t->latent_fresh = 1;
  t->latent_epoch0 = current_epoch(t);
  return 0;
}

void gpd_train_latents_free(gpd_trainer *t) {
  free(t->latent_table);
  free(t->latent_table_m);
  free(t->latent_table_v);
  free(t->host_latents);
  if (t->latent_m) t->e->free(t->e, t->latent_m);
  if (t->latent_v) t->e->free(t->e, t->latent_v);
}

static int check_index(const gpd_trainer *t, int n, const long *index) {
  if (!index) return gpd_error("latent reconstruction: the step was given no data-set indices");
  for (int i = 0; i < n; i++)
    if (index[i] < 0 || index[i] >= t->latent_count)
      return gpd_error("latent reconstruction: item %ld outside the table's %ld", index[i], t->latent_count);
  return 0;
}

/* Rows index[0..n) of the table, its first and its second moments, and the
 * host staging (3, n, L): out of the table (to_table 0) or back in (1). */
static void move_rows(gpd_trainer *t, int n, const long *index, int to_table) {
  size_t l = (size_t)t->latent, b = (size_t)n * l;
  float *tables[3] = {t->latent_table, t->latent_table_m, t->latent_table_v};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < n; i++) {
      float *row = tables[k] + (size_t)index[i] * l, *staged = t->host_latents + k * b + (size_t)i * l;
      memcpy(to_table ? row : staged, to_table ? staged : row, l * sizeof(float));
    }
}

int gpd_train_latents_gather(gpd_trainer *t, int n, const long *index) {
  GPD_TRY(check_index(t, n, index));
  size_t b = (size_t)n * (size_t)t->latent;
  float *hz = t->host_latents, *hm = hz + b, *hv = hm + b;
  move_rows(t, n, index, 0);
  GPD_TRY(t->e->upload(t->e, t->z, hz, b));
  GPD_TRY(t->e->upload(t->e, t->latent_m, hm, b));
  return t->e->upload(t->e, t->latent_v, hv, b);
}

/* z = z * sqrt(L) / |z| per row of an engine (n, L) block. */
static int rows_to_sphere(gpd_trainer *t, int n, float *z) {
  gpd_engine *e = t->e;
  int l = t->latent;
  GPD_TRY(e->sum_squares_per_item(e, n, (size_t)l, z, t->items));
  GPD_TRY(gpd_engine_download_items(e, t->host_items, t->items, n));
  for (int i = 0; i < n; i++) t->host_items[i] = t->host_items[i] > 0 ? (float)sqrt(l / (double)t->host_items[i]) : 1.0f;
  GPD_TRY(e->upload(e, t->items, t->host_items, (size_t)n));
  return e->scale_per_item(e, n, (size_t)l, t->items, z, z);
}

int gpd_train_latents_update(gpd_trainer *t, int n, const long *index) {
  gpd_engine *e = t->e;
  const gpd_train_config *c = &t->cfg;
  size_t b = (size_t)n * (size_t)t->latent;
  int visits = (int)(current_epoch(t) - t->latent_epoch0 + 1);
  if (visits < 1) visits = 1;
  GPD_TRY(e->adam_step(e, b, c->latent_lr, c->beta1, c->beta2, c->adam_eps, visits, t->dz, t->latent_m, t->latent_v, t->z));
  GPD_TRY(rows_to_sphere(t, n, t->z));
  float *hz = t->host_latents, *hm = hz + b, *hv = hm + b;
  GPD_TRY(e->download(e, hz, t->z, b));
  GPD_TRY(e->download(e, hm, t->latent_m, b));
  GPD_TRY(e->download(e, hv, t->latent_v, b));
  move_rows(t, n, index, 1);
  return 0;
}

int gpd_train_latents_project(gpd_trainer *t, const gpd_dataset *ds) {
  const gpd_train_config *c = &t->cfg;
  if (!t->latent_table || !t->latent_fresh || c->latent_init_steps < 1) return 0;
  if (ds->count != t->latent_count) return gpd_error("latent projection: %ld images for a table of %ld", ds->count, t->latent_count);
  gpd_engine *e = t->e;
  int l = t->latent, b = c->batch;
  size_t item = gpd_dataset_item_size(ds);
  long *index = gpd_malloc((size_t)b * sizeof *index, "latent projection indices");
  if (!index) return -1;
  int rc = -1;
  for (long first = 0; first < ds->count; first += b) {
    int n = (int)(ds->count - first < b ? ds->count - first : b);
    for (int i = 0; i < n; i++) index[i] = first + i;
    if (gpd_dataset_batch(ds, index, n, t->host_x) != 0 || e->upload(e, t->x, t->host_x, (size_t)n * item) != 0 ||
        gpd_train_gan_scale_real(t, n, t->x) != 0 || gpd_train_latents_gather(t, n, index) != 0)
      goto done;
    size_t nz = (size_t)n * (size_t)l;
    for (int k = 0; k < c->latent_init_steps; k++)
      if (gpd_gan_recon_loss_grad(t, n, t->x, t->z, GPD_RECON_LATENTS_ONLY, NULL) != 0 ||
          e->adam_step(e, nz, c->latent_lr, c->beta1, c->beta2, c->adam_eps, k + 1, t->dz, t->latent_m, t->latent_v, t->z) != 0 ||
          rows_to_sphere(t, n, t->z) != 0)
        goto done;
    /* z back; the staged moments are still the table's zeros (the
     * projection's own stay on the engine and are dropped) */
    if (e->download(e, t->host_latents, t->z, nz) != 0) goto done;
    move_rows(t, n, index, 1);
    if (c->latent_init_progress) c->latent_init_progress(c->progress_ctx, first + n, ds->count);
  }
  rc = 0;
  t->latent_fresh = 0;
done:
  free(index);
  return rc;
}

int gpd_train_latents_save(const gpd_trainer *t, gpd_st_writer *w) {
  if (!t->latent_table) return 0;
  int64_t shape[2] = {(int64_t)t->latent_count, (int64_t)t->latent};
  char epoch0[32];
  snprintf(epoch0, sizeof epoch0, "%ld", t->latent_epoch0);
  GPD_TRY(gpd_st_writer_add(w, TENSOR_Z, 2, shape, t->latent_table));
  GPD_TRY(gpd_st_writer_add(w, TENSOR_M, 2, shape, t->latent_table_m));
  GPD_TRY(gpd_st_writer_add(w, TENSOR_V, 2, shape, t->latent_table_v));
  return gpd_st_writer_meta(w, "ckpt_latent_epoch0", epoch0);
}

int gpd_train_latents_load(gpd_trainer *t, const gpd_safetensors *st) {
  const gpd_st_tensor *z = gpd_st_find(st, TENSOR_Z);
  if (z) {
    /* Like --augment and --ema: a resume or export states the objective the
     * checkpoint was trained with. */
    const char *w = gpd_st_meta_get(st, "ckpt_recon_weight");
    if (!w || (strtof(w, NULL) != t->cfg.recon_weight && !t->cfg.recon_weight_change))
      return gpd_error("%s: the checkpoint was trained with --recon-weight %s, this run has %g (--change-recon-weight "
                       "continues it with the new weight)",
                       st->path, w ? w : "?", t->cfg.recon_weight);
    const char *history = gpd_st_meta_get(st, "ckpt_recon_history");
    if (history) snprintf(t->recon_history, sizeof t->recon_history, "%s", history);
    else snprintf(t->recon_history, sizeof t->recon_history, "%g before step %ld", strtof(w, NULL), t->step);
  }
  if (!t->latent_table) return 0; /* an export: the nets are all it needs */
  t->latent_fresh = !z;
  if (!z) {
    /* A plain GAN's checkpoint: the reconstruction starts here, from the
     * table's random latents. */
    t->latent_epoch0 = current_epoch(t);
    return 0;
  }
  size_t count = (size_t)t->latent_count * (size_t)t->latent;
  if (z->ndim != 2 || z->shape[0] != t->latent_count || z->shape[1] != t->latent)
    return gpd_error("%s: '%s' is not (%ld, %d): the checkpoint was trained on another data set", st->path, TENSOR_Z, t->latent_count,
                     t->latent);
  const gpd_st_tensor *m = gpd_st_find(st, TENSOR_M), *v = gpd_st_find(st, TENSOR_V);
  const char *epoch0 = gpd_st_meta_get(st, "ckpt_latent_epoch0");
  if (!m || !v || !epoch0) return gpd_error("%s: per-image latents without their Adam moments or first epoch", st->path);
  GPD_TRY(gpd_st_tensor_to_finite_f32(st, z, t->latent_table, count));
  GPD_TRY(gpd_st_tensor_to_finite_f32(st, m, t->latent_table_m, count));
  GPD_TRY(gpd_st_tensor_to_finite_f32(st, v, t->latent_table_v, count));
  t->latent_epoch0 = strtol(epoch0, NULL, 10);
  return 0;
}
