/* gpd_solve: defaults, validation of options and sizes, dispatch to the
 * algorithms, the driver of the batched ones (naive, 1, 2, range) and the
 * result (best restart, diverged restarts). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solve_internal.h"

void gpd_solve_defaults(gpd_solve_options *o, gpd_algorithm alg) {
  memset(o, 0, sizeof *o);
  o->alg = alg;
  o->boundary = GPD_BOUNDARY_CIRCULAR;
  o->restarts = 10;
  o->seed = 0;
  /* Algorithm 1 (Table II) */
  o->gamma = 0.01f;
  o->lambda = 0.01f;
  o->lr = 0.01f;
  o->lr_decay = 1000.0f;
  /* Algorithm 2 (Table III with the authors' code weights, DESIGN.md) */
  o->tau = 100.0f;
  o->zeta = 1.0f;
  o->free_weight = 0.5f;
  o->rho = 1e-3f;
  o->adam_lr = 0.005f;
  o->init_mean = 0.5f;
  o->init_std = 0.1f;
  o->alg2_init_blurry = 0;
  o->adam_lr_decay = 0.0f;
  o->adam_lr_kernel = 0.0f;
  o->adam_lr_anneal = 0.0f;
  /* the free image's residual picks the restart (the authors' code): the
   * total lifted 8 held-out faces more (+4.09 against +3.36 dB), but where
   * the truth lies beyond G_I's range it prefers restarts that stay near
   * the range (EVALUATION.md, "Choosing Algorithm 2's restart") */
  o->alg2_select_total = 0;
  o->average_best = 1;
  /* the non-blind finish is off (the paper has none); its weights are what
   * lifted the tuning faces most (EVALUATION.md, "Algorithm 2's non-blind
   * finish"): a weaker TV than the kernel search's, the short-budget tau */
  o->polish_steps = 0;
  o->polish_tau = 30.0f;
  o->polish_rho = 5e-4f;
  o->polish_lr = 0.002f;
  /* Algorithm 3 */
  o->nu = 1e-3f;
  o->kappa = 1e-3f;
  o->fit_steps = 400;
  o->fit_lr = 1e-3f;
  o->lr_z = 1e-3f;
  o->lr_w = 1e-4f;
  o->untrained_width = 64;
  o->untrained_latent = 100;
  o->untrained_arch = "dcgan_tf";
  o->checkpoint_dir = NULL;
  o->checkpoint_seconds = 600.0;
  o->log_every = 0;
  o->schedule = GPD_SCHEDULE_FULL;
  /* halving points: the lowest mean measurement regret within 35% of the
   * full schedule's work on logs of 8 held-out faces (Algorithm 2, 10
   * restarts, 1,000 steps: scripts/halving_points.py; EVALUATION.md,
   * "Restarts as a budget") */
  static const float halving[] = {0.15f, 0.4f, 0.5f};
  o->n_halving = (int)(sizeof halving / sizeof halving[0]);
  for (int k = 0; k < o->n_halving; k++) o->halving_at[k] = halving[k];
  switch (alg) {
  case GPD_ALG_NAIVE:
    /* eq. 4 has no latent penalty; the schedule is Algorithm 1's, the step
     * larger because the loss is a mean over pixels (a sum over pixels
     * would be 12,288 times larger for a 64x64x3 image) */
    o->gamma = 0.0f;
    o->lr = 10.0f;
    o->steps = 10000;
    break;
  case GPD_ALG_1: o->steps = 10000; break;
  case GPD_ALG_2: o->steps = 10000; break;
  case GPD_ALG_3: o->steps = 20000; break;
  case GPD_ALG_RANGE:
    /* Adam from 0.05 decaying by exp(-t/1000): large early steps to find
     * the basin, small late ones to settle in it */
    o->adam_lr = 0.05f;
    o->steps = 3000;
    break;
  }
}

void gpd_solve_result_free(gpd_solve_result *r) {
  if (!r) return;
  gpd_image_free(&r->image);
  gpd_image_free(&r->range_image);
  free(r->kernel);
  free(r->restart_measurement);
  free(r->diverged_at);
  free(r->dropped_at);
  for (int j = 0; j < r->n_ranked; j++) {
    gpd_image_free(&r->ranked[j].image);
    gpd_image_free(&r->ranked[j].range_image);
    free(r->ranked[j].kernel);
  }
  free(r->ranked);
  memset(r, 0, sizeof *r);
  r->range_psnr = NAN;
}

