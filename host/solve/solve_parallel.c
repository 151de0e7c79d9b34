/* Running independent solver tasks (groups of restarts, Alg 3's restarts)
 * one after another or concurrently, and gathering what they report: the
 * summed progress, one log table over all restarts and the best restart
 * (solve_internal.h).
 *
 * Concurrency is host threads, each driving its own fork of the engine
 * (e->fork: on CUDA an engine with its own stream on the same device), so
 * that one thread's host work and synchronisations (the per-iteration loss
 * download) overlap with the others' GPU work. Forks are made inside their
 * threads (a CUDA engine binds its device to the creating thread) and all
 * destroyed after every thread has finished: freeing device memory
 * synchronises the device, which must not happen while another thread
 * captures a graph. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solve_internal.h"

/* ---- tasks ---------------------------------------------------------------------------- */

typedef struct task_pool {
  gpd_engine *parent;
  int tasks, next;
  solve_task_fn fn;
  void *ctx;
  pthread_mutex_t lock;
  int failed;            /* a task (or a fork) failed: hand out no more */
  int failed_task;       /* the lowest failing task (-1: a fork) */
  char message[1024];    /* its error */
} task_pool;

typedef struct worker {
  task_pool *pool;
  gpd_engine *fork;
} worker;

/* Records task's failure if it has the lowest index so far (a run that
 * stops at the first failure in order reports the same one). */
static void pool_fail(task_pool *pool, int task, const char *why) {
  pthread_mutex_lock(&pool->lock);
  if (!pool->failed || task < pool->failed_task) {
    pool->failed = 1;
    pool->failed_task = task;
    snprintf(pool->message, sizeof pool->message, "%s", why);
  }
  pthread_mutex_unlock(&pool->lock);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  task_pool *pool = w->pool;
  w->fork = pool->parent->fork(pool->parent);
  if (!w->fork) {
    char why[1024];
    snprintf(why, sizeof why, "cannot fork the %s engine for a solver thread: %.900s", pool->parent->name,
             gpd_last_error());
    pool_fail(pool, -1, why);
    return NULL;
  }
  for (;;) {
    pthread_mutex_lock(&pool->lock);
    const int task = !pool->failed && pool->next < pool->tasks ? pool->next++ : -1;
    pthread_mutex_unlock(&pool->lock);
    if (task < 0) break;
    if (pool->fn(pool->ctx, w->fork, task) != 0) pool_fail(pool, task, gpd_last_error());
  }
  return NULL;
}

int solve_parallel_run(gpd_engine *e, int tasks, int threads, solve_task_fn fn, void *ctx) {
  if (threads > tasks) threads = tasks;
  if (threads <= 1 || !e->fork) {
    for (int t = 0; t < tasks; t++) GPD_TRY(fn(ctx, e, t));
    return 0;
  }
  task_pool pool = {.parent = e, .tasks = tasks, .fn = fn, .ctx = ctx};
  if (pthread_mutex_init(&pool.lock, NULL) != 0) return gpd_error("solver: cannot create a mutex");
  worker *w = gpd_calloc((size_t)threads, sizeof *w, "solver threads");
  pthread_t *tid = gpd_calloc((size_t)threads, sizeof *tid, "solver threads");
  int started = 0, rc = 0;
  if (!w || !tid) rc = -1;
  for (int i = 0; rc == 0 && i < threads; i++) {
    w[i].pool = &pool;
    if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0) {
      rc = gpd_error("solver: cannot start thread %d of %d", i + 1, threads);
      pthread_mutex_lock(&pool.lock);
      pool.next = tasks; /* hand out nothing more */
      pthread_mutex_unlock(&pool.lock);
      break;
    }
    started++;
  }
  for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
  for (int i = 0; i < started; i++)
    if (w[i].fork) gpd_engine_destroy(w[i].fork);
  if (rc == 0 && pool.failed) rc = gpd_error("%s", pool.message);
  free(w);
  free(tid);
  pthread_mutex_destroy(&pool.lock);
  return rc;
}

/* ---- progress -------------------------------------------------------------------------- */

typedef struct progress_slot {
  solve_progress_sum *sum;
  int task;
} progress_slot;

struct solve_progress_sum {
  void (*progress)(void *ctx, int done, int total);
  void *ctx;
  long total, done;
  long *task_done;
  progress_slot *slots;
  pthread_mutex_t lock;
};

