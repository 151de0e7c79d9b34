/* Options, session and progress shared by `eval` and `sweep` (cli_eval.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_solve.h"
#include "gpd/blur.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/image.h"

enum {
  OPT_LEVIN = 4000,
  OPT_PARTITION,
  OPT_FILES,
  OPT_FIRST,
  OPT_LAST,
  OPT_LIMIT,
  OPT_SHARD,
  OPT_CROP_RESIZE,
  OPT_DATASET,
  OPT_KERNELS,
  OPT_KERNEL_SEED,
  OPT_KERNEL_LENGTH,
  OPT_SIGMA,
  OPT_NOISE_SEED,
  OPT_RANGE,
  OPT_RANGE_STEPS,
  OPT_RANGE_RESTARTS,
  OPT_RANGE_LR,
  OPT_RANGE_CACHE,
  OPT_IMAGE_GEN,
  OPT_BLUR_GEN,
  OPT_RESUME,
  OPT_OVERWRITE,
  OPT_REPORT,
  OPT_GRID,
  OPT_GRID_COUNT,
  OPT_STOP_AFTER,
  OPT_SUMMARIZE,
  OPT_PARAM,
  OPT_VALUES,
  OPT_OUT_DIR,
  OPT_PRECISION,
  OPT_BATCH_IMAGES,
  OPT_THREADS
};

void gpd_cli_eval_usage_common(FILE *f) {
  fprintf(f,
          "test images:\n"
          "  DIR                    a folder of sharp images (sorted by name); with CelebA's\n"
          "                         list_eval_partition.txt in it, only its test split\n"
          "      --partition P      the split kept from list_eval_partition.txt (default 2 = test)\n"
          "      --files A:B        only files named by a number in [A, B] (008001.jpg is 8001);\n"
          "                         also --first A / --last B\n"
          "      --limit N          only the first N of the selection\n"
          "      --shard K/N        only the images whose index in the selection %% N == K-1\n"
          "      --crop-resize C:S  centre crop C x C, then resize to S x S (CelebA: 54:64)\n"
          "      --dataset NAME     the column name in reports (default: the folder's name)\n"
          "      --levin DIR        the Levin et al. benchmark instead (gt/, blurred/, kernels/):\n"
          "                         real captures, Algorithm 3 and the linear boundary by default,\n"
          "                         shift-tolerant PSNR / SSIM\n"
          "test blur:\n"
          "      --kernels DIR      kernel files used in turn (.kernel, text rows, images)\n"
          "      --kernel-seed S    else motion kernels from seeds S, S+1, ... (default 1000000000;\n"
          "                         training kernels use seeds below it)\n"
          "      --kernel-length L:H  only seeds whose motion length is in [L, H] (5..28)\n"
          "      --sigma X          noise standard deviation (default 0.01, the paper's 1%%)\n"
          "      --noise-seed S     image i's noise is drawn from S + i (default 0)\n"
          "      --range            deblur each image's range image (its projection onto G_I's\n"
          "                         range) and compare with it: the paper's i_range\n"
          "      --range-steps N, --range-restarts N, --range-lr X   its projection (default 3000, 10, 0.05)\n"
          "      --range-cache DIR  keep each range image in DIR and read it back in later runs\n"
          "                         (a sweep projects the same images for every value; a file is\n"
          "                         read only where the projection would compute that very image)\n"
          "generators and device:\n"
          "      --image-gen FILE   image generator (default by size: weights/dcgan_celeba64 or svhn_vae)\n"
          "      --blur-gen FILE    blur VAE (default weights/blur_vae.safetensors)\n"
          "  -d, --device D         ref | cpu | cuda | auto (default auto)\n" GPD_CLI_PRECISION_HELP
          GPD_CLI_THREADS_HELP
          "      --batch-images N   images per solve: their restarts run as one batch (images x\n"
          "                         restarts); their rows are written when the batch finishes\n"
          "                         (default: as many as the memory fits, up to %d restarts;\n"
          "                         Algorithm 3 and --levin: 1)\n",
          GPD_EVAL_MAX_BATCH_ITEMS);
  gpd_cli_solve_usage(f);
  fprintf(f,
          "Image i of the selection uses kernel i, noise seed S + i and solver seed --seed + i,\n"
          "so results do not depend on shards, limits of other runs or resuming.\n");
}

static int parse_crop_resize(const char *text, int *crop, int *size) {
  long a, b;
  char *end;
  a = strtol(text, &end, 10);
  if (end == text || *end != ':') goto bad;
  const char *t = end + 1;
  b = strtol(t, &end, 10);
  if (end == t || *end || a < 1 || b < 1 || a > 65536 || b > 65536) goto bad;
  *crop = (int)a;
  *size = (int)b;
  return 0;
bad:
  return gpd_error("--crop-resize: '%s' is not CROP:SIZE (e.g. 54:64)", text);
}

static void args_init(gpd_cli_eval_args *a) {
  memset(a, 0, sizeof *a);
  a->sel.partition = 2;
  a->sel.first = -1;
  a->sel.last = -1;
  a->shard_k = a->shard_n = 1;
  a->kernel_seed = GPD_EVAL_KERNEL_SEED0;
  a->sigma = 0.01;
  a->range_steps = a->range_restarts = -1;
  a->range_lr = -1;
  a->device = "auto";
  a->precision = GPD_PRECISION_FP32;
  a->grid_count = 8;
  gpd_cli_solve_args_init(&a->solve, GPD_ALG_1);
}

/* The getopt_long table of `eval` (sweep = 0) or `sweep` (sweep = 1). */
static void option_table(int sweep, struct option *opts) {
  int no = 0;
  static const struct option fixed[] = {
      {"levin", required_argument, 0, OPT_LEVIN},
      {"partition", required_argument, 0, OPT_PARTITION},
      {"files", required_argument, 0, OPT_FILES},
      {"first", required_argument, 0, OPT_FIRST},
      {"last", required_argument, 0, OPT_LAST},
      {"limit", required_argument, 0, OPT_LIMIT},
      {"shard", required_argument, 0, OPT_SHARD},
      {"crop-resize", required_argument, 0, OPT_CROP_RESIZE},
      {"dataset", required_argument, 0, OPT_DATASET},
      {"kernels", required_argument, 0, OPT_KERNELS},
      {"kernel-seed", required_argument, 0, OPT_KERNEL_SEED},
      {"kernel-length", required_argument, 0, OPT_KERNEL_LENGTH},
      {"sigma", required_argument, 0, OPT_SIGMA},
      {"noise-seed", required_argument, 0, OPT_NOISE_SEED},
      {"range", no_argument, 0, OPT_RANGE},
      {"range-steps", required_argument, 0, OPT_RANGE_STEPS},
      {"range-restarts", required_argument, 0, OPT_RANGE_RESTARTS},
      {"range-lr", required_argument, 0, OPT_RANGE_LR},
      {"range-cache", required_argument, 0, OPT_RANGE_CACHE},
      {"image-gen", required_argument, 0, OPT_IMAGE_GEN},
      {"blur-gen", required_argument, 0, OPT_BLUR_GEN},
      {"device", required_argument, 0, 'd'},
      {"precision", required_argument, 0, OPT_PRECISION},
      {"threads", required_argument, 0, OPT_THREADS},
      {"output", required_argument, 0, 'o'},
      {"resume", no_argument, 0, OPT_RESUME},
      {"overwrite", no_argument, 0, OPT_OVERWRITE},
      {"report", required_argument, 0, OPT_REPORT},
      {"grid", required_argument, 0, OPT_GRID},
      {"grid-count", required_argument, 0, OPT_GRID_COUNT},
      {"stop-after", required_argument, 0, OPT_STOP_AFTER},
      {"batch-images", required_argument, 0, OPT_BATCH_IMAGES},
      {"help", no_argument, 0, 'h'},
  };
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) opts[no++] = fixed[i];
  if (sweep) {
    opts[no++] = (struct option){"param", required_argument, 0, OPT_PARAM};
    opts[no++] = (struct option){"values", required_argument, 0, OPT_VALUES};
    opts[no++] = (struct option){"out-dir", required_argument, 0, OPT_OUT_DIR};
  } else {
    opts[no++] = (struct option){"summarize", no_argument, 0, OPT_SUMMARIZE};
  }
  gpd_cli_solve_options_add(opts, &no);
  opts[no] = (struct option){0, 0, 0, 0};
}

