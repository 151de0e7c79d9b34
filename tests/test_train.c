/* Training (gpd/train.h) on tiny configurations:
 *  - parameter gradients of the VAE loss (fixed eps), the GAN discriminator
 *    loss (wrt D) and the generator loss (wrt G, through D) against central
 *    finite differences;
 *  - a short blur-VAE run lowers its loss clearly, and two runs from one
 *    seed give bit-identical parameters;
 *  - checkpoint + resume equals an uninterrupted run bit for bit (VAE and
 *    GAN, Adam moments and batch-norm statistics included) and the loss log
 *    has each step once;
 *  - the data scale folded into a shipped VAE file is exact;
 *  - data sets: kernels by seed, image folders by number range and the
 *    CelebA recipe, epoch permutations. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/image.h"
#include "gpd/rng.h"
#include "gpd/train.h"
#include "gpd/weights.h"
#include "../host/train/train_internal.h" /* the random streams: the EMA test redraws its latents */

static gpd_engine *E;

static float *download_all(const float *src, size_t n) {
  float *h = malloc(n * sizeof(float));
  E->download(E, h, src, n);
  return h;
}

/* ---- finite differences ------------------------------------------------------ */

typedef double (*loss_fn)(gpd_trainer *t, void *ctx);

/* Checks d loss / d params of net against central differences at a few
 * parameters of every weighted layer (4 weights, 2 biases each). The
 * analytic gradient must already be in net->grads. */
static void check_fd(const char *what, gpd_trainer *t, gpd_net *net, loss_fn f, void *ctx, double h) {
  float *grad = download_all(net->grads, net->n_params);
  float *p = download_all(net->params, net->n_params);
  gpd_rng r;
  gpd_rng_seed(&r, 7);
  float got[256], want[256];
  int m = 0;
  double scale = 0;
  for (int li = 0; li < net->n_layers && m < 240; li++) {
    const gpd_layer *l = &net->layers[li];
    if (l->w_off < 0) continue;
    size_t nw = l->kind == GPD_LAYER_BATCHNORM ? (size_t)l->in_c
                : l->kind == GPD_LAYER_LINEAR  ? (size_t)l->in_c * l->out_c
                                               : (size_t)l->in_c * l->out_c * l->k * l->k;
    for (int k = 0; k < 6; k++) {
      long off;
      if (k < 4) off = l->w_off + (long)(gpd_rng_u64(&r) % nw);
      else if (l->b_off >= 0) off = l->b_off + (long)(gpd_rng_u64(&r) % (uint64_t)l->out_c);
      else continue;
      float saved = p[off];
      float v = saved + (float)h;
      E->upload(E, net->params + off, &v, 1);
      double up = f(t, ctx);
      v = saved - (float)h;
      E->upload(E, net->params + off, &v, 1);
      double down = f(t, ctx);
      E->upload(E, net->params + off, &saved, 1);
      want[m] = (float)((up - down) / (2 * h));
      got[m] = grad[off];
      if (fabs(got[m]) > scale) scale = fabs(got[m]);
      m++;
    }
  }
  CHECK(m >= 12, "%s: only %d parameters checked", what, m);
  CHECK(scale > 0, "%s: all checked gradients are zero", what);
  check_close(what, got, want, (size_t)m, 2e-3 * scale, 3e-2);
  fprintf(stderr, "%s: %d parameters, largest gradient %.3g\n", what, m, scale);
  free(grad);
  free(p);
}

typedef struct fd_ctx {
  const float *x, *noise;
  int n;
} fd_ctx;

static double vae_loss(gpd_trainer *t, void *c) {
  fd_ctx *k = c;
  gpd_train_losses l;
  if (gpd_vae_loss_grad(t, k->n, k->x, k->noise, &l) != 0) return NAN;
  return l.loss;
}

static double d_loss(gpd_trainer *t, void *c) {
  fd_ctx *k = c;
  gpd_train_losses l;
  if (gpd_gan_d_loss_grad(t, k->n, k->x, k->noise, &l) != 0) return NAN;
  return l.loss;
}

static double g_loss(gpd_trainer *t, void *c) {
  fd_ctx *k = c;
  gpd_train_losses l;
  if (gpd_gan_g_loss_grad(t, k->n, k->noise, &l) != 0) return NAN;
  return l.g_loss;
}

static float *upload_normal(uint64_t seed, size_t n, float mean, float std) {
  float *h = malloc(n * sizeof(float));
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  gpd_rng_fill_normal(&r, h, n, mean, std);
  float *d = E->alloc(E, n, "test data");
  E->upload(E, d, h, n);
  free(h);
  return d;
}

static void tiny_vae(gpd_train_config *c, int latent, int batch) {
  CHECK_OK(gpd_train_defaults(c, "blur_vae"));
  c->arch.latent = latent;
  c->batch = batch;
  c->relu_leak = 0; /* exact gradients */
  c->recon_weight = 100;
  c->grid = 0;
}

static void tiny_gan(gpd_train_config *c, int batch) {
  CHECK_OK(gpd_train_defaults(c, "dcgan"));
  c->arch.latent = 8;
  c->arch.size = 16;
  c->arch.width = 4;
  c->disc_width = 4;
  c->batch = batch;
  c->grid = 4;
}

static void test_vae_gradients(void) {
  gpd_train_config c;
  tiny_vae(&c, 4, 3);
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  float k[3 * 784];
  for (int i = 0; i < 3; i++) CHECK_OK(gpd_motion_kernel(k + i * 784, 28, 100 + i, 5, 28));
  for (int i = 0; i < 3 * 784; i++) k[i] *= 10.0f; /* pixels of order 0.1-1: more outputs away from the ReLU kink */
  float *x = E->alloc(E, 3 * 784, "x");
  E->upload(E, x, k, 3 * 784);
  float *eps = upload_normal(3, 3 * 4, 0, 1);
  fd_ctx ctx = {x, eps, 3};
  gpd_train_losses l;
  CHECK_OK(gpd_vae_loss_grad(&t, 3, x, eps, &l));
  CHECK(l.kl > 0 && l.recon > 0, "VAE loss terms: recon %g kl %g", l.recon, l.kl);
  check_fd("vae: encoder", &t, &t.nets[0], vae_loss, &ctx, 1e-3);
  CHECK_OK(gpd_vae_loss_grad(&t, 3, x, eps, &l));
  check_fd("vae: decoder", &t, &t.nets[1], vae_loss, &ctx, 1e-3);
  E->free(E, x);
  E->free(E, eps);
  gpd_trainer_free(&t);
}

