/* Algorithm 2's non-blind finish (gpd_solve_options.polish_steps): once the
 * restarts have chosen their kernels, each returned restart's free image is
 * solved once more with its kernel k and range image G_I(z_i) held fixed,
 *   min_i data(i, k) + polish_tau mean((i - G_I(z_i))^2) + polish_rho TV(i),
 * by polish_steps Adam steps of polish_lr from where the solve left it.
 *
 * Why: at the short budgets (2,000 steps at Adam 0.02) the free image is
 * still far from the optimum of its own kernel when the blind solve stops,
 * and the kernel search wants a stronger TV than the final image does. On
 * the 16 tuning faces (EVALUATION.md, "Algorithm 2's non-blind finish") this
 * stage lifted 15 of 16 faces, +0.7 dB on the mean of the 4 best. It costs
 * no generator pass: a data term, the range error and TV per step.
 *
 * What is polished: the restarts a solve returns (the chosen one, or every
 * candidate that --average-best averages or --restarts-out keeps), in the
 * gauge they are returned in (sum(k) = 1 unless keep_kernel_scale), before
 * they are averaged. The restarts' choice and their losses are the blind
 * solve's. Items are independent: they run as batches of at most
 * POLISH_BATCH on the solver's engine, each item against its own image's y. */
#include <stdlib.h>

#include "solve_internal.h"

#define POLISH_BATCH 256

typedef struct polish_item {
  gpd_image *image;            /* in: the solve's free image; out: polished (host) */
  const gpd_image *range_image; /* G_I(z_i), the image's size */
  const float *kernel;         /* K x K */
  int of_image;                /* which of the solve's images (its y) */
} polish_item;

/* items[0 .. n) as one batch on the engine */
static int polish_batch(const solve_inputs *in, const polish_item *items, int n) {
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const size_t per = (size_t)g->c * g->hx * g->wx, kk = (size_t)g->k * g->k, count = (size_t)n * per;
  const size_t yper = (size_t)g->c * g->h * g->w;
  float *x = e->alloc(e, count, "the polished images");          /* (n, C, Hx, Wx) */
  float *r = e->alloc(e, count, "the polish's range images");    /* (n, C, Hx, Wx) */
  float *grad = e->alloc(e, count, "the polish's gradient");     /* (n, C, Hx, Wx) */
  float *m = e->alloc(e, count, "the polish's Adam moments"); /* zeroed, as Adam starts */
  float *v = e->alloc(e, count, "the polish's Adam moments");
  float *k = e->alloc(e, (size_t)n * kk, "the polish's kernels"); /* (n, K, K) */
  float *y = e->alloc(e, (size_t)n * yper, "the polish's blurry images"); /* (n, C, H, W) */
  gpd_data_term *data = gpd_data_term_create(e, n, g->c, g->hx, g->wx, g->k, g->boundary);
  int rc = -1;
  if (!x || !r || !grad || !m || !v || !k || !y || !data) goto done;
  for (int j = 0; j < n; j++) {
    const polish_item *it = &items[j];
    if (e->upload(e, x + j * per, it->image->data, per) != 0 || e->upload(e, r + j * per, it->range_image->data, per) != 0 ||
        e->upload(e, k + j * kk, it->kernel, kk) != 0 ||
        e->upload(e, y + j * yper, solve_inputs_image(in, it->of_image)->data, yper) != 0)
      goto done;
  }
  /* d/di of polish_tau mean((i - r)^2) over the image's C Hx Wx values */
  const float range_scale = 2.0f * o->polish_tau / (float)per;
  for (int t = 0; t < o->polish_steps; t++) {
    if (gpd_data_term_eval(data, x, k, y, n, 1.0f, NULL, grad, NULL) != 0) goto done;
    if (e->axpby(e, count, range_scale, x, 1.0f, grad) != 0 || e->axpby(e, count, -range_scale, r, 1.0f, grad) != 0)
      goto done;
    if (e->tv_backward(e, n, g->c, g->hx, g->wx, o->polish_rho, x, grad) != 0) goto done;
    if (e->adam_step(e, count, o->polish_lr, SOLVE_ADAM_BETA1, SOLVE_ADAM_BETA2, SOLVE_ADAM_EPS, t + 1, grad, m, v, x) !=
        0)
      goto done;
  }
  for (int j = 0; j < n; j++)
    if (e->download(e, items[j].image->data, x + j * per, per) != 0) goto done;
  rc = 0;
done:
  gpd_data_term_free(data);
  e->free(e, x);
  e->free(e, r);
  e->free(e, grad);
  e->free(e, m);
  e->free(e, v);
  e->free(e, k);
  e->free(e, y);
  return rc;
}

int solve_tasks_polish(solve_tasks *t, const solve_inputs *in) {
  const gpd_solve_options *o = in->o;
  if (o->alg != GPD_ALG_2 || o->polish_steps <= 0) return 0;
  size_t cap = 0;
  for (int i = 0; i < t->images; i++) cap += solve_tasks_pooled(t) ? (size_t)t->n_cand[i] : t->best[i] >= 0;
  if (cap == 0) return 0;
  polish_item *items = gpd_calloc(cap, sizeof *items, "the restarts to polish");
  if (!items) return -1;
  int n = 0;
  for (int i = 0; i < t->images; i++) {
    if (solve_tasks_pooled(t)) {
      for (int j = 0; j < t->n_cand[i]; j++) {
        gpd_solve_result *c = solve_tasks_candidate(t, i, j);
        items[n++] = (polish_item){&c->image, &c->range_image, c->kernel, i};
      }
    } else if (t->best[i] >= 0) {
      gpd_solve_result *res = &t->res[i];
      /* candidates are in the returned gauge already; the chosen one is put
       * there now (gpd_solve_batch's own pass then finds sum(k) = 1) */
      res->chosen = t->best[i]; /* what solve_tasks_finish sets; the gauge acts on a chosen result */
      if (!o->keep_kernel_scale) solve_result_unit_kernel(res);
      items[n++] = (polish_item){&res->image, &res->range_image, res->kernel, i};
    }
  }
  int rc = 0;
  for (int a = 0; a < n && rc == 0; a += POLISH_BATCH)
    rc = polish_batch(in, items + a, n - a < POLISH_BATCH ? n - a : POLISH_BATCH);
  free(items);
  return rc;
}
