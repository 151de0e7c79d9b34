/* Algorithm 1's restart throughput: how many restart-iterations per second
 * the solver sustains as the number of restarts (the batch) grows.
 *
 * Problem: a 64x64x3 blurry image (circular boundary), the DCGAN-64
 * generator (dcgan_tf, width 64, latent 100) as G_I and the blur VAE
 * decoder (latent 50, 28x28 kernels) as G_K, both with random weights
 * (gpd_net_init), the paper's Algorithm 1 settings (gpd_solve_defaults)
 * except the step size (--lr, default 1e-6: see parse()).
 * Each measurement is one gpd_solve call: the solver's own loop (forward of
 * both generators, the Fourier data term and its gradients, backward of
 * both generators to their latents, the latent penalties, the per-restart
 * loss download and divergence check, the gradient step). The progress
 * callback marks the end of every iteration; the first `warmup` intervals
 * (the first includes the solver's setup) are dropped and the median of the
 * rest is one iteration's time.
 *
 * Reported per restart count R:
 *   restart-iterations/s = R / median iteration time;
 *   GFLOP/s counting the two generators only: 2 FLOPs per multiply-add, the
 *     forward plus the backward to the input (the same multiply-adds again),
 *     i.e. 4 x (MACs(G_I) + MACs(G_K)) x R per iteration; the data term's
 *     14 FFTs of 64x64 per restart (~1.7 MFLOP, 0.3%) and the elementwise
 *     ops are not counted;
 *   the fraction of the device's peak: CPU, the sgemm rate OpenBLAS
 *     reaches here at the same thread count (measured at start-up, best of
 *     20 1024^3 sgemm calls, so that one quiet moment of a shared machine
 *     is enough); CUDA, the FP32 (or TF32 with --precision
 *     tf32) peak from the GPU's properties (bench_util.h);
 *   memory: engine_mb, the peak of engine memory handed out through the
 *     engine table during the solve (the networks' weights, workspaces,
 *     latents, data-term buffers); rss_or_device_mb: CPU, the process's
 *     resident set at its peak during the solve (the current size, and
 *     getrusage's peak when the solve raised it, checked at every
 *     iteration) minus its size before the solve;
 *     CUDA, the largest drop in free device memory seen during
 *     the solve (includes cuDNN / cuFFT workspaces and the allocator's
 *     arena).
 *
 *   bench_restarts [--device cpu|cuda] [--precision fp32|tf32|bf16]
 *                  [--restarts 1,10,100] [--steps N] [--warmup 1 (CUDA 2)] [--lr 1e-6]
 *                  [--json] [--no-header]
 * --steps is the number of timed iterations per restart count (default
 * clamp(500 / R, 2, 20) on the CPU, 20 on CUDA). Exit 77 when --device cuda
 * has no CUDA engine or GPU. */
#include <math.h>

#include "bench_util.h"
#include "gpd/blur.h"
#include "gpd/image.h"
#include "gpd/solve.h"

#define MAX_COUNTS 16

typedef struct options {
  const char *device;
  gpd_precision precision;
  int restarts[MAX_COUNTS], n_counts;
  int steps, warmup, json, header;
  float lr;
} options;

static int usage(void) {
  fprintf(stderr, "usage: bench_restarts [--device cpu|cuda] [--precision fp32|tf32|bf16] [--restarts 1,10,100]\n"
                  "                      [--steps N] [--warmup 1 (CUDA 2)] [--lr 1e-6] [--json] [--no-header]\n");
  return 2;
}

