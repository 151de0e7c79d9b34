/* Measured quality of a trained generator on held-out items: for a VAE how
 * well encoder and decoder reconstruct them, and for any generator how close
 * its range comes to them (the paper's range error, eq. 13), the latter found
 * by Adam on z from the encoder's mean (VAEs) and from random N(0, I)
 * starts, keeping the best. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

void gpd_gen_eval_defaults(gpd_gen_eval_options *o) {
  memset(o, 0, sizeof *o);
  o->batch = 200;
  o->range_steps = 1000;
  o->range_lr = 0.01f;
  o->range_restarts = 1;
}

/* Squared error, relative l2 error and PSNR of one item. */
static void item_errors(const float *x, const float *y, size_t n, int peak_is_max, double *sq, double *rel, double *psnr) {
  double se = 0, norm = 0, peak = 1.0;
  if (peak_is_max) {
    peak = 0;
    for (size_t i = 0; i < n; i++) peak = x[i] > peak ? x[i] : peak;
  }
  for (size_t i = 0; i < n; i++) {
    double d = (double)y[i] - x[i];
    se += d * d;
    norm += (double)x[i] * x[i];
  }
  *sq = se;
  *rel = norm > 0 ? sqrt(se / norm) : sqrt(se);
  double mse = se / (double)n;
  *psnr = mse > 0 ? 10.0 * log10(peak * peak / mse) : 100.0;
}

typedef struct eval_bufs {
  float *x, *z, *dz, *dy, *m, *v;    /* engine */
  float *hx, *hz, *hy;               /* host */
  double *best;                      /* host: per item best squared error, rel, psnr */
  gpd_net_workspace enc_ws, gen_ws;
} eval_bufs;

static void free_bufs(eval_bufs *b, gpd_engine *e) {
  float *dev[] = {b->x, b->z, b->dz, b->dy, b->m, b->v};
  for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
    if (dev[i]) e->free(e, dev[i]);
  free(b->hx);
  free(b->hz);
  free(b->hy);
  free(b->best);
  gpd_net_workspace_free(&b->enc_ws, e);
  gpd_net_workspace_free(&b->gen_ws, e);
}

/* Keeps the closest of the candidates for item i. */
static void consider(double *best, int i, double sq, double rel, double psnr) {
  if (sq < best[3 * i]) {
    best[3 * i] = sq;
    best[3 * i + 1] = rel;
    best[3 * i + 2] = psnr;
  }
}

