/* The machinery every solver shares (solve_internal.h): problems and their
 * variable groups, optimiser steps, the iteration loop with divergence
 * handling, the choice of the best restart, and small engine helpers. All
 * tensor data stays in engine memory; only latents drawn on the host are
 * uploaded and per-restart losses downloaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solve_internal.h"

/* ---- problems and groups ------------------------------------------------------ */

int solve_problem_init(solve_problem *p, gpd_engine *e, int restarts, int n_terms) {
  memset(p, 0, sizeof *p);
  p->e = e;
  p->restarts = restarts;
  p->n_terms = n_terms;
  p->first_divergence = -1;
  size_t nl = (size_t)n_terms * restarts;
  p->loss_dev = e->alloc(e, nl, "per-restart losses");
  p->loss_host = gpd_calloc(nl, sizeof(float), "per-restart losses");
  p->measurement = gpd_calloc((size_t)restarts, sizeof(float), "per-restart measurement");
  p->total = gpd_calloc((size_t)restarts, sizeof(float), "per-restart objective");
  p->diverged_at = gpd_malloc(sizeof(int) * (size_t)restarts, "per-restart divergence");
  if (!p->loss_dev || !p->loss_host || !p->measurement || !p->total || !p->diverged_at) return -1;
  for (int r = 0; r < restarts; r++) p->diverged_at[r] = -1;
  return 0;
}

void solve_problem_free(solve_problem *p) {
  if (!p) return;
  gpd_engine *e = p->e;
  if (p->destroy) p->destroy(p);
  for (int i = 0; i < p->n_groups; i++) {
    solve_group *g = &p->group[i];
    if (g->owned) {
      e->free(e, g->p);
      e->free(e, g->g);
    }
    if (g->m) e->free(e, g->m);
    if (g->v) e->free(e, g->v);
  }
  if (p->loss_dev) e->free(e, p->loss_dev);
  free(p->loss_host);
  free(p->measurement);
  free(p->total);
  free(p->diverged_at);
  free(p);
}

static solve_group *group_new(solve_problem *p, const char *name, solve_optimizer opt, float lr, float decay) {
  if (p->n_groups >= SOLVE_MAX_GROUPS) {
    gpd_error("solver: too many variable groups (adding '%s')", name);
    return NULL;
  }
  solve_group *g = &p->group[p->n_groups++];
  memset(g, 0, sizeof *g);
  g->name = name;
  g->opt = opt;
  g->lr = lr;
  g->decay = decay;
  return g;
}

static int group_alloc_moments(gpd_engine *e, solve_group *g) {
  if (g->opt != SOLVE_ADAM) return 0;
  g->m = e->alloc(e, g->count, "Adam first moments");
  g->v = e->alloc(e, g->count, "Adam second moments");
  return g->m && g->v ? 0 : -1;
}

solve_group *solve_group_add(solve_problem *p, const char *name, size_t per_restart, solve_optimizer opt, float lr,
                             float decay, float reset) {
  solve_group *g = group_new(p, name, opt, lr, decay);
  if (!g) return NULL;
  gpd_engine *e = p->e;
  g->per_restart = per_restart;
  g->count = per_restart * (size_t)p->restarts;
  g->reset = reset;
  g->owned = 1;
  g->p = e->alloc(e, g->count, name);
  g->g = e->alloc(e, g->count, name);
  if (!g->p || !g->g || group_alloc_moments(e, g) != 0) return NULL;
  return g;
}

solve_group *solve_group_add_external(solve_problem *p, const char *name, float *params, float *grads, size_t count,
                                      solve_optimizer opt, float lr, float decay) {
  solve_group *g = group_new(p, name, opt, lr, decay);
  if (!g) return NULL;
  g->p = params;
  g->g = grads;
  g->count = count;
  g->per_restart = 0;
  if (group_alloc_moments(p->e, g) != 0) return NULL;
  return g;
}

int solve_group_upload(solve_problem *p, solve_group *g, const float *host) {
  return p->e->upload(p->e, g->p, host, g->count);
}

/* ---- optimiser steps ------------------------------------------------------------- */

float solve_group_lr(const solve_group *g, int t) {
  return g->decay > 0 ? (float)(g->lr * exp(-(double)t / g->decay)) : g->lr;
}

int solve_step(solve_problem *p, int t) {
  gpd_engine *e = p->e;
  for (int i = 0; i < p->n_groups; i++) {
    solve_group *g = &p->group[i];
    float lr = solve_group_lr(g, t);
    if (g->opt == SOLVE_ADAM)
      GPD_TRY(e->adam_step(e, g->count, lr, SOLVE_ADAM_BETA1, SOLVE_ADAM_BETA2, SOLVE_ADAM_EPS, t + 1, g->g, g->m, g->v,
                           g->p));
    else
      GPD_TRY(e->sgd_step(e, g->count, lr, g->g, g->p));
  }
  return 0;
}

int solve_download_losses(solve_problem *p) {
  return p->e->download(p->e, p->loss_host, p->loss_dev, (size_t)p->n_terms * p->restarts);
}

/* ---- divergence ------------------------------------------------------------------ */

/* Resets restart r's rows in every per-restart group (and its Adam moments)
 * to finite values, so that a diverged restart computes harmless numbers
 * from here on whatever the engine's ops do with NaN. Shared groups (Alg 3's
 * W) belong to a batch of one, which stops instead. */
