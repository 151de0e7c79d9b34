/* The solver's GPU-minded machinery, checked on the CPU engine:
 *  - the optimiser ops that read their step size / Adam step count from
 *    engine memory agree bit for bit with sgd_step / adam_step;
 *  - the CPU engine's fork is a working engine;
 *  - the memory estimate covers what gpd_solve really allocates (an engine
 *    that tracks its live bytes), without overshooting by more than 2x,
 *    the halving schedule included;
 *  - 12 restarts under a memory limit that leaves room for 4 run as 3
 *    groups and give exactly the single batch's result (the same chosen
 *    restart, image, kernel and per-restart losses, bit for bit), for
 *    Algorithms 1, 2 and range projection; the same with the groups on 3
 *    threads with forked engines; the gathered log equals the live one;
 *    restarts that diverge do so identically in groups;
 *  - Algorithm 3's restarts on 2 threads give the sequential result;
 *  - when not even one restart fits, a one-line error naming the need and
 *    the free memory (from the options' limit and from GPD_MEMORY_LIMIT_MB);
 *  - Algorithm 2's non-blind finish (polish_steps) lowers its objective on
 *    every kept restart without changing their choice, kernels or range
 *    images, is what the mean of the best averages, and gives the chosen
 *    restart alone what it gets among the kept ones.
 * The CUDA graph path itself needs a GPU (tests/test_engine_ops.c captures
 * and replays the device-scalar optimiser steps there); here the eager
 * path runs the same iteration function. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpd/solve.h"
#include "../host/solve/solve_internal.h"
#include "solver_test_nets.h"

static gpd_net GI, GK;
static gpd_image Y;

/* ---- an engine that tracks its live bytes ----------------------------------------- */

typedef struct tracked_engine {
  gpd_engine e; /* first: the CPU ops ignore the engine pointer they get */
  size_t live, peak;
} tracked_engine;
static tracked_engine TRACKED;
static gpd_engine *CPU;

static float *tracked_alloc(gpd_engine *e, size_t count, const char *what) {
  tracked_engine *t = (tracked_engine *)e;
  size_t *block = calloc(1, 16 + count * sizeof(float));
  if (!block) {
    gpd_error("out of host memory for %s", what);
    return NULL;
  }
  block[0] = count * sizeof(float);
  t->live += block[0];
  if (t->live > t->peak) t->peak = t->live;
  return (float *)((char *)block + 16);
}

static void tracked_free(gpd_engine *e, void *p) {
  if (!p) return;
  tracked_engine *t = (tracked_engine *)e;
  size_t *block = (size_t *)((char *)p - 16);
  t->live -= block[0];
  free(block);
}

/* ---- the device-scalar optimiser steps ---------------------------------------------- */

static void fill_random(float *x, size_t n, float lo, float hi, uint64_t seed) {
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)gpd_rng_uniform(&r);
}

/* max_i |a[i] - b[i]| */
static double max_abs_diff(const float *a, const float *b, size_t n) {
  double d = 0;
  for (size_t i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i]));
  return d;
}

static void test_optim_device(void) {
  const size_t n = 10007;
  float *g = malloc(sizeof(float) * n), *p1 = malloc(sizeof(float) * n), *p2 = malloc(sizeof(float) * n);
  float *m1 = malloc(sizeof(float) * n), *m2 = malloc(sizeof(float) * n);
  float *v1 = malloc(sizeof(float) * n), *v2 = malloc(sizeof(float) * n);
  fill_random(g, n, -1, 1, 1);
  fill_random(p1, n, -1, 1, 2);
  memcpy(p2, p1, sizeof(float) * n);
  /* SGD: the solver's decaying steps, as engine-memory scalars */
  for (int t = 0; t < 5; t++) {
    float lr = (float)(0.5 * exp(-t / 3.0));
    CHECK_OK(CPU->sgd_step(CPU, n, lr, g, p1));
    CHECK_OK(CPU->sgd_step_device_lr(CPU, n, &lr, g, p2));
  }
  CHECK(memcmp(p1, p2, sizeof(float) * n) == 0, "sgd_step_device_lr differs from sgd_step");
  /* Adam at steps including large ones (bias corrections near 1) */
  fill_random(m1, n, -0.1f, 0.1f, 3);
  fill_random(v1, n, 0, 0.01f, 4);
  memcpy(m2, m1, sizeof(float) * n);
  memcpy(v2, v1, sizeof(float) * n);
  const int steps[] = {1, 2, 3, 7, 1000, 20000, 1 << 24};
  for (int s = 0; s < 7; s++) {
    float sched[2] = {0.005f * (float)(s + 1), (float)steps[s]};
    CHECK_OK(CPU->adam_step(CPU, n, sched[0], 0.9f, 0.999f, 1e-8f, steps[s], g, m1, v1, p1));
    CHECK_OK(CPU->adam_step_device_t(CPU, n, sched, 0.9f, 0.999f, 1e-8f, g, m2, v2, p2));
  }
  CHECK(memcmp(p1, p2, sizeof(float) * n) == 0 && memcmp(m1, m2, sizeof(float) * n) == 0 &&
            memcmp(v1, v2, sizeof(float) * n) == 0,
        "adam_step_device_t differs from adam_step");
  /* a step count below 1 is step 1, as the CUDA kernel reads it */
  float sched0[2] = {0.01f, 0.0f};
  CHECK_OK(CPU->adam_step(CPU, n, 0.01f, 0.9f, 0.999f, 1e-8f, 1, g, m1, v1, p1));
  CHECK_OK(CPU->adam_step_device_t(CPU, n, sched0, 0.9f, 0.999f, 1e-8f, g, m2, v2, p2));
  CHECK(memcmp(p1, p2, sizeof(float) * n) == 0, "adam_step_device_t with t = 0 is not step 1");
  /* and the steps did something: p moved from its start */
  float *p0 = malloc(sizeof(float) * n);
  fill_random(p0, n, -1, 1, 2);
  const double dist = max_abs_diff(p1, p0, n);
  CHECK(dist > 0.1, "the optimiser steps barely moved p (%g)", dist);
  free(p0);
  free(g);
  free(p1);
  free(p2);
  free(m1);
  free(m2);
  free(v1);
  free(v2);
}

static void test_fork(void) {
  gpd_engine *f = CPU->fork(CPU);
  if (!f) {
    CHECK(0, "CPU fork: %s", gpd_last_error());
    return;
  }
  CHECK(!strcmp(f->name, "cpu") && f != CPU, "the fork is not a second CPU engine");
  float *a = CPU->alloc(CPU, 3, "a"), *b = f->alloc(f, 3, "b");
  const float ha[3] = {1, 2, 3}, hb[3] = {10, 20, 30};
  float out[3];
  CHECK_OK(CPU->upload(CPU, a, ha, 3));
  CHECK_OK(f->upload(f, b, hb, 3));
  CHECK_OK(f->axpby(f, 3, 2.0f, a, 1.0f, b)); /* the parent's memory, the fork's op */
  CHECK_OK(f->download(f, out, b, 3));
  CHECK(out[0] == 12 && out[1] == 24 && out[2] == 36, "fork axpby gave %g %g %g", out[0], out[1], out[2]);
  f->free(f, b);
  CPU->free(CPU, a);
  gpd_engine_destroy(f);
}

