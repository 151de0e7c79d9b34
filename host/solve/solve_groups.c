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
  int groups, size;
  solve_tasks t;                /* progress and log: several groups only */
  int first_divergence;         /* earliest step any restart diverged at, -1 */
} batch_run;

static int group_task(void *ctx, gpd_engine *e, int group) {
  batch_run *b = ctx;
  solve_tasks *t = &b->t;
  const gpd_solve_options *o = b->in->o;
  solve_inputs in = *b->in;
  gpd_net gi_view, gk_view;
  solve_inputs_on(&in, e, &gi_view, &gk_view);
  in.first = group * b->size;
  in.count = o->restarts - in.first < b->size ? o->restarts - in.first : b->size;
  solve_problem *p = NULL;
  GPD_TRY(b->create(&in, &p));
  solve_hooks h = solve_hooks_from_options(o, 0, o->steps);
  if (b->groups > 1) {
    h = (solve_hooks){0};
    if (t->progress) solve_progress_sum_hook(t->progress, group, &h);
    if (t->log) solve_log_table_hook(t->log, group, in.first, &h);
  }
  int rc = solve_run(p, o->steps, &h);
  if (rc >= 0) {
    gpd_solve_result *res = t->res;
    for (int j = 0; j < p->restarts; j++) {
      const int r = p->first + j;
      res->restart_measurement[r] = p->diverged_at[j] >= 0 ? NAN : p->measurement[j];
      res->diverged_at[r] = p->diverged_at[j];
    }
    const int chosen = rc == 1 ? -1 : solve_choose(p);
    pthread_mutex_lock(&t->lock);
    if (p->first_divergence >= 0 && (b->first_divergence < 0 || p->first_divergence < b->first_divergence))
      b->first_divergence = p->first_divergence;
    solve_tasks_count_graphs(t, p);
    rc = chosen >= 0 ? solve_tasks_offer(t, p, chosen) : 0;
    pthread_mutex_unlock(&t->lock);
  }
  solve_problem_free(p);
  return rc < 0 ? -1 : 0;
}

int solve_batched(const solve_inputs *in, solve_create_fn create, const gpd_solve_plan *plan, gpd_solve_result *res) {
  const gpd_solve_options *o = in->o;
  batch_run b = {.in = in, .create = create, .groups = plan->groups, .size = plan->group_size, .first_divergence = -1};
  solve_tasks *t = &b.t;
  if (b.groups < 1 || b.size < 1 || (long)b.groups * b.size < o->restarts)
    return gpd_error("solver: a plan of %d groups of %d does not cover %d restarts", b.groups, b.size, o->restarts);
  int rc = -1;
  GPD_TRY(solve_tasks_init(t, res, "solver"));
  if (b.groups > 1) {
    if (o->progress && !(t->progress = solve_progress_sum_new(o, b.groups, (long)o->steps * b.groups))) goto done;
    if (o->log && o->log_every > 0 && !(t->log = solve_log_table_new(o, o->restarts, b.groups))) goto done;
  }
  if (solve_parallel_run(in->e, b.groups, plan->threads, group_task, &b) != 0) goto done;
  solve_tasks_finish(t, o);
  for (int r = 0; r < o->restarts; r++)
    if (res->diverged_at[r] >= 0) res->diverged++;
  rc = solve_tasks_choose(t, o->restarts, b.first_divergence, "");
done:
  solve_tasks_free(t);
  return rc;
}
