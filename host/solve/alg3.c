/* Algorithm 3 (eq. 11, 12): deblurring under an UNTRAINED image generator.
 *
 * G_I(z_i, W) is a DCGAN generator (dcgan_tf or dcgan_torch) with random
 * weights W from gpd_net_init, y's channels, batch norm with batch
 * statistics, and the smallest power-of-two output side that covers the
 * image the objective needs (y's size, or (H+K-1) x (W+K-1) for the linear
 * boundary); a larger natural output is centre-cropped to that image with
 * crop2d (crop2d_backward in the backward).
 *
 * Each restart has its own W, so restarts run one after another at batch 1:
 *  1. eq. 12: W <- argmin_W mean over pixels of (y - G_I(z_i, W))^2, Adam
 *     (fit_lr, fit_steps), z_i fixed. With the linear boundary the
 *     generator's image is larger than y by K-1; y is compared with the
 *     y-sized window aligned with it, (K-1)/2 in from each side (the pixels
 *     the centre of the kernel sees), and the border is left free.
 *  2. eq. 11: L = data(G_I(z_i, W), G_K(z_k)) + kappa |z_k|^2
 *                + nu TV(G_I(z_i, W)),
 *     Adam on z_i, z_k (lr_z) and W (lr_w), fresh moments.
 * The restart with the lowest final measurement data(G_I, G_K) wins. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "solve_internal.h"

struct alg3_restart {
  solve_inputs in;
  int restart;
  gpd_net net;
  int have_net;
  gpd_net_workspace ws, wsk;
  int have_ws, have_wsk;
  gpd_data_term *data;
  int side;              /* the generator's natural output side S */
  int crop, top, left;   /* (hx, wx) window of the S x S output */
  int fit_crop, fit_top, fit_left; /* (h, w) window compared with y in the fit */
  size_t fit_pixels;     /* C * H * W */
  float *y;              /* (1, C, H, W) */
  float *img;            /* (1, C, hx, wx): cropped generator image (crop only) */
  float *dimg;           /* (1, C, hx, wx) */
  float *dfull;          /* (1, C, S, S) */
  float *fitwin;         /* (1, C, H, W) (fit_crop only) */
  float *fitdiff;        /* (1, C, H, W) */
  float *dk;             /* (1, K, K) */
  const float *full, *ximg, *xk;
  solve_problem *fit, *main;
};

/* ---- eq. 12: fit W to y ------------------------------------------------------------ */

static int fit_compute(solve_problem *p, int want_grad) {
  alg3_restart *a = p->state;
  gpd_engine *e = p->e;
  const solve_geom *g = &a->in.g;
  const float *zi = a->main->group[0].p;
  if (!(a->full = gpd_net_forward(&a->net, &a->ws, 1, zi))) return -1;
  const float *win = a->full;
  if (a->fit_crop) {
    GPD_TRY(e->crop2d(e, 1, g->c, a->side, a->side, a->fit_top, a->fit_left, g->h, g->w, a->full, a->fitwin));
    win = a->fitwin;
  }
  GPD_TRY(e->copy(e, a->fitdiff, win, a->fit_pixels));
  GPD_TRY(e->axpby(e, a->fit_pixels, -1.0f, a->y, 1.0f, a->fitdiff));
  GPD_TRY(e->sum_squares_per_item(e, 1, a->fit_pixels, a->fitdiff, p->loss_dev));
  if (want_grad) {
    GPD_TRY(e->affine(e, a->fit_pixels, 2.0f / (float)a->fit_pixels, a->fitdiff, 0.0f, a->fitdiff));
    const float *dy = a->fitdiff;
    if (a->fit_crop) {
      GPD_TRY(e->crop2d_backward(e, 1, g->c, a->side, a->side, a->fit_top, a->fit_left, g->h, g->w, a->fitdiff,
                                 a->dfull));
      dy = a->dfull;
    }
    GPD_TRY(e->fill(e, a->net.grads, 0.0f, a->net.n_params));
    GPD_TRY(gpd_net_backward(&a->net, &a->ws, 1, dy, NULL, 1));
  }
  return 0;
}

