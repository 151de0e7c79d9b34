/* Training the generators (the paper's Section IV-A), written once against
 * the engine: variational inference for the VAEs (blur_vae, svhn_vae) and
 * the non-saturating GAN game for the DCGAN (dcgan_tf generator against a
 * dcgan_disc discriminator).
 *
 * Data sets are indexable sources of items in [0, 1]: an image folder
 * (loaded once into 8-bit memory), motion kernels drawn on the fly from a
 * seed range, or a block of host memory (tests). Kernel seeds: training uses
 * [0, GPD_KERNEL_TEST_SEED_BASE), held-out evaluation uses seeds from
 * GPD_KERNEL_TEST_SEED_BASE upward, so no test kernel is ever trained on.
 *
 * Reproducibility: every random number comes from gpd_rng. The data order of
 * epoch e is a Fisher-Yates permutation seeded by (seed, e); the VAE's eps
 * and the GAN's z come from one stream whose state is saved in checkpoints.
 * On the CPU engine two runs from the same seed are bit-identical, and a run
 * resumed from a checkpoint is bit-identical to an uninterrupted one. */
#ifndef GPD_TRAIN_H
#define GPD_TRAIN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "gpd/net.h"
#include "gpd/rng.h"
#include "gpd/solve.h"

#ifdef __cplusplus
extern "C" {
#endif

/* First seed of held-out motion kernels; training seeds must stay below. */
#define GPD_KERNEL_TEST_SEED_BASE 1000000000ULL

/* ---- data sets ------------------------------------------------------------ */

typedef enum gpd_dataset_kind {
  GPD_DATASET_KERNELS = 0, /* motion kernels from seeds seed_first .. +count-1 */
  GPD_DATASET_IMAGES,      /* an image folder, held as 8-bit (C, H, W) */
  GPD_DATASET_MEMORY       /* float items copied from the caller */
} gpd_dataset_kind;

typedef struct gpd_dataset {
  gpd_dataset_kind kind;
  int c, h, w;             /* per-item shape */
  long count;
  uint64_t seed_first;     /* kernels */
  int len_min, len_max;    /* kernels: trajectory length range (5..28) */
  uint8_t *pixels;         /* images: count * c*h*w bytes */
  float *items;            /* memory: count * c*h*w floats */
  char description[200];   /* "motion kernels 28x28, seeds 0..59999, lengths 5-28" */
} gpd_dataset;

/* count motion kernels, kernel i drawn from seed seed_first + i. */
int gpd_dataset_kernels(gpd_dataset *ds, int ksize, uint64_t seed_first, long count, int len_min, int len_max);
/* Every PNG / JPEG / BMP / PPM in dir, sorted by name. When first <= last
 * (both >= 0) only files whose name stem is a number in [first, last] are
 * taken (CelebA's 000001.jpg ...). Each image is converted to `channels`;
 * crop > 0 applies the CelebA recipe (center crop crop x crop, then resize to
 * size x size); crop == 0 keeps a size x size image as it is and otherwise
 * center-crops the largest square and resizes it. Errors name the file. */
int gpd_dataset_image_folder(gpd_dataset *ds, const char *dir, int channels, int size, int crop, long first, long last);
/* Copies count items of c*h*w floats. */
int gpd_dataset_memory(gpd_dataset *ds, int c, int h, int w, long count, const float *items);
void gpd_dataset_free(gpd_dataset *ds);
size_t gpd_dataset_item_size(const gpd_dataset *ds);
/* Item `index` as c*h*w floats into out (host memory). */
int gpd_dataset_get(const gpd_dataset *ds, long index, float *out);
/* Items index[0..n) into out (n, c, h, w), host memory. */
int gpd_dataset_batch(const gpd_dataset *ds, const long *index, int n, float *out);
/* Parses "A:B" into first = A, last = B (inclusive), A <= B. */
int gpd_parse_range(const char *opt, const char *text, long *first, long *last);

/* ---- configuration -------------------------------------------------------- */

typedef enum gpd_train_kind { GPD_TRAIN_VAE = 0, GPD_TRAIN_GAN } gpd_train_kind;

struct gpd_train_status; /* below */

typedef struct gpd_train_config {
  gpd_arch arch;          /* blur_vae / svhn_vae, or dcgan_tf (the generator) */
  int disc_width;         /* GAN: discriminator width (ndf), default arch.width */
  int epochs;             /* total epochs (a resumed run continues to this) */
  long max_steps;         /* > 0: stop after this many steps in total instead */
  int batch;
  float lr, beta1, beta2, adam_eps;
  uint64_t seed;
  /* VAE loss per item: recon_weight * ||x - G(z)||^2 + kl_weight * KL, i.e.
   * a Gaussian likelihood of variance 1 / (2 recon_weight).
   * GAN (0 = off, the default): G's loss gains recon_weight * mean over the
   * batch of ||x_i - G(z_i)||^2 (x in [0, 1]), where z_i is a latent kept for
   * training image i (GLO, Bojanowski et al. 2018): every image of the
   * training set keeps a point of G's range near it, which is what range
   * projection and the solvers look for (host/train/latent_table.c). */
  float recon_weight, kl_weight;
  /* GAN with recon_weight > 0: Adam step of the per-image latents (each is
   * updated once per epoch, when its image is in the batch, then put back on
   * the sphere of radius sqrt(L) where N(0, I) samples lie). */
  float latent_lr;
  /* GAN with recon_weight > 0, when the table starts (a fresh run, or a plain
   * GAN's checkpoint): > 0 starts each image's latent at its projection onto
   * G's range, this many Adam steps (latent_lr) from its random start, before
   * training (0: the random start itself). With a trained G the
   * reconstruction then refines faces G already nearly makes instead of
   * pulling every G(z) toward an arbitrary face. */
  int latent_init_steps;
  /* GAN with recon_weight > 0, resuming: the checkpoint may have been
   * trained with another recon_weight; this one applies from its step on (a
   * schedule, recorded in recon_history). 0: such a resume is refused. */
  int recon_weight_change;
  /* Called during that projection (images done of total); may be NULL. */
  void (*latent_init_progress)(void *ctx, long done, long total);
  /* VAE: trains on data_scale * x (default 1). The shipped file folds the
   * scale back into the encoder's first and the decoder's last layer (exact:
   * a conv is linear and the final ReLU positively homogeneous), so it maps
   * raw items. The blur VAE needs it: kernels sum to 1 (pixels ~0.01), and
   * unscaled its output ReLU dies within the first epoch. */
  float data_scale;
  /* VAE: when > 0 and the decoder ends in a ReLU, its backward during
   * training uses this leaky slope where the ReLU is off (a surrogate
   * gradient; the model and its loss stay ReLU). Where both the output and
   * the target are 0 the error is 0, so only pixels the decoder wrongly
   * switched off are pushed back up: without it the blur decoder's output
   * ReLU dies early (all of a kernel's 784 pixels but ~40 are 0) and never
   * recovers. */
  float relu_leak;
  /* GAN: augmentation policy, GPD_AUGMENT_* bits (dcgan default: flips and
   * DiffAugment's colour, translation and cutout; host/train/augment.c). */
  unsigned augment;
  /* GAN: decay of the exponential moving average of G's weights (0: none;
   * dcgan default 0.999). With it the EMA is what ships, what the sample
   * grids show and what is evaluated. */
  float ema;
  long log_every;         /* steps between rows of the loss CSV */
  /* Checkpoints (NULL dir: none): every checkpoint_steps steps, or every
   * checkpoint_seconds of wall time, whichever is set (> 0). */
  const char *checkpoint_dir;
  long checkpoint_steps;
  double checkpoint_seconds;
  int resume;             /* continue from checkpoint_dir/checkpoint.safetensors */
  /* > 0 (with checkpoint_dir): every this many steps, the file that would
   * ship at that step (gpd_train_save_output: the EMA of G for a GAN with
   * one) as checkpoint_dir/snapshot_STEP.safetensors (STEP 8 digits), so
   * that quality over training can be measured afterwards; the checkpoint
   * itself is overwritten. Not training state: a run resumes the same with
   * or without it. */
  long snapshot_steps;
  int grid;               /* samples in the PNG grid at each checkpoint (0: none) */
  /* Set asynchronously (a signal handler) to stop after the current step with
   * a checkpoint; NULL to ignore. */
  volatile sig_atomic_t *stop;
  /* Called after every step (for a progress bar); may be NULL. */
  void (*progress)(void *ctx, const struct gpd_train_status *status);
  void *progress_ctx;
} gpd_train_config;

/* Augmentation policy bits (gpd_train_config.augment). */
#define GPD_AUGMENT_FLIP 1u        /* horizontal flips of the real images */
#define GPD_AUGMENT_COLOR 2u       /* DiffAugment: brightness, saturation, contrast */
#define GPD_AUGMENT_TRANSLATION 4u /* DiffAugment: shifts up to 1/8 of the size, zero fill */
#define GPD_AUGMENT_CUTOUT 8u      /* DiffAugment: a zeroed square of half the size */
#define GPD_AUGMENT_DIFFAUG (GPD_AUGMENT_COLOR | GPD_AUGMENT_TRANSLATION | GPD_AUGMENT_CUTOUT)
/* "none", or a comma list of flip, color, translation, cutout, diffaug (the
 * three DiffAugment parts), all (flip + diffaug). */
int gpd_parse_augment(const char *text, unsigned *policy);
/* The inverse: "flip,color,translation,cutout" or "none". */
void gpd_augment_describe(unsigned policy, char *buf, size_t size);
/* Draws n items' diffaugment parameters (host (n, GPD_AUGMENT_PARAMS)) for
 * images of h x w under policy; flips only when `flip` (the real images). */
void gpd_augment_draw(gpd_rng *r, unsigned policy, int flip, int n, int h, int w, float *params);

/* Defaults for an architecture (the settings weights/README.md justifies):
 * blur_vae: latent 50, batch 64, Adam 1e-3, 40 epochs, recon weight 1e4;
 * svhn_vae: latent 100, batch 64, Adam 5e-4, recon weight 50;
 * dcgan_tf: latent 100, width 64, batch 64, Adam 2e-4, beta1 0.5. */
int gpd_train_defaults(gpd_train_config *cfg, const char *arch_name);

/* ---- the trainer ---------------------------------------------------------- */

/* Losses of one step (means over the batch). */
typedef struct gpd_train_losses {
  double loss;            /* VAE: recon_weight*recon + KL; GAN: discriminator loss */
  double recon, kl;       /* VAE: per-item squared error and KL; GAN: recon =
                           * per-item ||x_i - G(z_i)||^2 of the latent table */
  double g_loss;          /* GAN: generator (non-saturating) loss */
  double d_real, d_fake;  /* GAN: mean sigmoid(D(x)), sigmoid(D(G(z))) before D's update */
} gpd_train_losses;

typedef struct gpd_train_status {
  long step, total_steps;
  int epoch, epochs;
  gpd_train_losses last;  /* the latest step */
  gpd_train_losses avg;   /* mean since the last log row */
  double images_per_second; /* over the steps since the last log row */
  double seconds;         /* training time, summed over resumed runs */
} gpd_train_status;

typedef struct gpd_trainer {
  gpd_train_config cfg;
  gpd_train_kind kind;
  gpd_engine *e;
  /* VAE: nets[0] encoder, nets[1] decoder. GAN: nets[0] discriminator,
   * nets[1] generator. nets[1] is what ships. */
  gpd_net nets[2];
  gpd_net_workspace ws[2];
  float *adam_m[2], *adam_v[2]; /* engine memory, n_params each */
  long step;              /* optimiser steps done */
  long steps_per_epoch;   /* set by gpd_train_run (0: unknown) */
  char data_description[200]; /* set by gpd_train_run, saved with outputs */
  /* the settings' histories over resumes (train_history.c), in checkpoints:
   * the compute precision, and the reconstruction weight (GAN, table on) */
  char precision_history[160];
  char recon_history[160];
  gpd_rng rng;            /* eps / z stream */
  double seconds;         /* training time so far */
  int latent;
  /* engine buffers for one batch */
  float *x;               /* (B, item) data */
  float *noise;           /* VAE eps (B, L) / GAN z (B, L) */
  float *z;               /* VAE: sampled z (B, L) */
  float *dz;              /* VAE: (B, L) */
  float *dstats;          /* VAE: (B, 2L) */
  float *dy;              /* (B, out) output gradient of the shipped net */
  float *dlogit;          /* GAN: (B) */
  float *items;           /* per-item losses (B) */
  const float *fake;      /* GAN: G's output of the last forward (inside ws[1]) */
  float *fake_d;          /* GAN: (B, item) the fake images as D sees them */
  int d_rescale;          /* GAN: D sees 2x - 1 of G's [0, 1] output (as Radford et al.'s [-1, 1]) */
  /* GAN augmentation: three views of the batch per step (real for D, fake
   * for D, fake for G), params (3, B, GPD_AUGMENT_PARAMS) drawn from aug_rng */
  gpd_rng aug_rng;
  float *aug_params;      /* engine */
  float *host_aug;        /* host */
  float *real_aug;        /* (B, item) the real images as D sees them */
  float *fake_aug;        /* (B, item) the fakes as D sees them */
  float *dfake;           /* (B, item) gradient at D's view of the fakes */
  /* EMA of G (cfg.ema > 0): role "generator_ema"; its batch-norm running
   * statistics are recomputed from its own samples when it is used
   * (gpd_trainer_shipped_net), so only its parameters are state. */
  gpd_net ema;
  long ema_stats_step;    /* step at which ema's statistics were recomputed (-1: never) */
  float *host_x;          /* host (B, item) */
  float *host_items;      /* host (B) */
  /* GAN with cfg.recon_weight > 0: the per-image latents and their Adam
   * moments, host (latent_count, L) each (gpd_trainer_latent_table); a
   * step gathers its batch's rows into z / latent_m / latent_v (engine,
   * (B, L)), updates them there and writes them back. */
  float *latent_table, *latent_table_m, *latent_table_v;
  long latent_count;
  long latent_epoch0;     /* the first epoch the table was trained in (Adam's bias correction per row) */
  int latent_fresh;       /* the table holds its random start (not yet projected or loaded) */
  float *latent_m, *latent_v;
  float *host_latents;    /* host (3, B, L) staging */
} gpd_trainer;

/* Builds, allocates and initialises the networks (seeded from cfg->seed) for
 * batches of cfg->batch. */
int gpd_trainer_init(gpd_trainer *t, const gpd_train_config *cfg, gpd_engine *e);
void gpd_trainer_free(gpd_trainer *t);

/* Loss and parameter gradients (zeroed first, then written to each net's
 * grads) on a batch x (engine memory, n <= batch items) with the given noise
 * (engine memory: eps (n, L) for the VAE); no parameter update. BN in training
 * mode updates its running statistics as a side effect. */
int gpd_vae_loss_grad(gpd_trainer *t, int n, const float *x, const float *eps, gpd_train_losses *out);
/* GAN discriminator loss -log D(x) - log(1 - D(G(z))) (means over the batch;
 * x_real as D sees it: in [-1, 1] when t->d_rescale, see gpd_trainer_step)
 * and its gradient in nets[0].grads; G runs forward only. */
int gpd_gan_d_loss_grad(gpd_trainer *t, int n, const float *x_real, const float *z, gpd_train_losses *out);
/* GAN generator loss -log D(G(z)) and its gradient in nets[1].grads (D's
 * parameters fixed; D's grads untouched). */
int gpd_gan_g_loss_grad(gpd_trainer *t, int n, const float *z, gpd_train_losses *out);

/* Draws this step's augmentation views from t->aug_rng and uploads them
 * (gpd_trainer_step calls it; tests call it to fix the views). */
int gpd_trainer_draw_augment(gpd_trainer *t, int n);
/* The net that ships: the EMA of G with batch-norm statistics recomputed
 * from GPD_EMA_STAT_SAMPLES of its samples at fixed latents (cumulative
 * averages, as torch.optim.swa_utils.update_bn), or G itself without an
 * EMA; VAE: the decoder. NULL with an error on failure. Replaces G's
 * activations (the next step does a fresh forward). */
gpd_net *gpd_trainer_shipped_net(gpd_trainer *t);
#define GPD_EMA_STAT_SAMPLES 512

/* One optimiser step on a host batch (n = cfg.batch items): draws the noise
 * from t->rng, computes gradients, updates with Adam. GAN: one D step then
 * one G step on the same z (as Radford et al.'s reference code), plus the
 * latent reconstruction when cfg.recon_weight > 0; `index` (n data-set
 * indices of the batch's items) picks their latents then (else may be NULL). */
int gpd_trainer_step(gpd_trainer *t, const float *host_batch, const long *index, gpd_train_losses *out);

/* GAN with cfg.recon_weight > 0: the table of per-image latents for a data
 * set of `count` items, each drawn from N(0, I) (seeded by cfg.seed) and
 * put on the sphere of radius sqrt(L); Adam moments zero. gpd_train_run
 * calls it before a resume (which then fills it). */
int gpd_trainer_latent_table(gpd_trainer *t, long count);
/* Moves every latent of a fresh table to its image's projection onto G's
 * range: cfg.latent_init_steps Adam steps (cfg.latent_lr) on
 * ||x_i - G(z_i)||^2, back on the sphere after each; G (in training mode,
 * as the reconstruction sees it) is not updated. Adam moments stay zero. */
int gpd_train_latents_project(gpd_trainer *t, const gpd_dataset *ds);
/* GAN latent reconstruction: recon_weight * 1/n sum_i ||x01_i - G(z_i)||^2
 * with x01 = the real images in [0, 1] (x_real as D sees it, see
 * gpd_gan_d_loss_grad); writes d loss / d z to t->dz and, by `weights`, G's
 * gradient: none (the projection of the latents: no weight-gradient
 * convolutions), added to nets[1].grads, or written there (zeroed first).
 * out->recon = the mean per-item squared error. */
typedef enum { GPD_RECON_LATENTS_ONLY = 0, GPD_RECON_ADD_TO_G, GPD_RECON_SET_G } gpd_recon_grads;
int gpd_gan_recon_loss_grad(gpd_trainer *t, int n, const float *x_real, const float *z, gpd_recon_grads weights,
                            gpd_train_losses *out);

/* The permutation of epoch `epoch` of n items (deterministic in seed). */
void gpd_train_permutation(uint64_t seed, int epoch, long n, long *perm);

/* ---- checkpoints and outputs ---------------------------------------------- */

/* One safetensors file: both nets (state_dict names), Adam moments
 * ("optimizer.<role>.exp_avg" / ".exp_avg_sq"), and in its metadata the
 * architecture, step, training seconds, RNG state and the settings a resume
 * must match. Written atomically. */
int gpd_checkpoint_save(const gpd_trainer *t, const char *path, const char *data_description);
/* Restores a trainer built with the same configuration. */
int gpd_checkpoint_load(gpd_trainer *t, const char *path);

/* The shipped file: the decoder and encoder (VAE) or the generator (GAN:
 * the EMA of G when there is one, gpd_trainer_shipped_net),
 * the architecture, and training facts (train_data, train_epochs,
 * train_steps, train_seconds, ...) in the metadata. */
int gpd_train_save_output(gpd_trainer *t, const char *path, const char *data_description);

/* Renders `count` samples of the shipped net from fixed latents (seeded by
 * `seed`, the same at every checkpoint) in inference mode as a PNG grid.
 * Kernels (1 channel, blur VAE) are each scaled to their maximum. */
int gpd_train_sample_grid(gpd_trainer *t, int count, uint64_t seed, const char *png_path);

/* ---- the loss log ----------------------------------------------------------- */

typedef struct gpd_train_log {
  FILE *f;
  gpd_train_kind kind;
  int recon;              /* GAN: a recon column (the latent reconstruction) */
} gpd_train_log;

/* Opens path for appending (writing the header when new). When keep_steps
 * >= 0, rows with step > keep_steps are dropped first (a resumed run redoes
 * them). recon: GAN rows carry the latent reconstruction's error too. */
int gpd_train_log_open(gpd_train_log *log, const char *path, gpd_train_kind kind, int recon, long keep_steps);
/* One row: step, epoch, losses, images/s; flushed. */
int gpd_train_log_row(gpd_train_log *log, const gpd_train_status *s);
void gpd_train_log_close(gpd_train_log *log);

/* ---- the whole run ---------------------------------------------------------- */

/* Trains on ds until cfg.epochs (or cfg.max_steps) are done or *cfg.stop is
 * set: shuffles per epoch, writes the loss CSV (checkpoint_dir/loss.csv when
 * there is a checkpoint dir), checkpoints with sample grids, and a final
 * checkpoint at the end. Resumes first when cfg.resume. The trainer is left
 * with the final parameters. */
int gpd_train_run(gpd_trainer *t, const gpd_dataset *ds);

/* ---- evaluating a generator ------------------------------------------------ */

/* The range error (eq. 13) is the solver's range projection, gpd_solve with
 * GPD_ALG_RANGE (what `gpdeblur project` runs), one item at a time with the
 * same options and seed for every item: an item's range PSNR is exactly
 * what `project` reports for that item. VAEs also get their reconstruction,
 * decoder(encoder mean). */
typedef struct gpd_gen_eval_item {
  long index;             /* item of the data set (0-based) */
  double recon_rel_l2, recon_psnr; /* NaN without an encoder */
  double range_rel_l2;    /* ||x - G(z)|| / ||x|| of the chosen restart */
  double range_psnr;      /* images: gpd_solve's range_psnr; kernels: peak at max(x) */
  double range_ssim;      /* images (gpd_ssim); NaN for kernels */
  double range_mse;       /* the solver's measurement: mean((G(z) - x)^2) */
  int chosen;             /* the restart it came from */
} gpd_gen_eval_item;

typedef struct gpd_gen_eval_options {
  gpd_solve_options range; /* gpd_solve_defaults(GPD_ALG_RANGE): restarts,
                            * steps, adam_lr, lr_decay, seed, ... (alg is
                            * forced to range) */
  int batch;              /* items per encoder pass (reconstruction), 200 */
  int peak_is_max;        /* PSNR peak = each item's maximum (kernels) instead of 1 */
  void (*progress)(void *ctx, long done, long total);
  void *progress_ctx;
  /* Called with each item's results, in order (may be NULL). */
  void (*item)(void *ctx, const gpd_gen_eval_item *r);
  void *item_ctx;
} gpd_gen_eval_options;

typedef struct gpd_gen_eval {
  long count;
  /* means over the items; NaN where not measured */
  double recon_rel_l2, recon_psnr;
  double range_rel_l2, range_psnr, range_ssim;
} gpd_gen_eval;

void gpd_gen_eval_defaults(gpd_gen_eval_options *o);
/* encoder may be NULL (a GAN's generator). Both nets are left in the
 * batch-norm mode they came in (inference mode is used). Errors: item size
 * against the generator's output, the encoder's output size, the solver's. */
int gpd_generator_evaluate(gpd_net *encoder, gpd_net *generator, const gpd_dataset *ds, const gpd_gen_eval_options *o,
                           gpd_gen_eval *out);

#ifdef __cplusplus
}
#endif
#endif
