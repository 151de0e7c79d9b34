/* The solver's options (gpd_solve_options) as getopt_long entries: the one
 * table of them, parsed here for every subcommand that runs gpd_solve
 * (deblur, eval, sweep; project takes the few that apply to range
 * projection): --alg, --boundary, --restarts, --steps, --seed, the restart
 * schedule (--schedule, --halving-at), each weight and step of each
 * algorithm. Values are written over gpd_solve_defaults()
 * of the chosen algorithm, so an option given keeps its value whichever
 * --alg comes after it. */
#ifndef GPD_CLI_SOLVE_OPTIONS_H
#define GPD_CLI_SOLVE_OPTIONS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "gpd/solve.h"

/* getopt codes of the long-only solver options start here */
#define GPD_CLI_SOLVE_OPT_BASE 3000
/* The short options they use (add to the command's optstring). */
#define GPD_CLI_SOLVE_SHORTOPTS "a:b:r:n:s:"
/* Room the entries take in a struct option array. */
#define GPD_CLI_SOLVE_MAX_OPTS 40

typedef struct gpd_cli_solve_args {
  gpd_algorithm alg;
  gpd_boundary boundary;
  int alg_set, boundary_set;
  long restarts, steps, fit_steps, untrained_width, untrained_latent; /* -1: the algorithm's default */
  long average_best;                  /* 0: the default (1) */
  long polish_steps;                  /* --polish; -1: the default (0) */
  uint64_t seed;
  int seed_set;
  const char *untrained_arch;
  const char *checkpoint_dir;         /* Alg 3: --checkpoint-dir */
  double checkpoint_seconds;          /* --checkpoint-every; < 0: the default */
  int schedule_set, halving_set;
  int keep_kernel_scale;
  int alg2_select_total;
  int alg2_init_blurry;
  gpd_schedule schedule;
  int n_halving;
  float halving_at[GPD_SOLVE_MAX_HALVINGS];
  double fval[32];
  int fset[32];
} gpd_cli_solve_args;

/* The solver options that apply to range projection (project, evalgen):
 * restarts, steps, lr-decay, seed, schedule, halving-at (NULL-terminated, for
 * gpd_cli_solve_options_add_only); their --lr is the command's own (Adam's
 * initial step, adam_lr). */
extern const char *const gpd_cli_range_options[];
/* opts = own[0 .. n_own), then the range options, then the terminating
 * entry: the option table of a command that runs range projection (opts
 * holds n_own + GPD_CLI_SOLVE_MAX_OPTS + 1 entries). */
void gpd_cli_range_option_table(struct option *opts, const struct option *own, int n_own);
/* Their help lines (schedule and halving-at: gpd_cli_solve_usage_schedule),
 * with --lr, and the defaults of gpd_solve_defaults(GPD_ALG_RANGE). */
#define GPD_CLI_RANGE_HELP                                                                \
  "  -r, --restarts N       random restarts (default 10)\n"                               \
  "  -n, --steps N          Adam steps (default 3000)\n"                                  \
  "      --lr X             initial Adam step (default 0.05)\n"                           \
  "      --lr-decay T       step lr * exp(-t / T) (default 1000; 0 = constant)\n"         \
  "  -s, --seed S           seed of the latents (default 0)\n"

/* The help line of --kernel-scale (deblur, eval, sweep). */
#define GPD_CLI_KERNEL_SCALE_HELP                                                         \
  "      --kernel-scale S   unit (default): return the kernel scaled to sum 1 and the\n"   \
  "                         image times its sum (the same blurry image: a blind solve\n"   \
  "                         knows i and k only up to (s i, k / s)) | raw: as solved\n"

/* The help lines of --average-best (deblur, eval, sweep). */
#define GPD_CLI_AVERAGE_BEST_HELP                                                         \
  "      --average-best K   return the mean of the K best restarts that ran to the end\n"  \
  "                         (image and kernel, each at kernel scale unit first; naive,\n"  \
  "                         1, 2; default 1: the best alone, the paper's)\n"

/* alg: the default algorithm when --alg is not given. */
void gpd_cli_solve_args_init(gpd_cli_solve_args *a, gpd_algorithm alg);
/* Appends the entries to opts[*n ...] (at most GPD_CLI_SOLVE_MAX_OPTS). */
void gpd_cli_solve_options_add(struct option *opts, int *n);
/* Appends only the entries named in `names` (NULL-terminated, long names
 * without the dashes, e.g. "restarts"), for a command that takes a few. */
void gpd_cli_solve_options_add_only(struct option *opts, int *n, const char *const *names);
/* Handles one getopt_long result: 1 when it was a solver option (parsed),
 * 0 when it is not one, -1 on a bad value (error recorded). */
int gpd_cli_solve_option(gpd_cli_solve_args *a, int opt, const char *arg);
/* gpd_solve_defaults(a->alg), then every option given. */
void gpd_cli_solve_apply(const gpd_cli_solve_args *a, gpd_solve_options *o);
/* The help text of these options: gpd_cli_solve_usage_weights after the
 * algorithm's own lines (--alg, --boundary, --restarts, --steps, --seed). */
void gpd_cli_solve_usage(FILE *f);
/* The help text of each algorithm's weights and steps ("naive and
 * Algorithm 1 ...", "Algorithm 2 ...", "Algorithm 3 ..."). */
void gpd_cli_solve_usage_weights(FILE *f);
/* The help text of --schedule and --halving-at. */
void gpd_cli_solve_usage_schedule(FILE *f);
/* "full", "halving" -> schedule; error naming --schedule otherwise. */
int gpd_cli_parse_schedule(const char *text, gpd_schedule *schedule);
/* "naive", "1", "2", "3" -> algorithm; error naming --alg otherwise. */
int gpd_cli_parse_alg(const char *text, gpd_algorithm *alg);
/* "circular", "linear" -> boundary; error naming --boundary otherwise. */
int gpd_cli_parse_boundary(const char *text, gpd_boundary *boundary);

#endif