/* One option of this file's table: 0 when taken, -1 on a bad value (error
 * recorded), 1 when it is not one of ours. */
static int apply_option(gpd_cli_eval_args *a, int opt, const char *arg) {
  long v;
  switch (opt) {
  case OPT_LEVIN: a->levin = arg; return 0;
  case OPT_PARTITION:
    GPD_TRY(gpd_parse_int("partition", arg, 0, 1000, &v));
    a->sel.partition = (int)v;
    return 0;
  case OPT_FILES: return gpd_eval_parse_range("files", arg, &a->sel.first, &a->sel.last);
  case OPT_FIRST:
    GPD_TRY(gpd_parse_int("first", arg, 0, 999999999999999L, &a->sel.first));
    if (a->sel.last < 0) a->sel.last = 999999999999999L;
    return 0;
  case OPT_LAST:
    GPD_TRY(gpd_parse_int("last", arg, 0, 999999999999999L, &a->sel.last));
    if (a->sel.first < 0) a->sel.first = 0;
    return 0;
  case OPT_LIMIT: return gpd_parse_int("limit", arg, 1, 1L << 40, &a->sel.limit);
  case OPT_SHARD: return gpd_eval_parse_shard(arg, &a->shard_k, &a->shard_n);
  case OPT_CROP_RESIZE: return parse_crop_resize(arg, &a->crop, &a->size);
  case OPT_DATASET: a->dataset = arg; return 0;
  case OPT_KERNELS: a->kernels_dir = arg; return 0;
  case OPT_KERNEL_SEED: return gpd_parse_u64("kernel-seed", arg, &a->kernel_seed);
  case OPT_KERNEL_LENGTH: return gpd_eval_parse_range("kernel-length", arg, &a->bucket_min, &a->bucket_max);
  case OPT_SIGMA: return gpd_parse_float("sigma", arg, 0, 10, &a->sigma);
  case OPT_NOISE_SEED: return gpd_parse_u64("noise-seed", arg, &a->noise_seed);
  case OPT_RANGE: a->range = 1; return 0;
  case OPT_RANGE_STEPS: return gpd_parse_int("range-steps", arg, 0, 100000000, &a->range_steps);
  case OPT_RANGE_RESTARTS: return gpd_parse_int("range-restarts", arg, 1, 1000000, &a->range_restarts);
  case OPT_RANGE_LR: return gpd_parse_float("range-lr", arg, 1e-30, 1e9, &a->range_lr);
  case OPT_RANGE_CACHE: a->range_cache = arg; return 0;
  case OPT_IMAGE_GEN: a->image_gen = arg; return 0;
  case OPT_BLUR_GEN: a->blur_gen = arg; return 0;
  case 'd': a->device = arg; return 0;
  case OPT_PRECISION: return gpd_cli_parse_precision(arg, &a->precision);
  case OPT_THREADS: return gpd_cli_parse_threads(arg, &a->threads);
  case 'o': a->output = arg; return 0;
  case OPT_RESUME: a->resume = 1; return 0;
  case OPT_OVERWRITE: a->overwrite = 1; return 0;
  case OPT_REPORT: a->report = arg; return 0;
  case OPT_GRID: a->grid = arg; return 0;
  case OPT_GRID_COUNT: return gpd_parse_int("grid-count", arg, 1, 64, &a->grid_count);
  case OPT_STOP_AFTER: return gpd_parse_int("stop-after", arg, 1, 1L << 40, &a->stop_after);
  case OPT_BATCH_IMAGES: return gpd_parse_int("batch-images", arg, 1, 100000, &a->batch_images);
  case OPT_SUMMARIZE: a->summarize = 1; return 0;
  case OPT_PARAM: a->param = arg; return 0;
  case OPT_VALUES: a->values = arg; return 0;
  case OPT_OUT_DIR: a->out_dir = arg; return 0;
  }
  return 1;
}

