/* The solver's options for the subcommands (cli_solve_options.h). */
#include "cli_solve_options.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "gpd/cli.h"
#include "gpd/common.h"

/* Float options: written into gpd_solve_options after its defaults. */
typedef struct float_opt {
  const char *name;
  size_t offset;
  double lo, hi;
} float_opt;

#define FOPT(n, field, lo, hi) {n, offsetof(gpd_solve_options, field), lo, hi}
static const float_opt FLOAT_OPTS[] = {
    FOPT("gamma", gamma, 0, 1e9),        FOPT("lambda", lambda, 0, 1e9),       FOPT("lr", lr, 1e-30, 1e9),
    FOPT("lr-decay", lr_decay, 0, 1e12), FOPT("tau", tau, 0, 1e12),            FOPT("zeta", zeta, 0, 1e12),
    FOPT("free-weight", free_weight, 0, 1e12), FOPT("rho", rho, 0, 1e12),      FOPT("adam-lr", adam_lr, 1e-30, 1e9),
    FOPT("init-mean", init_mean, -1e6, 1e6), FOPT("init-std", init_std, 0, 1e6), FOPT("nu", nu, 0, 1e12),
    FOPT("kappa", kappa, 0, 1e12),       FOPT("fit-lr", fit_lr, 1e-30, 1e9),   FOPT("lr-z", lr_z, 1e-30, 1e9),
    FOPT("lr-w", lr_w, 1e-30, 1e9),      FOPT("adam-lr-decay", adam_lr_decay, 0, 1e12),
    FOPT("adam-lr-kernel", adam_lr_kernel, 0, 1e9), FOPT("adam-lr-anneal", adam_lr_anneal, 0, 1),
    FOPT("polish-tau", polish_tau, 0, 1e12), FOPT("polish-rho", polish_rho, 0, 1e12),
    FOPT("polish-lr", polish_lr, 1e-30, 1e9),
};
#define N_FLOAT_OPTS (int)(sizeof FLOAT_OPTS / sizeof FLOAT_OPTS[0])
_Static_assert(sizeof FLOAT_OPTS / sizeof FLOAT_OPTS[0] <= sizeof ((gpd_cli_solve_args *)0)->fset / sizeof(int),
               "gpd_cli_solve_args.fset holds a flag per float option");

enum {
  OPT_FIT_STEPS = GPD_CLI_SOLVE_OPT_BASE,
  OPT_UNTRAINED_ARCH,
  OPT_UNTRAINED_WIDTH,
  OPT_UNTRAINED_LATENT,
  OPT_SCHEDULE,
  OPT_HALVING_AT,
  OPT_KERNEL_SCALE,
  OPT_SELECT,
  OPT_INIT_IMAGE,
  OPT_AVERAGE_BEST,
  OPT_CHECKPOINT_DIR,
  OPT_CHECKPOINT_EVERY,
  OPT_POLISH,
  OPT_FLOAT /* + index into FLOAT_OPTS */
};

const char *const gpd_cli_range_options[] = {"restarts", "steps", "lr-decay", "seed", "schedule", "halving-at", NULL};

void gpd_cli_solve_args_init(gpd_cli_solve_args *a, gpd_algorithm alg) {
  memset(a, 0, sizeof *a);
  a->alg = alg;
  a->boundary = GPD_BOUNDARY_CIRCULAR;
  a->restarts = a->steps = a->fit_steps = a->untrained_width = a->untrained_latent = -1;
  a->checkpoint_seconds = -1.0;
  a->polish_steps = -1;
}

/* name is in the NULL-terminated list names (every name when names is NULL) */
static int wanted(const char *const *names, const char *name) {
  if (!names) return 1;
  for (; *names; names++)
    if (!strcmp(*names, name)) return 1;
  return 0;
}

