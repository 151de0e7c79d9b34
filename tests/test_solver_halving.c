/* Restarts as a budget, on the CPU engine with small random generators:
 *  - the halving schedule keeps exactly the better half of the restarts
 *    still running at each point, by the algorithm's own measurement at the
 *    step before the point (read back from the run's own per-step log:
 *    the rows always have every restart, NaN once one has stopped), for
 *    Algorithms 1, 2 and range projection, with 10 restarts (10 -> 5 -> 2
 *    -> 1) and with restarts that diverge (they rank last);
 *  - dropped_at, the per-restart measurement of a dropped restart and
 *    restart_iterations (summed over the restarts: 10 x 10 + 5 x 10 +
 *    2 x 10 + 1 x 10 for 40 steps and points at 1/4, 1/2, 3/4), against
 *    R x steps for the full schedule;
 *  - a restart that goes on computes what it computes in the full schedule
 *    (gathering into a smaller batch changes nothing but the batch):
 *    its final measurement matches the full run's within float tolerance;
 *  - gpd_solve_batch: three images x 4 restarts in one batch give each
 *    image what gpd_solve gives it alone with its seed (full and halving);
 *    images of different sizes are refused;
 *  - under a memory limit that splits the restarts into groups, each group
 *    halves its own restarts and the result is still one of the survivors;
 *  - options: Algorithm 3 refuses halving, bad points are refused. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpd/solve.h"
#include "solver_test_nets.h"

static gpd_net GI, GK;
static gpd_image Y[3];

#define MAX_R 12
#define MAX_STEPS 64

/* Every log row (log_every 1: one per step, then the final point). */
typedef struct step_log {
  int rows, restarts;
  int step[MAX_STEPS + 1];
  float m[MAX_STEPS + 1][MAX_R];
} step_log;

static void log_keep(void *ctx, int step, int restarts, const float *m, const float *t) {
  (void)t;
  step_log *L = ctx;
  if (L->rows > MAX_STEPS || restarts > MAX_R) return;
  L->restarts = restarts;
  L->step[L->rows] = step;
  memcpy(L->m[L->rows], m, sizeof(float) * (size_t)restarts);
  L->rows++;
}

/* The logged measurements at `step`, NULL when it was not logged. */
static const float *log_at(const step_log *L, int step) {
  for (int i = 0; i < L->rows; i++)
    if (L->step[i] == step) return L->m[i];
  return NULL;
}

/* a ranks before b among the restarts: finite before NaN, lower, lower index */
static int ranks_before(const float *m, int a, int b) {
  const int fa = isfinite(m[a]), fb = isfinite(m[b]);
  if (fa != fb) return fa;
  if (fa && m[a] != m[b]) return m[a] < m[b];
  return a < b;
}

/* Checks one halving run against its own log: at each point T the set of
 * restarts that go on is the better floor(n/2) (at least 1) of the n
 * running before T, ranked by the log at step T - 1. Returns the expected
 * restart-iterations. */
static long check_halving_run(const char *label, const gpd_solve_options *o, const gpd_solve_result *res,
                              const step_log *L) {
  const int R = o->restarts;
  int running[MAX_R];
  for (int r = 0; r < R; r++) running[r] = 1;
  long expected = 0;
  int prev = 0, n_running = R;
  for (int k = 0; k <= o->n_halving; k++) {
    const int T = k < o->n_halving ? (int)lround((double)o->halving_at[k] * o->steps) : o->steps;
    expected += (long)n_running * (T - prev);
    prev = T;
    if (k == o->n_halving) break;
    const float *m = log_at(L, T - 1);
    CHECK(m != NULL, "%s: no log row at step %d", label, T - 1);
    if (!m) return -1;
    int kept = 0;
    for (int r = 0; r < R; r++) {
      if (!running[r]) {
        CHECK(isnan(m[r]), "%s: restart %d stopped earlier but is logged %g at step %d", label, r, m[r], T - 1);
        continue;
      }
      int better = 0;
      for (int q = 0; q < R; q++)
        if (running[q] && q != r && ranks_before(m, q, r)) better++;
      const int should_keep = better < (n_running / 2 > 1 ? n_running / 2 : 1);
      const int kept_here = res->dropped_at[r] == -1 || res->dropped_at[r] > T;
      CHECK(should_keep == kept_here, "%s: point %d (step %d): restart %d ranks %d of %d by the log (%g) but was %s",
            label, k + 1, T, r, better + 1, n_running, m[r], kept_here ? "kept" : "dropped");
      if (!should_keep) {
        CHECK(res->dropped_at[r] == T, "%s: restart %d dropped at %d, expected %d", label, r, res->dropped_at[r], T);
        const float x = res->restart_measurement[r];
        CHECK((isnan(x) && isnan(m[r])) || x == m[r], "%s: dropped restart %d reports %g, it was ranked by %g", label,
              r, x, m[r]);
        running[r] = 0;
      } else {
        kept++;
      }
    }
    n_running = kept;
  }
  /* the survivors run to the end and are logged there */
  const float *last = log_at(L, o->steps);
  CHECK(last != NULL, "%s: no final log row", label);
  for (int r = 0; last && r < R; r++)
    CHECK(running[r] == (res->dropped_at[r] == -1), "%s: restart %d running %d but dropped_at %d", label, r,
          running[r], res->dropped_at[r]);
  CHECK(res->restart_iterations == expected, "%s: %ld restart-iterations, expected %ld", label, res->restart_iterations,
        expected);
  return expected;
}

