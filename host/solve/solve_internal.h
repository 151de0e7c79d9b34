/* Shared machinery of the solvers (host/solve/): the geometry check, the
 * "problem" every algorithm is expressed as (groups of optimised variables,
 * an objective that fills per-restart losses and gradients), the generic
 * optimisation loop with divergence handling, and small engine helpers.
 *
 * Every algorithm is one problem: its variables live in groups (z_i, z_k,
 * the free image i, Alg 3's weights W), each with its optimiser and step
 * schedule; objective() runs the forward and backward passes for the whole
 * batch of restarts and downloads the per-restart losses. The loop in
 * solve_common.c is then the same for all of them. Tests
 * (tests/test_solver_grad.c) evaluate the objectives directly to check
 * their gradients against finite differences. */
#ifndef GPD_SOLVE_INTERNAL_H
#define GPD_SOLVE_INTERNAL_H

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
  int n_groups;
  solve_group group[SOLVE_MAX_GROUPS];
  int n_terms;           /* loss terms per restart (data, penalties, TV ...) */
  float *loss_dev;       /* engine (n_terms, restarts): term j of restart r at j*restarts + r */
  float *loss_host;      /* host copy */
  float *measurement;    /* host, restarts: the loss restarts are chosen by */
  float *total;          /* host, restarts: the whole objective */
  int *diverged_at;      /* host, restarts: step of the first NaN / inf loss, -1 */
  int first_divergence;  /* step of the earliest divergence, -1 */
  /* Evaluates the objective at the current variables: fills measurement and
   * total (downloading loss_dev) and, when want_grad, overwrites every
   * group's gradient g. Returns 0 or -1 (an engine failure). */
  int (*objective)(solve_problem *p, int want_grad);
  /* Downloads the chosen restart's outputs of the LAST objective call into
   * res (image, range_image, kernel). */
  int (*result)(solve_problem *p, int chosen, gpd_solve_result *res);
  void (*destroy)(solve_problem *p); /* frees state (not the groups) */
  void *state;           /* the algorithm's own struct */
};

/* Zeroed problem with loss buffers for n_terms x restarts. */
int solve_problem_init(solve_problem *p, gpd_engine *e, int restarts, int n_terms);
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
/* One optimiser step of every group at iteration t (0-based; Adam's bias
 * correction uses t + 1). */
int solve_step(solve_problem *p, int t);
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

/* Runs `steps` iterations (objective with gradients, divergence check, log,
 * optimiser step), then evaluates the objective once more at the final
 * point (no gradients) and checks it. A restart whose total or measurement
 * is NaN / inf is marked in diverged_at, its rows reset to finite values
 * (so it cannot feed NaNs into anything), and from then on reported as NaN.
 * Returns 0, 1 when every restart of this problem diverged (stopped early),
 * or -1 on an engine error. */
int solve_run(solve_problem *p, int steps, const solve_hooks *h);

/* Index of the finite restart with the lowest measurement, -1 if none. */
int solve_choose(const solve_problem *p);

/* ---- helpers ---------------------------------------------------------------- */

/* loss[r] = |z_r|^2 into engine memory; dz += 2 * weight * z when dz != NULL. */
int solve_latent_penalty(gpd_engine *e, int restarts, size_t per, const float *z, float weight, float *loss,
                         float *dz);
/* Draws restarts x per normals (mean, std) on the host from rng. */
float *solve_draw_normal(gpd_rng *rng, int restarts, size_t per, float mean, float std, const char *what);
/* A seed for stream `stream` of restart `restart` derived from the user's
 * seed (splitmix64 mixing; independent streams for latents, the free image
 * and Alg 3's weights). */
uint64_t solve_seed(uint64_t seed, uint64_t stream, int restart);
/* The streams: every algorithm draws z_i and z_k for all restarts from
 * streams 1 and 2 (row r is restart r's, whatever the number of restarts). */
enum { SOLVE_STREAM_ZI = 1, SOLVE_STREAM_ZK = 2, SOLVE_STREAM_IMAGE = 3, SOLVE_STREAM_WEIGHTS = 4 };
/* Uploads restarts x per normals N(mean, std^2) from stream `stream` into
 * a group (restart r gets rows r of the stream). */
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
} solve_inputs;

/* Batched problems: the whole batch of restarts, initial point drawn from
 * o->seed. naive_create serves both naive (gradient descent, o->lr) and
 * range projection (adam != 0: Adam, o->adam_lr decaying with o->lr_decay). */
int naive_create(const solve_inputs *in, int adam, solve_problem **out);
int alg1_create(const solve_inputs *in, solve_problem **out);
int alg2_create(const solve_inputs *in, solve_problem **out);

/* Algorithm 3 works restart by restart, each with its own untrained network. */
typedef struct alg3_restart alg3_restart;
int alg3_restart_create(const solve_inputs *in, int restart, alg3_restart **out);
solve_problem *alg3_fit_problem(alg3_restart *a);  /* eq. 12: W only */
solve_problem *alg3_main_problem(alg3_restart *a); /* eq. 11: z_i, z_k, W */
gpd_net *alg3_network(alg3_restart *a);
void alg3_restart_free(alg3_restart *a);

/* Drivers called by gpd_solve (res zeroed, restarts arrays allocated). */
int solve_batched(const solve_inputs *in, solve_problem *p, gpd_solve_result *res);
int alg3_solve(const solve_inputs *in, gpd_solve_result *res);
int range_solve(const solve_inputs *in, gpd_solve_result *res);

#endif