/* ---- groups ------------------------------------------------------------------------------ */

typedef struct log_rows {
  int n, restarts;
  int step[64];
  float m[64][16], t[64][16];
} log_rows;

static void log_keep(void *ctx, int step, int restarts, const float *m, const float *t) {
  log_rows *L = ctx;
  if (L->n >= 64 || restarts > 16) return;
  L->restarts = restarts;
  L->step[L->n] = step;
  memcpy(L->m[L->n], m, sizeof(float) * restarts);
  memcpy(L->t[L->n], t, sizeof(float) * restarts);
  L->n++;
}

static int bits_equal(const float *a, const float *b, size_t n) { return memcmp(a, b, sizeof(float) * n) == 0; }

/* The whole result of b equals a's, bit for bit. */
static void compare_results(const char *what, const gpd_solve_result *a, const gpd_solve_result *b) {
  CHECK(a->chosen == b->chosen, "%s: chosen restart %d, single batch %d", what, b->chosen, a->chosen);
  CHECK(a->averaged == b->averaged, "%s: %d restarts averaged, single batch %d", what, b->averaged, a->averaged);
  CHECK(a->measurement == b->measurement && a->total == b->total, "%s: measurement %.9g / total %.9g, single %.9g / %.9g",
        what, b->measurement, b->total, a->measurement, a->total);
  CHECK(a->diverged == b->diverged, "%s: %d diverged, single batch %d", what, b->diverged, a->diverged);
  CHECK(a->restarts == b->restarts, "%s: %d restarts", what, b->restarts);
  for (int r = 0; r < a->restarts && r < b->restarts; r++) {
    const float x = a->restart_measurement[r], y = b->restart_measurement[r];
    CHECK((isnan(x) && isnan(y)) || x == y, "%s: restart %d measurement %.9g, single batch %.9g", what, r, y, x);
    CHECK(a->diverged_at[r] == b->diverged_at[r], "%s: restart %d diverged at %d, single batch %d", what, r,
          b->diverged_at[r], a->diverged_at[r]);
  }
  const size_t px = (size_t)a->image.c * a->image.h * a->image.w;
  CHECK(b->image.data && b->image.c == a->image.c && b->image.h == a->image.h && b->image.w == a->image.w &&
            bits_equal(a->image.data, b->image.data, px),
        "%s: the image differs from the single batch's", what);
  CHECK(b->range_image.data && bits_equal(a->range_image.data, b->range_image.data, px),
        "%s: the range image differs", what);
  CHECK(a->ksize == b->ksize && (!a->kernel || bits_equal(a->kernel, b->kernel, (size_t)a->ksize * a->ksize)),
        "%s: the kernel differs", what);
  CHECK(a->n_ranked == b->n_ranked, "%s: %d restarts kept, single batch %d", what, b->n_ranked, a->n_ranked);
  for (int j = 0; j < a->n_ranked && j < b->n_ranked; j++)
    CHECK(a->ranked[j].restart == b->ranked[j].restart && a->ranked[j].measurement == b->ranked[j].measurement &&
              bits_equal(a->ranked[j].image.data, b->ranked[j].image.data, px),
          "%s: rank %d is restart %d (%.9g), single batch %d (%.9g)", what, j, b->ranked[j].restart,
          b->ranked[j].measurement, a->ranked[j].restart, a->ranked[j].measurement);
}

static void compare_logs(const char *what, const log_rows *a, const log_rows *b) {
  CHECK(a->n == b->n && a->n > 0, "%s: %d log rows, single batch %d", what, b->n, a->n);
  for (int i = 0; i < a->n && i < b->n; i++) {
    CHECK(a->step[i] == b->step[i], "%s: log row %d at step %d, single batch %d", what, i, b->step[i], a->step[i]);
    int same = 1;
    for (int r = 0; r < a->restarts; r++)
      if (!((isnan(a->m[i][r]) && isnan(b->m[i][r])) || a->m[i][r] == b->m[i][r]) ||
          !((isnan(a->t[i][r]) && isnan(b->t[i][r])) || a->t[i][r] == b->t[i][r]))
        same = 0;
    CHECK(same, "%s: log row %d (step %d) differs from the single batch's", what, i, a->step[i]);
  }
}

/* A memory limit under which the plan runs 12 restarts as 3 groups of 4:
 * from fixed + 4 restarts up, in eighths of a restart (the plan sizes
 * groups with the FFT plans' work areas counted twice, which the public
 * estimate does not show). 0 when none does. */
static size_t limit_for_3_groups(const gpd_solve_options *o, gpd_net *gi, gpd_net *gk) {
  gpd_solve_memory m;
  if (gpd_solve_memory_estimate(E, &Y, gi, gk, o, &m) != 0) {
    CHECK(0, "estimate: %s", gpd_last_error());
    return 0;
  }
  gpd_solve_options t = *o;
  for (int eighths = 32; eighths < 80; eighths++) {
    t.memory_limit = m.fixed + (size_t)((double)eighths / 8.0 * (double)m.per_restart);
    gpd_solve_plan plan;
    if (gpd_solve_plan_make(E, &Y, gi, gk, &t, &plan) == 0 && plan.groups == 3 && plan.group_size == 4)
      return t.memory_limit;
  }
  return 0;
}