/* Full and halving runs of the same problem (seed), checked. */
static void check_schedule(const char *label, gpd_solve_options o, gpd_net *gi, gpd_net *gk, int expect_diverged) {
  step_log LF = {0}, LH = {0};
  gpd_solve_result full, half;
  o.restarts = 10;
  o.steps = 40;
  o.log = log_keep;
  o.log_every = 1;
  o.log_ctx = &LF;
  o.schedule = GPD_SCHEDULE_FULL;
  if (gpd_solve(E, &Y[0], gi, gk, &o, &full) != 0) {
    CHECK(0, "%s full: %s", label, gpd_last_error());
    return;
  }
  CHECK(full.restart_iterations == 400, "%s full: %ld restart-iterations, expected 10 x 40", label,
        full.restart_iterations);
  for (int r = 0; r < full.restarts; r++)
    CHECK(full.dropped_at[r] == -1, "%s full: restart %d dropped at %d", label, r, full.dropped_at[r]);
  if (expect_diverged) CHECK(full.diverged > 0, "%s: no restart diverged", label);
  gpd_solve_options oh = o;
  oh.schedule = GPD_SCHEDULE_HALVING;
  oh.n_halving = 3;
  oh.halving_at[0] = 0.25f, oh.halving_at[1] = 0.5f, oh.halving_at[2] = 0.75f;
  oh.log_ctx = &LH;
  if (gpd_solve(E, &Y[0], gi, gk, &oh, &half) != 0) {
    CHECK(0, "%s halving: %s", label, gpd_last_error());
    gpd_solve_result_free(&full);
    return;
  }
  CHECK(LH.restarts == 10 && LF.restarts == 10, "%s: log rows of %d / %d restarts, expected 10", label, LH.restarts,
        LF.restarts);
  const long spent = check_halving_run(label, &oh, &half, &LH);
  CHECK(spent == 10 * 10 + 5 * 10 + 2 * 10 + 1 * 10, "%s: the schedule should spend 180 restart-iterations, %ld",
        label, spent);
  /* survivors compute what they compute in the full schedule */
  int survivors = 0;
  for (int r = 0; r < 10; r++) {
    if (half.dropped_at[r] != -1) continue;
    survivors++;
    check_close("survivor's final measurement", &half.restart_measurement[r], &full.restart_measurement[r], 1, 1e-6,
                1e-4);
    CHECK(half.chosen == r, "%s: chosen %d, the survivor is %d", label, half.chosen, r);
  }
  CHECK(survivors == 1, "%s: %d survivors, expected 1", label, survivors);
  fprintf(stderr, "%s: halving kept restart %d (%.6g; full schedule chose %d at %.6g), 180 of 400 restart-iterations\n",
          label, half.chosen, half.measurement, full.chosen, full.measurement);
  gpd_solve_result_free(&full);
  gpd_solve_result_free(&half);
}

static void test_schedules(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.lr = 0.5f;
  o.seed = 3;
  check_schedule("Algorithm 1", o, &GI, &GK, 0);
  /* large steps: some restarts diverge and rank last */
  o.lr = 1.3f;
  check_schedule("Algorithm 1 at lr 1.3", o, &GI, &GK, 1);
  gpd_solve_defaults(&o, GPD_ALG_2);
  o.seed = 5;
  check_schedule("Algorithm 2", o, &GI, &GK, 0);
  gpd_solve_defaults(&o, GPD_ALG_RANGE);
  o.seed = 7;
  check_schedule("range projection", o, &GI, NULL, 0);
}

