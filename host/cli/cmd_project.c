/* `gpdeblur project`: the closest image to a sharp image in the range of an
 * image generator (the paper's i_range, Section V-C) and its range error. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_solve.h"
#include "gpd/common.h"
#include "gpd/image.h"
#include "gpd/solve.h"

static const char *CMD = "project";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur project SHARP.png -o RANGE.png [options]\n\n"
          "Range projection: finds z minimising mean((G_I(z) - SHARP)^2) by Adam from\n"
          "several random starts (one batch) and writes G_I(z) of the best. Prints the\n"
          "range error as PSNR on stderr and one line of JSON on stdout:\n"
          "{\"psnr\", \"range_error\" (mean squared error), \"chosen\", \"diverged\", \"seconds\"}.\n\n"
          "options:\n"
          "      --image-gen FILE   image generator (.safetensors); default by size:\n"
          "                         weights/dcgan_celeba64.safetensors (64x64x3) or\n"
          "                         weights/svhn_vae.safetensors (32x32x3) (weights folder:\n"
          "                         $GPD_WEIGHTS_DIR, else %s)\n"
          "  -r, --restarts N       random restarts (default 10)\n"
          "  -n, --steps N          Adam steps (default 3000)\n"
          "      --lr X             initial Adam step (default 0.05)\n"
          "      --lr-decay T       step lr * exp(-t / T) (default 1000; 0 = constant)\n"
          "  -s, --seed S           seed of the latents (default 0)\n"
          "  -d, --device D         cpu | cuda | auto (default auto)\n"
          GPD_CLI_PRECISION_HELP
          "      (restarts that do not fit the device's memory run in groups: see 'deblur --help')\n"
          "      --log FILE.csv     per-restart losses every --log-every steps (default 100)\n"
          "  -o, --output RANGE.png the range image (required)\n"
          "  -h, --help             this help\n",
          gpd_cli_weights_dir());
}

enum { OPT_IMAGE_GEN = 1000, OPT_LR, OPT_LR_DECAY, OPT_LOG, OPT_LOG_EVERY, OPT_PRECISION };

int gpd_cmd_project(int argc, char **argv) {
  static const struct option opts[] = {
      {"image-gen", required_argument, 0, OPT_IMAGE_GEN}, {"restarts", required_argument, 0, 'r'},
      {"steps", required_argument, 0, 'n'},               {"lr", required_argument, 0, OPT_LR},
      {"lr-decay", required_argument, 0, OPT_LR_DECAY},   {"seed", required_argument, 0, 's'},
      {"device", required_argument, 0, 'd'},              {"log", required_argument, 0, OPT_LOG},
      {"log-every", required_argument, 0, OPT_LOG_EVERY}, {"output", required_argument, 0, 'o'},
      {"precision", required_argument, 0, OPT_PRECISION},
      {"help", no_argument, 0, 'h'},                      {0, 0, 0, 0}};
  const char *image_gen = NULL, *out = NULL, *device = "auto", *log_path = NULL;
  long restarts = -1, steps = -1, log_every = 100;
  double lr = -1, lr_decay = -1;
  uint64_t seed = 0;
  gpd_precision precision = GPD_PRECISION_FP32;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":r:n:s:d:o:h", opts, NULL)) != -1) {
    int bad = 0;
    switch (opt) {
    case OPT_IMAGE_GEN: image_gen = optarg; break;
    case 'r': bad = gpd_parse_int("restarts", optarg, 1, 1000000, &restarts); break;
    case 'n': bad = gpd_parse_int("steps", optarg, 0, 100000000, &steps); break;
    case OPT_LR: bad = gpd_parse_float("lr", optarg, 1e-30, 1e9, &lr); break;
    case OPT_LR_DECAY: bad = gpd_parse_float("lr-decay", optarg, 0, 1e12, &lr_decay); break;
    case 's': bad = gpd_parse_u64("seed", optarg, &seed); break;
    case 'd': device = optarg; break;
    case OPT_LOG: log_path = optarg; break;
    case OPT_LOG_EVERY: bad = gpd_parse_int("log-every", optarg, 1, 100000000, &log_every); break;
    case OPT_PRECISION: bad = gpd_cli_parse_precision(optarg, &precision); break;
    case 'o': out = optarg; break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (argc - optind != 1) {
    if (argc - optind > 1)
      fprintf(stderr, "gpdeblur %s: one sharp image expected, got '%s' and '%s'; see 'gpdeblur %s --help'\n", CMD,
              argv[optind], argv[optind + 1], CMD);
    else fprintf(stderr, "gpdeblur %s: missing the sharp image; see 'gpdeblur %s --help'\n", CMD, CMD);
    return 2;
  }
  if (!out) {
    gpd_error("-o RANGE.png is required");
    return gpd_cli_fail(CMD);
  }
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_RANGE);
  o.seed = seed;
  if (restarts > 0) o.restarts = (int)restarts;
  if (steps >= 0) o.steps = (int)steps;
  if (lr > 0) o.adam_lr = (float)lr;
  if (lr_decay >= 0) o.lr_decay = (float)lr_decay;

  gpd_image sharp = {0};
  gpd_net gi = {0};
  int have_gi = 0, rc = 1;
  gpd_engine *e = NULL;
  FILE *csv = NULL;
  gpd_solve_result res = {0};
  char path[4096];
  if (gpd_image_load(&sharp, argv[optind], 0) != 0) goto fail;
  if (!(e = gpd_engine_create(device, precision))) goto fail;
  if (!image_gen) {
    const char *file = gpd_cli_default_image_generator(sharp.c, sharp.h, sharp.w);
    if (!file) {
      gpd_error("no shipped image generator makes %dx%dx%d images: the shipped ones make 64x64x3 (dcgan_celeba64) "
                "and 32x32x3 (svhn_vae); pass --image-gen FILE",
                sharp.h, sharp.w, sharp.c);
      goto fail;
    }
    if (gpd_cli_default_weights(file, "image generator", path, sizeof path) != 0) goto fail;
    image_gen = path;
  }
  if (gpd_cli_load_generator(&gi, e, image_gen, 0) != 0) goto fail;
  have_gi = 1;
  if (log_path && !(csv = fopen(log_path, "w"))) {
    gpd_error("cannot write the log %s", log_path);
    goto fail;
  }
  if (gpd_cli_report_plan(e, &sharp, &gi, NULL, &o) != 0) goto fail;
  gpd_cli_monitor mon;
  gpd_cli_monitor_attach(&mon, &o, "project", csv, log_path ? (int)log_every : 0);
  int solved = gpd_solve(e, &sharp, &gi, NULL, &o, &res);
  gpd_cli_monitor_finish(&mon);
  if (solved != 0) goto fail;
  if (gpd_image_save_png(&res.range_image, out) != 0) goto fail;
  fprintf(stderr, "range error: PSNR %.2f dB (mean squared error %.6g), restart %d of %d\n", res.range_psnr,
          res.measurement, res.chosen, res.restarts);
  printf("{\"psnr\":");
  gpd_cli_json_number(stdout, res.range_psnr);
  printf(",\"range_error\":");
  gpd_cli_json_number(stdout, res.measurement);
  printf(",\"chosen\":%d,\"diverged\":[", res.chosen);
  for (int r = 0, first = 1; r < res.restarts; r++)
    if (res.diverged_at[r] != -1) {
      printf("%s%d", first ? "" : ",", r);
      first = 0;
    }
  printf("],\"seconds\":");
  gpd_cli_json_number(stdout, res.seconds);
  printf("}\n");
  rc = 0;
fail:
  if (rc) gpd_cli_fail(CMD);
  if (csv && fclose(csv) != 0 && !rc) rc = 1;
  gpd_solve_result_free(&res);
  if (have_gi) gpd_net_free(&gi);
  gpd_image_free(&sharp);
  if (e) gpd_engine_destroy(e);
  return rc;
}
