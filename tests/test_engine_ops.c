/* Every op of an engine under test (`cpu`, the default, or `cuda`: argv[1]
 * or GPD_TEST_ENGINE) against the reference engine `ref`, through the two
 * op tables, on random inputs of several shapes. Every op of the list in
 * gpd/engine_ops.h must be called by some case: an op without one fails
 * the test (ops are counted as the calls go through ON_BOTH). Outputs are poisoned
 * with NaN before each call (an element the op forgets to write fails), a
 * guard zone after every tensor catches writes past its end, and results
 * are compared with atol + rtol*|ref| (stated per op), printing the first
 * ten mismatches. Also: the table is complete, device memory (zeroed alloc,
 * memmove copy, fill, out-of-memory message), FP32 vs TF32 precision,
 * CUDA graph capture and replay, the optimiser steps whose schedule lives
 * in device memory (replayed from a graph with a new schedule per launch),
 * and forked engines; bf16 (cpu) and TF32 (cuda) within their tolerances.
 * The cuda run skips (77) without a GPU. Finite-difference gradients of
 * every op on `ref` itself are test_cpu_layers.c's and test_cpu_fourier.c's. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/engine_graph.h"
#include "gpd/engine_ops.h"
#include "gpd/rng.h"

#define GUARD 64             /* floats after each tensor that no op may touch */
#define SENTINEL 12345.0f    /* the guard's value */

static gpd_engine *ref, *dut;
static gpd_rng rng;
static int dut_is_cuda;

/* ---- op coverage: every op of gpd/engine_ops.h is called by some case ---- */

#define OP_NAME(name, params) #name,
static const char *const OP_NAMES[] = {GPD_ENGINE_OPS(OP_NAME)};
#undef OP_NAME
#define N_OPS (int)(sizeof OP_NAMES / sizeof OP_NAMES[0])
static int op_calls[N_OPS];

/* Counts the op named in the text of a call "E->op(...)". */
static void count_op(const char *call) {
  const char *p = strstr(call, "->");
  if (!p) return;
  p += 2;
  size_t len = strcspn(p, "( ");
  for (int i = 0; i < N_OPS; i++)
    if (strlen(OP_NAMES[i]) == len && !strncmp(OP_NAMES[i], p, len)) op_calls[i]++;
}

static void test_coverage(void) {
  for (int i = 0; i < N_OPS; i++) CHECK(op_calls[i] > 0, "op %s has no test case", OP_NAMES[i]);
}

static void fatal(const char *what) {
  fprintf(stderr, "fatal: %s: %s\n", what, gpd_last_error());
  exit(1);
}

/* One tensor held by both engines: c by ref, g by the engine under test. */
typedef struct tensor {
  size_t n;
  float *c, *g;
} tensor;

/* Selects the engine's pointer inside ON_BOTH. */
#define P(t) (side ? (t).g : (t).c)
#define PI(t) ((int32_t *)P(t))

/* Runs the call once per engine (E = ref, then dut); a failure on either
 * is a check failure naming the engine. */
#define ON_BOTH(call)                                                          \
  for (int side = 0; side < 2; side++) {                                       \
    gpd_engine *E = side ? dut : ref;                                          \
    if (side) count_op(#call);                                                 \
    if ((call) != 0) {                                                         \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: %s engine: %s failed: %s\n", __FILE__, __LINE__, \
              E->name, #call, gpd_last_error());                               \
    }                                                                          \
  }

static float *host_floats(size_t n) {
  float *h = malloc((n ? n : 1) * sizeof *h);
  if (!h) {
    fprintf(stderr, "fatal: out of host memory\n");
    exit(1);
  }
  return h;
}

static tensor t_new(size_t n) {
  tensor t = {n, ref->alloc(ref, n + GUARD, "a test tensor"), dut->alloc(dut, n + GUARD, "a test tensor")};
  if (!t.c || !t.g) fatal("alloc");
  if (ref->fill(ref, t.c + n, SENTINEL, GUARD) || dut->fill(dut, t.g + n, SENTINEL, GUARD)) fatal("fill guard");
  return t;
}

static void t_set(tensor *t, const float *h) {
  if (ref->upload(ref, t->c, h, t->n) || dut->upload(dut, t->g, h, t->n)) fatal("upload");
}

static tensor t_uniform(size_t n, float lo, float hi) {
  tensor t = t_new(n);
  float *h = host_floats(n);
  for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * (float)gpd_rng_uniform(&rng);
  t_set(&t, h);
  free(h);
  return t;
}

/* Values on a coarse grid (k/4 for k in [-levels, levels]), so that ties
 * and zero differences happen. */
static tensor t_levels(size_t n, int levels) {
  tensor t = t_new(n);
  float *h = host_floats(n);
  for (size_t i = 0; i < n; i++) h[i] = 0.25f * (float)gpd_rng_int(&rng, -levels, levels);
  t_set(&t, h);
  free(h);
  return t;
}

static void t_poison(tensor *t) {
  if (ref->fill(ref, t->c, NAN, t->n) || dut->fill(dut, t->g, NAN, t->n)) fatal("fill NaN");
}

static void t_free(tensor *t) {
  ref->free(ref, t->c);
  dut->free(dut, t->g);
  t->c = t->g = NULL;
}

static float *t_get(gpd_engine *e, const float *p, size_t n) {
  float *h = host_floats(n);
  if (e->download(e, h, p, n)) fatal("download");
  return h;
}

static void check_guard(const char *what, const char *engine, const float *h, size_t n) {
  for (size_t i = 0; i < GUARD; i++)
    if (h[n + i] != SENTINEL) {
      check_failures++;
      fprintf(stderr, "  %s (%s): guard float %zu past the end was overwritten (%g)\n", what, engine, i, h[n + i]);
      return;
    }
}

/* In reduced precision, whose error grows with the length of each sum,
 * results are compared by their normalised mean squared error instead:
 * sum (got - ref)^2 / sum ref^2 <= nmse_limit (0: elementwise). */
static double nmse_limit;

static int check_nmse(const char *what, const float *got, const float *want, size_t n) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = (double)got[i] - want[i];
    err += d * d;
    norm += (double)want[i] * want[i];
  }
  const double nmse = norm > 0 ? err / norm : err;
  if (!(nmse <= nmse_limit)) { /* also catches NaN */
    check_failures++;
    fprintf(stderr, "  %s: NMSE %.3g > %.3g\n", what, nmse, nmse_limit);
    return 1;
  }
  return 0;
}

/* The engine under test against ref; also checks both guard zones. */
static int t_compare(const char *what, const tensor *t, double atol, double rtol) {
  float *c = t_get(ref, t->c, t->n + GUARD), *g = t_get(dut, t->g, t->n + GUARD);
  check_guard(what, "ref", c, t->n);
  check_guard(what, dut->name, g, t->n);
  int bad = nmse_limit > 0 ? check_nmse(what, g, c, t->n) : check_close(what, g, c, t->n, atol, rtol);
  free(c);
  free(g);
  return bad;
}

/* Exact comparison of int32 contents (argmax). */
static void t_compare_int(const char *what, const tensor *t) {
  float *c = t_get(ref, t->c, t->n), *g = t_get(dut, t->g, t->n);
  int bad = 0;
  for (size_t i = 0; i < t->n; i++) {
    int32_t a, b;
    memcpy(&a, &g[i], sizeof a);
    memcpy(&b, &c[i], sizeof b);
    if (a != b) {
      if (bad < 10) fprintf(stderr, "  %s[%zu]: got %d, expected %d\n", what, i, (int)a, (int)b);
      bad++;
    }
  }
  if (bad) {
    fprintf(stderr, "%s: %d of %zu values mismatch\n", what, bad, t->n);
    check_failures++;
  }
  free(c);
  free(g);
}

/* ---- the table and memory ------------------------------------------------- */

/* Every slot ref fills, the engine under test fills: walks the function
 * pointer slots of the table (everything from alloc to the end). */
static void test_table(void) {
  typedef void (*fn)(void);
  int slots = 0;
  for (size_t off = offsetof(gpd_engine, alloc); off + sizeof(fn) <= sizeof(gpd_engine); off += sizeof(fn)) {
    fn a, b;
    memcpy(&a, (const char *)ref + off, sizeof a);
    memcpy(&b, (const char *)dut + off, sizeof b);
    CHECK(!a || b, "table slot at offset %zu is filled for ref but not for %s", off, dut->name);
    CHECK(b != NULL, "%s table slot at offset %zu is NULL", dut->name, off);
    slots++;
  }
  CHECK(slots > 40, "only %d table slots found", slots);
  CHECK(!strcmp(ref->name, "ref"), "reference engine name %s", ref->name);
}

static void test_memory(void) {
  const size_t n = 1000003;
  float *h = host_floats(n);
  /* alloc returns zeroed memory */
  float *d = dut->alloc(dut, n, "a zero test");
  if (!d) fatal("alloc");
  if (dut->download(dut, h, d, n)) fatal("download");
  size_t nonzero = 0;
  for (size_t i = 0; i < n; i++) nonzero += h[i] != 0.0f;
  CHECK(nonzero == 0, "%zu of %zu freshly allocated floats are not zero", nonzero, n);
  /* upload / download round trip and fill */
  for (size_t i = 0; i < n; i++) h[i] = (float)i;
  CHECK_OK(dut->upload(dut, d, h, n));
  CHECK_OK(dut->fill(dut, d + 10, -2.5f, 5));
  CHECK_OK(dut->fill(dut, d + 20, 0.0f, 3));
  float *back = host_floats(n);
  CHECK_OK(dut->download(dut, back, d, n));
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    float want = (i >= 10 && i < 15) ? -2.5f : (i >= 20 && i < 23) ? 0.0f : (float)i;
    bad += back[i] != want;
  }
  CHECK(bad == 0, "%d values wrong after upload/fill/download", bad);
  /* copy has memmove semantics, as the CPU engine */
  CHECK_OK(dut->copy(dut, d + 1, d, 100000)); /* overlapping, forwards */
  CHECK_OK(dut->copy(dut, d + 200000, d + 200007, 1000)); /* overlapping, backwards */
  CHECK_OK(dut->copy(dut, d + 500000, d + 300000, 1000)); /* disjoint */
  for (size_t i = 0; i < n; i++) h[i] = (float)i;
  for (size_t i = 10; i < 15; i++) h[i] = -2.5f;
  for (size_t i = 20; i < 23; i++) h[i] = 0.0f;
  memmove(h + 1, h, 100000 * sizeof(float));
  memmove(h + 200000, h + 200007, 1000 * sizeof(float));
  memmove(h + 500000, h + 300000, 1000 * sizeof(float));
  CHECK_OK(dut->download(dut, back, d, n));
  check_close("copy (memmove semantics)", back, h, n, 0, 0);
  CHECK_OK(dut->sync(dut));
  CHECK(dut->memory_free(dut) > ((size_t)1 << 20), "memory_free %zu", dut->memory_free(dut));
  /* free and reuse; an impossible request names the tensor and the free memory */
  dut->free(dut, d);
  gpd_clear_error();
  float *huge = dut->alloc(dut, (size_t)1 << 50, "a huge test tensor");
  CHECK(huge == NULL, "a 4 PiB allocation succeeded");
  CHECK(strstr(gpd_last_error(), dut_is_cuda ? "out of GPU memory" : "out of host memory") &&
            strstr(gpd_last_error(), "a huge test tensor") && (!dut_is_cuda || strstr(gpd_last_error(), "MiB free")),
        "out-of-memory message: '%s'", gpd_last_error());
  float *again = dut->alloc(dut, n, "a reused tensor");
  CHECK(again != NULL, "alloc after an out-of-memory failure: %s", gpd_last_error());
  if (again) {
    CHECK_OK(dut->download(dut, back, again, n));
    nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero += back[i] != 0.0f;
    CHECK(nonzero == 0, "%zu floats of reused memory are not zeroed", nonzero);
    dut->free(dut, again);
  }
  /* many small tensors, freed out of order, then one that needs coalescing */
  float *small[64];
  for (int i = 0; i < 64; i++) {
    small[i] = dut->alloc(dut, 1000 + 37 * i, "a small tensor");
    CHECK(small[i] != NULL, "small alloc %d: %s", i, gpd_last_error());
    CHECK(!dut_is_cuda || ((uintptr_t)small[i] & 255) == 0, "alloc %d is not 256-byte aligned", i);
  }
  for (int i = 0; i < 64; i += 2) dut->free(dut, small[i]);
  for (int i = 1; i < 64; i += 2) dut->free(dut, small[i]);
  float *big = dut->alloc(dut, 60000, "a coalesced tensor");
  CHECK(big != NULL, "alloc after frees: %s", gpd_last_error());
  dut->free(dut, big);
  free(h);
  free(back);
}