static void test_gan_gradients(unsigned augment) {
  gpd_train_config c;
  tiny_gan(&c, 4);
  c.augment = augment;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  /* This step's views, fixed for every loss evaluation below. */
  CHECK_OK(gpd_trainer_draw_augment(&t, 4));
  CHECK(t.d_rescale == 1, "the generator ends in (x+1)/2, so D should see [-1, 1]");
  /* DCGAN's N(0, 0.02) weights put many pre-activations within a finite
   * difference step of a (leaky) ReLU kink; larger weights make the
   * differences smooth. */
  for (int i = 0; i < 2; i++) E->affine(E, t.nets[i].n_params, 10.0f, t.nets[i].params, 0.0f, t.nets[i].params);
  size_t item = 3 * 16 * 16;
  float *x = upload_normal(11, 4 * item, 0.0f, 0.5f);
  float *z = upload_normal(12, 4 * 8, 0, 1);
  fd_ctx ctx = {x, z, 4};
  gpd_train_losses l;
  CHECK_OK(gpd_gan_d_loss_grad(&t, 4, x, z, &l));
  CHECK(l.loss > 0 && l.d_real > 0 && l.d_real < 1, "D loss %g, D(x) %g", l.loss, l.d_real);
  if (augment) {
    /* The views change what D sees: the same nets without them give another loss. */
    gpd_train_losses plain;
    float *keep = t.aug_params;
    t.aug_params = NULL;
    CHECK_OK(gpd_gan_d_loss_grad(&t, 4, x, z, &plain));
    t.aug_params = keep;
    CHECK(fabs(plain.loss - l.loss) > 1e-3 * l.loss, "augmented D loss %g equals the plain one %g", l.loss, plain.loss);
    CHECK_OK(gpd_gan_d_loss_grad(&t, 4, x, z, &l));
  }
  check_fd(augment ? "gan, augmented: discriminator loss wrt D" : "gan: discriminator loss wrt D", &t, &t.nets[0], d_loss, &ctx, 1e-3);
  /* G's gradient must leave D's gradient alone. */
  float *dg_before = download_all(t.nets[0].grads, t.nets[0].n_params);
  CHECK_OK(gpd_gan_g_loss_grad(&t, 4, z, &l));
  float *dg_after = download_all(t.nets[0].grads, t.nets[0].n_params);
  CHECK(!memcmp(dg_before, dg_after, t.nets[0].n_params * sizeof(float)), "the generator step changed D's gradients");
  check_fd(augment ? "gan, augmented: generator loss wrt G (through D and the augmentation)" : "gan: generator loss wrt G (through D)",
           &t, &t.nets[1], g_loss, &ctx, 1e-3);
  free(dg_before);
  free(dg_after);
  E->free(E, x);
  E->free(E, z);
  gpd_trainer_free(&t);
}

static double recon_loss(gpd_trainer *t, void *c) {
  fd_ctx *k = c;
  gpd_train_losses l;
  if (gpd_gan_recon_loss_grad(t, k->n, k->x, k->noise, GPD_RECON_SET_G, &l) != 0) return NAN;
  return t->cfg.recon_weight * l.recon;
}

/* The latent reconstruction's gradient wrt G (check_fd) and wrt the latents
 * (t->dz) against central differences, added to what G's gradient held. */
static void test_gan_recon_gradients(void) {
  gpd_train_config c;
  tiny_gan(&c, 4);
  c.recon_weight = 3.0f;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  E->affine(E, t.nets[1].n_params, 10.0f, t.nets[1].params, 0.0f, t.nets[1].params); /* see test_gan_gradients */
  size_t item = 3 * 16 * 16, nz = 4 * 8;
  float *z = upload_normal(14, nz, 0, 1);
  /* Targets near G's output (as D sees real images: 2 x - 1): a small
   * residual keeps the loss, and so the float rounding of its finite
   * differences, small against the gradients. */
  float *x = upload_normal(13, 4 * item, 0.0f, 0.1f);
  const float *g0 = gpd_net_forward(&t.nets[1], &t.ws[1], 4, z);
  CHECK(g0 != NULL, "G forward");
  E->axpby(E, 4 * item, 2.0f, g0, 1.0f, x);
  E->affine(E, 4 * item, 1.0f, x, -1.0f, x);
  fd_ctx ctx = {x, z, 4};
  gpd_train_losses l;
  CHECK_OK(gpd_gan_recon_loss_grad(&t, 4, x, z, GPD_RECON_SET_G, &l));
  CHECK(l.recon > 0, "recon %g", l.recon);
  float *dz = download_all(t.dz, nz), *hz = download_all(z, nz);
  float got[8], want[8];
  for (int j = 0; j < 8; j++) {
    int at = (int)((j * 37 + 5) % nz);
    float saved = hz[at], v = saved + 1e-3f;
    E->upload(E, z + at, &v, 1);
    double up = recon_loss(&t, &ctx);
    v = saved - 1e-3f;
    E->upload(E, z + at, &v, 1);
    double down = recon_loss(&t, &ctx);
    E->upload(E, z + at, &saved, 1);
    want[j] = (float)((up - down) / 2e-3);
    got[j] = dz[at];
  }
  double scale = 0;
  for (int j = 0; j < 8; j++) scale = fmax(scale, fabs(want[j]));
  CHECK(scale > 0, "gan recon: all latent gradients are zero");
  check_close("gan recon: loss wrt the latents", got, want, 8, 2e-3 * scale, 3e-2);
  CHECK_OK(gpd_gan_recon_loss_grad(&t, 4, x, z, GPD_RECON_SET_G, &l));
  check_fd("gan recon: loss wrt G", &t, &t.nets[1], recon_loss, &ctx, 1e-3);
  /* Without zeroing, the gradient adds to what G's gradient held (check_fd
   * left the gradient of its last, shifted evaluation there). */
  CHECK_OK(gpd_gan_recon_loss_grad(&t, 4, x, z, GPD_RECON_SET_G, &l));
  float *once = download_all(t.nets[1].grads, t.nets[1].n_params);
  CHECK_OK(gpd_gan_recon_loss_grad(&t, 4, x, z, GPD_RECON_ADD_TO_G, &l));
  float *twice = download_all(t.nets[1].grads, t.nets[1].n_params);
  double worst = 0, largest = 0;
  for (size_t i = 0; i < t.nets[1].n_params; i++) {
    worst = fmax(worst, fabs(twice[i] - 2 * once[i]));
    largest = fmax(largest, fabs(once[i]));
  }
  CHECK(largest > 0 && worst < 1e-5 * largest, "gan recon: accumulated gradients are off by %g (largest %g)", worst, largest);
  /* The latents alone: the same d loss / d z, G's gradient untouched. */
  float *dz_set = download_all(t.dz, nz);
  CHECK_OK(gpd_gan_recon_loss_grad(&t, 4, x, z, GPD_RECON_LATENTS_ONLY, &l));
  float *dz_only = download_all(t.dz, nz), *untouched = download_all(t.nets[1].grads, t.nets[1].n_params);
  CHECK(!memcmp(dz_set, dz_only, nz * sizeof(float)), "gan recon: the latents' gradient differs without G's");
  CHECK(!memcmp(untouched, twice, t.nets[1].n_params * sizeof(float)), "gan recon: the latents-only pass changed G's gradient");
  free(dz_set), free(dz_only), free(untouched);
  free(once), free(twice), free(dz), free(hz);
  E->free(E, x);
  E->free(E, z);
  gpd_trainer_free(&t);
}

typedef struct recon_sums {
  double first, last;
  long total;
} recon_sums;

