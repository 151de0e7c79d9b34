/* gpdeblur evalgen: measured quality of a trained generator on held-out
 * data: reconstruction error of a VAE (encoder mean, decoded) and range
 * error of any generator, by the solver's range projection (what `gpdeblur
 * project` runs, item by item with the same options). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_check.h"
#include "cli_solve.h"
#include "cli_solve_options.h"
#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/image.h"
#include "gpd/solve.h"
#include "gpd/train.h"
#include "gpd/weights.h"

static const char *CMD = "evalgen";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur evalgen --weights FILE.safetensors [data] [options]\n"
          "\n"
          "Measured quality of a generator on held-out data:\n"
          "  recon (VAEs): decoder(encoder mean) against each item;\n"
          "  range: the range projection of each item, exactly as 'gpdeblur project'\n"
          "         computes it with the same options (the paper's range error, eq. 13):\n"
          "         an item's range PSNR is the one project prints for it.\n"
          "Prints the mean relative l2 error ||x - x_hat|| / ||x||, the mean PSNR\n"
          "(kernels: peak = the kernel's maximum; images: peak 1) and the mean SSIM\n"
          "(images).\n"
          "\n"
          "data (one of):\n"
          "  --kernel-seeds A:B     motion kernels from seeds A..B-1 (default for blur_vae:\n"
          "                         1000000000:1000002000, the first 2,000 held-out seeds)\n"
          "  --kernel-lengths A:B   trajectory lengths (default 5:28)\n"
          "  --data DIR             an image folder, with --range A:B (files numbered A..B)\n"
          "                         or --celeba-range A:B (and the CelebA crop 54 -> 64);\n"
          "                         held-out faces: --celeba-range 8001:8100\n"
          "range projection (the options and defaults of 'gpdeblur project'):\n" GPD_CLI_RANGE_HELP
          "other options:\n"
          "  --batch B              items per encoder pass (reconstruction; default 200)\n"
          "  --csv FILE             one row per item: item (0-based), recon_rel_l2,\n"
          "                         recon_psnr, range_rel_l2, range_psnr, range_ssim,\n"
          "                         range_mse, chosen (restart)\n"
          "  -d, --device cpu|ref|cuda|auto (default auto)\n" GPD_CLI_PRECISION_HELP GPD_CLI_THREADS_HELP);
  gpd_cli_solve_usage_schedule(f);
}

/* What the command line asks for. */
typedef struct evalgen_args {
  const char *weights, *data, *device, *csv;
  int threads; /* --threads (0: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS) */
  long first, last, klen_min, klen_max;
  uint64_t ka, kb; /* kernel seeds ka .. kb-1 */
  int celeba, have_kseeds, have_klens, have_range;
  gpd_precision precision;
  gpd_gen_eval_options o; /* o.range: the range projection's solver options */
} evalgen_args;

enum { O_WEIGHTS = 256, O_KSEEDS, O_KLENS, O_DATA, O_RANGE, O_LR, O_BATCH, O_CELEBA, O_CSV, O_PRECISION, O_THREADS, O_HELP };

/* argv -> a: 0, -1 after --help, or the exit status of a usage error (its
 * line printed). */