/* ---- elementwise and activations ------------------------------------------- */

static void test_elementwise(void) {
  const size_t sizes[] = {1, 1000, 3000017};
  for (int s = 0; s < 3; s++) {
    const size_t n = sizes[s];
    tensor x = t_uniform(n, -2, 2), y = t_uniform(n, -2, 2), z = t_new(n);
    ON_BOTH(E->axpby(E, n, 0.75f, P(x), -1.5f, P(y)));
    t_compare("axpby", &y, 1e-6, 1e-6);
    t_poison(&z); /* beta = 0: y is not read */
    ON_BOTH(E->axpby(E, n, -3.0f, P(x), 0.0f, P(z)));
    t_compare("axpby beta=0", &z, 1e-6, 1e-6);
    t_poison(&z);
    ON_BOTH(E->affine(E, n, 1.25f, P(x), -0.5f, P(z)));
    t_compare("affine", &z, 1e-6, 1e-6);
    ON_BOTH(E->affine(E, n, 0.5f, P(z), 2.0f, P(z)));
    t_compare("affine in place", &z, 1e-6, 1e-6);
    t_poison(&z);
    ON_BOTH(E->multiply(E, n, P(x), P(y), P(z)));
    t_compare("multiply", &z, 1e-6, 1e-6);
    ON_BOTH(E->multiply(E, n, P(z), P(x), P(z)));
    t_compare("multiply in place", &z, 1e-6, 1e-6);
    t_free(&x);
    t_free(&y);
    t_free(&z);
  }
  const int items[] = {1, 7, 300};
  const size_t per[] = {100003, 129, 1};
  for (int s = 0; s < 3; s++) {
    const size_t n = (size_t)items[s] * per[s];
    tensor sc = t_uniform((size_t)items[s], -2, 2), x = t_uniform(n, -1, 1), y = t_new(n);
    t_poison(&y);
    ON_BOTH(E->scale_per_item(E, items[s], per[s], P(sc), P(x), P(y)));
    t_compare("scale_per_item", &y, 0, 1e-6);
    ON_BOTH(E->scale_per_item(E, items[s], per[s], P(sc), P(x), P(x)));
    t_compare("scale_per_item in place", &x, 0, 1e-6);
    t_free(&sc);
    t_free(&x);
    t_free(&y);
  }
}

static void test_activation(void) {
  const gpd_activation acts[] = {GPD_ACT_RELU, GPD_ACT_LEAKY_RELU, GPD_ACT_TANH, GPD_ACT_SIGMOID};
  const char *names[] = {"relu", "leaky_relu", "tanh", "sigmoid"};
  const size_t n = 200003;
  char what[96];
  for (int a = 0; a < 4; a++) {
    tensor x = t_uniform(n, -30, 30), y = t_new(n), dy = t_uniform(n, -1, 1), dx = t_new(n);
    t_poison(&y);
    ON_BOTH(E->activation_forward(E, acts[a], 0.2f, n, P(x), P(y)));
    snprintf(what, sizeof what, "%s forward", names[a]);
    t_compare(what, &y, 1e-6, 1e-5);
    t_poison(&dx);
    ON_BOTH(E->activation_backward(E, acts[a], 0.2f, n, P(x), P(y), P(dy), P(dx)));
    snprintf(what, sizeof what, "%s backward", names[a]);
    t_compare(what, &dx, 1e-6, 1e-5);
    ON_BOTH(E->activation_backward(E, acts[a], 0.2f, n, P(x), P(y), P(dy), P(dy)));
    snprintf(what, sizeof what, "%s backward in place", names[a]);
    t_compare(what, &dy, 1e-6, 1e-5);
    ON_BOTH(E->activation_forward(E, acts[a], 0.2f, n, P(x), P(x)));
    snprintf(what, sizeof what, "%s forward in place", names[a]);
    t_compare(what, &x, 1e-6, 1e-5);
    t_free(&x);
    t_free(&y);
    t_free(&dy);
    t_free(&dx);
  }
}

