/* `gpdeblur project`: the closest image to a sharp image in the range of an
 * image generator (the paper's i_range, Section V-C) and its range error. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_solve.h"
#include "cli_solve_options.h"
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
          "{\"psnr\", \"range_error\" (mean squared error), \"chosen\", \"diverged\",\n"
          "\"restart_iterations\", \"seconds\", \"graph_launches\", \"graph_capture_failures\"}\n"
          "(iterations replayed from CUDA graphs, and captures that failed: their cause goes to\n"
          "stderr).\n\n"
          "options:\n"
          "      --image-gen FILE   image generator (.safetensors); default by size:\n"
          "                         weights/dcgan_celeba64.safetensors (64x64x3) or\n"
          "                         weights/svhn_vae.safetensors (32x32x3) (weights folder:\n"
          "                         $GPD_WEIGHTS_DIR, else %s)\n"
          GPD_CLI_RANGE_HELP
          "  -d, --device D         ref | cpu | cuda | auto (default auto)\n"
          GPD_CLI_PRECISION_HELP GPD_CLI_THREADS_HELP
          "      (restarts that do not fit the device's memory run in groups: see 'deblur --help')\n"
          "      --log FILE.csv     per-restart losses every --log-every steps (default 100)\n"
          "  -o, --output RANGE.png the range image (required)\n"
          "  -h, --help             this help\n",
          gpd_cli_weights_dir());
  gpd_cli_solve_usage_schedule(f);
}

enum { OPT_IMAGE_GEN = 1000, OPT_LR, OPT_LOG, OPT_LOG_EVERY, OPT_PRECISION, OPT_THREADS };

int gpd_cmd_project(int argc, char **argv) {
  static const struct option own[] = {
      {"image-gen", required_argument, 0, OPT_IMAGE_GEN}, {"lr", required_argument, 0, OPT_LR},
      {"device", required_argument, 0, 'd'},              {"log", required_argument, 0, OPT_LOG},
      {"log-every", required_argument, 0, OPT_LOG_EVERY}, {"output", required_argument, 0, 'o'},
      {"precision", required_argument, 0, OPT_PRECISION}, {"threads", required_argument, 0, OPT_THREADS},
      {"help", no_argument, 0, 'h'}};
  struct option opts[sizeof own / sizeof own[0] + GPD_CLI_SOLVE_MAX_OPTS + 1];
  gpd_cli_range_option_table(opts, own, (int)(sizeof own / sizeof own[0]));

  gpd_cli_solve_args sa;
  gpd_cli_solve_args_init(&sa, GPD_ALG_RANGE);
  const char *image_gen = NULL, *out = NULL, *device = "auto", *log_path = NULL;
  long log_every = 100;
  double lr = -1;
  gpd_precision precision = GPD_PRECISION_FP32;
  int opt, threads = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":r:n:s:d:o:h", opts, NULL)) != -1) {
    const int solver = gpd_cli_solve_option(&sa, opt, optarg);
    if (solver < 0) return gpd_cli_fail(CMD);
    if (solver > 0) continue;
    int bad = 0;
    switch (opt) {
    case OPT_IMAGE_GEN: image_gen = optarg; break;
    case OPT_LR: bad = gpd_parse_float("lr", optarg, 1e-30, 1e9, &lr); break;
    case 'd': device = optarg; break;
    case OPT_LOG: log_path = optarg; break;
    case OPT_LOG_EVERY: bad = gpd_parse_int("log-every", optarg, 1, 100000000, &log_every); break;
    case OPT_PRECISION: bad = gpd_cli_parse_precision(optarg, &precision); break;
    case OPT_THREADS: bad = gpd_cli_parse_threads(optarg, &threads); break;
    case 'o': out = optarg; break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  const int npos = gpd_cli_one_positional(CMD, argc, argv, "sharp image");
  if (npos) return npos;
  if (!out) {
    gpd_error("-o RANGE.png is required");
    return gpd_cli_fail(CMD);
  }
  if (gpd_cli_check_output("-o", out) != 0 || (log_path && gpd_cli_check_output("--log", log_path) != 0))
    return gpd_cli_fail(CMD);
  gpd_solve_options o;
  gpd_cli_solve_apply(&sa, &o);
  if (lr > 0) o.adam_lr = (float)lr;
  if (gpd_solve_check_options(&o) != 0) return gpd_cli_fail(CMD);

  gpd_image sharp = {0};
  gpd_net gi = {0};
  int have_gi = 0, rc = 1;
  gpd_engine *e = NULL;
  gpd_solve_result res = {0};
  char path[4096];
  const char *file = NULL;
  if (gpd_image_load(&sharp, argv[optind], 0) != 0) goto fail;
  if (!(e = gpd_cli_engine_create(device, precision, threads))) goto fail;
  if (!image_gen && gpd_cli_pick_image_generator(sharp.c, sharp.h, sharp.w, NULL, &file) != 0) goto fail;
  if (gpd_cli_open_generator(&gi, e, image_gen, file, 0, path, sizeof path) != 0) goto fail;
  have_gi = 1;
  if (gpd_cli_solve_logged(e, &sharp, &gi, NULL, &o, "project", log_path, (int)log_every, &res) != 0) goto fail;
  if (gpd_image_save_png(&res.range_image, out) != 0) goto fail;
  fprintf(stderr, "range error: PSNR %.2f dB (mean squared error %.6g), restart %d of %d\n", res.range_psnr,
          res.measurement, res.chosen, res.restarts);
  printf("{\"psnr\":");
  gpd_cli_json_number(stdout, res.range_psnr);
  gpd_cli_json_field(stdout, "range_error", res.measurement);
  printf(",\"chosen\":%d", res.chosen);
  gpd_cli_json_diverged(stdout, &res);
  printf(",\"restart_iterations\":%ld", res.restart_iterations);
  gpd_cli_json_field(stdout, "seconds", res.seconds);
  gpd_cli_json_graphs(stdout, &res);
  printf("}\n");
  rc = 0;
fail:
  if (rc) gpd_cli_fail(CMD);
  gpd_solve_result_free(&res);
  if (have_gi) gpd_net_free(&gi);
  gpd_image_free(&sharp);
  if (e) gpd_engine_destroy(e);
  return rc;
}
