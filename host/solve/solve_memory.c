/* How much engine memory a solve needs, and the plan that makes it fit
 * (gpd/solve.h: gpd_solve_memory_estimate, gpd_solve_plan_make).
 *
 * The estimate does not keep a second list of what each algorithm
 * allocates: it builds the algorithm's problem for one and for two restarts
 * on a counting engine (host memory standing in for the engine's, every
 * block charged in the CUDA arena's 256-byte granules), so the numbers
 * follow the constructors. Two batches give the cost per restart and the
 * fixed rest, and, allocation by allocation, the largest tensor's growth
 * per restart (what an engine's tensor-size limit caps groups by); Alg 3 is
 * one restart (its untrained network included). On top: what the engine
 * says its FFTs keep outside alloc() (fft_scratch_bytes), 10%, and the
 * engine's own reserve (caps.instance_reserve) once per engine. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/engine_graph.h"
#include "gpd/engine_ops.h"
#include "solve_internal.h"

#define COUNT_GRANULE ((size_t)256)
#define HEADER ((size_t)16)      /* keeps the returned block 16-byte aligned */

/* ---- the counting engine ---------------------------------------------------------------- */

typedef struct counting_engine {
  gpd_engine e;          /* first: the table's functions get &c->e */
  size_t live, peak;
  size_t *sizes;         /* floats of every allocation, in order */
  size_t n_sizes, cap_sizes;
  int failed;            /* a size could not be recorded */
} counting_engine;

static void count_record(counting_engine *c, size_t count) {
  if (c->n_sizes == c->cap_sizes) {
    size_t cap = c->cap_sizes ? 2 * c->cap_sizes : 64;
    size_t *grown = realloc(c->sizes, cap * sizeof *grown);
    if (!grown) {
      c->failed = 1;
      return;
    }
    c->sizes = grown;
    c->cap_sizes = cap;
  }
  c->sizes[c->n_sizes++] = count;
}

static float *count_alloc(gpd_engine *e, size_t count, const char *what) {
  counting_engine *c = (counting_engine *)e;
  if (count > (SIZE_MAX - HEADER - COUNT_GRANULE) / sizeof(float)) {
    gpd_error("memory estimate: %zu floats for %s", count, what ? what : "a tensor");
    return NULL;
  }
  const size_t bytes = count * sizeof(float);
  size_t *block = calloc(1, HEADER + bytes);
  if (!block) {
    gpd_error("out of host memory estimating the solver's memory (%zu bytes for %s)", bytes, what ? what : "a tensor");
    return NULL;
  }
  block[0] = (bytes + COUNT_GRANULE - 1) / COUNT_GRANULE * COUNT_GRANULE;
  if (!block[0]) block[0] = COUNT_GRANULE;
  c->live += block[0];
  if (c->live > c->peak) c->peak = c->live;
  count_record(c, count);
  return (float *)((char *)block + HEADER);
}

static void count_free(gpd_engine *e, void *p) {
  if (!p) return;
  counting_engine *c = (counting_engine *)e;
  size_t *block = (size_t *)((char *)p - HEADER);
  c->live -= block[0];
  free(block);
}

static int count_copy(gpd_engine *e, float *dst, const float *src, size_t count) {
  (void)e;
  if (count && dst != src) memmove(dst, src, count * sizeof(float));
  return 0;
}

static int count_fill(gpd_engine *e, float *x, float value, size_t count) {
  (void)e;
  for (size_t i = 0; i < count; i++) x[i] = value;
  return 0;
}

static size_t count_fft_scratch(gpd_engine *e, int b, int h, int w) {
  (void)e;
  (void)b;
  (void)h;
  (void)w;
  return 0; /* what the real engine keeps is added by the plan */
}

/* Building a problem allocates, uploads and fills, and computes nothing:
 * an op called while counting is a defect in a constructor, reported as
 * such (never a NULL slot). */
#define COUNT_OP(name, params)                                                                                 \
  static int count_##name params {                                                                              \
    return gpd_error("memory estimate: a problem's constructor called the op " #name " (constructors only allocate, " \
                     "upload and fill)");                                                                       \
  }
GPD_ENGINE_OPS(COUNT_OP)
#undef COUNT_OP

