/* The halving schedule (gpd_solve_options.schedule): at its points each
 * image's restarts still running are ranked by the algorithm's own
 * selection criterion (the measurement: Alg 1's measurement loss, Alg 2's
 * free-image residual, range projection's range error) and the better half
 * goes on. The rows that go on are gathered to the front of every per-row
 * buffer in place (the engine's gather_items with increasing indices, each
 * after its destination: later sources are never overwritten before they
 * are read), and the problem runs at the smaller batch from then on,
 * so the work shrinks with the restarts. What is gathered: every
 * per-restart group's variables, gradients and Adam moments, the
 * algorithm's per-row state (p->gather: the replicated y or target), and
 * the host arrays (measurement, total, divergence, the rows' items).
 * Nothing is allocated: the memory of the first batch serves the smaller
 * ones (the memory plan counts the FFT plans of the smaller batch sizes,
 * which engines create and keep). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solve_internal.h"

void solve_halving_of(const gpd_solve_options *o, solve_halving *hv) {
  memset(hv, 0, sizeof *hv);
  hv->per_image = o->restarts;
  if (o->schedule != GPD_SCHEDULE_HALVING) return;
  for (int k = 0; k < o->n_halving && k < GPD_SOLVE_MAX_HALVINGS; k++) {
    const int at = (int)lround((double)o->halving_at[k] * o->steps);
    if (at <= 0 || at >= o->steps || (hv->n > 0 && at <= hv->at[hv->n - 1])) continue;
    hv->at[hv->n++] = at;
  }
}

/* In place: rows before the first one that moves stay; each later row j
 * comes from keep[j] > j, which no earlier destination has overwritten
 * (gather_items copies in order, or by a kernel when source and
 * destination do not overlap: engine.h). */
int solve_gather_rows(gpd_engine *e, float *rows, size_t item_size, int n, const int *keep) {
  int j0 = 0;
  while (j0 < n && keep[j0] == j0) j0++;
  if (!rows || !item_size || j0 == n) return 0;
  return e->gather_items(e, n - j0, item_size, keep + j0, rows, rows + (size_t)j0 * item_size);
}

/* A row's place in its image's ranking: a finite measurement before a
 * diverged one, then the lower measurement, then the lower item. */
typedef struct ranked_row {
  int image, finite, item, row;
  float measurement;
} ranked_row;

static int rank_compare(const void *pa, const void *pb) {
  const ranked_row *a = pa, *b = pb;
  if (a->image != b->image) return a->image < b->image ? -1 : 1;
  if (a->finite != b->finite) return a->finite ? -1 : 1;
  if (a->finite && a->measurement != b->measurement) return a->measurement < b->measurement ? -1 : 1;
  return a->item < b->item ? -1 : a->item > b->item;
}

/* keep[j] = 1 for the rows that go on: per image, the floor(n / 2) (at
 * least one) that rank first among its n rows. */
static int choose_survivors(const solve_problem *p, int per_image, char *keep) {
  const int R = p->restarts;
  ranked_row *r = gpd_malloc(sizeof *r * (size_t)R, "the halving schedule");
  if (!r) return -1;
  for (int j = 0; j < R; j++) {
    const int finite = p->diverged_at[j] < 0 && isfinite(p->measurement[j]);
    r[j] = (ranked_row){p->item[j] / per_image, finite, p->item[j], j, finite ? p->measurement[j] : 0.0f};
    keep[j] = 0;
  }
  qsort(r, (size_t)R, sizeof *r, rank_compare);
  for (int a = 0; a < R;) {
    int b = a;
    while (b < R && r[b].image == r[a].image) b++;
    const int kept = (b - a) / 2 > 1 ? (b - a) / 2 : 1;
    for (int i = a; i < a + kept; i++) keep[r[i].row] = 1;
    a = b;
  }
  free(r);
  return 0;
}

#define GATHER_HOST(array)                                                                                             \
  do {                                                                                                                 \
    for (int j = 0; j < n; j++) (array)[j] = (array)[rows[j]];                                                         \
  } while (0)

int solve_halve(solve_problem *p, int step, int per_image) {
  if (!p->gather) return gpd_error("solver: this problem cannot run the halving schedule");
  const int R = p->restarts;
  char *keep = gpd_malloc((size_t)R, "the halving schedule");
  int *rows = gpd_malloc(sizeof(int) * (size_t)R, "the halving schedule");
  int rc = keep && rows ? 0 : -1;
  int n = 0;
  if (!rc) rc = choose_survivors(p, per_image, keep);
  if (!rc) {
    for (int j = 0; j < R; j++) {
      if (keep[j]) {
        rows[n++] = j;
        continue;
      }
      solve_record *r = &p->record[p->item[j] - p->first];
      r->measurement = p->diverged_at[j] >= 0 ? NAN : p->measurement[j];
      r->diverged_at = p->diverged_at[j];
      r->dropped_at = step;
    }
  }
  if (!rc && n < R) {
    gpd_engine *e = p->e;
    for (int i = 0; !rc && i < p->n_groups; i++) {
      solve_group *g = &p->group[i];
      if (!g->per_restart) {
        rc = gpd_error("solver: group %s is shared by the batch and cannot be halved", g->name);
        break;
      }
      if (!rc) rc = solve_gather_rows(e, g->p, g->per_restart, n, rows);
      if (!rc) rc = solve_gather_rows(e, g->g, g->per_restart, n, rows);
      if (!rc) rc = solve_gather_rows(e, g->m, g->per_restart, n, rows);
      if (!rc) rc = solve_gather_rows(e, g->v, g->per_restart, n, rows);
      g->count = g->per_restart * (size_t)n;
    }
    if (!rc) {
      GATHER_HOST(p->measurement);
      GATHER_HOST(p->total);
      GATHER_HOST(p->diverged_at);
      GATHER_HOST(p->item);
      p->restarts = n;
      rc = p->gather(p, n, rows);
    }
  }
  free(keep);
  free(rows);
  return rc;
}
