/* gpdeblur evalgen: measured quality of a trained generator on held-out
 * data: reconstruction error of a VAE (encoder mean, decoded) and range
 * error of any generator (its closest output, by Adam on z). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_check.h"
#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/image.h"
#include "gpd/train.h"
#include "gpd/weights.h"

static const char *CMD = "evalgen";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur evalgen --weights FILE.safetensors [data] [options]\n"
          "\n"
          "Measured quality of a generator on held-out data:\n"
          "  recon (VAEs): decoder(encoder mean) against each item;\n"
          "  range: the closest generator output, z found by Adam from the encoder\n"
          "         mean (VAEs) and from --restarts random N(0, I) starts, the best\n"
          "         kept (the paper's range error, eq. 13).\n"
          "Prints the mean relative l2 error ||x - x_hat|| / ||x|| and the mean PSNR\n"
          "(kernels: peak = the kernel's maximum; images: peak 1).\n"
          "\n"
          "data (one of):\n"
          "  --kernel-seeds A:B     motion kernels from seeds A..B-1 (default for blur_vae:\n"
          "                         1000000000:1000002000, the first 2,000 held-out seeds)\n"
          "  --kernel-lengths A:B   trajectory lengths (default 5:28)\n"
          "  --data DIR             an image folder, with --range A:B (files numbered A..B)\n"
          "                         or --celeba-range A:B (and the CelebA crop 54 -> 64)\n"
          "options:\n"
          "  --steps N     Adam steps of the range projection (default 1000)\n"
          "  --lr LR       its step (default 0.01)\n"
          "  --restarts R  random starts (besides the encoder mean; default 1)\n"
          "  --batch B     items per pass (default 200)\n"
          "  --seed S      seed of the random starts (default 0)\n"
          "  --device cpu|cuda|auto (default auto)\n");
}

/* What the command line asks for. */
typedef struct evalgen_args {
  const char *weights, *data, *device;
  long first, last, klen_min, klen_max;
  uint64_t ka, kb; /* kernel seeds ka .. kb-1 */
  int celeba, have_kseeds, have_klens, have_range;
  gpd_gen_eval_options o;
} evalgen_args;

/* argv -> a: 0, -1 after --help, or the exit status of a usage error (its
 * line printed). */
