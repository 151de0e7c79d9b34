/* Images x restarts in one batch: `gpdeblur eval` at R restarts per image
 * (its images batched into one solve) against one gpd_solve of N x R
 * restarts, in restart-iterations per second, on the same engine in the
 * same run; and eval one image per solve (--batch-images 1, a batch of R)
 * beside them.
 *
 * Problem: the solver benches' (bench_util.h: the DCGAN-64 generator and
 * the blur VAE decoder with random weights); the eval's N test images are
 * 64x64 generator images G_I(z_j) written as PNG files into a temporary
 * folder, blurred by eval with motion kernels and 1% noise as usual; the
 * plain solve deblurs bench_make_measurement's image. Algorithm 1 at step
 * 1e-6 by default (random generators diverge at the paper's step; the step
 * does not change the work: see bench_restarts.c), or --alg 2 (Adam at
 * --lr, default 1e-4).
 *
 * One measurement is a whole call, setup included: gpd_eval_run (reading
 * and blurring the images, the memory plan, the solve, metrics, a row per
 * image appended and fsync'd) or gpd_solve. restart-iterations/s =
 * N x R x steps / its wall time; the process's CPU time of each call
 * beside it (with one thread, the work itself, which the machine's other
 * programs barely change). A warm-up call of each at 2 steps comes first
 * (FFT plans of each batch size are made once per process); then --rounds
 * rounds, each running the three one after another, so that all meet the
 * same load; the table is the median over rounds, and the ratios eval /
 * solve (of restart-iterations per second, and per CPU second) are taken
 * within each round.
 *
 *   bench_eval_batch [--device cpu|cuda] [--precision P] [--alg 1|2] [--images 10] [--restarts 10]
 *                    [--steps N (CPU 20, CUDA 200)] [--rounds 3] [--lr X] [--json] [--no-header]
 * Exit 77 when --device cuda has no CUDA engine or GPU. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>

#include "bench_util.h"
#include "gpd/eval.h"
#include "gpd/solve.h"

static const char *PROG = "bench_eval_batch";

static const char *USAGE =
    "usage: bench_eval_batch [--device cpu|cuda] [--precision fp32|tf32|bf16] [--alg 1|2] [--images 10]\n"
    "                        [--restarts 10] [--steps N] [--rounds 3] [--lr X] [--json] [--no-header]\n";

#define MAX_ROUNDS 32

typedef struct options {
  bench_common c;
  int alg, images, restarts, steps, rounds;
  float lr;
} options;

static int parse(int argc, char **argv, options *o) {
  bench_common_init(&o->c);
  o->alg = 1, o->images = 10, o->restarts = 10, o->steps = 0, o->rounds = 3, o->lr = 0.0f;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const int common = bench_option(&o->c, argc, argv, &i, &v);
    if (common < 0) return -1;
    if (common) continue;
    if (!strcmp(a, "--alg")) o->alg = atoi(v);
    else if (!strcmp(a, "--images")) o->images = atoi(v);
    else if (!strcmp(a, "--restarts")) o->restarts = atoi(v);
    else if (!strcmp(a, "--steps")) o->steps = atoi(v);
    else if (!strcmp(a, "--rounds")) o->rounds = atoi(v);
    else if (!strcmp(a, "--lr")) o->lr = (float)atof(v);
    else return gpd_error("unknown option %s", a);
  }
  GPD_TRY(bench_common_check(&o->c));
  if (o->alg != 1 && o->alg != 2) return gpd_error("--alg must be 1 or 2");
  if (o->images < 1 || o->restarts < 1 || o->rounds < 1 || o->rounds > MAX_ROUNDS || o->steps < 0)
    return gpd_error("--images, --restarts and --rounds (at most %d) must be >= 1, --steps >= 0", MAX_ROUNDS);
  if (!o->steps) o->steps = strcmp(o->c.device, "cuda") ? 20 : 200;
  if (!(o->lr >= 0.0f)) return gpd_error("--lr must be > 0");
  if (o->lr == 0.0f) o->lr = o->alg == 1 ? 1e-6f : 1e-4f;
  return 0;
}

static gpd_solve_options solver_options(const options *o, int restarts, int steps) {
  gpd_solve_options s;
  gpd_solve_defaults(&s, o->alg == 1 ? GPD_ALG_1 : GPD_ALG_2);
  s.restarts = restarts;
  s.steps = steps;
  s.seed = 1;
  s.threads = 1;
  if (o->alg == 1) s.lr = o->lr;
  else s.adam_lr = o->lr;
  return s;
}

/* N generator images G_I(z_j) as dir/NNNNNN.png. */
static int write_images(gpd_engine *e, gpd_net *gi, int n, const char *dir) {
  gpd_net_workspace ws;
  GPD_TRY(gpd_net_workspace_alloc(&ws, gi, 1));
  float *z = e->alloc(e, gpd_net_in_size(gi), "z");
  gpd_image im = {0};
  int rc = z && gpd_image_alloc(&im, gi->out_c, gi->out_h, gi->out_w) == 0 ? 0 : -1;
  for (int j = 0; !rc && j < n; j++) {
    const float *x = NULL;
    if ((rc = bench_upload_normal(e, z, gpd_net_in_size(gi), 100 + (uint64_t)j)) != 0) break;
    if (!(x = gpd_net_forward(gi, &ws, 1, z)) || e->download(e, im.data, x, gpd_net_out_size(gi)) != 0) {
      rc = -1;
      break;
    }
    /* the generator's tanh output mapped to [0, 1] */
    for (size_t i = 0; i < gpd_net_out_size(gi); i++) im.data[i] = 0.5f * (im.data[i] + 1.0f);
    char path[4096];
    snprintf(path, sizeof path, "%s/%06d.png", dir, j + 1);
    rc = gpd_image_save_png(&im, path);
  }
  gpd_image_free(&im);
  if (z) e->free(e, z);
  gpd_net_workspace_free(&ws, e);
  return rc;
}

