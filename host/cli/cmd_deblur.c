/* `gpdeblur deblur`: blind deblurring of one image with the paper's
 * algorithms (naive, 1, 2, 3), every weight an option. Progress on stderr,
 * one line of JSON on stdout at the end. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_check.h"
#include "cli_solve.h"
#include "cli_solve_options.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/eval.h"
#include "gpd/image.h"
#include "gpd/metrics.h"
#include "gpd/solve.h"

static const char *CMD = "deblur";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur deblur BLURRY.png -o OUT.png [options]\n\n"
          "Blind deblurring with deep generative priors (Asim, Shamshad, Ahmed): searches the\n"
          "latent spaces of an image generator and a blur generator for a sharp image and a\n"
          "kernel that explain BLURRY. Restarts run as one batch; the best one is returned.\n"
          "Prints one line of JSON on stdout: {\"alg\", \"chosen\", \"averaged\" (restarts in the\n"
          "result: --average-best), \"measurement\", \"total\",\n"
          "\"diverged\", \"restart_iterations\" (iterations run, summed over the restarts),\n"
          "\"seconds\", \"psnr\", \"ssim\", \"graph_launches\", \"graph_capture_failures\"}\n"
          "(psnr / ssim with --truth, else null; iterations replayed from CUDA graphs, and captures\n"
          "that failed: their cause goes to stderr).\n\n"
          "algorithm and generators:\n"
          "  -a, --alg A            naive | 1 | 2 | 3 (default 1)\n"
          "                           naive: closest image to BLURRY in the generator's range (eq. 4)\n"
          "                           1: image and kernel strictly in the generators' ranges\n"
          "                           2: a free image tied to the range, with TV (authors' weights)\n"
          "                           3: an untrained DCGAN fitted to BLURRY (natural images)\n"
          "      --image-gen FILE   image generator (.safetensors: dcgan_tf, dcgan_torch, svhn_vae);\n"
          "                         default by size: weights/dcgan_celeba64.safetensors (64x64x3)\n"
          "                         or weights/svhn_vae.safetensors (32x32x3)\n"
          "      --blur-gen FILE    blur VAE (default weights/blur_vae.safetensors)\n"
          "                         (weights folder: $GPD_WEIGHTS_DIR, else %s)\n"
          "  -b, --boundary MODE    circular (default: the generator makes BLURRY's size) or\n"
          "                         linear (BLURRY is the valid part: the generator's size - K + 1,\n"
          "                         e.g. 37x37 for 64x64 generators and 28x28 kernels)\n"
          "  -r, --restarts N       random restarts (default 10)\n"
          "  -n, --steps N          iterations (default: naive 10000, 1 10000, 2 10000, 3 20000)\n"
          "  -s, --seed S           seed of latents, free image and Alg 3 weights (default 0)\n"
          GPD_CLI_KERNEL_SCALE_HELP GPD_CLI_AVERAGE_BEST_HELP
          "  -d, --device D         ref | cpu | cuda | auto (default auto)\n"
          GPD_CLI_PRECISION_HELP GPD_CLI_THREADS_HELP
          "memory and concurrency: restarts that do not fit the device's free memory run in\n"
          "groups one after another (the same result as one batch; GPD_MEMORY_LIMIT_MB caps the\n"
          "memory considered free); GPD_SOLVER_THREADS=N runs N groups (Alg 3: restarts) at once,\n"
          "each on its own CUDA stream (default: 1, Alg 3 on CUDA up to 8); GPD_SOLVER_GRAPHS=0\n"
          "turns the CUDA graph replay of iterations off.\n",
          gpd_cli_weights_dir());
  gpd_cli_solve_usage_schedule(f);
  gpd_cli_solve_usage_weights(f);
  fprintf(f,
          "outputs:\n"
          "  -o, --output OUT.png   the deblurred image (required; the generator's size)\n"
          "  -k, --kernel-out K.kernel   the kernel estimate (exact) and K.png\n"
          "      --range-out R.png  G_I(z_i) of the chosen restart (differs from OUT for Alg 2)\n"
          "      --restarts-out DIR every restart that ran to the end, best first (naive, 1, 2):\n"
          "                         DIR/restarts.csv (rank, restart, measurement, total, psnr,\n"
          "                         ssim, files) and per rank NN.png, NN_range.png (Alg 2) and\n"
          "                         NN_kernel.kernel with NN_kernel.png, in the unit kernel scale\n"
          "      --log FILE.csv     per-restart measurement and total losses\n"
          "      --log-every N      log period in steps (default 100)\n"
          "  -t, --truth SHARP.png  report PSNR and SSIM against the sharp image\n"
          "  -h, --help             this help\n");
}

enum {
  OPT_IMAGE_GEN = 2000, /* below GPD_CLI_SOLVE_OPT_BASE: the solver's options have theirs */
  OPT_BLUR_GEN,
  OPT_RANGE_OUT,
  OPT_RESTARTS_OUT,
  OPT_LOG,
  OPT_LOG_EVERY,
  OPT_PRECISION,
  OPT_THREADS
};

