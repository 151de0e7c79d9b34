/* The solves of an evaluation batch (eval_internal.h): the pending images
 * of the batch go to gpd_solve_batch together, so their restarts run as
 * one batch of images x restarts (the authors ran 80 x 10), each image
 * with the seed of its index, as it would alone. Images of one size share
 * a solve (the Levin captures may differ; the synthetic ones are the
 * recipe's size). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#include "gpd/common.h"

/* One solve's share of an image's work, for the progress in images: with
 * --range each image is solved twice (projected, then deblurred). */
static double solve_share(const eval_state *s) { return s->c->range ? 0.5 : 1.0; }

static void step_hook(void *ctx, int step, int steps) {
  const eval_state *s = ctx;
  const double images = s->solved + solve_share(s) * s->solving * (steps > 0 ? (double)step / steps : 0.0);
  if (s->hooks && s->hooks->step) s->hooks->step(s->hooks->ctx, step, steps, images);
}

/* The image a slot gives the solver. */
static const gpd_image *input_of(eval_slot *slot, int range) { return range ? &slot->sharp : &slot->y; }

static int same_size(const gpd_image *a, const gpd_image *b) { return a->c == b->c && a->h == b->h && a->w == b->w; }

/* The solve's outcome for one slot: the range image becomes its target,
 * the deblurring its result; every restart diverged: a "diverged" row. */
static void take_result(eval_state *s, eval_slot *slot, gpd_solve_result *res, int range) {
  const gpd_solve_options *o = range ? &s->c->range_solve : &s->c->solve;
  if (res->chosen < 0) {
    char note[256], why[300];
    gpd_solve_divergence_note(res, o->alg, note, sizeof note);
    snprintf(why, sizeof why, "%s: %s", range ? "range projection" : "deblurring", note);
    eval_slot_set_note(slot, "diverged", why);
    gpd_solve_result_free(res);
    return;
  }
  if (!range) {
    slot->res = *res;
    memset(res, 0, sizeof *res);
    return;
  }
  slot->row.range_psnr = res->range_psnr;
  slot->target = res->image;
  res->image = (gpd_image){0};
  gpd_solve_result_free(res);
}

int eval_solve_slots(eval_state *s, eval_slot *slots, int n, int range) {
  const gpd_solve_options *base = range ? &s->c->range_solve : &s->c->solve;
  gpd_solve_options o = *base;
  o.log_every = 0;
  o.log = NULL;
  o.progress = step_hook;
  o.progress_ctx = s;
  gpd_net *gi = o.alg == GPD_ALG_3 ? NULL : s->gi;
  gpd_image *ys = gpd_calloc((size_t)n, sizeof *ys, "the batch's images");
  uint64_t *seeds = gpd_calloc((size_t)n, sizeof *seeds, "the batch's seeds");
  int *which = gpd_calloc((size_t)n, sizeof *which, "the batch's images");
  char *done = gpd_calloc((size_t)n, 1, "the batch's images");
  gpd_solve_result *res = gpd_calloc((size_t)n, sizeof *res, "the batch's results");
  int rc = ys && seeds && which && done && res ? 0 : -1;
  /* a range image read from the cache is that share of its image's work done */
  for (int a = 0; range && a < n; a++)
    if (slots[a].pending && slots[a].target.data) s->solved += solve_share(s);
  for (int a = 0; !rc && a < n; a++) {
    /* a range image from the cache needs no projection */
    if (done[a] || !slots[a].pending || (range && slots[a].target.data)) continue;
    /* the pending images of a's size, in index order */
    int m = 0;
    for (int b = a; b < n; b++) {
      if (done[b] || !slots[b].pending || (range && slots[b].target.data) ||
          !same_size(input_of(&slots[b], range), input_of(&slots[a], range)))
        continue;
      ys[m] = *input_of(&slots[b], range);
      seeds[m] = base->seed + (uint64_t)slots[b].it->index;
      which[m++] = b;
      done[b] = 1;
    }
    s->solving = m;
    const int failed = gpd_solve_batch(s->e, m, ys, seeds, gi, s->gk, &o, res) != 0;
    s->solved += solve_share(s) * m;
    s->solving = 0;
    if (failed) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", gpd_last_error());
      const char *what = range ? "range projection" : "deblurring";
      if (m == 1) rc = gpd_error("%s: %s: %s", slots[which[0]].row.file, what, msg);
      else rc = gpd_error("%s .. %s (%d images): %s: %s", slots[which[0]].row.file, slots[which[m - 1]].row.file, m, what, msg);
      break;
    }
    for (int j = 0; j < m; j++) take_result(s, &slots[which[j]], &res[j], range);
  }
  free(ys);
  free(seeds);
  free(which);
  free(done);
  free(res);
  return rc;
}
