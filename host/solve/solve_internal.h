/* Shared machinery of the solvers (host/solve/): the geometry check, the
 * "problem" every algorithm is expressed as (groups of optimised variables,
 * an objective that fills per-restart losses and gradients), the generic
 * optimisation loop with divergence handling, and small engine helpers.
 *
 * Every algorithm is one problem: its variables live in groups (z_i, z_k,
 * the free image i, Alg 3's weights W), each with its optimiser and step
 * schedule; compute() runs the forward and backward passes for the whole
 * batch of restarts on the engine, read() turns the downloaded per-restart
 * losses into measurements and totals. The loop in solve_common.c is then
 * the same for all of them: one iteration (compute with gradients, then the
 * optimiser step with its schedule read from engine memory) runs eagerly,
 * or is captured once as a CUDA graph and replayed (the same function
 * either way). Tests (tests/test_solver_grad.c) evaluate the objectives
 * directly to check their gradients against finite differences.
 *
 * Restarts may run in groups (solve_groups.c): a group is a problem over
 * restarts [first, first + count) whose random starts are rows `first...`
 * of the same streams as one big batch, so results do not depend on the
 * grouping. Groups (and Alg 3's restarts) may run concurrently on forked
 * engines in host threads (solve_parallel.c); the memory estimate that
 * sizes the groups is solve_memory.c. */
#ifndef GPD_SOLVE_INTERNAL_H
#define GPD_SOLVE_INTERNAL_H

#include <pthread.h>

#include "gpd/common.h"
#include "gpd/rng.h"
#include "gpd/solve.h"

/* ---- geometry ------------------------------------------------------------ */

typedef struct solve_geom {
  int c, h, w;           /* y (C, H, W) */
  int hx, wx;            /* the image the objective sees: y's size, or
                          * (H+K-1) x (W+K-1) for the linear boundary */
  int k;                 /* kernel side (0: no blur generator) */
  gpd_boundary boundary;
} solve_geom;

/* Checks y against the generators for an algorithm and fills g; one-line
 * errors name the sizes ("image is 100x80x3 but the image generator makes
 * 64x64x3 (circular boundary)"). gi may be NULL (Alg 3). */
int solve_geom_init(solve_geom *g, const gpd_image *y, const gpd_net *gi, const gpd_net *gk,
                    const gpd_solve_options *o);

/* ---- variables and their optimisers ---------------------------------------- */

typedef enum solve_optimizer { SOLVE_SGD = 0, SOLVE_ADAM } solve_optimizer;

#define SOLVE_ADAM_BETA1 0.9f
#define SOLVE_ADAM_BETA2 0.999f
#define SOLVE_ADAM_EPS 1e-8f

typedef struct solve_group {
  const char *name;      /* "z_i", "z_k", "i", "W" (for messages and tests) */
  float *p, *g;          /* engine memory, count floats each */
  size_t count;
  size_t per_restart;    /* floats per restart (rows of p); 0 when shared by
                          * the whole batch (Alg 3's W, which runs at batch 1) */
  solve_optimizer opt;
  float lr, decay;       /* step at iteration t: lr * exp(-t / decay); decay <= 0: constant */
  float reset;           /* a diverged restart's rows are reset to this value */
  float *m, *v;          /* Adam moments (engine), NULL for SGD */
  int owned;             /* p and g allocated here (0: they live in a network) */
} solve_group;

#define SOLVE_MAX_GROUPS 4
#define SOLVE_MAX_TERMS 4

