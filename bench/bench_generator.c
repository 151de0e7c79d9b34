/* DCGAN-64 generator, forward then backward to its input (what every solver
 * iteration does with G_I): arch dcgan_tf, width 64, latent 100, 64x64x3,
 * random weights (gpd_net_init), batch norm in inference mode.
 *
 * One repetition = gpd_net_forward(z) + gpd_net_backward(dy -> dz, no weight
 * gradients) + e->sync(), the weights held constant (gpd_engine.hold_constant)
 * as gpd_solve holds them. After the warm-up, each repetition is timed on
 * its own and the median is reported (min and max beside it).
 *
 * FLOPs counted: 2 x (multiply-adds of the linear and conv-transpose layers,
 * gpd_net_forward_flops) per item for the forward, and the same again for
 * the backward to the input (each layer's backward_data is the same gemm
 * sizes transposed), so 4 x MACs x batch per repetition. Batch norm,
 * activations, bias and the (x+1)/2 are not counted (under 1% of it).
 *
 *   bench_generator [--device ref|cpu|cuda] [--precision fp32|tf32|bf16]
 *                   [--batch 10,100] [--warmup 2] [--reps 10] [--json]
 *                   [--no-header]
 * Prints one CSV line per batch (after a header line), or one JSON object
 * per line with --json. Exit 77 when --device cuda is asked for and there is
 * no CUDA engine or GPU (so scripts can skip it). */
#include "bench_util.h"

#define MAX_BATCHES 16

static const char *PROG = "bench_generator";

typedef struct options {
  bench_common c;
  int batch[MAX_BATCHES], n_batch;
  int warmup, reps;
} options;

static const char *USAGE =
    "usage: bench_generator [--device ref|cpu|cuda] [--precision fp32|tf32|bf16] [--batch 10,100]\n"
    "                       [--warmup 2] [--reps 10] [--json] [--no-header]\n";

static int parse(int argc, char **argv, options *o) {
  bench_common_init(&o->c);
  o->batch[0] = 10, o->batch[1] = 100, o->n_batch = 2;
  o->warmup = 2, o->reps = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const int common = bench_option(&o->c, argc, argv, &i, &v);
    if (common < 0) return -1;
    if (common) continue;
    if (!strcmp(a, "--batch")) {
      if ((o->n_batch = bench_parse_list(v, o->batch, MAX_BATCHES, "--batch")) < 0) return -1;
    } else if (!strcmp(a, "--warmup")) o->warmup = atoi(v);
    else if (!strcmp(a, "--reps")) o->reps = atoi(v);
    else return gpd_error("unknown option %s", a);
  }
  GPD_TRY(bench_common_check(&o->c));
  if (o->warmup < 0 || o->reps < 1 || o->reps > 10000) return gpd_error("--warmup >= 0 and --reps in [1, 10000]");
  return 0;
}

/* Times `reps` forward+backward passes at batch n (after `warmup` untimed
 * ones) into t (seconds each). */
static int time_batch(gpd_engine *e, gpd_net *g, int n, int warmup, int reps, double *t) {
  gpd_net_workspace ws;
  const size_t in = gpd_net_in_size(g), out = gpd_net_out_size(g);
  if (gpd_net_workspace_alloc(&ws, g, n) != 0) return -1;
  float *z = e->alloc(e, (size_t)n * in, "z");       /* (n, 100) */
  float *dz = e->alloc(e, (size_t)n * in, "dz");     /* (n, 100) */
  float *dy = e->alloc(e, (size_t)n * out, "dy");    /* (n, 3, 64, 64) */
  int rc = -1;
  if (!z || !dz || !dy) goto done;
  if (bench_upload_normal(e, z, (size_t)n * in, 1) || bench_upload_normal(e, dy, (size_t)n * out, 2)) goto done;
  for (int r = 0; r < warmup + reps; r++) {
    double t0 = gpd_seconds();
    if (!gpd_net_forward(g, &ws, n, z)) goto done;
    if (gpd_net_backward(g, &ws, n, dy, dz, 0) != 0) goto done;
    if (e->sync(e) != 0) goto done;
    if (r >= warmup) t[r - warmup] = gpd_seconds() - t0;
  }
  rc = 0;
done:
  e->free(e, z);
  e->free(e, dz);
  e->free(e, dy);
  gpd_net_workspace_free(&ws, e);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  int status = 0;
  gpd_engine *e = bench_start(PROG, USAGE, parse(argc, argv, &o), &o.c, &status);
  if (!e) return status;
  gpd_net g;
  if (bench_make_net(&g, e, "dcgan_tf", "generator", 1) != 0) {
    gpd_engine_destroy(e);
    return bench_fail(PROG);
  }
  /* fixed weights, as a solver holds them (gpd_solve): the cpu engine keeps
   * them in oneDNN's layouts instead of reordering them at every call */
  if (gpd_engine_hold_constant(e, g.params, g.n_params, 1) != 0) {
    gpd_net_free(&g);
    gpd_engine_destroy(e);
    return bench_fail(PROG);
  }
  const double macs = gpd_net_forward_flops(&g);
  const int threads = bench_cpu_threads(&o.c);
  double *t = malloc(sizeof(double) * (size_t)o.reps);
  int header_done = 0;
  for (int b = 0; b < o.n_batch && t; b++) {
    const int n = o.batch[b];
    if (time_batch(e, &g, n, o.warmup, o.reps, t) != 0) {
      fprintf(stderr, "%s: batch %d: %s\n", PROG, n, gpd_last_error());
      status = 1;
      break;
    }
    bench_stats s = bench_summarise(t, o.reps);
    const double gflop = 4.0 * macs * n * 1e-9; /* 2 FLOPs per MAC, forward + backward to the input */
    bench_row r;
    bench_row_start(&r, "generator", &o.c, e, threads);
    bench_row_num(&r, "batch", "%d", n);
    bench_row_num(&r, "warmup", "%d", o.warmup);
    bench_row_num(&r, "reps", "%d", o.reps);
    bench_row_num(&r, "median_ms", "%.3f", 1e3 * s.median);
    bench_row_num(&r, "min_ms", "%.3f", 1e3 * s.min);
    bench_row_num(&r, "max_ms", "%.3f", 1e3 * s.max);
    bench_row_num(&r, "gflop_per_rep", "%.4f", gflop);
    bench_row_num(&r, "gflops", "%.2f", gflop / s.median);
    bench_row_num(&r, "loadavg", "%.2f", bench_loadavg());
    bench_row_print(&r, &o.c, &header_done);
  }
  free(t);
  if (gpd_engine_hold_constant(e, g.params, g.n_params, 0) != 0) status = bench_fail(PROG);
  gpd_net_free(&g);
  gpd_engine_destroy(e);
  return status;
}