static int parse_args(int argc, char **argv, evalgen_args *a) {
  enum { O_WEIGHTS = 256, O_KSEEDS, O_KLENS, O_DATA, O_RANGE, O_STEPS, O_LR, O_RESTARTS, O_BATCH, O_SEED, O_DEVICE, O_CELEBA, O_HELP };
  static const struct option opts[] = {
      {"weights", required_argument, 0, O_WEIGHTS}, {"kernel-seeds", required_argument, 0, O_KSEEDS},
      {"kernel-lengths", required_argument, 0, O_KLENS}, {"data", required_argument, 0, O_DATA},
      {"range", required_argument, 0, O_RANGE}, {"steps", required_argument, 0, O_STEPS},
      {"lr", required_argument, 0, O_LR}, {"restarts", required_argument, 0, O_RESTARTS},
      {"batch", required_argument, 0, O_BATCH}, {"seed", required_argument, 0, O_SEED},
      {"device", required_argument, 0, O_DEVICE}, {"celeba-range", required_argument, 0, O_CELEBA}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
  memset(a, 0, sizeof *a);
  a->device = "auto";
  a->first = -1;
  a->last = -2;
  a->klen_min = GPD_MOTION_LENGTH_MIN;
  a->klen_max = GPD_MOTION_LENGTH_MAX;
  a->ka = GPD_KERNEL_TEST_SEED_BASE;
  a->kb = GPD_KERNEL_TEST_SEED_BASE + 2000;
  gpd_gen_eval_defaults(&a->o);
  long v;
  double f;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case O_WEIGHTS: a->weights = optarg; break;
    case O_KSEEDS:
      a->have_kseeds = 1;
      bad = gpd_parse_u64_range("kernel-seeds", optarg, &a->ka, &a->kb);
      if (!bad && a->kb <= a->ka) bad = gpd_error("--kernel-seeds: '%s' is empty (A:B means seeds A..B-1)", optarg);
      if (!bad && a->kb - a->ka > 100000000)
        bad = gpd_error("--kernel-seeds: '%s' is more than 100000000 kernels", optarg);
      break;
    case O_KLENS:
      bad = gpd_parse_range("kernel-lengths", optarg, &a->klen_min, &a->klen_max);
      a->have_klens = 1;
      break;
    case O_DATA: a->data = optarg; break;
    case O_RANGE: bad = gpd_parse_range("range", optarg, &a->first, &a->last); a->have_range = 1; break;
    case O_CELEBA: bad = gpd_parse_range("celeba-range", optarg, &a->first, &a->last); a->celeba = a->have_range = 1; break;
    case O_STEPS: bad = gpd_parse_int("steps", optarg, 0, 1000000, &v); a->o.range_steps = (int)v; break;
    case O_LR: bad = gpd_parse_float("lr", optarg, 1e-9, 10, &f); a->o.range_lr = (float)f; break;
    case O_RESTARTS: bad = gpd_parse_int("restarts", optarg, 0, 1000, &v); a->o.range_restarts = (int)v; break;
    case O_BATCH: bad = gpd_parse_int("batch", optarg, 1, 100000, &v); a->o.batch = (int)v; break;
    case O_SEED: bad = gpd_parse_u64("seed", optarg, &a->o.seed); break;
    case O_DEVICE: a->device = optarg; break;
    case O_HELP: usage(stdout); return -1;
    default: return gpd_cli_bad_option(CMD, c, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (optind < argc) return gpd_cli_usage_fail(CMD, "unexpected argument '%s'", argv[optind]);
  if (!a->weights) return gpd_cli_usage_fail(CMD, "--weights is required");
  return 0;
}

/* The weights file's architecture, and the data options that apply to it:
 * motion kernels for a blur generator without --data, else an image
 * folder; an option for the other kind is refused, not ignored. */
static int validate_args(const evalgen_args *a, gpd_arch *arch, int *kernels) {
  gpd_safetensors st;
  GPD_TRY(gpd_st_read(&st, a->weights));
  const int rc = gpd_weights_arch(&st, arch);
  gpd_st_free(&st);
  GPD_TRY(rc);
  const int vae = !strcmp(arch->name, "blur_vae") || !strcmp(arch->name, "svhn_vae");
  *kernels = arch->channels == 1 && !a->data;
  if (*kernels) {
    if (a->have_range)
      return gpd_error("--range / --celeba-range pick image files, but %s is evaluated on motion kernels "
                       "(--kernel-seeds), not a --data folder",
                       a->weights);
    if (a->klen_min < 1 || a->klen_max > 1000)
      return gpd_error("--kernel-lengths %ld:%ld: lengths are 1..1000", a->klen_min, a->klen_max);
  } else {
    if (!a->data) return gpd_error("--data DIR is required for %s (%s)", a->weights, arch->name);
    if (a->have_kseeds || a->have_klens)
      return gpd_error("--kernel-seeds / --kernel-lengths choose motion kernels, but %s is evaluated on the images of "
                       "--data %s",
                       a->weights, a->data);
  }
  if (!vae && a->o.range_restarts < 1)
    return gpd_error("--restarts 0: %s (%s) has no encoder to start the range projection from", a->weights,
                     arch->name);
  return 0;
}

static void on_progress(void *ctx, long done, long total) {
  gpd_progress *p = ctx;
  if (!p->total) gpd_progress_start(p, "evalgen", total);
  gpd_progress_update(p, done);
}

static int run(const evalgen_args *a, const gpd_arch *arch, int kernels) {
  gpd_engine *e = gpd_engine_create(a->device, GPD_PRECISION_FP32);
  if (!e) return -1;
  gpd_net enc, dec;
  memset(&enc, 0, sizeof enc);
  memset(&dec, 0, sizeof dec);
  gpd_dataset ds;
  memset(&ds, 0, sizeof ds);
  gpd_gen_eval_options o = a->o;
  int rc = -1;
  const int vae = !strcmp(arch->name, "blur_vae") || !strcmp(arch->name, "svhn_vae");
  if (gpd_weights_load_net(&dec, e, a->weights, vae ? "decoder" : "generator") != 0 ||
      (vae && gpd_weights_load_net(&enc, e, a->weights, "encoder") != 0))
    goto done;
  if (kernels) {
    if (gpd_dataset_kernels(&ds, dec.out_h, a->ka, (long)(a->kb - a->ka), (int)a->klen_min, (int)a->klen_max) != 0)
      goto done;
    if (a->ka < GPD_KERNEL_TEST_SEED_BASE)
      fprintf(stderr, "gpdeblur evalgen: note: seeds below %llu are training seeds\n",
              (unsigned long long)GPD_KERNEL_TEST_SEED_BASE);
  } else if (gpd_dataset_image_folder(&ds, a->data, dec.out_c, dec.out_h, a->celeba ? GPD_CELEBA_CROP : 0, a->first,
                                      a->last) != 0) {
    goto done;
  }
  o.peak_is_max = kernels;
  gpd_progress bar;
  memset(&bar, 0, sizeof bar);
  o.progress = on_progress;
  o.progress_ctx = &bar;
  gpd_gen_eval r;
  double t0 = gpd_seconds();
  if (gpd_generator_evaluate(vae ? &enc : NULL, &dec, &ds, &o, &r) != 0) goto done;
  if (bar.total) gpd_progress_finish(&bar);
  printf("data: %s\n", ds.description);
  if (vae) printf("recon: rel_l2 %.4f  psnr %.2f dB\n", r.recon_rel_l2, r.recon_psnr);
  printf("range: rel_l2 %.4f  psnr %.2f dB  (Adam %d steps, lr %g, %d random restarts%s)\n", r.range_rel_l2, r.range_psnr,
         o.range_steps, o.range_lr, o.range_restarts, vae ? " + encoder mean" : "");
  printf("items %ld, %.1f s on %s\n", r.count, gpd_seconds() - t0, e->name);
  rc = 0;
done:
  gpd_dataset_free(&ds);
  gpd_net_free(&enc);
  gpd_net_free(&dec);
  gpd_engine_destroy(e);
  return rc;
}

/* parse, validate, then run (work = 1) or stop there (work = 0, the
 * error recorded and not printed). */
static int evalgen_command(int argc, char **argv, int work) {
  evalgen_args a;
  gpd_arch arch;
  int kernels;
  const int st = parse_args(argc, argv, &a);
  if (st) return st < 0 ? 0 : st;
  int rc = validate_args(&a, &arch, &kernels);
  if (!rc && work) rc = run(&a, &arch, kernels);
  return !rc ? 0 : work ? gpd_cli_fail(CMD) : 1;
}

int gpd_cmd_evalgen_check(int argc, char **argv) { return evalgen_command(argc, argv, 0); }
int gpd_cmd_evalgen(int argc, char **argv) { return evalgen_command(argc, argv, 1); }
