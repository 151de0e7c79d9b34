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
 * The batch is made of items: item i is restart i % R of image i / R (R =
 * o->restarts; one image unless gpd_solve_batch gave several), and each
 * image's restarts start from rows 0 .. R-1 of its own seed's streams.
 * Restarts may run in groups (solve_groups.c): a group is a problem over
 * items [first, first + count) whose random starts are those items' rows
 * of the same streams as one big batch, so results do not depend on the
 * grouping. The halving schedule (solve_halving.c) gathers the rows that
 * go on to the front of every per-row buffer and runs at the smaller batch
 * from then on; each row knows its item (p->item). Groups (and Alg 3's restarts) may run concurrently on forked
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
  int anneal_from, anneal_len; /* from iteration anneal_from on, the step above times
                                * (anneal_from + anneal_len - t) / anneal_len; anneal_len 0: never */
  float reset;           /* a diverged restart's rows are reset to this value */
  float *m, *v;          /* Adam moments (engine), NULL for SGD */
  int owned;             /* p and g allocated here (0: they live in a network) */
} solve_group;

#define SOLVE_MAX_GROUPS 4
#define SOLVE_MAX_TERMS 4

/* What an item of a problem ended with (host). */
typedef struct solve_record {
  float measurement;     /* at the end, or when the halving schedule stopped it; NaN once diverged */
  int diverged_at;       /* step of its first NaN / inf loss, -1 */
  int dropped_at;        /* the halving point that stopped it, -1 */
  long iterations;       /* iterations it ran */
} solve_record;

typedef struct solve_problem solve_problem;
struct solve_problem {
  gpd_engine *e;
  int restarts;          /* the batch N: rows now (the halving schedule shrinks it) */
  int first;             /* the problem's items are [first, first + span) */
  int span;              /* rows it was made with */
  int *item;             /* host, restarts: each row's item (first + row until rows are gathered) */
  solve_record *record;  /* host, span: per item, filled as items stop and at the end */
  float *log_m, *log_t;  /* host, span: a log row over every item of the problem */
  int n_groups;
  solve_group group[SOLVE_MAX_GROUPS];
  int n_terms;           /* loss terms per restart (data, penalties, TV ...) */
  float *loss_dev;       /* engine (n_terms, restarts): term j of restart r at j*restarts + r */
  float *loss_host;      /* host copy */
  float *measurement;    /* host, restarts: the loss restarts are chosen by */
  float *total;          /* host, restarts: the whole objective */
  int *diverged_at;      /* host, restarts: step of the first NaN / inf loss, -1 */
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
  /* Keeps rows keep[0 .. n) (increasing, keep[j] >= j) of the algorithm's
   * own per-row state, in place, and works at batch n (= p->restarts, set
   * already) from then on. NULL: the problem cannot shrink (Alg 3). */
  int (*gather)(solve_problem *p, int n, const int *keep);
  void *state;           /* the algorithm's own struct */
};

/* Zeroed problem with loss buffers for n_terms x restarts, the schedule
 * buffer, and objective = solve_objective. */
int solve_problem_init(solve_problem *p, gpd_engine *e, int restarts, int first, int n_terms);
/* An algorithm's callbacks (solve_problem's compute, read, result, destroy). */
typedef struct solve_problem_ops {
  int (*compute)(solve_problem *p, int want_grad);
  void (*read)(solve_problem *p);
  int (*result)(solve_problem *p, int chosen, gpd_solve_result *res);
  void (*destroy)(solve_problem *p);
  int (*gather)(solve_problem *p, int n, const int *keep);
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
/* The last round(fraction * steps) iterations of a steps-long run step
 * g's variables by a step falling linearly to 0 (fraction 0: no anneal). */
void solve_group_anneal(solve_group *g, int steps, float fraction);
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
  /* The full schedule only: the run starts at iteration start_step (its
   * state was restored, e.g. from a checkpoint); 0: from the start. */
  int start_step;
  /* Called after each iteration with the iterations done so far (the next
   * one's index), the problem's state being that point's; non-zero stops
   * the run with that code (-1: an error). NULL: never. */
  int (*after_step)(void *ctx, solve_problem *p, int done);
  void *after_step_ctx;
} solve_hooks;