/* The positional arguments: results CSVs (--summarize), none (--levin) or
 * the one image folder. 0, or the exit status of a usage error (its line
 * printed). */
static int take_positionals(const char *cmd, int argc, char **argv, int boundary_set, gpd_cli_eval_args *a) {
  const int npos = argc - optind;
  if (a->summarize) {
    if (npos < 1) return gpd_cli_usage_fail(cmd, "--summarize needs results CSVs");
    a->inputs = argv + optind;
    a->n_inputs = npos;
    return 0;
  }
  if (a->levin) {
    if (npos > 0) {
      fprintf(stderr, "gpdeblur %s: --levin takes the benchmark folder; unexpected '%s'\n", cmd, argv[optind]);
      return 2;
    }
    a->sel.dir = a->levin;
    a->sel.levin = 1;
    /* the benchmark's protocol: an untrained generator, real boundaries */
    if (!a->solve.alg_set) a->solve.alg = GPD_ALG_3;
    if (!boundary_set) a->solve.boundary = GPD_BOUNDARY_LINEAR;
    return 0;
  }
  if (npos > 1)
    return gpd_cli_usage_fail(cmd, "one image folder expected, got '%s' and '%s'", argv[optind], argv[optind + 1]);
  if (npos < 1) return gpd_cli_usage_fail(cmd, "missing the folder of test images");
  a->dir = argv[optind];
  a->sel.dir = a->dir;
  return 0;
}

