/* gpdeblur train: trains a generator (blur VAE, SVHN VAE or DCGAN) and writes
 * its weights, with checkpoints, a loss log and sample grids. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_check.h"
#include "cli_solve.h"
#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/image.h"
#include "gpd/train.h"

static const char *CMD = "train";
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur train --arch blur_vae|svhn_vae|dcgan -o OUT.safetensors [options]\n"
          "\n"
          "Trains a generator as the paper does (Section IV-A): the VAEs by variational\n"
          "inference (Adam on recon_weight * ||x - G(z)||^2 + KL(q(z|x) || N(0, I))), the\n"
          "DCGAN against a discriminator with the non-saturating GAN loss (Adam, beta1 0.5).\n"
          "OUT holds the decoder and encoder (VAE) or the generator (DCGAN), the\n"
          "architecture and the training facts.\n"
          "\n"
          "data:\n"
          "  --data DIR             image folder (svhn_vae: 32x32 RGB; dcgan: any size, the\n"
          "                         largest centred square resized to 64x64)\n"
          "  --celeba-range A:B     CelebA: only files numbered A..B (inclusive, e.g. 1:8000 =\n"
          "                         000001.jpg-008000.jpg) and the CelebA recipe: center crop\n"
          "                         54x54, resize to 64x64\n"
          "  --range A:B            only files numbered A..B, no crop recipe\n"
          "  --kernel-seeds A:B     blur_vae: motion kernels from seeds A..B-1 (default\n"
          "                         0:60000); training seeds must be below 1000000000, the\n"
          "                         held-out kernels' range\n"
          "  --kernel-lengths A:B   trajectory lengths (default 5:28)\n"
          "model and optimiser (defaults per arch, see weights/README.md):\n"
          "  --latent L  --width W (dcgan ngf)  --disc-width W (dcgan ndf, default = width)\n"
          "  --epochs N  --steps N (stop after N steps in total instead)  --batch B\n"
          "  --lr LR  --beta1 B1  --seed S (default 0)\n"
          "  --recon-weight W       VAE: weight of the squared error (Gaussian likelihood of\n"
          "                         variance 1/(2W)); --kl-weight W (default 1)\n"
          "                         dcgan: adds W * ||x_i - G(z_i)||^2 to G's loss, z_i a\n"
          "                         latent kept and fitted for each training image (GLO,\n"
          "                         Bojanowski et al. 2018), so G's range reaches every\n"
          "                         training face (default 0 = off; may start from a plain\n"
          "                         GAN's checkpoint copied into a new --checkpoint-dir)\n"
          "  --latent-lr X          dcgan with --recon-weight: Adam step of the per-image\n"
          "                         latents, once per epoch each (default 0.05)\n"
          "  --latent-init-steps N  dcgan with --recon-weight: start each latent at its\n"
          "                         image's projection onto G's range, N Adam steps from\n"
          "                         its random start, when the table starts (default 0:\n"
          "                         the random start; use it when G is already trained)\n"
          "  --change-recon-weight  dcgan, with --resume: continue a checkpoint trained\n"
          "                         with another --recon-weight; this one applies from its\n"
          "                         step on (the weights' train_recon_schedule records it)\n"
          "  --data-scale S         VAE: train on S * x (the weight above applies to the\n"
          "                         scaled data); OUT maps raw x (S folded into the first\n"
          "                         and last layers); default 1\n"
          "  --relu-leak A          VAE: leaky slope of the decoder's output ReLU in the\n"
          "                         backward only (a surrogate gradient that keeps it from\n"
          "                         dying; blur_vae default 0.1, 0 = exact ReLU)\n"
          "data-efficient GAN training (dcgan):\n"
          "  --augment LIST         none, or a comma list of: flip (horizontal flips of the\n"
          "                         real images), color, translation, cutout (DiffAugment,\n"
          "                         Zhao et al. 2020: brightness +-0.5, saturation x[0,2],\n"
          "                         contrast x[0.5,1.5]; shifts up to 1/8 of the size, zero\n"
          "                         fill; a zeroed square of half the size), applied to\n"
          "                         real and generated images wherever D sees them, in D's\n"
          "                         and G's updates (G's gradient goes through them);\n"
          "                         diffaug = color,translation,cutout; all = flip,diffaug\n"
          "                         (default all)\n"
          "  --ema DECAY            exponential moving average of G's weights (default\n"
          "                         0.999, 0 = none); OUT and the sample grids are the EMA,\n"
          "                         its batch-norm statistics recomputed from 512 samples\n"
          "checkpoints and logs:\n"
          "  --checkpoint-dir DIR   DIR/checkpoint.safetensors (params, Adam moments, step,\n"
          "                         RNG state; written atomically), DIR/loss.csv,\n"
          "                         DIR/samples_STEP.png (fixed latents)\n"
          "  --checkpoint-every X   X steps, or a time: 600s, 10m, 1h (default 10m)\n"
          "  --resume               continue from DIR/checkpoint.safetensors (exactly: the\n"
          "                         same batches and noise as an uninterrupted run);\n"
          "                         --epochs / --steps give the new total\n"
          "  --snapshot-every N     also write DIR/snapshot_STEP.safetensors every N steps:\n"
          "                         the file OUT would be at that step (the EMA of G when\n"
          "                         there is one; VAEs: decoder and encoder), to measure\n"
          "                         quality over training (scripts/face_prior_curve.sh)\n"
          "  --export-only          write OUT from the checkpoint, no training\n"
          "  --log-every N          steps per loss.csv row (default 50)\n"
          "  --grid N               samples per grid (default 64, 0 = none)\n"
          "  --device ref|cpu|cuda|auto (default auto: cuda, else cpu)\n"
          "  --precision fp32|bf16 (default fp32; bf16: the generator and discriminator\n"
          "                         convolutions in bf16, fp32 accumulation; cpu and cuda)\n"
          GPD_CLI_THREADS_HELP
          "SIGINT / SIGTERM stop after the current step with a checkpoint and OUT written.\n");
}

/* "600s", "10m", "1h" -> seconds; a plain number -> steps. */
static int parse_interval(const char *text, double *seconds, long *steps) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || !(v > 0)) return gpd_error("--checkpoint-every: '%s' is not a positive number of steps or a time", text);
  *seconds = 0;
  *steps = 0;
  if (!*end) {
    if (v > 2e9 || v != (double)(long)v) return gpd_error("--checkpoint-every: '%s' steps is not an integer", text);
    *steps = (long)v;
  } else if (!strcmp(end, "s")) {
    *seconds = v;
  } else if (!strcmp(end, "m")) {
    *seconds = 60 * v;
  } else if (!strcmp(end, "h")) {
    *seconds = 3600 * v;
  } else {
    return gpd_error("--checkpoint-every: '%s': use steps (500) or a time (600s, 10m, 1h)", text);
  }
  return 0;
}