/* ---- linear and convolutions ----------------------------------------------- */

static void linear_case(int n, int in, int out, double atol, double rtol) {
  tensor x = t_uniform((size_t)n * in, -1, 1), w = t_uniform((size_t)out * in, -0.5f, 0.5f);
  tensor b = t_uniform((size_t)out, -1, 1), y = t_new((size_t)n * out), dy = t_uniform((size_t)n * out, -1, 1);
  tensor dx = t_new((size_t)n * in), dw = t_uniform((size_t)out * in, -1, 1), db = t_uniform((size_t)out, -1, 1);
  char what[96];
  snprintf(what, sizeof what, "linear_forward n%d %d->%d", n, in, out);
  t_poison(&y);
  ON_BOTH(E->linear_forward(E, n, in, out, P(x), P(w), P(b), P(y)));
  t_compare(what, &y, atol, rtol);
  t_poison(&y);
  ON_BOTH(E->linear_forward(E, n, in, out, P(x), P(w), NULL, P(y)));
  t_compare("linear_forward no bias", &y, atol, rtol);
  t_poison(&dx);
  ON_BOTH(E->linear_backward_data(E, n, in, out, P(dy), P(w), P(dx)));
  t_compare("linear_backward_data", &dx, atol, rtol);
  ON_BOTH(E->linear_backward_weights(E, n, in, out, P(x), P(dy), P(dw), P(db)));
  t_compare("linear_backward_weights dw (accumulated)", &dw, atol * 4, rtol);
  t_compare("linear_backward_weights db (accumulated)", &db, atol * 4, rtol);
  ON_BOTH(E->linear_backward_weights(E, n, in, out, P(x), P(dy), P(dw), NULL));
  t_compare("linear_backward_weights dw, no db", &dw, atol * 4, rtol);
  t_free(&x);
  t_free(&w);
  t_free(&b);
  t_free(&y);
  t_free(&dy);
  t_free(&dx);
  t_free(&dw);
  t_free(&db);
}

static void test_linear(double atol, double rtol) {
  linear_case(7, 13, 5, atol, rtol);
  linear_case(3, 720, 50, atol, rtol);
  linear_case(64, 100, 8192, atol, rtol);
  linear_case(1, 1, 1, atol, rtol);
}

static void conv_case(int transposed, gpd_conv_geom g, double atol, double rtol) {
  const size_t nx = (size_t)g.n * g.c_in * g.h_in * g.w_in, ny = (size_t)g.n * g.c_out * g.h_out * g.w_out;
  const size_t nw = (size_t)g.c_in * g.c_out * g.k * g.k;
  tensor x = t_uniform(nx, -1, 1), w = t_uniform(nw, -0.5f, 0.5f), b = t_uniform((size_t)g.c_out, -1, 1);
  tensor y = t_new(ny), dy = t_uniform(ny, -1, 1), dx = t_new(nx);
  tensor dw = t_uniform(nw, -1, 1), db = t_uniform((size_t)g.c_out, -1, 1);
  char what[160], geo[96];
  snprintf(geo, sizeof geo, "n%d %dx%dx%d->%dx%dx%d k%d s%d p%d", g.n, g.c_in, g.h_in, g.w_in, g.c_out, g.h_out,
           g.w_out, g.k, g.stride, g.pad);
  const char *layer = transposed ? "conv_transpose2d" : "conv2d";
#define CONV_OP(name) (transposed ? E->conv_transpose2d_##name : E->conv2d_##name)
  /* ON_BOTH sees CONV_OP(...), not the op: count them here */
  count_op(transposed ? "E->conv_transpose2d_forward" : "E->conv2d_forward");
  count_op(transposed ? "E->conv_transpose2d_backward_data" : "E->conv2d_backward_data");
  count_op(transposed ? "E->conv_transpose2d_backward_weights" : "E->conv2d_backward_weights");
  t_poison(&y);
  ON_BOTH(CONV_OP(forward)(E, &g, P(x), P(w), NULL, P(y)));
  snprintf(what, sizeof what, "%s_forward %s", layer, geo);
  t_compare(what, &y, atol, rtol);
  t_poison(&y);
  ON_BOTH(CONV_OP(forward)(E, &g, P(x), P(w), P(b), P(y)));
  snprintf(what, sizeof what, "%s_forward+bias %s", layer, geo);
  t_compare(what, &y, atol, rtol);
  t_poison(&dx);
  ON_BOTH(CONV_OP(backward_data)(E, &g, P(dy), P(w), P(dx)));
  snprintf(what, sizeof what, "%s_backward_data %s", layer, geo);
  t_compare(what, &dx, atol, rtol);
  ON_BOTH(CONV_OP(backward_weights)(E, &g, P(x), P(dy), P(dw), P(db)));
  snprintf(what, sizeof what, "%s_backward_weights dw (accumulated) %s", layer, geo);
  t_compare(what, &dw, atol * 4, rtol);
  snprintf(what, sizeof what, "%s_backward_weights db (accumulated) %s", layer, geo);
  t_compare(what, &db, atol * 4, rtol);
  ON_BOTH(CONV_OP(backward_weights)(E, &g, P(x), P(dy), P(dw), NULL));
  snprintf(what, sizeof what, "%s_backward_weights dw, no db %s", layer, geo);
  t_compare(what, &dw, atol * 8, rtol);
#undef CONV_OP
  t_free(&x);
  t_free(&w);
  t_free(&b);
  t_free(&y);
  t_free(&dy);
  t_free(&dx);
  t_free(&dw);
  t_free(&db);
}

/* The cpu engine runs some passes by im2col + sgemm instead of oneDNN's
 * direct kernels (dnnl_conv.c, gemm_is_faster: adjoints onto fewer than 16
 * channels, weight gradients of outputs up to 4x4 with 16+ channels); the
 * cases cover both routes for every pass of both layers. */
static void test_conv(double atol, double rtol) {
  /*                       n  c_in h_in w_in c_out h_out w_out k  s  p */
  conv_case(0, (gpd_conv_geom){2, 3, 9, 11, 4, 9, 11, 3, 1, 1}, atol, rtol);
  conv_case(0, (gpd_conv_geom){3, 8, 16, 16, 16, 8, 8, 5, 2, 2}, atol, rtol);
  conv_case(0, (gpd_conv_geom){5, 1, 28, 28, 20, 27, 27, 2, 1, 0}, atol, rtol);   /* blur VAE encoder */
  conv_case(0, (gpd_conv_geom){2, 6, 15, 13, 5, 7, 6, 4, 2, 1}, atol, rtol);      /* odd sizes, floor */
  conv_case(0, (gpd_conv_geom){2, 16, 8, 8, 32, 4, 4, 4, 2, 1}, atol, rtol);      /* discriminator: 16+ channels, 4x4 out */
  conv_case(1, (gpd_conv_geom){2, 16, 4, 4, 8, 8, 8, 5, 2, 2}, atol, rtol);       /* TF "same", output_padding 1 */
  conv_case(1, (gpd_conv_geom){2, 32, 4, 4, 16, 8, 8, 5, 2, 2}, atol, rtol);      /* DCGAN-64's first, 16+ channels */
  conv_case(1, (gpd_conv_geom){3, 8, 5, 5, 3, 10, 10, 4, 2, 1}, atol, rtol);      /* PyTorch DCGAN */
  conv_case(1, (gpd_conv_geom){4, 20, 12, 12, 20, 13, 13, 2, 1, 0}, atol, rtol); /* blur VAE decoder */
  conv_case(1, (gpd_conv_geom){2, 10, 1, 1, 6, 4, 4, 4, 1, 0}, atol, rtol);       /* 1x1 latent -> 4x4 */
  conv_case(1, (gpd_conv_geom){2, 4, 7, 5, 3, 13, 9, 3, 2, 1}, atol, rtol);       /* non-square */
}

/* Weights held constant (gpd_engine.hold_constant): the cpu engine keeps
 * their reordered form between calls. Calls while held must match ref, and
 * after a release, new values in the same memory must be used, held again
 * or not (a stale kept form would give the old layer's output). */