/* The options agree and the outputs can be written. 0 or -1 (error
 * recorded). */
static int validate_args(int sweep, const gpd_cli_eval_args *a) {
  if (a->summarize) return a->report ? gpd_cli_check_output("--report", a->report) : 0;
  if (a->resume && a->overwrite) return gpd_error("--resume and --overwrite contradict each other");
  if (!sweep && !a->output) return gpd_error("-o RESULTS.csv is required");
  if (sweep && !a->out_dir) return gpd_error("--out-dir DIR is required (one results CSV per value, and sweep.csv)");
  if (sweep && !a->param) return gpd_error("--param sigma|length|restarts|steps is required");
  if (a->range && a->solve.alg == GPD_ALG_3)
    return gpd_error("--range: Algorithm 3 has no trained image generator to project onto");
  if (a->range_cache && !a->range) return gpd_error("--range-cache keeps the range images of --range: give --range too");
  if (a->range_cache) GPD_TRY(gpd_cli_check_output_dir("--range-cache", a->range_cache));
  if (a->image_gen && a->solve.alg == GPD_ALG_3)
    return gpd_error("--image-gen: Algorithm 3 builds its own untrained generator (see --untrained-arch)");
  if (a->kernels_dir && (a->bucket_min || a->bucket_max))
    return gpd_error("--kernel-length selects motion kernels by seed; it does not apply to --kernels files");
  if (!sweep) GPD_TRY(gpd_cli_check_output("-o", a->output));
  if (sweep) GPD_TRY(gpd_cli_check_output_dir("--out-dir", a->out_dir));
  if (a->report) GPD_TRY(gpd_cli_check_output("--report", a->report));
  if (a->grid) GPD_TRY(gpd_cli_check_output("--grid", a->grid));
  return 0;
}