typedef struct progress_ctx {
  gpd_progress bar;
  gpd_train_kind kind;
  int recon; /* GAN with the latent reconstruction */
  gpd_progress init_bar; /* the latents' projection before training */
  int init_started;
  int started;
} progress_ctx;

static void on_progress(void *ctx, const gpd_train_status *s) {
  progress_ctx *p = ctx;
  if (!p->started) {
    gpd_progress_start(&p->bar, "train", s->total_steps);
    p->started = 1;
  }
  if (p->kind == GPD_TRAIN_VAE)
    snprintf(p->bar.extra, sizeof p->bar.extra, "ep %d/%d loss %.4g rec %.3g kl %.3g %.0f img/s", s->epoch + 1, s->epochs,
             s->avg.loss, s->avg.recon, s->avg.kl, s->images_per_second);
  else {
    char rec[32] = "";
    if (p->recon) snprintf(rec, sizeof rec, " rec %.3g", s->avg.recon);
    snprintf(p->bar.extra, sizeof p->bar.extra, "ep %d/%d D %.3f G %.3f D(x) %.2f D(G(z)) %.2f%s %.1f img/s", s->epoch + 1,
             s->epochs, s->avg.loss, s->avg.g_loss, s->avg.d_real, s->avg.d_fake, rec, s->images_per_second);
  }
  gpd_progress_update(&p->bar, s->step);
}