/* expect_diverged: some but not all restarts must diverge (else none). */
static void run_grouped(const char *label, gpd_solve_options o, gpd_net *gi, gpd_net *gk, int expect_diverged) {
  log_rows L1 = {0}, L3 = {0}, LT = {0};
  gpd_solve_result single, grouped, threaded;
  o.restarts = 12;
  o.log = log_keep;
  o.log_every = 10;
  o.log_ctx = &L1;
  if (gpd_solve(E, &Y, gi, gk, &o, &single) != 0) {
    CHECK(0, "%s single batch: %s", label, gpd_last_error());
    return;
  }
  CHECK(single.groups == 1 && single.threads == 1, "%s: single batch ran as %d groups on %d threads", label,
        single.groups, single.threads);
  if (expect_diverged)
    CHECK(single.diverged > 0 && single.diverged < 12, "%s: %d of 12 restarts diverged, expected some", label,
          single.diverged);
  else
    CHECK(single.diverged == 0, "%s: %d restarts diverged", label, single.diverged);
  CHECK(single.n_ranked == (o.keep_restarts ? 12 - single.diverged : 0), "%s: %d restarts kept (keep_restarts %d)",
        label, single.n_ranked, o.keep_restarts);
  gpd_solve_options og = o;
  og.memory_limit = limit_for_3_groups(&o, gi, gk);
  CHECK(og.memory_limit > 0, "%s: no memory limit gives 3 groups of 4", label);
  og.log_ctx = &L3;
  gpd_solve_plan plan;
  CHECK_OK(gpd_solve_plan_make(E, &Y, gi, gk, &og, &plan));
  CHECK(plan.groups == 3 && plan.group_size == 4 && plan.threads == 1 && plan.limited,
        "%s: plan of %d groups of %d on %d threads (limited %d), expected 3 groups of 4", label, plan.groups,
        plan.group_size, plan.threads, plan.limited);
  char line[256];
  CHECK(gpd_solve_plan_describe(&plan, E, 12, line, sizeof line) == 1 && strstr(line, "running 3 groups of 4"),
        "%s: plan description '%s'", label, line);
  if (gpd_solve(E, &Y, gi, gk, &og, &grouped) != 0) {
    CHECK(0, "%s in groups: %s", label, gpd_last_error());
    gpd_solve_result_free(&single);
    return;
  }
  CHECK(grouped.groups == 3, "%s: ran as %d groups", label, grouped.groups);
  char what[96];
  snprintf(what, sizeof what, "%s, 3 groups of 4", label);
  compare_results(what, &single, &grouped);
  compare_logs(what, &L1, &L3);

  /* the same groups three at a time on forked engines */
  gpd_solve_options ot = og;
  ot.memory_limit = 0;
  ot.threads = 3;
  ot.log_ctx = &LT;
  if (gpd_solve(E, &Y, gi, gk, &ot, &threaded) == 0) {
    CHECK(threaded.groups == 3 && threaded.threads == 3, "%s: threads ran as %d groups on %d threads", label,
          threaded.groups, threaded.threads);
    snprintf(what, sizeof what, "%s, 3 threads", label);
    compare_results(what, &single, &threaded);
    compare_logs(what, &L1, &LT);
    gpd_solve_result_free(&threaded);
  } else {
    CHECK(0, "%s on 3 threads: %s", label, gpd_last_error());
  }
  fprintf(stderr, "%s: 12 restarts, chosen %d, measurement %.6g, %d diverged: single batch = 3 groups = 3 threads\n",
          label, single.chosen, single.measurement, single.diverged);
  gpd_solve_result_free(&single);
  gpd_solve_result_free(&grouped);
}

static void test_groups(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.steps = 40;
  o.lr = 0.5f;
  o.seed = 3;
  run_grouped("Algorithm 1", o, &GI, &GK, 0);
  /* large steps: some restarts diverge, at the same steps in groups */
  o.lr = 1.3f;
  run_grouped("Algorithm 1 at lr 1.3", o, &GI, &GK, 1);
  /* averaging the 5 best: candidates kept across groups, some diverged */
  o.average_best = 5;
  run_grouped("Algorithm 1 at lr 1.3, the mean of the 5 best", o, &GI, &GK, 1);
  gpd_solve_defaults(&o, GPD_ALG_2);
  o.steps = 25;
  o.seed = 5;
  run_grouped("Algorithm 2", o, &GI, &GK, 0);
  o.average_best = 4;
  run_grouped("Algorithm 2, the mean of the 4 best", o, &GI, &GK, 0);
  /* every restart kept: gathered across groups into one ranking */
  o.average_best = 1;
  o.keep_restarts = 1;
  run_grouped("Algorithm 2, every restart kept", o, &GI, &GK, 0);
  gpd_solve_defaults(&o, GPD_ALG_RANGE);
  o.steps = 30;
  o.seed = 7;
  run_grouped("range projection", o, &GI, NULL, 0);
}

/* a few quick restarts of alg; Algorithm 3 with a tiny untrained generator */
static void quick_options(gpd_solve_options *o, gpd_algorithm alg, int steps, uint64_t seed) {
  gpd_solve_defaults(o, alg);
  o->restarts = 3;
  o->steps = steps;
  o->fit_steps = 4;
  o->untrained_width = 4;
  o->untrained_latent = 8;
  o->seed = seed;
}

/* Y's first channel: Algorithm 3's gray input */
static void gray_of_y(gpd_image *gray) {
  gpd_image_alloc(gray, 1, 32, 32);
  for (int i = 0; i < 32 * 32; i++) gray->data[i] = Y.data[i];
}

static void test_alg3_threads(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_3, 6, 9);
  gpd_image gray;
  gray_of_y(&gray);
  gpd_solve_result a, b;
  if (gpd_solve(E, &gray, NULL, &GK, &o, &a) != 0) {
    CHECK(0, "Algorithm 3: %s", gpd_last_error());
    gpd_image_free(&gray);
    return;
  }
  o.threads = 2;
  gpd_solve_plan plan;
  CHECK_OK(gpd_solve_plan_make(E, &gray, NULL, &GK, &o, &plan));
  CHECK(plan.one_by_one && plan.groups == 3 && plan.threads == 2, "Algorithm 3 plan: %d groups, %d threads",
        plan.groups, plan.threads);
  if (gpd_solve(E, &gray, NULL, &GK, &o, &b) == 0) {
    CHECK(b.threads == 2, "Algorithm 3 ran on %d threads", b.threads);
    compare_results("Algorithm 3 on 2 threads", &a, &b);
    gpd_solve_result_free(&b);
  } else {
    CHECK(0, "Algorithm 3 on 2 threads: %s", gpd_last_error());
  }
  gpd_solve_result_free(&a);
  gpd_image_free(&gray);
}

/* ---- the estimate against what gpd_solve allocates ------------------------------------------- */

static void check_estimate(const char *label, gpd_solve_options o, const gpd_image *y, gpd_net *gi, gpd_net *gk) {
  gpd_solve_memory m;
  if (gpd_solve_memory_estimate(&TRACKED.e, y, gi, gk, &o, &m) != 0) {
    CHECK(0, "%s estimate: %s", label, gpd_last_error());
    return;
  }
  const size_t before = TRACKED.live;
  TRACKED.peak = before;
  gpd_solve_result res;
  if (gpd_solve(&TRACKED.e, y, gi, gk, &o, &res) != 0) {
    CHECK(0, "%s: %s", label, gpd_last_error());
    return;
  }
  gpd_solve_result_free(&res);
  const size_t used = TRACKED.peak - before;
  CHECK(TRACKED.live == before, "%s: the solve left %zu bytes allocated", label, TRACKED.live - before);
  /* the engine's reserve is for library workspaces no alloc() sees */
  const size_t reserve = TRACKED.e.caps.instance_reserve;
  const double est = (double)(m.fixed - reserve) + (double)m.per_restart * (o.alg == GPD_ALG_3 ? 1 : o.restarts);
  fprintf(stderr, "%s, %d restarts: allocated %.3f MiB, estimated %.3f MiB (+ %.0f MiB reserve)\n", label, o.restarts,
          used / 1048576.0, est / 1048576.0, reserve / 1048576.0);
  CHECK(est >= (double)used, "%s: estimate %.0f bytes below the %zu the solve allocated", label, est, used);
  CHECK(est <= 2.0 * (double)used, "%s: estimate %.0f bytes more than twice the %zu allocated", label, est, used);
}

