/* The mean of an image's K best restarts (gpd_solve_options.average_best):
 * blind deconvolution's restarts end at different (image, kernel) pairs that
 * explain y about equally well, each off the truth in its own way (a wrong
 * kernel, a translation traded between image and kernel); their mean is
 * closer to the sharp image than the best one alone (EVALUATION.md,
 * "Averaging the best restarts"). Each candidate is put in the gauge
 * sum(k) = 1 first, so that the pairs agree in scale; they are not aligned
 * by translation: aligning every candidate to the best one lost to the plain
 * mean where the best was itself the shifted one.
 *
 * Candidates are the restarts that ran to the end (the halving schedule's
 * survivors) with a finite measurement; over the groups of a solve each
 * image keeps the K lowest (ties to the lower restart index, as for the
 * best), downloaded as they are offered. With keep_restarts each image keeps
 * them all, and they go to its result's `ranked` at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solve_internal.h"

struct solve_candidate {
  float measurement, total;
  int restart;
  gpd_solve_result out; /* image, range_image, kernel in the unit gauge */
};

int solve_tasks_average_init(solve_tasks *t, int k, int keep) {
  t->average = k;
  t->keep = keep;
  t->pool = keep ? t->per_image : k > 1 ? k : 0;
  if (!t->pool) return 0;
  t->cand = gpd_calloc((size_t)t->images * t->pool, sizeof *t->cand, "the best restarts' outputs");
  t->n_cand = gpd_calloc((size_t)t->images, sizeof *t->n_cand, "the best restarts' count");
  return t->cand && t->n_cand ? 0 : -1;
}

int solve_tasks_pooled(const solve_tasks *t) { return t->pool > 0; }

gpd_solve_result *solve_tasks_candidate(solve_tasks *t, int image, int j) {
  return &t->cand[(size_t)image * t->pool + j].out;
}

void solve_tasks_average_free(solve_tasks *t) {
  if (t->cand)
    for (size_t i = 0; i < (size_t)t->images * t->pool; i++) gpd_solve_result_free(&t->cand[i].out);
  free(t->cand);
  free(t->n_cand);
  t->cand = NULL;
  t->n_cand = NULL;
}

/* a is better than (m, r): lower measurement, ties to the lower restart */
static int better(float m, int r, const solve_candidate *a) {
  return m < a->measurement || (m == a->measurement && r < a->restart);
}

static int offer(solve_tasks *t, solve_problem *p, int row) {
  const int item = p->item[row], image = item / t->per_image, r = item % t->per_image;
  const float m = p->measurement[row];
  solve_candidate *c = t->cand + (size_t)image * t->pool;
  int *n = &t->n_cand[image];
  int slot = *n;
  if (*n == t->pool) { /* full: replace the worst when this one is better */
    slot = 0;
    for (int j = 1; j < *n; j++)
      if (better(c[slot].measurement, c[slot].restart, &c[j])) slot = j;
    if (!better(m, r, &c[slot])) return 0;
  }
  gpd_solve_result_free(&c[slot].out);
  if (slot == *n) (*n)++;
  c[slot].measurement = m;
  c[slot].total = p->total[row];
  c[slot].restart = r;
  c[slot].out.chosen = r; /* solve_result_unit_kernel acts on a chosen result */
  GPD_TRY(p->result(p, row, &c[slot].out));
  solve_result_unit_kernel(&c[slot].out);
  return 0;
}

int solve_tasks_offer_all(solve_tasks *t, solve_problem *p) {
  for (int row = 0; row < p->restarts; row++)
    if (p->diverged_at[row] < 0 && isfinite(p->measurement[row])) GPD_TRY(offer(t, p, row));
  return 0;
}

static int by_measurement(const void *a, const void *b) {
  const solve_candidate *x = a, *y = b;
  return better(x->measurement, x->restart, y) ? -1 : better(y->measurement, y->restart, x) ? 1 : 0;
}

static const float *image_of(const solve_candidate *c) { return c->out.image.data; }
static const float *range_of(const solve_candidate *c) { return c->out.range_image.data; }
static const float *kernel_of(const solve_candidate *c) { return c->out.kernel; }

/* dst = the mean of field(c[j]) over the n candidates, count floats each */
static void mean_of(float *dst, const solve_candidate *c, int n, size_t count,
                    const float *(*field)(const solve_candidate *)) {
  memset(dst, 0, sizeof(float) * count);
  for (int j = 0; j < n; j++) {
    const float *x = field(&c[j]);
    for (size_t i = 0; i < count; i++) dst[i] += x[i];
  }
  for (size_t i = 0; i < count; i++) dst[i] /= (float)n;
}

/* res->ranked = the n candidates, best first; their outputs move there. */
static int keep_ranked(gpd_solve_result *res, solve_candidate *c, int n) {
  if (!(res->ranked = gpd_calloc((size_t)n, sizeof *res->ranked, "the kept restarts"))) return -1;
  for (int j = 0; j < n; j++) {
    gpd_solve_restart *k = &res->ranked[j];
    k->restart = c[j].restart;
    k->measurement = c[j].measurement;
    k->total = c[j].total;
    k->image = c[j].out.image;
    k->range_image = c[j].out.range_image;
    k->kernel = c[j].out.kernel;
    k->ksize = c[j].out.ksize;
    memset(&c[j].out.image, 0, sizeof c[j].out.image);
    memset(&c[j].out.range_image, 0, sizeof c[j].out.range_image);
    c[j].out.kernel = NULL;
  }
  res->n_ranked = n;
  return 0;
}

int solve_tasks_average_finish(solve_tasks *t) {
  for (int i = 0; i < t->images; i++) {
    solve_candidate *c = t->cand + (size_t)i * t->pool;
    const int held = t->n_cand[i], n = held < t->average ? held : t->average;
    if (held == 0) continue; /* every restart diverged: chosen stays -1 */
    qsort(c, (size_t)held, sizeof *c, by_measurement);
    gpd_solve_result *res = &t->res[i];
    gpd_image_free(&res->image);
    gpd_image_free(&res->range_image);
    free(res->kernel);
    res->kernel = NULL;
    const gpd_image *im = &c[0].out.image;
    const size_t count = (size_t)im->c * im->h * im->w;
    GPD_TRY(gpd_image_alloc(&res->image, im->c, im->h, im->w));
    GPD_TRY(gpd_image_alloc(&res->range_image, im->c, im->h, im->w));
    mean_of(res->image.data, c, n, count, image_of);
    mean_of(res->range_image.data, c, n, count, range_of);
    if (c[0].out.kernel) {
      const size_t nk = (size_t)c[0].out.ksize * c[0].out.ksize;
      res->ksize = c[0].out.ksize;
      if (!(res->kernel = gpd_malloc(sizeof(float) * nk, "the mean kernel"))) return -1;
      mean_of(res->kernel, c, n, nk, kernel_of);
    }
    t->best[i] = c[0].restart;
    res->measurement = c[0].measurement;
    res->total = c[0].total;
    res->averaged = n;
    if (t->keep) GPD_TRY(keep_ranked(res, c, held));
  }
  return 0;
}