static void on_latent_init(void *ctx, long done, long total) {
  progress_ctx *p = ctx;
  if (!p->init_started) {
    gpd_progress_start(&p->init_bar, "project latents", total);
    p->init_started = 1;
  }
  gpd_progress_update(&p->init_bar, done);
  if (done == total) gpd_progress_finish(&p->init_bar);
}

enum {
  OPT_ARCH = 256, OPT_DATA, OPT_CELEBA, OPT_RANGE, OPT_KSEEDS, OPT_KLENS, OPT_LATENT, OPT_WIDTH, OPT_DWIDTH, OPT_EPOCHS,
  OPT_STEPS, OPT_BATCH, OPT_LR, OPT_BETA1, OPT_SEED, OPT_RECON, OPT_KL, OPT_CKDIR, OPT_CKEVERY, OPT_RESUME, OPT_EXPORT,
  OPT_LOGEVERY, OPT_GRID, OPT_DEVICE, OPT_SCALE, OPT_LEAK, OPT_AUGMENT, OPT_EMA, OPT_PRECISION, OPT_SNAPSHOT, OPT_THREADS, OPT_LATENT_LR, OPT_LATENT_INIT, OPT_RECON_CHANGE,
  OPT_HELP
};

/* What the command line asks for. */
typedef struct train_args {
  gpd_train_config cfg;
  gpd_precision precision;
  int threads; /* --threads (0: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS) */
  const char *data, *out, *device;
  long first, last, klen_min, klen_max;
  uint64_t kseed_a, kseed_b;
  int celeba, export_only, is_kernels, have_gan_opt;
} train_args;

/* argv -> a: 0, -1 after --help, or the exit status of a usage error (its
 * line printed) or of a bad value (1). */