int gpd_solve_window(const gpd_image *src, int h, int w, gpd_image *dst) {
  if (!src || !src->data || h < 1 || w < 1 || h > src->h || w > src->w)
    return gpd_error("cannot take a %dx%d window of a %dx%d image", h, w, src ? src->h : 0, src ? src->w : 0);
  const int top = solve_centre(src->h, h), left = solve_centre(src->w, w);
  GPD_TRY(gpd_image_alloc(dst, src->c, h, w));
  for (int c = 0; c < src->c; c++)
    for (int y = 0; y < h; y++)
      memcpy(dst->data + ((size_t)c * h + y) * w, src->data + ((size_t)c * src->h + top + y) * src->w + left,
             sizeof(float) * (size_t)w);
  return 0;
}

/* ---- validation -------------------------------------------------------------- */

static const char *alg_name(gpd_algorithm a) {
  switch (a) {
  case GPD_ALG_NAIVE: return "naive deblurring";
  case GPD_ALG_1: return "Algorithm 1";
  case GPD_ALG_2: return "Algorithm 2";
  case GPD_ALG_3: return "Algorithm 3";
  case GPD_ALG_RANGE: return "range projection";
  }
  return "?";
}

static int check_weight(const char *name, float v) {
  if (!isfinite(v) || v < 0) return gpd_error("solver option %s must be a finite number >= 0 (got %g)", name, v);
  return 0;
}

static int check_step(const char *name, float v) {
  if (!isfinite(v) || v <= 0) return gpd_error("solver option %s must be a finite number > 0 (got %g)", name, v);
  return 0;
}

