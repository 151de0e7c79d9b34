/* The CPU layer ops against PyTorch 1.13's answers (tests/fixtures/
 * torch_ops.bin, written by scripts/make_op_fixtures.py, which evaluates in
 * float64): conv2d, conv_transpose2d (strides 1 and 2, padding, output
 * padding, kernels 2..5), batch norm (training output, saved statistics and
 * running stats after one step; eval mode), activations, max-pool (and its
 * indices), nearest upsampling, linear, BCE with logits. Outputs and
 * gradients must match to 1e-4 relative + 1e-5 absolute; outputs are
 * poisoned with NaN first and weight gradients start from zero. */
#include <stdint.h>

#include "check.h"
#include "../host/cpu/cpu_ops.h"
#include "gpd/common.h"

#define RTOL 1e-4
#define ATOL 1e-5

static gpd_engine eng; /* the CPU ops ignore the engine; zeroed */

/* ---- fixture ---------------------------------------------------------------- */

typedef struct {
  char name[64];
  uint32_t n;
  float *data;
} record;

static record recs[512];
static int nrecs;

static int read_u32(FILE *f, uint32_t *v) {
  unsigned char b[4];
  if (fread(b, 1, 4, f) != 4) return -1;
  *v = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return 0;
}

static int load_fixture(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  char magic[8];
  uint32_t version, count;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "GPDTOPS\0", 8) != 0 || read_u32(f, &version) ||
      read_u32(f, &count) || version != 1 || count > sizeof recs / sizeof recs[0]) {
    fprintf(stderr, "%s: not a version 1 op fixture\n", path);
    fclose(f);
    return -1;
  }
  for (uint32_t i = 0; i < count; i++) {
    record *r = &recs[nrecs];
    uint32_t len;
    if (read_u32(f, &len) || len >= sizeof r->name || fread(r->name, 1, len, f) != len || read_u32(f, &r->n)) break;
    r->name[len] = 0;
    r->data = malloc((r->n ? r->n : 1) * sizeof(float));
    if (fread(r->data, sizeof(float), r->n, f) != r->n) break; /* little-endian host assumed (x86-64) */
    nrecs++;
  }
  fclose(f);
  if (nrecs != (int)count) {
    fprintf(stderr, "%s: truncated after %d of %u records\n", path, nrecs, count);
    return -1;
  }
  return 0;
}

/* The record `name`, which must hold `n` values (n = 0: any). */
static const float *get(const char *c, const char *key, size_t n) {
  char name[96];
  snprintf(name, sizeof name, "%s.%s", c, key);
  for (int i = 0; i < nrecs; i++)
    if (!strcmp(recs[i].name, name)) {
      if (n && recs[i].n != n) {
        CHECK(0, "%s has %u values, expected %zu", name, recs[i].n, n);
        return NULL;
      }
      return recs[i].data;
    }
  CHECK(0, "fixture has no %s", name);
  return NULL;
}

static float *nan_floats(size_t n) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = NAN;
  return x;
}

static void compare(const char *c, const char *key, const float *got, size_t n) {
  const float *ref = get(c, key, n);
  char what[128];
  snprintf(what, sizeof what, "%s %s", c, key);
  if (ref) check_close(what, got, ref, n, ATOL, RTOL);
}

/* ---- cases ------------------------------------------------------------------- */

static void test_conv(const char *c, int transposed) {
  const float *gv = get(c, "geom", 10);
  if (!gv) return;
  gpd_conv_geom g = {(int)gv[0], (int)gv[1], (int)gv[2], (int)gv[3], (int)gv[4],
                     (int)gv[5], (int)gv[6], (int)gv[7], (int)gv[8], (int)gv[9]};
  const size_t nx = (size_t)g.n * g.c_in * g.h_in * g.w_in, ny = (size_t)g.n * g.c_out * g.h_out * g.w_out;
  const size_t nw = (size_t)g.c_in * g.c_out * g.k * g.k;
  const float *x = get(c, "x", nx), *w = get(c, "w", nw), *b = get(c, "b", g.c_out), *dy = get(c, "dy", ny);
  if (!x || !w || !b || !dy) return;
  float *y = nan_floats(ny), *dx = nan_floats(nx), *dw = calloc(nw, sizeof *dw), *db = calloc(g.c_out, sizeof *db);
  if (transposed) {
    CHECK_OK(cpu_conv_transpose2d_forward(&eng, &g, x, w, b, y));
    CHECK_OK(cpu_conv_transpose2d_backward_data(&eng, &g, dy, w, dx));
    CHECK_OK(cpu_conv_transpose2d_backward_weights(&eng, &g, x, dy, dw, db));
  } else {
    CHECK_OK(cpu_conv2d_forward(&eng, &g, x, w, b, y));
    CHECK_OK(cpu_conv2d_backward_data(&eng, &g, dy, w, dx));
    CHECK_OK(cpu_conv2d_backward_weights(&eng, &g, x, dy, dw, db));
  }
  compare(c, "y", y, ny);
  compare(c, "dx", dx, nx);
  compare(c, "dw", dw, nw);
  compare(c, "db", db, g.c_out);
  free(y), free(dx), free(dw), free(db);
}