static void recon_cb(void *ctx, const gpd_train_status *s) {
  recon_sums *r = ctx;
  if (s->step <= 8) r->first += s->last.recon / 8;
  if (s->step > r->total - 8) r->last += s->last.recon / 8;
}

/* Fitting 8 images with the latent reconstruction: the table's latents stay
 * on the sphere of radius sqrt(L), move, and the reconstruction error falls
 * well below where it starts. */
static void test_gan_recon_fit(void) {
  size_t item = 3 * 16 * 16;
  float *imgs = malloc(8 * item * sizeof(float));
  for (int i = 0; i < 8; i++) /* smooth images: a colour ramp per image */
    for (size_t p = 0; p < item; p++) imgs[i * item + p] = 0.5f + 0.4f * sinf(0.7f * i + (float)(p % 256) / 40.0f + (float)(p / 256));
  gpd_dataset ds;
  CHECK_OK(gpd_dataset_memory(&ds, 3, 16, 16, 8, imgs));
  free(imgs);
  gpd_train_config c;
  tiny_gan(&c, 4);
  c.grid = 0;
  c.augment = 0;
  c.ema = 0;
  c.recon_weight = 1.0f;
  c.lr = 2e-3f;
  c.log_every = 0;
  c.max_steps = 300;
  recon_sums sums = {0, 0, 300};
  c.progress = recon_cb;
  c.progress_ctx = &sums;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  CHECK_OK(gpd_trainer_latent_table(&t, 8));
  float start[64];
  memcpy(start, t.latent_table, sizeof start);
  CHECK_OK(gpd_train_run(&t, &ds));
  CHECK(t.latent_table && t.latent_count == 8, "no table of 8 latents");
  double moved = 0, worst_norm = 0;
  for (int i = 0; i < 8; i++) {
    double s2 = 0;
    for (int j = 0; j < 8; j++) {
      double v = t.latent_table[i * 8 + j];
      s2 += v * v;
      moved = fmax(moved, fabs(v - start[i * 8 + j]));
    }
    worst_norm = fmax(worst_norm, fabs(sqrt(s2) - sqrt(8.0)));
  }
  CHECK(worst_norm < 1e-4, "a latent left the sphere by %g", worst_norm);
  CHECK(moved > 0.1, "the latents moved by at most %g", moved);
  CHECK(sums.last < 0.3 * sums.first, "recon error %g at the start, %g at the end", sums.first, sums.last);
  fprintf(stderr, "gan recon fit: latents moved up to %.3g; recon %.4g -> %.4g\n", moved, sums.first, sums.last);

  /* A fresh table projected onto this G's range: closer than its random
   * start, on the sphere, and G unchanged. */
  CHECK_OK(gpd_trainer_latent_table(&t, 8));
  float *x = E->alloc(E, 4 * item, "test images");
  float host[4 * 3 * 16 * 16];
  long first4[4] = {0, 1, 2, 3};
  CHECK_OK(gpd_dataset_batch(&ds, first4, 4, host));
  double before[2];
  float *g_before = download_all(t.nets[1].params, t.nets[1].n_params);
  for (int pass = 0; pass < 2; pass++) {
    gpd_train_losses l;
    E->upload(E, x, host, 4 * item);
    CHECK_OK(gpd_train_gan_scale_real(&t, 4, x));
    CHECK_OK(gpd_train_latents_gather(&t, 4, first4));
    CHECK_OK(gpd_gan_recon_loss_grad(&t, 4, x, t.z, GPD_RECON_LATENTS_ONLY, &l));
    before[pass] = l.recon;
    if (pass == 0) {
      t.cfg.latent_init_steps = 40;
      CHECK_OK(gpd_train_latents_project(&t, &ds));
    }
  }
  float *g_after = download_all(t.nets[1].params, t.nets[1].n_params);
  CHECK(!memcmp(g_before, g_after, t.nets[1].n_params * sizeof(float)), "the latents' projection changed G");
  CHECK(!t.latent_fresh, "the projected table is still marked fresh");
  CHECK(before[1] < 0.5 * before[0], "projection: recon %g from the random start, %g after 40 steps", before[0], before[1]);
  for (int i = 0; i < 8; i++) {
    double s2 = 0;
    for (int j = 0; j < 8; j++) s2 += (double)t.latent_table[i * 8 + j] * t.latent_table[i * 8 + j];
    CHECK(fabs(sqrt(s2) - sqrt(8.0)) < 1e-4, "projected latent %d has norm %g", i, sqrt(s2));
  }
  fprintf(stderr, "gan recon: projection of a fresh table, recon %.4g -> %.4g\n", before[0], before[1]);
  free(g_before), free(g_after);
  E->free(E, x);
  gpd_trainer_free(&t);
  gpd_dataset_free(&ds);
}

/* Drawn views stay in DiffAugment's ranges, use every part of the policy,
 * flip only the real images, and leave out what the policy leaves out. */
static void test_augment_draws(void) {
  gpd_rng r;
  gpd_rng_seed(&r, 3);
  enum { N = 400 };
  static float p[N * GPD_AUGMENT_PARAMS];
  gpd_augment_draw(&r, GPD_AUGMENT_FLIP | GPD_AUGMENT_DIFFAUG, 1, N, 64, 64, p);
  int flips = 0, ok = 1, shift_max = 0, top_min = 99, top_max = -99;
  double b_min = 1, b_max = -1;
  for (int i = 0; i < N; i++) {
    const float *q = p + i * GPD_AUGMENT_PARAMS;
    flips += q[GPD_AUG_FLIP] != 0;
    ok &= q[GPD_AUG_SATURATION] >= 0 && q[GPD_AUG_SATURATION] <= 2 && q[GPD_AUG_CONTRAST] >= 0.5f && q[GPD_AUG_CONTRAST] <= 1.5f;
    ok &= fabsf(q[GPD_AUG_SHIFT_X]) <= 8 && fabsf(q[GPD_AUG_SHIFT_Y]) <= 8 && q[GPD_AUG_CUT_SIZE] == 32;
    b_min = fmin(b_min, q[GPD_AUG_BRIGHTNESS]), b_max = fmax(b_max, q[GPD_AUG_BRIGHTNESS]);
    shift_max = (int)fmaxf((float)shift_max, fabsf(q[GPD_AUG_SHIFT_X]));
    top_min = (int)fminf((float)top_min, q[GPD_AUG_CUT_TOP]), top_max = (int)fmaxf((float)top_max, q[GPD_AUG_CUT_TOP]);
  }
  CHECK(ok && flips > N / 3 && flips < 2 * N / 3, "draws out of range or flips %d of %d", flips, N);
  CHECK(b_min >= -0.5 && b_min < -0.45 && b_max < 0.5 && b_max > 0.45, "brightness in [%g, %g]", b_min, b_max);
  CHECK(shift_max == 8 && top_min == -16 && top_max == 48, "shifts up to %d, cutout top %d..%d (want 8, -16..48)", shift_max,
        top_min, top_max);
  gpd_augment_draw(&r, GPD_AUGMENT_FLIP | GPD_AUGMENT_TRANSLATION, 0, N, 64, 64, p);
  ok = 1;
  for (int i = 0; i < N; i++) {
    const float *q = p + i * GPD_AUGMENT_PARAMS;
    ok &= q[GPD_AUG_FLIP] == 0 && q[GPD_AUG_BRIGHTNESS] == 0 && q[GPD_AUG_SATURATION] == 1 && q[GPD_AUG_CUT_SIZE] == 0;
  }
  CHECK(ok, "a fake's view was flipped, or parts outside the policy drawn");
  unsigned policy;
  CHECK_OK(gpd_parse_augment("flip,translation", &policy));
  CHECK(policy == (GPD_AUGMENT_FLIP | GPD_AUGMENT_TRANSLATION), "parsed policy %u", policy);
  char text[64];
  gpd_augment_describe(GPD_AUGMENT_FLIP | GPD_AUGMENT_DIFFAUG, text, sizeof text);
  CHECK(!strcmp(text, "flip,color,translation,cutout"), "described as '%s'", text);
  CHECK(gpd_parse_augment("flip,rotate", &policy) != 0 && strstr(gpd_last_error(), "rotate"), "a bad policy word passed");
}