static void test_hold_constant(double atol, double rtol) {
  const gpd_conv_geom g = {2, 32, 4, 4, 16, 8, 8, 5, 2, 2}; /* on oneDNN: its weights are reordered */
  const size_t nx = (size_t)g.n * g.c_in * g.h_in * g.w_in, ny = (size_t)g.n * g.c_out * g.h_out * g.w_out;
  const size_t nw = (size_t)g.c_in * g.c_out * g.k * g.k;
  tensor x = t_uniform(nx, -1, 1), w = t_uniform(nw, -0.5f, 0.5f), y = t_new(ny), dy = t_uniform(ny, -1, 1);
  tensor dx = t_new(nx), lw = t_uniform(64 * 100, -0.5f, 0.5f), ly = t_new(4 * 64);
  float *h = host_floats(nw);
  for (int round = 0; round < 3; round++) {
    const int hold = round < 2; /* held, held again after a release and new values, then plain calls */
    if (hold) CHECK(gpd_engine_hold_constant(dut, w.g, nw, 1) == 0 && gpd_engine_hold_constant(dut, lw.g, lw.n, 1) == 0,
                    "hold_constant: %s", gpd_last_error());
    for (int call = 0; call < 2; call++) {
      char what[96];
      t_poison(&y);
      ON_BOTH(E->conv_transpose2d_forward(E, &g, P(x), P(w), NULL, P(y)));
      snprintf(what, sizeof what, "held weights (round %d, call %d): conv_transpose2d_forward", round, call);
      t_compare(what, &y, atol, rtol);
      t_poison(&dx);
      ON_BOTH(E->conv_transpose2d_backward_data(E, &g, P(dy), P(w), P(dx)));
      snprintf(what, sizeof what, "held weights (round %d, call %d): conv_transpose2d_backward_data", round, call);
      t_compare(what, &dx, atol, rtol);
      t_poison(&ly);
      ON_BOTH(E->linear_forward(E, 4, 100, 64, P(x), P(lw), NULL, P(ly)));
      snprintf(what, sizeof what, "held weights (round %d, call %d): linear_forward", round, call);
      t_compare(what, &ly, atol, rtol);
    }
    if (hold) CHECK(gpd_engine_hold_constant(dut, w.g, nw, 0) == 0 && gpd_engine_hold_constant(dut, lw.g, lw.n, 0) == 0,
                    "hold_constant release: %s", gpd_last_error());
    /* new weights in the same memory */
    for (size_t i = 0; i < nw; i++) h[i] = (float)gpd_rng_uniform(&rng) - 0.5f;
    t_set(&w, h);
    t_set(&lw, h);
  }
  free(h);
  t_free(&x);
  t_free(&w);
  t_free(&y);
  t_free(&dy);
  t_free(&dx);
  t_free(&lw);
  t_free(&ly);
}

/* cuDNN derives the output size; an inconsistent geometry is refused with a
 * message rather than computed wrongly. */
static void test_conv_bad_geometry(void) {
  gpd_conv_geom g = {1, 2, 8, 8, 3, 7, 8, 3, 1, 1}; /* h_out should be 8 */
  float *x = dut->alloc(dut, 128, "x"), *w = dut->alloc(dut, 54, "w"), *y = dut->alloc(dut, 168, "y");
  gpd_clear_error();
  CHECK(dut->conv2d_forward(dut, &g, x, w, NULL, y) == -1, "inconsistent conv2d geometry accepted");
  CHECK(strstr(gpd_last_error(), "does not match") != NULL, "message: '%s'", gpd_last_error());
  dut->free(dut, x);
  dut->free(dut, w);
  dut->free(dut, y);
}

/* ---- batch norm, pooling --------------------------------------------------- */

static void bn_case(int n, int c, int hw) {
  const size_t count = (size_t)n * c * hw;
  tensor x = t_uniform(count, -2, 3), gamma = t_uniform((size_t)c, 0.5f, 1.5f), beta = t_uniform((size_t)c, -1, 1);
  tensor y = t_new(count), mean = t_new((size_t)c), invstd = t_new((size_t)c);
  tensor rm = t_uniform((size_t)c, -0.5f, 0.5f), rv = t_uniform((size_t)c, 0.5f, 2.0f);
  tensor dy = t_uniform(count, -1, 1), dx = t_new(count);
  tensor dgamma = t_uniform((size_t)c, -1, 1), dbeta = t_uniform((size_t)c, -1, 1);
  char what[96];
  snprintf(what, sizeof what, "batchnorm n%d c%d hw%d", n, c, hw);
  t_poison(&y);
  t_poison(&mean);
  t_poison(&invstd);
  ON_BOTH(E->batchnorm_forward_train(E, n, c, hw, 1e-5f, 0.1f, P(x), P(gamma), P(beta), P(y), P(mean), P(invstd),
                                     P(rm), P(rv)));
  fprintf(stderr, "%s\n", what);
  t_compare("bn forward_train y", &y, 1e-5, 1e-4);
  t_compare("bn forward_train save_mean", &mean, 1e-6, 1e-5);
  t_compare("bn forward_train save_invstd", &invstd, 1e-6, 1e-5);
  t_compare("bn forward_train running_mean", &rm, 1e-6, 1e-5);
  t_compare("bn forward_train running_var", &rv, 1e-6, 1e-5);
  t_poison(&dx);
  ON_BOTH(E->batchnorm_backward_train(E, n, c, hw, P(x), P(dy), P(gamma), P(mean), P(invstd), P(dx), P(dgamma),
                                      P(dbeta)));
  t_compare("bn backward_train dx", &dx, 1e-5, 1e-4);
  t_compare("bn backward_train dgamma (accumulated)", &dgamma, 1e-4, 1e-4);
  t_compare("bn backward_train dbeta (accumulated)", &dbeta, 1e-4, 1e-4);
  /* no affine parameters, no running stats, no parameter gradients */
  t_poison(&y);
  ON_BOTH(E->batchnorm_forward_train(E, n, c, hw, 1e-3f, 0.3f, P(x), NULL, NULL, P(y), P(mean), P(invstd), NULL, NULL));
  t_compare("bn forward_train y, no gamma/beta", &y, 1e-5, 1e-4);
  t_poison(&dx);
  ON_BOTH(E->batchnorm_backward_train(E, n, c, hw, P(x), P(dy), NULL, P(mean), P(invstd), P(dx), NULL, NULL));
  t_compare("bn backward_train dx, no gamma", &dx, 1e-5, 1e-4);
  /* inference */
  t_poison(&y);
  ON_BOTH(E->batchnorm_forward_infer(E, n, c, hw, 1e-5f, P(x), P(gamma), P(beta), P(rm), P(rv), P(y)));
  t_compare("bn forward_infer", &y, 1e-5, 1e-5);
  t_poison(&dx);
  ON_BOTH(E->batchnorm_backward_infer(E, n, c, hw, 1e-5f, P(x), P(dy), P(gamma), P(rm), P(rv), P(dx), P(dgamma),
                                      P(dbeta)));
  t_compare("bn backward_infer dx", &dx, 1e-6, 1e-5);
  t_compare("bn backward_infer dgamma (accumulated)", &dgamma, 1e-4, 1e-4);
  t_compare("bn backward_infer dbeta (accumulated)", &dbeta, 1e-4, 1e-4);
  ON_BOTH(E->batchnorm_backward_infer(E, n, c, hw, 1e-5f, P(x), P(dy), P(gamma), P(rm), P(rv), P(dy), NULL, NULL));
  t_compare("bn backward_infer dx in place", &dy, 1e-6, 1e-5);
  ON_BOTH(E->batchnorm_forward_infer(E, n, c, hw, 1e-5f, P(x), P(gamma), P(beta), P(rm), P(rv), P(x)));
  t_compare("bn forward_infer in place", &x, 1e-5, 1e-5);
  tensor *all[] = {&x, &gamma, &beta, &y, &mean, &invstd, &rm, &rv, &dy, &dx, &dgamma, &dbeta};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) t_free(all[i]);
}

static void test_batchnorm(void) {
  bn_case(4, 5, 37);
  bn_case(64, 512, 16); /* DCGAN first block */
  bn_case(2, 3, 40000);
  bn_case(1, 2, 2);
}