typedef struct eval_setup {
  gpd_eval_list list;
  gpd_eval_kernels kernels;
  char csv[4200];
} eval_setup;

/* Wall and process CPU seconds of one call. */
typedef struct timing {
  double wall, cpu;
} timing;

static timing timing_start(void) { return (timing){gpd_seconds(), bench_cpu_seconds()}; }
static timing timing_since(timing t0) { return (timing){gpd_seconds() - t0.wall, bench_cpu_seconds() - t0.cpu}; }

/* One eval of the folder's images at batch_images per solve (0: automatic);
 * the time of the whole call, the number of ok rows. */
static int run_eval(gpd_engine *e, gpd_net *gi, gpd_net *gk, eval_setup *s, const options *o, int steps,
                    int batch_images, timing *t, long *ok, int *batch_used) {
  gpd_eval_config c;
  memset(&c, 0, sizeof c);
  c.solve = solver_options(o, o->restarts, steps);
  gpd_solve_defaults(&c.range_solve, GPD_ALG_RANGE);
  c.sigma = 0.01f;
  c.kernels = &s->kernels;
  c.shard_k = c.shard_n = 1;
  c.csv = s->csv;
  c.overwrite = 1;
  c.batch_images = batch_images;
  c.precision = e->precision;
  gpd_eval_outcome out;
  const timing t0 = timing_start();
  int rc = gpd_eval_run(e, gi, gk, &c, &s->list, NULL, &out);
  *t = timing_since(t0);
  if (rc == 0) {
    gpd_eval_summary sum;
    gpd_eval_summarize(out.rows.rows, out.rows.n, &sum);
    *ok = sum.ok;
    *batch_used = out.batch_images;
  }
  gpd_eval_outcome_free(&out);
  return rc;
}

static int run_solve(gpd_engine *e, gpd_net *gi, gpd_net *gk, const gpd_image *y, const options *o, int steps,
                     timing *t, int *diverged) {
  gpd_solve_options s = solver_options(o, o->images * o->restarts, steps);
  gpd_solve_result res;
  const timing t0 = timing_start();
  int rc = gpd_solve(e, y, gi, gk, &s, &res);
  *t = timing_since(t0);
  if (rc == 0) {
    *diverged = res.diverged;
    gpd_solve_result_free(&res);
  }
  return rc;
}

static double median(double *x, int n) { return bench_summarise(x, n).median; }

/* The median wall (cpu 0) or CPU (cpu 1) seconds of n timings. */
static double median_of(const timing *t, int n, int cpu) {
  double x[MAX_ROUNDS];
  for (int i = 0; i < n; i++) x[i] = cpu ? t[i].cpu : t[i].wall;
  return median(x, n);
}