void gpd_cli_solve_options_add_only(struct option *opts, int *n, const char *const *names) {
  static const struct option fixed[] = {
      {"alg", required_argument, 0, 'a'},
      {"boundary", required_argument, 0, 'b'},
      {"restarts", required_argument, 0, 'r'},
      {"steps", required_argument, 0, 'n'},
      {"seed", required_argument, 0, 's'},
      {"fit-steps", required_argument, 0, OPT_FIT_STEPS},
      {"untrained-arch", required_argument, 0, OPT_UNTRAINED_ARCH},
      {"untrained-width", required_argument, 0, OPT_UNTRAINED_WIDTH},
      {"untrained-latent", required_argument, 0, OPT_UNTRAINED_LATENT},
      {"schedule", required_argument, 0, OPT_SCHEDULE},
      {"halving-at", required_argument, 0, OPT_HALVING_AT},
      {"kernel-scale", required_argument, 0, OPT_KERNEL_SCALE},
      {"select", required_argument, 0, OPT_SELECT},
      {"init-image", required_argument, 0, OPT_INIT_IMAGE},
      {"average-best", required_argument, 0, OPT_AVERAGE_BEST},
      {"checkpoint-dir", required_argument, 0, OPT_CHECKPOINT_DIR},
      {"checkpoint-every", required_argument, 0, OPT_CHECKPOINT_EVERY},
      {"polish", required_argument, 0, OPT_POLISH},
  };
  _Static_assert(sizeof fixed / sizeof fixed[0] + sizeof FLOAT_OPTS / sizeof FLOAT_OPTS[0] <= GPD_CLI_SOLVE_MAX_OPTS,
                 "GPD_CLI_SOLVE_MAX_OPTS is the room callers leave for these entries");
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (wanted(names, fixed[i].name)) opts[(*n)++] = fixed[i];
  for (int i = 0; i < N_FLOAT_OPTS; i++)
    if (wanted(names, FLOAT_OPTS[i].name))
      opts[(*n)++] = (struct option){FLOAT_OPTS[i].name, required_argument, 0, OPT_FLOAT + i};
}

void gpd_cli_solve_options_add(struct option *opts, int *n) { gpd_cli_solve_options_add_only(opts, n, NULL); }

void gpd_cli_range_option_table(struct option *opts, const struct option *own, int n_own) {
  int n = 0;
  for (int i = 0; i < n_own; i++) opts[n++] = own[i];
  gpd_cli_solve_options_add_only(opts, &n, gpd_cli_range_options);
  opts[n] = (struct option){0, 0, 0, 0};
}

int gpd_cli_parse_alg(const char *text, gpd_algorithm *alg) {
  if (!strcmp(text, "naive")) *alg = GPD_ALG_NAIVE;
  else if (!strcmp(text, "1")) *alg = GPD_ALG_1;
  else if (!strcmp(text, "2")) *alg = GPD_ALG_2;
  else if (!strcmp(text, "3")) *alg = GPD_ALG_3;
  else return gpd_error("--alg: '%s' is not naive, 1, 2 or 3", text);
  return 0;
}

int gpd_cli_parse_boundary(const char *text, gpd_boundary *boundary) {
  if (!strcmp(text, "circular")) *boundary = GPD_BOUNDARY_CIRCULAR;
  else if (!strcmp(text, "linear")) *boundary = GPD_BOUNDARY_LINEAR;
  else return gpd_error("--boundary: '%s' is not circular or linear", text);
  return 0;
}

int gpd_cli_parse_schedule(const char *text, gpd_schedule *schedule) {
  if (!strcmp(text, "full")) *schedule = GPD_SCHEDULE_FULL;
  else if (!strcmp(text, "halving")) *schedule = GPD_SCHEDULE_HALVING;
  else return gpd_error("--schedule: '%s' is not full or halving", text);
  return 0;
}