static void fit_read(solve_problem *p) {
  alg3_restart *a = p->state;
  p->measurement[0] = p->total[0] = p->loss_host[0] / (float)a->fit_pixels;
}

/* ---- eq. 11 ---------------------------------------------------------------------------- */

static int main_compute(solve_problem *p, int want_grad) {
  alg3_restart *a = p->state;
  gpd_engine *e = p->e;
  const gpd_solve_options *o = a->in.o;
  const solve_geom *g = &a->in.g;
  solve_group *zi = &p->group[0], *zk = &p->group[1];
  if (!(a->full = gpd_net_forward(&a->net, &a->ws, 1, zi->p))) return -1;
  a->ximg = a->full;
  if (a->crop) {
    GPD_TRY(e->crop2d(e, 1, g->c, a->side, a->side, a->top, a->left, g->hx, g->wx, a->full, a->img));
    a->ximg = a->img;
  }
  if (!(a->xk = gpd_net_forward(a->in.gk, &a->wsk, 1, zk->p))) return -1;
  GPD_TRY(gpd_data_term_eval(a->data, a->ximg, a->xk, a->y, 1, 1.0f, p->loss_dev, want_grad ? a->dimg : NULL,
                             want_grad ? a->dk : NULL));
  GPD_TRY(e->tv_forward(e, 1, g->c, g->hx, g->wx, a->ximg, p->loss_dev + 2));
  if (want_grad) {
    GPD_TRY(e->tv_backward(e, 1, g->c, g->hx, g->wx, o->nu, a->ximg, a->dimg));
    const float *dy = a->dimg;
    if (a->crop) {
      GPD_TRY(e->crop2d_backward(e, 1, g->c, a->side, a->side, a->top, a->left, g->hx, g->wx, a->dimg, a->dfull));
      dy = a->dfull;
    }
    GPD_TRY(e->fill(e, a->net.grads, 0.0f, a->net.n_params));
    GPD_TRY(gpd_net_backward(&a->net, &a->ws, 1, dy, zi->g, 1));
    GPD_TRY(gpd_net_backward(a->in.gk, &a->wsk, 1, a->dk, zk->g, 0));
  }
  return solve_latent_penalty(e, 1, zk->per_restart, zk->p, o->kappa, p->loss_dev + 1, want_grad ? zk->g : NULL);
}

static void main_read(solve_problem *p) {
  alg3_restart *a = p->state;
  const gpd_solve_options *o = a->in.o;
  const float *l = p->loss_host;
  p->measurement[0] = l[0];
  p->total[0] = l[0] + o->kappa * l[1] + o->nu * l[2];
}

static int main_result(solve_problem *p, int chosen, gpd_solve_result *res) {
  alg3_restart *a = p->state;
  const solve_geom *g = &a->in.g;
  (void)chosen; /* batch of one */
  GPD_TRY(solve_download_image(p->e, a->ximg, g->c, g->hx, g->wx, &res->image));
  GPD_TRY(solve_download_image(p->e, a->ximg, g->c, g->hx, g->wx, &res->range_image));
  return solve_download_kernel(p->e, a->xk, g->k, res);
}

/* ---- one restart --------------------------------------------------------------------- */

/* The smallest power-of-two DCGAN that covers hx x wx. */
static int build_generator(gpd_net *net, const solve_inputs *in) {
  const gpd_solve_options *o = in->o;
  const char *arch_name = o->untrained_arch ? o->untrained_arch : "dcgan_tf";
  const int need = in->g.hx > in->g.wx ? in->g.hx : in->g.wx;
  char why[512] = "";
  for (int side = 8; side <= 16384; side *= 2) {
    if (side < need) continue;
    gpd_arch arch;
    memset(&arch, 0, sizeof arch);
    snprintf(arch.name, sizeof arch.name, "%s", arch_name);
    arch.latent = o->untrained_latent;
    arch.channels = in->g.c;
    arch.size = side;
    arch.width = o->untrained_width;
    memset(net, 0, sizeof *net);
    if (gpd_net_build(net, &arch, "generator") == 0 && net->out_h >= in->g.hx && net->out_w >= in->g.wx &&
        net->out_c == in->g.c)
      return 0;
    snprintf(why, sizeof why, "%s", gpd_last_error());
  }
  return gpd_error("Algorithm 3: no %s generator covers a %dx%d image (%s)", arch_name, in->g.hx, in->g.wx,
                   why[0] ? why : "no size builds");
}

