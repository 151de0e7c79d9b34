/* One evaluation item through its stages (eval_internal.h): prepare the
 * sharp image (crop / resize; optionally its projection onto G_I's range,
 * which eval_solve.c runs for the batch), blur it with the item's test
 * kernel, add noise; after the batch's deblurring, measure; or, for the
 * Levin benchmark, a real capture measured with shift tolerance. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/metrics.h"

/* Long reasons are cut to the note's size. */
void eval_slot_set_note(eval_slot *slot, const char *status, const char *why) {
  gpd_eval_row *row = &slot->row;
  snprintf(row->status, sizeof row->status, "%s", status);
  size_t n = strlen(why);
  if (n >= sizeof row->note) n = sizeof row->note - 1;
  memcpy(row->note, why, n);
  row->note[n] = 0;
  slot->pending = 0;
}

static void skip(eval_slot *slot) { eval_slot_set_note(slot, "skipped", gpd_last_error()); }

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

static int prepare_synthetic(eval_state *s, eval_slot *slot) {
  const gpd_eval_config *c = s->c;
  const gpd_eval_item *it = slot->it;
  gpd_image raw = {0};
  slot->row.sigma = c->sigma;
  slot->ks = s->ksize;
  if (gpd_eval_kernel_get(c->kernels, it->index, &slot->k, slot->row.kernel, sizeof slot->row.kernel) != 0) return -1;
  if (gpd_image_load(&raw, it->path, s->gi ? s->gi->out_c : 0) != 0) {
    skip(slot);
    return 0;
  }
  if (c->crop > 0) {
    const int rc = gpd_image_crop_resize(&raw, c->crop, c->size, &slot->sharp);
    gpd_image_free(&raw);
    if (rc != 0) {
      skip(slot);
      return 0;
    }
  } else {
    slot->sharp = raw;
  }
  if (s->gi && (slot->sharp.h != s->gi->out_h || slot->sharp.w != s->gi->out_w)) {
    char why[256];
    snprintf(why, sizeof why, "%s is %dx%d after preparation but the image generator makes %dx%d (see --crop-resize)",
             it->name, slot->sharp.h, slot->sharp.w, s->gi->out_h, s->gi->out_w);
    eval_slot_set_note(slot, "skipped", why);
  }
  return 0;
}

/* Levin et al.'s captures: no synthetic blur; the sharp image must match
 * the capture's size. */
static int prepare_levin(eval_state *s, eval_slot *slot) {
  const gpd_eval_item *it = slot->it;
  const char *slash = strrchr(it->kernel, '/');
  snprintf(slot->row.kernel, sizeof slot->row.kernel, "%s", slash ? slash + 1 : it->kernel);
  if (gpd_image_load(&slot->y, it->path, s->gi ? s->gi->out_c : 0) != 0 ||
      gpd_image_load(&slot->sharp, it->truth, slot->y.c) != 0 || gpd_kernel_load(it->kernel, &slot->k, &slot->ks) != 0) {
    skip(slot);
    return 0;
  }
  if (slot->sharp.h != slot->y.h || slot->sharp.w != slot->y.w) {
    char why[256];
    snprintf(why, sizeof why, "the sharp image %s is %dx%d, the capture %dx%d", it->truth, slot->sharp.h,
             slot->sharp.w, slot->y.h, slot->y.w);
    eval_slot_set_note(slot, "skipped", why);
  }
  return 0;
}

int eval_slot_prepare(eval_state *s, eval_slot *slot) {
  slot->pending = 1;
  return s->c->levin ? prepare_levin(s, slot) : prepare_synthetic(s, slot);
}

int eval_slot_blur(eval_state *s, eval_slot *slot) {
  const gpd_eval_config *c = s->c;
  if (!slot->pending || c->levin) return 0;
  const gpd_image *target = slot->target.data ? &slot->target : &slot->sharp;
  if (gpd_blur_image(target, slot->k, s->ksize, c->solve.boundary, c->sigma, c->noise_seed + (uint64_t)slot->it->index,
                     &slot->y) != 0)
    skip(slot);
  return 0;
}

static int finish_synthetic(eval_state *s, eval_slot *slot) {
  const int K = s->ksize;
  gpd_eval_row *row = &slot->row;
  const gpd_solve_result *res = &slot->res;
  const gpd_image *target = slot->target.data ? &slot->target : &slot->sharp;
  GPD_TRY(compare(&res->image, target, slot->y.h, slot->y.w, &row->psnr, &row->ssim));
  /* the blurry input in the same window: where deblurring started from */
  GPD_TRY(compare(&slot->y, target, slot->y.h, slot->y.w, &row->blurry_psnr, &row->blurry_ssim));
  if (res->kernel && res->ksize == K) row->kernel_error = gpd_kernel_error(res->kernel, slot->k, K, GPD_EVAL_KERNEL_SHIFT);
  return keep_example(s, target, &slot->y, &res->image, slot->k, K, res->kernel, res->ksize);
}

/* Shift-tolerant metrics within +-K/2 of the measured kernel (K its size),
 * after cropping as much border, as the benchmark's protocol compares. */
static int finish_levin(eval_state *s, eval_slot *slot) {
  gpd_eval_row *row = &slot->row;
  const gpd_solve_result *res = &slot->res;
  const gpd_image *y = &slot->y;
  gpd_image win = {0};
  float *emb = NULL;
  int rc = 0;
  const gpd_image *out = &res->image;
  if (out->h != y->h || out->w != y->w) {
    GPD_TRY(gpd_solve_window(out, y->h, y->w, &win));
    out = &win;
  }
  const int shift = slot->ks / 2;
  row->psnr = gpd_psnr_shift_tolerant(out->data, slot->sharp.data, y->c, y->h, y->w, shift, shift);
  row->ssim = gpd_ssim_shift_tolerant(out->data, slot->sharp.data, y->c, y->h, y->w, shift, shift);
  row->blurry_psnr = gpd_psnr_shift_tolerant(y->data, slot->sharp.data, y->c, y->h, y->w, shift, shift);
  row->blurry_ssim = gpd_ssim_shift_tolerant(y->data, slot->sharp.data, y->c, y->h, y->w, shift, shift);
  if (res->kernel && slot->ks <= res->ksize) {
    if (!(emb = gpd_malloc(sizeof(float) * (size_t)res->ksize * res->ksize, "kernel canvas"))) rc = -1;
    else {
      gpd_eval_kernel_embed(slot->k, slot->ks, emb, res->ksize);
      row->kernel_error = gpd_kernel_error(res->kernel, emb, res->ksize, shift);
    }
  }
  if (!rc)
    rc = keep_example(s, &slot->sharp, y, out, emb ? emb : slot->k, emb ? res->ksize : slot->ks, res->kernel,
                      res->ksize);
  gpd_image_free(&win);
  free(emb);
  return rc;
}

int eval_slot_finish(eval_state *s, eval_slot *slot) {
  if (!slot->pending) return 0;
  gpd_eval_row *row = &slot->row;
  row->chosen = slot->res.chosen;
  row->measurement = slot->res.measurement;
  row->total = slot->res.total;
  row->restart_iterations = (double)slot->res.restart_iterations;
  return s->c->levin ? finish_levin(s, slot) : finish_synthetic(s, slot);
}

void eval_slot_free(eval_slot *slot) {
  gpd_image_free(&slot->sharp);
  gpd_image_free(&slot->target);
  gpd_image_free(&slot->y);
  free(slot->k);
  gpd_solve_result_free(&slot->res);
  memset(slot, 0, sizeof *slot);
}