/* The EMA follows ema = d ema + (1 - d) G after every step, starting at G's
 * initial weights; its recomputed batch-norm means are the means over the
 * fixed latents (the first batch norm follows the dense layer, whose output
 * this test computes itself). */
static void test_ema(void) {
  gpd_train_config c;
  tiny_gan(&c, 4);
  c.ema = 0.9f;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  size_t np = t.nets[1].n_params, item = 3 * 16 * 16;
  float *want = download_all(t.nets[1].params, np);
  float *batch = malloc(4 * item * sizeof(float));
  gpd_rng r;
  gpd_rng_seed(&r, 8);
  for (int s = 0; s < 3; s++) {
    for (size_t i = 0; i < 4 * item; i++) batch[i] = (float)gpd_rng_uniform(&r);
    CHECK_OK(gpd_trainer_step(&t, batch, NULL, NULL));
    float *g = download_all(t.nets[1].params, np);
    for (size_t i = 0; i < np; i++) want[i] = 0.9f * want[i] + 0.1f * g[i];
    free(g);
  }
  float *got = download_all(t.ema.params, np);
  check_close("EMA of G after 3 steps", got, want, np, 1e-7, 1e-5);
  float *g = download_all(t.nets[1].params, np);
  CHECK(memcmp(got, g, np * sizeof(float)), "the EMA equals G");
  free(g);
  /* Batch-norm statistics: layer 0 is the dense layer, 1 a reshape to
   * (ch, 4, 4), 2 its batch norm. */
  gpd_net *ema = gpd_trainer_shipped_net(&t);
  CHECK(ema == &t.ema && ema->layers[0].kind == GPD_LAYER_LINEAR && ema->layers[1].kind == GPD_LAYER_RESHAPE &&
            ema->layers[2].kind == GPD_LAYER_BATCHNORM, "dcgan_tf generator layout");
  const gpd_layer *dense = &ema->layers[0], *bn = &ema->layers[2];
  int feats = dense->out_c * dense->out_h * dense->out_w, ch = bn->in_c, hw = feats / ch, latent = c.arch.latent;
  int samples = (GPD_EMA_STAT_SAMPLES + 3) / 4 * 4;
  float *p = download_all(ema->params, np);
  float *z = malloc((size_t)samples * latent * sizeof(float));
  gpd_rng_seed(&r, gpd_train_mix_seed(c.seed, GPD_STREAM_EMA_STATS));
  gpd_rng_fill_normal(&r, z, (size_t)samples * latent, 0.0f, 1.0f);
  double *mean = calloc((size_t)ch, sizeof(double));
  for (int s = 0; s < samples; s++)
    for (int o = 0; o < feats; o++) {
      double v = p[dense->b_off + o];
      for (int k = 0; k < latent; k++) v += (double)p[dense->w_off + (size_t)o * latent + k] * z[(size_t)s * latent + k];
      mean[o / hw] += v / ((double)samples * hw);
    }
  float *buf = download_all(ema->buffers, ema->n_buffers), meanf[256];
  for (int k = 0; k < ch && k < 256; k++) meanf[k] = (float)mean[k];
  check_close("EMA batch-norm running mean vs the mean over its latents", buf + bn->mean_off, meanf, (size_t)ch, 1e-5, 1e-3);
  free(buf), free(mean), free(z), free(p), free(got), free(want), free(batch);
  gpd_trainer_free(&t);
}

/* ---- training runs ------------------------------------------------------------- */

/* Trains for `steps` steps; returns host copies of params (both nets) and the
 * mean loss and reconstruction error of the first and last 8 steps. */
typedef struct run_result {
  float *params[2];
  double first, last, last_recon;
} run_result;

typedef struct run_sums {
  double first, last, last_recon;
  long total;
} run_sums;

static void loss_cb(void *ctx, const gpd_train_status *s) {
  run_sums *r = ctx;
  if (s->step <= 8) r->first += s->last.loss;
  if (s->step > r->total - 8) {
    r->last += s->last.loss;
    r->last_recon += s->last.recon;
  }
}

static void short_run(const gpd_dataset *ds, long steps, run_result *r) {
  gpd_train_config c;
  tiny_vae(&c, 50, 16);
  c.relu_leak = 0.1f;
  c.recon_weight = 1e4f;
  c.lr = 3e-3f;
  c.kl_weight = 0.1f; /* a looser prior lets 16 kernels be fitted in few steps */
  c.max_steps = steps;
  c.log_every = 0;
  run_sums sums = {0, 0, 0, steps};
  c.progress = loss_cb;
  c.progress_ctx = &sums;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  CHECK_OK(gpd_train_run(&t, ds));
  CHECK(t.step == steps, "ran %ld steps, wanted %ld", t.step, steps);
  for (int i = 0; i < 2; i++) r->params[i] = download_all(t.nets[i].params, t.nets[i].n_params);
  r->first = sums.first / 8;
  r->last = sums.last / 8;
  r->last_recon = sums.last_recon / 8;
  gpd_trainer_free(&t);
}

/* 16 kernels, 450 steps of 16: the decoder must do clearly better than
 * outputting zeros (the plateau an untrained or dead decoder sits on), i.e.
 * its squared error must fall well below the kernels' mean squared norm. */
