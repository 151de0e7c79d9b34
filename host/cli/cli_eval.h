/* Shared by `gpdeblur eval` and `gpdeblur sweep`: their options (the test
 * set, kernels, noise, generators, outputs and every solver option), the
 * session they open (engine, generators, selection, test kernels, the
 * run's configuration), running with a progress bar and one stderr line per
 * skipped image, and the summaries they print. */
#ifndef GPD_CLI_EVAL_H
#define GPD_CLI_EVAL_H

#include <stdio.h>

#include "cli_solve_options.h"
#include "gpd/eval.h"
#include "gpd/net.h"

typedef struct gpd_cli_eval_args {
  const char *dir;          /* positional: the sharp test images */
  const char *levin;        /* --levin DIR */
  gpd_eval_selection sel;
  int shard_k, shard_n;
  int crop, size;
  const char *dataset;
  const char *kernels_dir;
  uint64_t kernel_seed;
  long bucket_min, bucket_max;
  double sigma;
  uint64_t noise_seed;
  gpd_cli_solve_args solve;
  int range;
  long range_steps, range_restarts;
  double range_lr;
  const char *range_cache; /* --range-cache DIR */
  const char *image_gen, *blur_gen, *device;
  gpd_precision precision;
  int threads;            /* --threads (0: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS) */
  const char *output, *report, *grid;
  long grid_count, stop_after, batch_images;
  int resume, overwrite;
  /* eval --summarize: positional CSVs to report on */
  int summarize;
  char **inputs;
  int n_inputs;
  /* sweep */
  const char *param, *values, *out_dir;
} gpd_cli_eval_args;

/* Parses argv for `eval` (sweep = 0) or `sweep` (sweep = 1). Returns 0,
 * -1 when --help was printed (usage() called; exit 0), or the exit status
 * of a usage error (2) or a bad value (1), its line already printed. */
int gpd_cli_eval_parse(const char *cmd, int sweep, int argc, char **argv, void (*usage)(FILE *),
                       gpd_cli_eval_args *a);
/* The help text of the options both commands share. */
void gpd_cli_eval_usage_common(FILE *f);

typedef struct gpd_cli_eval_session {
  gpd_engine *e;
  gpd_net gi, gk;
  int have_gi, have_gk;
  char gi_path[4096], gk_path[4096];
  char dataset[256];
  gpd_eval_list full;
  gpd_eval_kernels kernels;
  gpd_eval_config cfg;
} gpd_cli_eval_session;

/* Selection, engine, generators (the shipped defaults when not given),
 * test kernels for the whole selection, and cfg for one run. */
int gpd_cli_eval_open(const gpd_cli_eval_args *a, gpd_cli_eval_session *s);
void gpd_cli_eval_close(gpd_cli_eval_session *s);

/* gpd_eval_run with a progress bar (images done, images per second, time
 * left, the item in flight) and one stderr line per skipped image. */
int gpd_cli_eval_execute(const char *cmd, gpd_cli_eval_session *s, const gpd_eval_config *cfg, gpd_eval_outcome *out);

/* "12 images (10 ok, 1 skipped, 1 diverged)" and the PSNR / SSIM lines. */
void gpd_cli_eval_print_summary(FILE *f, const char *title, const gpd_eval_summary *s);

#endif
