/* Measured quality of a trained generator on held-out items: for a VAE how
 * well encoder and decoder reconstruct them (decoder(encoder mean), batched),
 * and for any generator how close its range comes to them: the paper's
 * range error (eq. 13) as the solver's range projection computes it
 * (gpd_solve, GPD_ALG_RANGE, one item at a time: the restarts are its
 * batch), so that an item's number is the one `gpdeblur project` gives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/metrics.h"
#include "gpd/train.h"

void gpd_gen_eval_defaults(gpd_gen_eval_options *o) {
  memset(o, 0, sizeof *o);
  gpd_solve_defaults(&o->range, GPD_ALG_RANGE);
  o->batch = 200;
}

/* Relative l2 error and PSNR of y against x (peak 1, or max(x) when
 * peak_is_max). */
static void item_errors(const float *x, const float *y, size_t n, int peak_is_max, double *rel, double *psnr) {
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
  *rel = norm > 0 ? sqrt(se / norm) : sqrt(se);
  double mse = se / (double)n;
  *psnr = mse > 0 ? 10.0 * log10(peak * peak / mse) : 100.0;
}

/* decoder(encoder mean) of every item: recon[2 i] = rel_l2, recon[2 i + 1] = PSNR. */
static int reconstruct(gpd_net *enc, gpd_net *gen, const gpd_dataset *ds, const gpd_gen_eval_options *o, double *recon) {
  gpd_engine *e = gen->engine;
  const size_t item = gpd_dataset_item_size(ds), l = gpd_net_in_size(gen);
  int b = o->batch > 0 ? o->batch : 200;
  if (b > ds->count) b = (int)ds->count;
  gpd_net_workspace enc_ws, gen_ws;
  memset(&enc_ws, 0, sizeof enc_ws);
  memset(&gen_ws, 0, sizeof gen_ws);
  float *x = NULL, *z = NULL, *hx = NULL, *hs = NULL, *hy = NULL;
  int rc = -1;
  if (gpd_net_workspace_alloc(&enc_ws, enc, b) != 0 || gpd_net_workspace_alloc(&gen_ws, gen, b) != 0) goto done;
  if (!(x = e->alloc(e, (size_t)b * item, "evaluation items")) || !(z = e->alloc(e, (size_t)b * l, "encoder means")))
    goto done;
  if (!(hx = gpd_malloc((size_t)b * item * sizeof(float), "evaluation items")) ||
      !(hs = gpd_malloc((size_t)b * 2 * l * sizeof(float), "encoder outputs")) ||
      !(hy = gpd_malloc((size_t)b * item * sizeof(float), "reconstructions")))
    goto done;
  for (long first = 0; first < ds->count; first += b) {
    const int n = ds->count - first < b ? (int)(ds->count - first) : b;
    for (int i = 0; i < n; i++)
      if (gpd_dataset_get(ds, first + i, hx + (size_t)i * item) != 0) goto done;
    if (e->upload(e, x, hx, (size_t)n * item) != 0) goto done;
    /* the encoder gives (mean, log variance) per item: keep the means */
    const float *stats = gpd_net_forward(enc, &enc_ws, n, x);
    if (!stats || e->download(e, hs, stats, (size_t)n * 2 * l) != 0) goto done;
    for (int i = 0; i < n; i++) memmove(hs + (size_t)i * l, hs + (size_t)i * 2 * l, l * sizeof(float));
    if (e->upload(e, z, hs, (size_t)n * l) != 0) goto done;
    const float *y = gpd_net_forward(gen, &gen_ws, n, z);
    if (!y || e->download(e, hy, y, (size_t)n * item) != 0) goto done;
    for (int i = 0; i < n; i++)
      item_errors(hx + (size_t)i * item, hy + (size_t)i * item, item, o->peak_is_max, &recon[2 * (first + i)],
                  &recon[2 * (first + i) + 1]);
  }
  rc = 0;
done:
  if (x) e->free(e, x);
  if (z) e->free(e, z);
  free(hx);
  free(hs);
  free(hy);
  gpd_net_workspace_free(&enc_ws, e);
  gpd_net_workspace_free(&gen_ws, e);
  return rc;
}

