/* Every convolution pass of DCGAN-64's generator (dcgan_tf, width 64), its
 * discriminator (dcgan_disc, width 64) and the blur VAE's decoder, one op at
 * a time through an engine's table: the numbers behind the cpu engine's
 * choice of route per pass (oneDNN's direct kernels, im2col + sgemm, or a
 * transposed convolution's forward by phases; host/cpu/dnnl_conv.c).
 *
 * Each pass runs warm-up + reps times on random data; the median wall time
 * and the median process CPU time per call are reported. With one thread
 * (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1) CPU time is the work itself,
 * which other programs on a shared machine barely change; GFLOP/s is per
 * CPU second (2 per multiply-add). --hold holds the weights constant
 * (gpd_engine.hold_constant), as a solver does.
 *
 *   bench_layers [--device ref|cpu|cuda] [--precision fp32|bf16] [--batch 10,64]
 *                [--reps 5] [--hold] [--json] [--no-header]
 * One CSV line per layer, pass and batch. */
#include <time.h>

#include "bench_util.h"

#define MAX_BATCHES 8

static const char *PROG = "bench_layers";

typedef struct layer {
  const char *net; /* generator, discriminator, blur_decoder */
  int transposed;
  gpd_conv_geom g; /* n set per batch */
} layer;

/*                                             n c_in h_in w_in c_out h_out w_out k s p */
static const layer LAYERS[] = {
    {"generator", 1, {0, 512, 4, 4, 256, 8, 8, 5, 2, 2}},
    {"generator", 1, {0, 256, 8, 8, 128, 16, 16, 5, 2, 2}},
    {"generator", 1, {0, 128, 16, 16, 64, 32, 32, 5, 2, 2}},
    {"generator", 1, {0, 64, 32, 32, 3, 64, 64, 5, 2, 2}},
    {"discriminator", 0, {0, 3, 64, 64, 64, 32, 32, 4, 2, 1}},
    {"discriminator", 0, {0, 64, 32, 32, 128, 16, 16, 4, 2, 1}},
    {"discriminator", 0, {0, 128, 16, 16, 256, 8, 8, 4, 2, 1}},
    {"discriminator", 0, {0, 256, 8, 8, 512, 4, 4, 4, 2, 1}},
    {"discriminator", 0, {0, 512, 4, 4, 1, 1, 1, 4, 1, 0}},
    {"blur_decoder", 1, {0, 20, 12, 12, 20, 13, 13, 2, 1, 0}},
    {"blur_decoder", 1, {0, 20, 26, 26, 20, 27, 27, 2, 1, 0}},
    {"blur_decoder", 1, {0, 20, 27, 27, 1, 28, 28, 2, 1, 0}},
};
static const char *PASSES[] = {"forward", "backward_data", "backward_weights"};

typedef struct options {
  bench_common c;
  int batch[MAX_BATCHES], n_batch, reps, hold;
} options;

static const char *USAGE =
    "usage: bench_layers [--device ref|cpu|cuda] [--precision fp32|bf16] [--batch 10,64] [--reps 5] [--hold]\n"
    "                    [--json] [--no-header]\n";

static int parse(int argc, char **argv, options *o) {
  bench_common_init(&o->c);
  o->batch[0] = 10, o->batch[1] = 64, o->n_batch = 2;
  o->reps = 5, o->hold = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (!strcmp(a, "--hold")) {
      o->hold = 1;
      continue;
    }
    const int common = bench_option(&o->c, argc, argv, &i, &v);
    if (common < 0) return -1;
    if (common) continue;
    if (!strcmp(a, "--batch")) {
      if ((o->n_batch = bench_parse_list(v, o->batch, MAX_BATCHES, "--batch")) < 0) return -1;
    } else if (!strcmp(a, "--reps")) o->reps = atoi(v);
    else return gpd_error("unknown option %s", a);
  }
  GPD_TRY(bench_common_check(&o->c));
  if (o->reps < 1 || o->reps > 1000) return gpd_error("--reps in [1, 1000]");
  return 0;
}

/* One pass of layer l at geometry g on tensors x, w, b, y, dw (engine memory). */
static int run_pass(gpd_engine *e, const layer *l, const gpd_conv_geom *g, int pass, float *x, float *w, float *b,
                    float *y, float *dw) {
  if (l->transposed) {
    if (pass == 0) return e->conv_transpose2d_forward(e, g, x, w, b, y);
    if (pass == 1) return e->conv_transpose2d_backward_data(e, g, y, w, x);
    return e->conv_transpose2d_backward_weights(e, g, x, y, dw, b);
  }
  if (pass == 0) return e->conv2d_forward(e, g, x, w, NULL, y);
  if (pass == 1) return e->conv2d_backward_data(e, g, y, w, x);
  return e->conv2d_backward_weights(e, g, x, y, dw, NULL);
}