int gpd_cli_eval_parse(const char *cmd, int sweep, int argc, char **argv, void (*usage)(FILE *),
                       gpd_cli_eval_args *a) {
  struct option opts[GPD_CLI_SOLVE_MAX_OPTS + 48];
  args_init(a);
  option_table(sweep, opts);
  int opt, boundary_set = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":d:o:h" GPD_CLI_SOLVE_SHORTOPTS, opts, NULL)) != -1) {
    int s = gpd_cli_solve_option(&a->solve, opt, optarg);
    if (s < 0) return gpd_cli_fail(cmd);
    if (s > 0) {
      boundary_set |= opt == 'b';
      continue;
    }
    if (opt == 'h') {
      usage(stdout);
      return -1;
    }
    /* sweep's options are not in eval's table, nor --summarize in sweep's */
    s = apply_option(a, opt, optarg);
    if (s < 0) return gpd_cli_fail(cmd);
    if (s > 0) return gpd_cli_bad_option(cmd, opt, argv);
  }
  const int st = take_positionals(cmd, argc, argv, boundary_set, a);
  if (st) return st;
  if (validate_args(sweep, a) != 0) return gpd_cli_fail(cmd);
  return 0;
}

/* ---- session ---------------------------------------------------------------------------- */

static const char *base_name(const char *dir, char *buf, size_t size) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && dir[b - 1] != '/') b--;
  snprintf(buf, size, "%.*s", (int)(n - b), dir + b);
  return buf;
}

/* The shipped image generator for the prepared images' size: the recipe's
 * size, else the first selected image's. */
static int default_image_gen(const gpd_cli_eval_args *a, const gpd_cli_eval_session *s, const char **file) {
  int size = a->size, h = a->size, w = a->size;
  if (!size) {
    gpd_image im = {0};
    if (gpd_image_load(&im, s->full.items[0].path, 3) != 0) {
      char why[512];
      snprintf(why, sizeof why, "%s", gpd_last_error());
      return gpd_error("cannot pick the default image generator from the first image (%s); pass --image-gen", why);
    }
    h = im.h;
    w = im.w;
    gpd_image_free(&im);
  }
  if (!(*file = gpd_cli_default_image_generator(3, h, w)))
    return gpd_error("no shipped image generator makes %dx%d images (the shipped ones make 64x64 and 32x32; see "
                     "--crop-resize); pass --image-gen FILE, or --alg 3 --boundary linear for photos of any "
                     "size (an untrained generator fitted to each)",
                     h, w);
  return 0;
}