static void test_short_run(void) {
  gpd_dataset ds;
  CHECK_OK(gpd_dataset_kernels(&ds, 28, 0, 16, 5, 28));
  double norm = 0;
  float k[784];
  for (int i = 0; i < 16; i++) {
    CHECK_OK(gpd_dataset_get(&ds, i, k));
    for (int j = 0; j < 784; j++) norm += (double)k[j] * k[j] / 16;
  }
  run_result a, b;
  double t0 = gpd_seconds();
  short_run(&ds, 450, &a);
  short_run(&ds, 450, &b);
  fprintf(stderr, "short run: loss %.1f -> %.1f, squared error %.4f vs %.4f for zeros (two runs, %.1f s)\n", a.first, a.last,
          a.last_recon, norm, gpd_seconds() - t0);
  CHECK(a.last < 0.5 * a.first, "loss fell only from %g to %g", a.first, a.last);
  CHECK(a.last_recon < 0.6 * norm, "squared error %g is not clearly below the zero output's %g", a.last_recon, norm);
  gpd_train_config c;
  tiny_vae(&c, 50, 16);
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  for (int i = 0; i < 2; i++) {
    CHECK(!memcmp(a.params[i], b.params[i], t.nets[i].n_params * sizeof(float)), "runs from one seed differ (net %d)", i);
    free(a.params[i]);
    free(b.params[i]);
  }
  gpd_trainer_free(&t);
  gpd_dataset_free(&ds);
}

/* Collects the evaluation's per-item results. */
typedef struct eval_rows {
  gpd_gen_eval_item r[16];
  int n;
} eval_rows;

static void keep_item(void *ctx, const gpd_gen_eval_item *r) {
  eval_rows *rows = ctx;
  if (rows->n < 16) rows->r[rows->n++] = *r;
}

/* The evaluation: its reconstruction error against a direct computation; its
 * range error per item is the solver's range projection of that item (the
 * same numbers gpd_solve gives, i.e. `gpdeblur project`); items made by the
 * decoder itself are recovered; batch-norm modes are left as they were. */
static void test_evaluate(void) {
  gpd_dataset ds;
  CHECK_OK(gpd_dataset_kernels(&ds, 28, 300, 12, 5, 28));
  gpd_train_config c;
  tiny_vae(&c, 6, 12);
  c.relu_leak = 0.1f;
  c.recon_weight = 1e4f;
  c.max_steps = 40;
  c.log_every = 0;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  CHECK_OK(gpd_train_run(&t, &ds));
  gpd_gen_eval_options o;
  gpd_gen_eval_defaults(&o);
  o.batch = 5; /* three encoder passes, the last one short */
  o.range.restarts = 3;
  o.range.steps = 30;
  o.range.seed = 7;
  o.peak_is_max = 1;
  eval_rows rows = {0};
  o.item = keep_item;
  o.item_ctx = &rows;
  t.nets[0].bn_train = t.nets[1].bn_train = 1; /* as training leaves them */
  gpd_gen_eval r;
  CHECK_OK(gpd_generator_evaluate(&t.nets[0], &t.nets[1], &ds, &o, &r));
  CHECK(t.nets[0].bn_train == 1 && t.nets[1].bn_train == 1, "batch-norm modes changed: encoder %d, decoder %d",
        t.nets[0].bn_train, t.nets[1].bn_train);
  CHECK(r.count == 12 && rows.n == 12, "evaluated %ld items, %d rows", r.count, rows.n);
  t.nets[0].bn_train = t.nets[1].bn_train = 0;
  double rel = 0, psnr = 0;
  float k[12 * 784], stats[12 * 12], z[12 * 6], y[12 * 784];
  for (int i = 0; i < 12; i++) CHECK_OK(gpd_dataset_get(&ds, i, k + i * 784));
  float *x = E->alloc(E, 12 * 784, "x"), *zd = E->alloc(E, 12 * 6, "z");
  E->upload(E, x, k, 12 * 784);
  E->download(E, stats, gpd_net_forward(&t.nets[0], &t.ws[0], 12, x), 12 * 12);
  for (int i = 0; i < 12; i++) memcpy(z + i * 6, stats + i * 12, 6 * sizeof(float));
  E->upload(E, zd, z, 12 * 6);
  E->download(E, y, gpd_net_forward(&t.nets[1], &t.ws[1], 12, zd), 12 * 784);
  for (int i = 0; i < 12; i++) {
    double se = 0, nn = 0, peak = 0;
    for (int j = 0; j < 784; j++) {
      double d = (double)y[i * 784 + j] - k[i * 784 + j];
      se += d * d;
      nn += (double)k[i * 784 + j] * k[i * 784 + j];
      if (k[i * 784 + j] > peak) peak = k[i * 784 + j];
    }
    rel += sqrt(se / nn) / 12;
    psnr += 10 * log10(peak * peak / (se / 784)) / 12;
  }
  fprintf(stderr, "evaluate: recon rel %.4f (direct %.4f) psnr %.2f (%.2f); range rel %.4f psnr %.2f\n", r.recon_rel_l2, rel,
          r.recon_psnr, psnr, r.range_rel_l2, r.range_psnr);
  CHECK(fabs(r.recon_rel_l2 - rel) < 1e-5 && fabs(r.recon_psnr - psnr) < 1e-3, "reconstruction error differs from the direct one");
  CHECK(isnan(r.range_ssim), "kernels got an SSIM (%g)", r.range_ssim);

  /* item 7 by the solver directly: the same range image, measurement and restart */
  gpd_image item = {0};
  CHECK_OK(gpd_image_alloc(&item, 1, 28, 28));
  memcpy(item.data, k + 7 * 784, 784 * sizeof(float));
  gpd_solve_options so = o.range;
  gpd_solve_result res;
  CHECK_OK(gpd_solve(E, &item, &t.nets[1], NULL, &so, &res));
  double se = 0, peak = 0;
  for (int j = 0; j < 784; j++) {
    double d = (double)res.range_image.data[j] - item.data[j];
    se += d * d;
    if (item.data[j] > peak) peak = item.data[j];
  }
  const double direct = 10 * log10(peak * peak / (se / 784));
  CHECK(rows.r[7].index == 7 && rows.r[7].chosen == res.chosen && rows.r[7].range_mse == (double)res.measurement &&
            fabs(rows.r[7].range_psnr - direct) < 1e-9,
        "item 7: evaluation psnr %.6f mse %.9g restart %d; gpd_solve psnr %.6f mse %.9g restart %d", rows.r[7].range_psnr,
        rows.r[7].range_mse, rows.r[7].chosen, direct, res.measurement, res.chosen);
  gpd_solve_result_free(&res);

  /* items the decoder makes itself (peak 1, as images): the projection
   * recovers them, far closer than its starting points */
  float zs[3 * 6], made[3 * 784];
  gpd_rng rng;
  gpd_rng_seed(&rng, 11);
  gpd_rng_fill_normal(&rng, zs, 3 * 6, 0.0f, 1.0f);
  E->upload(E, zd, zs, 3 * 6);
  E->download(E, made, gpd_net_forward(&t.nets[1], &t.ws[1], 3, zd), 3 * 784);
  gpd_dataset own;
  CHECK_OK(gpd_dataset_memory(&own, 1, 28, 28, 3, made));
  o.item = NULL;
  o.peak_is_max = 0;
  o.range.restarts = 4;
  o.range.steps = 0;
  gpd_gen_eval start, fit;
  CHECK_OK(gpd_generator_evaluate(NULL, &t.nets[1], &own, &o, &start));
  o.range.steps = 300;
  CHECK_OK(gpd_generator_evaluate(NULL, &t.nets[1], &own, &o, &fit));
  fprintf(stderr, "evaluate: decoder's own items: range rel_l2 %.4f, psnr %.2f dB from the starts; %.2g, %.2f dB after 300 steps\n",
          start.range_rel_l2, start.range_psnr, fit.range_rel_l2, fit.range_psnr);
  CHECK(isnan(fit.recon_psnr) && fit.range_rel_l2 < start.range_rel_l2 / 4 && fit.range_psnr > start.range_psnr + 20,
        "the decoder's own items: range rel_l2 %.3g, psnr %.2f dB (from %.3g, %.2f dB at the starts)", fit.range_rel_l2,
        fit.range_psnr, start.range_rel_l2, start.range_psnr);
  gpd_dataset_free(&own);
  gpd_image_free(&item);
  E->free(E, x);
  E->free(E, zd);
  gpd_trainer_free(&t);
  gpd_dataset_free(&ds);
}