int gpd_solve_check_options(const gpd_solve_options *o) {
  if (!o) return gpd_error("gpd_solve: no options");
  if (o->alg < GPD_ALG_NAIVE || o->alg > GPD_ALG_RANGE) return gpd_error("unknown solver algorithm %d", (int)o->alg);
  if (o->boundary != GPD_BOUNDARY_CIRCULAR && o->boundary != GPD_BOUNDARY_LINEAR)
    return gpd_error("unknown boundary model %d", (int)o->boundary);
  if (o->restarts < 1 || o->restarts > 1000000) return gpd_error("restarts must be between 1 and 1000000 (got %d)", o->restarts);
  if (o->steps < 0) return gpd_error("steps must be >= 0 (got %d)", o->steps);
  if (o->log_every < 0) return gpd_error("log_every must be >= 0 (got %d)", o->log_every);
  if (o->threads < 0) return gpd_error("threads must be >= 0 (0: automatic; got %d)", o->threads);
  if (o->lr_decay < 0 || !isfinite(o->lr_decay)) return gpd_error("lr_decay must be >= 0 (0: constant step; got %g)", o->lr_decay);
  if (o->schedule != GPD_SCHEDULE_FULL && o->schedule != GPD_SCHEDULE_HALVING)
    return gpd_error("unknown restart schedule %d", (int)o->schedule);
  if (o->schedule == GPD_SCHEDULE_HALVING) {
    if (o->alg == GPD_ALG_3)
      return gpd_error("the halving schedule halves a batch of restarts; Algorithm 3 runs its restarts one after "
                       "another (use the full schedule)");
    if (o->n_halving < 1 || o->n_halving > GPD_SOLVE_MAX_HALVINGS)
      return gpd_error("the halving schedule needs 1 to %d points (got %d)", GPD_SOLVE_MAX_HALVINGS, o->n_halving);
    for (int k = 0; k < o->n_halving; k++)
      if (!(o->halving_at[k] > 0.0f && o->halving_at[k] < 1.0f) || (k > 0 && !(o->halving_at[k] > o->halving_at[k - 1])))
        return gpd_error("halving points must be increasing fractions of the steps in (0, 1) (point %d is %g)", k + 1,
                         (double)o->halving_at[k]);
  }
  if (o->average_best < 1 || o->average_best > o->restarts)
    return gpd_error("average_best must be between 1 and the restarts (%d; got %d)", o->restarts, o->average_best);
  if (o->average_best > 1 && (o->alg == GPD_ALG_3 || o->alg == GPD_ALG_RANGE))
    return gpd_error("averaging the best restarts is for naive, Algorithm 1 and Algorithm 2 (%s returns one restart)",
                     alg_name(o->alg));
  if (o->keep_restarts && (o->alg == GPD_ALG_3 || o->alg == GPD_ALG_RANGE))
    return gpd_error("keeping every restart's outputs is for naive, Algorithm 1 and Algorithm 2 (%s keeps one restart)",
                     alg_name(o->alg));
  if (o->polish_steps < 0) return gpd_error("polish_steps must be >= 0 (got %d)", o->polish_steps);
  if (o->polish_steps > 0 && o->alg != GPD_ALG_2)
    return gpd_error("the non-blind finish (polish) is for Algorithm 2, whose free image it solves again (%s has none)",
                     alg_name(o->alg));
  if (o->polish_steps > 0) {
    GPD_TRY(check_step("polish_lr", o->polish_lr));
    GPD_TRY(check_weight("polish_tau", o->polish_tau));
    GPD_TRY(check_weight("polish_rho", o->polish_rho));
  }
  if (o->checkpoint_dir && o->alg != GPD_ALG_3)
    return gpd_error("checkpoints are for Algorithm 3, whose restarts run for hours (%s runs its restarts as one batch)",
                     alg_name(o->alg));
  if (o->checkpoint_dir && !(o->checkpoint_seconds >= 0.0 && isfinite(o->checkpoint_seconds)))
    return gpd_error("checkpoint_seconds must be >= 0 (got %g)", o->checkpoint_seconds);
  if (o->keep_restarts && o->keep_kernel_scale)
    return gpd_error("the kept restarts are put in the gauge sum(k) = 1: they cannot keep the raw kernel scale");
  if (o->average_best > 1 && o->keep_kernel_scale)
    return gpd_error("averaging the best restarts puts each in the gauge sum(k) = 1 first: it cannot keep the raw "
                     "kernel scale");
  switch (o->alg) {
  case GPD_ALG_NAIVE: GPD_TRY(check_step("lr", o->lr)); GPD_TRY(check_weight("gamma", o->gamma)); break;
  case GPD_ALG_1:
    GPD_TRY(check_step("lr", o->lr));
    GPD_TRY(check_weight("gamma", o->gamma));
    GPD_TRY(check_weight("lambda", o->lambda));
    break;
  case GPD_ALG_2:
    GPD_TRY(check_step("adam_lr", o->adam_lr));
    GPD_TRY(check_weight("tau", o->tau));
    GPD_TRY(check_weight("zeta", o->zeta));
    GPD_TRY(check_weight("free_weight", o->free_weight));
    GPD_TRY(check_weight("rho", o->rho));
    GPD_TRY(check_weight("init_std", o->init_std));
    if (!isfinite(o->init_mean)) return gpd_error("solver option init_mean must be finite");
    GPD_TRY(check_weight("adam_lr_decay", o->adam_lr_decay));
    GPD_TRY(check_weight("adam_lr_kernel", o->adam_lr_kernel));
    if (!(o->adam_lr_anneal >= 0.0f && o->adam_lr_anneal <= 1.0f))
      return gpd_error("solver option adam_lr_anneal must be a fraction of the steps in [0, 1] (got %g)", o->adam_lr_anneal);
    if (o->alg2_init_blurry && o->boundary != GPD_BOUNDARY_CIRCULAR)
      return gpd_error("the free image starts at the blurry image only with the circular boundary "
                       "(with the linear one the blurry image is smaller than the image)");
    break;
  case GPD_ALG_3:
    GPD_TRY(check_step("lr_z", o->lr_z));
    GPD_TRY(check_step("lr_w", o->lr_w));
    GPD_TRY(check_step("fit_lr", o->fit_lr));
    GPD_TRY(check_weight("nu", o->nu));
    GPD_TRY(check_weight("kappa", o->kappa));
    if (o->fit_steps < 0) return gpd_error("fit_steps must be >= 0 (got %d)", o->fit_steps);
    if (o->untrained_width < 1) return gpd_error("untrained_width must be >= 1 (got %d)", o->untrained_width);
    if (o->untrained_latent < 1) return gpd_error("untrained_latent must be >= 1 (got %d)", o->untrained_latent);
    if (o->untrained_arch && strcmp(o->untrained_arch, "dcgan_tf") && strcmp(o->untrained_arch, "dcgan_torch"))
      return gpd_error("untrained generator '%s' is not dcgan_tf or dcgan_torch", o->untrained_arch);
    break;
  case GPD_ALG_RANGE: GPD_TRY(check_step("adam_lr", o->adam_lr)); break;
  }
  return 0;
}

/* The generator's image must be y's size (circular) or y's size plus K-1
 * (linear: y is the valid part); naive and range only compare pixels, so
 * with the linear boundary any generator at least y's size will do (its
 * centred y-sized window is compared). */