static void fit_destroy(solve_problem *p) { p->state = NULL; }
static void main_destroy(solve_problem *p) { p->state = NULL; }

void alg3_restart_free(alg3_restart *a) {
  if (!a) return;
  gpd_engine *e = a->in.e;
  solve_problem_free(a->fit);
  solve_problem_free(a->main);
  if (a->have_ws) gpd_net_workspace_free(&a->ws, e);
  if (a->have_wsk) gpd_net_workspace_free(&a->wsk, e);
  if (a->have_net) gpd_net_free(&a->net);
  if (a->data) gpd_data_term_free(a->data);
  e->free(e, a->y);
  e->free(e, a->img);
  e->free(e, a->dimg);
  e->free(e, a->dfull);
  e->free(e, a->fitwin);
  e->free(e, a->fitdiff);
  e->free(e, a->dk);
  free(a);
}

/* Uploads row `restart` of stream `stream` (rows of per_restart). */
static int init_row(solve_problem *p, solve_group *grp, const solve_inputs *in, uint64_t stream, int restart) {
  float *x = solve_draw_rows(solve_inputs_seed(in, 0), stream, restart, 1, grp->per_restart, 0.0f, 1.0f, grp->name);
  if (!x) return -1;
  int rc = p->e->upload(p->e, grp->p, x, grp->per_restart);
  free(x);
  return rc;
}

/* Both problems' state is the restart (freed by alg3_restart_free); they
 * run its restarts one by one and cannot be halved (no gather). */
static const solve_problem_ops MAIN_OPS = {main_compute, main_read, main_result, main_destroy, NULL};
static const solve_problem_ops FIT_OPS = {fit_compute, fit_read, NULL, fit_destroy, NULL};