typedef struct solve_problem solve_problem;
struct solve_problem {
  gpd_engine *e;
  int restarts;          /* the batch N */
  int first;             /* restart index of row 0 (rows of the random streams) */
  int n_groups;
  solve_group group[SOLVE_MAX_GROUPS];
  int n_terms;           /* loss terms per restart (data, penalties, TV ...) */
  float *loss_dev;       /* engine (n_terms, restarts): term j of restart r at j*restarts + r */
  float *loss_host;      /* host copy */
  float *measurement;    /* host, restarts: the loss restarts are chosen by */
  float *total;          /* host, restarts: the whole objective */
  int *diverged_at;      /* host, restarts: step of the first NaN / inf loss, -1 */
  int first_divergence;  /* step of the earliest divergence, -1 */
  float *sched;          /* engine, 2 per group: step size and Adam step count of
                          * the current iteration (solve_schedule_upload) */
  long graph_launches;   /* iterations replayed from a CUDA graph */
  long graph_capture_failures; /* captures that failed (those iterations ran eagerly) */
  char graph_failure[256];     /* the first one's cause */
  /* The objective at the current variables, on the engine only: loss_dev
   * and, when want_grad, every group's gradient g (overwritten). No host
   * traffic (it may be captured into a CUDA graph). 0 or -1. */
  int (*compute)(solve_problem *p, int want_grad);
  /* measurement and total from loss_host (after a download). */
  void (*read)(solve_problem *p);
  /* compute + download + read (solve_objective, set by solve_problem_init):
   * fills measurement and total and, when want_grad, the gradients. */
  int (*objective)(solve_problem *p, int want_grad);
  /* Downloads the chosen restart's outputs of the LAST objective call into
   * res (image, range_image, kernel). */
  int (*result)(solve_problem *p, int chosen, gpd_solve_result *res);
  void (*destroy)(solve_problem *p); /* frees state (not the groups) */
  void *state;           /* the algorithm's own struct */
};

/* Zeroed problem with loss buffers for n_terms x restarts, the schedule
 * buffer, and objective = solve_objective. */
int solve_problem_init(solve_problem *p, gpd_engine *e, int restarts, int n_terms);
/* An algorithm's callbacks (solve_problem's compute, read, result, destroy). */
typedef struct solve_problem_ops {
  int (*compute)(solve_problem *p, int want_grad);
  void (*read)(solve_problem *p);
  int (*result)(solve_problem *p, int chosen, gpd_solve_result *res);
  void (*destroy)(solve_problem *p);
} solve_problem_ops;
/* A problem (malloc'd, solve_problem_init) over `restarts` restarts from
 * restart `first` with ops' callbacks and, when state_size > 0, a zeroed
 * state of that many bytes at p->state (freed by ops->destroy). NULL with
 * the error recorded; nothing is left allocated. */
solve_problem *solve_problem_new(gpd_engine *e, int restarts, int first, int n_terms, const solve_problem_ops *ops,
                                 size_t state_size);
/* p->compute, download of the losses, p->read. */
int solve_objective(solve_problem *p, int want_grad);
/* Calls destroy, frees owned groups, loss buffers and p itself (p from malloc). */
void solve_problem_free(solve_problem *p);
/* Adds a group with its own engine buffers (p, g, and Adam moments). */
solve_group *solve_group_add(solve_problem *p, const char *name, size_t per_restart, solve_optimizer opt, float lr,
                             float decay, float reset);
/* Adds a group over existing engine buffers (a network's params / grads);
 * allocates the Adam moments only. */
solve_group *solve_group_add_external(solve_problem *p, const char *name, float *params, float *grads, size_t count,
                                      solve_optimizer opt, float lr, float decay);
/* Uploads a host array into a group's variables. */
int solve_group_upload(solve_problem *p, solve_group *g, const float *host);

/* The step size of a group at iteration t. */
float solve_group_lr(const solve_group *g, int t);
/* Writes iteration t's schedule into p->sched: per group its step size and
 * t + 1 (Adam's bias correction). Host traffic: outside a capture. */
int solve_schedule_upload(solve_problem *p, int t);
/* One optimiser step of every group with the schedule in p->sched (the
 * device-scalar ops: capturable). */
int solve_step_scheduled(solve_problem *p);
/* solve_schedule_upload(t), then solve_step_scheduled: one optimiser step of
 * every group at iteration t (0-based; Adam's bias correction uses t + 1). */
int solve_step(solve_problem *p, int t);
/* One iteration at the current variables: compute with gradients, then the
 * scheduled optimiser step. The eager loop and the captured graph both run
 * this; no host traffic. */
int solve_iteration(solve_problem *p);
/* Downloads loss_dev into loss_host. */
int solve_download_losses(solve_problem *p);

