/* The trainer: networks, Adam state and batch buffers (gpd/train.h), the
 * defaults of each architecture, and one optimiser step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

uint64_t gpd_train_mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int gpd_train_defaults(gpd_train_config *cfg, const char *arch_name) {
  memset(cfg, 0, sizeof *cfg);
  cfg->beta1 = 0.9f;
  cfg->beta2 = 0.999f;
  cfg->adam_eps = 1e-8f;
  cfg->kl_weight = 1.0f;
  cfg->data_scale = 1.0f;
  cfg->batch = 64;
  cfg->log_every = 50;
  cfg->grid = 64;
  if (!strcmp(arch_name, "blur_vae")) {
    /* Table IV's encoder/decoder. The paper trains with batch 5 at 1e-5;
     * batch 64 at 1e-3 reaches a lower loss in far fewer steps on a CPU
     * (weights/README.md). recon weight 1e4 = a Gaussian likelihood with
     * sigma ~ 0.007, about a tenth of a long kernel's pixel values, so the
     * decoder must place the trajectory, not a blurred blob. The output
     * ReLU needs the surrogate gradient (gpd_train_config.relu_leak). */
    snprintf(cfg->arch.name, sizeof cfg->arch.name, "blur_vae");
    cfg->arch.latent = 50;
    cfg->arch.channels = 1;
    cfg->arch.size = 28;
    cfg->lr = 1e-3f;
    cfg->epochs = 40;
    cfg->recon_weight = 1e4f;
    cfg->relu_leak = 0.1f;
  } else if (!strcmp(arch_name, "svhn_vae")) {
    /* Table IV; sigma 0.1 on [0, 1] pixels. */
    snprintf(cfg->arch.name, sizeof cfg->arch.name, "svhn_vae");
    cfg->arch.latent = 100;
    cfg->arch.channels = 3;
    cfg->arch.size = 32;
    cfg->lr = 5e-4f;
    cfg->epochs = 20;
    cfg->recon_weight = 50.0f;
  } else if (!strcmp(arch_name, "dcgan") || !strcmp(arch_name, "dcgan_tf")) {
    /* Radford et al.: Adam 2e-4, beta1 0.5, batch 64 (their 128 halved for
     * the CPU), N(0, 0.02) init. */
    snprintf(cfg->arch.name, sizeof cfg->arch.name, "dcgan_tf");
    cfg->arch.latent = 100;
    cfg->arch.channels = 3;
    cfg->arch.size = 64;
    cfg->arch.width = 64;
    cfg->disc_width = 64;
    cfg->lr = 2e-4f;
    cfg->beta1 = 0.5f;
    cfg->epochs = 25;
    /* Data-efficient GAN training (Zhao et al. 2020; Karras et al. 2020's
     * EMA): 8,000 faces are 25x fewer than the paper had. */
    cfg->augment = GPD_AUGMENT_FLIP | GPD_AUGMENT_DIFFAUG;
    cfg->ema = 0.999f;
    cfg->latent_lr = 0.05f; /* used with --recon-weight: the solver's range-projection step */
  } else {
    return gpd_error("--arch: '%s' is not a trainable architecture (blur_vae, svhn_vae or dcgan)", arch_name);
  }
  return gpd_arch_defaults(&cfg->arch);
}