int solve_geom_init(solve_geom *g, const gpd_image *y, const gpd_net *gi, const gpd_net *gk,
                    const gpd_solve_options *o) {
  memset(g, 0, sizeof *g);
  if (!y || !y->data || y->c < 1 || y->h < 1 || y->w < 1) return gpd_error("%s: empty input image", alg_name(o->alg));
  const int linear = o->boundary == GPD_BOUNDARY_LINEAR;
  const char *bname = linear ? "linear boundary" : "circular boundary";
  g->c = y->c;
  g->h = y->h;
  g->w = y->w;
  g->boundary = o->boundary;
  const int needs_gk = o->alg == GPD_ALG_1 || o->alg == GPD_ALG_2 || o->alg == GPD_ALG_3;
  const int needs_gi = o->alg != GPD_ALG_3;
  if (needs_gk) {
    if (!gk) return gpd_error("%s needs a blur generator", alg_name(o->alg));
    if (gk->in_h != 1 || gk->in_w != 1)
      return gpd_error("the blur generator takes %dx%dx%d inputs, not a latent vector (is it an encoder?)", gk->in_h,
                       gk->in_w, gk->in_c);
    if (gk->out_c != 1 || gk->out_h != gk->out_w || gk->out_h < 1)
      return gpd_error("the blur generator makes %dx%dx%d outputs, not 1-channel square kernels", gk->out_h, gk->out_w,
                       gk->out_c);
    g->k = gk->out_h;
    if (!linear && (g->k > y->h || g->k > y->w))
      return gpd_error("the blur generator's %dx%d kernel does not fit a %dx%d image", g->k, g->k, y->h, y->w);
  }
  g->hx = linear && g->k ? y->h + g->k - 1 : y->h;
  g->wx = linear && g->k ? y->w + g->k - 1 : y->w;
  if (!needs_gi) return 0;
  if (!gi) return gpd_error("%s needs an image generator", alg_name(o->alg));
  if (gi->in_h != 1 || gi->in_w != 1)
    return gpd_error("the image generator takes %dx%dx%d inputs, not a latent vector (is it an encoder?)", gi->in_h,
                     gi->in_w, gi->in_c);
  const int pixel_only = o->alg == GPD_ALG_NAIVE || o->alg == GPD_ALG_RANGE;
  int ok = gi->out_c == y->c;
  if (pixel_only && linear) ok = ok && gi->out_h >= y->h && gi->out_w >= y->w;
  else ok = ok && gi->out_h == g->hx && gi->out_w == g->wx;
  if (!ok) {
    if (linear && needs_gk)
      return gpd_error("image is %dx%dx%d but the image generator makes %dx%dx%d (linear boundary: the blurry image "
                       "must be %dx%dx%d, the generator's size minus %d)",
                       y->h, y->w, y->c, gi->out_h, gi->out_w, gi->out_c, gi->out_h - g->k + 1, gi->out_w - g->k + 1,
                       gi->out_c, g->k - 1);
    return gpd_error("image is %dx%dx%d but the image generator makes %dx%dx%d (%s)", y->h, y->w, y->c, gi->out_h,
                     gi->out_w, gi->out_c, bname);
  }
  if (pixel_only) {
    g->hx = gi->out_h;
    g->wx = gi->out_w;
  }
  return 0;
}

/* ---- inputs ---------------------------------------------------------------------- */

int solve_prepare(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o,
                  solve_inputs *in) {
  memset(in, 0, sizeof *in);
  if (!o) return gpd_error("gpd_solve: no options");
  GPD_TRY(gpd_solve_check_options(o));
  in->e = e;
  in->y = y;
  in->o = o;
  in->gi = o->alg == GPD_ALG_3 ? NULL : gi;
  in->gk = o->alg == GPD_ALG_NAIVE || o->alg == GPD_ALG_RANGE ? NULL : gk;
  return solve_geom_init(&in->g, y, in->gi, in->gk, o);
}

void solve_inputs_on(solve_inputs *in, gpd_engine *e, gpd_net *gi_view, gpd_net *gk_view) {
  in->e = e;
  if (in->gi && gi_view) {
    *gi_view = *in->gi;
    gi_view->engine = e;
    gi_view->grads = NULL; /* never written: backward runs with accumulate_weights = 0 */
    in->gi = gi_view;
  }
  if (in->gk && gk_view) {
    *gk_view = *in->gk;
    gk_view->engine = e;
    gk_view->grads = NULL;
    in->gk = gk_view;
  }
}

