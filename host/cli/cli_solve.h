/* Shared by the solver subcommands (`deblur`, `project`; eval and sweep
 * load their generators with it too): loading generators by the
 * architecture their weights file names, the shipped default weights, a
 * monitor that draws the progress bar and writes the per-restart loss log,
 * the solve run with both, and the result's JSON fields. */
#ifndef GPD_CLI_SOLVE_H
#define GPD_CLI_SOLVE_H

#include <stdio.h>

#include "gpd/cli.h"
#include "gpd/net.h"
#include "gpd/solve.h"

/* Loads the image generator (blur = 0: a dcgan_* "generator" or the
 * decoder of svhn_vae) or the blur generator (blur = 1: the decoder of
 * blur_vae) from `path` onto e. One-line errors say what the file holds
 * when it is the wrong kind ("... holds the blur VAE, not an image
 * generator; pass it as --blur-gen") or lacks the role's tensors (an
 * encoder-only file). */
int gpd_cli_load_generator(gpd_net *net, gpd_engine *e, const char *path, int blur);

/* The weights folder: $GPD_WEIGHTS_DIR, else the source tree's weights/
 * (compile-time GPD_DEFAULT_WEIGHTS_DIR). */
const char *gpd_cli_weights_dir(void);
/* buf = <weights dir>/<file>; error when it does not exist, naming the file
 * and how to make it. `what` says which generator it is. */
int gpd_cli_default_weights(const char *file, const char *what, char *buf, size_t size);
/* The shipped image generator for images of this size (the generator's own
 * size, so y's size for the circular boundary): dcgan_celeba64.safetensors
 * for 64x64x3, svhn_vae.safetensors for 32x32x3, NULL otherwise. */
const char *gpd_cli_default_image_generator(int c, int h, int w);
/* The same, with an error when none fits: "no shipped image generator
 * makes HxWxC images (<boundary> boundary): ...; pass --image-gen FILE"
 * (boundary NULL: no such note). */
int gpd_cli_pick_image_generator(int c, int h, int w, const char *boundary, const char **file);
/* gpd_cli_load_generator from `path`, or when path is NULL from the shipped
 * `default_file` in the weights folder (gpd_cli_default_weights: an error
 * when it is missing). `used` (size bytes) receives the path loaded. */
int gpd_cli_open_generator(gpd_net *net, gpd_engine *e, const char *path, const char *default_file, int blur,
                           char *used, size_t size);

/* Progress bar and optional CSV log (step, m0..m{R-1}, t0..t{R-1}: the
 * per-restart measurement and total losses; NaN once a restart diverged). */
typedef struct gpd_cli_monitor {
  gpd_progress bar;
  FILE *csv;
  int header_done;
} gpd_cli_monitor;
/* Hooks the monitor into o (log, progress); log_every applies to the CSV;
 * the bar's extra text shows the best measurement at each log point. */
void gpd_cli_monitor_attach(gpd_cli_monitor *m, gpd_solve_options *o, const char *label, FILE *csv, int log_every);
void gpd_cli_monitor_finish(gpd_cli_monitor *m);

/* --threads N: CPU threads, 1 to 1024 (error naming the option). */
int gpd_cli_parse_threads(const char *text, int *out);
/* The engine of --device / --precision with --threads applied first:
 * threads > 0 sets the cpu engine's oneDNN (OpenMP) pool and the ref
 * engine's OpenBLAS to that many threads; 0 leaves OMP_NUM_THREADS and
 * OPENBLAS_NUM_THREADS (else every core) in charge. NULL with an error. */
gpd_engine *gpd_cli_engine_create(const char *device, gpd_precision precision, int threads);
/* The help line of --threads (every subcommand with --device). */
#define GPD_CLI_THREADS_HELP                                                                     \
  "      --threads N        CPU threads: the cpu engine's oneDNN pool, the ref engine's OpenBLAS\n" \
  "                         (default: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, else every core)\n"

/* --precision: "fp32", "tf32" or "bf16" (error naming the option). */
int gpd_cli_parse_precision(const char *text, gpd_precision *out);
/* The help lines of --precision (shared by deblur and project). */
#define GPD_CLI_PRECISION_HELP                                                                  \
  "      --precision P      fp32 (default) | tf32 | bf16: the generators' conv / dense math:\n"  \
  "                         bf16 on the cpu engine (oneDNN, fp32 accumulation; CUDA runs it\n"    \
  "                         as tf32 for now), tf32 on CUDA only; ref computes in fp32 only\n"

/* Plans the solve (gpd_solve_plan_make: memory, groups, threads) and, when
 * the restarts are split into groups or run in parallel, says so in one
 * line on stderr ("GPU memory: 10000 restarts need 23.1 GiB, 9.8 GiB free:
 * running 3 groups of 3334"). -1 with the plan's error (one restart does
 * not fit, a bad GPD_MEMORY_LIMIT_MB / GPD_SOLVER_THREADS, the sizes). */
int gpd_cli_report_plan(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o);

/* The solve of a subcommand: opens the loss log (log_path; NULL for none)
 * written every log_every steps, says the plan (gpd_cli_report_plan), runs
 * gpd_solve with the progress bar `label` and closes the log. 0 or -1. */
int gpd_cli_solve_logged(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, gpd_solve_options *o,
                         const char *label, const char *log_path, int log_every, gpd_solve_result *res);

/* Prints a float for JSON: %.6g, or null when not finite. */
void gpd_cli_json_number(FILE *f, double v);
/* ,"key":<gpd_cli_json_number(v)>: a field after the first of an object. */
void gpd_cli_json_field(FILE *f, const char *key, double v);
/* ,"diverged":[r, ...]: the restarts of res that diverged. */
void gpd_cli_json_diverged(FILE *f, const gpd_solve_result *res);
/* ,"graph_launches":N,"graph_capture_failures":M (iterations replayed from
 * graphs; captures that failed, whose cause went to stderr). */
void gpd_cli_json_graphs(FILE *f, const gpd_solve_result *res);

#endif