static void test_batchnorm(const char *c, int train) {
  const float *s = get(c, "shape", 5);
  if (!s) return;
  const int n = (int)s[0], ch = (int)s[1], hw = (int)s[2];
  const float eps = s[3], momentum = s[4];
  const size_t nx = (size_t)n * ch * hw;
  const float *x = get(c, "x", nx), *gamma = get(c, "gamma", ch), *beta = get(c, "beta", ch);
  const float *rm0 = get(c, "running_mean", ch), *rv0 = get(c, "running_var", ch), *dy = get(c, "dy", nx);
  if (!x || !gamma || !beta || !rm0 || !rv0 || !dy) return;
  float *y = nan_floats(nx), *dx = nan_floats(nx), *dg = calloc(ch, sizeof *dg), *db = calloc(ch, sizeof *db);
  float *rm = malloc(ch * sizeof *rm), *rv = malloc(ch * sizeof *rv);
  float *smean = nan_floats(ch), *sinv = nan_floats(ch);
  memcpy(rm, rm0, ch * sizeof *rm);
  memcpy(rv, rv0, ch * sizeof *rv);
  if (train) {
    CHECK_OK(cpu_batchnorm_forward_train(&eng, n, ch, hw, eps, momentum, x, gamma, beta, y, smean, sinv, rm, rv));
    CHECK_OK(cpu_batchnorm_backward_train(&eng, n, ch, hw, x, dy, gamma, smean, sinv, dx, dg, db));
    compare(c, "running_mean_after", rm, ch);
    compare(c, "running_var_after", rv, ch);
    compare(c, "save_mean", smean, ch);
    compare(c, "save_invstd", sinv, ch);
  } else {
    CHECK_OK(cpu_batchnorm_forward_infer(&eng, n, ch, hw, eps, x, gamma, beta, rm, rv, y));
    CHECK_OK(cpu_batchnorm_backward_infer(&eng, n, ch, hw, eps, x, dy, gamma, rm, rv, dx, dg, db));
  }
  compare(c, "y", y, nx);
  compare(c, "dx", dx, nx);
  compare(c, "dgamma", dg, ch);
  compare(c, "dbeta", db, ch);
  free(y), free(dx), free(dg), free(db), free(rm), free(rv), free(smean), free(sinv);
}

static void test_activation(const char *c, gpd_activation act, float slope) {
  const size_t n = 64;
  const float *x = get(c, "x", n), *dy = get(c, "dy", n);
  if (!x || !dy) return;
  float *y = nan_floats(n), *dx = nan_floats(n);
  CHECK_OK(cpu_activation_forward(&eng, act, slope, n, x, y));
  CHECK_OK(cpu_activation_backward(&eng, act, slope, n, x, y, dy, dx));
  compare(c, "y", y, n);
  compare(c, "dx", dx, n);
  free(y), free(dx);
}

static void test_maxpool(const char *c) {
  const float *s = get(c, "shape", 5);
  if (!s) return;
  const int n = (int)s[0], ch = (int)s[1], h = (int)s[2], w = (int)s[3], size = (int)s[4];
  const size_t nx = (size_t)n * ch * h * w, ny = (size_t)n * ch * (h / size) * (w / size);
  const float *x = get(c, "x", nx), *dy = get(c, "dy", ny), *idx = get(c, "argmax", ny);
  if (!x || !dy || !idx) return;
  float *y = nan_floats(ny), *dx = nan_floats(nx), *argf = malloc(ny * sizeof *argf);
  int32_t *arg = malloc(ny * sizeof *arg);
  CHECK_OK(cpu_maxpool2d_forward(&eng, n, ch, h, w, size, x, y, arg));
  CHECK_OK(cpu_maxpool2d_backward(&eng, n, ch, h, w, size, dy, arg, dx));
  for (size_t i = 0; i < ny; i++) argf[i] = (float)arg[i];
  compare(c, "y", y, ny);
  char what[96];
  snprintf(what, sizeof what, "%s argmax", c);
  check_close(what, argf, idx, ny, 0, 0); /* PyTorch's in-plane indices, exactly */
  compare(c, "dx", dx, nx);
  free(y), free(dx), free(argf), free(arg);
}

