/* `gpdeblur deblur`: blind deblurring of one image with the paper's
 * algorithms (naive, 1, 2, 3), every weight an option. Progress on stderr,
 * one line of JSON on stdout at the end. */
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_solve.h"
#include "gpd/blur.h"
#include "gpd/common.h"
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
          "Prints one line of JSON on stdout: {\"alg\", \"chosen\", \"measurement\", \"total\",\n"
          "\"diverged\", \"seconds\", \"psnr\", \"ssim\"} (psnr / ssim with --truth, else null).\n\n"
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
          "  -d, --device D         cpu | cuda | auto (default auto)\n"
          GPD_CLI_PRECISION_HELP
          "memory and concurrency: restarts that do not fit the device's free memory run in\n"
          "groups one after another (the same result as one batch; GPD_MEMORY_LIMIT_MB caps the\n"
          "memory considered free); GPD_SOLVER_THREADS=N runs N groups (Alg 3: restarts) at once,\n"
          "each on its own CUDA stream (default: 1, Alg 3 on CUDA up to 8); GPD_SOLVER_GRAPHS=0\n"
          "turns the CUDA graph replay of iterations off.\n"
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
          "      --init-mean M, --init-std S   free image init N(M, S^2) (default 0.5, 0.1)\n"
          "Algorithm 3 (Adam):\n"
          "      --nu N             TV weight on the image (default 0.001)\n"
          "      --kappa K          |z_k|^2 weight (default 0.001)\n"
          "      --fit-steps N      steps fitting the weights to BLURRY first (default 400)\n"
          "      --fit-lr X         their Adam step (default 0.001)\n"
          "      --lr-z X           Adam step of z_i, z_k (default 0.001)\n"
          "      --lr-w X           Adam step of the weights (default 0.0001)\n"
          "      --untrained-arch A dcgan_tf (default) | dcgan_torch\n"
          "      --untrained-width W, --untrained-latent L   (default 64, 100)\n"
          "outputs:\n"
          "  -o, --output OUT.png   the deblurred image (required; the generator's size)\n"
          "  -k, --kernel-out K.kernel   the kernel estimate (exact) and K.png\n"
          "      --range-out R.png  G_I(z_i) of the chosen restart (differs from OUT for Alg 2)\n"
          "      --log FILE.csv     per-restart measurement and total losses\n"
          "      --log-every N      log period in steps (default 100)\n"
          "  -t, --truth SHARP.png  report PSNR and SSIM against the sharp image\n"
          "  -h, --help             this help\n",
          gpd_cli_weights_dir());
}

/* Float options: written into gpd_solve_options after its defaults for the
 * chosen algorithm. */
typedef struct float_opt {
  const char *name;
  size_t offset;
  double lo, hi;
} float_opt;

#define FOPT(n, field, lo, hi) {n, offsetof(gpd_solve_options, field), lo, hi}
static const float_opt FLOAT_OPTS[] = {
    FOPT("gamma", gamma, 0, 1e9),      FOPT("lambda", lambda, 0, 1e9),       FOPT("lr", lr, 1e-30, 1e9),
    FOPT("lr-decay", lr_decay, 0, 1e12), FOPT("tau", tau, 0, 1e12),          FOPT("zeta", zeta, 0, 1e12),
    FOPT("free-weight", free_weight, 0, 1e12), FOPT("rho", rho, 0, 1e12),    FOPT("adam-lr", adam_lr, 1e-30, 1e9),
    FOPT("init-mean", init_mean, -1e6, 1e6), FOPT("init-std", init_std, 0, 1e6), FOPT("nu", nu, 0, 1e12),
    FOPT("kappa", kappa, 0, 1e12),     FOPT("fit-lr", fit_lr, 1e-30, 1e9),   FOPT("lr-z", lr_z, 1e-30, 1e9),
    FOPT("lr-w", lr_w, 1e-30, 1e9),
};
#define N_FLOAT_OPTS (int)(sizeof FLOAT_OPTS / sizeof FLOAT_OPTS[0])

enum {
  OPT_FLOAT = 1000, /* + index into FLOAT_OPTS */
  OPT_IMAGE_GEN = 2000,
  OPT_BLUR_GEN,
  OPT_FIT_STEPS,
  OPT_RANGE_OUT,
  OPT_LOG,
  OPT_LOG_EVERY,
  OPT_UNTRAINED_ARCH,
  OPT_UNTRAINED_WIDTH,
  OPT_UNTRAINED_LATENT,
  OPT_PRECISION
};