/* The range projection of item `index` (held in target) and its errors. */
static int project_item(gpd_net *gen, const gpd_image *target, const gpd_gen_eval_options *o, gpd_gen_eval_item *r) {
  gpd_solve_options so = o->range;
  so.alg = GPD_ALG_RANGE;
  gpd_solve_result res;
  GPD_TRY(gpd_solve(gen->engine, target, gen, NULL, &so, &res));
  const gpd_image *y = &res.range_image;
  const size_t n = (size_t)target->c * target->h * target->w;
  int rc = 0;
  if (y->c != target->c || y->h != target->h || y->w != target->w) {
    rc = gpd_error("evaluation: the range image is %dx%dx%d, the item %dx%dx%d", y->h, y->w, y->c, target->h, target->w,
                   target->c);
  } else {
    double psnr;
    item_errors(target->data, y->data, n, o->peak_is_max, &r->range_rel_l2, &psnr);
    /* images: the solver's own number, which `project` prints */
    r->range_psnr = o->peak_is_max ? psnr : res.range_psnr;
    r->range_ssim = o->peak_is_max ? NAN : gpd_ssim(y->data, target->data, target->c, target->h, target->w);
    r->range_mse = res.measurement;
    r->chosen = res.chosen;
  }
  gpd_solve_result_free(&res);
  return rc;
}

int gpd_generator_evaluate(gpd_net *encoder, gpd_net *gen, const gpd_dataset *ds, const gpd_gen_eval_options *o,
                           gpd_gen_eval *out) {
  memset(out, 0, sizeof *out);
  const size_t item = gpd_dataset_item_size(ds), l = gpd_net_in_size(gen);
  if (item != gpd_net_out_size(gen))
    return gpd_error("evaluation: data items have %zu values, the %s makes %zu", item, gen->role, gpd_net_out_size(gen));
  if (encoder && gpd_net_out_size(encoder) != 2 * l)
    return gpd_error("evaluation: the encoder gives %zu values, expected 2 x %zu", gpd_net_out_size(encoder), l);
  if (ds->count < 1) return gpd_error("evaluation: no items");
  /* inference mode for the reconstruction (gpd_solve sets it for itself);
   * the callers' modes come back at the end */
  const int enc_bn = encoder ? encoder->bn_train : 0, gen_bn = gen->bn_train;
  if (encoder) encoder->bn_train = 0;
  gen->bn_train = 0;
  double *recon = NULL, sum[5] = {0};
  gpd_image target = {0};
  int rc = -1;
  if (encoder) {
    if (!(recon = gpd_malloc((size_t)ds->count * 2 * sizeof(double), "reconstruction errors"))) goto done;
    if (reconstruct(encoder, gen, ds, o, recon) != 0) goto done;
  }
  if (gpd_image_alloc(&target, ds->c, ds->h, ds->w) != 0) goto done;
  for (long i = 0; i < ds->count; i++) {
    gpd_gen_eval_item r;
    memset(&r, 0, sizeof r);
    r.index = i;
    r.recon_rel_l2 = recon ? recon[2 * i] : NAN;
    r.recon_psnr = recon ? recon[2 * i + 1] : NAN;
    if (gpd_dataset_get(ds, i, target.data) != 0 || project_item(gen, &target, o, &r) != 0) goto done;
    sum[0] += r.recon_rel_l2;
    sum[1] += r.recon_psnr;
    sum[2] += r.range_rel_l2;
    sum[3] += r.range_psnr;
    sum[4] += r.range_ssim;
    if (o->item) o->item(o->item_ctx, &r);
    if (o->progress) o->progress(o->progress_ctx, i + 1, ds->count);
  }
  const double n = (double)ds->count;
  out->count = ds->count;
  out->recon_rel_l2 = sum[0] / n;
  out->recon_psnr = sum[1] / n;
  out->range_rel_l2 = sum[2] / n;
  out->range_psnr = sum[3] / n;
  out->range_ssim = sum[4] / n;
  rc = 0;
done:
  if (encoder) encoder->bn_train = enc_bn;
  gen->bn_train = gen_bn;
  free(recon);
  gpd_image_free(&target);
  return rc;
}