/* Every float of the trainer's state: params, BN buffers, Adam moments,
 * the EMA's params, both random streams' states (as floats) and the
 * per-image latents with their moments. */
static void trainer_state(const gpd_trainer *t, float **out, size_t *n) {
  size_t total = 0, rngs = 2 * sizeof(gpd_rng) / sizeof(float) + 2;
  size_t table = t->latent_table ? (size_t)t->latent_count * (size_t)t->latent : 0;
  for (int i = 0; i < 2; i++) total += 3 * t->nets[i].n_params + t->nets[i].n_buffers;
  total += t->ema.n_params + rngs + 3 * table + 1;
  float *h = calloc(total, sizeof(float)), *p = h;
  if (t->ema.params) E->download(E, p, t->ema.params, t->ema.n_params), p += t->ema.n_params;
  memcpy(p, t->rng.s, sizeof t->rng.s), p += sizeof t->rng.s / (sizeof(float));
  memcpy(p, t->aug_rng.s, sizeof t->aug_rng.s), p += sizeof t->aug_rng.s / (sizeof(float));
  p = h + t->ema.n_params + rngs;
  for (int i = 0; i < 2; i++) {
    const gpd_net *net = &t->nets[i];
    E->download(E, p, net->params, net->n_params), p += net->n_params;
    E->download(E, p, t->adam_m[i], net->n_params), p += net->n_params;
    E->download(E, p, t->adam_v[i], net->n_params), p += net->n_params;
    if (net->n_buffers) E->download(E, p, net->buffers, net->n_buffers), p += net->n_buffers;
  }
  if (table) {
    memcpy(p, t->latent_table, table * sizeof(float)), p += table;
    memcpy(p, t->latent_table_m, table * sizeof(float)), p += table;
    memcpy(p, t->latent_table_v, table * sizeof(float)), p += table;
  }
  *p = (float)t->latent_epoch0;
  *out = h;
  *n = total;
}

static int count_rows(const char *path, long *last_step) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[512];
  int rows = 0;
  long prev = 0;
  *last_step = -1;
  if (!fgets(line, sizeof line, f)) rows = -1;
  while (rows >= 0 && fgets(line, sizeof line, f)) {
    long s = strtol(line, NULL, 10);
    if (s <= prev) rows = -1000; /* out of order or repeated */
    prev = s;
    *last_step = s;
    rows++;
  }
  fclose(f);
  return rows;
}

static void test_resume(const char *what, const gpd_train_config *base, const gpd_dataset *ds, long total, long cut) {
  char dir[] = "/tmp/gpd_test_train_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  gpd_train_config c = *base;
  c.max_steps = total;
  gpd_trainer a;
  CHECK_OK(gpd_trainer_init(&a, &c, E));
  CHECK_OK(gpd_train_run(&a, ds));
  float *sa;
  size_t na;
  trainer_state(&a, &sa, &na);
  gpd_trainer_free(&a);

  /* The same run cut at `cut` and resumed by a fresh trainer, with
   * snapshots of the shipped net at total / 2 and total (which must not
   * change the training). */
  c.checkpoint_dir = dir;
  c.checkpoint_steps = 4;
  c.log_every = 2;
  c.snapshot_steps = total / 2;
  c.max_steps = cut;
  gpd_trainer b;
  CHECK_OK(gpd_trainer_init(&b, &c, E));
  CHECK_OK(gpd_train_run(&b, ds));
  gpd_trainer_free(&b);
  c.resume = 1;
  c.max_steps = total;
  CHECK_OK(gpd_trainer_init(&b, &c, E));
  CHECK_OK(gpd_train_run(&b, ds));
  CHECK(b.step == total, "%s: resumed run ended at step %ld, not %ld", what, b.step, total);
  float *sb;
  size_t nb;
  trainer_state(&b, &sb, &nb);
  CHECK(na == nb && !memcmp(sa, sb, na * sizeof(float)), "%s: resumed state differs from the uninterrupted run", what);

  char path[256];
  long last = -1;
  snprintf(path, sizeof path, "%s/loss.csv", dir);
  int rows = count_rows(path, &last);
  CHECK(rows == (int)(total / 2) && last == total, "%s: loss.csv has %d rows ending at step %ld (want %ld rows to %ld, once each)",
        what, rows, last, total / 2, total);
  snprintf(path, sizeof path, "%s/samples_%08ld.png", dir, total);
  CHECK(access(path, F_OK) == 0 || c.grid == 0, "%s: no sample grid %s", what, path);

  /* The shipped file loads and its generator matches the trainer's shipped
   * net (the EMA when there is one), batch-norm statistics included. */
  snprintf(path, sizeof path, "%s/out.safetensors", dir);
  CHECK_OK(gpd_train_save_output(&b, path, ds->description));
  gpd_net g;
  CHECK_OK(gpd_weights_load_net(&g, E, path, b.nets[1].role));
  const gpd_net *shipped = gpd_trainer_shipped_net(&b);
  CHECK(shipped == (c.ema > 0 ? &b.ema : &b.nets[1]), "%s: the shipped net is not the %s", what, c.ema > 0 ? "EMA" : "generator");
  CHECK(g.n_params == shipped->n_params, "%s: shipped net has %zu params", what, g.n_params);
  float *pg = download_all(g.params, g.n_params), *pb = download_all(shipped->params, g.n_params);
  CHECK(!memcmp(pg, pb, g.n_params * sizeof(float)), "%s: shipped weights differ", what);
  if (g.n_buffers) {
    float *bg = download_all(g.buffers, g.n_buffers), *bb = download_all(shipped->buffers, g.n_buffers);
    CHECK(!memcmp(bg, bb, g.n_buffers * sizeof(float)), "%s: shipped batch-norm statistics differ", what);
    free(bg), free(bb);
  }
  gpd_safetensors st;
  CHECK_OK(gpd_st_read(&st, path));
  const char *steps = gpd_st_meta_get(&st, "train_steps");
  CHECK(steps && atol(steps) == total, "%s: train_steps metadata '%s'", what, steps ? steps : "(none)");
  gpd_st_free(&st);

  /* Snapshots: the one at the last step is the shipped file; the middle one
   * says its step; none elsewhere. */
  snprintf(path, sizeof path, "%s/snapshot_%08ld.safetensors", dir, total);
  gpd_net snap;
  CHECK_OK(gpd_weights_load_net(&snap, E, path, b.nets[1].role));
  if (snap.params && snap.n_params == g.n_params) {
    float *ps = download_all(snap.params, g.n_params);
    CHECK(!memcmp(ps, pg, g.n_params * sizeof(float)), "%s: the last snapshot's weights differ from the shipped file's", what);
    free(ps);
    if (g.n_buffers) {
      float *bs = download_all(snap.buffers, g.n_buffers), *bg = download_all(g.buffers, g.n_buffers);
      CHECK(!memcmp(bs, bg, g.n_buffers * sizeof(float)), "%s: the last snapshot's batch-norm statistics differ", what);
      free(bs), free(bg);
    }
    gpd_net_free(&snap);
  }
  snprintf(path, sizeof path, "%s/snapshot_%08ld.safetensors", dir, total / 2);
  CHECK_OK(gpd_st_read(&st, path));
  steps = gpd_st_meta_get(&st, "train_steps");
  CHECK(steps && atol(steps) == total / 2, "%s: the middle snapshot's train_steps '%s'", what, steps ? steps : "(none)");
  gpd_st_free(&st);
  int others = 0;
  for (long k = 1; k < total; k++) {
    snprintf(path, sizeof path, "%s/snapshot_%08ld.safetensors", dir, k);
    others += k != total / 2 && access(path, F_OK) == 0;
  }
  CHECK(others == 0, "%s: %d snapshots at steps other than %ld and %ld", what, others, total / 2, total);
  free(pg);
  free(pb);
  gpd_net_free(&g);
  gpd_trainer_free(&b);
  free(sa);
  free(sb);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "cleanup");
}

