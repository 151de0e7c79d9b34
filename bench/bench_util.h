/* Helpers shared by the benchmark programs in bench/ (each bench_*.c is one
 * executable; this header is included by them, not compiled on its own):
 * the options every bench takes and its engine, statistics of repeated
 * timings, an engine-memory tracker, the process's resident memory, the
 * machine's load, the CPU's measured sgemm and oneDNN gemm peaks and a
 * GPU's FP32 / TF32 peak, building generators with random weights and a
 * measurement, and output rows printed as CSV or JSON from one list of
 * fields.
 *
 * Timing: every repetition ends with e->sync(), so wall-clock time around a
 * repetition is the engine's time for it (the engine table has no events;
 * on CUDA, sync + a monotonic clock measures the same thing as a pair of
 * events around the stream's work, plus a few microseconds of sync). */
#ifndef GPD_BENCH_UTIL_H
#define GPD_BENCH_UTIL_H

#define _GNU_SOURCE
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/image.h"
#include "gpd/net.h"
#include "gpd/rng.h"

#ifdef GPD_HAVE_CUDA
#include <cuda_runtime.h>
#endif

/* The process's CPU time in seconds, all threads (with one thread the work
 * itself, which other programs on the machine barely change). */
static inline double bench_cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* ---- statistics ------------------------------------------------------------ */

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct bench_stats {
  double median, min, max;
  int count;
} bench_stats;

/* Median, min and max of t[0..n) (sorts t). */
static inline bench_stats bench_summarise(double *t, int n) {
  bench_stats s = {0, 0, 0, n};
  if (n <= 0) return s;
  qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
  s.min = t[0];
  s.max = t[n - 1];
  s.median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  return s;
}

/* ---- engine memory: every alloc / free through the table ------------------- */

/* Wraps an engine's alloc and free so the live and peak bytes of engine
 * memory handed out through the table are known (parameters, workspaces,
 * solver buffers). Engine-internal scratch (the CPU engine's im2col
 * buffers, cuDNN workspaces, FFT plans) is not seen here: the CPU bench
 * reports resident memory too, the CUDA one the drop in free device memory. */
typedef struct bench_mem {
  float *(*alloc)(gpd_engine *e, size_t count, const char *what);
  void (*free)(gpd_engine *e, void *p);
  void **ptr;
  size_t *bytes;
  size_t n, cap;
  size_t live, peak;
} bench_mem;

static bench_mem bench_mem_state __attribute__((unused));

static inline float *bench_mem_alloc(gpd_engine *e, size_t count, const char *what) {
  bench_mem *m = &bench_mem_state;
  float *p = m->alloc(e, count, what);
  if (!p) return NULL;
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 256;
    void **np = realloc(m->ptr, cap * sizeof *np);
    if (np) m->ptr = np;
    size_t *nb = realloc(m->bytes, cap * sizeof *nb);
    if (nb) m->bytes = nb;
    if (!np || !nb) return p; /* untracked: the counts only undercount */
    m->cap = cap;
  }
  m->ptr[m->n] = p;
  m->bytes[m->n] = count * sizeof(float);
  m->n++;
  m->live += count * sizeof(float);
  if (m->live > m->peak) m->peak = m->live;
  return p;
}

static inline void bench_mem_free(gpd_engine *e, void *p) {
  bench_mem *m = &bench_mem_state;
  if (p)
    for (size_t i = m->n; i-- > 0;)
      if (m->ptr[i] == p) {
        m->live -= m->bytes[i];
        m->ptr[i] = m->ptr[m->n - 1];
        m->bytes[i] = m->bytes[m->n - 1];
        m->n--;
        break;
      }
  m->free(e, p);
}

static inline void bench_mem_track(gpd_engine *e) {
  bench_mem_state.alloc = e->alloc;
  bench_mem_state.free = e->free;
  e->alloc = bench_mem_alloc;
  e->free = bench_mem_free;
}

/* Starts a new peak from the bytes live now. */
static inline void bench_mem_reset_peak(void) { bench_mem_state.peak = bench_mem_state.live; }

/* ---- the host ---------------------------------------------------------------- */