/* Hooks forwarding to the options' log and progress callbacks. */
solve_hooks solve_hooks_from_options(const gpd_solve_options *o, long progress_offset, long progress_total);

/* The halving schedule of a problem: the steps at which each image's rows
 * are halved (n = 0: the full schedule). */
typedef struct solve_halving {
  int per_image;         /* restarts per image: rows compete with their image's (item / per_image) */
  int n;
  int at[GPD_SOLVE_MAX_HALVINGS]; /* increasing, in (0, steps) */
} solve_halving;
/* The points of o's schedule for o->steps (round(f * steps), those in
 * (0, steps), duplicates dropped). */
void solve_halving_of(const gpd_solve_options *o, solve_halving *hv);
/* A halving point at `step`: each image's rows ranked by their current
 * measurement (diverged last, ties to the lower item), the better
 * floor(n / 2) (at least 1) kept; the others' records are final (dropped
 * at `step`). The kept rows are gathered to the front of every per-row
 * buffer (groups' variables and Adam moments, the algorithm's state,
 * the host arrays) and p->restarts becomes their number. 0 or -1. */
int solve_halve(solve_problem *p, int step, int per_image);
/* Gathers rows keep[0 .. n) to the front of `rows` of item_size floats in
 * engine memory (in place). */
int solve_gather_rows(gpd_engine *e, float *rows, size_t item_size, int n, const int *keep);

/* Runs `steps` iterations (schedule upload, solve_iteration, download of
 * the losses of the point the iteration started from, divergence check,
 * log; at the halving points, solve_halve), then evaluates the objective
 * once more at the final point (no gradients), checks it and completes the
 * records. Log rows span every item of the problem (NaN for those that
 * stopped). On an engine with graphs (and unless
 * GPD_SOLVER_GRAPHS=0), iteration 0 runs eagerly (plans, algorithms and
 * workspaces come into being), iteration 1 is captured and every iteration
 * from 1 on is a graph launch; a failed capture falls back to eager and is
 * counted in p->graph_capture_failures with its cause. A
 * restart whose total or measurement is NaN / inf is marked in diverged_at,
 * its rows reset to finite values (so it cannot feed NaNs into anything),
 * and from then on reported as NaN. Returns 0, 1 when every restart of this
 * problem diverged (stopped early), or -1 on an engine error. */
int solve_run(solve_problem *p, int steps, const solve_halving *halving, const solve_hooks *h);

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
typedef struct solve_inputs solve_inputs;
/* Uploads the problem's rows of normals N(mean, std^2) from stream
 * `stream` into a group: row j (item i = p->first + j) gets row i % R of
 * the stream of image i / R's seed. */
int solve_group_init_normal(solve_problem *p, solve_group *g, const solve_inputs *in, uint64_t stream, float mean,
                            float std);
/* Each row: its item's blurry image + N(0, std^2). The rows must have the
 * blurry image's size: Algorithm 2's free image with the circular boundary
 * (gpd_solve checks both before a problem is built). */
int solve_group_init_around_image(solve_problem *p, solve_group *g, const solve_inputs *in, uint64_t stream,
                                  float std);
/* Host image (C, H, W) from engine memory src (one item). */
int solve_download_image(gpd_engine *e, const float *src, int c, int h, int w, gpd_image *dst);
/* res->kernel (K x K, malloc'd) from engine memory src (one item). */
int solve_download_kernel(gpd_engine *e, const float *src, int ksize, gpd_solve_result *res);
/* Uploads y replicated `copies` times: (copies, C, H, W). */
float *solve_upload_replicated(gpd_engine *e, const gpd_image *y, int copies, const char *what);
/* Uploads each row's image for the items [in->first, + count): (count, C, H, W). */
float *solve_upload_images(const solve_inputs *in, int count, const char *what);
/* Offset of the centred window of side `inner` in side `outer`. */
static inline int solve_centre(int outer, int inner) { return (outer - inner) / 2; }