/* ---- the loop ----------------------------------------------------------------- */

typedef struct solve_hooks {
  int log_every;         /* 0: no log */
  void (*log)(void *ctx, int step, int restarts, const float *measurement, const float *total);
  void *log_ctx;
  void (*progress)(void *ctx, int done, int total);
  void *progress_ctx;
  long progress_offset, progress_total; /* done = offset + iterations of this run */
} solve_hooks;

/* Hooks forwarding to the options' log and progress callbacks. */
solve_hooks solve_hooks_from_options(const gpd_solve_options *o, long progress_offset, long progress_total);

/* Runs `steps` iterations (schedule upload, solve_iteration, download of
 * the losses of the point the iteration started from, divergence check,
 * log), then evaluates the objective once more at the final point (no
 * gradients) and checks it. On an engine with graphs (and unless
 * GPD_SOLVER_GRAPHS=0), iteration 0 runs eagerly (plans, algorithms and
 * workspaces come into being), iteration 1 is captured and every iteration
 * from 1 on is a graph launch; a failed capture falls back to eager and is
 * counted in p->graph_capture_failures with its cause. A
 * restart whose total or measurement is NaN / inf is marked in diverged_at,
 * its rows reset to finite values (so it cannot feed NaNs into anything),
 * and from then on reported as NaN. Returns 0, 1 when every restart of this
 * problem diverged (stopped early), or -1 on an engine error. */
int solve_run(solve_problem *p, int steps, const solve_hooks *h);

/* Index of the finite restart with the lowest measurement, -1 if none. */
int solve_choose(const solve_problem *p);

/* ---- helpers ---------------------------------------------------------------- */

/* loss[r] = |z_r|^2 into engine memory; dz += 2 * weight * z when dz != NULL. */
int solve_latent_penalty(gpd_engine *e, int restarts, size_t per, const float *z, float weight, float *loss,
                         float *dz);
/* Draws restarts x per normals (mean, std) on the host from rng. */
float *solve_draw_normal(gpd_rng *rng, int restarts, size_t per, float mean, float std, const char *what);
/* Rows [first, first + count) (of `per` normals each) of stream `stream`:
 * the same numbers as rows first... of one draw of all rows (earlier rows
 * are drawn and discarded), so a restart's start does not depend on how the
 * restarts are grouped. Host array (malloc'd), NULL with an error. */
float *solve_draw_rows(uint64_t seed, uint64_t stream, int first, int count, size_t per, float mean, float std,
                       const char *what);
/* A seed for stream `stream` of restart `restart` derived from the user's
 * seed (splitmix64 mixing; independent streams for latents, the free image
 * and Alg 3's weights). */
uint64_t solve_seed(uint64_t seed, uint64_t stream, int restart);
/* The streams: every algorithm draws z_i and z_k for all restarts from
 * streams 1 and 2 (row r is restart r's, whatever the number of restarts). */
enum { SOLVE_STREAM_ZI = 1, SOLVE_STREAM_ZK = 2, SOLVE_STREAM_IMAGE = 3, SOLVE_STREAM_WEIGHTS = 4 };
/* Uploads restarts x per normals N(mean, std^2) from stream `stream` into
 * a group (the problem's row j gets row p->first + j of the stream). */
int solve_group_init_normal(solve_problem *p, solve_group *g, uint64_t seed, uint64_t stream, float mean, float std);
/* Host image (C, H, W) from engine memory src (one item). */
int solve_download_image(gpd_engine *e, const float *src, int c, int h, int w, gpd_image *dst);
/* res->kernel (K x K, malloc'd) from engine memory src (one item). */
int solve_download_kernel(gpd_engine *e, const float *src, int ksize, gpd_solve_result *res);
/* Uploads y replicated `copies` times: (copies, C, H, W). */
float *solve_upload_replicated(gpd_engine *e, const gpd_image *y, int copies, const char *what);
/* Offset of the centred window of side `inner` in side `outer`. */
static inline int solve_centre(int outer, int inner) { return (outer - inner) / 2; }

/* ---- the algorithms ------------------------------------------------------------ */