/* Resident set size of this process now, bytes (0 if unknown). */
static inline size_t bench_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f) return 0;
  int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
  fclose(f);
  return ok ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* The process's peak resident set so far (getrusage), bytes. It sees
 * transient peaks between two samples (an engine's scratch buffers freed
 * before the sample), but only grows: only a rise during a run says
 * something about that run. */
static inline size_t bench_max_rss_bytes(void) {
  struct rusage u;
  return getrusage(RUSAGE_SELF, &u) == 0 ? (size_t)u.ru_maxrss * 1024 : 0;
}

/* The 1-minute load average (other work sharing the cores), -1 if unknown. */
static inline double bench_loadavg(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  double l = -1.0;
  if (!f) return -1.0;
  if (fscanf(f, "%lf", &l) != 1) l = -1.0;
  fclose(f);
  return l;
}

/* The CPU's "model name" from /proc/cpuinfo into buf (commas replaced, so
 * it can sit in a CSV field). */
static inline void bench_cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10)) continue;
    const char *v = strchr(line, ':');
    if (!v) break;
    v++;
    while (*v == ' ') v++;
    snprintf(buf, size, "%s", v);
    buf[strcspn(buf, "\n")] = 0;
    for (char *c = buf; *c; c++)
      if (*c == ',') *c = ' ';
    break;
  }
  fclose(f);
}

/* Measured single-precision peak of this CPU with OpenBLAS at its current
 * thread count: the best of a few sgemm calls of n x n x n (2 n^3 FLOPs
 * each), GFLOP/s. This is what the conv layers (im2col + sgemm) can reach
 * at most, so the benches report their FLOP rate as a fraction of it. */
static inline double bench_cpu_sgemm_peak_gflops(int n, int reps) {
  float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
        *c = malloc(sizeof(float) * (size_t)n * n);
  if (!a || !b || !c) {
    free(a), free(b), free(c);
    return 0.0;
  }
  for (size_t i = 0; i < (size_t)n * n; i++) {
    a[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    b[i] = (float)((i * 104729) % 2003) / 1000.0f - 1.0f;
  }
  double best = 0.0;
  for (int r = 0; r < reps + 1; r++) { /* the first call warms up (page faults, thread start) */
    double t0 = gpd_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double dt = gpd_seconds() - t0;
    double g = 2.0 * n * (double)n * n / dt * 1e-9;
    if (r > 0 && g > best) best = g;
  }
  free(a), free(b), free(c);
  return best;
}

/* Measured peak of the cpu engine's own library: the best of a few oneDNN
 * matmuls of n x n x n (2 n^3 FLOPs each) on its OpenMP threads, in fp32 or
 * in bf16 (bf16 inputs, fp32 output: the conv layers' bf16 mode). oneDNN
 * reaches more than OpenBLAS in fp32 on some CPUs, and bf16 has its own
 * (about twice as high) peak on CPUs with AVX512-BF16, so the cpu engine's
 * FLOP rate is reported as a fraction of this. 0 when oneDNN refuses. */
static inline double bench_cpu_onednn_gemm_peak_gflops(int n, int reps, int bf16) {
  double best = 0.0;
  dnnl_engine_t eng = NULL;
  dnnl_stream_t stream = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t mem[3] = {NULL, NULL, NULL};
  const dnnl_data_type_t in_type = bf16 ? dnnl_bf16 : dnnl_f32;
  dnnl_dims_t dims = {n, n};
  dnnl_memory_desc_t md_in, md_out;
  dnnl_matmul_desc_t desc;
  if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&stream, eng, dnnl_stream_default_flags) != dnnl_success ||
      dnnl_memory_desc_init_by_tag(&md_in, 2, dims, in_type, dnnl_ab) != dnnl_success ||
      dnnl_memory_desc_init_by_tag(&md_out, 2, dims, dnnl_f32, dnnl_ab) != dnnl_success ||
      dnnl_matmul_desc_init(&desc, &md_in, &md_in, NULL, &md_out) != dnnl_success ||
      dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL) != dnnl_success ||
      dnnl_primitive_create(&prim, pd) != dnnl_success)
    goto done;
  for (int i = 0; i < 3; i++) {
    const dnnl_memory_desc_t *md = i < 2 ? &md_in : &md_out;
    if (dnnl_memory_create(&mem[i], md, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) goto done;
    void *h = NULL;
    if (dnnl_memory_get_data_handle(mem[i], &h) != dnnl_success) goto done;
    /* values in [-1, 1], no denormals: the top half of an fp32 is its bf16 */
    for (size_t k = 0; k < (size_t)n * n; k++) {
      float v = (float)(((k + 7 * (size_t)i) * 7919) % 2001) / 1000.0f - 1.0f;
      if (bf16 && i < 2) {
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        ((uint16_t *)h)[k] = (uint16_t)(bits >> 16);
      } else {
        ((float *)h)[k] = v;
      }
    }
  }
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]}};
  for (int r = 0; r < reps + 1; r++) { /* the first call warms up */
    double t0 = gpd_seconds();
    if (dnnl_primitive_execute(prim, stream, 3, args) != dnnl_success || dnnl_stream_wait(stream) != dnnl_success) {
      best = 0.0;
      break;
    }
    double g = 2.0 * n * (double)n * n / (gpd_seconds() - t0) * 1e-9;
    if (r > 0 && g > best) best = g;
  }
