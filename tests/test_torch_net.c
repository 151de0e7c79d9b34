/* The DCGAN generators against PyTorch: tests/fixtures/dcgan_tf.safetensors
 * and dcgan_torch.safetensors hold PyTorch nn.Sequential state_dicts (F16 /
 * BF16 weights, num_batches_tracked, PyTorch's order; written by
 * scripts/make_net_fixtures.py), dcgan_ref.bin holds z, G(z) and dL/dz for
 * L = <dy, G(z)> computed by PyTorch in float64. We load each file with
 * gpd_weights_load_net, run the network forward and backward on the CPU
 * engine, and match G(z) and dL/dz to 1e-4 relative (plus 1e-4 of the
 * largest magnitude, for values near zero), with batch norm on running
 * statistics and, for dcgan_tf, on batch statistics too. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/weights.h"

typedef struct record {
  char name[33];
  uint32_t ndim, shape[4];
  size_t count;
  float *data;
} record;

static record recs[16];
static int n_recs;

static int load_ref(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return gpd_error("%s: cannot open", path);
  char magic[8];
  uint32_t version, count;
  int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, "GPDNETRF", 8) && fread(&version, 4, 1, f) == 1 &&
           version == 1 && fread(&count, 4, 1, f) == 1 && count <= 16;
  for (uint32_t i = 0; ok && i < count; i++) {
    record *r = &recs[n_recs];
    memset(r->name, 0, sizeof r->name);
    ok = fread(r->name, 1, 32, f) == 32 && fread(&r->ndim, 4, 1, f) == 1 && fread(r->shape, 4, 4, f) == 4;
    r->count = 1;
    for (int d = 0; ok && d < 4; d++) r->count *= r->shape[d];
    ok = ok && r->count < (1u << 24) && (r->data = malloc(r->count * sizeof(float))) &&
         fread(r->data, sizeof(float), r->count, f) == r->count;
    if (ok) n_recs++;
  }
  fclose(f);
  return ok ? 0 : gpd_error("%s: not a version-1 GPDNETRF file, or truncated", path);
}

static const record *find(const char *name) {
  for (int i = 0; i < n_recs; i++)
    if (!strcmp(recs[i].name, name)) return &recs[i];
  fprintf(stderr, "reference %s missing from dcgan_ref.bin\n", name);
  check_failures++;
  return NULL;
}

static double max_abs(const float *x, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(x[i]) > m) m = fabs(x[i]);
  return m;
}

static void check_net(gpd_engine *e, const char *label, int with_train) {
  char path[64], name[64];
  snprintf(path, sizeof path, "tests/fixtures/%s.safetensors", label);
  gpd_net net;
  if (gpd_weights_load_net(&net, e, source_path(path), "generator") != 0) {
    CHECK(0, "loading %s: %s", path, gpd_last_error());
    return;
  }
  snprintf(name, sizeof name, "%s.z", label);
  const record *z = find(name);
  if (!z) return;
  int n = (int)z->shape[0];
  size_t in = gpd_net_in_size(&net), out = gpd_net_out_size(&net);
  CHECK(z->count == (size_t)n * in, "%s: z has %zu values for a latent of %zu", label, z->count, in);
  gpd_net_workspace ws;
  CHECK_OK(gpd_net_workspace_alloc(&ws, &net, n));
  float *dy = malloc((size_t)n * out * sizeof(float)), *y = malloc((size_t)n * out * sizeof(float)),
        *dz = malloc((size_t)n * in * sizeof(float));
  for (size_t i = 0; i < (size_t)n * out; i++) dy[i] = (float)(((long)(i * 7919) % 2001) - 1000) / 1000.0f;
  float *zd = e->alloc(e, (size_t)n * in, "z"), *dyd = e->alloc(e, (size_t)n * out, "dy"),
        *dzd = e->alloc(e, (size_t)n * in, "dz");
  e->upload(e, zd, z->data, (size_t)n * in);
  e->upload(e, dyd, dy, (size_t)n * out);
  for (int train = 0; train <= with_train; train++) {
    const char *mode = train ? "train" : "eval";
    net.bn_train = train;
    const float *yd = gpd_net_forward(&net, &ws, n, zd);
    CHECK(yd != NULL, "%s forward (%s): %s", label, mode, gpd_last_error());
    if (!yd) continue;
    e->download(e, y, yd, (size_t)n * out);
    CHECK_OK(gpd_net_backward(&net, &ws, n, dyd, dzd, 0));
    e->download(e, dz, dzd, (size_t)n * in);
    snprintf(name, sizeof name, "%s.%s.y", label, mode);
    const record *ry = find(name);
    if (ry && ry->count == (size_t)n * out) check_close(name, y, ry->data, ry->count, 1e-4 * max_abs(ry->data, ry->count), 1e-4);
    else CHECK(0, "%s: reference output has the wrong size", name);
    snprintf(name, sizeof name, "%s.%s.dz", label, mode);
    const record *rdz = find(name);
    if (rdz && rdz->count == (size_t)n * in)
      check_close(name, dz, rdz->data, rdz->count, 1e-4 * max_abs(rdz->data, rdz->count), 1e-4);
    else CHECK(0, "%s: reference gradient has the wrong size", name);
    /* The references are not trivial: outputs spread over (0, 1). */
    if (ry) {
      double lo = 1, hi = 0;
      for (size_t i = 0; i < ry->count; i++) {
        if (ry->data[i] < lo) lo = ry->data[i];
        if (ry->data[i] > hi) hi = ry->data[i];
      }
      CHECK(lo < 0.2 && hi > 0.8, "%s: reference output only spans [%g, %g]", name, lo, hi);
    }
  }
  free(dy);
  free(y);
  free(dz);
  e->free(e, zd);
  e->free(e, dyd);
  e->free(e, dzd);
  gpd_net_workspace_free(&ws, e);
  gpd_net_free(&net);
}

int main(void) {
  if (load_ref(source_path("tests/fixtures/dcgan_ref.bin")) != 0) {
    fprintf(stderr, "%s\n", gpd_last_error());
    return 1;
  }
  gpd_engine *e = gpd_engine_cpu_create();
  check_net(e, "dcgan_tf", 1);
  check_net(e, "dcgan_torch", 0);
  gpd_engine_destroy(e);
  for (int i = 0; i < n_recs; i++) free(recs[i].data);
  return check_report("test_torch_net");
}