/* Inputs shared by the problem constructors. gi, gk: trained generators
 * (batch norm already in inference mode) or NULL where unused. */
typedef struct solve_inputs {
  gpd_engine *e;
  const gpd_image *y;
  gpd_net *gi, *gk;
  const gpd_solve_options *o;
  solve_geom g;
  int first, count;      /* the restarts of this problem: [first, first + count);
                          * count 0: all of o->restarts */
} solve_inputs;

/* The batch of a problem made from in. */
static inline int solve_inputs_count(const solve_inputs *in) { return in->count > 0 ? in->count : in->o->restarts; }

/* Checks the options and sizes (the one-line errors of gpd_solve) and fills
 * in (e, y, the generators the algorithm uses, o, g; first = count = 0). */
int solve_prepare(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o,
                  solve_inputs *in);
/* in with its generators seen through engine e: copies of *gi / *gk in
 * *gi_view / *gk_view whose engine is e (a network's ops run on its
 * net->engine), parameters and batch-norm statistics shared read-only and
 * no gradient buffer (grads NULL): with bn_train 0 the forward reads the
 * running statistics without updating them, and the solvers' backward
 * passes through trained generators never accumulate weight gradients, so
 * views on several forked engines can run at once. in->e = e. */
void solve_inputs_on(solve_inputs *in, gpd_engine *e, gpd_net *gi_view, gpd_net *gk_view);

/* What Algorithms 1 and 2 share: both trained generators at the problem's
 * batch, the data term over their outputs and y for every restart. */
typedef struct solve_gen_pair {
  gpd_net_workspace wsi, wsk;
  int have_wsi, have_wsk;
  gpd_data_term *data;
  float *y;              /* (R, C, H, W): y for every restart (no copies per step) */
  const float *xi, *xk;  /* G_I(z_i) (R, C, Hx, Wx) and G_K(z_k) (R, K, K) of the last objective call */
} solve_gen_pair;
/* Workspaces of in->gi and in->gk at batch `restarts`, the data term and y. */
int solve_gen_pair_init(solve_gen_pair *s, const solve_inputs *in, int restarts);
void solve_gen_pair_free(solve_gen_pair *s, gpd_engine *e);
/* The result of restart `chosen`: the image from `image` (R, C, Hx, Wx) (xi,
 * or Alg 2's free image), the range image from xi and the kernel from xk. */
int solve_gen_pair_result(const solve_gen_pair *s, gpd_engine *e, const solve_geom *g, const float *image, int chosen,
                          gpd_solve_result *res);

/* Batched problems: the batch of restarts [in->first, + count), initial
 * point drawn from o->seed. naive_create serves both naive (gradient
 * descent, o->lr) and range projection (adam != 0: Adam, o->adam_lr
 * decaying with o->lr_decay). */
int naive_create(const solve_inputs *in, int adam, solve_problem **out);
int range_create(const solve_inputs *in, solve_problem **out); /* naive_create with Adam */
int naive_gd_create(const solve_inputs *in, solve_problem **out); /* naive_create with gradient descent */
int alg1_create(const solve_inputs *in, solve_problem **out);
int alg2_create(const solve_inputs *in, solve_problem **out);
typedef int (*solve_create_fn)(const solve_inputs *in, solve_problem **out);

/* Algorithm 3 works restart by restart, each with its own untrained network. */
typedef struct alg3_restart alg3_restart;
int alg3_restart_create(const solve_inputs *in, int restart, alg3_restart **out);
solve_problem *alg3_fit_problem(alg3_restart *a);  /* eq. 12: W only */
solve_problem *alg3_main_problem(alg3_restart *a); /* eq. 11: z_i, z_k, W */
gpd_net *alg3_network(alg3_restart *a);
void alg3_restart_free(alg3_restart *a);

/* ---- memory, groups and threads ------------------------------------------------ */

/* The plan of gpd_solve_plan_make for prepared inputs. */
int solve_plan(gpd_engine *e, const solve_inputs *in, gpd_solve_plan *plan);
/* Threads asked for: o->threads, else $GPD_SOLVER_THREADS, else 1 on the
 * CPU or an engine without fork, else (CUDA) Alg 3: min(restarts, 8),
 * batched algorithms 1 (one batch keeps the GPU busiest). */
