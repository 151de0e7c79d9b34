/* Algorithm 3's checkpoints (gpd_solve_options.checkpoint_dir): one
 * safetensors file per restart, DIR/alg3_<fingerprint>_r<restart>.safetensors,
 * holding what the rest of the restart depends on: the untrained
 * generator's weights and batch-norm statistics, z_i and z_k, the Adam
 * moments of all three, and in the metadata the main phase's step. The
 * fingerprint in the name (and the metadata), one per solve, covers
 * everything else the restart computes from: the blurry image, the
 * geometry, the options that shape the restart, the seed, the blur
 * generator's weights and the engine's precision, so a file is only ever
 * continued by the solve that wrote it.
 *
 * Why this is exact: the main phase's iteration t depends on its state
 * (the tensors above) and on t alone (the Adam schedule is computed from
 * t); the eq. 12 fit only made W, which the file holds. So restoring the
 * state after t iterations and running t .. steps-1 is the uninterrupted
 * run, bit for bit on the same engine. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpd/weights.h"
#include "solve_internal.h"

#define FORMAT_KEY "gpdeblur_alg3_checkpoint"
#define FORMAT_VERSION "1"

static uint64_t fold_int(uint64_t h, long v) { return gpd_fnv1a64(h, &v, sizeof v); }
static uint64_t fold_float(uint64_t h, float v) { return gpd_fnv1a64(h, &v, sizeof v); }
static uint64_t fold_text(uint64_t h, const char *s) { return gpd_fnv1a64(h, s, strlen(s) + 1); }

int alg3_checkpoint_fingerprint(const solve_inputs *in, uint64_t *fingerprint) {
  const gpd_solve_options *o = in->o;
  const solve_geom *g = &in->g;
  const gpd_image *y = in->y;
  uint64_t h = fold_text(GPD_FNV1A64_INIT, FORMAT_KEY " " FORMAT_VERSION);
  const long dims[] = {y->c, y->h, y->w, g->hx, g->wx, g->k, (long)g->boundary, o->steps, o->fit_steps,
                       o->untrained_width, o->untrained_latent, (long)in->e->precision};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) h = fold_int(h, dims[i]);
  h = gpd_fnv1a64(h, y->data, (size_t)y->c * y->h * y->w * sizeof(float));
  const float weights[] = {o->fit_lr, o->lr_z, o->lr_w, o->nu, o->kappa};
  for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++) h = fold_float(h, weights[i]);
  const uint64_t seed = solve_inputs_seed(in, 0);
  h = gpd_fnv1a64(h, &seed, sizeof seed);
  h = fold_text(h, o->untrained_arch ? o->untrained_arch : "dcgan_tf");
  /* the blur generator: its weights, as this solve sees them */
  const gpd_net *gk = in->gk;
  float *w = gpd_malloc((gk->n_params + gk->n_buffers + 1) * sizeof(float), "the blur generator's fingerprint");
  if (!w) return -1;
  int rc = gk->n_params ? in->e->download(in->e, w, gk->params, gk->n_params) : 0;
  if (!rc && gk->n_buffers) rc = in->e->download(in->e, w + gk->n_params, gk->buffers, gk->n_buffers);
  if (!rc) h = gpd_fnv1a64(h, w, (gk->n_params + gk->n_buffers) * sizeof(float));
  free(w);
  if (rc) return -1;
  *fingerprint = h;
  return 0;
}

int alg3_checkpoint_path(const char *dir, uint64_t fingerprint, int restart, char *path, size_t size) {
  const int n = snprintf(path, size, "%s/alg3_%016" PRIx64 "_r%d.safetensors", dir, fingerprint, restart);
  if (n < 0 || (size_t)n >= size) return gpd_error("--checkpoint-dir '%s': the path is too long", dir);
  return 0;
}

/* The tensors of a checkpoint: each group's point and Adam moments, and
 * the network's batch-norm statistics (name, engine pointer, count). */
typedef struct state_tensor {
  char name[48];
  float *dev;
  size_t count;
} state_tensor;

static int state_tensors(solve_problem *p, gpd_net *net, state_tensor *t, int cap) {
  int n = 0;
  for (int i = 0; i < p->n_groups; i++) {
    solve_group *g = &p->group[i];
    if (!g->m || !g->v) return gpd_error("Algorithm 3 checkpoint: group %s has no Adam moments", g->name);
    if (n + 3 > cap) return gpd_error("Algorithm 3 checkpoint: too many tensors");
    float *dev[3] = {g->p, g->m, g->v};
    const char *suffix[3] = {"", ".exp_avg", ".exp_avg_sq"};
    for (int j = 0; j < 3; j++) {
      snprintf(t[n].name, sizeof t[n].name, "%s%s", g->name, suffix[j]);
      t[n].dev = dev[j];
      t[n].count = g->count;
      n++;
    }
  }
  if (net->n_buffers) {
    if (n + 1 > cap) return gpd_error("Algorithm 3 checkpoint: too many tensors");
    snprintf(t[n].name, sizeof t[n].name, "W.batchnorm_statistics");
    t[n].dev = net->buffers;
    t[n].count = net->n_buffers;
    n++;
  }
  return n;
}