int gpd_cli_solve_option(gpd_cli_solve_args *a, int opt, const char *arg) {
  if (opt >= OPT_FLOAT && opt < OPT_FLOAT + N_FLOAT_OPTS) {
    const float_opt *f = &FLOAT_OPTS[opt - OPT_FLOAT];
    GPD_TRY(gpd_parse_float(f->name, arg, f->lo, f->hi, &a->fval[opt - OPT_FLOAT]));
    a->fset[opt - OPT_FLOAT] = 1;
    return 1;
  }
  switch (opt) {
  case 'a':
    GPD_TRY(gpd_cli_parse_alg(arg, &a->alg));
    a->alg_set = 1;
    return 1;
  case 'b':
    GPD_TRY(gpd_cli_parse_boundary(arg, &a->boundary));
    a->boundary_set = 1;
    return 1;
  case 'r': GPD_TRY(gpd_parse_int("restarts", arg, 1, 1000000, &a->restarts)); return 1;
  case 'n': GPD_TRY(gpd_parse_int("steps", arg, 0, 100000000, &a->steps)); return 1;
  case 's':
    GPD_TRY(gpd_parse_u64("seed", arg, &a->seed));
    a->seed_set = 1;
    return 1;
  case OPT_FIT_STEPS: GPD_TRY(gpd_parse_int("fit-steps", arg, 0, 100000000, &a->fit_steps)); return 1;
  case OPT_UNTRAINED_ARCH:
    if (strcmp(arg, "dcgan_tf") && strcmp(arg, "dcgan_torch"))
      return gpd_error("--untrained-arch: '%s' is not dcgan_tf or dcgan_torch", arg);
    a->untrained_arch = arg;
    return 1;
  case OPT_UNTRAINED_WIDTH: GPD_TRY(gpd_parse_int("untrained-width", arg, 1, 8192, &a->untrained_width)); return 1;
  case OPT_SCHEDULE:
    GPD_TRY(gpd_cli_parse_schedule(arg, &a->schedule));
    a->schedule_set = 1;
    return 1;
  case OPT_HALVING_AT: {
    gpd_solve_options t;
    GPD_TRY(gpd_solve_parse_halving("halving-at", arg, &t));
    a->n_halving = t.n_halving;
    memcpy(a->halving_at, t.halving_at, sizeof a->halving_at);
    a->halving_set = 1;
    return 1;
  }
  case OPT_KERNEL_SCALE:
    if (strcmp(arg, "unit") && strcmp(arg, "raw")) return gpd_error("--kernel-scale: '%s' is not unit or raw", arg);
    a->keep_kernel_scale = !strcmp(arg, "raw");
    return 1;
  case OPT_SELECT:
    if (strcmp(arg, "measurement") && strcmp(arg, "total"))
      return gpd_error("--select: '%s' is not measurement or total", arg);
    a->alg2_select_total = !strcmp(arg, "total");
    return 1;
  case OPT_INIT_IMAGE:
    if (strcmp(arg, "noise") && strcmp(arg, "blurry")) return gpd_error("--init-image: '%s' is not noise or blurry", arg);
    a->alg2_init_blurry = !strcmp(arg, "blurry");
    return 1;
  case OPT_AVERAGE_BEST: GPD_TRY(gpd_parse_int("average-best", arg, 1, 1000000, &a->average_best)); return 1;
  case OPT_CHECKPOINT_DIR:
    GPD_TRY(gpd_cli_check_output_dir("--checkpoint-dir", arg));
    a->checkpoint_dir = arg;
    return 1;
  case OPT_POLISH: GPD_TRY(gpd_parse_int("polish", arg, 0, 100000000, &a->polish_steps)); return 1;
  case OPT_CHECKPOINT_EVERY: GPD_TRY(gpd_parse_float("checkpoint-every", arg, 0, 1e9, &a->checkpoint_seconds)); return 1;
  case OPT_UNTRAINED_LATENT:
    GPD_TRY(gpd_parse_int("untrained-latent", arg, 1, 1 << 20, &a->untrained_latent));
    return 1;
  default: return 0;
  }
}

void gpd_cli_solve_apply(const gpd_cli_solve_args *a, gpd_solve_options *o) {
  gpd_solve_defaults(o, a->alg);
  o->boundary = a->boundary;
  if (a->seed_set) o->seed = a->seed;
  if (a->restarts > 0) o->restarts = (int)a->restarts;
  if (a->steps >= 0) o->steps = (int)a->steps;
  if (a->fit_steps >= 0) o->fit_steps = (int)a->fit_steps;
  if (a->untrained_width > 0) o->untrained_width = (int)a->untrained_width;
  if (a->untrained_latent > 0) o->untrained_latent = (int)a->untrained_latent;
  if (a->untrained_arch) o->untrained_arch = a->untrained_arch;
  o->checkpoint_dir = a->checkpoint_dir;
  if (a->checkpoint_seconds >= 0) o->checkpoint_seconds = a->checkpoint_seconds;
  if (a->schedule_set) o->schedule = a->schedule;
  o->keep_kernel_scale = a->keep_kernel_scale;
  o->alg2_select_total = a->alg2_select_total;
  o->alg2_init_blurry = a->alg2_init_blurry;
  if (a->average_best > 0) o->average_best = (int)a->average_best;
  if (a->polish_steps >= 0) o->polish_steps = (int)a->polish_steps;
  if (a->halving_set) {
    o->n_halving = a->n_halving;
    memcpy(o->halving_at, a->halving_at, sizeof o->halving_at);
  }
  for (int i = 0; i < N_FLOAT_OPTS; i++)
    if (a->fset[i]) *(float *)((char *)o + FLOAT_OPTS[i].offset) = (float)a->fval[i];
}

void gpd_cli_solve_usage(FILE *f) {
  fprintf(f,
          "algorithm:\n"
          "  -a, --alg A            naive | 1 | 2 | 3\n"
          "  -b, --boundary MODE    circular (the paper's) or linear (the blurry image is the valid part)\n"
          "  -r, --restarts N       random restarts, run as one batch (default 10)\n"
          "  -n, --steps N          iterations (default: naive 10000, 1 10000, 2 10000, 3 20000)\n"
          "  -s, --seed S           seed of latents, free image and Alg 3 weights (default 0)\n"
          GPD_CLI_KERNEL_SCALE_HELP GPD_CLI_AVERAGE_BEST_HELP);
  gpd_cli_solve_usage_schedule(f);
  gpd_cli_solve_usage_weights(f);
}