static void test_pool(void) {
  const int shapes[][5] = {{2, 3, 9, 11, 2}, {3, 20, 27, 27, 2}, {1, 2, 12, 12, 3}, {2, 1, 5, 4, 4}};
  char what[96];
  for (int s = 0; s < 4; s++) {
    const int n = shapes[s][0], c = shapes[s][1], h = shapes[s][2], w = shapes[s][3], f = shapes[s][4];
    const size_t nin = (size_t)n * c * h * w, nout = (size_t)n * c * (h / f) * (w / f);
    tensor x = t_levels(nin, 3), y = t_new(nout), am = t_new(nout), dy = t_uniform(nout, -1, 1), dx = t_new(nin);
    snprintf(what, sizeof what, "maxpool2d n%d c%d %dx%d /%d", n, c, h, w, f);
    t_poison(&y);
    t_poison(&am);
    ON_BOTH(E->maxpool2d_forward(E, n, c, h, w, f, P(x), P(y), PI(am)));
    t_compare(what, &y, 0, 0);
    t_compare_int("maxpool2d argmax (ties: first)", &am);
    t_poison(&dx);
    ON_BOTH(E->maxpool2d_backward(E, n, c, h, w, f, P(dy), PI(am), P(dx)));
    t_compare("maxpool2d_backward", &dx, 0, 0);
    t_free(&x);
    t_free(&y);
    t_free(&am);
    t_free(&dy);
    t_free(&dx);
    const size_t nup = (size_t)n * c * h * w * f * f;
    tensor u = t_uniform(nin, -1, 1), v = t_new(nup), dv = t_uniform(nup, -1, 1), du = t_new(nin);
    snprintf(what, sizeof what, "upsample_nearest n%d c%d %dx%d x%d", n, c, h, w, f);
    t_poison(&v);
    ON_BOTH(E->upsample_nearest_forward(E, n, c, h, w, f, P(u), P(v)));
    t_compare(what, &v, 0, 0);
    t_poison(&du);
    ON_BOTH(E->upsample_nearest_backward(E, n, c, h, w, f, P(dv), P(du)));
    t_compare("upsample_nearest_backward", &du, 1e-6, 1e-6);
    t_free(&u);
    t_free(&v);
    t_free(&dv);
    t_free(&du);
  }
}

/* ---- Fourier domain ----------------------------------------------------------- */

static void fft_case(int b, int h, int w, int offset) {
  const size_t nr = (size_t)b * h * w, nc = 2 * (size_t)b * h * (w / 2 + 1);
  /* offset 1 puts the arrays at odd float offsets (unaligned complex) */
  tensor xa = t_uniform(nr + (size_t)offset, -1, 1), Xa = t_new(nc + (size_t)offset), ra = t_new(nr + (size_t)offset);
  tensor x = {nr, xa.c + offset, xa.g + offset}, X = {nc, Xa.c + offset, Xa.g + offset};
  tensor r = {nr, ra.c + offset, ra.g + offset};
  char what[96];
  const double atol = 1e-5 * sqrt((double)h * w) + 1e-5;
  snprintf(what, sizeof what, "fft_r2c b%d %dx%d offset %d", b, h, w, offset);
  t_poison(&X);
  ON_BOTH(E->fft_r2c(E, b, h, w, P(x), P(X)));
  t_compare(what, &X, atol, 1e-4);
  /* c2r of the CPU's spectrum (Hermitian, as every spectrum we invert) */
  float *spec = t_get(ref, X.c, nc);
  t_set(&X, spec);
  t_poison(&r);
  ON_BOTH(E->fft_c2r(E, b, h, w, P(X), P(r)));
  snprintf(what, sizeof what, "fft_c2r b%d %dx%d offset %d", b, h, w, offset);
  t_compare(what, &r, atol * sqrt((double)h * w), 1e-4);
  float *after = t_get(dut, X.g, nc);
  check_close("fft_c2r leaves its input untouched", after, spec, nc, 0, 0);
  free(spec);
  free(after);
  t_free(&xa);
  t_free(&Xa);
  t_free(&ra);
}

static void test_fft(void) {
  fft_case(3, 8, 8, 0);
  fft_case(2, 17, 10, 0);
  fft_case(5, 32, 31, 0);
  fft_case(10, 64, 64, 0);
  fft_case(3, 8, 8, 0); /* cached plans */
  fft_case(3, 9, 7, 1);
}

static void test_complex(void) {
  const int shapes[][3] = {{3, 3, 40}, {10, 1, 64 * 33}, {2, 5, 1}};
  char what[96];
  for (int s = 0; s < 3; s++)
    for (int conj = 0; conj < 2; conj++) {
      const int n = shapes[s][0], c = shapes[s][1];
      const size_t m = (size_t)shapes[s][2];
      tensor a = t_uniform(2 * (size_t)n * c * m, -1, 1), b = t_uniform(2 * (size_t)n * m, -1, 1);
      tensor bb = t_uniform(2 * (size_t)n * c * m, -1, 1), out = t_new(2 * (size_t)n * c * m);
      tensor sum = t_new(2 * (size_t)n * m);
      snprintf(what, sizeof what, "complex_multiply_broadcast n%d c%d m%zu conj%d", n, c, m, conj);
      t_poison(&out);
      ON_BOTH(E->complex_multiply_broadcast(E, n, c, m, conj, P(a), P(b), P(out)));
      t_compare(what, &out, 1e-6, 1e-5);
      snprintf(what, sizeof what, "complex_multiply_sum_channels n%d c%d m%zu conj%d", n, c, m, conj);
      t_poison(&sum);
      ON_BOTH(E->complex_multiply_sum_channels(E, n, c, m, conj, P(a), P(bb), P(sum)));
      t_compare(what, &sum, 1e-5, 1e-5);
      ON_BOTH(E->complex_multiply_broadcast(E, n, c, m, conj, P(a), P(b), P(a)));
      t_compare("complex_multiply_broadcast in place", &a, 1e-6, 1e-5);
      t_free(&a);
      t_free(&b);
      t_free(&bb);
      t_free(&out);
      t_free(&sum);
    }
}

/* ---- blur geometry ---------------------------------------------------------- */

static void test_canvas(void) {
  const int shapes[][4] = {{3, 5, 12, 9}, {2, 4, 10, 10}, {2, 4, 4, 4}, {4, 28, 64, 64}, {1, 1, 3, 2}};
  char what[96];
  for (int s = 0; s < 5; s++)
    for (int centered = 0; centered < 2; centered++) {
      const int n = shapes[s][0], k = shapes[s][1], h = shapes[s][2], w = shapes[s][3];
      tensor ker = t_uniform((size_t)n * k * k, 0, 1), canvas = t_new((size_t)n * h * w);
      tensor grad = t_uniform((size_t)n * h * w, -1, 1), dk = t_new((size_t)n * k * k);
      snprintf(what, sizeof what, "kernel_to_canvas n%d k%d %dx%d centered %d", n, k, h, w, centered);
      t_poison(&canvas);
      ON_BOTH(E->kernel_to_canvas(E, n, k, h, w, centered, P(ker), P(canvas)));
      t_compare(what, &canvas, 0, 0);
      snprintf(what, sizeof what, "kernel_from_canvas n%d k%d %dx%d centered %d", n, k, h, w, centered);
      t_poison(&dk);
      ON_BOTH(E->kernel_from_canvas(E, n, k, h, w, centered, P(grad), P(dk)));
      t_compare(what, &dk, 0, 0);
      t_free(&ker);
      t_free(&canvas);
      t_free(&grad);
      t_free(&dk);
    }
  const int vshapes[][5] = {{2, 3, 12, 10, 5}, {1, 1, 28, 28, 28}, {3, 2, 91, 91, 28}};
  for (int s = 0; s < 3; s++) {
    const int n = vshapes[s][0], c = vshapes[s][1], h = vshapes[s][2], w = vshapes[s][3], k = vshapes[s][4];
    const size_t nf = (size_t)n * c * h * w, nv = (size_t)n * c * (h - k + 1) * (w - k + 1);
    tensor full = t_uniform(nf, -1, 1), valid = t_new(nv), back = t_new(nf);
    snprintf(what, sizeof what, "valid_crop n%d c%d %dx%d k%d", n, c, h, w, k);
    t_poison(&valid);
    ON_BOTH(E->valid_crop(E, n, c, h, w, k, P(full), P(valid)));
    t_compare(what, &valid, 0, 0);
    t_poison(&back);
    ON_BOTH(E->valid_pad(E, n, c, h, w, k, P(valid), P(back)));
    t_compare("valid_pad", &back, 0, 0);
    t_free(&full);
    t_free(&valid);
    t_free(&back);
  }
  const int cshapes[][8] = {{2, 3, 12, 10, 2, 3, 5, 4}, {1, 3, 64, 64, 0, 0, 64, 64}, {4, 1, 70, 66, 6, 1, 64, 64}};
  for (int s = 0; s < 3; s++) {
    const int *q = cshapes[s];
    const size_t nf = (size_t)q[0] * q[1] * q[2] * q[3], nw = (size_t)q[0] * q[1] * q[6] * q[7];
    tensor src = t_uniform(nf, -1, 1), dst = t_new(nw), back = t_new(nf);
    snprintf(what, sizeof what, "crop2d n%d c%d %dx%d at (%d,%d) %dx%d", q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
    t_poison(&dst);
    ON_BOTH(E->crop2d(E, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], P(src), P(dst)));
    t_compare(what, &dst, 0, 0);
    t_poison(&back);
    ON_BOTH(E->crop2d_backward(E, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], P(dst), P(back)));
    t_compare("crop2d_backward", &back, 0, 0);
    t_free(&src);
    t_free(&dst);
    t_free(&back);
  }
}