/* The fingerprint is the file name's: alg3_<hex>_r<k>.safetensors. */
static void fingerprint_of(const char *path, char *buf, size_t size) {
  const char *base = strrchr(path, '/');
  snprintf(buf, size, "%s", base ? base + 1 : path);
}

int alg3_checkpoint_save(solve_problem *p, gpd_net *net, const char *path, int step) {
  gpd_engine *e = p->e;
  state_tensor t[3 * SOLVE_MAX_GROUPS + 1];
  const int n = state_tensors(p, net, t, (int)(sizeof t / sizeof t[0]));
  if (n < 0) return -1;
  gpd_st_writer *w = gpd_st_writer_create();
  if (!w) return -1;
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    float *host = gpd_malloc(t[i].count * sizeof(float), "a checkpoint tensor");
    if (!host) {
      rc = -1;
      break;
    }
    const int64_t shape[1] = {(int64_t)t[i].count};
    rc = e->download(e, host, t[i].dev, t[i].count);
    if (!rc) rc = gpd_st_writer_add(w, t[i].name, 1, shape, host);
    free(host);
  }
  char fingerprint[256], text[32];
  fingerprint_of(path, fingerprint, sizeof fingerprint);
  snprintf(text, sizeof text, "%d", step);
  if (!rc) rc = gpd_st_writer_meta(w, FORMAT_KEY, FORMAT_VERSION);
  if (!rc) rc = gpd_st_writer_meta(w, "fingerprint", fingerprint);
  if (!rc) rc = gpd_st_writer_meta(w, "step", text);
  if (!rc) rc = gpd_st_writer_save(w, path);
  gpd_st_writer_free(w);
  return rc;
}

int alg3_checkpoint_load(solve_problem *p, gpd_net *net, const char *path, int steps, int *step) {
  *step = 0;
  gpd_safetensors st;
  memset(&st, 0, sizeof st);
  const int found = gpd_st_read_if_exists(&st, path);
  if (found <= 0) return found;
  int rc = -1;
  char fingerprint[256];
  fingerprint_of(path, fingerprint, sizeof fingerprint);
  const char *format = gpd_st_meta_get(&st, FORMAT_KEY), *fp = gpd_st_meta_get(&st, "fingerprint");
  const char *text = gpd_st_meta_get(&st, "step");
  char *end = NULL;
  const long s = text ? strtol(text, &end, 10) : -1;
  if (!format || strcmp(format, FORMAT_VERSION)) {
    gpd_error("checkpoint %s: not an Algorithm 3 checkpoint of this version (" FORMAT_KEY " '%s')", path,
              format ? format : "absent");
    goto done;
  }
  if (!fp || strcmp(fp, fingerprint)) {
    gpd_error("checkpoint %s: made by another solve (fingerprint '%s'); remove it", path, fp ? fp : "absent");
    goto done;
  }
  if (!text || end == text || *end || s < 0 || s > steps) {
    gpd_error("checkpoint %s: step '%s' is not in [0, %d]", path, text ? text : "absent", steps);
    goto done;
  }
  state_tensor t[3 * SOLVE_MAX_GROUPS + 1];
  const int n = state_tensors(p, net, t, (int)(sizeof t / sizeof t[0]));
  if (n < 0) goto done;
  for (int i = 0; i < n; i++) {
    const gpd_st_tensor *ten = gpd_st_find(&st, t[i].name);
    if (!ten) {
      gpd_error("checkpoint %s: no tensor '%s'", path, t[i].name);
      goto done;
    }
    float *host = gpd_malloc(t[i].count * sizeof(float), "a checkpoint tensor");
    if (!host) goto done;
    int r = gpd_st_tensor_to_finite_f32(&st, ten, host, t[i].count);
    if (!r) r = p->e->upload(p->e, t[i].dev, host, t[i].count);
    free(host);
    if (r) goto done;
  }
  *step = (int)s;
  p->record[0].iterations = s;
  rc = 1;
done:
  gpd_st_free(&st);
  return rc;
}

int alg3_checkpoint_remove(const char *path) {
  if (unlink(path) != 0 && errno != ENOENT) return gpd_error("cannot remove the checkpoint %s: %s", path, strerror(errno));
  return 0;
}