static int parse_args(int argc, char **argv, evalgen_args *a) {
  static const struct option own[] = {
      {"weights", required_argument, 0, O_WEIGHTS},    {"kernel-seeds", required_argument, 0, O_KSEEDS},
      {"kernel-lengths", required_argument, 0, O_KLENS}, {"data", required_argument, 0, O_DATA},
      {"range", required_argument, 0, O_RANGE},        {"celeba-range", required_argument, 0, O_CELEBA},
      {"lr", required_argument, 0, O_LR},              {"batch", required_argument, 0, O_BATCH},
      {"csv", required_argument, 0, O_CSV},            {"device", required_argument, 0, 'd'},
      {"precision", required_argument, 0, O_PRECISION}, {"threads", required_argument, 0, O_THREADS},
      {"help", no_argument, 0, O_HELP}};
  struct option opts[sizeof own / sizeof own[0] + GPD_CLI_SOLVE_MAX_OPTS + 1];
  gpd_cli_range_option_table(opts, own, (int)(sizeof own / sizeof own[0]));

  memset(a, 0, sizeof *a);
  a->device = "auto";
  a->first = -1;
  a->last = -2;
  a->klen_min = GPD_MOTION_LENGTH_MIN;
  a->klen_max = GPD_MOTION_LENGTH_MAX;
  a->ka = GPD_KERNEL_TEST_SEED_BASE;
  a->kb = GPD_KERNEL_TEST_SEED_BASE + 2000;
  a->precision = GPD_PRECISION_FP32;
  gpd_gen_eval_defaults(&a->o);
  gpd_cli_solve_args sa;
  gpd_cli_solve_args_init(&sa, GPD_ALG_RANGE);
  long v;
  double lr = -1;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":r:n:s:d:", opts, NULL)) != -1) {
    const int solver = gpd_cli_solve_option(&sa, c, optarg);
    if (solver < 0) return gpd_cli_fail(CMD);
    if (solver > 0) continue;
    int bad = 0;
    switch (c) {
    case O_WEIGHTS: a->weights = optarg; break;
    case O_KSEEDS:
      a->have_kseeds = 1;
      bad = gpd_parse_u64_range("kernel-seeds", optarg, &a->ka, &a->kb);
      if (!bad && a->kb <= a->ka) bad = gpd_error("--kernel-seeds: '%s' is empty (A:B means seeds A..B-1)", optarg);
      if (!bad && a->kb - a->ka > 100000000)
        bad = gpd_error("--kernel-seeds: '%s' is more than 100000000 kernels", optarg);
      break;
    case O_KLENS:
      bad = gpd_parse_range("kernel-lengths", optarg, &a->klen_min, &a->klen_max);
      a->have_klens = 1;
      break;
    case O_DATA: a->data = optarg; break;
    case O_RANGE: bad = gpd_parse_range("range", optarg, &a->first, &a->last); a->have_range = 1; break;
    case O_CELEBA: bad = gpd_parse_range("celeba-range", optarg, &a->first, &a->last); a->celeba = a->have_range = 1; break;
    case O_LR: bad = gpd_parse_float("lr", optarg, 1e-30, 1e9, &lr); break;
    case O_BATCH: bad = gpd_parse_int("batch", optarg, 1, 100000, &v); a->o.batch = (int)v; break;
    case O_CSV: a->csv = optarg; break;
    case 'd': a->device = optarg; break;
    case O_PRECISION: bad = gpd_cli_parse_precision(optarg, &a->precision); break;
    case O_THREADS: bad = gpd_cli_parse_threads(optarg, &a->threads); break;
    case O_HELP: usage(stdout); return -1;
    default: return gpd_cli_bad_option(CMD, c, argv);
    }
    if (bad) return gpd_cli_fail(CMD);
  }
  if (optind < argc) return gpd_cli_usage_fail(CMD, "unexpected argument '%s'", argv[optind]);
  if (!a->weights) return gpd_cli_usage_fail(CMD, "--weights is required");
  gpd_cli_solve_apply(&sa, &a->o.range);
  if (lr > 0) a->o.range.adam_lr = (float)lr;
  return 0;
}

/* The weights file's architecture, and the data options that apply to it:
 * motion kernels for a blur generator without --data, else an image
 * folder; an option for the other kind is refused, not ignored. The range
 * options and the CSV output are checked here too, before any work. */
static int validate_args(const evalgen_args *a, gpd_arch *arch, int *kernels) {
  gpd_safetensors st;
  GPD_TRY(gpd_st_read(&st, a->weights));
  const int rc = gpd_weights_arch(&st, arch);
  gpd_st_free(&st);
  GPD_TRY(rc);
  *kernels = arch->channels == 1 && !a->data;
  if (*kernels) {
    if (a->have_range)
      return gpd_error("--range / --celeba-range pick image files, but %s is evaluated on motion kernels "
                       "(--kernel-seeds), not a --data folder",
                       a->weights);
    if (a->klen_min < 1 || a->klen_max > 1000)
      return gpd_error("--kernel-lengths %ld:%ld: lengths are 1..1000", a->klen_min, a->klen_max);
  } else {
    if (!a->data) return gpd_error("--data DIR is required for %s (%s)", a->weights, arch->name);
    if (a->have_kseeds || a->have_klens)
      return gpd_error("--kernel-seeds / --kernel-lengths choose motion kernels, but %s is evaluated on the images of "
                       "--data %s",
                       a->weights, a->data);
  }
  GPD_TRY(gpd_solve_check_options(&a->o.range));
  if (a->csv) GPD_TRY(gpd_cli_check_output("--csv", a->csv));
  return 0;
}

static void on_progress(void *ctx, long done, long total) {
  gpd_progress *p = ctx;
  if (!p->total) gpd_progress_start(p, "evalgen", total);
  gpd_progress_update(p, done);
}