done:
  for (int i = 0; i < 3; i++)
    if (mem[i]) dnnl_memory_destroy(mem[i]);
  if (prim) dnnl_primitive_destroy(prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (stream) dnnl_stream_destroy(stream);
  if (eng) dnnl_engine_destroy(eng);
  return best;
}

/* ---- the GPU ------------------------------------------------------------------ */

typedef struct bench_gpu_info {
  char name[256];
  int sm_major, sm_minor, sms;
  double clock_ghz;
  double fp32_tflops, tf32_tflops; /* dense peaks at clock_ghz; 0 when unknown */
  size_t total_bytes;
} bench_gpu_info;

/* Peak FLOP/s of device 0 from its properties: SM count x per-SM FLOPs per
 * clock (from NVIDIA's architecture whitepapers; dense tensor-core TF32)
 * x the reported maximum SM clock. The maximum clock is above what long
 * runs sustain (NVIDIA's own TF32 figure for the H100 / H200 SXM, 495
 * TFLOP/s, uses 1.83 GHz), so fractions of it are slightly pessimistic.
 * Returns 0, or -1 when built without CUDA or no GPU answers. */
static inline int bench_gpu_query(bench_gpu_info *g) {
  memset(g, 0, sizeof *g);
#ifdef GPD_HAVE_CUDA
  struct cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return -1;
  snprintf(g->name, sizeof g->name, "%s", p.name);
  for (char *c = g->name; *c; c++)
    if (*c == ',') *c = ' ';
  g->sm_major = p.major;
  g->sm_minor = p.minor;
  g->sms = p.multiProcessorCount;
  g->total_bytes = p.totalGlobalMem;
  int khz = 0;
  if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0) != cudaSuccess) khz = 0;
  g->clock_ghz = khz * 1e-6;
  /* FP32 FLOPs per SM per clock (2 x FP32 lanes) and dense TF32 tensor FLOPs */
  int fp32 = 0, tf32 = 0, sm = 10 * p.major + p.minor;
  switch (sm) {
  case 70: fp32 = 128; tf32 = 0; break;     /* V100: no TF32 */
  case 75: fp32 = 128; tf32 = 0; break;     /* T4 */
  case 80: fp32 = 128; tf32 = 1024; break;  /* A100 */
  case 86: fp32 = 256; tf32 = 256; break;   /* GA10x */
  case 89: fp32 = 256; tf32 = 256; break;   /* Ada */
  case 90: fp32 = 256; tf32 = 2048; break;  /* H100 / H200 */
  default: break;
  }
  g->fp32_tflops = (double)fp32 * g->sms * g->clock_ghz * 1e-3;
  g->tf32_tflops = (double)tf32 * g->sms * g->clock_ghz * 1e-3;
  return 0;
#else
  return -1;
#endif
}

/* ---- engines and networks ------------------------------------------------------------ */

/* "fp32", "tf32" or "bf16" -> *p; 0 or -1 (with an error). */
static inline int bench_parse_precision(const char *s, gpd_precision *p) {
  if (gpd_precision_parse(s, p) != 0) return gpd_error("unknown precision '%s' (expected fp32, tf32 or bf16)", s);
  return 0;
}

/* ---- the options every bench takes, and its engine --------------------------- */

