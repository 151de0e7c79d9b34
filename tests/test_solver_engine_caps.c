/* What the solver asks of an engine (gpd_engine's caps and slots), checked
 * on copies of the CPU engine whose caps are set as a GPU's would be:
 *  - groups are capped by caps.max_tensor_elements: the DCGAN-64's largest
 *    activation, (64, 32, 32) per restart, makes 32,768 or more restarts
 *    two groups under cuDNN's 2^31 - 1 limit however much memory there is;
 *    a small limit splits 12 restarts into 3 groups of 4 that give the
 *    single batch's result bit for bit;
 *  - every engine and fork is charged caps.instance_reserve: with 1 GiB
 *    each and 3.5 GiB free, Algorithm 3 runs 3 restarts at once instead of
 *    the 8 it would, and Algorithm 1's groups run on 3 threads instead of 4;
 *    threads default to 1 without caps.concurrent_forks;
 *  - what fft_scratch_bytes reports is counted once per restart in the
 *    estimate (both the image planes and the kernel plane);
 *  - a graph capture that fails is counted in the result with its cause and
 *    the solve goes on eagerly: refused at begin (nothing ran), the result
 *    is the eager one bit for bit; invalidated at end, it is reported too;
 *    in 3 groups, 3 failures are counted. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpd/solve.h"
#include "solver_test_nets.h"

static gpd_engine *CPU;
static gpd_net GI, GK; /* small: dcgan_tf 32x32x3 width 8, a compact 28x28 kernel net */
static gpd_image Y;

/* ---- a CPU engine with a GPU's caps ----------------------------------------------- */

static size_t fake_free_bytes;
static size_t fake_memory_free(gpd_engine *e) {
  (void)e;
  return fake_free_bytes;
}

/* A copy of the CPU engine (its ops ignore the engine pointer) with the
 * given caps, its memory_free reporting `free_bytes`. */
static gpd_engine like_gpu(size_t max_tensor, size_t reserve, size_t free_bytes) {
  gpd_engine e = *CPU;
  e.caps.memory_name = "GPU memory";
  e.caps.concurrent_forks = 1;
  e.caps.max_tensor_elements = max_tensor;
  e.caps.instance_reserve = reserve;
  fake_free_bytes = free_bytes;
  e.memory_free = fake_memory_free;
  return e;
}

static int bits_equal(const float *a, const float *b, size_t n) { return memcmp(a, b, sizeof(float) * n) == 0; }

static void same_result(const char *what, const gpd_solve_result *a, const gpd_solve_result *b) {
  CHECK(a->chosen == b->chosen && a->measurement == b->measurement && a->total == b->total,
        "%s: chosen %d, measurement %.9g, total %.9g; expected %d, %.9g, %.9g", what, b->chosen, b->measurement,
        b->total, a->chosen, a->measurement, a->total);
  for (int r = 0; r < a->restarts && r < b->restarts; r++)
    CHECK(a->restart_measurement[r] == b->restart_measurement[r], "%s: restart %d measurement %.9g, expected %.9g",
          what, r, b->restart_measurement[r], a->restart_measurement[r]);
  const size_t px = (size_t)a->image.c * a->image.h * a->image.w;
  CHECK(b->image.data && bits_equal(a->image.data, b->image.data, px), "%s: the image differs", what);
  CHECK(a->ksize == b->ksize && (!a->kernel || bits_equal(a->kernel, b->kernel, (size_t)a->ksize * a->ksize)),
        "%s: the kernel differs", what);
}

/* gpd_solve on e with GI and GK seen as e's (the CPU ops ignore which CPU
 * engine they run on). */
static int solve_on(gpd_engine *e, const gpd_solve_options *o, gpd_solve_result *res) {
  gpd_net gi = GI, gk = GK;
  gi.engine = gk.engine = e;
  return gpd_solve(e, &Y, &gi, &gk, o, res);
}

static gpd_solve_options alg1_options(int restarts) {
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.steps = 8;
  o.lr = 0.5f;
  o.seed = 4;
  o.restarts = restarts;
  return o;
}