static void on_item(void *ctx, const gpd_gen_eval_item *r) {
  FILE *f = ctx;
  fprintf(f, "%ld,%.6f,%.6f,%.6f,%.9g,%.6f,%.9g,%d\n", r->index, r->recon_rel_l2, r->recon_psnr, r->range_rel_l2,
          r->range_psnr, r->range_ssim, r->range_mse, r->chosen);
  fflush(f);
}

static int run(const evalgen_args *a, const gpd_arch *arch, int kernels) {
  gpd_engine *e = NULL;
  gpd_net enc, dec;
  memset(&enc, 0, sizeof enc);
  memset(&dec, 0, sizeof dec);
  gpd_dataset ds;
  memset(&ds, 0, sizeof ds);
  gpd_gen_eval_options o = a->o;
  FILE *rows = NULL;
  int rc = -1;
  const int vae = !strcmp(arch->name, "blur_vae") || !strcmp(arch->name, "svhn_vae");
  if (a->csv) {
    if (!(rows = fopen(a->csv, "w"))) {
      gpd_error("%s: cannot write the per-item CSV", a->csv);
      goto done;
    }
    fprintf(rows, "item,recon_rel_l2,recon_psnr,range_rel_l2,range_psnr,range_ssim,range_mse,chosen\n");
    o.item = on_item;
    o.item_ctx = rows;
  }
  if (!(e = gpd_cli_engine_create(a->device, a->precision, a->threads))) goto done;
  if (gpd_weights_load_net(&dec, e, a->weights, vae ? "decoder" : "generator") != 0 ||
      (vae && gpd_weights_load_net(&enc, e, a->weights, "encoder") != 0))
    goto done;
  if (kernels) {
    if (gpd_dataset_kernels(&ds, dec.out_h, a->ka, (long)(a->kb - a->ka), (int)a->klen_min, (int)a->klen_max) != 0)
      goto done;
    if (a->ka < GPD_KERNEL_TEST_SEED_BASE)
      fprintf(stderr, "gpdeblur evalgen: note: seeds below %llu are training seeds\n",
              (unsigned long long)GPD_KERNEL_TEST_SEED_BASE);
  } else if (gpd_dataset_image_folder(&ds, a->data, dec.out_c, dec.out_h, a->celeba ? GPD_CELEBA_CROP : 0, a->first,
                                      a->last) != 0) {
    goto done;
  }
  o.peak_is_max = kernels;
  gpd_progress bar;
  memset(&bar, 0, sizeof bar);
  o.progress = on_progress;
  o.progress_ctx = &bar;
  gpd_gen_eval r;
  double t0 = gpd_seconds();
  if (gpd_generator_evaluate(vae ? &enc : NULL, &dec, &ds, &o, &r) != 0) goto done;
  if (bar.total) gpd_progress_finish(&bar);
  const gpd_solve_options *p = &o.range;
  printf("data: %s\n", ds.description);
  if (vae) printf("recon: rel_l2 %.4f  psnr %.2f dB\n", r.recon_rel_l2, r.recon_psnr);
  printf("range: rel_l2 %.4f  psnr %.2f dB  ssim ", r.range_rel_l2, r.range_psnr);
  if (isnan(r.range_ssim)) printf("-");
  else printf("%.4f", r.range_ssim);
  printf("  (range projection: %d restarts x %d steps, Adam %g decaying over %g, seed %" PRIu64 ")\n", p->restarts,
         p->steps, p->adam_lr, p->lr_decay, p->seed);
  printf("items %ld, %.1f s on %s\n", r.count, gpd_seconds() - t0, e->name);
  rc = 0;
done:
  if (rows && fclose(rows) != 0 && rc == 0) rc = gpd_error("%s: cannot write the per-item CSV", a->csv);
  gpd_dataset_free(&ds);
  gpd_net_free(&enc);
  gpd_net_free(&dec);
  if (e) gpd_engine_destroy(e);
  return rc;
}

/* parse, validate, then run (work = 1) or stop there (work = 0, the
 * error recorded and not printed). */
static int evalgen_command(int argc, char **argv, int work) {
  evalgen_args a;
  gpd_arch arch;
  int kernels;
  const int st = parse_args(argc, argv, &a);
  if (st) return st < 0 ? 0 : st;
  int rc = validate_args(&a, &arch, &kernels);
  if (!rc && work) rc = run(&a, &arch, kernels);
  return !rc ? 0 : work ? gpd_cli_fail(CMD) : 1;
}

int gpd_cmd_evalgen_check(int argc, char **argv) { return evalgen_command(argc, argv, 0); }
int gpd_cmd_evalgen(int argc, char **argv) { return evalgen_command(argc, argv, 1); }
