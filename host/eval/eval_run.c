/* The evaluation run (gpd/eval.h): the manifest of its settings, opening
 * or resuming the results CSV, then the items of the shard not yet in it
 * in batches of images: each item through its stages (eval_item.c), the
 * batch's images solved together (eval_solve.c: images x restarts in one
 * solve, as the authors ran 80 images x 10 restarts), then the batch's
 * rows appended in index order, each made durable before the next. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval_internal.h"
#include "gpd/common.h"
#include "gpd/repo_path.h"
#include "gpd/version.h"

const char *gpd_eval_alg_name(gpd_algorithm a) {
  switch (a) {
  case GPD_ALG_NAIVE: return "naive";
  case GPD_ALG_1: return "1";
  case GPD_ALG_2: return "2";
  case GPD_ALG_3: return "3";
  case GPD_ALG_RANGE: return "range";
  }
  return "?";
}

/* ---- the manifest of a run ----------------------------------------------------------- */

/* A path in the manifest's info, relative to the repository (manifests are
 * committed with results). */
static int info_path(gpd_eval_manifest *m, const char *key, const char *path) {
  char rel[1024];
  gpd_repo_relative(path, rel, sizeof rel);
  return gpd_eval_manifest_info(m, key, "%s", rel);
}

static int hash_setting(gpd_eval_manifest *m, const char *key, const char *path) {
  if (!path) return gpd_eval_manifest_set(m, key, "none");
  uint64_t h;
  GPD_TRY(gpd_eval_hash_file(path, &h));
  return gpd_eval_manifest_set(m, key, "fnv1a64:%016llx", (unsigned long long)h);
}

static int solver_settings(gpd_eval_manifest *m, const char *prefix, const gpd_solve_options *o) {
  char k[32];
#define SETF(name, v)                                                                                                  \
  do {                                                                                                                 \
    snprintf(k, sizeof k, "%s%s", prefix, name);                                                                       \
    GPD_TRY(gpd_eval_manifest_set(m, k, "%.7g", (double)(v)));                                                         \
  } while (0)
  SETF("restarts", o->restarts);
  SETF("steps", o->steps);
  if (o->schedule != GPD_SCHEDULE_FULL) {
    /* only when not the full schedule: results made before schedules
     * existed keep comparing equal */
    char text[160];
    gpd_solve_schedule_text(o, text, sizeof text);
    snprintf(k, sizeof k, "%sschedule", prefix);
    GPD_TRY(gpd_eval_manifest_set(m, k, "%s", text));
  }
  if (o->alg == GPD_ALG_1 || o->alg == GPD_ALG_2 || o->alg == GPD_ALG_3) {
    /* only for the unit gauge: results made before it existed were raw and
     * must not pass for it */
    if (!o->keep_kernel_scale) {
      snprintf(k, sizeof k, "%skernel_scale", prefix);
      GPD_TRY(gpd_eval_manifest_set(m, k, "unit"));
    }
  }
  /* only when averaging: results of the best restart alone keep comparing equal */
  if (o->average_best > 1) SETF("average_best", o->average_best);
  snprintf(k, sizeof k, "%sseed", prefix);
  GPD_TRY(gpd_eval_manifest_set(m, k, "%llu", (unsigned long long)o->seed));
  if (o->alg == GPD_ALG_NAIVE || o->alg == GPD_ALG_1) {
    SETF("gamma", o->gamma);
    SETF("lr", o->lr);
    SETF("lr_decay", o->lr_decay);
  }
  if (o->alg == GPD_ALG_1) SETF("lambda", o->lambda);
  if (o->alg == GPD_ALG_2) {
    SETF("tau", o->tau);
    SETF("zeta", o->zeta);
    SETF("free_weight", o->free_weight);
    SETF("rho", o->rho);
    SETF("init_mean", o->init_mean);
    SETF("init_std", o->init_std);
    /* only when not the default: results made before the choice existed
     * chose by the free image's residual and keep comparing equal */
    if (o->alg2_select_total) {
      snprintf(k, sizeof k, "%sselect", prefix);
      GPD_TRY(gpd_eval_manifest_set(m, k, "total"));
    }
    if (o->alg2_init_blurry) {
      snprintf(k, sizeof k, "%sinit_image", prefix);
      GPD_TRY(gpd_eval_manifest_set(m, k, "blurry"));
    }
    if (o->adam_lr_decay > 0.0f) SETF("adam_lr_decay", o->adam_lr_decay);
    if (o->adam_lr_kernel > 0.0f) SETF("adam_lr_kernel", o->adam_lr_kernel);
    if (o->adam_lr_anneal > 0.0f) SETF("adam_lr_anneal", o->adam_lr_anneal);
    /* only when on: results made before it existed keep comparing equal */
    if (o->polish_steps > 0) {
      SETF("polish_steps", o->polish_steps);
      SETF("polish_tau", o->polish_tau);
      SETF("polish_rho", o->polish_rho);
      SETF("polish_lr", o->polish_lr);
    }
  }
  if (o->alg == GPD_ALG_2 || o->alg == GPD_ALG_RANGE) SETF("adam_lr", o->adam_lr);
  if (o->alg == GPD_ALG_RANGE) SETF("lr_decay", o->lr_decay);
  if (o->alg == GPD_ALG_3) {
    SETF("nu", o->nu);
    SETF("kappa", o->kappa);
    SETF("fit_steps", o->fit_steps);
    SETF("fit_lr", o->fit_lr);
    SETF("lr_z", o->lr_z);
    SETF("lr_w", o->lr_w);
    SETF("untrained_width", o->untrained_width);
    SETF("untrained_latent", o->untrained_latent);
    snprintf(k, sizeof k, "%suntrained_arch", prefix);
    GPD_TRY(gpd_eval_manifest_set(m, k, "%s", o->untrained_arch ? o->untrained_arch : "dcgan_tf"));
  }
#undef SETF
  return 0;
}