/* ---- the algorithms ------------------------------------------------------------ */

/* Inputs shared by the problem constructors. gi, gk: trained generators
 * (batch norm already in inference mode) or NULL where unused. */
struct solve_inputs {
  gpd_engine *e;
  const gpd_image *y;    /* the first image (the geometry's) */
  int images;            /* images (0 or 1: y alone) */
  const gpd_image *ys;   /* the images, NULL: y alone */
  const uint64_t *seeds; /* image j's seed, NULL: o->seed */
  gpd_net *gi, *gk;
  const gpd_solve_options *o;
  solve_geom g;
  int first, count;      /* the items of this problem: [first, first + count);
                          * count 0: all, images x o->restarts */
};

static inline int solve_inputs_images(const solve_inputs *in) { return in->images > 1 ? in->images : 1; }
/* The batch of a problem made from in. */
static inline int solve_inputs_count(const solve_inputs *in) {
  return in->count > 0 ? in->count : in->o->restarts * solve_inputs_images(in);
}
static inline const gpd_image *solve_inputs_image(const solve_inputs *in, int image) {
  return in->ys ? &in->ys[image] : in->y;
}
static inline uint64_t solve_inputs_seed(const solve_inputs *in, int image) {
  return in->seeds ? in->seeds[image] : in->o->seed;
}

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
/* Keeps rows keep[0 .. n) of y and runs the data term at batch n. */
int solve_gen_pair_gather(solve_gen_pair *s, gpd_engine *e, const solve_geom *g, int n, const int *keep);
void solve_gen_pair_free(solve_gen_pair *s, gpd_engine *e);
/* The result of restart `chosen`: the image from `image` (R, C, Hx, Wx) (xi,
 * or Alg 2's free image), the range image from xi and the kernel from xk. */
int solve_gen_pair_result(const solve_gen_pair *s, gpd_engine *e, const solve_geom *g, const float *image, int chosen,
                          gpd_solve_result *res);

/* The result in the gauge sum(k) = 1 (gpd_solve_options.keep_kernel_scale):
 * images times s = sum(k), the kernel over s; nothing when there is no
 * kernel or s is not a positive finite number. */
void solve_result_unit_kernel(gpd_solve_result *res);

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
/* Algorithm 3's checkpoints (alg3_checkpoint.c): the fingerprint of a
 * solve (its blurry image, options, seed, blur generator, precision); the
 * file of restart `restart` of that solve in dir; save the main problem's
 * state (its groups with their Adam moments, the network's batch-norm
 * statistics) after `step` iterations; load it (1, *step set and the
 * problem's iteration count with it; 0: no file; -1: an error, e.g. a file
 * of another solve); remove it when the restart ends. */
int alg3_checkpoint_fingerprint(const solve_inputs *in, uint64_t *fingerprint);
int alg3_checkpoint_path(const char *dir, uint64_t fingerprint, int restart, char *path, size_t size);
int alg3_checkpoint_save(solve_problem *p, gpd_net *net, const char *path, int step);
int alg3_checkpoint_load(solve_problem *p, gpd_net *net, const char *path, int steps, int *step);
int alg3_checkpoint_remove(const char *path);

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

typedef struct solve_candidate solve_candidate;

/* The best restart over problems that run as separate tasks (the groups of
 * the batched algorithms, Alg 3's restarts), possibly at once: the shared
 * state of a driver, with the summed progress and the gathered log. */
