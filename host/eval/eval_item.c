/* One evaluation item (gpd/eval.h): prepare the sharp image (crop /
 * resize, optionally its projection onto G_I's range), blur it with the
 * item's test kernel, add noise, deblur, measure; or, for the Levin
 * benchmark, deblur a real capture and measure with shift tolerance. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/metrics.h"

static void step_hook(void *ctx, int step, int steps) {
  const eval_state *s = ctx;
  if (s->hooks && s->hooks->step) s->hooks->step(s->hooks->ctx, step, steps);
}

/* The solver's "all N restarts diverged" is a result of the image, not a
 * failure of the run; every other solver error is (sizes, engine). */
static int is_divergence(const char *msg) { return !strncmp(msg, "all ", 4) && strstr(msg, "restarts diverged"); }

/* Long reasons are cut to the note's size. */
static void set_note(gpd_eval_row *row, const char *status, const char *why) {
  snprintf(row->status, sizeof row->status, "%s", status);
  size_t n = strlen(why);
  if (n >= sizeof row->note) n = sizeof row->note - 1;
  memcpy(row->note, why, n);
  row->note[n] = 0;
}

/* Solves, and turns divergence into the row's status; returns 1 when the
 * row is final (diverged), 0 solved, -1 a run-stopping error. */
static int solve_item(eval_state *s, const gpd_image *y, const gpd_solve_options *base, long index, gpd_eval_row *row,
                      gpd_solve_result *res, const char *what) {
  gpd_solve_options o = *base;
  o.seed = base->seed + (uint64_t)index;
  o.log_every = 0;
  o.log = NULL;
  o.progress = step_hook;
  o.progress_ctx = s;
  if (gpd_solve(s->e, y, o.alg == GPD_ALG_3 ? NULL : s->gi, s->gk, &o, res) == 0) return 0;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", gpd_last_error());
  if (is_divergence(msg)) {
    char why[600];
    snprintf(why, sizeof why, "%s: %s", what, msg);
    set_note(row, "diverged", why);
    return 1;
  }
  return gpd_error("%s: %s: %s", row->file, what, msg);
}

/* PSNR / SSIM of out against target over the h x w window the solver
 * aligns with y (the whole image for the circular boundary). */
static int compare(const gpd_image *out, const gpd_image *target, int h, int w, double *psnr, double *ssim) {
  gpd_image a = {0}, b = {0};
  const gpd_image *pa = out, *pb = target;
  int rc = 0;
  if (out->h != h || out->w != w) {
    rc = gpd_solve_window(out, h, w, &a);
    pa = &a;
  }
  if (!rc && (target->h != h || target->w != w)) {
    rc = gpd_solve_window(target, h, w, &b);
    pb = &b;
  }
  if (!rc && pa->c != pb->c) rc = gpd_error("the deblurred image has %d channels, the target %d", pa->c, pb->c);
  if (!rc) {
    *psnr = gpd_psnr(pa->data, pb->data, pb->c, h, w);
    *ssim = gpd_ssim(pa->data, pb->data, pb->c, h, w);
  }
  gpd_image_free(&a);
  gpd_image_free(&b);
  return rc;
}

/* One example row: sharp | blurry | deblurred | true kernel | estimate. */
static int keep_example(eval_state *s, const gpd_image *sharp, const gpd_image *y, const gpd_image *deblurred,
                        const float *k_true, int kt, const float *k_est, int ke) {
  gpd_eval_outcome *out = s->out;
  int limit = s->c->grid_count < 64 ? s->c->grid_count : 64;
  if (out->grid_rows >= limit) return 0;
  const int zoom = sharp->h / (kt > 0 ? kt : 1) > 1 ? sharp->h / kt : 1;
  gpd_image kti = {0}, kei = {0};
  const gpd_image *parts[5] = {sharp, y, deblurred};
  int n = 3, rc = 0;
  if (k_true && gpd_image_from_kernel(k_true, kt, zoom, &kti) == 0) parts[n++] = &kti;
  if (k_est && gpd_image_from_kernel(k_est, ke, zoom, &kei) == 0) parts[n++] = &kei;
  rc = gpd_image_hstack(parts, n, 2, &out->grid[out->grid_rows]);
  if (!rc) out->grid_rows++;
  gpd_image_free(&kti);
  gpd_image_free(&kei);
  return rc;
}