int solve_threads_requested(gpd_engine *e, const gpd_solve_options *o);

/* Runs tasks 0 .. n-1 with fn: on e in order when threads <= 1; else on
 * `threads` host threads, each with its own fork of e (made in the thread,
 * destroyed once all have finished), taking tasks in order. The first
 * failure stops the handing out of tasks; its message is recorded in the
 * calling thread. 0 or -1. */
typedef int (*solve_task_fn)(void *ctx, gpd_engine *e, int task);
int solve_parallel_run(gpd_engine *e, int tasks, int threads, solve_task_fn fn, void *ctx);

/* Progress of tasks running concurrently, summed and forwarded to the
 * options' progress callback (serialised by a mutex). */
typedef struct solve_progress_sum solve_progress_sum;
solve_progress_sum *solve_progress_sum_new(const gpd_solve_options *o, int tasks, long total);
void solve_progress_sum_free(solve_progress_sum *s);
/* h's progress counts into task `task`'s share; h's own offset is added. */
void solve_progress_sum_hook(solve_progress_sum *s, int task, solve_hooks *h);

/* Log rows of restarts that run in separate problems (groups, Alg 3's
 * restarts), gathered into one (rows, restarts) table and emitted through
 * the options' log callback once all have run. */
typedef struct solve_log_table solve_log_table;
solve_log_table *solve_log_table_new(const gpd_solve_options *o, int restarts, int tasks);
void solve_log_table_free(solve_log_table *t);
/* h logs into columns [first, first + n) of the table for task `task`. */
void solve_log_table_hook(solve_log_table *t, int task, int first, solve_hooks *h);
/* Calls o->log for every row some task reached, in step order. */
void solve_log_table_emit(const solve_log_table *t, const gpd_solve_options *o);

/* The best restart over problems that run as separate tasks (the groups of
 * the batched algorithms, Alg 3's restarts), possibly at once: the shared
 * state of a driver, with the summed progress and the gathered log. */
typedef struct solve_tasks {
  gpd_solve_result *res;        /* per-restart arrays; the best restart's outputs */
  solve_progress_sum *progress; /* NULL where the driver needs none */
  solve_log_table *log;         /* NULL without a log (or where the driver needs none) */
  pthread_mutex_t lock;
  int best;                     /* restart index of the best so far, -1 */
  long graph_launches;
  long graph_capture_failures;
  char graph_failure[256];      /* the first failed capture's cause */
} solve_tasks;
/* With t->lock held: p's graph launches and failed captures count into t. */
void solve_tasks_count_graphs(solve_tasks *t, const solve_problem *p);
/* Zeroed, best -1, the lock made (error naming `who` when it cannot be). */
int solve_tasks_init(solve_tasks *t, gpd_solve_result *res, const char *who);
/* Frees the progress, the log and the lock. */
void solve_tasks_free(solve_tasks *t);
/* With t->lock held: restart `chosen` of p (restart p->first + chosen)
 * becomes the best if its measurement is lower than the best's so far
 * (ties to the lower restart index, as within a batch); its outputs are
 * downloaded into res (p->result, earlier ones freed), with its
 * measurement and total. 0 or -1. */
int solve_tasks_offer(solve_tasks *t, solve_problem *p, int chosen);
/* After all tasks ran: emits the gathered log and sets res's graph
 * launches and failed captures. */
void solve_tasks_finish(solve_tasks *t, const gpd_solve_options *o);
/* res->chosen = the best restart; -1 when every one of the `restarts`
 * diverged, with the error "all R restarts diverged (NaN loss at step
 * <step><where>); try a smaller step size". */
int solve_tasks_choose(solve_tasks *t, int restarts, int step, const char *where);

/* Drivers called by gpd_solve (res zeroed, restarts arrays allocated). */
int solve_batched(const solve_inputs *in, solve_create_fn create, const gpd_solve_plan *plan, gpd_solve_result *res);
int alg3_solve(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res);
int range_solve(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res);

#endif