static int parse(int argc, char **argv, options *o) {
  o->device = "cpu";
  o->precision = GPD_PRECISION_FP32;
  o->restarts[0] = 1, o->restarts[1] = 10, o->restarts[2] = 100, o->n_counts = 3;
  o->steps = 0, o->warmup = 0, o->json = 0, o->header = 1;
  /* Random generators make far larger gradients than trained ones (the
   * random blur decoder's kernels are not normalised): the paper's step
   * 0.01 makes every restart diverge within a few iterations, and the
   * solver then stops. The step size does not change the work per
   * iteration, so the benchmark takes one that keeps restarts finite. */
  o->lr = 1e-6f;
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
    } else if (!strcmp(a, "--restarts")) {
      if ((o->n_counts = bench_parse_list(v, o->restarts, MAX_COUNTS, "--restarts")) < 0) return -1;
      i++;
    } else if (!strcmp(a, "--steps")) o->steps = atoi(v), i++;
    else if (!strcmp(a, "--warmup")) o->warmup = atoi(v), i++;
    else if (!strcmp(a, "--lr")) o->lr = (float)atof(v), i++;
    else return gpd_error("unknown option %s", a);
  }
  if (strcmp(o->device, "cpu") && strcmp(o->device, "cuda"))
    return gpd_error("--device %s: expected cpu or cuda", o->device);
  if (!(o->lr > 0.0f)) return gpd_error("--lr must be > 0");
  /* The first iteration includes the solver's setup; on CUDA the second
   * records the iteration as a graph (solve_common.c), replayed from the
   * third on. */
  if (!o->warmup) o->warmup = strcmp(o->device, "cuda") ? 1 : 2;
  if (o->warmup < 1 || o->steps < 0 || o->steps > 100000)
    return gpd_error("--warmup must be >= 1 (the first iteration includes the setup) and --steps in [0, 100000]");
  return 0;
}

/* ---- per-iteration marks from the solver's progress callback ---------------- */

typedef struct marks {
  gpd_engine *e;
  int cuda;
  double *t;          /* t[0]: before gpd_solve; t[i]: end of iteration i */
  int n, cap;
  size_t rss0, rss_peak, max0; /* max0: getrusage's peak before the solve */
  size_t free0, free_min;
} marks;

static void on_progress(void *ctx, int done, int total) {
  (void)done, (void)total;
  marks *m = ctx;
  if (m->n == m->cap) { /* more marks than one group's: the restarts ran in groups */
    double *t = realloc(m->t, sizeof(double) * 2 * (size_t)m->cap);
    if (!t) return; /* the count check after the solve reports it */
    m->t = t;
    m->cap *= 2;
  }
  m->t[m->n++] = gpd_seconds();
  if (m->cuda) {
    size_t f = m->e->memory_free(m->e);
    if (f < m->free_min) m->free_min = f;
  } else {
    size_t r = bench_rss_bytes(), mr = bench_max_rss_bytes();
    if (r > m->rss_peak) m->rss_peak = r;
    if (mr > m->max0 && mr > m->rss_peak) m->rss_peak = mr; /* a new peak of the process, during the solve */
  }
}

typedef struct measured {
  bench_stats it;     /* seconds per iteration interval */
  double step;        /* seconds per iteration of all restarts */
  size_t engine_bytes, rss_bytes, device_bytes;
  int diverged, groups;
  long graph_launches;
} measured;

/* One gpd_solve of Algorithm 1 at `restarts`, warmup + steps iterations.
 * threads = 1: one batch on one engine (the memory plan may still split
 * the restarts into groups that run one after another; then each group's
 * first `warmup` intervals are dropped and a step of all restarts takes
 * groups x the median interval). */