int gpd_cli_eval_open(const gpd_cli_eval_args *a, gpd_cli_eval_session *s) {
  memset(s, 0, sizeof *s);
  const gpd_algorithm alg = a->solve.alg;
  GPD_TRY(gpd_eval_select(&a->sel, &s->full));
  /* image i uses seeds S + i: none may wrap past 2^64 */
  const uint64_t n = (uint64_t)s->full.n;
  GPD_TRY(gpd_cli_check_seed_range("seed", a->solve.seed_set ? a->solve.seed : 0, n));
  GPD_TRY(gpd_cli_check_seed_range("noise-seed", a->noise_seed, n));
  if (!a->kernels_dir && !a->levin) GPD_TRY(gpd_cli_check_seed_range("kernel-seed", a->kernel_seed, n));
  if (!(s->e = gpd_cli_engine_create(a->device, a->precision, a->threads))) return -1;
  if (alg != GPD_ALG_NAIVE) {
    GPD_TRY(gpd_cli_open_generator(&s->gk, s->e, a->blur_gen, "blur_vae.safetensors", 1, s->gk_path,
                                   sizeof s->gk_path));
    s->have_gk = 1;
  }
  if (alg != GPD_ALG_3) {
    const char *file = NULL;
    if (!a->image_gen) GPD_TRY(default_image_gen(a, s, &file));
    GPD_TRY(gpd_cli_open_generator(&s->gi, s->e, a->image_gen, file, 0, s->gi_path, sizeof s->gi_path));
    s->have_gi = 1;
  }

  s->kernels.dir = a->kernels_dir;
  s->kernels.seed0 = a->kernel_seed;
  s->kernels.len_min = GPD_MOTION_LENGTH_MIN;
  s->kernels.len_max = GPD_MOTION_LENGTH_MAX;
  s->kernels.bucket_min = (int)a->bucket_min;
  s->kernels.bucket_max = (int)a->bucket_max;
  s->kernels.ksize = s->have_gk ? s->gk.out_h : GPD_KERNEL_SIZE;
  if (!a->levin) GPD_TRY(gpd_eval_kernels_prepare(&s->kernels, s->full.n));

  if (a->dataset) snprintf(s->dataset, sizeof s->dataset, "%s", a->dataset);
  else if (a->levin) snprintf(s->dataset, sizeof s->dataset, "levin");
  else base_name(a->dir, s->dataset, sizeof s->dataset);

  gpd_eval_config *c = &s->cfg;
  gpd_cli_solve_apply(&a->solve, &c->solve);
  c->range = a->range;
  gpd_solve_defaults(&c->range_solve, GPD_ALG_RANGE);
  c->range_solve.seed = c->solve.seed;
  if (a->range_steps >= 0) c->range_solve.steps = (int)a->range_steps;
  if (a->range_restarts > 0) c->range_solve.restarts = (int)a->range_restarts;
  if (a->range_lr > 0) c->range_solve.adam_lr = (float)a->range_lr;
  c->range_cache = a->range_cache;
  c->crop = a->crop;
  c->size = a->size;
  c->sigma = (float)a->sigma;
  c->noise_seed = a->noise_seed;
  c->kernels = &s->kernels;
  c->levin = a->levin != NULL;
  c->shard_k = a->shard_k;
  c->shard_n = a->shard_n;
  c->csv = a->output;
  c->resume = a->resume;
  c->overwrite = a->overwrite;
  c->stop_after = a->stop_after;
  c->batch_images = (int)a->batch_images;
  c->grid_count = a->grid ? (int)a->grid_count : 0;
  c->image_gen = s->have_gi ? s->gi_path : NULL;
  c->blur_gen = s->have_gk ? s->gk_path : NULL;
  c->dataset = s->dataset;
  c->device = s->e->name;
  c->precision = s->e->precision;
  c->dir = a->sel.dir;
  return 0;
}

void gpd_cli_eval_close(gpd_cli_eval_session *s) {
  if (s->have_gi) gpd_net_free(&s->gi);
  if (s->have_gk) gpd_net_free(&s->gk);
  gpd_eval_kernels_free(&s->kernels);
  gpd_eval_list_free(&s->full);
  if (s->e) gpd_engine_destroy(s->e);
  memset(s, 0, sizeof *s);
}

/* ---- running with a progress bar ------------------------------------------------------------ */

typedef struct cli_progress {
  const char *cmd;
  gpd_progress bar;
  long done;
  double psnr_sum;
  long psnr_n;
  double started;
} cli_progress;

static void bar_extra(cli_progress *p, int step, int steps) {
  const double elapsed = gpd_seconds() - p->started;
  char psnr[32] = "";
  if (p->psnr_n) snprintf(psnr, sizeof psnr, " PSNR %.2f", p->psnr_sum / (double)p->psnr_n);
  if (steps > 0)
    snprintf(p->bar.extra, sizeof p->bar.extra, "%.1f s/img%s | step %d/%d", p->done ? elapsed / (double)p->done : 0.0,
             psnr, step, steps);
  else snprintf(p->bar.extra, sizeof p->bar.extra, "%.1f s/img%s", p->done ? elapsed / (double)p->done : 0.0, psnr);
}

static void on_start(void *ctx, long todo) {
  cli_progress *p = ctx;
  gpd_progress_start(&p->bar, p->cmd, todo);
  p->started = gpd_seconds();
}

