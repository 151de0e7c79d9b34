/* Shared between the files of host/train/ (not public). */
#ifndef GPD_TRAIN_INTERNAL_H
#define GPD_TRAIN_INTERNAL_H

#include "gpd/train.h"
#include "gpd/weights.h"

/* Independent random streams derived from the run's seed. */
enum {
  GPD_STREAM_INIT = 0,      /* + net index: weight initialisation */
  GPD_STREAM_NOISE = 10,    /* eps / z during training */
  GPD_STREAM_GRID = 20,     /* the fixed latents of the sample grids */
  /* 30: was the range projection's restarts (evalgen now runs the solver's) */
  GPD_STREAM_AUGMENT = 40,  /* augmentation draws */
  GPD_STREAM_EMA_STATS = 50, /* latents for the EMA's batch-norm statistics */
  GPD_STREAM_LATENTS = 60,  /* the initial per-image latents (latent_table.c) */
  GPD_STREAM_SHUFFLE = 1000 /* + epoch: the data order */
};

uint64_t gpd_train_mix_seed(uint64_t seed, uint64_t stream);

/* Maps real images in [0, 1] (engine memory, n items) to the generator's
 * output range in place: [-1, 1] when its last layer is tanh. */
int gpd_train_gan_scale_real(gpd_trainer *t, int n, float *x);
/* The generator half of a GAN step from G's last forward (t->fake): loss
 * -log D(G(z)) and G's gradient (G's grads zeroed first). */
int gpd_train_gan_g_backward(gpd_trainer *t, int n, gpd_train_losses *out);

/* Lays out n images (host (n, c, h, w)) on a grid `cols` wide with a 1-pixel
 * white border, each scaled to its maximum when per_item_max. */
int gpd_train_grid_image(const float *items, int n, int c, int h, int w, int cols, int per_item_max, const char *png_path);

/* The augmentation views of a step (gpd_trainer.aug_params). */
enum { GPD_VIEW_REAL = 0, GPD_VIEW_FAKE_D, GPD_VIEW_FAKE_G, GPD_AUGMENT_VIEWS };
/* y = view v of x (n items at G's output shape), and its adjoint. */
int gpd_train_gan_augment(gpd_trainer *t, int view, int n, const float *x, float *y);
int gpd_train_gan_augment_backward(gpd_trainer *t, int view, int n, const float *dy, float *dx);

/* A setting's history over resumes (train_history.c): appends "VALUE from
 * step STEP" to `history` (size bytes) when VALUE differs from its last
 * value; -1 (error recorded) when it does not fit. */
int gpd_train_history_note(char *history, size_t size, const char *value, long step);
/* What the weights record: the value alone when it held from step 0, else
 * the whole history. */
void gpd_train_history_summary(const char *history, char *out, size_t size);

/* The per-image latents (latent_table.c): the batch's rows into t->z,
 * t->latent_m, t->latent_v (the indices checked there); Adam on them with
 * gradient t->dz, back on the sphere, written back to the same indices;
 * checkpoint tensors; the table's memory. */
int gpd_train_latents_gather(gpd_trainer *t, int n, const long *index);
int gpd_train_latents_update(gpd_trainer *t, int n, const long *index);
int gpd_train_latents_save(const gpd_trainer *t, gpd_st_writer *w);
int gpd_train_latents_load(gpd_trainer *t, const gpd_safetensors *st);
void gpd_train_latents_free(gpd_trainer *t);

#endif
