/* The driver of the batched algorithms (naive, 1, 2, range): the restarts
 * run as the groups of the memory plan (gpd_solve_plan), each a problem
 * over restarts [first, first + count) that starts from rows first... of
 * the seed's streams, so every restart computes what it would in one big
 * batch (restarts are independent items: batch norm runs on running
 * statistics). Groups run one after another on the solver's engine, or
 * several at once on forked engines (solve_parallel_run). Each group's
 * per-restart results land in their slots of the result; the best restart
 * over all groups (lowest measurement, ties to the lower index as within a
 * batch: solve_tasks_offer) has its outputs downloaded when its group
 * finishes.
 *
 * Several images (gpd_solve_batch) are one list of items, image-major, cut
 * into groups the same way; each image's best restart is kept apart. With
 * the halving schedule each group halves its own rows of each image.
 *
 * One group: the options' log and progress callbacks are called live from
 * the loop, as before groups existed. Several: progress is summed over the
 * groups and the log rows are gathered into one table over all restarts,
 * emitted at the end. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "solve_internal.h"

typedef struct batch_run {
  const solve_inputs *in;
  solve_create_fn create;
  int items, groups, size;
  solve_halving halving;
  solve_tasks t;                /* progress and log: several groups only */
} batch_run;

static int group_task(void *ctx, gpd_engine *e, int group) {
  batch_run *b = ctx;
  solve_tasks *t = &b->t;
  const gpd_solve_options *o = b->in->o;
  solve_inputs in = *b->in;
  gpd_net gi_view, gk_view;
  solve_inputs_on(&in, e, &gi_view, &gk_view);
  in.first = group * b->size;
  in.count = b->items - in.first < b->size ? b->items - in.first : b->size;
  solve_problem *p = NULL;
  GPD_TRY(b->create(&in, &p));
  solve_hooks h = solve_hooks_from_options(o, 0, o->steps);
  if (b->groups > 1) {
    h = (solve_hooks){0};
    if (t->progress) solve_progress_sum_hook(t->progress, group, &h);
    if (t->log) solve_log_table_hook(t->log, group, in.first, &h);
  }
  int rc = solve_run(p, o->steps, &b->halving, &h);
  if (rc >= 0) {
    pthread_mutex_lock(&t->lock);
    solve_tasks_record(t, p);
    if (rc == 0) rc = solve_tasks_pooled(t) ? solve_tasks_offer_all(t, p) : solve_tasks_offer_best(t, p);
    pthread_mutex_unlock(&t->lock);
  }
  solve_problem_free(p);
  return rc < 0 ? -1 : 0;
}

int solve_batched(const solve_inputs *in, solve_create_fn create, const gpd_solve_plan *plan, gpd_solve_result *res) {
  const gpd_solve_options *o = in->o;
  const int images = solve_inputs_images(in);
  batch_run b = {.in = in, .create = create, .items = images * o->restarts, .groups = plan->groups,
                 .size = plan->group_size};
  solve_tasks *t = &b.t;
  solve_halving_of(o, &b.halving);
  if (b.groups < 1 || b.size < 1 || (long)b.groups * b.size < b.items)
    return gpd_error("solver: a plan of %d groups of %d does not cover %d restarts", b.groups, b.size, b.items);
  int rc = -1;
  GPD_TRY(solve_tasks_init(t, res, images, o->restarts, "solver"));
  if (solve_tasks_average_init(t, o->average_best, o->keep_restarts) != 0) goto done;
  if (b.groups > 1) {
    if (o->progress && !(t->progress = solve_progress_sum_new(o, b.groups, (long)o->steps * b.groups))) goto done;
    if (o->log && o->log_every > 0 && !(t->log = solve_log_table_new(o, b.items, b.groups))) goto done;
  }
  if (solve_parallel_run(in->e, b.groups, plan->threads, group_task, &b) != 0) goto done;
  if (solve_tasks_polish(t, in) != 0) goto done;
  if (solve_tasks_pooled(t) && solve_tasks_average_finish(t) != 0) goto done;
  solve_tasks_finish(t, o);
  rc = 0;
done:
  solve_tasks_free(t);
  return rc;
}