/* 24 uniform-noise 16x16 RGB "faces" from seed */
static void random_faces(gpd_dataset *faces, uint64_t seed) {
  size_t item = 3 * 16 * 16;
  float *imgs = malloc(24 * item * sizeof(float));
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  for (size_t i = 0; i < 24 * item; i++) imgs[i] = (float)gpd_rng_uniform(&r);
  CHECK_OK(gpd_dataset_memory(faces, 3, 16, 16, 24, imgs));
  free(imgs);
}

static void test_resumes(void) {
  gpd_dataset kernels;
  CHECK_OK(gpd_dataset_kernels(&kernels, 28, 500, 100, 5, 28));
  gpd_train_config c;
  tiny_vae(&c, 6, 16);
  c.relu_leak = 0.1f;
  c.grid = 9;
  test_resume("blur_vae", &c, &kernels, 14, 6); /* crosses an epoch (6 steps each) */
  gpd_dataset_free(&kernels);

  gpd_dataset faces;
  random_faces(&faces, 5);
  tiny_gan(&c, 4);
  CHECK(c.augment == (GPD_AUGMENT_FLIP | GPD_AUGMENT_DIFFAUG) && c.ema > 0, "dcgan defaults: augment %u, ema %g", c.augment, c.ema);
  test_resume("dcgan, flips + DiffAugment + EMA", &c, &faces, 10, 4);
  c.recon_weight = 2.0f;
  test_resume("dcgan, latent reconstruction", &c, &faces, 14, 8); /* crosses epochs (6 steps each) */
  c.recon_weight = 0;
  c.augment = 0;
  c.ema = 0;
  test_resume("dcgan, plain", &c, &faces, 10, 4);
  gpd_dataset_free(&faces);
}

/* ---- the data scale folded into the shipped file ------------------------------- */

static void test_scale_fold(void) {
  gpd_train_config c;
  tiny_vae(&c, 5, 4);
  c.data_scale = 10.0f;
  c.relu_leak = 0.1f;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  float k[4 * 784];
  for (int i = 0; i < 4; i++) CHECK_OK(gpd_motion_kernel(k + i * 784, 28, 40 + i, 5, 28));
  for (int s = 0; s < 3; s++) CHECK_OK(gpd_trainer_step(&t, k, NULL, NULL));
  char path[] = "/tmp/gpd_test_fold_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  close(fd);
  CHECK_OK(gpd_train_save_output(&t, path, "test"));
  gpd_net enc, dec;
  CHECK_OK(gpd_weights_load_net(&enc, E, path, "encoder"));
  CHECK_OK(gpd_weights_load_net(&dec, E, path, "decoder"));
  gpd_net_workspace we, wd;
  CHECK_OK(gpd_net_workspace_alloc(&we, &enc, 4));
  CHECK_OK(gpd_net_workspace_alloc(&wd, &dec, 4));
  /* encoder(raw k) == trainer encoder(10 k); decoder(z) == trainer decoder(z) / 10 */
  float ks[4 * 784];
  for (int i = 0; i < 4 * 784; i++) ks[i] = 10.0f * k[i];
  float *x = E->alloc(E, 4 * 784, "x"), *xs = E->alloc(E, 4 * 784, "xs");
  E->upload(E, x, k, 4 * 784);
  E->upload(E, xs, ks, 4 * 784);
  float *a = download_all(gpd_net_forward(&enc, &we, 4, x), 4 * 10);
  float *b = download_all(gpd_net_forward(&t.nets[0], &t.ws[0], 4, xs), 4 * 10);
  check_close("folded encoder", a, b, 40, 1e-5, 1e-4);
  float *z = upload_normal(9, 4 * 5, 0, 1);
  float *ya = download_all(gpd_net_forward(&dec, &wd, 4, z), 4 * 784);
  float *yb = download_all(gpd_net_forward(&t.nets[1], &t.ws[1], 4, z), 4 * 784);
  for (int i = 0; i < 4 * 784; i++) yb[i] /= 10.0f;
  check_close("folded decoder", ya, yb, 4 * 784, 1e-7, 1e-4);
  free(a), free(b), free(ya), free(yb);
  E->free(E, x), E->free(E, xs), E->free(E, z);
  gpd_net_workspace_free(&we, E);
  gpd_net_workspace_free(&wd, E);
  gpd_net_free(&enc);
  gpd_net_free(&dec);
  gpd_trainer_free(&t);
  unlink(path);
}

/* ---- data sets ------------------------------------------------------------------ */

