/* Seconds per step of every solver algorithm (gpd_solve), at 10 restarts.
 *
 * Problem: a 64x64x3 image (G_I(z*) blurred by a Gaussian kernel, circular
 * boundary), the DCGAN-64 generator (dcgan_tf, width 64) as G_I and the
 * blur VAE decoder (28x28 kernels) as G_K, random weights (gpd_net_init),
 * each algorithm's defaults (gpd_solve_defaults) except the step counts,
 * Algorithm 1's and naive's step sizes (random generators diverge at the
 * paper's; the work per step does not depend on them) and Algorithm 3's
 * eq. 12 fit length. Range projection projects the same 64x64 image.
 *
 * The progress callback marks the end of every iteration. naive, 1, 2 and
 * range run their restarts as one batch: after `warmup` intervals (the
 * first includes the setup; on CUDA the second records the iteration as a
 * graph) the median interval is one step of all restarts. Algorithm 3 runs
 * its restarts one after another, each with its own untrained DCGAN-64
 * (width 64) at batch 1: it reports its eq. 12 fit and its main phase
 * separately, the median interval over all restarts (each phase's first
 * `warmup` intervals per restart dropped) times the number of restarts,
 * i.e. the time one step of every restart takes. Where the solver runs
 * several Alg 3 restarts at once (CUDA's default, solver_threads > 1) the
 * marks interleave and the row is the whole run's wall time per step,
 * setups included ("all-with-setup").
 *
 *   bench_solver [--device ref|cpu|cuda] [--precision fp32|tf32|bf16]
 *                [--algorithms naive,1,2,3,range] [--restarts 10]
 *                [--steps 10] [--warmup 2] [--json] [--no-header]
 * Exit 77 when --device cuda has no CUDA engine or GPU. */
#include <math.h>

#include "bench_util.h"
#include "gpd/solve.h"

#define MAX_ALGS 8

static const char *PROG = "bench_solver";

typedef struct options {
  bench_common c;
  gpd_algorithm alg[MAX_ALGS];
  int n_alg;
  int restarts, steps, warmup;
} options;

static const char *alg_label(gpd_algorithm a) {
  switch (a) {
  case GPD_ALG_NAIVE: return "naive";
  case GPD_ALG_1: return "alg1";
  case GPD_ALG_2: return "alg2";
  case GPD_ALG_3: return "alg3";
  case GPD_ALG_RANGE: return "range";
  }
  return "?";
}

static const char *USAGE =
    "usage: bench_solver [--device ref|cpu|cuda] [--precision fp32|tf32|bf16]\n"
    "                    [--algorithms naive,1,2,3,range] [--restarts 10] [--steps 10]\n"
    "                    [--warmup 2] [--json] [--no-header]\n";

static int parse_algorithms(const char *s, options *o) {
  o->n_alg = 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    gpd_algorithm a;
    if (!strcmp(tok, "naive")) a = GPD_ALG_NAIVE;
    else if (!strcmp(tok, "1")) a = GPD_ALG_1;
    else if (!strcmp(tok, "2")) a = GPD_ALG_2;
    else if (!strcmp(tok, "3")) a = GPD_ALG_3;
    else if (!strcmp(tok, "range")) a = GPD_ALG_RANGE;
    else return gpd_error("--algorithms: unknown algorithm '%s' (expected naive, 1, 2, 3, range)", tok);
    if (o->n_alg == MAX_ALGS) return gpd_error("--algorithms: more than %d entries", MAX_ALGS);
    o->alg[o->n_alg++] = a;
  }
  return o->n_alg ? 0 : gpd_error("--algorithms: empty list");
}

static int parse(int argc, char **argv, options *o) {
  bench_common_init(&o->c);
  o->restarts = 10, o->steps = 10, o->warmup = 2;
  GPD_TRY(parse_algorithms("naive,1,2,3,range", o));
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const int common = bench_option(&o->c, argc, argv, &i, &v);
    if (common < 0) return -1;
    if (common) continue;
    if (!strcmp(a, "--algorithms")) GPD_TRY(parse_algorithms(v, o));
    else if (!strcmp(a, "--restarts")) o->restarts = atoi(v);
    else if (!strcmp(a, "--steps")) o->steps = atoi(v);
    else if (!strcmp(a, "--warmup")) o->warmup = atoi(v);
    else return gpd_error("unknown option %s", a);
  }
  GPD_TRY(bench_common_check(&o->c));
  if (o->restarts < 1 || o->restarts > 100000) return gpd_error("--restarts must be in [1, 100000]");
  if (o->warmup < 1 || o->steps < 2 || o->steps > 100000)
    return gpd_error("--warmup must be >= 1 (the first iteration includes the setup) and --steps in [2, 100000]");
  return 0;
}

/* Called under the solver's lock when restarts run in several threads. */
static void on_progress(void *ctx, int done, int total) {
  (void)done, (void)total;
  bench_marks_add(ctx);
}

typedef struct row {
  const char *phase;    /* "all"; Alg 3: "fit" / "main", or "all-with-setup" */
  bench_stats it;       /* seconds per iteration interval */
  double step_seconds;  /* one step of every restart */
  int steps;            /* intervals the median is over */
} row;

typedef struct solved {
  int diverged, groups, threads;
  long graph_launches;
} solved;

/* Runs one algorithm and fills rows (1 or 2). Batched algorithms: the
 * first `warmup` intervals dropped (of each group, when the memory plan
 * splits the restarts; a step of all restarts is then groups x the median
 * interval). Alg 3 with one restart at a time: each phase of each restart
 * drops its first `warmup` intervals (setup; on CUDA the graph capture);
 * with several restarts at once (CUDA's default) the marks interleave, so
 * it reports the wall time of the whole run per step, setups included. */