int gpd_eval_manifest_of(const gpd_eval_config *c, const gpd_eval_list *full, gpd_eval_manifest *m) {
  memset(m, 0, sizeof *m);
  m->shard_k = c->shard_k;
  m->shard_n = c->shard_n;
  int rc = 0;
  rc = rc ? rc : gpd_eval_manifest_set(m, "mode", "%s", c->levin ? "levin" : "synthetic");
  rc = rc ? rc : gpd_eval_manifest_set(m, "alg", "%s", gpd_eval_alg_name(c->solve.alg));
  rc = rc ? rc : gpd_eval_manifest_set(m, "target", "%s", c->range ? "range" : "test");
  rc = rc ? rc : gpd_eval_manifest_set(m, "boundary", "%s", c->solve.boundary == GPD_BOUNDARY_LINEAR ? "linear" : "circular");
  rc = rc ? rc : solver_settings(m, "", &c->solve);
  if (!rc && c->range) rc = solver_settings(m, "range_", &c->range_solve);
  if (!rc && !c->levin) {
    const gpd_eval_kernels *k = c->kernels;
    if (c->crop > 0) rc = gpd_eval_manifest_set(m, "crop_resize", "%d:%d", c->crop, c->size);
    else rc = gpd_eval_manifest_set(m, "crop_resize", "none");
    rc = rc ? rc : gpd_eval_manifest_set(m, "sigma", "%.6g", (double)c->sigma);
    rc = rc ? rc : gpd_eval_manifest_set(m, "noise_seed", "%llu", (unsigned long long)c->noise_seed);
    if (!rc && k->dir)
      rc = gpd_eval_manifest_set(m, "kernels", "files fnv1a64:%016llx (%d)", (unsigned long long)k->files_hash,
                                 k->n_files);
    else if (!rc && (k->bucket_min || k->bucket_max))
      rc = gpd_eval_manifest_set(m, "kernels", "motion seeds from %llu, lengths %d..%d, kept %d..%d",
                                 (unsigned long long)k->seed0, k->len_min, k->len_max, k->bucket_min, k->bucket_max);
    else if (!rc)
      rc = gpd_eval_manifest_set(m, "kernels", "motion seeds from %llu, lengths %d..%d", (unsigned long long)k->seed0,
                                 k->len_min, k->len_max);
    rc = rc ? rc : gpd_eval_manifest_set(m, "kernel_size", "%d", k->ksize);
  }
  rc = rc ? rc : gpd_eval_manifest_set(m, "precision", "%s", gpd_precision_name(c->precision));
  rc = rc ? rc : hash_setting(m, "image_gen", c->image_gen);
  rc = rc ? rc : hash_setting(m, "blur_gen", c->blur_gen);
  rc = rc ? rc : gpd_eval_manifest_info(m, "dataset", "%s", c->dataset ? c->dataset : "images");
  if (!rc && c->dir) rc = info_path(m, "dir", c->dir);
  if (!rc && c->device) rc = gpd_eval_manifest_info(m, "device", "%s", c->device);
  rc = rc ? rc : gpd_eval_manifest_info(m, "gpdeblur", "%s", gpd_version()); /* the build (gpdeblur --version) */
  if (!rc && c->image_gen) rc = info_path(m, "image_gen_path", c->image_gen);
  if (!rc && c->blur_gen) rc = info_path(m, "blur_gen_path", c->blur_gen);
  rc = rc ? rc : gpd_eval_manifest_set_files(m, full);
  rc = rc ? rc : gpd_eval_manifest_set(m, "inputs", "fnv1a64:%016llx", (unsigned long long)gpd_eval_hash_inputs(full));
  if (rc) gpd_eval_manifest_free(m);
  return rc;
}