static int run_one(gpd_engine *e, int cuda, gpd_net *gi, gpd_net *gk, const gpd_image *y, int restarts, int warmup,
                   int steps, float lr, measured *out) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.restarts = restarts;
  o.lr = lr;
  o.steps = warmup + steps;
  o.seed = 1;
  o.threads = 1;
  marks m = {e, cuda, NULL, 0, o.steps + 1, 0, 0, 0, 0, 0};
  if (!(m.t = gpd_malloc(sizeof(double) * (size_t)m.cap, "iteration marks"))) return -1;
  o.progress = on_progress;
  o.progress_ctx = &m;
  if (cuda) {
    if (e->sync(e) != 0) {
      free(m.t);
      return -1;
    }
    m.free0 = m.free_min = e->memory_free(e);
  } else {
    m.rss0 = m.rss_peak = bench_rss_bytes();
    m.max0 = bench_max_rss_bytes();
  }
  bench_mem_reset_peak();
  gpd_solve_result res;
  m.t[m.n++] = gpd_seconds();
  int rc = gpd_solve(e, y, gi, gk, &o, &res);
  if (rc == 0) {
    const int groups = res.groups > 0 ? res.groups : 1;
    double *dt = gpd_malloc(sizeof(double) * (size_t)steps * groups, "iteration times");
    if (!dt || m.n != o.steps * groups + 1) {
      if (dt) gpd_error("the solver reported %d iterations, expected %d (%d groups of %d)", m.n - 1, o.steps * groups,
                        groups, o.steps);
      rc = -1;
    } else {
      int n = 0;
      for (int g = 0; g < groups; g++)
        for (int i = warmup; i < o.steps; i++) {
          const int k = g * o.steps + i;
          dt[n++] = m.t[k + 1] - m.t[k];
        }
      out->it = bench_summarise(dt, n);
      out->step = out->it.median * groups;
      out->engine_bytes = bench_mem_state.peak;
      out->rss_bytes = m.rss_peak > m.rss0 ? m.rss_peak - m.rss0 : 0;
      out->device_bytes = m.free0 > m.free_min ? m.free0 - m.free_min : 0;
      out->diverged = res.diverged;
      out->groups = groups;
      out->graph_launches = res.graph_launches;
    }
    free(dt);
    gpd_solve_result_free(&res);
  }
  free(m.t);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  if (parse(argc, argv, &o) != 0) {
    fprintf(stderr, "bench_restarts: %s\n", gpd_last_error());
    return usage();
  }
  const int cuda = !strcmp(o.device, "cuda");
  if (cuda && !gpd_cuda_available()) {
    fprintf(stderr, "bench_restarts: skipped --device cuda: no CUDA engine in this build or no GPU visible\n");
    return 77;
  }
  gpd_engine *e = gpd_engine_create(o.device, o.precision);
  if (!e) {
    fprintf(stderr, "bench_restarts: %s\n", gpd_last_error());
    return 1;
  }
  bench_mem_track(e);

  /* the device's peak */
  double peak = 0.0;
  const char *peak_kind = "unknown";
  int threads = 0;
  if (cuda) {
    bench_gpu_info g;
    if (bench_gpu_query(&g) == 0) {
      int tf32 = e->precision == GPD_PRECISION_TF32 && g.tf32_tflops > 0;
      peak = 1e3 * (tf32 ? g.tf32_tflops : g.fp32_tflops);
      peak_kind = tf32 ? "tf32-spec" : "fp32-spec";
      fprintf(stderr, "bench_restarts: %s sm_%d%d, %d SMs, %.2f GHz, %.1f GiB; peak FP32 %.1f TFLOP/s, TF32 %.1f\n",
              g.name, g.sm_major, g.sm_minor, g.sms, g.clock_ghz, g.total_bytes / 1073741824.0, g.fp32_tflops,
              g.tf32_tflops);
    }
  } else {
    threads = bench_cpu_threads();
    peak = bench_cpu_sgemm_peak_gflops(1024, 20);
    peak_kind = "sgemm-measured";
    char model[256];
    bench_cpu_model(model, sizeof model);
    fprintf(stderr, "bench_restarts: %s, %d OpenBLAS threads, sgemm 1024^3 best %.1f GFLOP/s\n", model, threads,
            peak);
  }

  gpd_net gi, gk;
  gpd_image y = {0};
  int status = 1, reported = 0;
  if (bench_make_net(&gi, e, "dcgan_tf", "generator", 1) != 0) goto fail_nets;
  if (bench_make_net(&gk, e, "blur_vae", "decoder", 2) != 0) {
    gpd_net_free(&gi);
    goto fail_nets;
  }
  if (bench_make_measurement(e, &gi, gk.out_h, &y) != 0) goto fail;
  const double macs = gpd_net_forward_flops(&gi) + gpd_net_forward_flops(&gk);

  if (o.header && !o.json)
    printf("bench,impl,device,precision,threads,restarts,warmup,steps,median_ms,min_ms,max_ms,restart_iters_per_s,"
           "gflop_per_iter,gflops,peak_gflops,peak_kind,peak_fraction,engine_mb,rss_or_device_mb,diverged,groups,"
           "graph_launches,loadavg\n");
  fflush(stdout);
  status = 0;
  for (int i = 0; i < o.n_counts; i++) {
    const int R = o.restarts[i];
    int steps = o.steps;
    if (!steps) {
      steps = cuda ? 20 : 500 / R;
      if (steps > 20) steps = 20;
      if (steps < 2) steps = 2;
    }
    measured r;
    if (run_one(e, cuda, &gi, &gk, &y, R, o.warmup, steps, o.lr, &r) != 0) {
      fprintf(stderr, "bench_restarts: %d restarts: %s\n", R, gpd_last_error());
      status = 1, reported = 1;
      break;
    }
    const double gflop = 4.0 * macs * R * 1e-9, med = r.step;
    const double lo = r.it.min * r.groups, hi = r.it.max * r.groups;
    const double mem2 = (cuda ? r.device_bytes : r.rss_bytes) / 1048576.0;
    const double frac = peak > 0 ? gflop / med / peak : NAN;
    if (o.json)
      printf("{\"bench\": \"restarts\", \"impl\": \"gpdeblur\", \"device\": \"%s\", \"precision\": \"%s\", "
             "\"threads\": %d, \"restarts\": %d, \"warmup\": %d, \"steps\": %d, \"median_ms\": %.3f, "
             "\"min_ms\": %.3f, \"max_ms\": %.3f, \"restart_iters_per_s\": %.2f, \"gflop_per_iter\": %.4f, "
             "\"gflops\": %.2f, \"peak_gflops\": %.1f, \"peak_kind\": \"%s\", \"peak_fraction\": %.4f, "
             "\"engine_mb\": %.1f, \"rss_or_device_mb\": %.1f, \"diverged\": %d, \"groups\": %d, "
             "\"graph_launches\": %ld, \"loadavg\": %.2f}\n",
             o.device, bench_precision_name(e->precision), threads, R, o.warmup, steps, 1e3 * med, 1e3 * lo,
             1e3 * hi, R / med, gflop, gflop / med, peak, peak_kind, frac, r.engine_bytes / 1048576.0, mem2,
             r.diverged, r.groups, r.graph_launches, bench_loadavg());
    else
      printf("restarts,gpdeblur,%s,%s,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.2f,%.4f,%.2f,%.1f,%s,%.4f,%.1f,%.1f,%d,%d,%ld,%.2f\n",
             o.device, bench_precision_name(e->precision), threads, R, o.warmup, steps, 1e3 * med, 1e3 * lo, 1e3 * hi,
             R / med, gflop, gflop / med, peak, peak_kind, frac, r.engine_bytes / 1048576.0, mem2, r.diverged,
             r.groups, r.graph_launches, bench_loadavg());
    fflush(stdout);
  }
fail:
  if (status && !reported) fprintf(stderr, "bench_restarts: %s\n", gpd_last_error());
  gpd_image_free(&y);
  gpd_net_free(&gk);
  gpd_net_free(&gi);
  gpd_engine_destroy(e);
  return status;
fail_nets:
  fprintf(stderr, "bench_restarts: %s\n", gpd_last_error());
  gpd_engine_destroy(e);
  return 1;
}
