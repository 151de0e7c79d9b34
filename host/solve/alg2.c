/* Algorithm 2 (eq. 10): deblurring under classical and generative priors,
 * with the weights of the authors' code (DESIGN.md):
 *   L(z_i, z_k, i) = free_weight data(i, G_K(z_k))
 *                  + tau mean((i - G_I(z_i))^2)
 *                  + zeta data(G_I(z_i), G_K(z_k))
 *                  + rho TV(i),
 * Adam (adam_lr) on z_i, z_k and the free image i ~ N(init_mean, init_std^2)
 * per pixel. The best restart is the one whose FREE image explains y best
 * (lowest data(i, G_K(z_k))), as in the authors' code; that residual is this
 * algorithm's "measurement". Restarts are the batch. */
#include <stdlib.h>

#include "solve_internal.h"

typedef struct alg2_state {
  solve_inputs in;
  gpd_net_workspace wsi, wsk;
  int have_wsi, have_wsk;
  gpd_data_term *data;
  size_t pixels;         /* C * Hx * Wx */
  float *y;              /* (R, C, H, W): y for every restart (no copies per step) */
  float *dxi;            /* (R, C, Hx, Wx): dL/dG_I(z_i) */
  float *diff;           /* (R, C, Hx, Wx): i - G_I(z_i) */
  float *dk, *dk2;       /* (R, K, K): dL/dG_K(z_k) from the two data terms */
  const float *xi, *xk;
} alg2_state;

static int alg2_compute(solve_problem *p, int want_grad) {
  alg2_state *s = p->state;
  gpd_engine *e = p->e;
  const gpd_solve_options *o = s->in.o;
  const solve_geom *g = &s->in.g;
  const int R = p->restarts;
  const size_t count = (size_t)R * s->pixels;
  solve_group *zi = &p->group[0], *zk = &p->group[1], *im = &p->group[2];
  float *loss = p->loss_dev;

  if (!(s->xi = gpd_net_forward(s->in.gi, &s->wsi, R, zi->p))) return -1;
  if (!(s->xk = gpd_net_forward(s->in.gk, &s->wsk, R, zk->p))) return -1;
  /* free image: writes dL/di (weighted) straight into i's gradient */
  GPD_TRY(gpd_data_term_eval(s->data, im->p, s->xk, s->y, R, o->free_weight, loss, want_grad ? im->g : NULL,
                             want_grad ? s->dk : NULL));
  /* in-range image */
  GPD_TRY(gpd_data_term_eval(s->data, s->xi, s->xk, s->y, R, o->zeta, loss + R, want_grad ? s->dxi : NULL,
                             want_grad ? s->dk2 : NULL));
  /* range error and TV */
  GPD_TRY(e->copy(e, s->diff, im->p, count));
  GPD_TRY(e->axpby(e, count, -1.0f, s->xi, 1.0f, s->diff));
  GPD_TRY(e->sum_squares_per_item(e, R, s->pixels, s->diff, loss + 2 * R));
  GPD_TRY(e->tv_forward(e, R, g->c, g->hx, g->wx, im->p, loss + 3 * R));
  if (want_grad) {
    const float range_scale = 2.0f * o->tau / (float)s->pixels;
    GPD_TRY(e->axpby(e, count, range_scale, s->diff, 1.0f, im->g));
    GPD_TRY(e->tv_backward(e, R, g->c, g->hx, g->wx, o->rho, im->p, im->g));
    GPD_TRY(e->axpby(e, count, -range_scale, s->diff, 1.0f, s->dxi));
    GPD_TRY(e->axpby(e, (size_t)R * g->k * g->k, 1.0f, s->dk2, 1.0f, s->dk));
    GPD_TRY(gpd_net_backward(s->in.gi, &s->wsi, R, s->dxi, zi->g, 0));
    GPD_TRY(gpd_net_backward(s->in.gk, &s->wsk, R, s->dk, zk->g, 0));
  }
  return 0;
}