/* ---- the tensor limit ------------------------------------------------------------- */

static void test_dcgan64_cap(void) {
  gpd_net g64;
  if (make_net(&g64, "dcgan_tf", "generator", 100, 3, 64, 64, 21, 1.0f) != 0) {
    CHECK(0, "DCGAN-64: %s", gpd_last_error());
    return;
  }
  gpd_image y64;
  smooth_image(&y64, 3, 64, 64, 0.3f);
  gpd_engine gpu = like_gpu((size_t)INT32_MAX, 0, (size_t)1 << 50);
  gpd_solve_options o = alg1_options(40000);
  gpd_solve_memory m;
  CHECK_OK(gpd_solve_memory_estimate(&gpu, &y64, &g64, &GK, &o, &m));
  CHECK(m.tensor_per_restart == 64 * 32 * 32, "DCGAN-64's largest tensor per restart: %zu elements, expected %d",
        m.tensor_per_restart, 64 * 32 * 32);
  const int restarts[] = {32767, 32768, 40000, 100000};
  const int groups[] = {1, 2, 2, 4};
  for (int i = 0; i < 4; i++) {
    o.restarts = restarts[i];
    gpd_solve_plan plan;
    CHECK_OK(gpd_solve_plan_make(&gpu, &y64, &g64, &GK, &o, &plan));
    CHECK(plan.groups == groups[i] && (size_t)plan.group_size * 64 * 32 * 32 <= (size_t)INT32_MAX,
          "%d restarts under the 2^31 - 1 limit: %d groups of %d, expected %d groups", restarts[i], plan.groups,
          plan.group_size, groups[i]);
  }
  /* without a limit, memory alone decides: one group */
  gpu.caps.max_tensor_elements = 0;
  gpd_solve_plan plan;
  CHECK_OK(gpd_solve_plan_make(&gpu, &y64, &g64, &GK, &o, &plan));
  CHECK(plan.groups == 1, "no tensor limit and 1 PiB free: %d groups", plan.groups);
  gpd_image_free(&y64);
  gpd_net_free(&g64);
}

static void test_small_cap(void) {
  gpd_solve_options o = alg1_options(12);
  gpd_solve_memory m;
  CHECK_OK(gpd_solve_memory_estimate(CPU, &Y, &GI, &GK, &o, &m));
  CHECK(m.tensor_per_restart >= (size_t)8 * 16 * 16, "largest tensor per restart %zu elements", m.tensor_per_restart);
  gpd_engine capped = like_gpu(5 * m.tensor_per_restart - 1, 0, (size_t)1 << 40);
  capped.caps.concurrent_forks = 0;
  gpd_solve_plan plan;
  CHECK_OK(gpd_solve_plan_make(&capped, &Y, &GI, &GK, &o, &plan));
  CHECK(plan.groups == 3 && plan.group_size == 4 && plan.threads == 1, "a limit of 4 restarts: %d groups of %d on %d",
        plan.groups, plan.group_size, plan.threads);
  gpd_solve_result single, grouped;
  if (solve_on(CPU, &o, &single) != 0) {
    CHECK(0, "single batch: %s", gpd_last_error());
    return;
  }
  if (solve_on(&capped, &o, &grouped) == 0) {
    CHECK(grouped.groups == 3, "capped: ran as %d groups", grouped.groups);
    same_result("12 restarts capped to groups of 4", &single, &grouped);
    gpd_solve_result_free(&grouped);
  } else {
    CHECK(0, "capped: %s", gpd_last_error());
  }
  gpd_solve_result_free(&single);
  /* a limit below one restart's largest tensor: a clear error */
  capped.caps.max_tensor_elements = m.tensor_per_restart - 1;
  CHECK(gpd_solve_plan_make(&capped, &Y, &GI, &GK, &o, &plan) != 0 &&
            strstr(gpd_last_error(), "more than the engine's limit"),
        "a limit below one restart: %s", gpd_last_error());
}

/* ---- the reserve per engine, threads, FFT scratch --------------------------------- */