static void test_upsample(const char *c) {
  const float *s = get(c, "shape", 5);
  if (!s) return;
  const int n = (int)s[0], ch = (int)s[1], h = (int)s[2], w = (int)s[3], f = (int)s[4];
  const size_t nx = (size_t)n * ch * h * w, ny = nx * f * f;
  const float *x = get(c, "x", nx), *dy = get(c, "dy", ny);
  if (!x || !dy) return;
  float *y = nan_floats(ny), *dx = nan_floats(nx);
  CHECK_OK(cpu_upsample_nearest_forward(&eng, n, ch, h, w, f, x, y));
  CHECK_OK(cpu_upsample_nearest_backward(&eng, n, ch, h, w, f, dy, dx));
  compare(c, "y", y, ny);
  compare(c, "dx", dx, nx);
  free(y), free(dx);
}

static void test_linear(const char *c) {
  const float *s = get(c, "shape", 3);
  if (!s) return;
  const int n = (int)s[0], in = (int)s[1], out = (int)s[2];
  const float *x = get(c, "x", (size_t)n * in), *w = get(c, "w", (size_t)out * in), *b = get(c, "b", out);
  const float *dy = get(c, "dy", (size_t)n * out);
  if (!x || !w || !b || !dy) return;
  float *y = nan_floats((size_t)n * out), *dx = nan_floats((size_t)n * in);
  float *dw = calloc((size_t)out * in, sizeof *dw), *db = calloc(out, sizeof *db);
  CHECK_OK(cpu_linear_forward(&eng, n, in, out, x, w, b, y));
  CHECK_OK(cpu_linear_backward_data(&eng, n, in, out, dy, w, dx));
  CHECK_OK(cpu_linear_backward_weights(&eng, n, in, out, x, dy, dw, db));
  compare(c, "y", y, (size_t)n * out);
  compare(c, "dx", dx, (size_t)n * in);
  compare(c, "dw", dw, (size_t)out * in);
  compare(c, "db", db, out);
  free(y), free(dx), free(dw), free(db);
}

static void test_bce(const char *c) {
  const float *p = get(c, "params", 3);
  if (!p) return;
  const int n = (int)p[0];
  const float *x = get(c, "x", n);
  if (!x) return;
  float *loss = nan_floats(n), *dx = nan_floats(n);
  CHECK_OK(cpu_bce_with_logits(&eng, n, x, p[1], p[2], loss, dx));
  compare(c, "loss", loss, n);
  compare(c, "dx", dx, n);
  free(loss), free(dx);
}

int main(void) {
  if (load_fixture(source_path("tests/fixtures/torch_ops.bin"))) return 1;
  test_conv("conv2d_s1", 0);
  test_conv("conv2d_s2", 0);
  test_conv("conv2d_s2_k4", 0);
  test_conv("convt_k4_s2", 1);
  test_conv("convt_k5_s2_op1", 1);
  test_conv("convt_k4_s2_op1", 1);
  test_conv("convt_k3_s1", 1);
  test_conv("convt_k2_s1", 1);
  test_batchnorm("bn_train", 1);
  test_batchnorm("bn_eval", 0);
  test_activation("relu", GPD_ACT_RELU, 0);
  test_activation("leaky_relu", GPD_ACT_LEAKY_RELU, 0.2f);
  test_activation("tanh", GPD_ACT_TANH, 0);
  test_activation("sigmoid", GPD_ACT_SIGMOID, 0);
  test_maxpool("maxpool2");
  test_maxpool("maxpool3");
  test_upsample("upsample2");
  test_upsample("upsample3");
  test_linear("linear");
  test_bce("bce_real");
  test_bce("bce_fake");
  for (int i = 0; i < nrecs; i++) free(recs[i].data);
  return check_report("test_torch_ops");
}