static void alg2_read(solve_problem *p) {
  alg2_state *s = p->state;
  const gpd_solve_options *o = s->in.o;
  const int R = p->restarts;
  const float *l = p->loss_host;
  for (int r = 0; r < R; r++) {
    p->measurement[r] = l[r];
    p->total[r] = o->free_weight * l[r] + o->zeta * l[R + r] + o->tau * l[2 * R + r] / (float)s->pixels +
                  o->rho * l[3 * R + r];
  }
}

static int alg2_result(solve_problem *p, int chosen, gpd_solve_result *res) {
  alg2_state *s = p->state;
  const solve_geom *g = &s->in.g;
  const size_t at = (size_t)chosen * s->pixels;
  GPD_TRY(solve_download_image(p->e, p->group[2].p + at, g->c, g->hx, g->wx, &res->image));
  GPD_TRY(solve_download_image(p->e, s->xi + at, g->c, g->hx, g->wx, &res->range_image));
  return solve_download_kernel(p->e, s->xk + (size_t)chosen * g->k * g->k, g->k, res);
}

static void alg2_destroy(solve_problem *p) {
  alg2_state *s = p->state;
  if (!s) return;
  gpd_engine *e = p->e;
  if (s->have_wsi) gpd_net_workspace_free(&s->wsi, e);
  if (s->have_wsk) gpd_net_workspace_free(&s->wsk, e);
  if (s->data) gpd_data_term_free(s->data);
  e->free(e, s->y);
  e->free(e, s->dxi);
  e->free(e, s->diff);
  e->free(e, s->dk);
  e->free(e, s->dk2);
  free(s);
  p->state = NULL;
}

int alg2_create(const solve_inputs *in, solve_problem **out) {
  *out = NULL;
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const int R = solve_inputs_count(in);
  solve_problem *p = gpd_calloc(1, sizeof *p, "solver problem");
  if (!p) return -1;
  alg2_state *s;
  if (solve_problem_init(p, e, R, 4) != 0) goto fail;
  p->first = in->first;
  p->compute = alg2_compute;
  p->read = alg2_read;
  p->result = alg2_result;
  p->destroy = alg2_destroy;
  if (!(s = p->state = gpd_calloc(1, sizeof *s, "solver state"))) goto fail;
  s->in = *in;
  s->pixels = (size_t)g->c * g->hx * g->wx;
  if (gpd_net_workspace_alloc(&s->wsi, in->gi, R) != 0) goto fail;
  s->have_wsi = 1;
  if (gpd_net_workspace_alloc(&s->wsk, in->gk, R) != 0) goto fail;
  s->have_wsk = 1;
  if (!(s->data = gpd_data_term_create(e, R, g->c, g->hx, g->wx, g->k, g->boundary))) goto fail;
  s->y = solve_upload_replicated(e, in->y, R, "the blurry image");
  s->dxi = e->alloc(e, (size_t)R * s->pixels, "image gradient");
  s->diff = e->alloc(e, (size_t)R * s->pixels, "range error");
  s->dk = e->alloc(e, (size_t)R * g->k * g->k, "kernel gradient");
  s->dk2 = e->alloc(e, (size_t)R * g->k * g->k, "kernel gradient");
  if (!s->y || !s->dxi || !s->diff || !s->dk || !s->dk2) goto fail;
  solve_group *zi = solve_group_add(p, "z_i", gpd_net_in_size(in->gi), SOLVE_ADAM, o->adam_lr, 0.0f, 0.0f);
  if (!zi || solve_group_init_normal(p, zi, o->seed, SOLVE_STREAM_ZI, 0.0f, 1.0f) != 0) goto fail;
  solve_group *zk = solve_group_add(p, "z_k", gpd_net_in_size(in->gk), SOLVE_ADAM, o->adam_lr, 0.0f, 0.0f);
  if (!zk || solve_group_init_normal(p, zk, o->seed, SOLVE_STREAM_ZK, 0.0f, 1.0f) != 0) goto fail;
  solve_group *im = solve_group_add(p, "i", s->pixels, SOLVE_ADAM, o->adam_lr, 0.0f, o->init_mean);
  if (!im || solve_group_init_normal(p, im, o->seed, SOLVE_STREAM_IMAGE, o->init_mean, o->init_std) != 0) goto fail;
  *out = p;
  return 0;
fail:
  solve_problem_free(p);
  return -1;
}
