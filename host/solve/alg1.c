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
  solve_gen_pair gen;    /* G_I, G_K, the data term, y */
  float *dxi;            /* (R, C, Hx, Wx): dL/dG_I(z_i) */
  float *dk;             /* (R, K, K): dL/dG_K(z_k) */
} alg1_state;

static int alg1_compute(solve_problem *p, int want_grad) {
  alg1_state *s = p->state;
  gpd_engine *e = p->e;
  const gpd_solve_options *o = s->in.o;
  const int R = p->restarts;
  solve_group *zi = &p->group[0], *zk = &p->group[1];
  solve_gen_pair *gen = &s->gen;

  if (!(gen->xi = gpd_net_forward(s->in.gi, &gen->wsi, R, zi->p))) return -1;
  if (!(gen->xk = gpd_net_forward(s->in.gk, &gen->wsk, R, zk->p))) return -1;
  GPD_TRY(gpd_data_term_eval(gen->data, gen->xi, gen->xk, gen->y, R, 1.0f, p->loss_dev, want_grad ? s->dxi : NULL,
                             want_grad ? s->dk : NULL));
  if (want_grad) {
    GPD_TRY(gpd_net_backward(s->in.gi, &gen->wsi, R, s->dxi, zi->g, 0));
    GPD_TRY(gpd_net_backward(s->in.gk, &gen->wsk, R, s->dk, zk->g, 0));
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

/* the image is G_I(z_i) itself */
static int alg1_result(solve_problem *p, int chosen, gpd_solve_result *res) {
  alg1_state *s = p->state;
  return solve_gen_pair_result(&s->gen, p->e, &s->in.g, s->gen.xi, chosen, res);
}

static void alg1_destroy(solve_problem *p) {
  alg1_state *s = p->state;
  if (!s) return;
  gpd_engine *e = p->e;
  solve_gen_pair_free(&s->gen, e);
  e->free(e, s->dxi);
  e->free(e, s->dk);
  free(s);
  p->state = NULL;
}

/* the halving schedule: y's rows; the rest is scratch of each iteration */
static int alg1_gather(solve_problem *p, int n, const int *keep) {
  alg1_state *s = p->state;
  return solve_gen_pair_gather(&s->gen, p->e, &s->in.g, n, keep);
}

static const solve_problem_ops ALG1_OPS = {alg1_compute, alg1_read, alg1_result, alg1_destroy, alg1_gather};

int alg1_create(const solve_inputs *in, solve_problem **out) {
  *out = NULL;
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const int R = solve_inputs_count(in);
  solve_problem *p = solve_problem_new(e, R, in->first, 3, &ALG1_OPS, sizeof(alg1_state));
  if (!p) return -1;
  alg1_state *s = p->state;
  s->in = *in;
  if (solve_gen_pair_init(&s->gen, in, R) != 0) goto fail;
  s->dxi = e->alloc(e, (size_t)R * g->c * g->hx * g->wx, "image gradient");
  s->dk = e->alloc(e, (size_t)R * g->k * g->k, "kernel gradient");
  if (!s->dxi || !s->dk) goto fail;
  solve_group *zi = solve_group_add(p, "z_i", gpd_net_in_size(in->gi), SOLVE_SGD, o->lr, o->lr_decay, 0.0f);
  if (!zi || solve_group_init_normal(p, zi, in, SOLVE_STREAM_ZI, 0.0f, 1.0f) != 0) goto fail;
  solve_group *zk = solve_group_add(p, "z_k", gpd_net_in_size(in->gk), SOLVE_SGD, o->lr, o->lr_decay, 0.0f);
  if (!zk || solve_group_init_normal(p, zk, in, SOLVE_STREAM_ZK, 0.0f, 1.0f) != 0) goto fail;
  *out = p;
  return 0;
fail:
  solve_problem_free(p);
  return -1;
}