static void test_reserve(void) {
  const size_t GiB = (size_t)1 << 30;
  gpd_engine gpu = like_gpu(0, GiB, 7 * GiB / 2);
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_3);
  o.restarts = 10;
  o.untrained_width = 4;
  o.untrained_latent = 8;
  gpd_solve_plan plan;
  CHECK_OK(gpd_solve_plan_make(&gpu, &Y, NULL, &GK, &o, &plan));
  CHECK(plan.threads == 3 && plan.memory.fixed >= GiB, "Alg 3, 1 GiB per engine, 3.5 GiB free: %d threads (fixed %zu)",
        plan.threads, plan.memory.fixed);
  gpu.caps.instance_reserve = 0;
  CHECK_OK(gpd_solve_plan_make(&gpu, &Y, NULL, &GK, &o, &plan));
  CHECK(plan.threads == 8, "Alg 3 with no reserve: %d threads, expected min(restarts, 8)", plan.threads);
  gpu.caps.concurrent_forks = 0;
  CHECK_OK(gpd_solve_plan_make(&gpu, &Y, NULL, &GK, &o, &plan));
  CHECK(plan.threads == 1, "forks that share the cores: %d threads by default", plan.threads);

  gpd_solve_options o1 = alg1_options(12);
  o1.threads = 4;
  gpu = like_gpu(0, GiB, 7 * GiB / 2);
  CHECK_OK(gpd_solve_plan_make(&gpu, &Y, &GI, &GK, &o1, &plan));
  CHECK(plan.threads == 3 && plan.groups >= 3, "Alg 1, 4 threads asked, 1 GiB each of 3.5 GiB: %d threads, %d groups",
        plan.threads, plan.groups);
}

static size_t fft_mib(gpd_engine *e, int b, int h, int w) {
  (void)e;
  (void)h;
  (void)w;
  return (size_t)b << 20; /* 1 MiB per plane */
}

static void test_fft_scratch(void) {
  gpd_solve_options o = alg1_options(4);
  gpd_engine big = *CPU;
  big.fft_scratch_bytes = fft_mib;
  gpd_solve_memory a, b;
  CHECK_OK(gpd_solve_memory_estimate(CPU, &Y, &GI, &GK, &o, &a));
  CHECK_OK(gpd_solve_memory_estimate(&big, &Y, &GI, &GK, &o, &b));
  /* C = 3 image planes and one kernel plane per restart, 10% on top */
  const size_t want = (size_t)4 << 20;
  const size_t cpu = CPU->fft_scratch_bytes(CPU, 3, 32, 32) + CPU->fft_scratch_bytes(CPU, 1, 32, 32);
  const double got = (double)b.per_restart - (double)a.per_restart;
  const double expect = 1.1 * ((double)want - (double)cpu);
  CHECK(fabs(got - expect) <= 2.0, "fft scratch per restart: the estimate grew by %.0f bytes, expected %.0f", got,
        expect);
  CHECK(b.fixed == a.fixed, "fft scratch changed the fixed part");
}

/* ---- failed captures ------------------------------------------------------------------ */

static int refuse_begin(gpd_engine *e) {
  (void)e;
  return gpd_error("test engine: capture refused at begin");
}
static int ok_begin(gpd_engine *e) {
  (void)e;
  return 0;
}
static int invalidated_end(gpd_engine *e, void **graph) {
  (void)e;
  *graph = NULL;
  return gpd_error("test engine: the capture was invalidated");
}
static int no_launch(gpd_engine *e, void *graph) {
  (void)e;
  (void)graph;
  return gpd_error("test engine: launch called without a graph");
}
static void no_free(gpd_engine *e, void *graph) {
  (void)e;
  (void)graph;
}

static gpd_engine with_graphs(int (*begin)(gpd_engine *), int (*end)(gpd_engine *, void **)) {
  gpd_engine e = *CPU;
  e.caps.graphs = 1;
  e.graph_begin = begin;
  e.graph_end = end;
  e.graph_launch = no_launch;
  e.graph_free = no_free;
  return e;
}

