/* The machinery every solver shares (solve_internal.h): problems and their
 * variable groups, optimiser steps, the iteration loop with divergence
 * handling, the choice of the best restart, and small engine helpers. All
 * tensor data stays in engine memory; only latents drawn on the host are
 * uploaded and per-restart losses downloaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/engine_graph.h"
#include "solve_internal.h"

/* ---- problems and groups ------------------------------------------------------ */

int solve_problem_init(solve_problem *p, gpd_engine *e, int restarts, int first, int n_terms) {
  memset(p, 0, sizeof *p);
  p->e = e;
  p->restarts = restarts;
  p->first = first;
  p->span = restarts;
  p->n_terms = n_terms;
  p->objective = solve_objective;
  size_t nl = (size_t)n_terms * restarts, n = (size_t)restarts;
  p->sched = e->alloc(e, 2 * SOLVE_MAX_GROUPS, "the optimiser schedule");
  p->loss_dev = e->alloc(e, nl, "per-restart losses");
  p->loss_host = gpd_calloc(nl, sizeof(float), "per-restart losses");
  p->measurement = gpd_calloc(n, sizeof(float), "per-restart measurement");
  p->total = gpd_calloc(n, sizeof(float), "per-restart objective");
  p->diverged_at = gpd_malloc(sizeof(int) * n, "per-restart divergence");
  p->item = gpd_malloc(sizeof(int) * n, "the rows' items");
  p->record = gpd_calloc(n, sizeof(solve_record), "per-restart records");
  p->log_m = gpd_malloc(sizeof(float) * n, "the solver log");
  p->log_t = gpd_malloc(sizeof(float) * n, "the solver log");
  if (!p->sched || !p->loss_dev || !p->loss_host || !p->measurement || !p->total || !p->diverged_at || !p->item ||
      !p->record || !p->log_m || !p->log_t)
    return -1;
  for (int r = 0; r < restarts; r++) {
    p->diverged_at[r] = -1;
    p->item[r] = first + r;
    p->record[r] = (solve_record){.measurement = NAN, .diverged_at = -1, .dropped_at = -1, .iterations = 0};
  }
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
  if (p->sched) e->free(e, p->sched);
  free(p->loss_host);
  free(p->measurement);
  free(p->total);
  free(p->diverged_at);
  free(p->item);
  free(p->record);
  free(p->log_m);
  free(p->log_t);
  free(p);
}