static void on_skipped(void *ctx, const gpd_eval_item *it, const char *why) {
  cli_progress *p = ctx;
  /* clear the bar's line so the message stands on its own line */
  if (p->bar.mode == GPD_PROGRESS_BAR) fputs("\r\033[K", stderr);
  fprintf(stderr, "gpdeblur %s: skipped %s: %s\n", p->cmd, it->name, why);
}

static void on_done(void *ctx, const gpd_eval_row *row, long done, long todo) {
  cli_progress *p = ctx;
  p->done = done;
  if (!strcmp(row->status, "ok") && isfinite(row->psnr)) {
    p->psnr_sum += row->psnr;
    p->psnr_n++;
  }
  bar_extra(p, 0, 0);
  p->bar.partial = 0.0; /* the batch's rows are in: what it did counts in done now */
  gpd_progress_update(&p->bar, done);
  (void)todo;
}

static void on_step(void *ctx, int step, int steps, double images) {
  cli_progress *p = ctx;
  if (p->bar.mode == GPD_PROGRESS_OFF) return;
  bar_extra(p, step, steps);
  p->bar.partial = images;
  gpd_progress_update(&p->bar, p->done);
}

int gpd_cli_eval_execute(const char *cmd, gpd_cli_eval_session *s, const gpd_eval_config *cfg, gpd_eval_outcome *out) {
  cli_progress p;
  memset(&p, 0, sizeof p);
  p.cmd = cmd;
  gpd_eval_hooks h = {.ctx = &p, .skipped = on_skipped, .start = on_start, .done = on_done, .step = on_step};
  int rc = gpd_eval_run(s->e, s->have_gi ? &s->gi : NULL, s->have_gk ? &s->gk : NULL, cfg, &s->full, &h, out);
  if (p.bar.label) {
    if (rc == 0 && !out->stopped) gpd_progress_finish(&p.bar);
    else if (p.bar.mode == GPD_PROGRESS_BAR) fputc('\n', stderr);
  }
  if (cfg->range_cache && (out->range_cached || out->range_projected))
    fprintf(stderr, "gpdeblur %s: range images: %ld read from %s, %ld projected and added to it\n", cmd,
            out->range_cached, cfg->range_cache, out->range_projected);
  if (out->dropped > 0)
    fprintf(stderr, "gpdeblur %s: cut a partial last line (%ld bytes, a write interrupted by a kill) off %s\n", cmd,
            out->dropped, cfg->csv);
  return rc;
}

static void stat_line(FILE *f, const char *name, const gpd_eval_stat *s, const char *unit, int digits) {
  if (s->n == 0) return;
  fprintf(f, "  %-13s %.*f%s", name, digits, s->mean, unit);
  if (isfinite(s->std)) fprintf(f, "  std %.*f  95%% CI ±%.*f", digits, s->std, digits, s->ci95);
  fprintf(f, "  (n = %ld)\n", s->n);
}

void gpd_cli_eval_print_summary(FILE *f, const char *title, const gpd_eval_summary *s) {
  fprintf(f, "%s: %ld images (%ld ok, %ld skipped, %ld diverged)\n", title, s->rows, s->ok, s->skipped, s->diverged);
  stat_line(f, "PSNR", &s->psnr, " dB", 2);
  stat_line(f, "SSIM", &s->ssim, "", 4);
  stat_line(f, "blurry PSNR", &s->blurry_psnr, " dB", 2);
  stat_line(f, "blurry SSIM", &s->blurry_ssim, "", 4);
  stat_line(f, "lift", &s->lift, " dB", 2);
  stat_line(f, "kernel error", &s->kernel_error, "", 4);
  stat_line(f, "range PSNR", &s->range_psnr, " dB", 2);
  stat_line(f, "seconds", &s->seconds, " s", 1);
  stat_line(f, "restart-its", &s->restart_iterations, "", 0);
}
