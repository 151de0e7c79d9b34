/* Algorithm 1 (eq. 6-9): deblurring strictly under generative priors,
 *   L(z_i, z_k) = data(G_I(z_i), G_K(z_k)) + gamma |z_i|^2 + lambda |z_k|^2,
 * by gradient descent with step lr * exp(-t / lr_decay). Both latents step
 * from the gradients at the same point, so one forward and one backward
 * pass through each generator serve both (eq. 8 and 9); the data term's
 * Wirtinger gradients come from gpd_data_term. Restarts are the batch. */
#include <stdlib.h>

#include "solve_internal.h"

typedef struct alg1_state {
  solve_inputs in;
  gpd_net_workspace wsi, wsk;
  int have_wsi, have_wsk;
  gpd_data_term *data;
  float *y;              /* (R, C, H, W): y for every restart (no copies per step) */
  float *dxi;            /* (R, C, Hx, Wx): dL/dG_I(z_i) */
  float *dk;             /* (R, K, K): dL/dG_K(z_k) */
  const float *xi, *xk;  /* generator outputs of the last objective call */
} alg1_state;

static int alg1_compute(solve_problem *p, int want_grad) {
  alg1_state *s = p->state;
  gpd_engine *e = p->e;
  const gpd_solve_options *o = s->in.o;
  const int R = p->restarts;
  solve_group *zi = &p->group[0], *zk = &p->group[1];

  if (!(s->xi = gpd_net_forward(s->in.gi, &s->wsi, R, zi->p))) return -1;
  if (!(s->xk = gpd_net_forward(s->in.gk, &s->wsk, R, zk->p))) return -1;
  GPD_TRY(gpd_data_term_eval(s->data, s->xi, s->xk, s->y, R, 1.0f, p->loss_dev, want_grad ? s->dxi : NULL,
                             want_grad ? s->dk : NULL));
  if (want_grad) {
    GPD_TRY(gpd_net_backward(s->in.gi, &s->wsi, R, s->dxi, zi->g, 0));
    GPD_TRY(gpd_net_backward(s->in.gk, &s->wsk, R, s->dk, zk->g, 0));
  }
  GPD_TRY(solve_latent_penalty(e, R, zi->per_restart, zi->p, o->gamma, p->loss_dev + R, want_grad ? zi->g : NULL));
  return solve_latent_penalty(e, R, zk->per_restart, zk->p, o->lambda, p->loss_dev + 2 * R, want_grad ? zk->g : NULL);
}

static void alg1_read(solve_problem *p) {
  const gpd_solve_options *o = ((alg1_state *)p->state)->in.o;
  const int R = p->restarts;
  const float *l = p->loss_host;
  for (int r = 0; r < R; r++) {
    p->measurement[r] = l[r];
    p->total[r] = l[r] + o->gamma * l[R + r] + o->lambda * l[2 * R + r];
  }
}

static int alg1_result(solve_problem *p, int chosen, gpd_solve_result *res) {
  alg1_state *s = p->state;
  const solve_geom *g = &s->in.g;
  const float *x = s->xi + (size_t)chosen * g->c * g->hx * g->wx;
  GPD_TRY(solve_download_image(p->e, x, g->c, g->hx, g->wx, &res->image));
  GPD_TRY(solve_download_image(p->e, x, g->c, g->hx, g->wx, &res->range_image));
  return solve_download_kernel(p->e, s->xk + (size_t)chosen * g->k * g->k, g->k, res);
}

static void alg1_destroy(solve_problem *p) {
  alg1_state *s = p->state;
  if (!s) return;
  gpd_engine *e = p->e;
  if (s->have_wsi) gpd_net_workspace_free(&s->wsi, e);
  if (s->have_wsk) gpd_net_workspace_free(&s->wsk, e);
  if (s->data) gpd_data_term_free(s->data);
  e->free(e, s->y);
  e->free(e, s->dxi);
  e->free(e, s->dk);
  free(s);
  p->state = NULL;
}

int alg1_create(const solve_inputs *in, solve_problem **out) {
  *out = NULL;
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const int R = solve_inputs_count(in);
  solve_problem *p = gpd_calloc(1, sizeof *p, "solver problem");
  if (!p) return -1;
  alg1_state *s;
  if (solve_problem_init(p, e, R, 3) != 0) goto fail;
  p->first = in->first;
  p->compute = alg1_compute;
  p->read = alg1_read;
  p->result = alg1_result;
  p->destroy = alg1_destroy;
  if (!(s = p->state = gpd_calloc(1, sizeof *s, "solver state"))) goto fail;
  s->in = *in;
  if (gpd_net_workspace_alloc(&s->wsi, in->gi, R) != 0) goto fail;
  s->have_wsi = 1;
  if (gpd_net_workspace_alloc(&s->wsk, in->gk, R) != 0) goto fail;
  s->have_wsk = 1;
  if (!(s->data = gpd_data_term_create(e, R, g->c, g->hx, g->wx, g->k, g->boundary))) goto fail;
  s->y = solve_upload_replicated(e, in->y, R, "the blurry image");
  s->dxi = e->alloc(e, (size_t)R * g->c * g->hx * g->wx, "image gradient");
  s->dk = e->alloc(e, (size_t)R * g->k * g->k, "kernel gradient");
  if (!s->y || !s->dxi || !s->dk) goto fail;
  solve_group *zi = solve_group_add(p, "z_i", gpd_net_in_size(in->gi), SOLVE_SGD, o->lr, o->lr_decay, 0.0f);
  if (!zi || solve_group_init_normal(p, zi, o->seed, SOLVE_STREAM_ZI, 0.0f, 1.0f) != 0) goto fail;
  solve_group *zk = solve_group_add(p, "z_k", gpd_net_in_size(in->gk), SOLVE_SGD, o->lr, o->lr_decay, 0.0f);
  if (!zk || solve_group_init_normal(p, zk, o->seed, SOLVE_STREAM_ZK, 0.0f, 1.0f) != 0) goto fail;
  *out = p;
  return 0;
fail:
  solve_problem_free(p);
  return -1;
}