static void counting_init(counting_engine *c) {
  memset(c, 0, sizeof *c);
  c->e.name = "memory estimate";
  c->e.caps.memory_name = "memory";
  c->e.alloc = count_alloc;
  c->e.free = count_free;
  c->e.upload = count_copy;
  c->e.download = count_copy;
  c->e.copy = count_copy;
  c->e.fill = count_fill;
  c->e.fft_scratch_bytes = count_fft_scratch;
  gpd_engine_fill_eager_graphs(&c->e);
#define OP(name, params) c->e.name = count_##name;
  GPD_ENGINE_OPS(OP)
#undef OP
}

static solve_create_fn batched_create(gpd_algorithm alg) {
  switch (alg) {
  case GPD_ALG_NAIVE: return naive_gd_create;
  case GPD_ALG_1: return alg1_create;
  case GPD_ALG_2: return alg2_create;
  case GPD_ALG_RANGE: return range_create;
  default: return NULL;
  }
}

/* What building the problem of `count` restarts (Alg 3: one) allocates:
 * the peak bytes, and every allocation's floats in order (*sizes, malloc'd,
 * *n of them). */
static int measure(const solve_inputs *base, int count, size_t *bytes, size_t **sizes, size_t *n) {
  counting_engine c;
  counting_init(&c);
  solve_inputs in = *base;
  gpd_net gi_view, gk_view;
  solve_inputs_on(&in, &c.e, &gi_view, &gk_view);
  in.first = 0;
  in.count = count;
  /* the first image alone (its geometry is every image's): a batch of
   * `count` items may hold more items than the images x restarts asked for
   * (2 to measure one restart's growth), past the last image */
  in.images = 0;
  in.ys = NULL;
  in.seeds = NULL;
  int rc;
  if (base->o->alg == GPD_ALG_3) {
    alg3_restart *a = NULL;
    rc = alg3_restart_create(&in, 0, &a);
    alg3_restart_free(a);
  } else {
    solve_problem *p = NULL;
    rc = batched_create(base->o->alg)(&in, &p);
    solve_problem_free(p);
  }
  if (rc == 0 && c.failed) rc = gpd_error("out of host memory estimating the solver's memory");
  *bytes = c.peak;
  *sizes = c.sizes;
  *n = c.n_sizes;
  return rc;
}

/* The largest growth of one allocation from one restart to two: the
 * elements per restart of the largest tensor that grows with the batch
 * (the constructors allocate in the same order whatever the batch). */
static size_t largest_growth(const size_t *one, size_t n1, const size_t *two, size_t n2) {
  size_t most = 0;
  for (size_t i = 0; i < n1 && i < n2; i++)
    if (two[i] > one[i] && two[i] - one[i] > most) most = two[i] - one[i];
  return most;
}

/* What the data term's FFTs keep outside alloc() per restart on engine e:
 * r2c and c2r over the C image planes and over the kernel plane. */
static size_t fft_bytes_per_restart(gpd_engine *e, const solve_inputs *in) {
  const gpd_algorithm a = in->o->alg;
  if (a != GPD_ALG_1 && a != GPD_ALG_2 && a != GPD_ALG_3) return 0;
  if (!e || !e->fft_scratch_bytes) return 0;
  const solve_geom *g = &in->g;
  return e->fft_scratch_bytes(e, g->c, g->hx, g->wx) + e->fft_scratch_bytes(e, 1, g->hx, g->wx);
}

static int solve_memory(gpd_engine *e, const solve_inputs *in, gpd_solve_memory *m) {
  const gpd_solve_options *o = in->o;
  memset(m, 0, sizeof *m);
  size_t one = 0, two = 0, *sizes1 = NULL, *sizes2 = NULL, n1 = 0, n2 = 0;
  int rc = measure(in, 1, &one, &sizes1, &n1);
  size_t fixed = 0, per = one;
  if (rc == 0 && o->alg != GPD_ALG_3) {
    rc = measure(in, 2, &two, &sizes2, &n2);
    per = two > one ? two - one : 0;
    fixed = one > per ? one - per : 0;
    m->tensor_per_restart = largest_growth(sizes1, n1, sizes2, n2);
  }
  free(sizes1);
  free(sizes2);
  GPD_TRY(rc);
  per += fft_bytes_per_restart(e, in);
  m->per_restart = per + per / 10;
  m->fixed = fixed + fixed / 10 + e->caps.instance_reserve;
  return 0;
}

