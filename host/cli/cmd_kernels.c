/* `gpdeblur kernels`: writes N reproducible blur kernels (motion or
 * Gaussian), kernel i from seed S + i, with a CSV index. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/rng.h"

static const char *CMD = "kernels";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur kernels -n N --seed S -o DIR [options]\n\n"
          "Writes N blur kernels, kernel i drawn from seed S+i, as DIR/kernel_<seed>.kernel\n"
          "(exact) and DIR/kernel_<seed>.png (scaled to its maximum), and DIR/index.csv.\n\n"
          "options:\n"
          "  -n, --count N         number of kernels (required)\n"
          "  -s, --seed S          first seed (required)\n"
          "  -o, --output DIR      output folder, created if missing (required)\n"
          "  -t, --type TYPE       motion (default) or gaussian\n"
          "      --size K          kernel size K x K (default 28)\n"
          "      --min-length L    motion: shortest trajectory length in pixels (default 5)\n"
          "      --max-length L    motion: longest trajectory length (default 28, at most K)\n"
          "      --sigma A[:B]     gaussian: standard deviation, or drawn uniformly from\n"
          "                        [A, B] per seed (default 2)\n"
          "  -h, --help            this help\n\n"
          "Motion kernels are random camera-shake trajectories (Boracchi and Foi 2012) of\n"
          "100 samples, anxiety 0.01, length drawn uniformly from the integers\n"
          "[min-length, max-length], centred on the canvas. index.csv has the columns\n"
          "id,seed,length (motion) or id,seed,sigma (gaussian).\n");
}

/* "A" or "A:B" -> [lo, hi]. */
static int parse_sigma(const char *text, double *lo, double *hi) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  char *colon = strchr(buf, ':');
  if (colon) *colon = 0;
  GPD_TRY(gpd_parse_float("sigma", buf, 1e-3, 1e3, lo));
  *hi = *lo;
  if (colon) GPD_TRY(gpd_parse_float("sigma", colon + 1, *lo, 1e3, hi));
  return 0;
}

int gpd_cmd_kernels(int argc, char **argv) {
  static const struct option opts[] = {
      {"count", required_argument, 0, 'n'},      {"seed", required_argument, 0, 's'},
      {"output", required_argument, 0, 'o'},     {"type", required_argument, 0, 't'},
      {"size", required_argument, 0, 'K'},       {"min-length", required_argument, 0, 'a'},
      {"max-length", required_argument, 0, 'b'}, {"sigma", required_argument, 0, 'g'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  long count = -1, ksize = GPD_KERNEL_SIZE, len_min = GPD_MOTION_LENGTH_MIN, len_max = GPD_MOTION_LENGTH_MAX;
  uint64_t seed = 0;
  int have_seed = 0, gaussian = 0;
  double sig_lo = 2.0, sig_hi = 2.0;
  const char *dir = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":n:s:o:t:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'n': if (gpd_parse_int("count", optarg, 1, 100000000, &count) != 0) return gpd_cli_fail(CMD); break;
    case 's': if (gpd_parse_u64("seed", optarg, &seed) != 0) return gpd_cli_fail(CMD); have_seed = 1; break;
    case 'o': dir = optarg; break;
    case 't':
      if (!strcmp(optarg, "motion")) gaussian = 0;
      else if (!strcmp(optarg, "gaussian")) gaussian = 1;
      else {
        gpd_error("--type: '%s' is not motion or gaussian", optarg);
        return gpd_cli_fail(CMD);
      }
      break;
    case 'K': if (gpd_parse_int("size", optarg, 1, 4096, &ksize) != 0) return gpd_cli_fail(CMD); break;
    case 'a': if (gpd_parse_int("min-length", optarg, 1, 4096, &len_min) != 0) return gpd_cli_fail(CMD); break;
    case 'b': if (gpd_parse_int("max-length", optarg, 1, 4096, &len_max) != 0) return gpd_cli_fail(CMD); break;
    case 'g': if (parse_sigma(optarg, &sig_lo, &sig_hi) != 0) return gpd_cli_fail(CMD); break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
  }
  if (optind < argc) {
    fprintf(stderr, "gpdeblur %s: unexpected argument '%s'; see 'gpdeblur %s --help'\n", CMD, argv[optind], CMD);
    return 2;
  }
  if (count < 0 || !have_seed || !dir) {
    gpd_error("-n, --seed and -o are required");
    return gpd_cli_fail(CMD);
  }
  if (!gaussian && (len_min > len_max || len_max > ksize)) {
    gpd_error("--min-length %ld / --max-length %ld: need min <= max <= --size %ld", len_min, len_max, ksize);
    return gpd_cli_fail(CMD);
  }
  if (gpd_cli_check_seed_range("seed", seed, (uint64_t)count) != 0 || gpd_cli_check_output_dir("-o", dir) != 0 ||
      gpd_cli_make_output_dir("-o", dir) != 0)
    return gpd_cli_fail(CMD);

  char path[4096];
  snprintf(path, sizeof path, "%s/index.csv", dir);
  FILE *csv = fopen(path, "w");
  if (!csv) {
    gpd_error("cannot write '%s': %s", path, strerror(errno));
    return gpd_cli_fail(CMD);
  }
  fprintf(csv, gaussian ? "id,seed,sigma\n" : "id,seed,length\n");
  float *k = gpd_malloc(sizeof(float) * ksize * ksize, "kernel");
  int rc = k ? 0 : -1;
  gpd_progress prog;
  gpd_progress_start(&prog, "kernels", count);
  for (long i = 0; i < count && rc == 0; i++) {
    uint64_t s = seed + (uint64_t)i;
    if (gaussian) {
      gpd_rng r;
      gpd_rng_seed(&r, s);
      double sigma = sig_lo + (sig_hi - sig_lo) * gpd_rng_uniform(&r);
      rc = gpd_gaussian_kernel(k, (int)ksize, (float)sigma);
      if (rc == 0) fprintf(csv, "%ld,%llu,%.6g\n", i, (unsigned long long)s, sigma);
    } else {
      rc = gpd_motion_kernel(k, (int)ksize, s, (int)len_min, (int)len_max);
      if (rc == 0)
        fprintf(csv, "%ld,%llu,%d\n", i, (unsigned long long)s, gpd_motion_kernel_length(s, (int)len_min, (int)len_max));
    }
    if (rc == 0) {
      snprintf(path, sizeof path, "%s/kernel_%llu.kernel", dir, (unsigned long long)s);
      rc = gpd_kernel_save_both(path, k, (int)ksize);
    }
    gpd_progress_update(&prog, i + 1);
  }
  gpd_progress_finish(&prog);
  free(k);
  int bad = ferror(csv);
  if (fclose(csv) != 0 || bad) {
    if (rc == 0) gpd_error("cannot write '%s/index.csv'", dir);
    rc = -1;
  }
  return rc == 0 ? 0 : gpd_cli_fail(CMD);
}