/* Times every pass of layer l at batch n: wall[pass], cpu[pass] (medians, s). */
static int time_layer(gpd_engine *e, const options *o, const layer *l, int n, double *wall, double *cpu) {
  gpd_conv_geom g = l->g;
  g.n = n;
  const size_t nx = (size_t)n * g.c_in * g.h_in * g.w_in, ny = (size_t)n * g.c_out * g.h_out * g.w_out;
  const size_t nw = (size_t)g.c_in * g.c_out * g.k * g.k;
  float *x = e->alloc(e, nx, "x"), *y = e->alloc(e, ny, "y"), *w = e->alloc(e, nw, "w");
  float *dw = e->alloc(e, nw, "dw"), *b = e->alloc(e, (size_t)g.c_out, "bias");
  double *tw = malloc(sizeof(double) * (size_t)o->reps), *tc = malloc(sizeof(double) * (size_t)o->reps);
  int rc = -1;
  if (!x || !y || !w || !dw || !b || !tw || !tc) goto done;
  if (bench_upload_normal(e, x, nx, 1) || bench_upload_normal(e, y, ny, 2) || bench_upload_normal(e, w, nw, 3))
    goto done;
  if (o->hold && gpd_engine_hold_constant(e, w, nw, 1) != 0) goto done;
  for (int pass = 0; pass < 3; pass++) {
    for (int r = -1; r < o->reps; r++) { /* one warm-up call plans the primitives */
      const double w0 = gpd_seconds(), c0 = bench_cpu_seconds();
      if (run_pass(e, l, &g, pass, x, w, b, y, dw) != 0 || e->sync(e) != 0) goto done;
      if (r >= 0) tw[r] = gpd_seconds() - w0, tc[r] = bench_cpu_seconds() - c0;
    }
    wall[pass] = bench_summarise(tw, o->reps).median;
    cpu[pass] = bench_summarise(tc, o->reps).median;
  }
  rc = 0;
done:
  if (o->hold && w && gpd_engine_hold_constant(e, w, nw, 0) != 0) rc = -1;
  free(tw);
  free(tc);
  e->free(e, x), e->free(e, y), e->free(e, w), e->free(e, dw), e->free(e, b);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  int status = 0;
  gpd_engine *e = bench_start(PROG, USAGE, parse(argc, argv, &o), &o.c, &status);
  if (!e) return status;
  const int threads = bench_cpu_threads(&o.c);
  int header_done = 0;
  for (int bi = 0; bi < o.n_batch && status == 0; bi++)
    for (size_t li = 0; li < sizeof LAYERS / sizeof LAYERS[0] && status == 0; li++) {
      const layer *l = &LAYERS[li];
      const int n = o.batch[bi];
      double wall[3], cpu[3];
      if (time_layer(e, &o, l, n, wall, cpu) != 0) {
        fprintf(stderr, "%s: %s layer %zu: %s\n", PROG, l->net, li, gpd_last_error());
        status = 1;
        break;
      }
      const gpd_conv_geom *g = &l->g;
      const int small_h = l->transposed ? g->h_in : g->h_out, small_w = l->transposed ? g->w_in : g->w_out;
      const double gflop = 2.0 * n * small_h * small_w * g->c_in * g->c_out * g->k * g->k * 1e-9;
      char shape[64];
      snprintf(shape, sizeof shape, "%dx%dx%d->%dx%dx%d k%d s%d", g->c_in, g->h_in, g->w_in, g->c_out, g->h_out,
               g->w_out, g->k, g->stride);
      for (int pass = 0; pass < 3; pass++) {
        bench_row r;
        bench_row_start(&r, "layers", &o.c, e, threads);
        bench_row_str(&r, "net", l->net);
        bench_row_str(&r, "layer", l->transposed ? "conv_transpose2d" : "conv2d");
        bench_row_str(&r, "shape", shape);
        bench_row_str(&r, "pass", PASSES[pass]);
        bench_row_num(&r, "batch", "%d", n);
        bench_row_num(&r, "held", "%d", o.hold);
        bench_row_num(&r, "median_ms", "%.3f", 1e3 * wall[pass]);
        bench_row_num(&r, "cpu_ms", "%.3f", 1e3 * cpu[pass]);
        bench_row_num(&r, "gflops_per_cpu_s", "%.1f", gflop / cpu[pass]);
        bench_row_num(&r, "loadavg", "%.2f", bench_loadavg());
        bench_row_print(&r, &o.c, &header_done);
      }
    }
  gpd_engine_destroy(e);
  return status;
}