int eval_item_synthetic(eval_state *s, const gpd_eval_item *it, gpd_eval_row *row) {
  const gpd_eval_config *c = s->c;
  const int K = s->ksize;
  gpd_image raw = {0}, sharp = {0}, range_im = {0}, y = {0};
  gpd_solve_result res = {0}, rres = {0};
  float *k = NULL;
  int rc = 0;
  row->sigma = c->sigma;
  if (gpd_eval_kernel_get(c->kernels, it->index, &k, row->kernel, sizeof row->kernel) != 0) return -1;

  if (gpd_image_load(&raw, it->path, s->gi ? s->gi->out_c : 0) != 0) {
    set_note(row, "skipped", gpd_last_error());
    goto done;
  }
  if (c->crop > 0) {
    if (gpd_image_crop_resize(&raw, c->crop, c->size, &sharp) != 0) {
      set_note(row, "skipped", gpd_last_error());
      goto done;
    }
  } else {
    sharp = raw;
    raw = (gpd_image){0};
  }
  if (s->gi && (sharp.h != s->gi->out_h || sharp.w != s->gi->out_w)) {
    char why[256];
    snprintf(why, sizeof why, "%s is %dx%d after preparation but the image generator makes %dx%d (see --crop-resize)",
             it->name, sharp.h, sharp.w, s->gi->out_h, s->gi->out_w);
    set_note(row, "skipped", why);
    goto done;
  }

  const gpd_image *target = &sharp;
  if (c->range) {
    if ((rc = solve_item(s, &sharp, &c->range_solve, it->index, row, &rres, "range projection")) != 0) goto done;
    row->range_psnr = rres.range_psnr;
    range_im = rres.image;
    rres.image = (gpd_image){0};
    target = &range_im;
  }
  if (gpd_blur_image(target, k, K, c->solve.boundary, c->sigma, c->noise_seed + (uint64_t)it->index, &y) != 0) {
    set_note(row, "skipped", gpd_last_error());
    goto done;
  }
  if ((rc = solve_item(s, &y, &c->solve, it->index, row, &res, "deblurring")) != 0) goto done;
  if ((rc = compare(&res.image, target, y.h, y.w, &row->psnr, &row->ssim)) != 0) goto done;
  if (res.kernel && res.ksize == K) row->kernel_error = gpd_kernel_error(res.kernel, k, K, GPD_EVAL_KERNEL_SHIFT);
  row->chosen = res.chosen;
  row->measurement = res.measurement;
  row->total = res.total;
  rc = keep_example(s, target, &y, &res.image, k, K, res.kernel, res.ksize);
done:
  free(k);
  gpd_image_free(&raw);
  gpd_image_free(&sharp);
  gpd_image_free(&range_im);
  gpd_image_free(&y);
  gpd_solve_result_free(&res);
  gpd_solve_result_free(&rres);
  return rc < 0 ? -1 : 0;
}

/* Levin et al.'s captures: no synthetic blur; shift-tolerant metrics
 * within +-K/2 of the measured kernel (K its size), after cropping as much
 * border, as the benchmark's protocol compares. */
int eval_item_levin(eval_state *s, const gpd_eval_item *it, gpd_eval_row *row) {
  gpd_image y = {0}, truth = {0}, win = {0};
  gpd_solve_result res = {0};
  float *kt = NULL, *emb = NULL;
  int ks = 0, rc = 0;
  const char *slash = strrchr(it->kernel, '/');
  snprintf(row->kernel, sizeof row->kernel, "%s", slash ? slash + 1 : it->kernel);
  if (gpd_image_load(&y, it->path, s->gi ? s->gi->out_c : 0) != 0 || gpd_image_load(&truth, it->truth, y.c) != 0 ||
      gpd_kernel_load(it->kernel, &kt, &ks) != 0) {
    set_note(row, "skipped", gpd_last_error());
    goto done;
  }
  if (truth.h != y.h || truth.w != y.w) {
    char why[256];
    snprintf(why, sizeof why, "the sharp image %s is %dx%d, the capture %dx%d", it->truth, truth.h, truth.w, y.h, y.w);
    set_note(row, "skipped", why);
    goto done;
  }
  if ((rc = solve_item(s, &y, &s->c->solve, it->index, row, &res, "deblurring")) != 0) goto done;
  const gpd_image *out = &res.image;
  if (out->h != y.h || out->w != y.w) {
    if ((rc = gpd_solve_window(out, y.h, y.w, &win)) != 0) goto done;
    out = &win;
  }
  const int shift = ks / 2;
  row->psnr = gpd_psnr_shift_tolerant(out->data, truth.data, y.c, y.h, y.w, shift, shift);
  row->ssim = gpd_ssim_shift_tolerant(out->data, truth.data, y.c, y.h, y.w, shift, shift);
  if (res.kernel && ks <= res.ksize) {
    if (!(emb = gpd_malloc(sizeof(float) * (size_t)res.ksize * res.ksize, "kernel canvas"))) {
      rc = -1;
      goto done;
    }
    gpd_eval_kernel_embed(kt, ks, emb, res.ksize);
    row->kernel_error = gpd_kernel_error(res.kernel, emb, res.ksize, shift);
  }
  row->chosen = res.chosen;
  row->measurement = res.measurement;
  row->total = res.total;
  rc = keep_example(s, &truth, &y, out, emb ? emb : kt, emb ? res.ksize : ks, res.kernel, res.ksize);
done:
  gpd_image_free(&y);
  gpd_image_free(&truth);
  gpd_image_free(&win);
  gpd_solve_result_free(&res);
  free(kt);
  free(emb);
  return rc < 0 ? -1 : 0;
}