static void test_estimate(void) {
  /* the generators on the tracking engine: the solver's engine must be theirs */
  gpd_net gi = GI, gk = GK;
  gi.engine = gk.engine = &TRACKED.e;
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.steps = 2;
  o.restarts = 7;
  check_estimate("Algorithm 1", o, &Y, &gi, &gk);
  gpd_solve_defaults(&o, GPD_ALG_2);
  o.steps = 2;
  o.restarts = 5;
  check_estimate("Algorithm 2", o, &Y, &gi, &gk);
  /* halving gathers in place: it allocates nothing beyond the first batch */
  o.steps = 8;
  o.schedule = GPD_SCHEDULE_HALVING;
  check_estimate("Algorithm 2, halving", o, &Y, &gi, &gk);
  gpd_solve_defaults(&o, GPD_ALG_NAIVE);
  o.steps = 2;
  o.restarts = 9;
  o.boundary = GPD_BOUNDARY_LINEAR;
  gpd_image small;
  CHECK_OK(gpd_solve_window(&Y, 20, 20, &small));
  check_estimate("naive, linear boundary", o, &small, &gi, NULL);
  gpd_image_free(&small);
  gpd_solve_defaults(&o, GPD_ALG_3);
  o.steps = 2;
  o.fit_steps = 1;
  o.restarts = 2;
  o.untrained_width = 4;
  o.untrained_latent = 8;
  check_estimate("Algorithm 3", o, &Y, NULL, &gk);
}

/* ---- nothing fits ------------------------------------------------------------------------------ */

static void test_too_small(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.steps = 1;
  o.restarts = 4;
  gpd_solve_memory m;
  CHECK_OK(gpd_solve_memory_estimate(E, &Y, &GI, &GK, &o, &m));
  o.memory_limit = m.fixed + m.per_restart / 2;
  gpd_solve_result res;
  CHECK(gpd_solve(E, &Y, &GI, &GK, &o, &res) != 0, "a limit below one restart's need was accepted");
  const char *msg = gpd_last_error();
  char need[128];
  snprintf(need, sizeof need, "memory: one restart needs %.1f MiB, %.1f MiB free (the memory limit)",
           (double)(m.fixed + m.per_restart) / 1048576.0, (double)o.memory_limit / 1048576.0);
  CHECK(strstr(msg, need) != NULL, "message '%s' lacks '%s'", msg, need);
  CHECK(!strchr(msg, '\n'), "message has more than one line");
  CHECK(res.image.data == NULL && res.restart_measurement == NULL, "a failed solve left allocations in the result");
  /* exactly enough for the whole batch: one group */
  gpd_solve_plan plan;
  o.memory_limit = m.fixed + 4 * m.per_restart;
  CHECK_OK(gpd_solve_plan_make(E, &Y, &GI, &GK, &o, &plan));
  CHECK(plan.groups == 1 && plan.group_size == 4 && plan.need == o.memory_limit && plan.free == o.memory_limit,
        "a limit of exactly the need: %d groups of %d, need %zu, free %zu (limit %zu)", plan.groups, plan.group_size,
        plan.need, plan.free, o.memory_limit);
  /* the environment's limit, in MiB, for callers that do not set one */
  o.memory_limit = 0;
  setenv("GPD_MEMORY_LIMIT_MB", "1", 1);
  CHECK(gpd_solve(E, &Y, &GI, &GK, &o, &res) != 0, "GPD_MEMORY_LIMIT_MB=1 was not honoured");
  CHECK(strstr(gpd_last_error(), "1.0 MiB free (GPD_MEMORY_LIMIT_MB)") != NULL, "message: %s", gpd_last_error());
  setenv("GPD_MEMORY_LIMIT_MB", "lots", 1);
  CHECK(gpd_solve(E, &Y, &GI, &GK, &o, &res) != 0 && strstr(gpd_last_error(), "GPD_MEMORY_LIMIT_MB: 'lots'"),
        "a bad GPD_MEMORY_LIMIT_MB: %s", gpd_last_error());
  unsetenv("GPD_MEMORY_LIMIT_MB");
  setenv("GPD_SOLVER_THREADS", "0", 1);
  CHECK(gpd_solve(E, &Y, &GI, &GK, &o, &res) != 0 && strstr(gpd_last_error(), "GPD_SOLVER_THREADS: '0'"),
        "a bad GPD_SOLVER_THREADS: %s", gpd_last_error());
  unsetenv("GPD_SOLVER_THREADS");
  /* and without limits the same call runs */
  if (gpd_solve(E, &Y, &GI, &GK, &o, &res) == 0) gpd_solve_result_free(&res);
  else CHECK(0, "unlimited: %s", gpd_last_error());
}

/* ---- the kernel's scale in the result ------------------------------------------ */

/* b is a in the gauge sum(k) = 1: the same restart and losses, b's kernel
 * a's over s = sum(a's kernel), b's images a's times s. */
static void check_unit_gauge(const char *what, const gpd_solve_result *a, const gpd_solve_result *b) {
  CHECK(a->chosen == b->chosen && a->measurement == b->measurement && a->total == b->total,
        "%s: the gauge changed the solve (chosen %d / %d, measurement %g / %g)", what, a->chosen, b->chosen,
        a->measurement, b->measurement);
  const int nk = a->ksize * a->ksize;
  double s = 0, sb = 0, worst = 0;
  for (int i = 0; i < nk; i++) s += a->kernel[i], sb += b->kernel[i];
  CHECK(fabs(sb - 1) < 1e-5 && fabs(s - 1) > 1e-3, "%s: raw kernel sums to %.6f, unit to %.6f", what, s, sb);
  for (int i = 0; i < nk; i++) worst = fmax(worst, fabs(b->kernel[i] * s - a->kernel[i]));
  const gpd_image *ia[2] = {&a->image, &a->range_image}, *ib[2] = {&b->image, &b->range_image};
  for (int j = 0; j < 2; j++) {
    const size_t n = (size_t)ia[j]->c * ia[j]->h * ia[j]->w;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ib[j]->data[i] - ia[j]->data[i] * s) / (1 + fabs(ia[j]->data[i])));
  }
  CHECK(worst < 1e-5, "%s: the unit-gauge result is off the raw one times %.4f by %g", what, s, worst);
  fprintf(stderr, "%s: raw kernel sum %.4f, returned as 1 with the image times it\n", what, s);
}

