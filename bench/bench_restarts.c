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
 *   the fraction of the device's peak: CPU, the gemm rate the engine's
 *     library reaches here at the same thread count (measured at start-up,
 *     best of 20 1024^3 calls, so that one quiet moment of a shared machine
 *     is enough): OpenBLAS's sgemm for ref, oneDNN's matmul in the
 *     engine's precision for cpu (bf16: bf16 in, fp32 out; fp32: oneDNN's
 *     or OpenBLAS's, whichever is faster here); CUDA, the FP32 (or TF32
 *     with --precision tf32) peak from the GPU's properties (bench_util.h);
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
 *   bench_restarts [--device ref|cpu|cuda] [--precision fp32|tf32|bf16]
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

static const char *PROG = "bench_restarts";

typedef struct options {
  bench_common c;
  int restarts[MAX_COUNTS], n_counts;
  int steps, warmup;
  float lr;
} options;

static const char *USAGE =
    "usage: bench_restarts [--device ref|cpu|cuda] [--precision fp32|tf32|bf16] [--restarts 1,10,100]\n"
    "                      [--steps N] [--warmup 1 (CUDA 2)] [--lr 1e-6] [--json] [--no-header]\n";

static int parse(int argc, char **argv, options *o) {
  bench_common_init(&o->c);
  o->restarts[0] = 1, o->restarts[1] = 10, o->restarts[2] = 100, o->n_counts = 3;
  o->steps = 0, o->warmup = 0;
  /* Random generators make far larger gradients than trained ones (the
   * random blur decoder's kernels are not normalised): the paper's step
   * 0.01 makes every restart diverge within a few iterations, and the
   * solver then stops. The step size does not change the work per
   * iteration, so the benchmark takes one that keeps restarts finite. */
  o->lr = 1e-6f;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const int common = bench_option(&o->c, argc, argv, &i, &v);
    if (common < 0) return -1;
    if (common) continue;
    if (!strcmp(a, "--restarts")) {
      if ((o->n_counts = bench_parse_list(v, o->restarts, MAX_COUNTS, "--restarts")) < 0) return -1;
    } else if (!strcmp(a, "--steps")) o->steps = atoi(v);
    else if (!strcmp(a, "--warmup")) o->warmup = atoi(v);
    else if (!strcmp(a, "--lr")) o->lr = (float)atof(v);
    else return gpd_error("unknown option %s", a);
  }
  GPD_TRY(bench_common_check(&o->c));
  if (!(o->lr > 0.0f)) return gpd_error("--lr must be > 0");
  /* The first iteration includes the solver's setup; on CUDA the second
   * records the iteration as a graph (solve_common.c), replayed from the
   * third on. */
  if (!o->warmup) o->warmup = strcmp(o->c.device, "cuda") ? 1 : 2;
  if (o->warmup < 1 || o->steps < 0 || o->steps > 100000)
    return gpd_error("--warmup must be >= 1 (the first iteration includes the setup) and --steps in [0, 100000]");
  return 0;
}

/* ---- per-iteration marks from the solver's progress callback ---------------- */

/* The marks and, at each of them, the memory in use. */
typedef struct marks {
  bench_marks tm;
  gpd_engine *e;
  int cuda;
  size_t rss0, rss_peak, max0; /* max0: getrusage's peak before the solve */
  size_t free0, free_min;
} marks;