/* ---- reductions, TV ------------------------------------------------------------ */

static void test_reduce(void) {
  const int items[] = {1, 7, 1000, 10};
  const size_t per[] = {1, 100003, 3, 12288};
  char what[96];
  for (int s = 0; s < 4; s++) {
    const size_t n = (size_t)items[s] * per[s];
    tensor a = t_uniform(n, -1, 2), b = t_uniform(n, -1, 1), out = t_new((size_t)items[s]);
    snprintf(what, sizeof what, "sum_squares_per_item %d x %zu", items[s], per[s]);
    t_poison(&out);
    ON_BOTH(E->sum_squares_per_item(E, items[s], per[s], P(a), P(out)));
    t_compare(what, &out, 1e-6, 1e-6);
    snprintf(what, sizeof what, "squared_distance_per_item %d x %zu", items[s], per[s]);
    t_poison(&out);
    ON_BOTH(E->squared_distance_per_item(E, items[s], per[s], P(a), P(b), P(out)));
    t_compare(what, &out, 1e-6, 1e-6);
    snprintf(what, sizeof what, "sum_per_item %d x %zu", items[s], per[s]);
    t_poison(&out);
    ON_BOTH(E->sum_per_item(E, items[s], per[s], P(a), P(out)));
    t_compare(what, &out, 1e-5, 1e-6);
    t_free(&a);
    t_free(&b);
    t_free(&out);
  }
}

static void test_tv(void) {
  const int shapes[][4] = {{3, 3, 13, 17}, {10, 3, 64, 64}, {2, 1, 1, 9}, {2, 2, 7, 1}};
  char what[96];
  for (int s = 0; s < 4; s++) {
    const int n = shapes[s][0], c = shapes[s][1], h = shapes[s][2], w = shapes[s][3];
    const size_t count = (size_t)n * c * h * w;
    tensor x = t_levels(count, 2), out = t_new((size_t)n), dx = t_uniform(count, -1, 1);
    snprintf(what, sizeof what, "tv_forward n%d c%d %dx%d", n, c, h, w);
    t_poison(&out);
    ON_BOTH(E->tv_forward(E, n, c, h, w, P(x), P(out)));
    t_compare(what, &out, 1e-6, 1e-6);
    snprintf(what, sizeof what, "tv_backward n%d c%d %dx%d (accumulated)", n, c, h, w);
    ON_BOTH(E->tv_backward(E, n, c, h, w, 0.3f, P(x), P(dx)));
    t_compare(what, &dx, 1e-6, 1e-6);
    t_free(&x);
    t_free(&out);
    t_free(&dx);
  }
}

/* ---- optimisers, losses, gather ---------------------------------------------- */

static void test_optim(void) {
  const size_t n = 1000003;
  tensor g = t_uniform(n, -1, 1), p = t_uniform(n, -1, 1), m = t_uniform(n, -0.1f, 0.1f), v = t_uniform(n, 0, 0.01f);
  ON_BOTH(E->sgd_step(E, n, 0.01f, P(g), P(p)));
  t_compare("sgd_step", &p, 1e-7, 1e-6);
  const int steps[] = {1, 2, 7, 1000};
  for (int s = 0; s < 4; s++) {
    ON_BOTH(E->adam_step(E, n, 0.005f, 0.9f, 0.999f, 1e-8f, steps[s], P(g), P(m), P(v), P(p)));
  }
  t_compare("adam_step p", &p, 1e-6, 1e-5);
  t_compare("adam_step m", &m, 1e-7, 1e-6);
  t_compare("adam_step v", &v, 1e-8, 1e-6);
  t_free(&g);
  t_free(&p);
  t_free(&m);
  t_free(&v);
}

static void test_losses(void) {
  const int shapes[][2] = {{3, 50}, {64, 100}, {1, 1}};
  char what[96];
  for (int s = 0; s < 3; s++) {
    const int n = shapes[s][0], L = shapes[s][1];
    const size_t nz = (size_t)n * L;
    tensor stats = t_uniform(2 * nz, -2, 2), eps = t_uniform(nz, -2, 2), z = t_new(nz), dz = t_uniform(nz, -1, 1);
    tensor dstats = t_new(2 * nz), kl = t_new((size_t)n);
    snprintf(what, sizeof what, "vae_sample n%d L%d", n, L);
    t_poison(&z);
    ON_BOTH(E->vae_sample(E, n, L, P(stats), P(eps), P(z)));
    t_compare(what, &z, 1e-6, 1e-5);
    t_poison(&dstats);
    ON_BOTH(E->vae_sample_backward(E, n, L, P(stats), P(eps), P(dz), 0.7f, P(dstats)));
    t_compare("vae_sample_backward", &dstats, 1e-6, 1e-5);
    t_poison(&kl);
    ON_BOTH(E->vae_kl_per_item(E, n, L, P(stats), P(kl)));
    t_compare("vae_kl_per_item", &kl, 1e-5, 1e-6);
    t_free(&stats);
    t_free(&eps);
    t_free(&z);
    t_free(&dz);
    t_free(&dstats);
    t_free(&kl);
  }
  const int counts[] = {1, 1000, 100003};
  for (int s = 0; s < 3; s++)
    for (int t = 0; t < 2; t++) {
      const int n = counts[s];
      tensor logits = t_uniform((size_t)n, -40, 40), loss = t_new((size_t)n), d = t_new((size_t)n);
      snprintf(what, sizeof what, "bce_with_logits n%d target %d loss", n, t);
      t_poison(&loss);
      t_poison(&d);
      ON_BOTH(E->bce_with_logits(E, n, P(logits), (float)t, 0.5f, P(loss), P(d)));
      t_compare(what, &loss, 1e-6, 1e-5);
      t_compare("bce_with_logits dlogits", &d, 1e-7, 1e-5);
      t_poison(&d);
      ON_BOTH(E->bce_with_logits(E, n, P(logits), (float)t, 2.0f, NULL, P(d)));
      t_compare("bce_with_logits dlogits only", &d, 1e-7, 1e-5);
      t_poison(&loss);
      ON_BOTH(E->bce_with_logits(E, n, P(logits), (float)t, 2.0f, P(loss), NULL));
      t_compare("bce_with_logits loss only", &loss, 1e-6, 1e-5);
      t_free(&logits);
      t_free(&loss);
      t_free(&d);
    }
}

static void test_gather(void) {
  const size_t item = 12289;
  const int items = 40;
  tensor src = t_uniform(item * items, -1, 1);
  int index[1100];
  /* a few items; more than one launch's worth (with repeats) */
  const int counts[] = {5, 1100};
  for (int s = 0; s < 2; s++) {
    const int count = counts[s];
    const size_t isz = s ? 3 : item;
    for (int j = 0; j < count; j++) index[j] = gpd_rng_int(&rng, 0, s ? 4 * items - 1 : items - 1);
    tensor dst = t_new(isz * count);
    t_poison(&dst);
    ON_BOTH(E->gather_items(E, count, isz, index, P(src), P(dst)));
    t_compare(s ? "gather_items 1100 small items" : "gather_items 5 items", &dst, 0, 0);
    t_free(&dst);
  }
  /* in place (dst == src): items copied in order, as memmove per item */
  const int order[] = {3, 0, 1, 1, 7, 2};
  ON_BOTH(E->gather_items(E, 6, item, order, P(src), P(src)));
  t_compare("gather_items in place", &src, 0, 0);
  t_free(&src);
}