static void test_kernel_scale(void) {
  /* a blur generator whose kernels sum to about 1.3: the normalised one
   * times 1.3 in its last layer */
  gpd_net gk;
  CHECK_OK(make_compact_kernel_net(&gk, 4, 7, 28, 2));
  CHECK_OK(normalise_kernels(&gk, NULL, 4));
  /* its one weighted layer is followed by a reshape and a ReLU: scaling
   * all its parameters scales every kernel */
  float *h = malloc(gk.n_params * sizeof(float));
  CHECK_OK(E->download(E, h, gk.params, gk.n_params));
  for (size_t i = 0; i < gk.n_params; i++) h[i] *= 1.3f;
  CHECK_OK(E->upload(E, gk.params, h, gk.n_params));
  free(h);
  gpd_image gray;
  gray_of_y(&gray);
  const gpd_algorithm algs[3] = {GPD_ALG_1, GPD_ALG_2, GPD_ALG_3};
  for (int k = 0; k < 3; k++) {
    gpd_solve_options o;
    quick_options(&o, algs[k], 10, 4);
    const gpd_image *y = algs[k] == GPD_ALG_3 ? &gray : &Y;
    gpd_net *gi = algs[k] == GPD_ALG_3 ? NULL : &GI;
    gpd_solve_result raw, unit;
    o.keep_kernel_scale = 1;
    if (gpd_solve(E, y, gi, &gk, &o, &raw) != 0) {
      CHECK(0, "Algorithm %d, raw: %s", k + 1, gpd_last_error());
      continue;
    }
    o.keep_kernel_scale = 0;
    if (gpd_solve(E, y, gi, &gk, &o, &unit) == 0) {
      char what[64];
      snprintf(what, sizeof what, "Algorithm %d's kernel scale", k + 1);
      check_unit_gauge(what, &raw, &unit);
      gpd_solve_result_free(&unit);
    } else {
      CHECK(0, "Algorithm %d, unit: %s", k + 1, gpd_last_error());
    }
    gpd_solve_result_free(&raw);
  }
  gpd_image_free(&gray);
  gpd_net_free(&gk);
}

/* Algorithm 2 choosing by its total objective against the free image's
 * residual (the default): the same solve (full schedule), the restart with
 * the lowest final total, and that total as its measurement. */
static void test_alg2_select_total(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 15, 7);
  o.restarts = 8;
  o.alg2_select_total = 0;
  log_rows by_m = {0}, by_t = {0};
  o.log = log_keep;
  o.log_every = 15;
  o.log_ctx = &by_m;
  gpd_solve_result a, b;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &a) != 0) {
    CHECK(0, "Algorithm 2: %s", gpd_last_error());
    return;
  }
  o.alg2_select_total = 1;
  o.log_ctx = &by_t;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &b) != 0) {
    CHECK(0, "Algorithm 2 choosing by total: %s", gpd_last_error());
    gpd_solve_result_free(&a);
    return;
  }
  const float *total = by_m.t[by_m.n - 1], *m = by_m.m[by_m.n - 1];
  int best_t = 0, best_m = 0;
  for (int r = 1; r < 8; r++) {
    if (total[r] < total[best_t]) best_t = r;
    if (m[r] < m[best_m]) best_m = r;
  }
  CHECK(a.chosen == best_m && b.chosen == best_t, "chosen %d (by measurement, want %d) and %d (by total, want %d)",
        a.chosen, best_m, b.chosen, best_t);
  CHECK(bits_equal(by_t.t[by_t.n - 1], total, 8) && bits_equal(by_t.m[by_t.n - 1], total, 8) && b.measurement == b.total,
        "choosing by total changed the solve, or its measurement is not the total");
  CHECK(best_t != best_m, "the test's restarts rank the same by both losses (restart %d): it shows nothing", best_t);
  fprintf(stderr, "Algorithm 2 chooses restart %d by measurement, %d by total\n", a.chosen, b.chosen);
  gpd_solve_result_free(&a);
  gpd_solve_result_free(&b);
}

/* Algorithm 2's free image starting at the blurry image: after 0 steps
 * with no noise it is y itself (raw kernel scale: the unit scale would
 * multiply it by sum(k)); with init_std 0.1 it is y plus that noise. */
static void test_alg2_init_blurry(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 0, 3);
  o.alg2_init_blurry = 1;
  o.keep_kernel_scale = 1;
  o.init_std = 0.0f;
  gpd_solve_result a;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &a) != 0) {
    CHECK(0, "Algorithm 2 from the blurry image: %s", gpd_last_error());
    return;
  }
  const size_t n = (size_t)Y.c * Y.h * Y.w;
  CHECK(a.image.c == Y.c && a.image.h == Y.h && a.image.w == Y.w && bits_equal(a.image.data, Y.data, n),
        "the free image after 0 steps is not the blurry image");
  gpd_solve_result_free(&a);
  o.init_std = 0.1f;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &a) != 0) {
    CHECK(0, "Algorithm 2 from the blurry image + noise: %s", gpd_last_error());
    return;
  }
  double mean = 0, sq = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = a.image.data[i] - Y.data[i];
    mean += d;
    sq += d * d;
  }
  mean /= (double)n;
  const double std = sqrt(sq / (double)n - mean * mean);
  CHECK(fabs(mean) < 0.01 && fabs(std - 0.1) < 0.01, "free image - y: mean %g, std %g (want 0, 0.1)", mean, std);
  gpd_solve_result_free(&a);
  /* the linear boundary's y is smaller than the image: refused up front */
  o.boundary = GPD_BOUNDARY_LINEAR;
  CHECK(gpd_solve(E, &Y, &GI, &GK, &o, &a) != 0 && strstr(gpd_last_error(), "circular"),
        "--init-image blurry with the linear boundary was not refused by name");
}

/* Algorithm 2 from o: 1 step with *option = value (one), then 12 steps
 * with it (set) and 12 steps with *option = 0 (unset). 0 when all three
 * solved (free them); else the check has failed and nothing is left. */
static int alg2_one_then_twelve(gpd_solve_options *o, float *option, float value, gpd_solve_result *one,
                                gpd_solve_result *set, gpd_solve_result *unset) {
  o->keep_kernel_scale = 1;
  o->steps = 1;
  *option = value;
  if (gpd_solve(E, &Y, &GI, &GK, o, one) != 0) {
    CHECK(0, "Algorithm 2, 1 step: %s", gpd_last_error());
    return -1;
  }
  o->steps = 12;
  if (gpd_solve(E, &Y, &GI, &GK, o, set) != 0) {
    CHECK(0, "Algorithm 2, 12 steps: %s", gpd_last_error());
    gpd_solve_result_free(one);
    return -1;
  }
  *option = 0.0f;
  if (gpd_solve(E, &Y, &GI, &GK, o, unset) != 0) {
    CHECK(0, "Algorithm 2, 12 steps without the option: %s", gpd_last_error());
    gpd_solve_result_free(one);
    gpd_solve_result_free(set);
    return -1;
  }
  return 0;
}

/* z_k's own Adam step: with adam_lr_kernel ~0 the kernel stays where the
 * first step leaves it while the image moves on; with the shared step (0,
 * the default) the kernel moves too. */
static void test_alg2_adam_lr_kernel(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 1, 1);
  gpd_solve_result one, frozen, shared;
  if (alg2_one_then_twelve(&o, &o.adam_lr_kernel, 1e-12f, &one, &frozen, &shared) != 0) return;
  const size_t nk = (size_t)one.ksize * one.ksize, ni = (size_t)Y.c * Y.h * Y.w;
  const double dk_frozen = max_abs_diff(frozen.kernel, one.kernel, nk);
  const double dk_shared = max_abs_diff(shared.kernel, one.kernel, nk);
  const double di_frozen = max_abs_diff(frozen.image.data, one.image.data, ni);
  CHECK(dk_frozen < 1e-6 && dk_shared > 1e-5 && di_frozen > 1e-3,
        "12 steps against 1: kernel %g with z_k's step ~0, %g with the shared step; image %g", dk_frozen, dk_shared,
        di_frozen);
  gpd_solve_result_free(&one);
  gpd_solve_result_free(&frozen);
  gpd_solve_result_free(&shared);
}