/* ---- the results file --------------------------------------------------------------------- */

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Opens the CSV for appending: fresh (manifest and header written), or
 * resumed (manifest compared, rows read, a partial last line cut off). */
static FILE *open_results(const gpd_eval_config *c, const gpd_eval_manifest *m, gpd_eval_outcome *out) {
  const long size = file_size(c->csv);
  if (size > 0 && c->resume && !c->overwrite) {
    gpd_eval_manifest old;
    if (gpd_eval_manifest_read(c->csv, &old) != 0) return NULL;
    int rc = gpd_eval_manifest_compare(&old, c->csv, m, "this run");
    if (!rc && (old.shard_k != m->shard_k || old.shard_n != m->shard_n))
      rc = gpd_error("%s holds shard %d/%d, this run is shard %d/%d", c->csv, old.shard_k, old.shard_n, m->shard_k,
                     m->shard_n);
    gpd_eval_manifest_free(&old);
    if (rc) return NULL;
    if (gpd_eval_csv_read(c->csv, 1, &out->rows, &out->dropped) != 0) return NULL;
    if (out->rows.legacy) {
      gpd_error("%s has an older results layout (before the %s column); --resume would append rows of another "
                "layout to it (eval --summarize and eval-merge still read it; --overwrite starts it again)",
                c->csv, out->rows.legacy == 1 ? "restart_iterations" : "blurry_psnr");
      return NULL;
    }
    out->resumed = out->rows.n;
    if (file_size(c->csv) > 0) {
      FILE *f = fopen(c->csv, "a");
      if (!f) gpd_error("cannot append to %s: %s", c->csv, strerror(errno));
      return f;
    }
    /* only a partial header was there: start it afresh */
  } else if (size > 0 && !c->overwrite) {
    gpd_eval_rows rows;
    long n = gpd_eval_csv_read(c->csv, 0, &rows, NULL) == 0 ? rows.n : -1;
    if (n >= 0) gpd_eval_rows_free(&rows);
    /* a header and no results (a run stopped before its first image) is
     * started again; results are never thrown away unasked */
    if (n > 0) {
      gpd_error("%s already holds %ld results; pass --resume to continue it or --overwrite to start again", c->csv, n);
      return NULL;
    }
    if (n < 0) {
      char why[512];
      snprintf(why, sizeof why, "%s", gpd_last_error());
      gpd_error("%s exists and is not a results CSV (%s); pass --overwrite to replace it", c->csv, why);
      return NULL;
    }
  }
  /* the manifest before the CSV: a CSV with rows always has one */
  if (gpd_eval_manifest_write(c->csv, m) != 0) return NULL;
  FILE *f = fopen(c->csv, "w");
  if (!f) {
    gpd_error("cannot write %s: %s", c->csv, strerror(errno));
    return NULL;
  }
  gpd_kill_point("csv: created empty");
  if (gpd_kill_points_armed()) {
    fputs("file,index,", f);
    fflush(f);
    gpd_kill_point("csv: header half written");
  }
  const char *header = GPD_EVAL_CSV_HEADER "\n";
  if (gpd_kill_points_armed()) header += strlen("file,index,");
  if (fputs(header, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
    gpd_error("cannot write %s: %s", c->csv, strerror(errno));
    fclose(f);
    return NULL;
  }
  gpd_kill_point("csv: header written");
  return f;
}

static int check_config(const gpd_eval_config *c, const gpd_net *gi, const gpd_net *gk, int *ksize) {
  if (!c->csv) return gpd_error("no results CSV given");
  if (c->shard_n < 1 || c->shard_k < 1 || c->shard_k > c->shard_n)
    return gpd_error("shard %d/%d is not K/N with 1 <= K <= N", c->shard_k, c->shard_n);
  const gpd_algorithm a = c->solve.alg;
  if (a == GPD_ALG_RANGE) return gpd_error("the range projection is --range's first step, not an algorithm to evaluate");
  if (a != GPD_ALG_3 && !gi) return gpd_error("Algorithm %s needs an image generator", gpd_eval_alg_name(a));
  if (a != GPD_ALG_NAIVE && !gk) return gpd_error("Algorithm %s needs a blur generator", gpd_eval_alg_name(a));
  if (c->range && !gi) return gpd_error("--range projects onto an image generator's range; Algorithm 3 has none");
  if (c->range && c->levin) return gpd_error("--range needs sharp test images; the Levin captures are already blurry");
  if (c->range && c->range_solve.alg != GPD_ALG_RANGE) return gpd_error("the range projection's options are not GPD_ALG_RANGE's");
  GPD_TRY(gpd_solve_check_options(&c->solve));
  if (c->range) GPD_TRY(gpd_solve_check_options(&c->range_solve));
  if (c->range_cache && !c->range) return gpd_error("--range-cache keeps range images: it needs --range");
  *ksize = 0;
  if (!c->levin) {
    if (!c->kernels) return gpd_error("no test kernels given");
    *ksize = c->kernels->ksize;
    if (gk && gk->out_h != *ksize)
      return gpd_error("the blur generator makes %dx%d kernels but the test kernels are %dx%d", gk->out_h, gk->out_w,
                       *ksize, *ksize);
    if (c->crop < 0 || (c->crop > 0 && c->size < 1)) return gpd_error("crop-resize %d:%d", c->crop, c->size);
    if (!(c->sigma >= 0) || !isfinite(c->sigma)) return gpd_error("noise sigma %g must be >= 0", (double)c->sigma);
  }
  return 0;
}

/* ---- batches ------------------------------------------------------------------------------ */

/* How many images' restarts the memory plan fits in one batch of `base`'s
 * solve (at most cap), on an image of the size the solver will get. */
static int images_that_fit(eval_state *s, const gpd_solve_options *base, int cap, int *images) {
  const gpd_net *gi = s->gi;
  const int linear = base->alg != GPD_ALG_RANGE && base->boundary == GPD_BOUNDARY_LINEAR && s->gk;
  const int trim = linear ? s->gk->out_h - 1 : 0;
  gpd_image y = {0};
  GPD_TRY(gpd_image_alloc(&y, gi->out_c, gi->out_h - trim, gi->out_w - trim));
  gpd_solve_options o = *base;
  o.restarts = base->restarts * cap;
  o.threads = 1;
  gpd_solve_plan plan;
  int rc = gpd_solve_plan_make(s->e, &y, s->gi, base->alg == GPD_ALG_RANGE ? NULL : s->gk, &o, &plan);
  gpd_image_free(&y);
  if (rc) return -1;
  *images = plan.groups <= 1 ? cap : plan.group_size / base->restarts;
  if (*images < 1) *images = 1;
  return 0;
}

/* Images per solve: --batch-images, else as many as the memory plan fits
 * in one batch, up to GPD_EVAL_MAX_BATCH_ITEMS restarts and this run's
 * items; 1 for Alg 3 (restarts one by one) and the Levin captures. */
static int batch_size(eval_state *s, long todo, int *images) {
  const gpd_eval_config *c = s->c;
  const int R = c->solve.restarts;
  long cap = c->batch_images > 0 ? c->batch_images : GPD_EVAL_MAX_BATCH_ITEMS / R;
  if (c->batch_images <= 0 && (c->solve.alg == GPD_ALG_3 || c->levin || !s->gi)) cap = 1;
  if (cap > todo) cap = todo;
  if (c->stop_after > 0 && cap > c->stop_after) cap = c->stop_after;
  if (cap < 1) cap = 1;
  *images = (int)cap;
  if (c->batch_images > 0 || cap == 1) return 0;
  GPD_TRY(images_that_fit(s, &c->solve, *images, images));
  if (c->range) GPD_TRY(images_that_fit(s, &c->range_solve, *images, images));
  return 0;
}

/* --range: each pending item's range image, from the cache where it has
 * it, else projected (and then added to the cache). */
static int range_images(eval_state *s, eval_slot *slots, int n) {
  const char *cache = s->c->range_cache;
  for (int j = 0; cache && j < n; j++) {
    if (!slots[j].pending) continue;
    const int got = eval_range_cache_load(s, &slots[j]);
    if (got < 0) return -1;
    s->out->range_cached += got;
  }
  GPD_TRY(eval_solve_slots(s, slots, n, 1));
  for (int j = 0; cache && j < n; j++) {
    if (!slots[j].pending || slots[j].range_cached || !slots[j].target.data) continue;
    GPD_TRY(eval_range_cache_store(s, &slots[j]));
    s->out->range_projected++;
  }
  return 0;
}

/* The batch's items through their stages, then their rows appended in
 * index order (each synced before the next). */
static int run_batch(eval_state *s, eval_slot *slots, int n, FILE *f) {
  const gpd_eval_config *c = s->c;
  const gpd_eval_hooks *hooks = s->hooks;
  gpd_eval_outcome *out = s->out;
  const double t0 = gpd_seconds();
  int rc = 0;
  s->solved = 0.0;
  for (int j = 0; !rc && j < n; j++) rc = eval_slot_prepare(s, &slots[j]);
  if (!rc && c->range) rc = range_images(s, slots, n);
  for (int j = 0; !rc && j < n; j++) rc = eval_slot_blur(s, &slots[j]);
  if (!rc) rc = eval_solve_slots(s, slots, n, 0);
  for (int j = 0; !rc && j < n; j++) rc = eval_slot_finish(s, &slots[j]);
  const double seconds = (gpd_seconds() - t0) / n;
  for (int j = 0; !rc && j < n; j++) {
    gpd_eval_row *row = &slots[j].row;
    row->seconds = seconds;
    if (!strcmp(row->status, "skipped") && hooks && hooks->skipped) hooks->skipped(hooks->ctx, slots[j].it, row->note);
    rc = gpd_eval_csv_append(f, c->csv, row);
    if (!rc) rc = gpd_eval_rows_push(&out->rows, row);
    if (!rc) {
      out->done++;
      if (hooks && hooks->done) hooks->done(hooks->ctx, row, out->done, out->todo);
    }
  }
  for (int j = 0; j < n; j++) eval_slot_free(&slots[j]);
  return rc;
}

static void slot_init(eval_slot *slot, const gpd_eval_config *c, const gpd_eval_item *it) {
  memset(slot, 0, sizeof *slot);
  slot->it = it;
  gpd_eval_row *row = &slot->row;
  gpd_eval_row_init(row);
  snprintf(row->file, sizeof row->file, "%s", it->name);
  row->index = it->index;
  snprintf(row->alg, sizeof row->alg, "%s", gpd_eval_alg_name(c->solve.alg));
  snprintf(row->target, sizeof row->target, "%s", c->range ? "range" : "test");
}

int gpd_eval_run(gpd_engine *e, gpd_net *gi, gpd_net *gk, const gpd_eval_config *c, const gpd_eval_list *full,
                 const gpd_eval_hooks *hooks, gpd_eval_outcome *out) {
  memset(out, 0, sizeof *out);
  if (!e || !c || !full) return gpd_error("gpd_eval_run: no engine, configuration or selection");
  eval_state s = {.e = e, .gi = gi, .gk = gk, .c = c, .hooks = hooks, .out = out};
  GPD_TRY(check_config(c, gi, gk, &s.ksize));
  if (!c->levin && c->kernels->n < full->n)
    return gpd_error("test kernels prepared for %ld items, the selection has %ld", c->kernels->n, full->n);

  gpd_eval_manifest m;
  GPD_TRY(gpd_eval_manifest_of(c, full, &m));
  const char *gen = gpd_eval_manifest_get(&m, "image_gen");
  snprintf(s.image_gen, sizeof s.image_gen, "%s", gen ? gen : "none");
  FILE *f = open_results(c, &m, out);
  gpd_eval_manifest_free(&m);
  if (!f) return -1;

  int rc = 0;
  char *done = gpd_calloc((size_t)(full->n ? full->n : 1), 1, "done flags");
  if (!done) rc = -1;
  for (long r = 0; !rc && r < out->rows.n; r++) {
    const gpd_eval_row *row = &out->rows.rows[r];
    long i = row->index;
    if (i < 0 || i >= full->n || strcmp(full->items[i].name, row->file) ||
        !gpd_eval_in_shard(i, c->shard_k, c->shard_n))
      rc = gpd_error("%s line %ld: %s (index %ld) is not an item of this selection and shard", c->csv, r + 2, row->file,
                     i);
    else done[i] = 1;
  }
  for (long i = 0; !rc && i < full->n; i++)
    if (!done[i] && gpd_eval_in_shard(i, c->shard_k, c->shard_n)) out->todo++;
  int batch = 1;
  if (!rc && out->todo > 0) rc = batch_size(&s, out->todo, &batch);
  out->batch_images = batch;
  eval_slot *slots = rc ? NULL : gpd_calloc((size_t)batch, sizeof *slots, "the batch");
  if (!rc && !slots) rc = -1;
  if (!rc && hooks && hooks->start) hooks->start(hooks->ctx, out->todo);

  for (long i = 0; !rc && !out->stopped;) {
    /* the next batch: up to `batch` items of the shard not yet done, within --stop-after */
    int n = 0;
    for (; i < full->n; i++) {
      if (done[i] || !gpd_eval_in_shard(i, c->shard_k, c->shard_n)) continue;
      if (c->stop_after > 0 && out->done + n >= c->stop_after) {
        out->stopped = 1;
        break;
      }
      if (n == batch) break;
      slot_init(&slots[n++], c, &full->items[i]);
    }
    if (n == 0) break;
    rc = run_batch(&s, slots, n, f);
  }
  free(slots);
  free(done);
  if (fclose(f) != 0 && !rc) rc = gpd_error("cannot close %s: %s", c->csv, strerror(errno));
  return rc;
}

void gpd_eval_outcome_free(gpd_eval_outcome *out) {
  if (!out) return;
  gpd_eval_rows_free(&out->rows);
  for (int i = 0; i < out->grid_rows; i++) gpd_image_free(&out->grid[i]);
  memset(out, 0, sizeof *out);
}

