/* Algorithm 2 (eq. 10): deblurring under classical and generative priors,
 * with the weights of the authors' code (DESIGN.md):
 *   L(z_i, z_k, i) = free_weight data(i, G_K(z_k))
 *                  + tau mean((i - G_I(z_i))^2)
 *                  + zeta data(G_I(z_i), G_K(z_k))
 *                  + rho TV(i),
 * Adam (adam_lr, constant as in the paper or decaying as
 * exp(-t / adam_lr_decay); z_k's own step with adam_lr_kernel) on z_i, z_k
 * and the free image i ~ N(init_mean, init_std^2) per pixel (or
 * y + N(0, init_std^2): alg2_init_blurry). The best restart is the one whose
 * FREE image explains y best (lowest data(i, G_K(z_k))), as in the authors'
 * code, or with alg2_select_total the one with the lowest L; that loss is
 * this algorithm's "measurement". Restarts are the batch. */
#include <stdlib.h>

#include "solve_internal.h"

typedef struct alg2_state {
  solve_inputs in;
  solve_gen_pair gen;    /* G_I, G_K, the data term, y */
  size_t pixels;         /* C * Hx * Wx */
  float *dxi;            /* (R, C, Hx, Wx): dL/dG_I(z_i) */
  float *diff;           /* (R, C, Hx, Wx): i - G_I(z_i) */
  float *dk, *dk2;       /* (R, K, K): dL/dG_K(z_k) from the two data terms */
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
  solve_gen_pair *gen = &s->gen;

  if (!(gen->xi = gpd_net_forward(s->in.gi, &gen->wsi, R, zi->p))) return -1;
  if (!(gen->xk = gpd_net_forward(s->in.gk, &gen->wsk, R, zk->p))) return -1;
  /* free image: writes dL/di (weighted) straight into i's gradient */
  GPD_TRY(gpd_data_term_eval(gen->data, im->p, gen->xk, gen->y, R, o->free_weight, loss, want_grad ? im->g : NULL,
                             want_grad ? s->dk : NULL));
  /* in-range image */
  GPD_TRY(gpd_data_term_eval(gen->data, gen->xi, gen->xk, gen->y, R, o->zeta, loss + R, want_grad ? s->dxi : NULL,
                             want_grad ? s->dk2 : NULL));
  /* range error and TV */
  GPD_TRY(e->copy(e, s->diff, im->p, count));
  GPD_TRY(e->axpby(e, count, -1.0f, gen->xi, 1.0f, s->diff));
  GPD_TRY(e->sum_squares_per_item(e, R, s->pixels, s->diff, loss + 2 * R));
  GPD_TRY(e->tv_forward(e, R, g->c, g->hx, g->wx, im->p, loss + 3 * R));
  if (want_grad) {
    const float range_scale = 2.0f * o->tau / (float)s->pixels;
    GPD_TRY(e->axpby(e, count, range_scale, s->diff, 1.0f, im->g));
    GPD_TRY(e->tv_backward(e, R, g->c, g->hx, g->wx, o->rho, im->p, im->g));
    GPD_TRY(e->axpby(e, count, -range_scale, s->diff, 1.0f, s->dxi));
    GPD_TRY(e->axpby(e, (size_t)R * g->k * g->k, 1.0f, s->dk2, 1.0f, s->dk));
    GPD_TRY(gpd_net_backward(s->in.gi, &gen->wsi, R, s->dxi, zi->g, 0));
    GPD_TRY(gpd_net_backward(s->in.gk, &gen->wsk, R, s->dk, zk->g, 0));
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
    if (o->alg2_select_total) p->measurement[r] = p->total[r];
  }
}

/* the image is the free image i; G_I(z_i) is the range image */
static int alg2_result(solve_problem *p, int chosen, gpd_solve_result *res) {
  alg2_state *s = p->state;
  return solve_gen_pair_result(&s->gen, p->e, &s->in.g, p->group[2].p, chosen, res);
}

static void alg2_destroy(solve_problem *p) {
  alg2_state *s = p->state;
  if (!s) return;
  gpd_engine *e = p->e;
  solve_gen_pair_free(&s->gen, e);
  e->free(e, s->dxi);
  e->free(e, s->diff);
  e->free(e, s->dk);
  e->free(e, s->dk2);
  free(s);
  p->state = NULL;
}

/* the halving schedule: y's rows; the rest is scratch of each iteration */
static int alg2_gather(solve_problem *p, int n, const int *keep) {
  alg2_state *s = p->state;
  return solve_gen_pair_gather(&s->gen, p->e, &s->in.g, n, keep);
}

static const solve_problem_ops ALG2_OPS = {alg2_compute, alg2_read, alg2_result, alg2_destroy, alg2_gather};

int alg2_create(const solve_inputs *in, solve_problem **out) {
  *out = NULL;
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const int R = solve_inputs_count(in);
  solve_problem *p = solve_problem_new(e, R, in->first, 4, &ALG2_OPS, sizeof(alg2_state));
  if (!p) return -1;
  alg2_state *s = p->state;
  s->in = *in;
  s->pixels = (size_t)g->c * g->hx * g->wx;
  if (solve_gen_pair_init(&s->gen, in, R) != 0) goto fail;
  s->dxi = e->alloc(e, (size_t)R * s->pixels, "image gradient");
  s->diff = e->alloc(e, (size_t)R * s->pixels, "range error");
  s->dk = e->alloc(e, (size_t)R * g->k * g->k, "kernel gradient");
  s->dk2 = e->alloc(e, (size_t)R * g->k * g->k, "kernel gradient");
  if (!s->dxi || !s->diff || !s->dk || !s->dk2) goto fail;
  solve_group *zi = solve_group_add(p, "z_i", gpd_net_in_size(in->gi), SOLVE_ADAM, o->adam_lr, o->adam_lr_decay, 0.0f);
  if (!zi || solve_group_init_normal(p, zi, in, SOLVE_STREAM_ZI, 0.0f, 1.0f) != 0) goto fail;
  /* the kernel's latent may take its own step (adam_lr_kernel) */
  const float lr_zk = o->adam_lr_kernel > 0.0f ? o->adam_lr_kernel : o->adam_lr;
  solve_group *zk = solve_group_add(p, "z_k", gpd_net_in_size(in->gk), SOLVE_ADAM, lr_zk, o->adam_lr_decay, 0.0f);
  if (!zk || solve_group_init_normal(p, zk, in, SOLVE_STREAM_ZK, 0.0f, 1.0f) != 0) goto fail;
  solve_group *im = solve_group_add(p, "i", s->pixels, SOLVE_ADAM, o->adam_lr, o->adam_lr_decay, o->init_mean);
  if (!im) goto fail;
  solve_group_anneal(zi, o->steps, o->adam_lr_anneal);
  solve_group_anneal(zk, o->steps, o->adam_lr_anneal);
  solve_group_anneal(im, o->steps, o->adam_lr_anneal);
  /* y + noise: circular boundary only (gpd_solve checks: y has the image's size) */
  if ((o->alg2_init_blurry ? solve_group_init_around_image(p, im, in, SOLVE_STREAM_IMAGE, o->init_std)
                           : solve_group_init_normal(p, im, in, SOLVE_STREAM_IMAGE, o->init_mean, o->init_std)) != 0)
    goto fail;
  *out = p;
  return 0;
fail:
  solve_problem_free(p);
  return -1;
}