typedef struct bench_common {
  const char *device;    /* "ref", "cpu" or "cuda" */
  gpd_precision precision;
  int json, header;      /* --json: JSON lines; else CSV, with a header line unless --no-header */
} bench_common;

static inline void bench_common_init(bench_common *c) {
  c->device = "cpu";
  c->precision = GPD_PRECISION_FP32;
  c->json = 0;
  c->header = 1;
}

/* Reads option argv[*i]. The options every bench takes (--device D,
 * --precision P, --json, --header, --no-header) are parsed here: 1. Any
 * other takes a value, returned in *value: 0 (the bench parses it, or
 * calls it unknown). *i is left on the option's last word; -1 with an
 * error for a missing or bad value. */
static inline int bench_option(bench_common *c, int argc, char **argv, int *i, const char **value) {
  const char *a = argv[*i];
  if (!strcmp(a, "--json")) c->json = 1;
  else if (!strcmp(a, "--no-header")) c->header = 0;
  else if (!strcmp(a, "--header")) c->header = 1;
  else {
    if (*i + 1 >= argc) return gpd_error("option %s needs a value (or is unknown)", a);
    const char *v = argv[++*i];
    if (!strcmp(a, "--device")) c->device = v;
    else if (!strcmp(a, "--precision")) GPD_TRY(bench_parse_precision(v, &c->precision));
    else {
      *value = v;
      return 0;
    }
  }
  return 1;
}

/* After parsing: --device is ref, cpu or cuda. */
static inline int bench_common_check(const bench_common *c) {
  if (strcmp(c->device, "ref") && strcmp(c->device, "cpu") && strcmp(c->device, "cuda"))
    return gpd_error("--device %s: expected ref, cpu or cuda", c->device);
  return 0;
}

/* Prints "<prog>: <the recorded error>" on stderr; returns 1. */
static inline int bench_fail(const char *prog) {
  fprintf(stderr, "%s: %s\n", prog, gpd_last_error());
  return 1;
}

/* The engine of --device / --precision, or NULL with *status the exit
 * status: 77 when --device cuda has no CUDA engine or GPU (so scripts can
 * skip it), else 1; either way with one line on stderr. */
static inline gpd_engine *bench_engine_open(const char *prog, const bench_common *c, int *status) {
  if (!strcmp(c->device, "cuda") && !gpd_cuda_available()) {
    fprintf(stderr, "%s: skipped --device cuda: no CUDA engine in this build or no GPU visible\n", prog);
    *status = 77;
    return NULL;
  }
  gpd_engine *e = gpd_engine_create(c->device, c->precision);
  if (!e) *status = bench_fail(prog);
  return e;
}

/* The start of a bench's main, after parse() returned `parsed`: on a
 * parse error prints it and the usage text, *status 2; else the engine
 * (bench_engine_open). NULL when the bench cannot run (*status set). */
static inline gpd_engine *bench_start(const char *prog, const char *usage, int parsed, const bench_common *c,
                                      int *status) {
  if (parsed != 0) {
    bench_fail(prog);
    fputs(usage, stderr);
    *status = 2;
    return NULL;
  }
  return bench_engine_open(prog, c, status);
}

/* Threads a CPU engine computes with: cpu, oneDNN's OpenMP pool
 * (OMP_NUM_THREADS); ref, OpenBLAS's (OPENBLAS_NUM_THREADS; its im2col /
 * col2im follow it); 0 for cuda. */
static inline int bench_cpu_threads(const bench_common *c) {
  if (!strcmp(c->device, "cuda")) return 0;
  return strcmp(c->device, "cpu") ? openblas_get_num_threads() : omp_get_max_threads();
}

/* The sgemm peak (bench_cpu_sgemm_peak_gflops) with OpenBLAS at `threads`
 * threads: the cpu engine keeps OpenBLAS at one thread while it exists, so
 * the count is set for the measurement and put back after it. */
static inline double bench_cpu_peak_at(int threads) {
  const int before = openblas_get_num_threads();
  openblas_set_num_threads(threads);
  const double peak = bench_cpu_sgemm_peak_gflops(1024, 20);
  openblas_set_num_threads(before);
  return peak;
}

/* Builds, allocates and initialises a network with random weights (the
 * project's standard initialisation from `seed`), batch norm in inference
 * mode (running mean 0, variance 1, as a solver uses a trained generator). */