static void test_capture_failures(void) {
  gpd_solve_options o = alg1_options(12);
  gpd_solve_result eager, res;
  if (solve_on(CPU, &o, &eager) != 0) {
    CHECK(0, "eager: %s", gpd_last_error());
    return;
  }
  CHECK(eager.graph_launches == 0 && eager.graph_capture_failures == 0 && !eager.graph_failure[0],
        "the CPU engine reports graphs: %ld launches, %ld failures", eager.graph_launches,
        eager.graph_capture_failures);

  gpd_engine refusing = with_graphs(refuse_begin, invalidated_end);
  if (solve_on(&refusing, &o, &res) == 0) {
    CHECK(res.graph_capture_failures == 1 && res.graph_launches == 0, "refused capture: %ld failures, %ld launches",
          res.graph_capture_failures, res.graph_launches);
    CHECK(strstr(res.graph_failure, "capture refused at begin") != NULL, "cause '%s'", res.graph_failure);
    same_result("after a refused capture", &eager, &res);
    gpd_solve_result_free(&res);
  } else {
    CHECK(0, "refused capture: %s", gpd_last_error());
  }

  /* the engine "captured" by running the ops (it has no real graphs), so
   * iteration 1 ran twice: only the report is checked */
  gpd_engine invalidating = with_graphs(ok_begin, invalidated_end);
  if (solve_on(&invalidating, &o, &res) == 0) {
    CHECK(res.graph_capture_failures == 1 && res.graph_launches == 0,
          "invalidated capture: %ld failures, %ld launches", res.graph_capture_failures, res.graph_launches);
    CHECK(strstr(res.graph_failure, "the capture was invalidated") != NULL, "cause '%s'", res.graph_failure);
    CHECK(isfinite(res.measurement), "invalidated capture: measurement %g", res.measurement);
    gpd_solve_result_free(&res);
  } else {
    CHECK(0, "invalidated capture: %s", gpd_last_error());
  }

  /* three groups: three captures, three failures, the first cause */
  gpd_solve_memory m;
  CHECK_OK(gpd_solve_memory_estimate(CPU, &Y, &GI, &GK, &o, &m));
  refusing.caps.max_tensor_elements = 4 * m.tensor_per_restart;
  if (solve_on(&refusing, &o, &res) == 0) {
    CHECK(res.groups == 3 && res.graph_capture_failures == 3, "3 groups: %d groups, %ld failures", res.groups,
          res.graph_capture_failures);
    CHECK(strstr(res.graph_failure, "capture refused at begin") != NULL, "cause '%s'", res.graph_failure);
    same_result("3 groups after refused captures", &eager, &res);
    gpd_solve_result_free(&res);
  } else {
    CHECK(0, "3 groups, refused captures: %s", gpd_last_error());
  }
  gpd_solve_result_free(&eager);
}

int main(void) {
  unsetenv("GPD_MEMORY_LIMIT_MB");
  unsetenv("GPD_SOLVER_THREADS");
  unsetenv("GPD_SOLVER_GRAPHS");
  CPU = E = gpd_engine_cpu_create();
  if (!CPU) {
    fprintf(stderr, "%s\n", gpd_last_error());
    return 1;
  }
  CHECK_OK(make_net(&GI, "dcgan_tf", "generator", 8, 3, 32, 8, 1, 5.0f));
  CHECK_OK(make_compact_kernel_net(&GK, 4, 7, 28, 2));
  CHECK_OK(normalise_kernels(&GK, NULL, 4));
  if (check_failures) return check_report("test_solver_engine_caps");
  smooth_image(&Y, 3, 32, 32, 0.7f);

  test_dcgan64_cap();
  test_small_cap();
  test_reserve();
  test_fft_scratch();
  test_capture_failures();

  gpd_image_free(&Y);
  gpd_net_free(&GI);
  gpd_net_free(&GK);
  gpd_engine_destroy(CPU);
  return check_report("test_solver_engine_caps");
}