solve_progress_sum *solve_progress_sum_new(const gpd_solve_options *o, int tasks, long total) {
  solve_progress_sum *s = gpd_calloc(1, sizeof *s, "solver progress");
  if (!s) return NULL;
  s->progress = o->progress;
  s->ctx = o->progress_ctx;
  s->total = total;
  s->task_done = gpd_calloc((size_t)tasks, sizeof *s->task_done, "solver progress");
  s->slots = gpd_calloc((size_t)tasks, sizeof *s->slots, "solver progress");
  if (!s->task_done || !s->slots || pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s->task_done);
    free(s->slots);
    free(s);
    gpd_error("out of host memory (solver progress)");
    return NULL;
  }
  for (int t = 0; t < tasks; t++) s->slots[t] = (progress_slot){s, t};
  return s;
}

void solve_progress_sum_free(solve_progress_sum *s) {
  if (!s) return;
  pthread_mutex_destroy(&s->lock);
  free(s->task_done);
  free(s->slots);
  free(s);
}

static void progress_add(void *ctx, int done, int total) {
  progress_slot *slot = ctx;
  solve_progress_sum *s = slot->sum;
  (void)total;
  pthread_mutex_lock(&s->lock);
  s->done += done - s->task_done[slot->task];
  s->task_done[slot->task] = done;
  if (s->progress) s->progress(s->ctx, (int)s->done, (int)s->total);
  pthread_mutex_unlock(&s->lock);
}

void solve_progress_sum_hook(solve_progress_sum *s, int task, solve_hooks *h) {
  if (!s->progress) return;
  h->progress = progress_add;
  h->progress_ctx = &s->slots[task];
  h->progress_offset = 0;
  h->progress_total = s->total;
}

/* ---- the log table --------------------------------------------------------------------- */

typedef struct log_slot {
  solve_log_table *table;
  int first;
} log_slot;

struct solve_log_table {
  int restarts, steps, every, rows;
  float *m, *t;          /* (rows, restarts), NaN where nothing was logged */
  char *reached;         /* rows: some task logged this row */
  log_slot *slots;       /* per task */
  pthread_mutex_t lock;
};

static int table_row(const solve_log_table *T, int step) { return step >= T->steps ? T->rows - 1 : step / T->every; }

solve_log_table *solve_log_table_new(const gpd_solve_options *o, int restarts, int tasks) {
  solve_log_table *T = gpd_calloc(1, sizeof *T, "the solver log");
  if (!T) return NULL;
  T->restarts = restarts;
  T->steps = o->steps;
  T->every = o->log_every > 0 ? o->log_every : 1;
  /* rows at steps 0, every, 2 every ... below steps, and the final point */
  T->rows = (o->steps > 0 ? (o->steps - 1) / T->every + 1 : 0) + 1;
  const size_t n = (size_t)T->rows * restarts;
  T->m = gpd_malloc(sizeof(float) * n, "the solver log");
  T->t = gpd_malloc(sizeof(float) * n, "the solver log");
  T->reached = gpd_calloc((size_t)T->rows, 1, "the solver log");
  T->slots = gpd_calloc((size_t)tasks, sizeof *T->slots, "the solver log");
  if (!T->m || !T->t || !T->reached || !T->slots || pthread_mutex_init(&T->lock, NULL) != 0) {
    free(T->m);
    free(T->t);
    free(T->reached);
    free(T->slots);
    free(T);
    gpd_error("out of host memory (the solver log)");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) T->m[i] = T->t[i] = NAN;
  return T;
}

void solve_log_table_free(solve_log_table *T) {
  if (!T) return;
  pthread_mutex_destroy(&T->lock);
  free(T->m);
  free(T->t);
  free(T->reached);
  free(T->slots);
  free(T);
}

static void log_collect(void *ctx, int step, int n, const float *measurement, const float *total) {
  log_slot *slot = ctx;
  solve_log_table *T = slot->table;
  const int row = table_row(T, step);
  if (row < 0 || row >= T->rows) return;
  pthread_mutex_lock(&T->lock);
  memcpy(T->m + (size_t)row * T->restarts + slot->first, measurement, sizeof(float) * (size_t)n);
  memcpy(T->t + (size_t)row * T->restarts + slot->first, total, sizeof(float) * (size_t)n);
  T->reached[row] = 1;
  pthread_mutex_unlock(&T->lock);
}