static inline int bench_make_net(gpd_net *net, gpd_engine *e, const char *arch, const char *role, uint64_t seed) {
  gpd_arch a;
  memset(&a, 0, sizeof a);
  snprintf(a.name, sizeof a.name, "%s", arch);
  GPD_TRY(gpd_net_build(net, &a, role));
  if (gpd_net_alloc(net, e) != 0) return -1;
  if (gpd_net_init(net, seed) != 0) {
    gpd_net_free(net);
    return -1;
  }
  net->bn_train = 0;
  return 0;
}

/* Uploads count N(0, 1) numbers drawn from seed into engine memory x. */
static inline int bench_upload_normal(gpd_engine *e, float *x, size_t count, uint64_t seed) {
  float *h = gpd_malloc(sizeof(float) * count, "benchmark input");
  if (!h) return -1;
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  gpd_rng_fill_normal(&r, h, count, 0.0f, 1.0f);
  int rc = e->upload(e, x, h, count);
  free(h);
  return rc;
}

/* The measurement: G_I(z*) blurred by a Gaussian (sigma 2) kernel of the
 * blur generator's size, circular boundary, no noise. Its content does not
 * change the work per iteration; it keeps the losses finite and typical. */
static inline int bench_make_measurement(gpd_engine *e, gpd_net *gi, int ksize, gpd_image *y) {
  gpd_net_workspace ws;
  gpd_image sharp = {0};
  float *z = NULL, *k = NULL;
  int rc = -1;
  if (gpd_net_workspace_alloc(&ws, gi, 1) != 0) return -1;
  if (!(z = e->alloc(e, gpd_net_in_size(gi), "z*")) || bench_upload_normal(e, z, gpd_net_in_size(gi), 7)) goto done;
  const float *x = gpd_net_forward(gi, &ws, 1, z);
  if (!x || gpd_image_alloc(&sharp, gi->out_c, gi->out_h, gi->out_w) != 0) goto done;
  if (e->download(e, sharp.data, x, gpd_net_out_size(gi)) != 0) goto done;
  if (!(k = gpd_malloc(sizeof(float) * (size_t)ksize * ksize, "kernel")) || gpd_gaussian_kernel(k, ksize, 2.0f))
    goto done;
  rc = gpd_blur_image(&sharp, k, ksize, GPD_BOUNDARY_CIRCULAR, 0.0f, 0, y);
done:
  free(k);
  gpd_image_free(&sharp);
  if (z) e->free(e, z);
  gpd_net_workspace_free(&ws, e);
  return rc;
}

/* The solver benches' problem: G_I the DCGAN-64 generator (dcgan_tf, seed
 * 1), G_K the blur VAE's decoder (seed 2), y their measurement
 * (bench_make_measurement). On failure nothing is left allocated. */
static inline int bench_make_problem(gpd_engine *e, gpd_net *gi, gpd_net *gk, gpd_image *y) {
  *y = (gpd_image){0};
  GPD_TRY(bench_make_net(gi, e, "dcgan_tf", "generator", 1));
  if (bench_make_net(gk, e, "blur_vae", "decoder", 2) != 0) {
    gpd_net_free(gi);
    return -1;
  }
  if (bench_make_measurement(e, gi, gk->out_h, y) != 0) {
    gpd_net_free(gk);
    gpd_net_free(gi);
    return -1;
  }
  return 0;
}

static inline void bench_problem_free(gpd_net *gi, gpd_net *gk, gpd_image *y) {
  gpd_image_free(y);
  gpd_net_free(gk);
  gpd_net_free(gi);
}

/* ---- per-iteration marks ------------------------------------------------------------ */

/* Wall-clock marks taken from a solver's progress callback: t[0] just
 * before gpd_solve, t[i] at the end of iteration i. */
typedef struct bench_marks {
  double *t;
  int n, cap;
} bench_marks;

/* Room for cap marks (it grows when the solver reports more: groups run one
 * after another), the first taken now. 0 or -1. */
static inline int bench_marks_start(bench_marks *m, int cap) {
  m->n = 0;
  m->cap = cap;
  if (!(m->t = gpd_malloc(sizeof(double) * (size_t)cap, "iteration marks"))) return -1;
  m->t[m->n++] = gpd_seconds();
  return 0;
}

