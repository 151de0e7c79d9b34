/* The range images of --range, kept between runs (gpd_eval_config.range_cache):
 * a sweep over noise, blur length or restarts projects the same test images
 * onto the same generator's range once per value, and each projection costs
 * about what the deblurring does. One safetensors file per image,
 * DIR/range_<fingerprint>.safetensors, holding the range image (float32,
 * exact) and its PSNR to the test image. The fingerprint covers everything
 * the projection computes from: the prepared test image, the generator file,
 * the projection's options with the image's seed, the engine and its
 * precision; so a file is only read where the projection would compute that
 * very image, and the rows are the ones an uncached run writes. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval_internal.h"
#include "gpd/common.h"
#include "gpd/weights.h"

#define FORMAT_KEY "gpdeblur_range_cache"

static uint64_t fold_int(uint64_t h, long v) { return gpd_fnv1a64(h, &v, sizeof v); }

static int cache_path(eval_state *s, const eval_slot *slot, char *path, size_t size) {
  const gpd_eval_config *c = s->c;
  const gpd_solve_options *o = &c->range_solve;
  if (!c->image_gen) return gpd_error("--range-cache: the image generator's file is not known");
  const gpd_image *im = &slot->sharp;
  uint64_t h = gpd_fnv1a64(GPD_FNV1A64_INIT, FORMAT_KEY " 1", sizeof FORMAT_KEY " 1");
  h = gpd_fnv1a64(h, s->image_gen, strlen(s->image_gen) + 1); /* the file's hash, as the manifest has it */
  const long ints[] = {im->c, im->h, im->w, o->steps, o->restarts, (long)o->schedule, o->n_halving, (long)c->precision};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) h = fold_int(h, ints[i]);
  h = gpd_fnv1a64(h, im->data, (size_t)im->c * im->h * im->w * sizeof(float));
  const uint64_t seed = o->seed + (uint64_t)slot->it->index; /* the projection's seed for this image */
  h = gpd_fnv1a64(h, &seed, sizeof seed);
  const float steps[] = {o->adam_lr, o->lr_decay};
  h = gpd_fnv1a64(h, steps, sizeof steps);
  h = gpd_fnv1a64(h, o->halving_at, (size_t)o->n_halving * sizeof o->halving_at[0]);
  h = gpd_fnv1a64(h, s->e->name, strlen(s->e->name) + 1);
  const int n = snprintf(path, size, "%s/range_%016" PRIx64 ".safetensors", c->range_cache, h);
  if (n < 0 || (size_t)n >= size) return gpd_error("--range-cache '%s': the path is too long", c->range_cache);
  return 0;
}

int eval_range_cache_load(eval_state *s, eval_slot *slot) {
  char path[4096];
  GPD_TRY(cache_path(s, slot, path, sizeof path));
  gpd_safetensors st;
  memset(&st, 0, sizeof st);
  const int found = gpd_st_read_if_exists(&st, path);
  if (found <= 0) return found;
  const gpd_image *im = &slot->sharp;
  const size_t count = (size_t)im->c * im->h * im->w;
  const gpd_st_tensor *t = gpd_st_find(&st, "range_image");
  const char *psnr_text = gpd_st_meta_get(&st, "range_psnr");
  char *end = NULL;
  const double psnr = psnr_text ? strtod(psnr_text, &end) : 0.0;
  int rc = -1;
  if (!gpd_st_meta_get(&st, FORMAT_KEY) || !t || !psnr_text || end == psnr_text || *end) {
    gpd_error("--range-cache: %s is not a range image of gpdeblur eval (remove it)", path);
  } else if (gpd_image_alloc(&slot->target, im->c, im->h, im->w) == 0) {
    rc = gpd_st_tensor_to_finite_f32(&st, t, slot->target.data, count);
    if (rc == 0) {
      slot->row.range_psnr = psnr;
      slot->range_cached = 1;
      rc = 1;
    } else {
      gpd_image_free(&slot->target);
    }
  }
  gpd_st_free(&st);
  return rc;
}

int eval_range_cache_store(eval_state *s, const eval_slot *slot) {
  char path[4096], psnr[64];
  GPD_TRY(cache_path(s, slot, path, sizeof path));
  if (mkdir(s->c->range_cache, 0777) != 0 && errno != EEXIST)
    return gpd_error("--range-cache '%s': cannot create it: %s", s->c->range_cache, strerror(errno));
  const gpd_image *im = &slot->target;
  const int64_t shape[3] = {im->c, im->h, im->w};
  snprintf(psnr, sizeof psnr, "%.17g", slot->row.range_psnr);
  gpd_st_writer *w = gpd_st_writer_create();
  if (!w) return -1;
  int rc = gpd_st_writer_add(w, "range_image", 3, shape, im->data);
  if (!rc) rc = gpd_st_writer_meta(w, FORMAT_KEY, "1");
  if (!rc) rc = gpd_st_writer_meta(w, "range_psnr", psnr);
  if (!rc) rc = gpd_st_writer_save(w, path);
  gpd_st_writer_free(w);
  return rc;
}