static int parse_args(int argc, char **argv, train_args *a) {
  static const struct option opts[] = {
      {"arch", required_argument, 0, OPT_ARCH}, {"data", required_argument, 0, OPT_DATA},
      {"celeba-range", required_argument, 0, OPT_CELEBA}, {"range", required_argument, 0, OPT_RANGE},
      {"kernel-seeds", required_argument, 0, OPT_KSEEDS}, {"kernel-lengths", required_argument, 0, OPT_KLENS},
      {"latent", required_argument, 0, OPT_LATENT}, {"width", required_argument, 0, OPT_WIDTH},
      {"disc-width", required_argument, 0, OPT_DWIDTH}, {"epochs", required_argument, 0, OPT_EPOCHS},
      {"steps", required_argument, 0, OPT_STEPS}, {"batch", required_argument, 0, OPT_BATCH},
      {"lr", required_argument, 0, OPT_LR}, {"beta1", required_argument, 0, OPT_BETA1},
      {"seed", required_argument, 0, OPT_SEED}, {"recon-weight", required_argument, 0, OPT_RECON},
      {"kl-weight", required_argument, 0, OPT_KL}, {"checkpoint-dir", required_argument, 0, OPT_CKDIR},
      {"checkpoint-every", required_argument, 0, OPT_CKEVERY}, {"resume", no_argument, 0, OPT_RESUME},
      {"export-only", no_argument, 0, OPT_EXPORT}, {"log-every", required_argument, 0, OPT_LOGEVERY},
      {"grid", required_argument, 0, OPT_GRID}, {"data-scale", required_argument, 0, OPT_SCALE},
      {"relu-leak", required_argument, 0, OPT_LEAK}, {"device", required_argument, 0, OPT_DEVICE},
      {"precision", required_argument, 0, OPT_PRECISION}, {"snapshot-every", required_argument, 0, OPT_SNAPSHOT},
      {"threads", required_argument, 0, OPT_THREADS},
      {"augment", required_argument, 0, OPT_AUGMENT}, {"ema", required_argument, 0, OPT_EMA},
      {"latent-lr", required_argument, 0, OPT_LATENT_LR}, {"latent-init-steps", required_argument, 0, OPT_LATENT_INIT},
      {"change-recon-weight", no_argument, 0, OPT_RECON_CHANGE},
      {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, OPT_HELP}, {0, 0, 0, 0}};
  memset(a, 0, sizeof *a);
  gpd_train_config *cfg = &a->cfg;
  /* The architecture decides the defaults, so find it first. */
  const char *arch = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return -1;
    }
    if (!strcmp(argv[i], "--arch") && i + 1 < argc) arch = argv[i + 1];
    else if (!strncmp(argv[i], "--arch=", 7)) arch = argv[i] + 7;
  }
  if (!arch) return gpd_cli_usage_fail(CMD, "--arch is required (blur_vae, svhn_vae or dcgan)");
  if (gpd_train_defaults(cfg, arch) != 0) return gpd_cli_fail(CMD);
  a->device = "auto";
  a->precision = GPD_PRECISION_FP32;
  a->first = -1;
  a->last = -2;
  a->kseed_b = 60000;
  a->klen_min = GPD_MOTION_LENGTH_MIN;
  a->klen_max = GPD_MOTION_LENGTH_MAX;
  int have_steps = 0, have_dwidth = 0;
  long v;
  double f;
  uint64_t u;
  cfg->checkpoint_seconds = 600;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case OPT_ARCH: break;
    case OPT_DATA: a->data = optarg; break;
    case OPT_CELEBA: a->celeba = 1; /* fall through */
    case OPT_RANGE: bad = gpd_parse_range(c == OPT_CELEBA ? "celeba-range" : "range", optarg, &a->first, &a->last); break;
    case OPT_KSEEDS:
      bad = gpd_parse_u64_range("kernel-seeds", optarg, &a->kseed_a, &a->kseed_b);
      if (!bad && a->kseed_b <= a->kseed_a)
        bad = gpd_error("--kernel-seeds: '%s' is empty (A:B means seeds A..B-1)", optarg);
      break;
    case OPT_KLENS:
      bad = gpd_parse_range("kernel-lengths", optarg, &a->klen_min, &a->klen_max);
      if (!bad && (a->klen_min < 1 || a->klen_max > 1000)) bad = gpd_error("--kernel-lengths: '%s' outside 1..1000", optarg);
      break;
    case OPT_LATENT: bad = gpd_parse_int("latent", optarg, 1, 4096, &v); cfg->arch.latent = (int)v; break;
    case OPT_WIDTH: bad = gpd_parse_int("width", optarg, 1, 1024, &v); cfg->arch.width = (int)v; break;
    case OPT_DWIDTH: bad = gpd_parse_int("disc-width", optarg, 1, 1024, &v); cfg->disc_width = (int)v; have_dwidth = 1; break;
    case OPT_EPOCHS: bad = gpd_parse_int("epochs", optarg, 0, 1000000, &v); cfg->epochs = (int)v; break;
    case OPT_STEPS: bad = gpd_parse_int("steps", optarg, 1, 2000000000L, &v); cfg->max_steps = v; have_steps = 1; break;
    case OPT_BATCH: bad = gpd_parse_int("batch", optarg, 1, 65536, &v); cfg->batch = (int)v; break;
    case OPT_LR: bad = gpd_parse_float("lr", optarg, 1e-12, 10, &f); cfg->lr = (float)f; break;
    case OPT_BETA1: bad = gpd_parse_float("beta1", optarg, 0, 0.999999, &f); cfg->beta1 = (float)f; break;
    case OPT_SEED: bad = gpd_parse_u64("seed", optarg, &u); cfg->seed = u; break;
    case OPT_RECON: bad = gpd_parse_float("recon-weight", optarg, 0, 1e12, &f); cfg->recon_weight = (float)f; break;
    case OPT_KL: bad = gpd_parse_float("kl-weight", optarg, 0, 1e6, &f); cfg->kl_weight = (float)f; break;
    case OPT_CKDIR: cfg->checkpoint_dir = optarg; break;
    case OPT_CKEVERY: bad = parse_interval(optarg, &cfg->checkpoint_seconds, &cfg->checkpoint_steps); break;
    case OPT_RESUME: cfg->resume = 1; break;
    case OPT_EXPORT: a->export_only = 1; break;
    case OPT_SNAPSHOT: bad = gpd_parse_int("snapshot-every", optarg, 1, 2000000000L, &v); cfg->snapshot_steps = v; break;
    case OPT_LOGEVERY: bad = gpd_parse_int("log-every", optarg, 0, 1000000000L, &v); cfg->log_every = v; break;
    case OPT_GRID: bad = gpd_parse_int("grid", optarg, 0, 1024, &v); cfg->grid = (int)v; break;
    case OPT_DEVICE: a->device = optarg; break;
    case OPT_PRECISION: bad = gpd_cli_parse_precision(optarg, &a->precision); break;
    case OPT_THREADS: bad = gpd_cli_parse_threads(optarg, &a->threads); break;
    case OPT_LEAK: bad = gpd_parse_float("relu-leak", optarg, 0, 1, &f); cfg->relu_leak = (float)f; break;
    case OPT_SCALE: bad = gpd_parse_float("data-scale", optarg, 1e-6, 1e6, &f); cfg->data_scale = (float)f; break;
    case OPT_AUGMENT: bad = gpd_parse_augment(optarg, &cfg->augment); a->have_gan_opt = 1; break;
    case OPT_EMA: bad = gpd_parse_float("ema", optarg, 0, 0.999999, &f); cfg->ema = (float)f; a->have_gan_opt = 1; break;
    case OPT_LATENT_LR: bad = gpd_parse_float("latent-lr", optarg, 1e-9, 100, &f); cfg->latent_lr = (float)f; a->have_gan_opt = 1; break;
    case OPT_LATENT_INIT:
      bad = gpd_parse_int("latent-init-steps", optarg, 0, 1000000, &v);
      cfg->latent_init_steps = (int)v;
      a->have_gan_opt = 1;
      break;
    case OPT_RECON_CHANGE: cfg->recon_weight_change = 1; a->have_gan_opt = 1; break;
    case 'o': a->out = optarg; break;
    default: return gpd_cli_bad_option(CMD, c, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (optind < argc) return gpd_cli_usage_fail(CMD, "unexpected argument '%s'", argv[optind]);
  if (!a->out) return gpd_cli_usage_fail(CMD, "-o OUT.safetensors is required");
  if (!have_dwidth) cfg->disc_width = cfg->arch.width; /* D as wide as G unless told */
  if (!have_steps) cfg->max_steps = 0;
  a->is_kernels = !strcmp(cfg->arch.name, "blur_vae");
  return 0;
}