/* Each image of a batch gets what it gets alone. */
static void compare_alone(const char *label, const gpd_solve_result *alone, const gpd_solve_result *batched) {
  CHECK(alone->chosen == batched->chosen, "%s: chosen %d in the batch, %d alone", label, batched->chosen,
        alone->chosen);
  CHECK(alone->restart_iterations == batched->restart_iterations, "%s: %ld restart-iterations in the batch, %ld alone",
        label, batched->restart_iterations, alone->restart_iterations);
  check_close("per-restart measurement", batched->restart_measurement, alone->restart_measurement,
              (size_t)alone->restarts, 1e-6, 1e-4);
  for (int r = 0; r < alone->restarts; r++)
    CHECK(alone->dropped_at[r] == batched->dropped_at[r] && alone->diverged_at[r] == batched->diverged_at[r],
          "%s: restart %d dropped / diverged at %d / %d in the batch, %d / %d alone", label, r, batched->dropped_at[r],
          batched->diverged_at[r], alone->dropped_at[r], alone->diverged_at[r]);
  const size_t px = (size_t)alone->image.c * alone->image.h * alone->image.w;
  CHECK(batched->image.data && batched->image.h == alone->image.h, "%s: no image", label);
  if (batched->image.data) check_close("image", batched->image.data, alone->image.data, px, 1e-4, 1e-3);
  if (alone->kernel && batched->kernel)
    check_close("kernel", batched->kernel, alone->kernel, (size_t)alone->ksize * alone->ksize, 1e-5, 1e-3);
}

static void batch_vs_alone(const char *label, gpd_solve_options o, gpd_net *gi, gpd_net *gk) {
  const uint64_t seeds[3] = {11, 12, 13};
  gpd_solve_result batched[3], alone;
  o.restarts = 4;
  o.steps = 24;
  if (gpd_solve_batch(E, 3, Y, seeds, gi, gk, &o, batched) != 0) {
    CHECK(0, "%s batch: %s", label, gpd_last_error());
    return;
  }
  for (int j = 0; j < 3; j++) {
    gpd_solve_options one = o;
    one.seed = seeds[j];
    if (gpd_solve(E, &Y[j], gi, gk, &one, &alone) != 0) {
      CHECK(0, "%s image %d alone: %s", label, j, gpd_last_error());
      continue;
    }
    char what[96];
    snprintf(what, sizeof what, "%s, image %d", label, j);
    compare_alone(what, &alone, &batched[j]);
    gpd_solve_result_free(&alone);
  }
  fprintf(stderr, "%s: 3 images x 4 restarts in one batch = each alone (chosen %d %d %d)\n", label, batched[0].chosen,
          batched[1].chosen, batched[2].chosen);
  for (int j = 0; j < 3; j++) gpd_solve_result_free(&batched[j]);
}

static void test_batch(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.lr = 0.5f;
  batch_vs_alone("Algorithm 1", o, &GI, &GK);
  gpd_solve_defaults(&o, GPD_ALG_2);
  batch_vs_alone("Algorithm 2", o, &GI, &GK);
  o.schedule = GPD_SCHEDULE_HALVING;
  batch_vs_alone("Algorithm 2, halving", o, &GI, &GK);
  gpd_solve_defaults(&o, GPD_ALG_RANGE);
  o.schedule = GPD_SCHEDULE_HALVING;
  batch_vs_alone("range projection, halving", o, &GI, NULL);

  /* one size per batch */
  gpd_image odd[2] = {Y[0], {0}};
  CHECK_OK(gpd_image_alloc(&odd[1], 3, 16, 16));
  const uint64_t seeds[2] = {1, 2};
  gpd_solve_result res[2];
  CHECK(gpd_solve_batch(E, 2, odd, seeds, &GI, &GK, &o, res) != 0 && strstr(gpd_last_error(), "image 1 is 16x16x3"),
        "images of two sizes: %s", gpd_last_error());
  gpd_image_free(&odd[1]);
}

/* Under a memory limit that splits 10 restarts into groups, each group
 * halves its own; the chosen restart is one of the survivors. */
