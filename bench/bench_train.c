/* One DCGAN-64 training step, as `gpdeblur train --arch dcgan` takes it:
 * gpd_trainer_step on a batch of 64 images (64x64x3, uniform random in
 * [0, 1]; the content does not change the work), generator dcgan_tf (width
 * 64, latent 100) and discriminator dcgan_disc (width 64), the dcgan
 * defaults of gpd_train_defaults (Adam 2e-4 / 0.5, EMA of G 0.999), batch
 * norm in training mode. One step = G forward; D forward + backward (weight
 * gradients) on the real batch and on the fakes; D's Adam step; D forward
 * and backward to its input on the fakes and G's backward (weight
 * gradients); G's Adam step; the EMA update; the per-item losses and
 * logits downloaded (what the trainer reports). With augmentation (--augment
 * all: flips of the real images and DiffAugment's colour, translation and
 * cutout on all three views) the same plus the augmentation ops and their
 * adjoint in G's step.
 *
 * After the warm-up steps, each step is timed on its own (e->sync() at its
 * end) and the median is reported with the min and max.
 *
 * FLOPs counted (2 per multiply-add, the conv / transposed conv / linear
 * layers only, gpd_net_forward_flops): G forward + backward to its weights
 * + backward through its layers (3 x G's forward), D three forwards, two
 * backward-weights and three backward-data passes (8 x D's forward), x
 * batch. Both nets skip the backward to their input image / latent of their
 * first layer (under 1% of the count: 3 input channels, 100 latents).
 *
 *   bench_train [--device ref|cpu|cuda] [--precision fp32|tf32|bf16]
 *               [--batch 64] [--augment none,all] [--warmup 1] [--reps 5]
 *               [--json] [--no-header]
 * One CSV line per augmentation policy (after a header line), or one JSON
 * object per line with --json. Exit 77 when --device cuda has no CUDA
 * engine or GPU. */
#include "bench_util.h"
#include "gpd/train.h"

#define MAX_POLICIES 8

static const char *PROG = "bench_train";

typedef struct options {
  bench_common c;
  int batch;
  const char *policy[MAX_POLICIES];
  int n_policies;
  int warmup, reps;
} options;

static const char *USAGE =
    "usage: bench_train [--device ref|cpu|cuda] [--precision fp32|tf32|bf16] [--batch 64]\n"
    "                   [--augment none,all] [--warmup 1] [--reps 5] [--json] [--no-header]\n"
    "  --augment: a comma list of policies to time, each one word of gpdeblur train --augment\n"
    "             (none, flip, color, translation, cutout, diffaug, all)\n";

/* Splits the comma list s (kept: argv) into o->policy, checking each word. */
static int parse_policies(options *o, char *s) {
  o->n_policies = 0;
  for (char *p = strtok(s, ","); p; p = strtok(NULL, ",")) {
    unsigned bits;
    if (o->n_policies == MAX_POLICIES) return gpd_error("--augment: more than %d policies", MAX_POLICIES);
    GPD_TRY(gpd_parse_augment(p, &bits));
    o->policy[o->n_policies++] = p;
  }
  return o->n_policies ? 0 : gpd_error("--augment: empty list");
}

static int parse(int argc, char **argv, options *o) {
  bench_common_init(&o->c);
  o->batch = 64;
  o->policy[0] = "none", o->policy[1] = "all", o->n_policies = 2;
  o->warmup = 1, o->reps = 5;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const int common = bench_option(&o->c, argc, argv, &i, &v);
    if (common < 0) return -1;
    if (common) continue;
    if (!strcmp(a, "--batch")) o->batch = atoi(v);
    else if (!strcmp(a, "--augment")) GPD_TRY(parse_policies(o, argv[i]));
    else if (!strcmp(a, "--warmup")) o->warmup = atoi(v);
    else if (!strcmp(a, "--reps")) o->reps = atoi(v);
    else return gpd_error("unknown option %s", a);
  }
  GPD_TRY(bench_common_check(&o->c));
  if (o->batch < 1 || o->batch > 4096) return gpd_error("--batch must be in [1, 4096]");
  if (o->warmup < 0 || o->reps < 1 || o->reps > 10000) return gpd_error("--warmup >= 0 and --reps in [1, 10000]");
  return 0;
}