/* ---- schedules -------------------------------------------------------------------- */

int gpd_solve_parse_halving(const char *opt, const char *text, gpd_solve_options *o) {
  int n = 0;
  const char *p = text;
  for (;;) {
    char *end = NULL;
    const double f = strtod(p, &end);
    if (end == p || (*end && *end != ','))
      return gpd_error("--%s: '%s' is not a list of fractions of the steps (e.g. 0.1,0.25,0.5)", opt, text);
    if (!(f > 0.0 && f < 1.0)) return gpd_error("--%s: %g is not a fraction of the steps in (0, 1)", opt, f);
    if (n == GPD_SOLVE_MAX_HALVINGS) return gpd_error("--%s: more than %d points", opt, GPD_SOLVE_MAX_HALVINGS);
    if (n > 0 && !(f > o->halving_at[n - 1])) return gpd_error("--%s: the points must increase ('%s')", opt, text);
    o->halving_at[n++] = (float)f;
    if (!*end) break;
    p = end + 1;
  }
  o->n_halving = n;
  return 0;
}

void gpd_solve_schedule_text(const gpd_solve_options *o, char *buf, size_t size) {
  if (!size) return;
  if (o->schedule != GPD_SCHEDULE_HALVING) {
    snprintf(buf, size, "full");
    return;
  }
  size_t len = (size_t)snprintf(buf, size, "halving:");
  for (int k = 0; k < o->n_halving && len < size; k++)
    len += (size_t)snprintf(buf + len, size - len, "%s%g", k ? "," : "", (double)o->halving_at[k]);
}

void gpd_solve_divergence_note(const gpd_solve_result *res, gpd_algorithm alg, char *buf, size_t size) {
  /* Alg 3: the first restart in order that diverged names the step (its W
   * fit's as -(s+2)); the batched ones: the earliest step */
  int step = -1, in_fit = 0, diverged = 0;
  for (int r = 0; r < res->restarts; r++) {
    const int d = res->diverged_at ? res->diverged_at[r] : -1;
    if (d == -1) continue;
    diverged++;
    if (alg == GPD_ALG_3) {
      if (step < 0) {
        in_fit = d <= -2;
        step = in_fit ? -(d + 2) : d;
      }
    } else if (step < 0 || d < step) {
      step = d;
    }
  }
  if (diverged < res->restarts)
    snprintf(buf, size, "the %d restarts the halving schedule kept diverged (NaN loss at step %d); try a smaller "
             "step size", diverged, step);
  else
    snprintf(buf, size, "all %d restarts diverged (NaN loss at step %d%s); try a smaller step size", res->restarts,
             step, in_fit ? " of the W fit" : "");
}

/* ---- entry points ------------------------------------------------------------------ */

static int alloc_restart_arrays(gpd_solve_result *res, int restarts) {
  res->restarts = restarts;
  res->restart_measurement = gpd_malloc(sizeof(float) * (size_t)restarts, "per-restart measurement");
  res->diverged_at = gpd_malloc(sizeof(int) * (size_t)restarts, "per-restart divergence");
  res->dropped_at = gpd_malloc(sizeof(int) * (size_t)restarts, "per-restart halving");
  if (!res->restart_measurement || !res->diverged_at || !res->dropped_at) return -1;
  for (int r = 0; r < restarts; r++) {
    res->restart_measurement[r] = NAN;
    res->diverged_at[r] = res->dropped_at[r] = -1;
  }
  res->chosen = -1;
  return 0;
}

/* Alg 3 runs image after image, each on its own. */
static int alg3_images(const solve_inputs *in, const gpd_solve_plan *plan, gpd_solve_result *res) {
  for (int j = 0; j < solve_inputs_images(in); j++) {
    solve_inputs one = *in;
    one.images = 1;
    one.y = solve_inputs_image(in, j);
    one.ys = one.y;
    one.seeds = in->seeds ? &in->seeds[j] : NULL;
    GPD_TRY(alg3_solve(&one, plan, &res[j]));
  }
  return 0;
}