/* Appends the time now; a mark that finds no memory is dropped (the
 * caller's count of marks reports it). */
static inline void bench_marks_add(bench_marks *m) {
  if (m->n == m->cap) {
    double *t = realloc(m->t, sizeof(double) * 2 * (size_t)m->cap);
    if (!t) return;
    m->t = t;
    m->cap *= 2;
  }
  m->t[m->n++] = gpd_seconds();
}

/* Intervals [from, to) of the marks (interval i = t[i+1] - t[i]) appended
 * to dt[*n ...]. */
static inline void bench_marks_take(const bench_marks *m, int from, int to, double *dt, int *n) {
  for (int i = from; i < to && i + 1 < m->n; i++) dt[(*n)++] = m->t[i + 1] - m->t[i];
}

static inline void bench_marks_free(bench_marks *m) {
  free(m->t);
  m->t = NULL;
}

/* ---- output rows ------------------------------------------------------------------ */

/* One result row, printed as a CSV line (after a header line of the keys
 * before the first row, when wanted) or as one JSON object per line:
 *   {"key": "text", "key": 1.234, ...}
 * Fields are added in order; numbers are formatted by the caller's format. */
#define BENCH_ROW_MAX 32
typedef struct bench_row {
  int n;
  const char *key[BENCH_ROW_MAX];
  char val[BENCH_ROW_MAX][128];
  int text[BENCH_ROW_MAX]; /* quoted in JSON */
} bench_row;

/* A field whose value is printf(fmt, ...); text: a string (quoted in JSON). */
__attribute__((format(printf, 4, 5))) static inline void bench_row_field(bench_row *r, const char *key, int text,
                                                                          const char *fmt, ...) {
  if (r->n == BENCH_ROW_MAX) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->val[r->n], sizeof r->val[r->n], fmt, ap);
  va_end(ap);
  r->key[r->n] = key;
  r->text[r->n] = text;
  r->n++;
}
/* A text field; a number printed with fmt ("%d", "%.3f", ...). */
#define bench_row_str(r, key, v) bench_row_field(r, key, 1, "%s", v)
#define bench_row_num(r, key, ...) bench_row_field(r, key, 0, __VA_ARGS__)

/* A new row with the fields every bench starts with: bench, impl
 * (gpdeblur), device, precision (the engine's), threads. */
static inline void bench_row_start(bench_row *r, const char *bench, const bench_common *c, const gpd_engine *e,
                                   int threads) {
  r->n = 0;
  bench_row_str(r, "bench", bench);
  bench_row_str(r, "impl", "gpdeblur");
  bench_row_str(r, "device", c->device);
  bench_row_str(r, "precision", gpd_precision_name(e->precision));
  bench_row_num(r, "threads", "%d", threads);
}

/* Prints the row on stdout as JSON (c->json) or CSV; the CSV header line
 * goes before the first row printed when c->header (*header_done tracks
 * it). Flushes, so rows appear as they are measured. */
static inline void bench_row_print(const bench_row *r, const bench_common *c, int *header_done) {
  if (c->json) {
    for (int i = 0; i < r->n; i++)
      printf("%s\"%s\": %s%s%s", i ? ", " : "{", r->key[i], r->text[i] ? "\"" : "", r->val[i], r->text[i] ? "\"" : "");
    printf("}\n");
  } else {
    if (c->header && !*header_done)
      for (int i = 0; i < r->n; i++) printf("%s%s", r->key[i], i + 1 < r->n ? "," : "\n");
    for (int i = 0; i < r->n; i++) printf("%s%s", r->val[i], i + 1 < r->n ? "," : "\n");
  }
  *header_done = 1;
  fflush(stdout);
}

/* Parses a comma-separated list of positive integers into v (at most max);
 * returns the count, or -1 with an error. */
static inline int bench_parse_list(const char *s, int *v, int max, const char *what) {
  int n = 0;
  const char *p = s;
  while (*p) {
    char *end;
    long x = strtol(p, &end, 10);
    if (end == p || x < 1 || x > 1000000 || n == max)
      return gpd_error("%s: '%s' is not a list of up to %d positive integers", what, s, max);
    v[n++] = (int)x;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return gpd_error("%s: '%s' is not a comma-separated list", what, s);
  }
  return n ? n : gpd_error("%s: empty list", what);
}

#endif