static int reset_restart(solve_problem *p, int r) {
  gpd_engine *e = p->e;
  for (int i = 0; i < p->n_groups; i++) {
    solve_group *g = &p->group[i];
    if (!g->per_restart) continue;
    size_t at = (size_t)r * g->per_restart;
    GPD_TRY(e->fill(e, g->p + at, g->reset, g->per_restart));
    GPD_TRY(e->fill(e, g->g + at, 0.0f, g->per_restart));
    if (g->m) GPD_TRY(e->fill(e, g->m + at, 0.0f, g->per_restart));
    if (g->v) GPD_TRY(e->fill(e, g->v + at, 0.0f, g->per_restart));
  }
  return 0;
}

/* Marks newly non-finite restarts at step t and blanks the reports of all
 * diverged ones. Returns the number still alive, or -1. */
static int check_divergence(solve_problem *p, int t) {
  int alive = 0;
  for (int r = 0; r < p->restarts; r++) {
    if (p->diverged_at[r] < 0 && !(isfinite(p->measurement[r]) && isfinite(p->total[r]))) {
      p->diverged_at[r] = t;
      if (p->first_divergence < 0) p->first_divergence = t;
      GPD_TRY(reset_restart(p, r));
    }
    if (p->diverged_at[r] >= 0) p->measurement[r] = p->total[r] = NAN;
    else alive++;
  }
  return alive;
}

/* ---- the loop ---------------------------------------------------------------------- */

solve_hooks solve_hooks_from_options(const gpd_solve_options *o, long progress_offset, long progress_total) {
  solve_hooks h = {0};
  h.log_every = o->log ? o->log_every : 0;
  h.log = o->log;
  h.log_ctx = o->log_ctx;
  h.progress = o->progress;
  h.progress_ctx = o->progress_ctx;
  h.progress_offset = progress_offset;
  h.progress_total = progress_total;
  return h;
}

static void log_point(solve_problem *p, const solve_hooks *h, int step) {
  if (h->log && h->log_every > 0) h->log(h->log_ctx, step, p->restarts, p->measurement, p->total);
}

int solve_run(solve_problem *p, int steps, const solve_hooks *h) {
  int alive;
  for (int t = 0; t < steps; t++) {
    GPD_TRY(p->objective(p, 1));
    if ((alive = check_divergence(p, t)) < 0) return -1;
    if (alive == 0) return 1;
    if (h->log_every > 0 && t % h->log_every == 0) log_point(p, h, t);
    GPD_TRY(solve_step(p, t));
    if (h->progress) h->progress(h->progress_ctx, (int)(h->progress_offset + t + 1), (int)h->progress_total);
  }
  /* the final point: what the result is made of and chosen by */
  GPD_TRY(p->objective(p, 0));
  if ((alive = check_divergence(p, steps)) < 0) return -1;
  log_point(p, h, steps);
  return alive == 0 ? 1 : 0;
}

int solve_choose(const solve_problem *p) {
  int best = -1;
  for (int r = 0; r < p->restarts; r++) {
    if (p->diverged_at[r] >= 0 || !isfinite(p->measurement[r])) continue;
    if (best < 0 || p->measurement[r] < p->measurement[best]) best = r;
  }
  return best;
}

/* ---- helpers -------------------------------------------------------------------- */

int solve_latent_penalty(gpd_engine *e, int restarts, size_t per, const float *z, float weight, float *loss,
                         float *dz) {
  GPD_TRY(e->sum_squares_per_item(e, restarts, per, z, loss));
  if (dz && weight != 0.0f) GPD_TRY(e->axpby(e, (size_t)restarts * per, 2.0f * weight, z, 1.0f, dz));
  return 0;
}

float *solve_draw_normal(gpd_rng *rng, int restarts, size_t per, float mean, float std, const char *what) {
  float *x = gpd_malloc(sizeof(float) * (size_t)restarts * per, what);
  if (x) gpd_rng_fill_normal(rng, x, (size_t)restarts * per, mean, std);
  return x;
}

int solve_group_init_normal(solve_problem *p, solve_group *g, uint64_t seed, uint64_t stream, float mean, float std) {
  gpd_rng rng;
  gpd_rng_seed(&rng, solve_seed(seed, stream, 0));
  float *x = solve_draw_normal(&rng, p->restarts, g->per_restart, mean, std, g->name);
  if (!x) return -1;
  int rc = solve_group_upload(p, g, x);
  free(x);
  return rc;
}

static uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t solve_seed(uint64_t seed, uint64_t stream, int restart) {
  return mix64(mix64(mix64(seed) ^ stream) ^ (uint64_t)(restart + 1));
}

int solve_download_image(gpd_engine *e, const float *src, int c, int h, int w, gpd_image *dst) {
  GPD_TRY(gpd_image_alloc(dst, c, h, w));
  return e->download(e, dst->data, src, (size_t)c * h * w);
}

int solve_download_kernel(gpd_engine *e, const float *src, int ksize, gpd_solve_result *res) {
  free(res->kernel);
  res->ksize = ksize;
  res->kernel = gpd_malloc(sizeof(float) * (size_t)ksize * ksize, "the kernel estimate");
  if (!res->kernel) return -1;
  return e->download(e, res->kernel, src, (size_t)ksize * ksize);
}

float *solve_upload_replicated(gpd_engine *e, const gpd_image *y, int copies, const char *what) {
  size_t per = (size_t)y->c * y->h * y->w;
  float *d = e->alloc(e, per * (size_t)copies, what);
  if (!d) return NULL;
  for (int r = 0; r < copies; r++)
    if (e->upload(e, d + (size_t)r * per, y->data, per) != 0) {
      e->free(e, d);
      return NULL;
    }
  return d;
}