static void test_groups(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_2);
  o.restarts = 10;
  o.steps = 20;
  o.schedule = GPD_SCHEDULE_HALVING;
  CHECK_OK(gpd_solve_parse_halving("halving-at", "0.1,0.25,0.5", &o));
  gpd_solve_memory m;
  CHECK_OK(gpd_solve_memory_estimate(E, &Y[0], &GI, &GK, &o, &m));
  gpd_solve_plan plan = {0};
  for (int tenths = 50; tenths < 200; tenths++) {
    o.memory_limit = m.fixed + (size_t)((double)tenths / 10.0 * (double)m.per_restart);
    if (gpd_solve_plan_make(E, &Y[0], &GI, &GK, &o, &plan) == 0 && plan.groups == 2) break;
  }
  CHECK(plan.groups == 2 && plan.group_size == 5, "no limit gives 2 groups of 5 (%d of %d)", plan.groups,
        plan.group_size);
  gpd_solve_result res;
  if (gpd_solve(E, &Y[0], &GI, &GK, &o, &res) != 0) {
    CHECK(0, "halving in groups: %s", gpd_last_error());
    return;
  }
  /* each group: 5 -> 2 -> 1 -> 1 over 2 + 3 + 5 + 10 steps */
  CHECK(res.groups == 2, "ran as %d groups", res.groups);
  CHECK(res.restart_iterations == 2 * (5 * 2 + 2 * 3 + 1 * 5 + 1 * 10), "%ld restart-iterations in 2 groups",
        res.restart_iterations);
  int survivors = 0;
  for (int r = 0; r < 10; r++) survivors += res.dropped_at[r] == -1;
  CHECK(survivors == 2, "%d survivors of 2 groups", survivors);
  CHECK(res.chosen >= 0 && res.dropped_at[res.chosen] == -1, "chosen %d is not a survivor", res.chosen);
  gpd_solve_result_free(&res);
}

static void test_options(void) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_3);
  o.schedule = GPD_SCHEDULE_HALVING;
  gpd_solve_result res;
  CHECK(gpd_solve(E, &Y[0], NULL, &GK, &o, &res) != 0 && strstr(gpd_last_error(), "Algorithm 3"),
        "Algorithm 3 with halving: %s", gpd_last_error());
  gpd_solve_defaults(&o, GPD_ALG_1);
  CHECK(gpd_solve_parse_halving("halving-at", "0.5,0.25", &o) != 0 && strstr(gpd_last_error(), "increase"),
        "decreasing points: %s", gpd_last_error());
  CHECK(gpd_solve_parse_halving("halving-at", "0.5,1", &o) != 0 && strstr(gpd_last_error(), "(0, 1)"),
        "point 1: %s", gpd_last_error());
  CHECK(gpd_solve_parse_halving("halving-at", "a", &o) != 0, "not a number");
  CHECK_OK(gpd_solve_parse_halving("halving-at", "0.2,0.4", &o));
  CHECK(o.n_halving == 2 && o.halving_at[1] == 0.4f, "parsed %d points", o.n_halving);
  o.schedule = GPD_SCHEDULE_HALVING;
  char text[64];
  gpd_solve_schedule_text(&o, text, sizeof text);
  CHECK(!strcmp(text, "halving:0.2,0.4"), "schedule text '%s'", text);
}

int main(void) {
  unsetenv("GPD_MEMORY_LIMIT_MB");
  unsetenv("GPD_SOLVER_THREADS");
  E = gpd_engine_cpu_create();
  if (!E) {
    fprintf(stderr, "%s\n", gpd_last_error());
    return 1;
  }
  CHECK_OK(make_net(&GI, "dcgan_tf", "generator", 8, 3, 32, 8, 1, 5.0f));
  CHECK_OK(make_compact_kernel_net(&GK, 4, 7, 28, 2));
  CHECK_OK(normalise_kernels(&GK, NULL, 4));
  if (check_failures) return check_report("test_solver_halving");
  for (int j = 0; j < 3; j++) CHECK_OK(make_blurry_image(&GI, &GK, 11 + (uint64_t)j, 0.01f, 11 + (uint64_t)j, &Y[j]));
  if (check_failures) return check_report("test_solver_halving");

  test_schedules();
  test_batch();
  test_groups();
  test_options();

  for (int j = 0; j < 3; j++) gpd_image_free(&Y[j]);
  gpd_net_free(&GI);
  gpd_net_free(&GK);
  gpd_engine_destroy(E);
  return check_report("test_solver_halving");
}