int gpd_solve_memory_estimate(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk,
                              const gpd_solve_options *o, gpd_solve_memory *m) {
  if (!m) return gpd_error("gpd_solve_memory_estimate: no output");
  memset(m, 0, sizeof *m);
  if (!e) return gpd_error("gpd_solve_memory_estimate: no engine");
  solve_inputs in;
  GPD_TRY(solve_prepare(NULL, y, gi, gk, o, &in));
  return solve_memory(e, &in, m);
}

/* ---- the plan ------------------------------------------------------------------------------ */

/* A positive integer from the environment: 0 when unset, -1 (error) when
 * not a number in [1, max]. */
static long env_positive(const char *name, double max, const char *unit) {
  const char *v = getenv(name);
  if (!v || !v[0]) return 0;
  char *end = NULL;
  double d = strtod(v, &end);
  while (end && (*end == ' ' || *end == '\t')) end++;
  if (!end || end == v || *end || !(d >= 1) || d > max)
    return gpd_error("%s: '%s' is not a number of %s between 1 and %.0f", name, v, unit, max);
  return (long)d;
}

int solve_threads_requested(gpd_engine *e, const gpd_solve_options *o) {
  if (o->threads > 0) return o->threads;
  long env = env_positive("GPD_SOLVER_THREADS", 1024, "threads");
  if (env < 0) return -1;
  if (env > 0) return (int)env;
  if (!e || !e->fork || !e->caps.concurrent_forks) return 1; /* forks on the same cores would only fight */
  if (o->alg == GPD_ALG_3) return o->restarts < 8 ? o->restarts : 8;
  return 1;
}

static const char *memory_label(const gpd_engine *e) {
  return e && e->caps.memory_name ? e->caps.memory_name : "memory";
}

static void format_bytes(size_t b, char *buf, size_t size) {
  const double v = (double)b;
  if (v >= 1024.0 * 1024 * 1024) snprintf(buf, size, "%.1f GiB", v / (1024.0 * 1024 * 1024));
  else snprintf(buf, size, "%.1f MiB", v / (1024.0 * 1024));
}

static size_t div_up(size_t a, size_t b) { return (a + b - 1) / b; }