static int parse_alg(const char *text, gpd_algorithm *alg) {
  if (!strcmp(text, "naive")) *alg = GPD_ALG_NAIVE;
  else if (!strcmp(text, "1")) *alg = GPD_ALG_1;
  else if (!strcmp(text, "2")) *alg = GPD_ALG_2;
  else if (!strcmp(text, "3")) *alg = GPD_ALG_3;
  else return gpd_error("--alg: '%s' is not naive, 1, 2 or 3", text);
  return 0;
}

static const char *alg_text(gpd_algorithm a) {
  return a == GPD_ALG_NAIVE ? "naive" : a == GPD_ALG_1 ? "1" : a == GPD_ALG_2 ? "2" : "3";
}

/* PSNR / SSIM of the result against the sharp image: the same size, or the
 * solver's y-aligned window of a larger (linear boundary) result. */
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

int gpd_cmd_deblur(int argc, char **argv) {
  struct option opts[N_FLOAT_OPTS + 24];
  int no = 0;
  static const struct option fixed[] = {
      {"alg", required_argument, 0, 'a'},       {"image-gen", required_argument, 0, OPT_IMAGE_GEN},
      {"blur-gen", required_argument, 0, OPT_BLUR_GEN}, {"boundary", required_argument, 0, 'b'},
      {"restarts", required_argument, 0, 'r'},  {"steps", required_argument, 0, 'n'},
      {"seed", required_argument, 0, 's'},      {"device", required_argument, 0, 'd'},
      {"fit-steps", required_argument, 0, OPT_FIT_STEPS}, {"output", required_argument, 0, 'o'},
      {"kernel-out", required_argument, 0, 'k'}, {"range-out", required_argument, 0, OPT_RANGE_OUT},
      {"log", required_argument, 0, OPT_LOG},   {"log-every", required_argument, 0, OPT_LOG_EVERY},
      {"truth", required_argument, 0, 't'},     {"untrained-arch", required_argument, 0, OPT_UNTRAINED_ARCH},
      {"untrained-width", required_argument, 0, OPT_UNTRAINED_WIDTH},
      {"untrained-latent", required_argument, 0, OPT_UNTRAINED_LATENT},
      {"precision", required_argument, 0, OPT_PRECISION},
      {"help", no_argument, 0, 'h'}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) opts[no++] = fixed[i];
  for (int i = 0; i < N_FLOAT_OPTS; i++) opts[no++] = (struct option){FLOAT_OPTS[i].name, required_argument, 0, OPT_FLOAT + i};
  opts[no] = (struct option){0, 0, 0, 0};

  gpd_algorithm alg = GPD_ALG_1;
  gpd_precision precision = GPD_PRECISION_FP32;
  gpd_boundary boundary = GPD_BOUNDARY_CIRCULAR;
  const char *image_gen = NULL, *blur_gen = NULL, *out = NULL, *kernel_out = NULL, *range_out = NULL;
  const char *log_path = NULL, *truth_path = NULL, *device = "auto", *untrained_arch = NULL;
  long restarts = -1, steps = -1, fit_steps = -1, log_every = 100, untrained_width = -1, untrained_latent = -1;
  uint64_t seed = 0;
  double fval[N_FLOAT_OPTS];
  int fset[N_FLOAT_OPTS] = {0};
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":a:b:r:n:s:d:o:k:t:h", opts, NULL)) != -1) {
    int bad = 0;
    if (opt >= OPT_FLOAT && opt < OPT_FLOAT + N_FLOAT_OPTS) {
      const float_opt *f = &FLOAT_OPTS[opt - OPT_FLOAT];
      bad = gpd_parse_float(f->name, optarg, f->lo, f->hi, &fval[opt - OPT_FLOAT]);
      fset[opt - OPT_FLOAT] = 1;
      if (bad) return gpd_cli_fail(CMD);
      continue;
    }
    switch (opt) {
    case 'a': bad = parse_alg(optarg, &alg); break;
    case OPT_IMAGE_GEN: image_gen = optarg; break;
    case OPT_BLUR_GEN: blur_gen = optarg; break;
    case 'b':
      if (!strcmp(optarg, "circular")) boundary = GPD_BOUNDARY_CIRCULAR;
      else if (!strcmp(optarg, "linear")) boundary = GPD_BOUNDARY_LINEAR;
      else bad = gpd_error("--boundary: '%s' is not circular or linear", optarg);
      break;
    case 'r': bad = gpd_parse_int("restarts", optarg, 1, 1000000, &restarts); break;
    case 'n': bad = gpd_parse_int("steps", optarg, 0, 100000000, &steps); break;
    case 's': bad = gpd_parse_u64("seed", optarg, &seed); break;
    case 'd': device = optarg; break;
    case OPT_FIT_STEPS: bad = gpd_parse_int("fit-steps", optarg, 0, 100000000, &fit_steps); break;
    case 'o': out = optarg; break;
    case 'k': kernel_out = optarg; break;
    case OPT_RANGE_OUT: range_out = optarg; break;
    case OPT_LOG: log_path = optarg; break;
    case OPT_LOG_EVERY: bad = gpd_parse_int("log-every", optarg, 1, 100000000, &log_every); break;
    case 't': truth_path = optarg; break;
    case OPT_UNTRAINED_ARCH:
      if (strcmp(optarg, "dcgan_tf") && strcmp(optarg, "dcgan_torch"))
        bad = gpd_error("--untrained-arch: '%s' is not dcgan_tf or dcgan_torch", optarg);
      untrained_arch = optarg;
      break;
    case OPT_UNTRAINED_WIDTH: bad = gpd_parse_int("untrained-width", optarg, 1, 8192, &untrained_width); break;
    case OPT_UNTRAINED_LATENT: bad = gpd_parse_int("untrained-latent", optarg, 1, 1 << 20, &untrained_latent); break;
    case OPT_PRECISION: bad = gpd_cli_parse_precision(optarg, &precision); break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (argc - optind != 1) {
    if (argc - optind > 1)
      fprintf(stderr, "gpdeblur %s: one blurry image expected, got '%s' and '%s'; see 'gpdeblur %s --help'\n", CMD,
              argv[optind], argv[optind + 1], CMD);
    else fprintf(stderr, "gpdeblur %s: missing the blurry image; see 'gpdeblur %s --help'\n", CMD, CMD);
    return 2;
  }
  const char *blurry_path = argv[optind];
  if (!out) {
    gpd_error("-o OUT.png is required");
    return gpd_cli_fail(CMD);
  }
  if (kernel_out && alg == GPD_ALG_NAIVE) {
    gpd_error("--kernel-out: naive deblurring estimates no kernel");
    return gpd_cli_fail(CMD);
  }
  if (kernel_out) {
    /* the kernel's picture goes beside it as K.png: never over another output */
    char kernel_png[4096];
    gpd_path_with_ext(kernel_out, ".png", kernel_png, sizeof kernel_png);
    if (!strcmp(kernel_png, out) || (range_out && !strcmp(kernel_png, range_out)) || !strcmp(kernel_out, out)) {
      gpd_error("--kernel-out %s would write its picture %s over another output; name it differently", kernel_out,
                kernel_png);
      return gpd_cli_fail(CMD);
    }
  }
  if (image_gen && alg == GPD_ALG_3) {
    gpd_error("--image-gen: Algorithm 3 builds its own untrained generator (see --untrained-arch)");
    return gpd_cli_fail(CMD);
  }

  gpd_solve_options o;
  gpd_solve_defaults(&o, alg);
  o.boundary = boundary;
  o.seed = seed;
  if (restarts > 0) o.restarts = (int)restarts;
  if (steps >= 0) o.steps = (int)steps;
  if (fit_steps >= 0) o.fit_steps = (int)fit_steps;
  if (untrained_width > 0) o.untrained_width = (int)untrained_width;
  if (untrained_latent > 0) o.untrained_latent = (int)untrained_latent;
  if (untrained_arch) o.untrained_arch = untrained_arch;
  for (int i = 0; i < N_FLOAT_OPTS; i++)
    if (fset[i]) *(float *)((char *)&o + FLOAT_OPTS[i].offset) = (float)fval[i];

  gpd_image y = {0}, truth = {0};
  gpd_net gi = {0}, gk = {0};
  int have_gi = 0, have_gk = 0, rc = 1;
  gpd_engine *e = NULL;
  FILE *csv = NULL;
  gpd_solve_result res = {0};
  char path[4096], kpath[4096];
  if (gpd_image_load(&y, blurry_path, 0) != 0) goto fail;
  if (truth_path && gpd_image_load(&truth, truth_path, y.c) != 0) goto fail;
  if (!(e = gpd_engine_create(device, precision))) goto fail;

  /* the blur generator first: the linear boundary's image size needs K */
  if (alg != GPD_ALG_NAIVE) {
    if (!blur_gen) {
      if (gpd_cli_default_weights("blur_vae.safetensors", "blur generator", kpath, sizeof kpath) != 0) goto fail;
      blur_gen = kpath;
    }
    if (gpd_cli_load_generator(&gk, e, blur_gen, 1) != 0) goto fail;
    have_gk = 1;
  }
  if (alg != GPD_ALG_3) {
    if (!image_gen) {
      int extra = boundary == GPD_BOUNDARY_LINEAR ? (have_gk ? gk.out_h - 1 : 27) : 0;
      const char *file = gpd_cli_default_image_generator(y.c, y.h + extra, y.w + extra);
      if (!file) {
        gpd_error("no shipped image generator makes %dx%dx%d images (%s boundary): the shipped ones make 64x64x3 "
                  "(dcgan_celeba64) and 32x32x3 (svhn_vae); pass --image-gen FILE",
                  y.h + extra, y.w + extra, y.c, boundary == GPD_BOUNDARY_LINEAR ? "linear" : "circular");
        goto fail;
      }
      if (gpd_cli_default_weights(file, "image generator", path, sizeof path) != 0) goto fail;
      image_gen = path;
    }
    if (gpd_cli_load_generator(&gi, e, image_gen, 0) != 0) goto fail;
    have_gi = 1;
  }
  if (log_path && !(csv = fopen(log_path, "w"))) {
    gpd_error("cannot write the log %s", log_path);
    goto fail;
  }

  if (gpd_cli_report_plan(e, &y, have_gi ? &gi : NULL, have_gk ? &gk : NULL, &o) != 0) goto fail;
  gpd_cli_monitor mon;
  gpd_cli_monitor_attach(&mon, &o, "deblur", csv, log_path ? (int)log_every : 0);
  int solved = gpd_solve(e, &y, have_gi ? &gi : NULL, have_gk ? &gk : NULL, &o, &res);
  gpd_cli_monitor_finish(&mon);
  if (solved != 0) goto fail;

  double psnr = NAN, ssim = NAN;
  if (truth_path && compare_truth(&res.image, &truth, &psnr, &ssim) != 0) goto fail;
  if (gpd_image_save_png(&res.image, out) != 0) goto fail;
  if (kernel_out && res.kernel && gpd_kernel_save_both(kernel_out, res.kernel, res.ksize) != 0) goto fail;
  if (range_out && gpd_image_save_png(&res.range_image, range_out) != 0) goto fail;

  printf("{\"alg\":\"%s\",\"chosen\":%d,\"measurement\":", alg_text(alg), res.chosen);
  gpd_cli_json_number(stdout, res.measurement);
  printf(",\"total\":");
  gpd_cli_json_number(stdout, res.total);
  printf(",\"diverged\":[");
  for (int r = 0, first = 1; r < res.restarts; r++)
    if (res.diverged_at[r] != -1) {
      printf("%s%d", first ? "" : ",", r);
      first = 0;
    }
  printf("],\"seconds\":");
  gpd_cli_json_number(stdout, res.seconds);
  printf(",\"psnr\":");
  gpd_cli_json_number(stdout, psnr);
  printf(",\"ssim\":");
  gpd_cli_json_number(stdout, ssim);
  printf("}\n");
  rc = 0;
fail:
  if (rc) gpd_cli_fail(CMD);
  if (csv && fclose(csv) != 0 && !rc) rc = 1;
  gpd_solve_result_free(&res);
  if (have_gi) gpd_net_free(&gi);
  if (have_gk) gpd_net_free(&gk);
  gpd_image_free(&y);
  gpd_image_free(&truth);
  if (e) gpd_engine_destroy(e);
  return rc;
}