/* ---- augmentation ------------------------------------------------------------ */

/* DiffAugment with flips: random per-item draws (negative cutout corners,
 * shifts past the edge), 3- and 1-channel items. */
static void test_augment(void) {
  const int shapes[][4] = {{16, 3, 64, 64}, {7, 1, 12, 9}};
  char what[96];
  for (int s = 0; s < 2; s++) {
    const int n = shapes[s][0], c = shapes[s][1], h = shapes[s][2], w = shapes[s][3];
    const size_t total = (size_t)n * c * h * w;
    float *hp = host_floats((size_t)n * GPD_AUGMENT_PARAMS);
    for (int i = 0; i < n; i++) {
      float *q = hp + (size_t)i * GPD_AUGMENT_PARAMS;
      q[GPD_AUG_FLIP] = (float)(i & 1);
      q[GPD_AUG_BRIGHTNESS] = (float)gpd_rng_uniform(&rng) - 0.5f;
      q[GPD_AUG_SATURATION] = 2.0f * (float)gpd_rng_uniform(&rng);
      q[GPD_AUG_CONTRAST] = 0.5f + (float)gpd_rng_uniform(&rng);
      q[GPD_AUG_SHIFT_Y] = (float)gpd_rng_int(&rng, -h / 2, h / 2);
      q[GPD_AUG_SHIFT_X] = (float)gpd_rng_int(&rng, -w / 2, w / 2);
      q[GPD_AUG_CUT_SIZE] = (float)(h / 2);
      q[GPD_AUG_CUT_TOP] = (float)gpd_rng_int(&rng, -h / 4, h - 1);
      q[GPD_AUG_CUT_LEFT] = (float)gpd_rng_int(&rng, -w / 4, w - 1);
    }
    tensor params = t_new((size_t)n * GPD_AUGMENT_PARAMS);
    t_set(&params, hp);
    free(hp);
    tensor x = t_uniform(total, -1, 1), y = t_new(total), dy = t_uniform(total, -1, 1), dx = t_new(total);
    snprintf(what, sizeof what, "diffaugment_forward %dx%dx%dx%d", n, c, h, w);
    t_poison(&y);
    ON_BOTH(E->diffaugment_forward(E, n, c, h, w, P(params), P(x), P(y)));
    t_compare(what, &y, 1e-5, 1e-5);
    snprintf(what, sizeof what, "diffaugment_backward %dx%dx%dx%d", n, c, h, w);
    t_poison(&dx);
    ON_BOTH(E->diffaugment_backward(E, n, c, h, w, P(params), P(dy), P(dx)));
    t_compare(what, &dx, 1e-5, 1e-5);
    t_free(&params), t_free(&x), t_free(&y), t_free(&dy), t_free(&dx);
  }
}

/* ---- CUDA graphs ------------------------------------------------------------- */

/* y = relu(conv(x, w) + b); acc = y + 0.5 acc; s = sum of squares of acc */
static int graph_step(gpd_engine *E, int side, const gpd_conv_geom *g, tensor x, tensor w, tensor b, tensor y,
                      tensor acc, tensor s) {
  const size_t ny = y.n;
  GPD_TRY(E->conv2d_forward(E, g, P(x), P(w), P(b), P(y)));
  GPD_TRY(E->activation_forward(E, GPD_ACT_RELU, 0, ny, P(y), P(y)));
  GPD_TRY(E->axpby(E, ny, 1.0f, P(y), 0.5f, P(acc)));
  return E->sum_squares_per_item(E, g->n, ny / g->n, P(acc), P(s));
}

static void test_graph(void) {
  CHECK(gpd_engine_supports_graphs(dut) == 1, "the CUDA engine does not report graph support");
  CHECK(gpd_engine_supports_graphs(ref) == 0, "the CPU engine reports graph support");
  void *cg = (void *)&ref;
  CHECK_OK(gpd_engine_graph_begin(ref));
  CHECK_OK(gpd_engine_graph_end(ref, &cg));
  CHECK(cg == NULL, "the CPU engine made a graph");
  CHECK(gpd_engine_graph_launch(ref, NULL) == -1, "graph launch on the CPU engine succeeded");

  gpd_conv_geom g = {4, 3, 16, 16, 8, 16, 16, 3, 1, 1};
  const size_t ny = (size_t)g.n * g.c_out * g.h_out * g.w_out;
  tensor x = t_uniform((size_t)g.n * g.c_in * g.h_in * g.w_in, -1, 1), w = t_uniform(8 * 3 * 9, -0.5f, 0.5f);
  tensor b = t_uniform(8, -0.2f, 0.2f), y = t_new(ny), acc = t_uniform(ny, -1, 1), s = t_new((size_t)g.n);
  ON_BOTH(graph_step(E, side, &g, x, w, b, y, acc, s)); /* eager warm-up: plans and algorithms exist */

  void *graph = NULL;
  CHECK_OK(gpd_engine_graph_begin(dut));
  int side = 1;
  int rc = graph_step(dut, side, &g, x, w, b, y, acc, s);
  float one = 1.0f;
  CHECK(dut->upload(dut, s.g, &one, 1) == -1, "upload during capture was accepted");
  CHECK(dut->sync(dut) == -1, "sync during capture was accepted");
  CHECK_OK(gpd_engine_graph_end(dut, &graph));
  CHECK(rc == 0, "a captured op failed: %s", gpd_last_error());
  CHECK(graph != NULL, "no graph");
  t_compare("graph: capture does not execute", &acc, 1e-5, 1e-5);
  for (int it = 0; it < 3; it++) {
    CHECK_OK(gpd_engine_graph_launch(dut, graph));
    side = 0;
    CHECK_OK(graph_step(ref, side, &g, x, w, b, y, acc, s));
  }
  t_compare("graph replay: acc after 3 launches", &acc, 1e-4, 1e-4);
  t_compare("graph replay: per-item sums", &s, 1e-3, 1e-4);
  gpd_engine_graph_free(graph);
  /* the engine still runs eagerly after a capture */
  ON_BOTH(graph_step(E, side, &g, x, w, b, y, acc, s));
  t_compare("eager after graphs: acc", &acc, 1e-4, 1e-4);
  t_free(&x);
  t_free(&w);
  t_free(&b);
  t_free(&y);
  t_free(&acc);
  t_free(&s);
}

/* ---- device-scalar optimiser steps, in graphs; forks ------------------------------- */

/* sgd_step_device_lr on p1 and adam_step_device_t on p2 with the schedule
 * in sched (4 floats: lr_sgd, lr_adam, t) */
static int sched_step(gpd_engine *E, int side, tensor sched, tensor g, tensor p1, tensor p2, tensor m, tensor v) {
  if (side) count_op("E->sgd_step_device_lr"), count_op("E->adam_step_device_t");
  GPD_TRY(E->sgd_step_device_lr(E, g.n, P(sched), P(g), P(p1)));
  return E->adam_step_device_t(E, g.n, P(sched) + 1, 0.9f, 0.999f, 1e-8f, P(g), P(m), P(v), P(p2));
}