int solve_plan(gpd_engine *e, const solve_inputs *in, gpd_solve_plan *plan) {
  const gpd_solve_options *o = in->o;
  memset(plan, 0, sizeof *plan);
  GPD_TRY(solve_memory(e, in, &plan->memory));
  const size_t fixed = plan->memory.fixed, per = plan->memory.per_restart, one = fixed + per;
  size_t free_b = e && e->memory_free ? e->memory_free(e) : SIZE_MAX;
  long limit_mb = 0;
  size_t limit = o->memory_limit;
  if (!limit) {
    if ((limit_mb = env_positive("GPD_MEMORY_LIMIT_MB", 1e12, "MiB")) < 0) return -1;
    limit = (size_t)limit_mb << 20;
  }
  if (limit && limit < free_b) {
    free_b = limit;
    plan->limited = 1;
  }
  plan->free = free_b;
  /* the batch is every image's restarts (gpd_solve_batch); Alg 3 runs an
   * image's restarts one by one */
  const int R = o->alg == GPD_ALG_3 ? o->restarts : solve_inputs_count(in);
  int threads = solve_threads_requested(e, o);
  if (threads < 0) return -1;
  if (!e || !e->fork) threads = 1;
  if (threads > R) threads = R;
  if (one > free_b) {
    char need[32], have[32];
    format_bytes(one, need, sizeof need);
    format_bytes(free_b, have, sizeof have);
    return gpd_error("%s: one restart needs %s, %s free%s", memory_label(e), need, have,
                     plan->limited ? (limit_mb ? " (GPD_MEMORY_LIMIT_MB)" : " (the memory limit)") : "");
  }
  if (o->alg == GPD_ALG_3) {
    /* restarts run one at a time per thread, each with all it needs */
    plan->need = one;
    plan->one_by_one = 1;
    plan->groups = R;
    plan->group_size = 1;
    const size_t fit = free_b / one;
    plan->threads = (size_t)threads < fit ? threads : (int)fit;
    return 0;
  }
  /* An engine caches FFT plans by batch size, with their work areas: when
   * a thread runs several groups, the last (smaller) one plans anew while
   * the earlier plans stay, so groups are sized with those counted twice.
   * The halving schedule plans for every batch it shrinks to (s, s/2, ...
   * down to 1: less than 2s in all), so it counts them twice in one batch
   * and four times in groups (a smaller last group's chain adds less than
   * 2s more). */
  const size_t fft = fft_bytes_per_restart(e, in);
  const int halving = o->schedule == GPD_SCHEDULE_HALVING;
  const size_t per_one = halving ? per + fft : per;
  const size_t per_grouped = per + (halving ? 3 : 1) * fft;
  plan->need = fixed + (size_t)R * per_one;
  /* No tensor of a group may pass the engine's limit (cuDNN: 2^31 - 1
   * elements): the DCGAN-64's (N, 64, 32, 32) activations do past 32,767
   * restarts. */
  const size_t max_elems = e ? e->caps.max_tensor_elements : 0, unit = plan->memory.tensor_per_restart;
  size_t cap = (size_t)R;
  if (max_elems && unit) {
    cap = max_elems / unit;
    if (cap < 1)
      return gpd_error("%s: one restart's largest tensor has %zu elements, more than the engine's limit of %zu",
                       memory_label(e), unit, max_elems);
  }
  /* the most threads (up to those asked for) whose groups fit together */
  for (int t = threads; t >= 1; t--) {
    const size_t share = free_b / (size_t)t;
    if (share < one) continue;
    size_t fit = per_one ? (share - fixed) / per_one : (size_t)R;
    if (fit < 1) fit = 1; /* one restart is never halved: `one` fits */
    if (fit < (size_t)R && share >= fixed + per_grouped) fit = (share - fixed) / per_grouped;
    if (fit > cap) fit = cap;
    if (fit > (size_t)R) fit = (size_t)R;
    size_t groups = div_up((size_t)R, fit);
    if (groups < (size_t)t) groups = (size_t)t;
    const size_t size = div_up((size_t)R, groups);
    plan->group_size = (int)size;
    plan->groups = (int)div_up((size_t)R, size);
    plan->threads = t < plan->groups ? t : plan->groups;
    return 0;
  }
  return gpd_error("%s: no plan fits", memory_label(e)); /* unreachable: one fits (t = 1) */
}

int gpd_solve_plan_make(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o,
                        gpd_solve_plan *plan) {
  if (!plan) return gpd_error("gpd_solve_plan_make: no output");
  memset(plan, 0, sizeof *plan);
  if (!e) return gpd_error("gpd_solve_plan_make: no engine");
  solve_inputs in;
  GPD_TRY(solve_prepare(e, y, gi, gk, o, &in));
  return solve_plan(e, &in, plan);
}

int gpd_solve_plan_describe(const gpd_solve_plan *plan, const gpd_engine *e, int restarts, char *buf, size_t size) {
  if (!size) return 0;
  buf[0] = 0;
  if (plan->groups <= 1 && plan->threads <= 1) return 0;
  char need[32], have[32];
  format_bytes(plan->need, need, sizeof need);
  format_bytes(plan->free, have, sizeof have);
  const char *limited = plan->limited ? " (limited)" : "";
  if (plan->one_by_one) {
    if (plan->threads <= 1) return 0;
    snprintf(buf, size, "%s: one restart needs %s, %s free%s: running %d restarts %d at a time", memory_label(e), need,
             have, limited, restarts, plan->threads);
  } else if (plan->threads > 1)
    snprintf(buf, size, "%s: %d restarts need %s, %s free%s: running %d groups of %d, %d at a time", memory_label(e),
             restarts, need, have, limited, plan->groups, plan->group_size, plan->threads);
  else
    snprintf(buf, size, "%s: %d restarts need %s, %s free%s: running %d groups of %d", memory_label(e), restarts, need,
             have, limited, plan->groups, plan->group_size);
  return 1;
}