/* A trainer for DCGAN-64 at this batch and augmentation policy. */
static int make_trainer(gpd_trainer *t, gpd_engine *e, int batch, const char *policy) {
  gpd_train_config cfg;
  GPD_TRY(gpd_train_defaults(&cfg, "dcgan"));
  cfg.batch = batch;
  cfg.seed = 1;
  GPD_TRY(gpd_parse_augment(policy, &cfg.augment));
  return gpd_trainer_init(t, &cfg, e);
}

/* Times reps steps (after warmup) into dt, seconds each. */
static int time_steps(gpd_engine *e, gpd_trainer *t, const float *batch, int warmup, int reps, double *dt) {
  for (int r = 0; r < warmup + reps; r++) {
    const double t0 = gpd_seconds();
    GPD_TRY(gpd_trainer_step(t, batch, NULL, NULL));
    GPD_TRY(e->sync(e));
    if (r >= warmup) dt[r - warmup] = gpd_seconds() - t0;
  }
  return 0;
}

int main(int argc, char **argv) {
  options o;
  int status = 0;
  gpd_engine *e = bench_start(PROG, USAGE, parse(argc, argv, &o), &o.c, &status);
  if (!e) return status;
  const int threads = bench_cpu_threads(&o.c);
  const size_t item = 3 * 64 * 64;
  float *batch = gpd_malloc(sizeof(float) * item * (size_t)o.batch, "a training batch");
  double *dt = gpd_malloc(sizeof(double) * (size_t)o.reps, "step times");
  if (!batch || !dt) status = bench_fail(PROG);
  if (batch) {
    gpd_rng r;
    gpd_rng_seed(&r, 3);
    for (size_t i = 0; i < item * (size_t)o.batch; i++) batch[i] = (float)gpd_rng_uniform(&r);
  }
  int header_done = 0;
  for (int p = 0; p < o.n_policies && status == 0; p++) {
    gpd_trainer t;
    memset(&t, 0, sizeof t); /* gpd_trainer_free is safe on it if make_trainer fails early */
    if (make_trainer(&t, e, o.batch, o.policy[p]) != 0 || time_steps(e, &t, batch, o.warmup, o.reps, dt) != 0) {
      fprintf(stderr, "%s: --augment %s: %s\n", PROG, o.policy[p], gpd_last_error());
      gpd_trainer_free(&t);
      status = 1;
      break;
    }
    /* nets[0] is D, nets[1] G (gpd/train.h) */
    const double macs = 3.0 * gpd_net_forward_flops(&t.nets[1]) + 8.0 * gpd_net_forward_flops(&t.nets[0]);
    const double gflop = 2.0 * macs * o.batch * 1e-9;
    gpd_trainer_free(&t);
    bench_stats s = bench_summarise(dt, o.reps);
    bench_row row;
    bench_row_start(&row, "train", &o.c, e, threads);
    bench_row_num(&row, "batch", "%d", o.batch);
    bench_row_str(&row, "augment", o.policy[p]);
    bench_row_num(&row, "warmup", "%d", o.warmup);
    bench_row_num(&row, "reps", "%d", o.reps);
    bench_row_num(&row, "median_ms", "%.3f", 1e3 * s.median);
    bench_row_num(&row, "min_ms", "%.3f", 1e3 * s.min);
    bench_row_num(&row, "max_ms", "%.3f", 1e3 * s.max);
    bench_row_num(&row, "images_per_s", "%.2f", o.batch / s.median);
    bench_row_num(&row, "gflop_per_step", "%.3f", gflop);
    bench_row_num(&row, "gflops", "%.2f", gflop / s.median);
    bench_row_num(&row, "loadavg", "%.2f", bench_loadavg());
    bench_row_print(&row, &o.c, &header_done);
  }
  free(dt);
  free(batch);
  gpd_engine_destroy(e);
  return status;
}