static void test_datasets(void) {
  gpd_dataset ds;
  CHECK_OK(gpd_dataset_kernels(&ds, 28, 1000, 5, 5, 28));
  float a[784], b[784];
  CHECK_OK(gpd_dataset_get(&ds, 3, a));
  CHECK_OK(gpd_motion_kernel(b, 28, 1003, 5, 28));
  CHECK(!memcmp(a, b, sizeof a), "kernel item 3 is not the kernel of seed 1003");
  CHECK(gpd_dataset_get(&ds, 5, a) != 0, "item past the end accepted");
  gpd_dataset_free(&ds);

  long perm[50], seen[50] = {0}, other[50];
  gpd_train_permutation(3, 0, 50, perm);
  gpd_train_permutation(3, 1, 50, other);
  int ok = 1;
  for (int i = 0; i < 50; i++) ok &= perm[i] >= 0 && perm[i] < 50 && !seen[perm[i]]++;
  CHECK(ok, "epoch order is not a permutation");
  CHECK(memcmp(perm, other, sizeof perm), "two epochs have the same order");

  /* Image folder: numbered files, a range, the CelebA recipe. */
  char dir[] = "/tmp/gpd_test_images_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  gpd_image im[3];
  for (int i = 0; i < 3; i++) {
    CHECK_OK(gpd_image_alloc(&im[i], 3, 109, 89));
    for (int j = 0; j < 3 * 109 * 89; j++) im[i].data[j] = (float)((j * (i + 3)) % 251) / 250.0f;
    char path[300];
    snprintf(path, sizeof path, "%s/%06d.png", dir, i + 1);
    CHECK_OK(gpd_image_save_png(&im[i], path));
  }
  char path[300];
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  FILE *f = fopen(path, "w");
  if (f) fclose(f);
  CHECK_OK(gpd_dataset_image_folder(&ds, dir, 3, 64, 54, 2, 3));
  CHECK(ds.count == 2, "range 2:3 gave %ld images", ds.count);
  gpd_image ref, stored;
  snprintf(path, sizeof path, "%s/000002.png", dir);
  CHECK_OK(gpd_image_load(&stored, path, 3));
  CHECK_OK(gpd_image_crop_resize(&stored, 54, 64, &ref));
  gpd_image_free(&stored);
  float got[3 * 64 * 64];
  CHECK_OK(gpd_dataset_get(&ds, 0, got));
  check_close("CelebA recipe", got, ref.data, 3 * 64 * 64, 0.5 / 255 + 1e-6, 0); /* stored as 8 bits */
  gpd_image_free(&ref);
  gpd_dataset_free(&ds);
  CHECK(gpd_dataset_image_folder(&ds, dir, 3, 64, 54, 10, 20) != 0, "an empty range was accepted");
  CHECK(strstr(gpd_last_error(), dir) != NULL, "error does not name the folder: %s", gpd_last_error());
  for (int i = 0; i < 3; i++) gpd_image_free(&im[i]);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "cleanup");
}

/* ---- the recipe's history over resumes ------------------------------------------ */

static const char *meta_of(const char *path, const char *key, char *out, size_t size) {
  gpd_safetensors st;
  out[0] = '\0';
  if (gpd_st_read(&st, path) != 0) return out;
  const char *v = gpd_st_meta_get(&st, key);
  snprintf(out, size, "%s", v ? v : "(none)");
  gpd_st_free(&st);
  return out;
}

static void test_recon_schedule(void) {
  char h[64] = "";
  CHECK_OK(gpd_train_history_note(h, sizeof h, "0.3", 0));
  CHECK_OK(gpd_train_history_note(h, sizeof h, "0.3", 50));
  CHECK_OK(gpd_train_history_note(h, sizeof h, "1", 120));
  CHECK(!strcmp(h, "0.3 from step 0, 1 from step 120"), "history '%s'", h);
  char out[64];
  gpd_train_history_summary("bf16 from step 0", out, sizeof out);
  CHECK(!strcmp(out, "bf16"), "one value from step 0 is summarised as '%s'", out);
  gpd_train_history_summary("unrecorded before step 9, bf16 from step 9", out, sizeof out);
  CHECK(!strcmp(out, "unrecorded before step 9, bf16 from step 9"), "a changed value is summarised as '%s'", out);
  char small[24] = "";
  CHECK_OK(gpd_train_history_note(small, sizeof small, "0.3", 0));
  CHECK(gpd_train_history_note(small, sizeof small, "100", 123456) != 0 && !strcmp(small, "0.3 from step 0"),
        "an overflowing note was not refused or changed the history to '%s'", small);

  /* A GAN trained with reconstruction weight 2, resumed with 5: refused
   * unless told, then continued, and the weights record both. */
  gpd_dataset faces;
  random_faces(&faces, 6);
  char dir[] = "/tmp/gpd_test_schedule_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  gpd_train_config c;
  tiny_gan(&c, 4);
  c.recon_weight = 2.0f;
  c.checkpoint_dir = dir;
  c.checkpoint_steps = 1000;
  c.max_steps = 6;
  gpd_trainer t;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  CHECK_OK(gpd_train_run(&t, &faces));
  gpd_trainer_free(&t);
  c.resume = 1;
  c.recon_weight = 5.0f;
  c.max_steps = 10;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  CHECK(gpd_train_run(&t, &faces) != 0 && strstr(gpd_last_error(), "--recon-weight 2") &&
            strstr(gpd_last_error(), "--change-recon-weight"),
        "a changed --recon-weight was not refused by name: %s", gpd_last_error());
  gpd_trainer_free(&t);
  c.recon_weight_change = 1;
  CHECK_OK(gpd_trainer_init(&t, &c, E));
  CHECK_OK(gpd_train_run(&t, &faces));
  CHECK(t.step == 10, "the changed run ended at step %ld", t.step);
  char path[256], v[160];
  snprintf(path, sizeof path, "%s/out.safetensors", dir);
  CHECK_OK(gpd_train_save_output(&t, path, faces.description));
  gpd_trainer_free(&t);
  CHECK(!strcmp(meta_of(path, "train_recon_schedule", v, sizeof v), "2 from step 0, 5 from step 6"), "train_recon_schedule '%s'", v);
  CHECK(!strcmp(meta_of(path, "train_recon_weight", v, sizeof v), "5"), "train_recon_weight '%s'", v);
  CHECK(!strcmp(meta_of(path, "train_precision", v, sizeof v), "fp32"), "train_precision '%s'", v);
  /* an export records the training's precision, not its own engine's */
  gpd_engine *bf16 = gpd_engine_cpu_create_precision(GPD_PRECISION_BF16);
  if (bf16) {
    c.resume = 0;
    CHECK_OK(gpd_trainer_init(&t, &c, bf16));
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    CHECK_OK(gpd_checkpoint_load(&t, path));
    snprintf(path, sizeof path, "%s/export.safetensors", dir);
    CHECK_OK(gpd_train_save_output(&t, path, NULL));
    gpd_trainer_free(&t);
    CHECK(!strcmp(meta_of(path, "train_precision", v, sizeof v), "fp32"), "a bf16 export says train_precision '%s'", v);
    gpd_engine_destroy(bf16);
  }
  gpd_dataset_free(&faces);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "cleanup");
}

int main(void) {
  E = gpd_engine_ref_create(); /* the oracle: finite differences need its plain sums */
  if (!E) {
    fprintf(stderr, "no CPU engine: %s\n", gpd_last_error());
    return 1;
  }
  test_datasets();
  test_vae_gradients();
  test_gan_gradients(0);
  test_gan_gradients(GPD_AUGMENT_FLIP | GPD_AUGMENT_DIFFAUG);
  test_gan_recon_gradients();
  test_gan_recon_fit();
  test_augment_draws();
  test_ema();
  test_scale_fold();
  test_short_run();
  test_evaluate();
  test_resumes();
  test_recon_schedule();
  gpd_engine_destroy(E);
  return check_report("test_train");
}