int alg3_restart_create(const solve_inputs *in, int restart, alg3_restart **out) {
  *out = NULL;
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  alg3_restart *a = gpd_calloc(1, sizeof *a, "Algorithm 3 restart");
  if (!a) return -1;
  a->in = *in;
  a->restart = restart;
  if (build_generator(&a->net, in) != 0) goto fail;
  if (gpd_net_alloc(&a->net, e) != 0) goto fail;
  a->have_net = 1;
  if (gpd_net_init(&a->net, solve_seed(solve_inputs_seed(in, 0), SOLVE_STREAM_WEIGHTS, restart)) != 0) goto fail;
  a->net.bn_train = 1;
  a->side = a->net.out_h;
  const int side_w = a->net.out_w;
  a->crop = a->side != g->hx || side_w != g->wx;
  a->top = solve_centre(a->side, g->hx);
  a->left = solve_centre(side_w, g->wx);
  a->fit_crop = a->side != g->h || side_w != g->w;
  a->fit_top = a->top + solve_centre(g->hx, g->h);
  a->fit_left = a->left + solve_centre(g->wx, g->w);
  a->fit_pixels = (size_t)g->c * g->h * g->w;
  if (gpd_net_workspace_alloc(&a->ws, &a->net, 1) != 0) goto fail;
  a->have_ws = 1;
  if (gpd_net_workspace_alloc(&a->wsk, in->gk, 1) != 0) goto fail;
  a->have_wsk = 1;
  if (!(a->data = gpd_data_term_create(e, 1, g->c, g->hx, g->wx, g->k, g->boundary))) goto fail;
  const size_t img = (size_t)g->c * g->hx * g->wx, full = (size_t)g->c * a->side * side_w;
  a->y = solve_upload_replicated(e, in->y, 1, "the blurry image");
  a->dimg = e->alloc(e, img, "image gradient");
  a->dfull = e->alloc(e, full, "generator output gradient");
  a->fitdiff = e->alloc(e, a->fit_pixels, "fit residual");
  a->dk = e->alloc(e, (size_t)g->k * g->k, "kernel gradient");
  if (!a->y || !a->dimg || !a->dfull || !a->fitdiff || !a->dk) goto fail;
  if (a->crop && !(a->img = e->alloc(e, img, "cropped generator image"))) goto fail;
  if (a->fit_crop && !(a->fitwin = e->alloc(e, a->fit_pixels, "fit window"))) goto fail;

  /* eq. 11's problem owns z_i and z_k; eq. 12's reads z_i from it */
  if (!(a->main = solve_problem_new(e, 1, restart, 3, &MAIN_OPS, 0))) goto fail;
  a->main->state = a;
  solve_group *zi = solve_group_add(a->main, "z_i", gpd_net_in_size(&a->net), SOLVE_ADAM, o->lr_z, 0.0f, 0.0f);
  if (!zi || init_row(a->main, zi, in, SOLVE_STREAM_ZI, restart) != 0) goto fail;
  solve_group *zk = solve_group_add(a->main, "z_k", gpd_net_in_size(in->gk), SOLVE_ADAM, o->lr_z, 0.0f, 0.0f);
  if (!zk || init_row(a->main, zk, in, SOLVE_STREAM_ZK, restart) != 0) goto fail;
  if (!solve_group_add_external(a->main, "W", a->net.params, a->net.grads, a->net.n_params, SOLVE_ADAM, o->lr_w, 0.0f))
    goto fail;

  if (!(a->fit = solve_problem_new(e, 1, restart, 1, &FIT_OPS, 0))) goto fail;
  a->fit->state = a;
  if (!solve_group_add_external(a->fit, "W", a->net.params, a->net.grads, a->net.n_params, SOLVE_ADAM, o->fit_lr, 0.0f))
    goto fail;
  *out = a;
  return 0;
fail:
  alg3_restart_free(a);
  return -1;
}

solve_problem *alg3_fit_problem(alg3_restart *a) { return a->fit; }
solve_problem *alg3_main_problem(alg3_restart *a) { return a->main; }
gpd_net *alg3_network(alg3_restart *a) { return &a->net; }

/* ---- the driver ------------------------------------------------------------------------- */

/* Restarts are independent tasks (solve_parallel_run): one after another on
 * the solver's engine, or several at once on forked engines. Each writes
 * its own slots of the per-restart arrays; the best so far is kept under a
 * lock, ties going to the lower restart index as in a sequential run. */
typedef struct alg3_run {
  const solve_inputs *in;
  solve_tasks t;
  uint64_t fingerprint; /* of the solve, for its checkpoints' names (o->checkpoint_dir) */
} alg3_run;

/* A restart's checkpoints during its main phase: every o->checkpoint_seconds,
 * and at step GPD_TEST_ALG3_STOP_AT, after which the run stops with an error
 * (the tests' stand-in for a kill). */
typedef struct alg3_saver {
  alg3_restart *a;
  const char *path;
  double seconds, last;
  long stop_at;
} alg3_saver;

static int save_after_step(void *ctx, solve_problem *p, int done) {
  alg3_saver *s = ctx;
  const int stop = s->stop_at == done;
  if (!stop && gpd_seconds() - s->last < s->seconds) return 0;
  GPD_TRY(alg3_checkpoint_save(p, &s->a->net, s->path, done));
  s->last = gpd_seconds();
  if (stop) return gpd_error("Algorithm 3 stopped after step %d of its main phase (GPD_TEST_ALG3_STOP_AT); its checkpoint "
                             "is %s", done, s->path);
  return 0;
}