/* Algorithm 2's decaying Adam step: with a decay time of 1e-3 steps every
 * step after the first is ~0, so 12 steps end where 1 step does; without
 * the decay they do not. */
static void test_alg2_adam_decay(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 1, 5);
  gpd_solve_result one, many, constant;
  if (alg2_one_then_twelve(&o, &o.adam_lr_decay, 1e-3f, &one, &many, &constant) != 0) return;
  const size_t n = (size_t)Y.c * Y.h * Y.w;
  const double d_decay = max_abs_diff(many.image.data, one.image.data, n);
  const double d_const = max_abs_diff(constant.image.data, one.image.data, n);
  CHECK(d_decay < 1e-6 && d_const > 1e-3, "12 steps against 1: %g with the decay, %g without", d_decay, d_const);
  gpd_solve_result_free(&one);
  gpd_solve_result_free(&many);
  gpd_solve_result_free(&constant);
}

/* Algorithm 2's final anneal: the step schedule over a 2,000-step run with
 * the last quarter annealed (constant, then linear towards 0), and a solve
 * with it that ends elsewhere than one without. */
static void test_alg2_adam_anneal(void) {
  solve_group g = {.lr = 0.02f};
  solve_group_anneal(&g, 2000, 0.25f);
  const int at[] = {0, 1499, 1500, 1750, 1999};
  const double want[] = {0.02, 0.02, 0.02, 0.01, 0.02 / 500};
  for (int i = 0; i < 5; i++)
    CHECK(fabs(solve_group_lr(&g, at[i]) - want[i]) < 1e-9, "annealed step at %d: %g, not %g", at[i],
          solve_group_lr(&g, at[i]), want[i]);
  solve_group_anneal(&g, 2000, 0.0f);
  CHECK(solve_group_lr(&g, 1999) == 0.02f, "no anneal: the step at 1999 is %g", solve_group_lr(&g, 1999));
  g.decay = 1000.0f;
  solve_group_anneal(&g, 2000, 0.5f);
  CHECK(fabs(solve_group_lr(&g, 1500) - 0.02 * exp(-1.5) * 0.5) < 1e-9, "anneal on a decaying step at 1500: %g",
        solve_group_lr(&g, 1500));

  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 1, 5);
  gpd_solve_result one, annealed, constant;
  if (alg2_one_then_twelve(&o, &o.adam_lr_anneal, 1.0f, &one, &annealed, &constant) != 0) return;
  const size_t n = (size_t)Y.c * Y.h * Y.w;
  const double d_one = max_abs_diff(one.image.data, constant.image.data, n);
  const double d_anneal = max_abs_diff(annealed.image.data, constant.image.data, n);
  int finite = 1;
  for (size_t i = 0; i < n; i++) finite &= isfinite(annealed.image.data[i]);
  CHECK(finite && d_anneal > 1e-4 && d_one > d_anneal,
        "12 annealed steps against 12 constant ones: %g apart (1 step: %g; finite %d)", d_anneal, d_one, finite);
  gpd_solve_result_free(&one);
  gpd_solve_result_free(&annealed);
  gpd_solve_result_free(&constant);
}

/* gpd_solve refuses o before any work with an error that contains `text`. */
static void check_refused(const char *what, const gpd_solve_options *o, gpd_net *gi, gpd_net *gk, const char *text) {
  gpd_solve_result r;
  if (gpd_solve(E, &Y, gi, gk, o, &r) == 0) {
    CHECK(0, "%s was not refused", what);
    gpd_solve_result_free(&r);
    return;
  }
  CHECK(strstr(gpd_last_error(), text) != NULL, "%s: refused with '%s', not naming '%s'", what, gpd_last_error(), text);
}

/* --average-best over 2 restarts is the mean of restart 0 (a solve with 1
 * restart: restarts are independent items) and the best one, when the best
 * is restart 1: the seed is searched for such a pair. */
static void check_average_of_two(gpd_algorithm alg, int steps) {
  gpd_solve_options o;
  quick_options(&o, alg, steps, 0);
  gpd_net *gk = alg == GPD_ALG_NAIVE ? NULL : &GK;
  const char *name = alg == GPD_ALG_NAIVE ? "naive" : alg == GPD_ALG_1 ? "Algorithm 1" : "Algorithm 2";
  o.restarts = 2;
  for (uint64_t seed = 1; seed <= 40; seed++) {
    o.seed = seed;
    o.average_best = 1;
    gpd_solve_result best, first, mean;
    if (gpd_solve(E, &Y, &GI, gk, &o, &best) != 0) {
      CHECK(0, "%s, best of 2: %s", name, gpd_last_error());
      return;
    }
    if (best.chosen != 1 || best.diverged) {
      gpd_solve_result_free(&best);
      continue;
    }
    o.restarts = 1;
    CHECK_OK(gpd_solve(E, &Y, &GI, gk, &o, &first));
    o.restarts = 2;
    o.average_best = 2;
    CHECK_OK(gpd_solve(E, &Y, &GI, gk, &o, &mean));
    const size_t n = (size_t)Y.c * Y.h * Y.w, nk = gpd_net_out_size(&GK);
    double err = 0, err_range = 0, err_k = 0;
    for (size_t i = 0; i < n; i++) {
      err = fmax(err, fabs(mean.image.data[i] - 0.5 * (first.image.data[i] + best.image.data[i])));
      err_range = fmax(err_range, fabs(mean.range_image.data[i] - 0.5 * (first.range_image.data[i] + best.range_image.data[i])));
    }
    if (gk)
      for (size_t i = 0; i < nk; i++) err_k = fmax(err_k, fabs(mean.kernel[i] - 0.5 * (first.kernel[i] + best.kernel[i])));
    else
      CHECK(!mean.kernel, "%s: a kernel without a blur generator", name);
    CHECK(mean.averaged == 2 && mean.chosen == 1 && mean.measurement == best.measurement && mean.total == best.total,
          "%s: the mean of 2 reports %d averaged, restart %d, measurement %g (the best: restart 1, %g)",
          name, mean.averaged, mean.chosen, mean.measurement, best.measurement);
    CHECK(err < 1e-6 && err_range < 1e-6 && err_k < 1e-7 && max_abs_diff(first.image.data, best.image.data, n) > 1e-3,
          "%s: the mean of 2 is off the mean of restarts 0 and 1 by %g (image), %g (range), %g (kernel)",
          name, err, err_range, err_k);
    gpd_solve_result_free(&best);
    gpd_solve_result_free(&first);
    gpd_solve_result_free(&mean);
    return;
  }
  CHECK(0, "%s: no seed of 1..40 makes restart 1 the better of 2", name);
}