int gpd_solve_batch(gpd_engine *e, int images, const gpd_image *ys, const uint64_t *seeds, gpd_net *gi, gpd_net *gk,
                    const gpd_solve_options *o, gpd_solve_result *res) {
  for (int j = 0; res && j < images; j++) {
    memset(&res[j], 0, sizeof res[j]);
    res[j].range_psnr = NAN;
  }
  if (!e || !o || !res) return gpd_error("gpd_solve: no engine, options or results");
  if (images < 1) return gpd_error("gpd_solve_batch: %d images", images);
  solve_inputs in;
  GPD_TRY(solve_prepare(e, ys, gi, gk, o, &in));
  if (!seeds) return gpd_error("gpd_solve_batch: no seeds");
  for (int j = 1; j < images; j++)
    if (!ys[j].data || ys[j].c != ys[0].c || ys[j].h != ys[0].h || ys[j].w != ys[0].w)
      return gpd_error("gpd_solve_batch: image %d is %dx%dx%d, image 0 is %dx%dx%d (one batch takes one size)", j,
                       ys[j].h, ys[j].w, ys[j].c, ys[0].h, ys[0].w, ys[0].c);
  in.images = images;
  in.ys = ys;
  in.seeds = seeds;
  if (in.gi && in.gi->engine != e) return gpd_error("the image generator lives on another engine than the solver's");
  if (in.gk && in.gk->engine != e) return gpd_error("the blur generator lives on another engine than the solver's");
  if (!e->sgd_step_device_lr || !e->adam_step_device_t)
    return gpd_error("the %s engine lacks the optimiser steps the solver uses (sgd_step_device_lr, adam_step_device_t)",
                     e->name ? e->name : "unnamed");

  /* trained generators: batch norm with their running statistics, which
   * also keeps restarts independent of each other in the batch (and lets
   * them run in groups); the plan's trial builds see the same setting */
  int gi_bn = in.gi ? in.gi->bn_train : 0, gk_bn = in.gk ? in.gk->bn_train : 0;
  if (in.gi) in.gi->bn_train = 0;
  if (in.gk) in.gk->bn_train = 0;
  /* their weights do not change during the solve: the engine may keep them
   * in its own layouts (Algorithm 3's untrained generator is its own net) */
  int held_gi = 0, held_gk = 0;

  double t0 = gpd_seconds();
  int rc = -1;
  if (in.gi && gpd_engine_hold_constant(e, in.gi->params, in.gi->n_params, 1) != 0) goto done;
  held_gi = in.gi != NULL;
  if (in.gk && gpd_engine_hold_constant(e, in.gk->params, in.gk->n_params, 1) != 0) goto done;
  held_gk = in.gk != NULL;
  gpd_solve_plan plan;
  if (solve_plan(e, &in, &plan) != 0) goto done;
  for (int j = 0; j < images; j++) {
    res[j].groups = plan.groups;
    res[j].threads = plan.threads;
    if (alloc_restart_arrays(&res[j], o->restarts) != 0) goto done;
  }
  switch (o->alg) {
  case GPD_ALG_NAIVE: rc = solve_batched(&in, naive_gd_create, &plan, res); break;
  case GPD_ALG_1: rc = solve_batched(&in, alg1_create, &plan, res); break;
  case GPD_ALG_2: rc = solve_batched(&in, alg2_create, &plan, res); break;
  case GPD_ALG_3: rc = alg3_images(&in, &plan, res); break;
  case GPD_ALG_RANGE: rc = range_solve(&in, &plan, res); break;
  }
done:
  if (held_gi && gpd_engine_hold_constant(e, in.gi->params, in.gi->n_params, 0) != 0) rc = -1;
  if (held_gk && gpd_engine_hold_constant(e, in.gk->params, in.gk->n_params, 0) != 0) rc = -1;
  if (in.gi) in.gi->bn_train = gi_bn;
  if (in.gk) in.gk->bn_train = gk_bn;
  if (rc != 0) {
    /* keep the message: freeing does not touch it */
    for (int j = 0; j < images; j++) gpd_solve_result_free(&res[j]);
    return -1;
  }
  for (int j = 0; j < images; j++) {
    if (!o->keep_kernel_scale) solve_result_unit_kernel(&res[j]);
    if (res[j].averaged == 0 && res[j].chosen >= 0) res[j].averaged = 1;
  }
  const double seconds = gpd_seconds() - t0;
  for (int j = 0; j < images; j++) res[j].seconds = seconds;
  return 0;
}

int gpd_solve(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o,
              gpd_solve_result *res) {
  const uint64_t seed = o ? o->seed : 0;
  GPD_TRY(gpd_solve_batch(e, 1, y, &seed, gi, gk, o, res));
  if (res->chosen >= 0) return 0;
  char why[256];
  gpd_solve_divergence_note(res, o->alg, why, sizeof why);
  gpd_solve_result_free(res);
  return gpd_error("%s", why);
}