/* PSNR / SSIM of the result against the sharp image (y's size, checked
 * before the solve): the result itself, or the solver's y-aligned window of
 * a larger (linear boundary) result. */
static int compare_truth(const gpd_image *out, const gpd_image *truth, double *psnr, double *ssim) {
  gpd_image win = {0};
  const gpd_image *a = out;
  if (out->c != truth->c) return gpd_error("--truth has %d channels, the result %d", truth->c, out->c);
  if (out->h != truth->h || out->w != truth->w) {
    if (truth->h > out->h || truth->w > out->w)
      return gpd_error("--truth is %dx%d but the deblurred image is %dx%d", truth->h, truth->w, out->h, out->w);
    GPD_TRY(gpd_solve_window(out, truth->h, truth->w, &win));
    a = &win;
  }
  *psnr = gpd_psnr(a->data, truth->data, truth->c, truth->h, truth->w);
  *ssim = gpd_ssim(a->data, truth->data, truth->c, truth->h, truth->w);
  gpd_image_free(&win);
  return 0;
}

/* What the command line asks for. */
typedef struct deblur_args {
  gpd_cli_solve_args sa;
  gpd_precision precision;
  int threads; /* --threads (0: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS) */
  const char *blurry, *image_gen, *blur_gen, *out, *kernel_out, *range_out, *log_path, *truth_path, *device;
  const char *restarts_out; /* --restarts-out DIR */
  long log_every;
} deblur_args;

/* The inputs, read and checked before any work. */
typedef struct deblur_inputs {
  gpd_image y, truth;
} deblur_inputs;

/* argv -> a: 0, -1 after --help, or the exit status of a usage error (its
 * line printed). */
