/* gpdeblur evalgen: measured quality of a trained generator on held-out
 * data: reconstruction error of a VAE (encoder mean, decoded) and range
 * error of any generator (its closest output, by Adam on z). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_solve.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/engine.h"
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
          "  --device ref|cpu|cuda|auto (default auto)\n" GPD_CLI_THREADS_HELP);
}

static void on_progress(void *ctx, long done, long total) {
  gpd_progress *p = ctx;
  if (!p->total) gpd_progress_start(p, "evalgen", total);
  gpd_progress_update(p, done);
}

int gpd_cmd_evalgen(int argc, char **argv) {
  enum { O_WEIGHTS = 256, O_KSEEDS, O_KLENS, O_DATA, O_RANGE, O_STEPS, O_LR, O_RESTARTS, O_BATCH, O_SEED, O_DEVICE, O_CELEBA, O_THREADS, O_HELP };
  static const struct option opts[] = {
      {"weights", required_argument, 0, O_WEIGHTS}, {"kernel-seeds", required_argument, 0, O_KSEEDS},
      {"kernel-lengths", required_argument, 0, O_KLENS}, {"data", required_argument, 0, O_DATA},
      {"range", required_argument, 0, O_RANGE}, {"steps", required_argument, 0, O_STEPS},
      {"lr", required_argument, 0, O_LR}, {"restarts", required_argument, 0, O_RESTARTS},
      {"batch", required_argument, 0, O_BATCH}, {"seed", required_argument, 0, O_SEED},
      {"device", required_argument, 0, O_DEVICE}, {"celeba-range", required_argument, 0, O_CELEBA},
      {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
  const char *weights = NULL, *data = NULL, *device = "auto";
  long first = -1, last = -2, v, klen_min = 5, klen_max = 28;
  int celeba = 0, threads = 0;
  uint64_t ka = GPD_KERNEL_TEST_SEED_BASE, kb = GPD_KERNEL_TEST_SEED_BASE + 2000;
  double f;
  gpd_gen_eval_options o;
  gpd_gen_eval_defaults(&o);
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case O_WEIGHTS: weights = optarg; break;
    case O_KSEEDS: {
      char a[32];
      const char *colon = strchr(optarg, ':');
      if (!colon || colon - optarg >= (long)sizeof a) {
        bad = gpd_error("--kernel-seeds: '%s' is not a range A:B", optarg);
        break;
      }
      memcpy(a, optarg, (size_t)(colon - optarg));
      a[colon - optarg] = 0;
      bad = gpd_parse_u64("kernel-seeds", a, &ka) || gpd_parse_u64("kernel-seeds", colon + 1, &kb);
      if (!bad && kb <= ka) bad = gpd_error("--kernel-seeds: '%s' is empty (A:B means seeds A..B-1)", optarg);
      break;
    }
    case O_KLENS: bad = gpd_parse_range("kernel-lengths", optarg, &klen_min, &klen_max); break;
    case O_DATA: data = optarg; break;
    case O_RANGE: bad = gpd_parse_range("range", optarg, &first, &last); break;
    case O_CELEBA: bad = gpd_parse_range("celeba-range", optarg, &first, &last); celeba = 1; break;
    case O_STEPS: bad = gpd_parse_int("steps", optarg, 0, 1000000, &v); o.range_steps = (int)v; break;
    case O_LR: bad = gpd_parse_float("lr", optarg, 1e-9, 10, &f); o.range_lr = (float)f; break;
    case O_RESTARTS: bad = gpd_parse_int("restarts", optarg, 0, 1000, &v); o.range_restarts = (int)v; break;
    case O_BATCH: bad = gpd_parse_int("batch", optarg, 1, 100000, &v); o.batch = (int)v; break;
    case O_SEED: bad = gpd_parse_u64("seed", optarg, &o.seed); break;
    case O_DEVICE: device = optarg; break;
    case O_THREADS: bad = gpd_cli_parse_threads(optarg, &threads); break;
    case O_HELP: usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, c, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (!weights) {
    fprintf(stderr, "gpdeblur evalgen: --weights is required\n");
    return gpd_cli_usage_error(CMD);
  }
  gpd_engine *e = gpd_cli_engine_create(device, GPD_PRECISION_FP32, threads);
  if (!e) return gpd_cli_fail(CMD);
  gpd_net enc, dec;
  memset(&enc, 0, sizeof enc);
  memset(&dec, 0, sizeof dec);
  gpd_dataset ds;
  memset(&ds, 0, sizeof ds);
  int rc = 1;
  gpd_safetensors st;
  gpd_arch arch;
  if (gpd_st_read(&st, weights) != 0) goto fail;
  int ok = gpd_weights_arch(&st, &arch);
  gpd_st_free(&st);
  if (ok != 0) goto fail;
  int vae = !strcmp(arch.name, "blur_vae") || !strcmp(arch.name, "svhn_vae");
  if (gpd_weights_load_net(&dec, e, weights, vae ? "decoder" : "generator") != 0 ||
      (vae && gpd_weights_load_net(&enc, e, weights, "encoder") != 0))
    goto fail;
  int kernels = dec.out_c == 1 && !data;
  if (kernels) {
    if (gpd_dataset_kernels(&ds, dec.out_h, ka, (long)(kb - ka), (int)klen_min, (int)klen_max) != 0) goto fail;
    if (ka < GPD_KERNEL_TEST_SEED_BASE)
      fprintf(stderr, "gpdeblur evalgen: note: seeds below %llu are training seeds\n", (unsigned long long)GPD_KERNEL_TEST_SEED_BASE);
  } else {
    if (!data) {
      gpd_error("--data DIR is required for %s", dec.arch);
      goto fail;
    }
    if (gpd_dataset_image_folder(&ds, data, dec.out_c, dec.out_h, celeba ? 54 : 0, first, last) != 0) goto fail;
  }
  o.peak_is_max = kernels;
  gpd_progress bar;
  memset(&bar, 0, sizeof bar);
  o.progress = on_progress;
  o.progress_ctx = &bar;
  gpd_gen_eval r;
  double t0 = gpd_seconds();
  if (gpd_generator_evaluate(vae ? &enc : NULL, &dec, &ds, &o, &r) != 0) goto fail;
  if (bar.total) gpd_progress_finish(&bar);
  printf("data: %s\n", ds.description);
  if (vae) printf("recon: rel_l2 %.4f  psnr %.2f dB\n", r.recon_rel_l2, r.recon_psnr);
  printf("range: rel_l2 %.4f  psnr %.2f dB  (Adam %d steps, lr %g, %d random restarts%s)\n", r.range_rel_l2, r.range_psnr,
         o.range_steps, o.range_lr, o.range_restarts, vae ? " + encoder mean" : "");
  printf("items %ld, %.1f s on %s\n", r.count, gpd_seconds() - t0, e->name);
  rc = 0;
  goto done;
fail:
  rc = gpd_cli_fail(CMD);
done:
  gpd_dataset_free(&ds);
  gpd_net_free(&enc);
  gpd_net_free(&dec);
  gpd_engine_destroy(e);
  return rc;
}