static void test_average_best(void) {
  check_average_of_two(GPD_ALG_NAIVE, 4);
  check_average_of_two(GPD_ALG_1, 4);
  check_average_of_two(GPD_ALG_2, 4);
  /* the halving schedule: only the restarts that ran to the end are averaged */
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 8, 3);
  o.restarts = 4;
  o.average_best = 4;
  o.schedule = GPD_SCHEDULE_HALVING;
  o.keep_restarts = 1; /* and only they are kept */
  gpd_solve_result r;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &r) == 0) {
    int finished = 0;
    for (int i = 0; i < r.restarts; i++) finished += r.dropped_at[i] < 0 && r.diverged_at[i] < 0;
    CHECK(r.averaged == finished && finished >= 1 && finished < 4, "halving: %d averaged, %d ran to the end",
          r.averaged, finished);
    CHECK(r.n_ranked == finished, "halving: %d kept, %d ran to the end", r.n_ranked, finished);
    for (int j = 0; j < r.n_ranked; j++)
      CHECK(r.dropped_at[r.ranked[j].restart] < 0, "halving: rank %d is restart %d, stopped at step %d", j,
            r.ranked[j].restart, r.dropped_at[r.ranked[j].restart]);
    gpd_solve_result_free(&r);
  } else {
    CHECK(0, "halving with --average-best: %s", gpd_last_error());
  }
  /* refused up front, by name */
  o.keep_restarts = 0;
  o.schedule = GPD_SCHEDULE_FULL;
  o.average_best = 5;
  check_refused("averaging 5 of 4 restarts", &o, &GI, &GK, "average_best");
  o.average_best = 2;
  o.keep_kernel_scale = 1;
  check_refused("averaging at the raw kernel scale", &o, &GI, &GK, "raw kernel scale");
  quick_options(&o, GPD_ALG_RANGE, 4, 3);
  o.average_best = 2;
  check_refused("averaging range projection's restarts", &o, &GI, NULL, "range projection");
}

/* keep_restarts: every restart that ran to the end, best first, each the
 * restart a solve of its own would give (restart 0: a solve with one
 * restart); the result itself unchanged; refused where one restart is all
 * there is (the halving schedule: test_average_best). */
static void test_keep_restarts(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 6, 4);
  o.restarts = 4;
  gpd_solve_result plain, kept, first;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &plain) != 0) {
    CHECK(0, "Algorithm 2, 4 restarts: %s", gpd_last_error());
    return;
  }
  o.keep_restarts = 1;
  CHECK_OK(gpd_solve(E, &Y, &GI, &GK, &o, &kept));
  o.keep_restarts = 0;
  o.restarts = 1;
  CHECK_OK(gpd_solve(E, &Y, &GI, &GK, &o, &first));
  const size_t n = (size_t)Y.c * Y.h * Y.w, nk = gpd_net_out_size(&GK);
  CHECK(plain.n_ranked == 0 && !plain.ranked, "restarts kept without keep_restarts");
  CHECK(kept.n_ranked == 4 - kept.diverged && kept.n_ranked >= 2, "%d restarts kept of 4 (%d diverged)", kept.n_ranked,
        kept.diverged);
  CHECK(kept.chosen == plain.chosen && bits_equal(kept.image.data, plain.image.data, n) &&
            bits_equal(kept.kernel, plain.kernel, nk),
        "keeping the restarts changed the result (restart %d, alone %d)", kept.chosen, plain.chosen);
  int seen0 = 0;
  for (int j = 0; j < kept.n_ranked; j++) {
    const gpd_solve_restart *r = &kept.ranked[j];
    CHECK(j > 0 || (r->restart == kept.chosen && r->measurement == kept.measurement && r->total == kept.total &&
                    bits_equal(r->image.data, kept.image.data, n) && bits_equal(r->kernel, kept.kernel, nk)),
          "rank 0 is restart %d (%g), the result restart %d (%g)", r->restart, r->measurement, kept.chosen,
          kept.measurement);
    CHECK(j == 0 || kept.ranked[j - 1].measurement <= r->measurement, "rank %d measures %g, rank %d %g", j,
          r->measurement, j - 1, kept.ranked[j - 1].measurement);
    CHECK(r->restart >= 0 && r->restart < 4 && isfinite(r->measurement) && r->range_image.data && r->ksize > 0,
          "rank %d: restart %d, measurement %g", j, r->restart, r->measurement);
    double ksum = 0;
    for (size_t i = 0; i < nk; i++) ksum += r->kernel[i];
    CHECK(fabs(ksum - 1.0) < 1e-4, "rank %d: its kernel sums to %g, not 1", j, ksum);
    if (r->restart == 0) {
      seen0 = 1;
      CHECK(max_abs_diff(r->image.data, first.image.data, n) < 1e-6 &&
                max_abs_diff(r->range_image.data, first.range_image.data, n) < 1e-6 &&
                max_abs_diff(r->kernel, first.kernel, nk) < 1e-7 && r->measurement == first.measurement,
            "restart 0 kept differs from a solve of one restart by %g (image), measurement %g against %g",
            max_abs_diff(r->image.data, first.image.data, n), r->measurement, first.measurement);
    }
  }
  CHECK(seen0 || kept.diverged_at[0] >= 0, "restart 0 ran to the end but was not kept");
  gpd_solve_result_free(&plain);
  gpd_solve_result_free(&kept);
  gpd_solve_result_free(&first);
  o.restarts = 4;
  o.keep_restarts = 1;
  o.keep_kernel_scale = 1;
  check_refused("keeping the restarts at the raw kernel scale", &o, &GI, &GK, "raw kernel scale");
  quick_options(&o, GPD_ALG_3, 4, 3);
  o.keep_restarts = 1;
  check_refused("keeping Algorithm 3's restarts", &o, NULL, &GK, "keeps one restart");
}

/* Algorithm 2's objective of the non-blind finish at image x (host, the
 * image's size) with kernel k and range image r fixed, on the CPU engine:
 * data(x, k) + tau mean((x - r)^2) + rho TV(x). */
static double polish_objective(const float *x, const float *k, const float *r, const gpd_solve_options *o) {
  const int K = GK.out_h;
  const size_t n = (size_t)Y.c * Y.h * Y.w;
  gpd_data_term *d = gpd_data_term_create(E, 1, Y.c, Y.h, Y.w, K, GPD_BOUNDARY_CIRCULAR);
  float *xd = E->alloc(E, n, "x"), *kd = E->alloc(E, (size_t)K * K, "k"), *yd = E->alloc(E, n, "y");
  float *loss = E->alloc(E, 2, "losses"), host[2] = {NAN, NAN};
  if (!d || !xd || !kd || !yd || !loss || E->upload(E, xd, x, n) || E->upload(E, kd, k, (size_t)K * K) ||
      E->upload(E, yd, Y.data, n) || gpd_data_term_eval(d, xd, kd, yd, 1, 1.0f, loss, NULL, NULL) ||
      E->tv_forward(E, 1, Y.c, Y.h, Y.w, xd, loss + 1) || E->download(E, host, loss, 2))
    CHECK(0, "the polish objective: %s", gpd_last_error());
  double range = 0;
  for (size_t i = 0; i < n; i++) range += ((double)x[i] - r[i]) * ((double)x[i] - r[i]);
  gpd_data_term_free(d);
  E->free(E, xd);
  E->free(E, kd);
  E->free(E, yd);
  E->free(E, loss);
  return host[0] + o->polish_tau * range / (double)n + o->polish_rho * host[1];
}