solve_problem *solve_problem_new(gpd_engine *e, int restarts, int first, int n_terms, const solve_problem_ops *ops,
                                 size_t state_size) {
  solve_problem *p = gpd_calloc(1, sizeof *p, "solver problem");
  if (!p) return NULL;
  if (solve_problem_init(p, e, restarts, first, n_terms) != 0) goto fail;
  p->compute = ops->compute;
  p->read = ops->read;
  p->result = ops->result;
  p->destroy = ops->destroy;
  p->gather = ops->gather;
  if (state_size && !(p->state = gpd_calloc(1, state_size, "solver state"))) goto fail;
  return p;
fail:
  solve_problem_free(p);
  return NULL;
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

/* ---- the generator pair of Algorithms 1 and 2 ------------------------------------ */

int solve_gen_pair_init(solve_gen_pair *s, const solve_inputs *in, int restarts) {
  const solve_geom *g = &in->g;
  GPD_TRY(gpd_net_workspace_alloc(&s->wsi, in->gi, restarts));
  s->have_wsi = 1;
  GPD_TRY(gpd_net_workspace_alloc(&s->wsk, in->gk, restarts));
  s->have_wsk = 1;
  if (!(s->data = gpd_data_term_create(in->e, restarts, g->c, g->hx, g->wx, g->k, g->boundary))) return -1;
  s->y = solve_upload_images(in, restarts, "the blurry image");
  return s->y ? 0 : -1;
}

int solve_gen_pair_gather(solve_gen_pair *s, gpd_engine *e, const solve_geom *g, int n, const int *keep) {
  GPD_TRY(solve_gather_rows(e, s->y, (size_t)g->c * g->h * g->w, n, keep));
  return gpd_data_term_set_batch(s->data, n);
}

void solve_gen_pair_free(solve_gen_pair *s, gpd_engine *e) {
  if (s->have_wsi) gpd_net_workspace_free(&s->wsi, e);
  if (s->have_wsk) gpd_net_workspace_free(&s->wsk, e);
  if (s->data) gpd_data_term_free(s->data);
  e->free(e, s->y);
}

int solve_gen_pair_result(const solve_gen_pair *s, gpd_engine *e, const solve_geom *g, const float *image, int chosen,
                          gpd_solve_result *res) {
  const size_t at = (size_t)chosen * g->c * g->hx * g->wx;
  GPD_TRY(solve_download_image(e, image + at, g->c, g->hx, g->wx, &res->image));
  GPD_TRY(solve_download_image(e, s->xi + at, g->c, g->hx, g->wx, &res->range_image));
  return solve_download_kernel(e, s->xk + (size_t)chosen * g->k * g->k, g->k, res);
}

static void scale_image(gpd_image *im, float s) {
  if (!im->data) return;
  const size_t n = (size_t)im->c * im->h * im->w;
  for (size_t i = 0; i < n; i++) im->data[i] *= s;
}

void solve_result_unit_kernel(gpd_solve_result *res) {
  if (!res->kernel || res->chosen < 0) return;
  const size_t n = (size_t)res->ksize * res->ksize;
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += res->kernel[i];
  if (!(sum > 0) || !isfinite(sum)) return;
  const float s = (float)sum;
  for (size_t i = 0; i < n; i++) res->kernel[i] /= s;
  scale_image(&res->image, s);
  if (res->range_image.data != res->image.data) scale_image(&res->range_image, s);
}

/* ---- optimiser steps ------------------------------------------------------------- */

void solve_group_anneal(solve_group *g, int steps, float fraction) {
  g->anneal_len = (int)lround((double)fraction * steps);
  g->anneal_from = steps - g->anneal_len;
}

float solve_group_lr(const solve_group *g, int t) {
  double lr = g->decay > 0 ? g->lr * exp(-(double)t / g->decay) : g->lr;
  if (g->anneal_len > 0 && t >= g->anneal_from) lr *= (double)(g->anneal_from + g->anneal_len - t) / g->anneal_len;
  return (float)lr;
}

/* The schedule of iteration t is computed on the host exactly as the
 * by-value steps had it (the same float step size, t + 1 exact up to 2^24),
 * so eager and graph runs agree bit for bit on the CPU. */
int solve_schedule_upload(solve_problem *p, int t) {
  float s[2 * SOLVE_MAX_GROUPS];
  for (int i = 0; i < p->n_groups; i++) {
    s[2 * i] = solve_group_lr(&p->group[i], t);
    s[2 * i + 1] = (float)t + 1.0f;
  }
  return p->n_groups ? p->e->upload(p->e, p->sched, s, 2 * (size_t)p->n_groups) : 0;
}

int solve_step_scheduled(solve_problem *p) {
  gpd_engine *e = p->e;
  for (int i = 0; i < p->n_groups; i++) {
    solve_group *g = &p->group[i];
    const float *sched = p->sched + 2 * i;
    if (g->opt == SOLVE_ADAM)
      GPD_TRY(e->adam_step_device_t(e, g->count, sched, SOLVE_ADAM_BETA1, SOLVE_ADAM_BETA2, SOLVE_ADAM_EPS, g->g, g->m,
                                    g->v, g->p));
    else
      GPD_TRY(e->sgd_step_device_lr(e, g->count, sched, g->g, g->p));
  }
  return 0;
}

int solve_step(solve_problem *p, int t) {
  GPD_TRY(solve_schedule_upload(p, t));
  return solve_step_scheduled(p);
}

int solve_iteration(solve_problem *p) {
  GPD_TRY(p->compute(p, 1));
  return solve_step_scheduled(p);
}

int solve_download_losses(solve_problem *p) {
  return p->e->download(p->e, p->loss_host, p->loss_dev, (size_t)p->n_terms * p->restarts);
}

int solve_objective(solve_problem *p, int want_grad) {
  GPD_TRY(p->compute(p, want_grad));
  GPD_TRY(solve_download_losses(p));
  p->read(p);
  return 0;
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

/* A log row over every item of the problem: each row's losses in its
 * item's column, NaN for the items that stopped (halving). */
static void log_point(solve_problem *p, const solve_hooks *h, int step) {
  if (!h->log || h->log_every <= 0) return;
  for (int i = 0; i < p->span; i++) p->log_m[i] = p->log_t[i] = NAN;
  for (int j = 0; j < p->restarts; j++) {
    const int c = p->item[j] - p->first;
    p->log_m[c] = p->measurement[j];
    p->log_t[c] = p->total[j];
  }
  h->log(h->log_ctx, step, p->span, p->log_m, p->log_t);
}

static int graphs_wanted(gpd_engine *e) {
  if (!gpd_engine_supports_graphs(e)) return 0;
  const char *v = getenv("GPD_SOLVER_GRAPHS");
  return !(v && !strcmp(v, "0"));
}

/* A capture that failed: counted, and the first cause kept for the
 * result (the caller runs eagerly, which nothing recorded has changed). */
static void capture_failed(solve_problem *p, const char *cause) {
  if (!p->graph_capture_failures++)
    snprintf(p->graph_failure, sizeof p->graph_failure, "%s", cause[0] ? cause : "no cause recorded");
}

/* One iteration recorded as a graph; NULL when the capture fails (an op
 * that cannot be captured, a plan that did not exist yet, a capture the
 * device invalidated), with the failure recorded in p. */
static void *capture_iteration(solve_problem *p) {
  void *graph = NULL;
  char cause[sizeof p->graph_failure] = "";
  if (gpd_engine_graph_begin(p->e) != 0) {
    capture_failed(p, gpd_last_error());
    return NULL;
  }
  if (solve_iteration(p) != 0) snprintf(cause, sizeof cause, "%s", gpd_last_error()); /* the first cause */
  if (gpd_engine_graph_end(p->e, &graph) != 0 && !cause[0]) snprintf(cause, sizeof cause, "%s", gpd_last_error());
  if (cause[0]) {
    gpd_engine_graph_free(graph);
    capture_failed(p, cause);
    return NULL;
  }
  return graph;
}

/* Iterations t0 .. t1-1 at the current batch. Iteration t: the objective
 * at the point x_t (its losses come back) and the step to x_{t+1}. A
 * restart found non-finite at x_t is reset after its step, which leaves it
 * where resetting before the step did: its gradient and moments are zeroed
 * with it, so the step would not have moved it. A graph is captured per
 * call (a batch): its buffers and sizes are the batch's. */
static int run_iterations(solve_problem *p, int t0, int t1, const solve_hooks *h) {
  void *graph = NULL;
  int want_graph = t1 - t0 >= 3 && graphs_wanted(p->e);
  int rc = 0;
  for (int t = t0; t < t1; t++) {
    if ((rc = solve_schedule_upload(p, t)) != 0) break;
    if (want_graph && !graph && t >= t0 + 1 && !(graph = capture_iteration(p))) want_graph = 0;
    if (graph) {
      if ((rc = gpd_engine_graph_launch(p->e, graph)) != 0) break;
      p->graph_launches++;
    } else if ((rc = solve_iteration(p)) != 0) {
      break;
    }
    for (int j = 0; j < p->restarts; j++) p->record[p->item[j] - p->first].iterations++;
    if ((rc = solve_download_losses(p)) != 0) break;
    p->read(p);
    int alive = check_divergence(p, t);
    if (alive <= 0) {
      rc = alive < 0 ? -1 : 1;
      break;
    }
    if (h->log_every > 0 && t % h->log_every == 0) log_point(p, h, t);
    if (h->progress) h->progress(h->progress_ctx, (int)(h->progress_offset + t + 1), (int)h->progress_total);
    if (h->after_step && (rc = h->after_step(h->after_step_ctx, p, t + 1)) != 0) break;
  }
  gpd_engine_graph_free(graph);
  return rc;
}

/* The rows' final measurements and divergence into their records. */
static void record_rows(solve_problem *p) {
  for (int j = 0; j < p->restarts; j++) {
    solve_record *r = &p->record[p->item[j] - p->first];
    r->measurement = p->diverged_at[j] >= 0 ? NAN : p->measurement[j];
    r->diverged_at = p->diverged_at[j];
  }
}

int solve_run(solve_problem *p, int steps, const solve_halving *halving, const solve_hooks *h) {
  const int points = halving ? halving->n : 0;
  int t = h->start_step;
  if (t < 0 || t > steps || (t > 0 && points > 0))
    return gpd_error("solve_run: cannot start at step %d of %d%s", t, steps, points > 0 ? " with halving points" : "");
  for (int k = 0; k <= points; k++) {
    const int end = k < points ? halving->at[k] : steps;
    if (end > t) {
      int rc = run_iterations(p, t, end, h);
      if (rc != 0) {
        if (rc > 0) record_rows(p);
        return rc;
      }
      t = end;
    }
    if (k < points && end < steps) GPD_TRY(solve_halve(p, end, halving->per_image));
  }
  /* the final point: what the result is made of and chosen by */
  GPD_TRY(p->objective(p, 0));
  int alive = check_divergence(p, steps);
  if (alive < 0) return -1;
  log_point(p, h, steps);
  record_rows(p);
  return alive == 0 ? 1 : 0;
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

float *solve_draw_rows(uint64_t seed, uint64_t stream, int first, int count, size_t per, float mean, float std,
                       const char *what) {
  gpd_rng rng;
  gpd_rng_seed(&rng, solve_seed(seed, stream, 0));
  /* gpd_rng_fill_normal draws one normal per value in order, so the rows
   * before `first` are skipped by drawing as many normals */
  for (size_t i = 0, skip = (size_t)first * per; i < skip; i++) (void)gpd_rng_normal(&rng);
  return solve_draw_normal(&rng, count, per, mean, std, what);
}

/* N(mean, std^2) rows, plus each row's blurry image when plus_image
 * (added host-side: a constructor computes nothing on the engine). The rows
 * of one image come from its own seed's stream, in runs: a problem's items
 * [first, first + restarts) may cross images. */
static int init_rows(solve_problem *p, solve_group *g, const solve_inputs *in, uint64_t stream, float mean, float std,
                     int plus_image) {
  const int R = in->o->restarts;
  for (int j = 0; j < p->restarts;) {
    const int item = p->first + j, image = item / R, row = item % R;
    const int run = R - row < p->restarts - j ? R - row : p->restarts - j;
    float *x = solve_draw_rows(solve_inputs_seed(in, image), stream, row, run, g->per_restart, mean, std, g->name);
    if (!x) return -1;
    if (plus_image) {
      const float *y = solve_inputs_image(in, image)->data;
      for (int r = 0; r < run; r++)
        for (size_t i = 0; i < g->per_restart; i++) x[(size_t)r * g->per_restart + i] += y[i];
    }
    int rc = p->e->upload(p->e, g->p + (size_t)j * g->per_restart, x, (size_t)run * g->per_restart);
    free(x);
    GPD_TRY(rc);
    j += run;
  }
  return 0;
}

int solve_group_init_normal(solve_problem *p, solve_group *g, const solve_inputs *in, uint64_t stream, float mean,
                            float std) {
  return init_rows(p, g, in, stream, mean, std, 0);
}

int solve_group_init_around_image(solve_problem *p, solve_group *g, const solve_inputs *in, uint64_t stream,
                                  float std) {
  return init_rows(p, g, in, stream, 0.0f, std, 1);
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

float *solve_upload_images(const solve_inputs *in, int count, const char *what) {
  gpd_engine *e = in->e;
  const gpd_image *y0 = in->y;
  const size_t per = (size_t)y0->c * y0->h * y0->w;
  const int R = in->o->restarts;
  float *d = e->alloc(e, per * (size_t)count, what);
  if (!d) return NULL;
  for (int j = 0; j < count; j++)
    if (e->upload(e, d + (size_t)j * per, solve_inputs_image(in, (in->first + j) / R)->data, per) != 0) {
      e->free(e, d);
      return NULL;
    }
  return d;
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