void gpd_cli_solve_usage_schedule(FILE *f) {
  gpd_solve_options d;
  gpd_solve_defaults(&d, GPD_ALG_1);
  char points[160] = "";
  size_t len = 0;
  for (int k = 0; k < d.n_halving && len < sizeof points; k++)
    len += (size_t)snprintf(points + len, sizeof points - len, "%s%g", k ? "," : "", (double)d.halving_at[k]);
  fprintf(f,
          "restart schedule (naive, 1, 2 and range projection; Algorithm 3 runs full):\n"
          "      --schedule S       full: every restart runs every step | halving: at each point\n"
          "                         the better half of each image's restarts still running (by\n"
          "                         the algorithm's measurement) goes on, the rest stop (default %s)\n"
          "      --halving-at F,... the points as fractions of --steps (default %s)\n",
          d.schedule == GPD_SCHEDULE_HALVING ? "halving" : "full", points);
}

void gpd_cli_solve_usage_weights(FILE *f) {
  fprintf(f,
          "naive and Algorithm 1 (gradient descent, step lr * exp(-t / lr-decay)):\n"
          "      --gamma G          |z_i|^2 weight (default 0.01; naive 0)\n"
          "      --lambda L         |z_k|^2 weight (default 0.01)\n"
          "      --lr X             step (default 0.01; naive 10: its loss is a mean over pixels)\n"
          "      --lr-decay T       (default 1000; 0 = constant)\n"
          "Algorithm 2 (Adam):\n"
          "      --tau T            range error weight, mean over pixels (default 100)\n"
          "      --zeta Z           in-range data term weight (default 1.0)\n"
          "      --free-weight F    free-image data term weight (default 0.5)\n"
          "      --rho R            TV weight on the free image (default 0.001)\n"
          "      --adam-lr X        Adam step (default 0.005)\n"
          "      --adam-lr-decay T  step adam-lr * exp(-t / T) (default 0: constant, the paper's)\n"
          "      --adam-lr-kernel X z_k's own Adam step (default 0: adam-lr, the paper's)\n"
          "      --adam-lr-anneal F the last fraction F of the steps anneal every Adam step\n"
          "                         linearly to 0 (default 0: none, the paper's)\n"
          "      --init-mean M, --init-std S   free image init N(M, S^2) (default 0.5, 0.1)\n"
          "      --init-image I     noise: N(M, S^2) as above (default, the paper's) | blurry:\n"
          "                         the blurry image + N(0, S^2) (circular boundary)\n"
          "      --select S         the loss that picks the best restart (and ranks them for\n"
          "                         halving): measurement, the free image's residual (the\n"
          "                         authors' code; default) | total, the whole objective\n"
          "      --polish N         then N Adam steps of a non-blind finish on each returned\n"
          "                         restart: its free image solved again with its kernel and\n"
          "                         range image fixed, data + polish-tau range error +\n"
          "                         polish-rho TV (default 0: none, the paper's)\n"
          "      --polish-tau T, --polish-rho R, --polish-lr X   its weights and Adam step\n"
          "                         (default 30, 0.0005, 0.002)\n"
          "      (the defaults are the paper's, for 10,000 steps; at ~2,000 steps --adam-lr 0.02\n"
          "      --tau 30 --select total lifted held-out faces most; on 16 of them fp32 0.3 dB\n"
          "      more than bf16, which is 1.4x faster on the cpu engine, --average-best 4\n"
          "      0.46 dB more than the best restart alone, and --polish 500 0.51 dB more:\n"
          "      EVALUATION.md)\n"
          "Algorithm 3 (Adam):\n"
          "      --nu N             TV weight on the image (default 0.001)\n"
          "      --kappa K          |z_k|^2 weight (default 0.001)\n"
          "      --fit-steps N      steps fitting the weights to the blurry image first (default 400)\n"
          "      --fit-lr X         their Adam step (default 0.001)\n"
          "      --lr-z X           Adam step of z_i, z_k (default 0.001)\n"
          "      --lr-w X           Adam step of the weights (default 0.0001)\n"
          "      --untrained-arch A dcgan_tf (default) | dcgan_torch\n"
          "      --untrained-width W, --untrained-latent L   (default 64, 100)\n"
          "      --checkpoint-dir D each restart saves its state in D when its fit ends and then\n"
          "                         every --checkpoint-every seconds (default 600); run the same\n"
          "                         command again to continue a killed run where it was saved\n"
          "                         (bit-identical on the same device); a restart's file goes\n"
          "                         when it ends\n");
}