static int alg3_task(void *ctx, gpd_engine *e, int r) {
  alg3_run *run = ctx;
  const gpd_solve_options *o = run->in->o;
  solve_tasks *t = &run->t;
  gpd_solve_result *res = t->res;
  solve_inputs in = *run->in;
  gpd_net gk_view;
  solve_inputs_on(&in, e, NULL, &gk_view);
  char path[4096] = "";
  if (o->checkpoint_dir) GPD_TRY(alg3_checkpoint_path(o->checkpoint_dir, run->fingerprint, r, path, sizeof path));
  alg3_restart *a = NULL;
  GPD_TRY(alg3_restart_create(&in, r, &a));
  int start = 0;
  int rc = path[0] ? alg3_checkpoint_load(a->main, &a->net, path, o->steps, &start) : 0;
  if (rc > 0) {
    /* the fit ran before the checkpoint: W holds its result */
    a->fit->record[0].iterations = o->fit_steps;
    rc = 0;
  } else if (rc == 0) {
    solve_hooks hfit = {0};
    solve_progress_sum_hook(t->progress, r, &hfit);
    rc = solve_run(a->fit, o->fit_steps, NULL, &hfit);
    if (rc == 0 && path[0]) rc = alg3_checkpoint_save(a->main, &a->net, path, 0);
  }
  solve_hooks hmain = {0};
  alg3_saver saver = {a, path, o->checkpoint_seconds, gpd_seconds(), -1};
  if (rc == 0) {
    solve_progress_sum_hook(t->progress, r, &hmain);
    hmain.progress_offset = o->fit_steps;
    hmain.start_step = start;
    if (path[0]) {
      const char *stop = getenv("GPD_TEST_ALG3_STOP_AT");
      saver.stop_at = stop ? atol(stop) : -1;
      hmain.after_step = save_after_step;
      hmain.after_step_ctx = &saver;
    }
    if (t->log) solve_log_table_hook(t->log, r, r, &hmain);
    rc = solve_run(a->main, o->steps, NULL, &hmain);
  }
  /* a restart that ended (or diverged) needs its checkpoint no more; after
   * an error it stays to be continued */
  if (rc >= 0 && path[0] && alg3_checkpoint_remove(path) != 0) rc = -1;
  pthread_mutex_lock(&t->lock);
  if (rc >= 0) {
    solve_tasks_record(t, a->main);
    res->restart_iterations += a->fit->record[0].iterations;
    /* a restart that diverged in the eq. 12 fit: -(s+2) for step s of it */
    if (a->fit->record[0].diverged_at >= 0) res->diverged_at[r] = -(a->fit->record[0].diverged_at + 2);
  }
  if (rc == 0) rc = solve_tasks_offer(t, a->main, 0);
  solve_tasks_count_graphs(t, a->fit);
  pthread_mutex_unlock(&t->lock);
  alg3_restart_free(a);
  return rc < 0 ? -1 : 0;
}

int alg3_solve(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res) {
  const gpd_solve_options *o = in->o;
  const int R = o->restarts;
  alg3_run run = {.in = in};
  solve_tasks *t = &run.t;
  int rc = -1;
  if (o->checkpoint_dir) {
    if (mkdir(o->checkpoint_dir, 0777) != 0 && errno != EEXIST)
      return gpd_error("--checkpoint-dir '%s': cannot create it: %s", o->checkpoint_dir, strerror(errno));
    GPD_TRY(alg3_checkpoint_fingerprint(in, &run.fingerprint));
  }
  GPD_TRY(solve_tasks_init(t, res, 1, R, "Algorithm 3"));
  t->progress = solve_progress_sum_new(o, R, ((long)o->fit_steps + o->steps) * R);
  if (!t->progress) goto done;
  if (o->log && o->log_every > 0 && !(t->log = solve_log_table_new(o, R, R))) goto done;
  if (solve_parallel_run(in->e, R, plan->threads, alg3_task, &run) != 0) goto done;
  solve_tasks_finish(t, o);
  rc = 0;
done:
  solve_tasks_free(t);
  return rc;
}