void solve_log_table_hook(solve_log_table *T, int task, int first, solve_hooks *h) {
  T->slots[task] = (log_slot){T, first};
  h->log = log_collect;
  h->log_ctx = &T->slots[task];
  h->log_every = T->every;
}

void solve_log_table_emit(const solve_log_table *T, const gpd_solve_options *o) {
  if (!o->log) return;
  for (int row = 0; row < T->rows; row++) {
    if (!T->reached[row]) continue;
    const int step = row == T->rows - 1 ? T->steps : row * T->every;
    o->log(o->log_ctx, step, T->restarts, T->m + (size_t)row * T->restarts, T->t + (size_t)row * T->restarts);
  }
}

/* ---- the best restart over tasks ------------------------------------------------------------- */

int solve_tasks_init(solve_tasks *t, gpd_solve_result *res, int images, int per_image, const char *who) {
  memset(t, 0, sizeof *t);
  t->res = res;
  t->images = images;
  t->per_image = per_image;
  if (!(t->best = gpd_malloc(sizeof(int) * (size_t)images, "the best restarts"))) return -1;
  for (int i = 0; i < images; i++) t->best[i] = -1;
  if (pthread_mutex_init(&t->lock, NULL) != 0) {
    free(t->best);
    t->best = NULL;
    return gpd_error("%s: cannot create a mutex", who);
  }
  return 0;
}

void solve_tasks_free(solve_tasks *t) {
  solve_progress_sum_free(t->progress);
  solve_log_table_free(t->log);
  solve_tasks_average_free(t);
  if (t->best) pthread_mutex_destroy(&t->lock);
  free(t->best);
  t->best = NULL;
}

void solve_tasks_record(solve_tasks *t, const solve_problem *p) {
  for (int i = 0; i < p->span; i++) {
    const int item = p->first + i;
    gpd_solve_result *res = &t->res[item / t->per_image];
    const int r = item % t->per_image;
    const solve_record *rec = &p->record[i];
    res->restart_measurement[r] = rec->measurement;
    res->diverged_at[r] = rec->diverged_at;
    res->dropped_at[r] = rec->dropped_at;
    res->restart_iterations += rec->iterations;
  }
  solve_tasks_count_graphs(t, p);
}

int solve_tasks_offer(solve_tasks *t, solve_problem *p, int row) {
  const int item = p->item[row], image = item / t->per_image, r = item % t->per_image;
  gpd_solve_result *res = &t->res[image];
  const float m = p->measurement[row];
  if (t->best[image] >= 0 && !(m < res->measurement || (m == res->measurement && r < t->best[image]))) return 0;
  gpd_image_free(&res->image); /* an earlier task's best */
  gpd_image_free(&res->range_image);
  GPD_TRY(p->result(p, row, res));
  t->best[image] = r;
  res->measurement = m;
  res->total = p->total[row];
  return 0;
}

int solve_tasks_offer_best(solve_tasks *t, solve_problem *p) {
  /* rows of one image are contiguous and in item order (gathering keeps the order) */
  for (int a = 0; a < p->restarts;) {
    const int image = p->item[a] / t->per_image;
    int best = -1, b = a;
    for (; b < p->restarts && p->item[b] / t->per_image == image; b++) {
      if (p->diverged_at[b] >= 0 || !isfinite(p->measurement[b])) continue;
      if (best < 0 || p->measurement[b] < p->measurement[best]) best = b;
    }
    if (best >= 0) GPD_TRY(solve_tasks_offer(t, p, best));
    a = b;
  }
  return 0;
}

void solve_tasks_count_graphs(solve_tasks *t, const solve_problem *p) {
  t->graph_launches += p->graph_launches;
  if (p->graph_capture_failures && !t->graph_capture_failures)
    snprintf(t->graph_failure, sizeof t->graph_failure, "%s", p->graph_failure);
  t->graph_capture_failures += p->graph_capture_failures;
}

void solve_tasks_finish(solve_tasks *t, const gpd_solve_options *o) {
  if (t->log) solve_log_table_emit(t->log, o);
  for (int i = 0; i < t->images; i++) {
    gpd_solve_result *res = &t->res[i];
    res->graph_launches = t->graph_launches;
    res->graph_capture_failures = t->graph_capture_failures;
    snprintf(res->graph_failure, sizeof res->graph_failure, "%s", t->graph_failure);
    res->chosen = t->best[i];
    res->diverged = 0;
    for (int r = 0; r < res->restarts; r++)
      if (res->diverged_at[r] != -1) res->diverged++;
  }
}