void gpd_train_permutation(uint64_t seed, int epoch, long n, long *perm) {
  gpd_rng r;
  gpd_rng_seed(&r, gpd_train_mix_seed(seed, GPD_STREAM_SHUFFLE + (uint64_t)epoch));
  for (long i = 0; i < n; i++) perm[i] = i;
  for (long i = n - 1; i > 0; i--) {
    long j = (long)(gpd_rng_u64(&r) % (uint64_t)(i + 1));
    long tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}

static float *alloc_or_fail(gpd_engine *e, size_t count, const char *what, int *failed) {
  if (*failed) return NULL;
  float *p = e->alloc(e, count ? count : 1, what);
  if (!p) *failed = 1;
  return p;
}

/* The EMA starts as G's initial weights. */
static int init_ema(gpd_trainer *t) {
  gpd_net *g = &t->nets[1];
  GPD_TRY(gpd_net_build(&t->ema, &t->cfg.arch, g->role));
  snprintf(t->ema.role, sizeof t->ema.role, "%.11s_ema", g->role);
  GPD_TRY(gpd_net_alloc(&t->ema, t->e));
  GPD_TRY(t->e->copy(t->e, t->ema.params, g->params, g->n_params));
  if (g->n_buffers) GPD_TRY(t->e->copy(t->e, t->ema.buffers, g->buffers, g->n_buffers));
  return 0;
}

int gpd_trainer_init(gpd_trainer *t, const gpd_train_config *cfg, gpd_engine *e) {
  memset(t, 0, sizeof *t);
  t->cfg = *cfg;
  t->e = e;
  if (gpd_arch_defaults(&t->cfg.arch) != 0) return -1;
  const gpd_arch *arch = &t->cfg.arch;
  if (cfg->batch < 1) return gpd_error("--batch: must be at least 1");
  if (!(cfg->lr > 0)) return gpd_error("--lr: must be positive");
  if (!(cfg->ema >= 0 && cfg->ema < 1)) return gpd_error("--ema: decay %g outside [0, 1)", cfg->ema);
  if (!(cfg->recon_weight >= 0)) return gpd_error("--recon-weight: %g is negative", cfg->recon_weight);
  gpd_arch other = *arch;
  const char *roles[2];
  if (!strcmp(arch->name, "blur_vae") || !strcmp(arch->name, "svhn_vae")) {
    t->kind = GPD_TRAIN_VAE;
    roles[0] = "encoder";
    roles[1] = "decoder";
  } else if (!strcmp(arch->name, "dcgan_tf") || !strcmp(arch->name, "dcgan_torch")) {
    t->kind = GPD_TRAIN_GAN;
    snprintf(other.name, sizeof other.name, "dcgan_disc");
    other.width = cfg->disc_width > 0 ? cfg->disc_width : arch->width;
    t->cfg.disc_width = other.width;
    roles[0] = "discriminator";
    roles[1] = "generator";
  } else {
    return gpd_error("arch '%s' cannot be trained (blur_vae, svhn_vae, dcgan_tf)", arch->name);
  }
  t->latent = arch->latent;
  const gpd_arch *archs[2] = {t->kind == GPD_TRAIN_GAN ? &other : arch, arch};
  for (int i = 0; i < 2; i++) {
    if (gpd_net_build(&t->nets[i], archs[i], roles[i]) != 0) goto fail;
    if (gpd_net_alloc(&t->nets[i], e) != 0) goto fail;
    if (gpd_net_init(&t->nets[i], gpd_train_mix_seed(cfg->seed, GPD_STREAM_INIT + (uint64_t)i)) != 0) goto fail;
    t->nets[i].bn_train = 1;
    if (gpd_net_workspace_alloc(&t->ws[i], &t->nets[i], cfg->batch) != 0) goto fail;
  }
  gpd_net *ship = &t->nets[1], *aux = &t->nets[0];
  if (gpd_net_in_size(ship) != (size_t)t->latent) {
    gpd_error("%s %s: input has %zu values, expected the latent size %d", arch->name, roles[1], gpd_net_in_size(ship), t->latent);
    goto fail;
  }
  if (t->kind == GPD_TRAIN_VAE && gpd_net_out_size(aux) != 2 * (size_t)t->latent) {
    gpd_error("%s encoder: output has %zu values, expected 2 x latent = %d", arch->name, gpd_net_out_size(aux), 2 * t->latent);
    goto fail;
  }
  if (t->kind == GPD_TRAIN_GAN && (gpd_net_out_size(aux) != 1 || gpd_net_in_size(aux) != gpd_net_out_size(ship))) {
    gpd_error("dcgan_disc: takes %zu values and gives %zu; expected the generator's %zu and one logit", gpd_net_in_size(aux),
              gpd_net_out_size(aux), gpd_net_out_size(ship));
    goto fail;
  }
  size_t b = (size_t)cfg->batch, l = (size_t)t->latent, item = gpd_net_out_size(ship);
  int failed = 0;
  for (int i = 0; i < 2; i++) {
    t->adam_m[i] = alloc_or_fail(e, t->nets[i].n_params, "Adam first moments", &failed);
    t->adam_v[i] = alloc_or_fail(e, t->nets[i].n_params, "Adam second moments", &failed);
  }
  t->x = alloc_or_fail(e, b * item, "a training batch", &failed);
  t->noise = alloc_or_fail(e, b * l, "training noise", &failed);
  t->z = alloc_or_fail(e, b * l, "sampled latents", &failed);
  t->dz = alloc_or_fail(e, b * l, "latent gradients", &failed);
  t->dstats = alloc_or_fail(e, b * 2 * l, "encoder output gradients", &failed);
  t->dy = alloc_or_fail(e, b * item, "output gradients", &failed);
  if (t->kind == GPD_TRAIN_GAN) t->fake_d = alloc_or_fail(e, b * item, "discriminator inputs", &failed);
  if (t->kind == GPD_TRAIN_GAN && cfg->augment) {
    t->aug_params = alloc_or_fail(e, GPD_AUGMENT_VIEWS * b * GPD_AUGMENT_PARAMS, "augmentation parameters", &failed);
    t->real_aug = alloc_or_fail(e, b * item, "augmented real images", &failed);
    t->fake_aug = alloc_or_fail(e, b * item, "augmented fake images", &failed);
    t->dfake = alloc_or_fail(e, b * item, "augmented fake gradients", &failed);
  }
  t->dlogit = alloc_or_fail(e, b, "logit gradients", &failed);
  t->items = alloc_or_fail(e, b, "per-item losses", &failed);
  if (failed) goto fail;
  if (t->kind == GPD_TRAIN_GAN) {
    /* The shipped generators end in an affine (x+1)/2 after tanh; D then
     * works on [-1, 1] images as in the DCGAN paper. */
    gpd_layer_kind last = ship->layers[ship->n_layers - 1].kind;
    t->d_rescale = last == GPD_LAYER_AFFINE || last == GPD_LAYER_SIGMOID;
  }
  /* host_x stages the noise too (n x L) before it goes up. */
  t->host_x = gpd_malloc(b * (item > 2 * l ? item : 2 * l) * sizeof(float), "a host staging buffer");
  t->host_items = gpd_malloc(b * 2 * l * sizeof(float) + b * sizeof(float), "host per-item values");
  if (!t->host_x || !t->host_items) goto fail;
  if (t->aug_params && !(t->host_aug = gpd_malloc(GPD_AUGMENT_VIEWS * b * GPD_AUGMENT_PARAMS * sizeof(float), "host augmentation parameters")))
    goto fail;
  if (t->kind == GPD_TRAIN_GAN && cfg->ema > 0 && init_ema(t) != 0) goto fail;
  t->ema_stats_step = -1;
  gpd_rng_seed(&t->rng, gpd_train_mix_seed(cfg->seed, GPD_STREAM_NOISE));
  gpd_rng_seed(&t->aug_rng, gpd_train_mix_seed(cfg->seed, GPD_STREAM_AUGMENT));
  return 0;
fail:
  gpd_trainer_free(t);
  return -1;
}

void gpd_trainer_free(gpd_trainer *t) {
  gpd_engine *e = t->e;
  if (!e) return;
  for (int i = 0; i < 2; i++) {
    gpd_net_workspace_free(&t->ws[i], e);
    gpd_net_free(&t->nets[i]);
    if (t->adam_m[i]) e->free(e, t->adam_m[i]);
    if (t->adam_v[i]) e->free(e, t->adam_v[i]);
  }
  if (t->ema.params) gpd_net_free(&t->ema);
  gpd_train_latents_free(t);
  float *bufs[] = {t->x, t->noise, t->z, t->dz, t->dstats, t->dy, t->dlogit, t->items, t->fake_d,
                   t->aug_params, t->real_aug, t->fake_aug, t->dfake};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    if (bufs[i]) e->free(e, bufs[i]);
  free(t->host_x);
  free(t->host_items);
  free(t->host_aug);
  memset(t, 0, sizeof *t);
}

static int adam(gpd_trainer *t, int i) {
  gpd_net *net = &t->nets[i];
  const gpd_train_config *c = &t->cfg;
  /* Each net's step count equals the trainer's: both nets update once per step. */
  return t->e->adam_step(t->e, net->n_params, c->lr, c->beta1, c->beta2, c->adam_eps, (int)(t->step + 1), net->grads,
                         t->adam_m[i], t->adam_v[i], net->params);
}

int gpd_trainer_step(gpd_trainer *t, const float *host_batch, const long *index, gpd_train_losses *out) {
  gpd_engine *e = t->e;
  int n = t->cfg.batch;
  size_t item = gpd_net_out_size(&t->nets[1]);
  size_t l = (size_t)t->latent;
  gpd_train_losses losses;
  memset(&losses, 0, sizeof losses);
  /* The noise is drawn before anything else so its stream position depends
   * only on the step count (checkpoints restore it exactly). */
  gpd_rng_fill_normal(&t->rng, t->host_x, (size_t)n * l, 0.0f, 1.0f);
  GPD_TRY(e->upload(e, t->noise, t->host_x, (size_t)n * l));
  GPD_TRY(e->upload(e, t->x, host_batch, (size_t)n * item));
  GPD_TRY(gpd_trainer_draw_augment(t, n));
  if (t->kind == GPD_TRAIN_VAE) {
    if (t->cfg.data_scale != 1.0f) GPD_TRY(e->affine(e, (size_t)n * item, t->cfg.data_scale, t->x, 0.0f, t->x));
    GPD_TRY(gpd_vae_loss_grad(t, n, t->x, t->noise, &losses));
    GPD_TRY(adam(t, 0));
    GPD_TRY(adam(t, 1));
  } else {
    GPD_TRY(gpd_train_gan_scale_real(t, n, t->x));
    GPD_TRY(gpd_gan_d_loss_grad(t, n, t->x, t->noise, &losses));
    GPD_TRY(adam(t, 0));
    /* G's activations from the D step's forward are still valid (G has not
     * changed), so the G step reuses them: one G forward per step. */
    GPD_TRY(gpd_train_gan_g_backward(t, n, &losses));
    if (t->latent_table) {
      GPD_TRY(gpd_train_latents_gather(t, n, index));
      GPD_TRY(gpd_gan_recon_loss_grad(t, n, t->x, t->z, GPD_RECON_ADD_TO_G, &losses));
    }
    GPD_TRY(adam(t, 1));
    if (t->latent_table) GPD_TRY(gpd_train_latents_update(t, n, index));
    /* ema = decay * ema + (1 - decay) * G */
    if (t->ema.params) GPD_TRY(e->axpby(e, t->ema.n_params, 1.0f - t->cfg.ema, t->nets[1].params, t->cfg.ema, t->ema.params));
  }
  if (!isfinite(losses.loss) || !isfinite(losses.g_loss))
    return gpd_error("training diverged at step %ld (loss %g); lower --lr", t->step + 1, losses.loss);
  t->step++;
  if (out) *out = losses;
  return 0;
}