typedef struct solve_tasks {
  gpd_solve_result *res;        /* per image: per-restart arrays; the best restart's outputs */
  int images, per_image;        /* item i is restart i % per_image of image i / per_image */
  int *best;                    /* per image: restart index of the best so far, -1 */
  int average;                  /* restarts averaged per image (gpd_solve_options.average_best) */
  int keep;                     /* gpd_solve_options.keep_restarts: every candidate goes to res->ranked */
  int pool;                     /* candidates held per image: average, or per_image when keep; 0: none */
  solve_candidate *cand;        /* (images, pool): each image's best so far (solve_average.c) */
  int *n_cand;                  /* per image: candidates held */
  solve_progress_sum *progress; /* NULL where the driver needs none */
  solve_log_table *log;         /* NULL without a log (or where the driver needs none) */
  pthread_mutex_t lock;
  long graph_launches;
  long graph_capture_failures;
  char graph_failure[256];      /* the first failed capture's cause */
} solve_tasks;
/* With t->lock held: p's graph launches and failed captures count into t. */
void solve_tasks_count_graphs(solve_tasks *t, const solve_problem *p);
/* Zeroed, best -1, the lock made (error naming `who` when it cannot be). */
int solve_tasks_init(solve_tasks *t, gpd_solve_result *res, int images, int per_image, const char *who);
/* Frees the progress, the log, best and the lock. */
void solve_tasks_free(solve_tasks *t);
/* With t->lock held: p's records into their images' per-restart arrays
 * (measurement, diverged_at, dropped_at; iterations summed), and the
 * problem's graph launches and failed captures (solve_tasks_count_graphs). */
void solve_tasks_record(solve_tasks *t, const solve_problem *p);
/* With t->lock held: row `row` of p becomes its image's best if its
 * measurement is lower than the best's so far (ties to the lower restart
 * index, as within a batch); its outputs are downloaded into the image's
 * result (p->result, earlier ones freed), with its measurement and total.
 * 0 or -1. */
int solve_tasks_offer(solve_tasks *t, solve_problem *p, int row);
/* With t->lock held: for each image among p's rows, its best finite row is
 * offered. 0 or -1. */
int solve_tasks_offer_best(solve_tasks *t, solve_problem *p);
/* Averaging the best k restarts of each image and keeping every restart
 * (solve_average.c; k <= 1 without keep: nothing to do). init: the
 * candidate slots (k per image, or every restart with keep); pooled: whether
 * candidates are held; offer_all (t->lock held): every finite row of p is a
 * candidate, outputs downloaded in the unit gauge when it is among its
 * image's held best so far; finish: each image's result becomes the mean of
 * its k best candidates (image, range image, kernel), with the best one's
 * restart, measurement and total, and with keep every candidate moves to
 * res->ranked, best first; free: the slots. 0 or -1. */
int solve_tasks_average_init(solve_tasks *t, int k, int keep);
int solve_tasks_pooled(const solve_tasks *t);
int solve_tasks_offer_all(solve_tasks *t, solve_problem *p);
int solve_tasks_average_finish(solve_tasks *t);
void solve_tasks_average_free(solve_tasks *t);
/* Candidate j (< t->n_cand[image]) of an image: its outputs, in the unit gauge. */
gpd_solve_result *solve_tasks_candidate(solve_tasks *t, int image, int j);
/* Algorithm 2's non-blind finish (solve_polish.c; in->o->polish_steps > 0):
 * after all tasks ran and before the candidates are averaged, polishes each
 * image's held candidates (pooled) or its best restart's result (put in the
 * unit gauge first unless keep_kernel_scale). Nothing for other algorithms
 * or 0 steps. 0 or -1. */
int solve_tasks_polish(solve_tasks *t, const solve_inputs *in);
/* After all tasks ran: emits the gathered log; per image: graph launches and
 * failed captures,
 * diverged count and chosen (the best restart, -1 when all diverged). */
void solve_tasks_finish(solve_tasks *t, const gpd_solve_options *o);

/* Drivers called by gpd_solve_batch (res zeroed, one per image, restarts
 * arrays allocated). An image whose restarts all diverged gets chosen -1;
 * -1 only for errors. Alg 3 takes one image (in->images <= 1). */
int solve_batched(const solve_inputs *in, solve_create_fn create, const gpd_solve_plan *plan, gpd_solve_result *res);
int alg3_solve(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res);
int range_solve(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res);

#endif