static void on_progress(void *ctx, int done, int total) {
  (void)done, (void)total;
  marks *m = ctx;
  bench_marks_add(&m->tm);
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
  marks m = {.e = e, .cuda = cuda};
  o.progress = on_progress;
  o.progress_ctx = &m;
  if (cuda) {
    if (e->sync(e) != 0) return -1;
    m.free0 = m.free_min = e->memory_free(e);
  } else {
    m.rss0 = m.rss_peak = bench_rss_bytes();
    m.max0 = bench_max_rss_bytes();
  }
  bench_mem_reset_peak();
  gpd_solve_result res;
  if (bench_marks_start(&m.tm, o.steps + 1) != 0) return -1;
  int rc = gpd_solve(e, y, gi, gk, &o, &res);
  if (rc == 0) {
    const int groups = res.groups > 0 ? res.groups : 1;
    double *dt = gpd_malloc(sizeof(double) * (size_t)steps * groups, "iteration times");
    if (!dt || m.tm.n != o.steps * groups + 1) {
      if (dt) gpd_error("the solver reported %d iterations, expected %d (%d groups of %d)", m.tm.n - 1,
                        o.steps * groups, groups, o.steps);
      rc = -1;
    } else {
      int n = 0;
      for (int g = 0; g < groups; g++) bench_marks_take(&m.tm, g * o.steps + warmup, (g + 1) * o.steps, dt, &n);
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
  bench_marks_free(&m.tm);
  return rc;
}

int main(int argc, char **argv) {
  options o;
  int status = 0;
  gpd_engine *e = bench_start(PROG, USAGE, parse(argc, argv, &o), &o.c, &status);
  if (!e) return status;
  const int cuda = !strcmp(o.c.device, "cuda");
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
      fprintf(stderr, "%s: %s sm_%d%d, %d SMs, %.2f GHz, %.1f GiB; peak FP32 %.1f TFLOP/s, TF32 %.1f\n", PROG,
              g.name, g.sm_major, g.sm_minor, g.sms, g.clock_ghz, g.total_bytes / 1073741824.0, g.fp32_tflops,
              g.tf32_tflops);
    }
  } else {
    threads = bench_cpu_threads(&o.c);
    char model[256];
    bench_cpu_model(model, sizeof model);
    /* the cpu engine runs on oneDNN: its gemm in the engine's precision
     * (fp32: OpenBLAS's sgemm instead when that is faster here) */
    const int onednn_side = !strcmp(o.c.device, "cpu"), bf16 = e->precision == GPD_PRECISION_BF16;
    const double onednn = onednn_side ? bench_cpu_onednn_gemm_peak_gflops(1024, 20, bf16) : 0.0;
    if (onednn_side)
      fprintf(stderr, "%s: %s, %d threads, oneDNN %s gemm 1024^3 best %.1f GFLOP/s\n", PROG, model, threads,
              bf16 ? "bf16" : "fp32", onednn);
    if (onednn > 0 && bf16) {
      peak = onednn;
      peak_kind = "onednn-bf16-measured";
    } else {
      const double sgemm = bench_cpu_peak_at(threads);
      fprintf(stderr, "%s: %s, %d threads, sgemm 1024^3 best %.1f GFLOP/s\n", PROG, model, threads, sgemm);
      peak = onednn > sgemm ? onednn : sgemm;
      peak_kind = onednn > sgemm ? "onednn-fp32-measured" : "sgemm-measured";
    }
  }

  gpd_net gi, gk;
  gpd_image y;
  if (bench_make_problem(e, &gi, &gk, &y) != 0) {
    gpd_engine_destroy(e);
    return bench_fail(PROG);
  }
  const double macs = gpd_net_forward_flops(&gi) + gpd_net_forward_flops(&gk);
  int header_done = 0;
  for (int i = 0; i < o.n_counts; i++) {
    const int R = o.restarts[i];
    int steps = o.steps;
    if (!steps) {
      steps = cuda ? 20 : 500 / R;
      if (steps > 20) steps = 20;
      if (steps < 2) steps = 2;
    }
    measured m;
    if (run_one(e, cuda, &gi, &gk, &y, R, o.warmup, steps, o.lr, &m) != 0) {
      fprintf(stderr, "%s: %d restarts: %s\n", PROG, R, gpd_last_error());
      status = 1;
      break;
    }
    const double gflop = 4.0 * macs * R * 1e-9, med = m.step;
    bench_row r;
    bench_row_start(&r, "restarts", &o.c, e, threads);
    bench_row_num(&r, "restarts", "%d", R);
    bench_row_num(&r, "warmup", "%d", o.warmup);
    bench_row_num(&r, "steps", "%d", steps);
    bench_row_num(&r, "median_ms", "%.3f", 1e3 * med);
    bench_row_num(&r, "min_ms", "%.3f", 1e3 * (m.it.min * m.groups));
    bench_row_num(&r, "max_ms", "%.3f", 1e3 * (m.it.max * m.groups));
    bench_row_num(&r, "restart_iters_per_s", "%.2f", R / med);
    bench_row_num(&r, "gflop_per_iter", "%.4f", gflop);
    bench_row_num(&r, "gflops", "%.2f", gflop / med);
    bench_row_num(&r, "peak_gflops", "%.1f", peak);
    bench_row_str(&r, "peak_kind", peak_kind);
    bench_row_num(&r, "peak_fraction", "%.4f", peak > 0 ? gflop / med / peak : NAN);
    bench_row_num(&r, "engine_mb", "%.1f", m.engine_bytes / 1048576.0);
    bench_row_num(&r, "rss_or_device_mb", "%.1f", (cuda ? m.device_bytes : m.rss_bytes) / 1048576.0);
    bench_row_num(&r, "diverged", "%d", m.diverged);
    bench_row_num(&r, "groups", "%d", m.groups);
    bench_row_num(&r, "graph_launches", "%ld", m.graph_launches);
    bench_row_num(&r, "loadavg", "%.2f", bench_loadavg());
    bench_row_print(&r, &o.c, &header_done);
  }
  bench_problem_free(&gi, &gk, &y);
  gpd_engine_destroy(e);
  return status;
}