/* The options agree and the outputs (and the data folder) are there
 * before training starts. 0 or -1 (error recorded). */
static int validate_args(const train_args *a) {
  const gpd_train_config *cfg = &a->cfg;
  if (a->have_gan_opt && strncmp(cfg->arch.name, "dcgan", 5))
    return gpd_error("--augment / --ema / --latent-lr / --latent-init-steps / --change-recon-weight: only for --arch dcgan (%s is a VAE)", cfg->arch.name);
  if (strncmp(cfg->arch.name, "dcgan", 5) && !(cfg->recon_weight > 0))
    return gpd_error("--recon-weight: a VAE's must be positive (it is its likelihood)");
  if (a->is_kernels && a->data)
    return gpd_error("--data: blur_vae trains on motion kernels drawn from --kernel-seeds, not a folder");
  if (a->is_kernels && a->kseed_b > GPD_KERNEL_TEST_SEED_BASE)
    return gpd_error("--kernel-seeds: training seeds must stay below %llu (held-out kernels start there)",
                     (unsigned long long)GPD_KERNEL_TEST_SEED_BASE);
  if (!a->is_kernels && !a->data && !a->export_only) return gpd_error("--data DIR is required for %s", cfg->arch.name);
  if (cfg->snapshot_steps > 0 && !cfg->checkpoint_dir)
    return gpd_error("--snapshot-every needs --checkpoint-dir (the snapshots go there)");
  if (a->export_only && !cfg->checkpoint_dir) return gpd_error("--export-only needs --checkpoint-dir");
  GPD_TRY(gpd_cli_check_output("-o", a->out));
  if (cfg->checkpoint_dir) GPD_TRY(gpd_cli_check_output_dir("--checkpoint-dir", cfg->checkpoint_dir));
  if (a->data && !a->export_only) {
    DIR *d = opendir(a->data);
    if (!d) return gpd_error("--data '%s': cannot open the folder: %s", a->data, strerror(errno));
    closedir(d);
  }
  return 0;
}