static int parse_args(int argc, char **argv, deblur_args *a) {
  static const struct option own[] = {
      {"image-gen", required_argument, 0, OPT_IMAGE_GEN}, {"blur-gen", required_argument, 0, OPT_BLUR_GEN},
      {"device", required_argument, 0, 'd'},             {"output", required_argument, 0, 'o'},
      {"kernel-out", required_argument, 0, 'k'},         {"range-out", required_argument, 0, OPT_RANGE_OUT},
      {"log", required_argument, 0, OPT_LOG},            {"log-every", required_argument, 0, OPT_LOG_EVERY},
      {"truth", required_argument, 0, 't'},              {"precision", required_argument, 0, OPT_PRECISION},
      {"threads", required_argument, 0, OPT_THREADS},    {"restarts-out", required_argument, 0, OPT_RESTARTS_OUT},
      {"help", no_argument, 0, 'h'}};
  const int n_own = (int)(sizeof own / sizeof own[0]);
  struct option opts[sizeof own / sizeof own[0] + GPD_CLI_SOLVE_MAX_OPTS + 1];
  int no = 0;
  for (int i = 0; i < n_own; i++) opts[no++] = own[i];
  gpd_cli_solve_options_add(opts, &no);
  opts[no] = (struct option){0, 0, 0, 0};

  memset(a, 0, sizeof *a);
  gpd_cli_solve_args_init(&a->sa, GPD_ALG_1);
  a->precision = GPD_PRECISION_FP32;
  a->device = "auto";
  a->log_every = 100;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":d:o:k:t:h" GPD_CLI_SOLVE_SHORTOPTS, opts, NULL)) != -1) {
    const int solver = gpd_cli_solve_option(&a->sa, opt, optarg);
    if (solver < 0) return gpd_cli_fail(CMD);
    if (solver > 0) continue;
    int bad = 0;
    switch (opt) {
    case OPT_IMAGE_GEN: a->image_gen = optarg; break;
    case OPT_BLUR_GEN: a->blur_gen = optarg; break;
    case 'd': a->device = optarg; break;
    case 'o': a->out = optarg; break;
    case 'k': a->kernel_out = optarg; break;
    case OPT_RANGE_OUT: a->range_out = optarg; break;
    case OPT_RESTARTS_OUT: a->restarts_out = optarg; break;
    case OPT_LOG: a->log_path = optarg; break;
    case OPT_LOG_EVERY: bad = gpd_parse_int("log-every", optarg, 1, 100000000, &a->log_every); break;
    case 't': a->truth_path = optarg; break;
    case OPT_PRECISION: bad = gpd_cli_parse_precision(optarg, &a->precision); break;
    case OPT_THREADS: bad = gpd_cli_parse_threads(optarg, &a->threads); break;
    case 'h': usage(stdout); return -1;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  const int npos = gpd_cli_one_positional(CMD, argc, argv, "blurry image");
  if (npos) return npos;
  a->blurry = argv[optind];
  return 0;
}

/* The options agree, every output can be written and the inputs read and
 * fit together; 0 or -1 (error recorded). On success `in` holds the
 * inputs. */
static int validate_args(const deblur_args *a, deblur_inputs *in) {
  memset(in, 0, sizeof *in);
  const gpd_algorithm alg = a->sa.alg;
  if (!a->out) return gpd_error("-o OUT.png is required");
  if (a->kernel_out && alg == GPD_ALG_NAIVE) return gpd_error("--kernel-out: naive deblurring estimates no kernel");
  if (a->image_gen && alg == GPD_ALG_3)
    return gpd_error("--image-gen: Algorithm 3 builds its own untrained generator (see --untrained-arch)");
  gpd_solve_options o;
  gpd_cli_solve_apply(&a->sa, &o);
  if (a->restarts_out) {
    if (alg == GPD_ALG_3) return gpd_error("--restarts-out: Algorithm 3 keeps only the best restart's outputs");
    if (o.keep_kernel_scale)
      return gpd_error("--restarts-out writes every restart at --kernel-scale unit: it cannot keep the raw scale");
    o.keep_restarts = 1;
  }
  GPD_TRY(gpd_solve_check_options(&o));
  GPD_TRY(gpd_cli_check_output("-o", a->out));
  if (a->restarts_out) GPD_TRY(gpd_cli_check_output_dir("--restarts-out", a->restarts_out));
  if (a->kernel_out) {
    /* the kernel's picture goes beside it as K.png: never over another output */
    char kernel_png[4096];
    gpd_path_with_ext(a->kernel_out, ".png", kernel_png, sizeof kernel_png);
    if (!strcmp(kernel_png, a->out) || (a->range_out && !strcmp(kernel_png, a->range_out)) ||
        !strcmp(a->kernel_out, a->out))
      return gpd_error("--kernel-out %s would write its picture %s over another output; name it differently",
                       a->kernel_out, kernel_png);
    GPD_TRY(gpd_cli_check_output("--kernel-out", a->kernel_out));
  }
  if (a->range_out) GPD_TRY(gpd_cli_check_output("--range-out", a->range_out));
  if (a->log_path) GPD_TRY(gpd_cli_check_output("--log", a->log_path));
  if (a->restarts_out) {
    /* the restarts' NN.png, NN_kernel.* and restarts.csv: never over another output */
    const char *opts[] = {"-o", "--kernel-out", "--range-out", "--log"};
    const char *paths[] = {a->out, a->kernel_out, a->range_out, a->log_path};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
      if (paths[i]) GPD_TRY(gpd_cli_check_not_inside(opts[i], paths[i], "--restarts-out", a->restarts_out));
  }
  GPD_TRY(gpd_image_load(&in->y, a->blurry, 0));
  if (a->truth_path) {
    /* the result is compared where it explains y: y's size (circular) or
     * the window of y inside the larger linear-boundary result */
    if (gpd_image_load(&in->truth, a->truth_path, in->y.c) != 0) return -1;
    if (in->truth.h != in->y.h || in->truth.w != in->y.w)
      return gpd_error("--truth '%s' is %dx%d but the blurry image '%s' is %dx%d: not the same scene", a->truth_path,
                       in->truth.h, in->truth.w, a->blurry, in->y.h, in->y.w);
  }
  return 0;
}

static void inputs_free(deblur_inputs *in) {
  gpd_image_free(&in->y);
  gpd_image_free(&in->truth);
}

/* --restarts-out DIR: every kept restart's image (Alg 2: and range image)
 * and kernel, named by its rank, and DIR/restarts.csv listing them (PSNR /
 * SSIM with --truth). 0 or -1 (error recorded). */
static int write_restarts(const char *dir, const gpd_solve_result *res, gpd_algorithm alg, const gpd_image *truth) {
  GPD_TRY(gpd_cli_make_output_dir("--restarts-out", dir));
  char csv[4096], path[4096], name[64], range_name[64], kernel_name[64];
  snprintf(csv, sizeof csv, "%s/restarts.csv", dir);
  FILE *f = fopen(csv, "w");
  if (!f) return gpd_error("--restarts-out: cannot write '%s': %s", csv, strerror(errno));
  fprintf(f, "rank,restart,measurement,total,psnr,ssim,image,range_image,kernel\n");
  int digits = 2; /* at most 7: restarts <= 10^6 */
  for (int n = res->n_ranked - 1; n >= 100; n /= 10) digits++;
  int rc = 0;
  for (int j = 0; j < res->n_ranked && !rc; j++) {
    const gpd_solve_restart *r = &res->ranked[j];
    double psnr = NAN, ssim = NAN;
    if (truth->data && compare_truth(&r->image, truth, &psnr, &ssim) != 0) rc = -1;
    char rank[32]; /* j zero-padded to the width of the last rank (at least 2: 00, 01, ...) */
    snprintf(rank, sizeof rank, "%0*d", digits & 15, j);
    snprintf(name, sizeof name, "%s.png", rank);
    range_name[0] = kernel_name[0] = 0;
    if (alg == GPD_ALG_2) snprintf(range_name, sizeof range_name, "%s_range.png", rank);
    if (r->kernel) snprintf(kernel_name, sizeof kernel_name, "%s_kernel.kernel", rank);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!rc) rc = gpd_image_save_png(&r->image, path);
    snprintf(path, sizeof path, "%s/%s", dir, range_name);
    if (!rc && range_name[0]) rc = gpd_image_save_png(&r->range_image, path);
    snprintf(path, sizeof path, "%s/%s", dir, kernel_name);
    if (!rc && kernel_name[0]) rc = gpd_kernel_save_both(path, r->kernel, r->ksize);
    fprintf(f, "%d,%d,%.9g,%.9g,", j, r->restart, (double)r->measurement, (double)r->total);
    if (isnan(psnr)) fprintf(f, ",,");
    else fprintf(f, "%.9g,%.9g,", psnr, ssim);
    fprintf(f, "%s,%s,%s\n", name, range_name, kernel_name);
  }
  if (fclose(f) != 0 && !rc) rc = gpd_error("--restarts-out: cannot write '%s': %s", csv, strerror(errno));
  return rc;
}