/* polish_steps: the same restarts, chosen and ranked alike, with the same
 * kernels and range images; each kept restart's free image lowers the
 * finish's objective from where the solve left it, by Adam steps from it
 * (1 step moves no pixel by more than polish_lr); the mean of the best
 * restarts averages the polished images; the chosen restart alone gets what
 * it gets among the kept ones; refused for other algorithms and bad steps. */
static void test_alg2_polish(void) {
  gpd_solve_options o;
  quick_options(&o, GPD_ALG_2, 6, 4);
  o.restarts = 4;
  o.keep_restarts = 1;
  const size_t n = (size_t)Y.c * Y.h * Y.w, nk = gpd_net_out_size(&GK);
  gpd_solve_result plain, polished, one_step, alone, mean;
  if (gpd_solve(E, &Y, &GI, &GK, &o, &plain) != 0) {
    CHECK(0, "Algorithm 2, 4 restarts: %s", gpd_last_error());
    return;
  }
  o.polish_steps = 200;
  o.polish_lr = 0.01f;
  CHECK_OK(gpd_solve(E, &Y, &GI, &GK, &o, &polished));
  if (check_failures) return;
  CHECK(polished.chosen == plain.chosen && polished.measurement == plain.measurement &&
            polished.n_ranked == plain.n_ranked && polished.n_ranked >= 2,
        "the finish changed the choice: restart %d (%g), %d kept; without it %d (%g), %d kept", polished.chosen,
        polished.measurement, polished.n_ranked, plain.chosen, plain.measurement, plain.n_ranked);
  for (int j = 0; j < polished.n_ranked && j < plain.n_ranked; j++) {
    const gpd_solve_restart *a = &plain.ranked[j], *b = &polished.ranked[j];
    CHECK(a->restart == b->restart && bits_equal(a->kernel, b->kernel, nk) &&
              bits_equal(a->range_image.data, b->range_image.data, n),
          "rank %d: the finish changed restart %d's kernel or range image", j, a->restart);
    const double before = polish_objective(a->image.data, a->kernel, a->range_image.data, &o);
    const double after = polish_objective(b->image.data, b->kernel, b->range_image.data, &o);
    CHECK(after < 0.9 * before, "rank %d: the finish's objective went from %g to %g", j, before, after);
  }
  CHECK(bits_equal(polished.image.data, polished.ranked[0].image.data, n), "the result is not the polished best");
  /* one step: Adam's first step moves each pixel by at most its step */
  o.polish_steps = 1;
  CHECK_OK(gpd_solve(E, &Y, &GI, &GK, &o, &one_step));
  if (!check_failures) {
    const double moved = max_abs_diff(one_step.image.data, plain.image.data, n);
    CHECK(moved > 0.5 * o.polish_lr && moved <= 1.0001 * o.polish_lr, "one step of %g moved a pixel by %g",
          o.polish_lr, moved);
    gpd_solve_result_free(&one_step);
  }
  /* the chosen restart alone (no pool): what it gets among the kept ones,
   * in the same gauge (a polish before the gauge moved it by sum(k) more) */
  o.polish_steps = 200;
  o.keep_restarts = 0;
  CHECK_OK(gpd_solve(E, &Y, &GI, &GK, &o, &alone));
  if (!check_failures) {
    CHECK(max_abs_diff(alone.image.data, polished.image.data, n) < 1e-6,
          "the chosen restart polished alone differs from it polished among the kept by %g",
          max_abs_diff(alone.image.data, polished.image.data, n));
    gpd_solve_result_free(&alone);
  }
  /* the mean of the best averages the polished images */
  o.average_best = 2;
  CHECK_OK(gpd_solve(E, &Y, &GI, &GK, &o, &mean));
  if (!check_failures) {
    double err = 0;
    for (size_t i = 0; i < n; i++)
      err = fmax(err, fabs(mean.image.data[i] - 0.5 * (polished.ranked[0].image.data[i] +
                                                        polished.ranked[1].image.data[i])));
    CHECK(mean.averaged == 2 && err < 1e-5, "the mean of 2 polished restarts is off by %g (%d averaged)", err,
          mean.averaged);
    gpd_solve_result_free(&mean);
  }
  gpd_solve_result_free(&plain);
  gpd_solve_result_free(&polished);
  /* refused up front, by name */
  quick_options(&o, GPD_ALG_2, 4, 3);
  o.polish_steps = -1;
  check_refused("a negative polish", &o, &GI, &GK, "polish_steps");
  o.polish_steps = 5;
  o.polish_lr = 0.0f;
  check_refused("a polish without a step", &o, &GI, &GK, "polish_lr");
  o.polish_lr = 0.002f;
  o.polish_rho = -1.0f;
  check_refused("a negative polish TV weight", &o, &GI, &GK, "polish_rho");
  quick_options(&o, GPD_ALG_1, 4, 3);
  o.polish_steps = 5;
  check_refused("polishing Algorithm 1", &o, &GI, &GK, "for Algorithm 2");
}

int main(void) {
  unsetenv("GPD_MEMORY_LIMIT_MB");
  unsetenv("GPD_SOLVER_THREADS");
  CPU = gpd_engine_cpu_create();
  if (!CPU) {
    fprintf(stderr, "%s\n", gpd_last_error());
    return 1;
  }
  TRACKED.e = *CPU;
  TRACKED.e.alloc = tracked_alloc;
  TRACKED.e.free = tracked_free;
  E = CPU;
  CHECK_OK(make_net(&GI, "dcgan_tf", "generator", 8, 3, 32, 8, 1, 5.0f));
  CHECK_OK(make_compact_kernel_net(&GK, 4, 7, 28, 2));
  CHECK_OK(normalise_kernels(&GK, NULL, 4));
  if (check_failures) return check_report("test_solver_groups");
  /* a blurry image: G_I of a random latent blurred by a kernel of G_K */
  CHECK_OK(make_blurry_image(&GI, &GK, 11, 0.01f, 5, &Y));
  if (check_failures) return check_report("test_solver_groups");

  test_optim_device();
  test_fork();
  test_estimate();
  test_groups();
  test_alg3_threads();
  test_too_small();
  test_alg2_polish();
  test_kernel_scale();
  test_alg2_select_total();
  test_alg2_init_blurry();
  test_alg2_adam_decay();
  test_alg2_adam_lr_kernel();
  test_alg2_adam_anneal();
  test_average_best();
  test_keep_restarts();

  gpd_image_free(&Y);
  gpd_net_free(&GI);
  gpd_net_free(&GK);
  gpd_engine_destroy(CPU);
  return check_report("test_solver_groups");
}