int gpd_generator_evaluate(gpd_net *encoder, gpd_net *gen, const gpd_dataset *ds, const gpd_gen_eval_options *o, gpd_gen_eval *out) {
  gpd_engine *e = gen->engine;
  size_t item = gpd_dataset_item_size(ds), l = gpd_net_in_size(gen);
  if (item != gpd_net_out_size(gen))
    return gpd_error("evaluation: data items have %zu values, the %s makes %zu", item, gen->role, gpd_net_out_size(gen));
  if (encoder && gpd_net_out_size(encoder) != 2 * l)
    return gpd_error("evaluation: the encoder gives %zu values, expected 2 x %zu", gpd_net_out_size(encoder), l);
  int restarts = o->range_restarts > 0 ? o->range_restarts : 0;
  if (!encoder && restarts < 1) return gpd_error("evaluation: without an encoder the range projection needs random restarts");
  int b = o->batch > 0 ? o->batch : 200;
  if (b > ds->count) b = (int)ds->count;
  int starts = (encoder ? 1 : 0) + restarts;
  size_t m = (size_t)b * starts; /* rows of the range projection, start-major */
  eval_bufs buf;
  memset(&buf, 0, sizeof buf);
  int rc = -1;
  if (encoder) encoder->bn_train = 0;
  gen->bn_train = 0;
  if ((encoder && gpd_net_workspace_alloc(&buf.enc_ws, encoder, b) != 0) || gpd_net_workspace_alloc(&buf.gen_ws, gen, (int)m) != 0)
    goto done;
  if (!(buf.x = e->alloc(e, m * item, "evaluation targets")) || !(buf.z = e->alloc(e, m * l, "evaluation latents")) ||
      !(buf.dz = e->alloc(e, m * l, "latent gradients")) || !(buf.dy = e->alloc(e, m * item, "output gradients")) ||
      !(buf.m = e->alloc(e, m * l, "Adam moments")) || !(buf.v = e->alloc(e, m * l, "Adam moments")))
    goto done;
  if (!(buf.hx = gpd_malloc(m * item * sizeof(float), "evaluation targets")) ||
      !(buf.hz = gpd_malloc(m * 2 * l * sizeof(float), "evaluation latents")) ||
      !(buf.hy = gpd_malloc(m * item * sizeof(float), "evaluation outputs")) ||
      !(buf.best = gpd_malloc((size_t)b * 3 * sizeof(double), "per-item errors")))
    goto done;
  gpd_rng rng;
  gpd_rng_seed(&rng, gpd_train_mix_seed(o->seed, GPD_STREAM_EVAL));
  double sum[4] = {0};
  long done_items = 0;
  for (long first = 0; first < ds->count; first += b) {
    int n = ds->count - first < b ? (int)(ds->count - first) : b;
    size_t rows = (size_t)n * starts;
    for (int i = 0; i < n; i++) {
      if (gpd_dataset_get(ds, first + i, buf.hx + (size_t)i * item) != 0) goto done;
      buf.best[3 * i] = INFINITY;
    }
    for (int s = 1; s < starts; s++) memcpy(buf.hx + (size_t)s * n * item, buf.hx, (size_t)n * item * sizeof(float));
    if (e->upload(e, buf.x, buf.hx, rows * item) != 0) goto done;
    size_t random_from = 0; /* first row of the random starts */
    if (encoder) {
      const float *stats = gpd_net_forward(encoder, &buf.enc_ws, n, buf.x);
      if (!stats || e->download(e, buf.hy, stats, (size_t)n * 2 * l) != 0) goto done;
      for (int i = 0; i < n; i++) memcpy(buf.hz + (size_t)i * l, buf.hy + (size_t)i * 2 * l, l * sizeof(float));
      random_from = (size_t)n;
    }
    gpd_rng_fill_normal(&rng, buf.hz + random_from * l, (rows - random_from) * l, 0.0f, 1.0f);
    if (e->upload(e, buf.z, buf.hz, rows * l) != 0) goto done;
    const float *y;
    if (encoder) {
      /* The decoded encoder mean is itself a point of the range: the range
       * projection keeps it when Adam finds nothing closer. */
      y = gpd_net_forward(gen, &buf.gen_ws, n, buf.z);
      if (!y || e->download(e, buf.hy, y, (size_t)n * item) != 0) goto done;
      for (int i = 0; i < n; i++) {
        double sq, rel, psnr;
        item_errors(buf.hx + (size_t)i * item, buf.hy + (size_t)i * item, item, o->peak_is_max, &sq, &rel, &psnr);
        sum[0] += rel;
        sum[1] += psnr;
        consider(buf.best, i, sq, rel, psnr);
      }
    }
    if (e->fill(e, buf.m, 0.0f, rows * l) != 0 || e->fill(e, buf.v, 0.0f, rows * l) != 0) goto done;
    for (int step = 1; step <= o->range_steps; step++) {
      y = gpd_net_forward(gen, &buf.gen_ws, (int)rows, buf.z);
      /* d/dy sum ||y - x||^2 = 2 (y - x) */
      if (!y || e->copy(e, buf.dy, y, rows * item) != 0 || e->axpby(e, rows * item, -2.0f, buf.x, 2.0f, buf.dy) != 0) goto done;
      if (gpd_net_backward(gen, &buf.gen_ws, (int)rows, buf.dy, buf.dz, 0) != 0) goto done;
      if (e->adam_step(e, rows * l, o->range_lr, 0.9f, 0.999f, 1e-8f, step, buf.dz, buf.m, buf.v, buf.z) != 0) goto done;
    }
    y = gpd_net_forward(gen, &buf.gen_ws, (int)rows, buf.z);
    if (!y || e->download(e, buf.hy, y, rows * item) != 0) goto done;
    for (int i = 0; i < n; i++) {
      for (int s = 0; s < starts; s++) {
        size_t r = (size_t)s * n + i;
        double sq, rel, psnr;
        item_errors(buf.hx + r * item, buf.hy + r * item, item, o->peak_is_max, &sq, &rel, &psnr);
        consider(buf.best, i, sq, rel, psnr);
      }
      sum[2] += buf.best[3 * i + 1];
      sum[3] += buf.best[3 * i + 2];
    }
    done_items += n;
    if (o->progress) o->progress(o->progress_ctx, done_items, ds->count);
  }
  out->count = done_items;
  out->recon_rel_l2 = encoder ? sum[0] / done_items : NAN;
  out->recon_psnr = encoder ? sum[1] / done_items : NAN;
  out->range_rel_l2 = sum[2] / done_items;
  out->range_psnr = sum[3] / done_items;
  rc = 0;
done:
  free_bufs(&buf, e);
  return rc;
}
