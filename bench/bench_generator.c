/* DCGAN-64 generator, forward then backward to its input (what every solver
 * iteration does with G_I): arch dcgan_tf, width 64, latent 100, 64x64x3,
 * random weights (gpd_net_init), batch norm in inference mode.
 *
 * One repetition = gpd_net_forward(z) + gpd_net_backward(dy -> dz, no weight
 * gradients) + e->sync(). After the warm-up, each repetition is timed on
 * its own and the median is reported (min and max beside it).
 *
 * FLOPs counted: 2 x (multiply-adds of the linear and conv-transpose layers,
 * gpd_net_forward_flops) per item for the forward, and the same again for
 * the backward to the input (each layer's backward_data is the same gemm
 * sizes transposed), so 4 x MACs x batch per repetition. Batch norm,
 * activations, bias and the (x+1)/2 are not counted (under 1% of it).
 *
 *   bench_generator [--device cpu|cuda] [--precision fp32|tf32|bf16]
 *                   [--batch 10,100] [--warmup 2] [--reps 10] [--json]
 *                   [--no-header]
 * Prints one CSV line per batch (after a header line), or one JSON object
 * per line with --json. Exit 77 when --device cuda is asked for and there is
 * no CUDA engine or GPU (so scripts can skip it). */
#include "bench_util.h"

#define MAX_BATCHES 16

typedef struct options {
  const char *device;
  gpd_precision precision;
  int batch[MAX_BATCHES], n_batch;
  int warmup, reps, json, header;
} options;

static int usage(void) {
  fprintf(stderr, "usage: bench_generator [--device cpu|cuda] [--precision fp32|tf32|bf16] [--batch 10,100]\n"
                  "                       [--warmup 2] [--reps 10] [--json] [--no-header]\n");
  return 2;
}

static int parse(int argc, char **argv, options *o) {
  o->device = "cpu";
  o->precision = GPD_PRECISION_FP32;
  o->batch[0] = 10, o->batch[1] = 100, o->n_batch = 2;
  o->warmup = 2, o->reps = 10, o->json = 0, o->header = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) o->json = 1;
    else if (!strcmp(a, "--no-header")) o->header = 0;
    else if (!strcmp(a, "--header")) o->header = 1;
    else if (!v) return gpd_error("option %s needs a value (or is unknown)", a);
    else if (!strcmp(a, "--device")) o->device = v, i++;
    else if (!strcmp(a, "--precision")) {
      GPD_TRY(bench_parse_precision(v, &o->precision));
      i++;
    } else if (!strcmp(a, "--batch")) {
      if ((o->n_batch = bench_parse_list(v, o->batch, MAX_BATCHES, "--batch")) < 0) return -1;
      i++;
    } else if (!strcmp(a, "--warmup")) o->warmup = atoi(v), i++;
    else if (!strcmp(a, "--reps")) o->reps = atoi(v), i++;
    else return gpd_error("unknown option %s", a);
  }
  if (strcmp(o->device, "cpu") && strcmp(o->device, "cuda"))
    return gpd_error("--device %s: expected cpu or cuda", o->device);
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
  if (parse(argc, argv, &o) != 0) {
    fprintf(stderr, "bench_generator: %s\n", gpd_last_error());
    return usage();
  }
  if (!strcmp(o.device, "cuda") && !gpd_cuda_available()) {
    fprintf(stderr, "bench_generator: skipped --device cuda: no CUDA engine in this build or no GPU visible\n");
    return 77;
  }
  gpd_engine *e = gpd_engine_create(o.device, o.precision);
  if (!e) {
    fprintf(stderr, "bench_generator: %s\n", gpd_last_error());
    return 1;
  }
  gpd_net g;
  if (bench_make_net(&g, e, "dcgan_tf", "generator", 1) != 0) {
    fprintf(stderr, "bench_generator: %s\n", gpd_last_error());
    gpd_engine_destroy(e);
    return 1;
  }
  const double macs = gpd_net_forward_flops(&g);
  const int threads = !strcmp(o.device, "cpu") ? bench_cpu_threads() : 0;
  double *t = malloc(sizeof(double) * (size_t)o.reps);
  int status = 0;
  if (o.header && !o.json)
    printf("bench,impl,device,precision,threads,batch,warmup,reps,median_ms,min_ms,max_ms,gflop_per_rep,gflops,"
           "loadavg\n");
  for (int b = 0; b < o.n_batch && t; b++) {
    const int n = o.batch[b];
    if (time_batch(e, &g, n, o.warmup, o.reps, t) != 0) {
      fprintf(stderr, "bench_generator: batch %d: %s\n", n, gpd_last_error());
      status = 1;
      break;
    }
    bench_stats s = bench_summarise(t, o.reps);
    const double gflop = 4.0 * macs * n * 1e-9; /* 2 FLOPs per MAC, forward + backward to the input */
    const double load = bench_loadavg();
    if (o.json)
      printf("{\"bench\": \"generator\", \"impl\": \"gpdeblur\", \"device\": \"%s\", \"precision\": \"%s\", "
             "\"threads\": %d, \"batch\": %d, \"warmup\": %d, \"reps\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f, "
             "\"max_ms\": %.3f, \"gflop_per_rep\": %.4f, \"gflops\": %.2f, \"loadavg\": %.2f}\n",
             o.device, bench_precision_name(e->precision), threads, n, o.warmup, o.reps, 1e3 * s.median, 1e3 * s.min,
             1e3 * s.max, gflop, gflop / s.median, load);
    else
      printf("generator,gpdeblur,%s,%s,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.4f,%.2f,%.2f\n", o.device,
             bench_precision_name(e->precision), threads, n, o.warmup, o.reps, 1e3 * s.median, 1e3 * s.min,
             1e3 * s.max, gflop, gflop / s.median, load);
    fflush(stdout);
  }
  free(t);
  gpd_net_free(&g);
  gpd_engine_destroy(e);
  return status;
}