int main(int argc, char **argv) {
  options o;
  int status = 0;
  gpd_engine *e = bench_start(PROG, USAGE, parse(argc, argv, &o), &o.c, &status);
  if (!e) return status;
  const int threads = bench_cpu_threads(&o.c);
  gpd_net gi, gk;
  gpd_image y;
  if (bench_make_problem(e, &gi, &gk, &y) != 0) {
    gpd_engine_destroy(e);
    return bench_fail(PROG);
  }
  eval_setup s;
  memset(&s, 0, sizeof s);
  char dir[] = "/tmp/bench_eval_batch_XXXXXX";
  int rc = mkdtemp(dir) ? 0 : gpd_error("cannot make a temporary folder");
  if (!rc) rc = write_images(e, &gi, o.images, dir);
  gpd_eval_selection sel = {.dir = dir, .partition = 2, .first = -1, .last = -1};
  if (!rc) rc = gpd_eval_select(&sel, &s.list);
  s.kernels.seed0 = GPD_EVAL_KERNEL_SEED0;
  s.kernels.len_min = 5;
  s.kernels.len_max = 28;
  s.kernels.ksize = gk.out_h;
  if (!rc) rc = gpd_eval_kernels_prepare(&s.kernels, s.list.n);
  snprintf(s.csv, sizeof s.csv, "%s/results.csv", dir);

  const long work = (long)o.images * o.restarts * o.steps;
  timing t_eval[MAX_ROUNDS], t_solve[MAX_ROUNDS], t_one[MAX_ROUNDS], dummy;
  double ratio[MAX_ROUNDS], ratio_cpu[MAX_ROUNDS];
  long ok = 0, ok_one = 0;
  int batch_used = 0, batch_one = 0, diverged = 0;
  /* warm-up: FFT plans and workspaces of every batch size come into being */
  if (!rc) rc = run_eval(e, &gi, &gk, &s, &o, 2, 0, &dummy, &ok, &batch_used);
  if (!rc) rc = run_eval(e, &gi, &gk, &s, &o, 2, 1, &dummy, &ok, &batch_one);
  if (!rc) rc = run_solve(e, &gi, &gk, &y, &o, 2, &dummy, &diverged);
  for (int r = 0; !rc && r < o.rounds; r++) {
    rc = run_eval(e, &gi, &gk, &s, &o, o.steps, 0, &t_eval[r], &ok, &batch_used);
    if (!rc) rc = run_solve(e, &gi, &gk, &y, &o, o.steps, &t_solve[r], &diverged);
    if (!rc) rc = run_eval(e, &gi, &gk, &s, &o, o.steps, 1, &t_one[r], &ok_one, &batch_one);
    if (!rc) {
      ratio[r] = t_solve[r].wall / t_eval[r].wall;
      ratio_cpu[r] = t_solve[r].cpu / t_eval[r].cpu;
      fprintf(stderr, "%s: round %d: eval batched %.2f s (CPU %.2f s), one %d-restart solve %.2f s (%.2f), eval one "
                      "image per solve %.2f s (%.2f) (load %.2f)\n",
              PROG, r + 1, t_eval[r].wall, t_eval[r].cpu, o.images * o.restarts, t_solve[r].wall, t_solve[r].cpu,
              t_one[r].wall, t_one[r].cpu, bench_loadavg());
    }
  }
  if (!rc) {
    int header_done = 0;
    bench_row row;
    bench_row_start(&row, "eval_batch", &o.c, e, threads);
    bench_row_num(&row, "alg", "%d", o.alg);
    bench_row_num(&row, "images", "%d", o.images);
    bench_row_num(&row, "restarts", "%d", o.restarts);
    bench_row_num(&row, "steps", "%d", o.steps);
    bench_row_num(&row, "rounds", "%d", o.rounds);
    bench_row_num(&row, "eval_batch_images", "%d", batch_used);
    const double we = median_of(t_eval, o.rounds, 0), ws = median_of(t_solve, o.rounds, 0);
    const double w1 = median_of(t_one, o.rounds, 0);
    bench_row_num(&row, "eval_s", "%.3f", we);
    bench_row_num(&row, "solve_s", "%.3f", ws);
    bench_row_num(&row, "eval_one_s", "%.3f", w1);
    bench_row_num(&row, "eval_restart_iters_per_s", "%.2f", work / we);
    bench_row_num(&row, "solve_restart_iters_per_s", "%.2f", work / ws);
    bench_row_num(&row, "eval_one_restart_iters_per_s", "%.2f", work / w1);
    bench_row_num(&row, "eval_over_solve", "%.4f", median(ratio, o.rounds));
    bench_row_num(&row, "eval_cpu_s", "%.3f", median_of(t_eval, o.rounds, 1));
    bench_row_num(&row, "solve_cpu_s", "%.3f", median_of(t_solve, o.rounds, 1));
    bench_row_num(&row, "eval_one_cpu_s", "%.3f", median_of(t_one, o.rounds, 1));
    bench_row_num(&row, "eval_over_solve_cpu", "%.4f", median(ratio_cpu, o.rounds));
    bench_row_num(&row, "ok_rows", "%ld", ok);
    bench_row_num(&row, "solve_diverged", "%d", diverged);
    bench_row_num(&row, "loadavg", "%.2f", bench_loadavg());
    bench_row_print(&row, &o.c, &header_done);
  }
  if (rc) status = bench_fail(PROG);
  /* the temporary folder: the images, the results and their manifest */
  for (int j = 0; j < o.images; j++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%06d.png", dir, j + 1);
    remove(p);
  }
  char p[4300];
  snprintf(p, sizeof p, "%s.json", s.csv);
  remove(p);
  remove(s.csv);
  rmdir(dir);
  gpd_eval_kernels_free(&s.kernels);
  gpd_eval_list_free(&s.list);
  bench_problem_free(&gi, &gk, &y);
  gpd_engine_destroy(e);
  return status;
}
