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
} eval_state;

/* One item into its row (file, index, alg and target already set): 0 when
 * the row is final (ok, skipped or diverged), -1 for an error that stops
 * the run. */
int eval_item_synthetic(eval_state *s, const gpd_eval_item *it, gpd_eval_row *row);
int eval_item_levin(eval_state *s, const gpd_eval_item *it, gpd_eval_row *row);

#endif