static int run_alg(gpd_engine *e, gpd_net *gi, gpd_net *gk, const gpd_image *y, gpd_algorithm alg, const options *op,
                   row *rows, int *n_rows, solved *sv) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, alg);
  o.restarts = op->restarts;
  o.seed = 1;
  const int batched = alg != GPD_ALG_3;
  if (batched) o.steps = op->warmup + op->steps;
  else o.fit_steps = o.steps = op->warmup + op->steps;
  if (alg == GPD_ALG_1) o.lr = 1e-6f;    /* see bench_restarts.c */
  if (alg == GPD_ALG_NAIVE) o.lr = 1e-2f; /* the same: the default 10 diverges with random G_I */
  bench_marks m;
  double *dt = NULL;
  o.progress = on_progress;
  o.progress_ctx = &m;
  gpd_solve_result res;
  if (bench_marks_start(&m, 1024) != 0) return -1;
  int rc = gpd_solve(e, y, alg == GPD_ALG_3 ? NULL : gi, (alg == GPD_ALG_NAIVE || alg == GPD_ALG_RANGE) ? NULL : gk, &o,
                     &res);
  if (rc != 0) {
    bench_marks_free(&m);
    return -1;
  }
  const int groups = res.groups > 0 ? res.groups : 1;
  const long total = batched ? (long)o.steps * groups : (long)o.restarts * (o.fit_steps + o.steps);
  sv->diverged = res.diverged;
  sv->groups = groups;
  sv->threads = res.threads;
  sv->graph_launches = res.graph_launches;
  gpd_solve_result_free(&res);
  if (m.n != total + 1) rc = gpd_error("the solver reported %d iterations, expected %ld", m.n - 1, total);
  else if (!(dt = gpd_malloc(sizeof(double) * (size_t)m.n, "iteration times"))) rc = -1;
  if (rc == 0 && batched) {
    int n = 0;
    for (int g = 0; g < groups; g++) bench_marks_take(&m, g * o.steps + op->warmup, (g + 1) * o.steps, dt, &n);
    rows[0].phase = "all";
    rows[0].it = bench_summarise(dt, n);
    rows[0].step_seconds = rows[0].it.median * groups;
    rows[0].steps = n;
    *n_rows = 1;
  } else if (rc == 0 && sv->threads <= 1) {
    const int per = o.fit_steps + o.steps;
    for (int p = 0; p < 2; p++) {
      int n = 0;
      for (int r = 0; r < o.restarts; r++) {
        const int first = r * per + (p ? o.fit_steps : 0); /* mark before the phase's first iteration */
        bench_marks_take(&m, first + op->warmup, first + (p ? o.steps : o.fit_steps), dt, &n);
      }
      rows[p].phase = p ? "main" : "fit";
      rows[p].it = bench_summarise(dt, n);
      rows[p].step_seconds = rows[p].it.median * o.restarts;
      rows[p].steps = n;
    }
    *n_rows = 2;
  } else if (rc == 0) {
    const double wall = m.t[m.n - 1] - m.t[0];
    const int per = o.fit_steps + o.steps;
    dt[0] = wall / ((double)o.restarts * per);
    rows[0].phase = "all-with-setup";
    rows[0].it = bench_summarise(dt, 1);
    rows[0].step_seconds = wall / per;
    rows[0].steps = per;
    *n_rows = 1;
  }
  free(dt);
  bench_marks_free(&m);
  return rc;
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
  int header_done = 0;
  for (int a = 0; a < o.n_alg; a++) {
    row rows[2];
    int n_rows = 0;
    solved sv = {0};
    if (run_alg(e, &gi, &gk, &y, o.alg[a], &o, rows, &n_rows, &sv) != 0) {
      fprintf(stderr, "%s: %s: %s\n", PROG, alg_label(o.alg[a]), gpd_last_error());
      status = 1;
      continue;
    }
    for (int i = 0; i < n_rows; i++) {
      const row *rw = &rows[i];
      bench_row r;
      bench_row_start(&r, "solver", &o.c, e, threads);
      bench_row_str(&r, "algorithm", alg_label(o.alg[a]));
      bench_row_str(&r, "phase", rw->phase);
      bench_row_num(&r, "restarts", "%d", o.restarts);
      bench_row_num(&r, "warmup", "%d", o.warmup);
      bench_row_num(&r, "intervals", "%d", rw->steps);
      bench_row_num(&r, "step_ms", "%.3f", 1e3 * rw->step_seconds);
      bench_row_num(&r, "median_interval_ms", "%.3f", 1e3 * rw->it.median);
      bench_row_num(&r, "min_interval_ms", "%.3f", 1e3 * rw->it.min);
      bench_row_num(&r, "max_interval_ms", "%.3f", 1e3 * rw->it.max);
      /* restart-iterations per second: all restarts per step */
      bench_row_num(&r, "restart_iters_per_s", "%.2f", o.restarts / rw->step_seconds);
      bench_row_num(&r, "diverged", "%d", sv.diverged);
      bench_row_num(&r, "groups", "%d", sv.groups);
      bench_row_num(&r, "solver_threads", "%d", sv.threads);
      bench_row_num(&r, "graph_launches", "%ld", sv.graph_launches);
      bench_row_num(&r, "loadavg", "%.2f", bench_loadavg());
      bench_row_print(&r, &o.c, &header_done);
    }
  }
  bench_problem_free(&gi, &gk, &y);
  gpd_engine_destroy(e);
  return status;
}
