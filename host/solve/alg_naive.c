/* Naive deblurring (eq. 4) and range projection (Section V-C) share one
 * objective: the closest image to a target in the range of G_I,
 *   L(z) = mean over pixels of (W(G_I(z)) - target)^2 [+ gamma |z|^2],
 * where W is the identity or the centred target-sized window of the
 * generator's image (linear boundary). Naive's target is the blurry y and it
 * steps by gradient descent with Algorithm 1's schedule; range projection's
 * target is a sharp image and it steps with Adam (range_projection.c). */
#include <stdlib.h>

#include "solve_internal.h"

typedef struct naive_state {
  solve_inputs in;
  gpd_net_workspace ws;
  int have_ws;
  int crop, top, left;   /* window of the generator's image compared with the target */
  size_t pixels;         /* C * H * W of the target */
  float *target;         /* (R, C, H, W): the target for every restart */
  float *window;         /* (R, C, H, W): the cropped generator image (crop only) */
  float *diff;           /* (R, C, H, W): window - target, then its gradient */
  float *dfull;          /* (R, C, Hx, Wx): gradient to the generator's image (crop only) */
  const float *xi;       /* (R, C, Hx, Wx): G_I(z) of the last objective call */
} naive_state;

static float naive_gamma(const naive_state *s) {
  return s->in.o->alg == GPD_ALG_NAIVE ? s->in.o->gamma : 0.0f;
}

static int naive_compute(solve_problem *p, int want_grad) {
  naive_state *s = p->state;
  gpd_engine *e = p->e;
  const solve_geom *g = &s->in.g;
  const int R = p->restarts;
  const size_t count = (size_t)R * s->pixels;
  solve_group *z = &p->group[0];
  const float gamma = naive_gamma(s);

  s->xi = gpd_net_forward(s->in.gi, &s->ws, R, z->p);
  if (!s->xi) return -1;
  const float *win = s->xi;
  if (s->crop) {
    GPD_TRY(e->crop2d(e, R, g->c, g->hx, g->wx, s->top, s->left, g->h, g->w, s->xi, s->window));
    win = s->window;
  }
  GPD_TRY(e->copy(e, s->diff, win, count));
  GPD_TRY(e->axpby(e, count, -1.0f, s->target, 1.0f, s->diff));
  GPD_TRY(e->sum_squares_per_item(e, R, s->pixels, s->diff, p->loss_dev));
  if (want_grad) {
    /* d mean((w - t)^2) / dw = 2 (w - t) / pixels, in place */
    GPD_TRY(e->affine(e, count, 2.0f / (float)s->pixels, s->diff, 0.0f, s->diff));
    const float *dy = s->diff;
    if (s->crop) {
      GPD_TRY(e->crop2d_backward(e, R, g->c, g->hx, g->wx, s->top, s->left, g->h, g->w, s->diff, s->dfull));
      dy = s->dfull;
    }
    GPD_TRY(gpd_net_backward(s->in.gi, &s->ws, R, dy, z->g, 0));
  }
  return solve_latent_penalty(e, R, z->per_restart, z->p, gamma, p->loss_dev + R, want_grad ? z->g : NULL);
}

static void naive_read(solve_problem *p) {
  naive_state *s = p->state;
  const float gamma = naive_gamma(s);
  const int R = p->restarts;
  for (int r = 0; r < R; r++) {
    p->measurement[r] = p->loss_host[r] / (float)s->pixels;
    p->total[r] = p->measurement[r] + gamma * p->loss_host[R + r];
  }
}

/* G_I(z) is both the image and the range image */
static int naive_result(solve_problem *p, int chosen, gpd_solve_result *res) {
  naive_state *s = p->state;
  const solve_geom *g = &s->in.g;
  const float *x = s->xi + (size_t)chosen * g->c * g->hx * g->wx;
  GPD_TRY(solve_download_image(p->e, x, g->c, g->hx, g->wx, &res->image));
  return solve_download_image(p->e, x, g->c, g->hx, g->wx, &res->range_image);
}

static void naive_destroy(solve_problem *p) {
  naive_state *s = p->state;
  if (!s) return;
  gpd_engine *e = p->e;
  if (s->have_ws) gpd_net_workspace_free(&s->ws, e);
  e->free(e, s->target);
  e->free(e, s->window);
  e->free(e, s->diff);
  e->free(e, s->dfull);
  free(s);
  p->state = NULL;
}

/* the halving schedule: the target's rows; the rest is scratch of each iteration */
static int naive_gather(solve_problem *p, int n, const int *keep) {
  naive_state *s = p->state;
  return solve_gather_rows(p->e, s->target, s->pixels, n, keep);
}

static const solve_problem_ops NAIVE_OPS = {naive_compute, naive_read, naive_result, naive_destroy, naive_gather};

int naive_create(const solve_inputs *in, int adam, solve_problem **out) {
  *out = NULL;
  gpd_engine *e = in->e;
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const int R = solve_inputs_count(in);
  solve_problem *p = solve_problem_new(e, R, in->first, 2, &NAIVE_OPS, sizeof(naive_state));
  if (!p) return -1;
  naive_state *s = p->state;
  s->in = *in;
  s->pixels = (size_t)g->c * g->h * g->w;
  s->crop = g->hx != g->h || g->wx != g->w;
  s->top = solve_centre(g->hx, g->h);
  s->left = solve_centre(g->wx, g->w);
  if (gpd_net_workspace_alloc(&s->ws, in->gi, R) != 0) goto fail;
  s->have_ws = 1;
  s->target = solve_upload_images(in, R, "the target image");
  s->diff = e->alloc(e, (size_t)R * s->pixels, "image residual");
  if (!s->target || !s->diff) goto fail;
  if (s->crop) {
    s->window = e->alloc(e, (size_t)R * s->pixels, "generator window");
    s->dfull = e->alloc(e, (size_t)R * g->c * g->hx * g->wx, "generator image gradient");
    if (!s->window || !s->dfull) goto fail;
  }
  size_t latent = gpd_net_in_size(in->gi);
  solve_group *z = adam ? solve_group_add(p, "z_i", latent, SOLVE_ADAM, o->adam_lr, o->lr_decay, 0.0f)
                        : solve_group_add(p, "z_i", latent, SOLVE_SGD, o->lr, o->lr_decay, 0.0f);
  if (!z || solve_group_init_normal(p, z, in, SOLVE_STREAM_ZI, 0.0f, 1.0f) != 0) goto fail;
  *out = p;
  return 0;
fail:
  solve_problem_free(p);
  return -1;
}

int range_create(const solve_inputs *in, solve_problem **out) { return naive_create(in, 1, out); }
int naive_gd_create(const solve_inputs *in, solve_problem **out) { return naive_create(in, 0, out); }