/* The solve and the outputs. 0 or -1 (error recorded). */
static int run(const deblur_args *a, const deblur_inputs *in) {
  const gpd_algorithm alg = a->sa.alg;
  gpd_solve_options o;
  gpd_cli_solve_apply(&a->sa, &o);
  o.keep_restarts = a->restarts_out != NULL;
  gpd_net gi = {0}, gk = {0};
  int have_gi = 0, have_gk = 0, rc = -1;
  gpd_engine *e = NULL;
  gpd_solve_result res = {0};
  char path[4096], kpath[4096];
  if (!(e = gpd_cli_engine_create(a->device, a->precision, a->threads))) goto done;

  /* the blur generator first: the linear boundary's image size needs K */
  if (alg != GPD_ALG_NAIVE) {
    if (gpd_cli_open_generator(&gk, e, a->blur_gen, "blur_vae.safetensors", 1, kpath, sizeof kpath) != 0) goto done;
    have_gk = 1;
  }
  if (alg != GPD_ALG_3) {
    const char *file = NULL;
    if (!a->image_gen) {
      const int linear = o.boundary == GPD_BOUNDARY_LINEAR;
      const int extra = linear ? (have_gk ? gk.out_h : GPD_KERNEL_SIZE) - 1 : 0;
      if (gpd_cli_pick_image_generator(in->y.c, in->y.h + extra, in->y.w + extra, linear ? "linear" : "circular",
                                       &file) != 0)
        goto done;
    }
    if (gpd_cli_open_generator(&gi, e, a->image_gen, file, 0, path, sizeof path) != 0) goto done;
    have_gi = 1;
  }
  if (gpd_cli_solve_logged(e, &in->y, have_gi ? &gi : NULL, have_gk ? &gk : NULL, &o, "deblur", a->log_path,
                           (int)a->log_every, &res) != 0)
    goto done;

  double psnr = NAN, ssim = NAN;
  if (a->truth_path && compare_truth(&res.image, &in->truth, &psnr, &ssim) != 0) goto done;
  if (gpd_image_save_png(&res.image, a->out) != 0) goto done;
  if (a->kernel_out && res.kernel && gpd_kernel_save_both(a->kernel_out, res.kernel, res.ksize) != 0) goto done;
  if (a->range_out && gpd_image_save_png(&res.range_image, a->range_out) != 0) goto done;
  if (a->restarts_out && write_restarts(a->restarts_out, &res, alg, &in->truth) != 0) goto done;

  printf("{\"alg\":\"%s\",\"chosen\":%d,\"averaged\":%d", gpd_eval_alg_name(alg), res.chosen, res.averaged);
  gpd_cli_json_field(stdout, "measurement", res.measurement);
  gpd_cli_json_field(stdout, "total", res.total);
  gpd_cli_json_diverged(stdout, &res);
  printf(",\"restart_iterations\":%ld", res.restart_iterations);
  gpd_cli_json_field(stdout, "seconds", res.seconds);
  gpd_cli_json_field(stdout, "psnr", psnr);
  gpd_cli_json_field(stdout, "ssim", ssim);
  gpd_cli_json_graphs(stdout, &res);
  printf("}\n");
  rc = 0;
done:
  gpd_solve_result_free(&res);
  if (have_gi) gpd_net_free(&gi);
  if (have_gk) gpd_net_free(&gk);
  if (e) gpd_engine_destroy(e);
  return rc;
}

/* parse, validate, then run (work = 1) or stop there (work = 0, the
 * error recorded and not printed). */
static int deblur_command(int argc, char **argv, int work) {
  deblur_args a;
  deblur_inputs in;
  const int st = parse_args(argc, argv, &a);
  if (st) return st < 0 ? 0 : st;
  int rc = validate_args(&a, &in);
  if (!rc && work) rc = run(&a, &in);
  inputs_free(&in);
  return !rc ? 0 : work ? gpd_cli_fail(CMD) : 1;
}

int gpd_cmd_deblur_check(int argc, char **argv) { return deblur_command(argc, argv, 0); }
int gpd_cmd_deblur(int argc, char **argv) { return deblur_command(argc, argv, 1); }