static int export_checkpoint(gpd_trainer *t, const train_args *a) {
  char path[1100];
  snprintf(path, sizeof path, "%s/checkpoint.safetensors", a->cfg.checkpoint_dir);
  GPD_TRY(gpd_checkpoint_load(t, path));
  GPD_TRY(gpd_train_save_output(t, a->out, NULL));
  printf("wrote %s from %s (step %ld, %.0f s of training)\n", a->out, path, t->step, t->seconds);
  return 0;
}

static int train(gpd_trainer *t, const train_args *a, gpd_engine *e) {
  const gpd_train_config *cfg = &a->cfg;
  gpd_dataset ds;
  memset(&ds, 0, sizeof ds);
  int ok;
  if (a->is_kernels)
    ok = gpd_dataset_kernels(&ds, cfg->arch.size, a->kseed_a, (long)(a->kseed_b - a->kseed_a), (int)a->klen_min,
                             (int)a->klen_max);
  else
    ok = gpd_dataset_image_folder(&ds, a->data, cfg->arch.channels, cfg->arch.size, a->celeba ? GPD_CELEBA_CROP : 0,
                                  a->first, a->last);
  if (ok != 0) return -1;
  fprintf(stderr, "gpdeblur train: %s on %s (%s engine), batch %d, %ld steps per epoch\n", cfg->arch.name,
          ds.description, e->name, cfg->batch, ds.count / cfg->batch);
  if (t->kind == GPD_TRAIN_GAN) {
    char aug[64];
    gpd_augment_describe(cfg->augment, aug, sizeof aug);
    fprintf(stderr, "gpdeblur train: augmentation %s, EMA of G %g%s\n", aug, cfg->ema, cfg->ema > 0 ? " (ships)" : " (none)");
    if (cfg->recon_weight > 0)
      fprintf(stderr, "gpdeblur train: latent reconstruction, weight %g, a latent per training image (Adam step %g)\n",
              cfg->recon_weight, cfg->latent_lr);
  }
  if (cfg->resume && cfg->checkpoint_dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", cfg->checkpoint_dir);
    if (access(path, F_OK) != 0) fprintf(stderr, "gpdeblur train: no %s yet; starting from scratch\n", path);
    else fprintf(stderr, "gpdeblur train: resuming from %s\n", path);
  }
  progress_ctx pc;
  memset(&pc, 0, sizeof pc);
  pc.kind = t->kind;
  pc.recon = t->kind == GPD_TRAIN_GAN && cfg->recon_weight > 0;
  t->cfg.progress = on_progress;
  t->cfg.progress_ctx = &pc;
  t->cfg.latent_init_progress = on_latent_init;
  t->cfg.stop = &stop_requested;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  ok = gpd_train_run(t, &ds);
  if (pc.started) gpd_progress_finish(&pc.bar);
  if (ok == 0) ok = gpd_train_save_output(t, a->out, NULL);
  if (ok == 0)
    printf("wrote %s: %s, %ld steps (%.2f epochs), %.0f s of training%s\n", a->out, cfg->arch.name, t->step,
           (double)t->step / (double)t->steps_per_epoch, t->seconds,
           stop_requested ? " (stopped early; --resume continues)" : "");
  gpd_dataset_free(&ds);
  return ok;
}

static int run(const train_args *a) {
  gpd_engine *e = gpd_cli_engine_create(a->device, a->precision, a->threads);
  if (!e) return -1;
  gpd_trainer t;
  if (gpd_trainer_init(&t, &a->cfg, e) != 0) {
    gpd_engine_destroy(e);
    return -1;
  }
  const int rc = a->export_only ? export_checkpoint(&t, a) : train(&t, a, e);
  gpd_trainer_free(&t);
  gpd_engine_destroy(e);
  return rc;
}

/* parse, validate, then run (work = 1) or stop there (work = 0, the
 * error recorded and not printed). */
static int train_command(int argc, char **argv, int work) {
  train_args a;
  const int st = parse_args(argc, argv, &a);
  if (st) return st < 0 ? 0 : st;
  int rc = validate_args(&a);
  if (!rc && work) rc = run(&a);
  return !rc ? 0 : work ? gpd_cli_fail(CMD) : 1;
}

int gpd_cmd_train_check(int argc, char **argv) { return train_command(argc, argv, 0); }
int gpd_cmd_train(int argc, char **argv) { return train_command(argc, argv, 1); }