static void test_optim_device(void) {
  const size_t n = 1000003;
  tensor g = t_uniform(n, -1, 1), p1 = t_uniform(n, -1, 1), p2 = t_uniform(n, -1, 1);
  tensor m = t_uniform(n, -0.1f, 0.1f), v = t_uniform(n, 0, 0.01f), sched = t_new(3);
  /* eagerly, both engines, a few schedules (t as the solver writes it) */
  const float lrs[][3] = {{0.01f, 0.005f, 1.0f}, {0.009f, 0.004f, 2.0f}, {0.5f, 0.05f, 1000.0f}, {0.1f, 0.1f, 0.0f}};
  for (int s = 0; s < 4; s++) {
    t_set(&sched, lrs[s]);
    ON_BOTH(sched_step(E, side, sched, g, p1, p2, m, v));
  }
  t_compare("sgd_step_device_lr", &p1, 1e-7, 1e-6);
  t_compare("adam_step_device_t p", &p2, 1e-6, 1e-5);
  t_compare("adam_step_device_t m", &m, 1e-7, 1e-6);
  t_compare("adam_step_device_t v", &v, 1e-8, 1e-6);
  /* the engine's device-scalar Adam against its by-value Adam */
  tensor q = t_uniform(n, -1, 1), mq = t_uniform(n, -0.1f, 0.1f), vq = t_uniform(n, 0, 0.01f);
  float *sched_g = NULL;
  const float s7[2] = {0.003f, 7.0f};
  if (!(sched_g = dut->alloc(dut, 2, "schedule")) || dut->upload(dut, sched_g, s7, 2)) fatal("schedule");
  tensor q2 = t_new(n), mq2 = t_new(n), vq2 = t_new(n);
  CHECK_OK(dut->copy(dut, q2.g, q.g, n));
  CHECK_OK(dut->copy(dut, mq2.g, mq.g, n));
  CHECK_OK(dut->copy(dut, vq2.g, vq.g, n));
  CHECK_OK(dut->adam_step(dut, n, 0.003f, 0.9f, 0.999f, 1e-8f, 7, g.g, mq.g, vq.g, q.g));
  CHECK_OK(dut->adam_step_device_t(dut, n, sched_g, 0.9f, 0.999f, 1e-8f, g.g, mq2.g, vq2.g, q2.g));
  float *a = t_get(dut, q.g, n), *b = t_get(dut, q2.g, n);
  check_close("adam_step_device_t vs adam_step on the engine under test", b, a, n, 1e-7, 1e-6);
  free(a);
  free(b);
  dut->free(dut, sched_g);

  /* captured once, replayed with a new schedule written before each launch */
  if (!gpd_engine_supports_graphs(dut)) goto done;
  int side = 1;
  void *graph = NULL;
  CHECK_OK(gpd_engine_graph_begin(dut));
  int rc = sched_step(dut, side, sched, g, p1, p2, m, v);
  CHECK_OK(gpd_engine_graph_end(dut, &graph));
  CHECK(rc == 0 && graph, "capturing the device-scalar steps failed: %s", gpd_last_error());
  for (int it = 0; graph && it < 5; it++) {
    const float now[3] = {0.02f * expf(-it / 3.0f), 0.005f * expf(-it / 2.0f), (float)(it + 3)};
    t_set(&sched, now); /* uploads: outside the capture */
    CHECK_OK(gpd_engine_graph_launch(dut, graph));
    side = 0;
    CHECK_OK(sched_step(ref, side, sched, g, p1, p2, m, v));
  }
  gpd_engine_graph_free(graph);
  t_compare("graph replay: sgd_step_device_lr with changing lr", &p1, 1e-6, 1e-5);
  t_compare("graph replay: adam_step_device_t with changing lr and t", &p2, 1e-5, 1e-4);
done:
  t_free(&g);
  t_free(&p1);
  t_free(&p2);
  t_free(&m);
  t_free(&v);
  t_free(&sched);
  t_free(&q);
  t_free(&mq);
  t_free(&vq);
  t_free(&q2);
  t_free(&mq2);
  t_free(&vq2);
}

/* A fork: same device memory space, its own stream and graphs. */
static void test_fork(void) {
  gpd_engine *f = dut->fork(dut);
  if (!f) {
    CHECK(0, "fork: %s", gpd_last_error());
    return;
  }
  CHECK(!strcmp(f->name, dut->name) && f->precision == dut->precision && f != dut, "the fork is not a sibling");
  const size_t n = 100003;
  tensor x = t_uniform(n, -1, 1), y = t_uniform(n, -1, 1);
  float *z = f->alloc(f, n, "fork tensor"); /* the fork's memory, the parent's inputs */
  CHECK(z != NULL, "fork alloc: %s", gpd_last_error());
  if (z) {
    CHECK_OK(f->copy(f, z, y.g, n));
    CHECK_OK(f->axpby(f, n, 0.5f, x.g, 2.0f, z));
    void *graph = NULL; /* a graph on the fork's stream (eager elsewhere) */
    CHECK_OK(gpd_engine_graph_begin(f));
    int rc = f->axpby(f, n, 1.0f, x.g, 1.0f, z);
    CHECK_OK(gpd_engine_graph_end(f, &graph));
    CHECK(rc == 0 && (graph || !gpd_engine_supports_graphs(f)), "capture on the fork: %s", gpd_last_error());
    const int launched = !graph || gpd_engine_graph_launch(f, graph) == 0;
    CHECK(!graph || launched, "launch on the fork: %s", gpd_last_error());
    gpd_engine_graph_free(graph);
    float *got = t_get(f, z, n), *hx = t_get(ref, x.c, n), *hy = t_get(ref, y.c, n);
    for (size_t i = 0; i < n; i++) hy[i] = 2.0f * hy[i] + 0.5f * hx[i] + (launched ? hx[i] : 0.0f);
    check_close("fork: axpby on the parent's memory, then a graph", got, hy, n, 1e-6, 1e-6);
    free(got);
    free(hx);
    free(hy);
    f->free(f, z);
  }
  gpd_engine_destroy(f);
  t_free(&x);
  t_free(&y);
}

/* The engine under test in another precision, whose conv / dense layers
 * must stay within that precision's error. */
static void test_precision(void) {
  gpd_engine *full = dut;
  const gpd_precision low = dut_is_cuda ? GPD_PRECISION_TF32 : GPD_PRECISION_BF16;
  dut = gpd_engine_create(full->name, low);
  if (!dut) fatal("reduced-precision engine create");
  fprintf(stderr, "%s engine in %s:\n", dut->name, dut_is_cuda ? "TF32" : "bf16");
  /* bf16 keeps 8 bits of mantissa: each rounded input is off by up to
   * 2^-9 relative, so a product by ~2^-8 and a sum of them by about that
   * in NMSE terms (~1.5e-5); 1e-4 leaves room, fp32 results would be ~1e-13.
   * TF32 keeps 10 bits. */
  nmse_limit = dut_is_cuda ? 1e-5 : 1e-4;
  test_linear(0, 0);
  test_conv(0, 0);
  test_hold_constant(0, 0); /* bf16 runs a strided transposed convolution's forward by phases */
  nmse_limit = 0;
  gpd_engine_destroy(dut);
  dut = full;
}

/* The suite runs on one OpenMP thread (OMP_NUM_THREADS=1): the ops the
 * cpu engine splits over its pool (GPD_CPU_OMP_OPS: batch norm by channel,
 * activations and Adam by element, FFTs by batch item) again on 3 threads,
 * so that uneven parts and remainders are checked against ref too. */
static void test_threads(void) {
  gpd_cpu_set_threads(3);
  fprintf(stderr, "%s engine on 3 OpenMP threads:\n", dut->name);
  test_activation();
  test_batchnorm();
  test_fft();
  test_optim();
  test_conv(5e-4, 2e-4);
  gpd_cpu_set_threads(1);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : getenv("GPD_TEST_ENGINE");
  if (!name || !*name) name = "cpu";
  dut_is_cuda = !strcmp(name, "cuda");
  if (dut_is_cuda && !gpd_cuda_available())
    SKIP("no GPU: gpd_cuda_available() is 0 (no CUDA device, or this build has no CUDA engine)");
  gpd_rng_seed(&rng, 20240611);
  ref = gpd_engine_ref_create();
  dut = gpd_engine_create(name, GPD_PRECISION_FP32);
  if (!ref || !dut) fatal("engine create");
  fprintf(stderr, "engine under test: %s, against ref\n", dut->name);

  test_table();
  test_memory();
  test_elementwise();
  test_activation();
  test_linear(1e-4, 1e-4);
  test_conv(5e-4, 2e-4);
  test_conv_bad_geometry();
  test_hold_constant(5e-4, 2e-4);
  test_batchnorm();
  test_pool();
  test_fft();
  test_complex();
  test_canvas();
  test_reduce();
  test_tv();
  test_optim();
  test_losses();
  test_gather();
  test_augment();
  if (gpd_engine_supports_graphs(dut)) test_graph();
  test_optim_device();
  test_fork();
  test_coverage();
  test_precision();
  if (!dut_is_cuda) test_threads();

  gpd_engine_destroy(dut);
  gpd_engine_destroy(ref);
  return check_report("test_engine_ops");
}
