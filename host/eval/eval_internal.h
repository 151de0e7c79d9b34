/* Shared by the evaluation run's files (host/eval/). */
#ifndef GPD_EVAL_INTERNAL_H
#define GPD_EVAL_INTERNAL_H

#include "gpd/eval.h"

typedef struct eval_state {
  gpd_engine *e;
  gpd_net *gi, *gk;
  const gpd_eval_config *c;
  const gpd_eval_hooks *hooks;
  gpd_eval_outcome *out;
  int ksize; /* the canvas test kernels are blurred on */
  char image_gen[64]; /* the manifest's image_gen setting, the file's FNV-1a (--range-cache keys) */
  /* the solve in flight, for the step hook's progress in images: its images,
   * and the images of the batch solved before it (earlier sizes, or the
   * range projection: each counts half of a --range batch) */
  int solving;
  double solved;
} eval_state;

/* One item of a batch on its way through the stages (eval_item.c): its
 * row (final once status is not "ok" or the item is finished), and what
 * the stages hand on. */
typedef struct eval_slot {
  const gpd_eval_item *it;
  gpd_eval_row row;
  int pending;           /* still to be solved: not skipped, not diverged */
  gpd_image sharp;       /* synthetic: the prepared test image; Levin: the sharp image */
  gpd_image target;      /* synthetic --range: the range image (compared against instead) */
  gpd_image y;           /* the blurry image the solver gets */
  float *k;              /* the true kernel: ksize x ksize (synthetic), ks x ks (Levin) */
  int ks;
  gpd_solve_result res;  /* the deblurring */
  int range_cached;      /* target was read from the range cache, not projected */
} eval_slot;

/* The stages of an item (file, index, alg and target of its row set):
 * prepare loads and checks it (synthetic: the test kernel, the sharp
 * image after the recipe; Levin: the capture, its sharp image and
 * kernel), blur makes the synthetic blurry image from the target,
 * finish measures the deblurred result and keeps the example. An unusable
 * item becomes a "skipped" row (pending 0), never an error; -1 stops the
 * run. */
int eval_slot_prepare(eval_state *s, eval_slot *slot);
int eval_slot_blur(eval_state *s, eval_slot *slot);
int eval_slot_finish(eval_state *s, eval_slot *slot);
void eval_slot_free(eval_slot *slot);

/* --range-cache (eval_range_cache.c): the slot's range image and its PSNR
 * from the cache (1, range_cached set; 0: not there; -1: an error), and the
 * slot's projected range image into it. */
int eval_range_cache_load(eval_state *s, eval_slot *slot);
int eval_range_cache_store(eval_state *s, const eval_slot *slot);
/* The row's status and note ("skipped", "diverged"), the note cut to size;
 * the slot is no longer pending. */
void eval_slot_set_note(eval_slot *slot, const char *status, const char *why);

/* Solves the pending slots' images, one gpd_solve_batch per size of image
 * (image j with seed base->seed + its index), the range projection of the
 * sharp images (range = 1: the range image becomes the target) or the
 * deblurring of the blurry ones (range = 0: into slot->res). An image
 * whose restarts all diverged becomes a "diverged" row. -1 (the run stops,
 * naming the batch's images) for any other solver error. */
int eval_solve_slots(eval_state *s, eval_slot *slots, int n, int range);

#endif
