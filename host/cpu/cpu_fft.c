/* Batched 2-D real FFTs of the CPU engine with FFTW (single precision),
 * unnormalised in both directions: c2r(r2c(x)) = H*W*x.
 *
 * Plans are cached by (B, H, W) in one process-wide list: the CPU engine has
 * no private state (impl is NULL), and FFTW's planner is not thread-safe
 * anyway, so a mutex guards the cache. The whole call runs under the mutex,
 * which also makes the c2r scratch buffer (FFTW's c2r destroys its input,
 * ours is const) safe to share. The CPU engine is the reference, not the
 * fast path, so serialising FFTs across threads costs nothing that matters.
 *
 * Plans are made with FFTW_UNALIGNED and executed on the caller's arrays
 * through the new-array interface: tensors are offsets into calloc'd
 * buffers with no SIMD alignment guarantee.
 *
 * The `cpu` engine's variants (cpu_fft_*_omp) cut the batch into one part
 * per OpenMP thread, each executed by its own plan of the part's size
 * (FFTW's execute is thread-safe; its planner, under the mutex, is not):
 * the data term's FFTs were ~4% of an Algorithm 1 iteration at 10
 * restarts (perf), run on one thread while the other waited. The gain is
 * below the run-to-run noise of a whole iteration (bench_restarts, 10
 * restarts, bf16: 27.7 -> 27.5 ms median of 3, +-10% between runs). */
#include <fftw3.h>
#include <limits.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

#include "cpu_ops.h"
#include "gpd/common.h"

typedef struct fft_plan_entry {
  int b, h, w;
  fftwf_plan r2c; /* (B, H, W) real -> (B, H, W/2+1) complex */
  fftwf_plan c2r; /* the inverse */
  struct fft_plan_entry *next;
} fft_plan_entry;

static pthread_mutex_t fft_lock = PTHREAD_MUTEX_INITIALIZER;
static fft_plan_entry *fft_plans;   /* most recently created first */
static fftwf_complex *fft_scratch;  /* c2r input copy */
static size_t fft_scratch_count;    /* complex values it holds */

/* 0 when the sizes are valid and fit FFTW's int plane sizes and distances,
 * else -1 with an error. */
static int fft_check(const char *op, int b, int h, int w) {
  if (b < 0 || h < 1 || w < 1) return gpd_error("%s: invalid size B=%d H=%d W=%d", op, b, h, w);
  if ((long long)h * w > INT_MAX)
    return gpd_error("%s: size B=%d H=%d W=%d too large for FFTW", op, b, h, w);
  return 0;
}

/* Finds or creates the plans for (b, h, w). Caller holds fft_lock. */
static fft_plan_entry *fft_plan_get(int b, int h, int w) {
  for (fft_plan_entry *p = fft_plans; p; p = p->next)
    if (p->b == b && p->h == h && p->w == w) return p;
  fft_plan_entry *p = gpd_calloc(1, sizeof *p, "an FFTW plan cache entry");
  if (!p) return NULL;
  const int wc = w / 2 + 1;
  const size_t nreal = (size_t)b * h * w, ncplx = (size_t)b * h * wc;
  /* Planning needs arrays of the right size; with FFTW_ESTIMATE they are
   * not touched, and execution uses the caller's arrays. */
  float *re = fftwf_malloc(nreal * sizeof(float));
  fftwf_complex *co = fftwf_malloc(ncplx * sizeof(fftwf_complex));
  int n[2] = {h, w};
  const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
  if (re && co) {
    p->r2c = fftwf_plan_many_dft_r2c(2, n, b, re, NULL, 1, h * w, co, NULL, 1, h * wc, flags);
    p->c2r = fftwf_plan_many_dft_c2r(2, n, b, co, NULL, 1, h * wc, re, NULL, 1, h * w, flags);
  }
  fftwf_free(re);
  fftwf_free(co);
  if (!p->r2c || !p->c2r) {
    if (p->r2c) fftwf_destroy_plan(p->r2c);
    if (p->c2r) fftwf_destroy_plan(p->c2r);
    free(p);
    gpd_error("fftwf_plan_many_dft (B=%d H=%d W=%d) failed", b, h, w);
    return NULL;
  }
  p->b = b;
  p->h = h;
  p->w = w;
  p->next = fft_plans;
  fft_plans = p;
  return p;
}

/* The c2r scratch holding at least ncplx complex values. Caller holds fft_lock. */
static fftwf_complex *fft_scratch_get(size_t ncplx) {
  if (ncplx > fft_scratch_count) {
    fftwf_free(fft_scratch);
    fft_scratch_count = 0;
    fft_scratch = fftwf_malloc(ncplx * sizeof(fftwf_complex));
    if (fft_scratch) fft_scratch_count = ncplx;
    else gpd_error("out of host memory (%zu bytes for the FFT c2r scratch)", ncplx * sizeof(fftwf_complex));
  }
  return fft_scratch;
}

/* x (B, H, W) -> X (B, H, W/2+1) complex */
int cpu_fft_r2c(gpd_engine *e, int b, int h, int w, const float *x, float *X) {
  (void)e;
  GPD_TRY(fft_check("fft_r2c", b, h, w));
  if (b == 0) return 0;
  pthread_mutex_lock(&fft_lock);
  fft_plan_entry *p = fft_plan_get(b, h, w);
  /* FFTW's r2c does not write its input, whatever the signature says. */
  if (p) fftwf_execute_dft_r2c(p->r2c, (float *)x, (fftwf_complex *)X);
  pthread_mutex_unlock(&fft_lock);
  return p ? 0 : -1;
}

/* X (B, H, W/2+1) complex -> x (B, H, W), X untouched */
int cpu_fft_c2r(gpd_engine *e, int b, int h, int w, const float *X, float *x) {
  (void)e;
  GPD_TRY(fft_check("fft_c2r", b, h, w));
  if (b == 0) return 0;
  const size_t ncplx = (size_t)b * h * (w / 2 + 1);
  int rc = -1;
  pthread_mutex_lock(&fft_lock);
  fft_plan_entry *p = fft_plan_get(b, h, w);
  if (p && fft_scratch_get(ncplx)) {
    const float *src = X;
    float *dst = (float *)fft_scratch;
    for (size_t i = 0; i < 2 * ncplx; i++) dst[i] = src[i];
    fftwf_execute_dft_c2r(p->c2r, fft_scratch, x);
    rc = 0;
  }
  pthread_mutex_unlock(&fft_lock);
  return rc;
}

/* ---- the cpu engine's: the batch over the OpenMP threads ---------------------------------- */

enum { FFT_MAX_PARTS = 16 };

/* Parts of a batch of b: one per OpenMP thread, at most b. */
static int fft_parts(int b) {
  int t = omp_get_max_threads();
  if (t > FFT_MAX_PARTS) t = FFT_MAX_PARTS;
  return t < b ? t : b;
}

/* Part i of n of a batch of b: items [*first, *first + *count). */
static void fft_part(int b, int n, int i, int *first, int *count) {
  const int base = b / n, extra = b % n;
  *first = i * base + (i < extra ? i : extra);
  *count = base + (i < extra);
}

/* The plans of the parts' sizes (b / n and, with a remainder, one more).
 * Caller holds fft_lock. */
static int fft_part_plans(int b, int h, int w, int n, fft_plan_entry **small, fft_plan_entry **large) {
  *small = fft_plan_get(b / n, h, w);
  *large = b % n ? fft_plan_get(b / n + 1, h, w) : *small;
  return *small && *large ? 0 : -1;
}

/* Both directions: r2c reads real in and writes the spectrum out; c2r
 * copies each part's slice of the spectrum into the scratch (FFTW's c2r
 * destroys its input) and inverts it into out. */
static int fft_omp(gpd_engine *e, int inverse, int b, int h, int w, const float *in, float *out) {
  GPD_TRY(fft_check(inverse ? "fft_c2r" : "fft_r2c", b, h, w));
  const int n = fft_parts(b);
  if (n <= 1) return inverse ? cpu_fft_c2r(e, b, h, w, in, out) : cpu_fft_r2c(e, b, h, w, in, out);
  const size_t real_item = (size_t)h * w, cplx_item = (size_t)h * (w / 2 + 1);
  fft_plan_entry *small, *large;
  pthread_mutex_lock(&fft_lock);
  int rc = fft_part_plans(b, h, w, n, &small, &large);
  fftwf_complex *scratch = !rc && inverse ? fft_scratch_get((size_t)b * cplx_item) : NULL;
  if (inverse && !scratch) rc = -1;
  if (!rc) {
#pragma omp parallel for num_threads(n) schedule(static, 1)
    for (int i = 0; i < n; i++) {
      int first, count;
      fft_part(b, n, i, &first, &count);
      const fft_plan_entry *p = count == b / n ? small : large;
      if (!inverse) {
        fftwf_execute_dft_r2c(p->r2c, (float *)in + first * real_item, (fftwf_complex *)out + first * cplx_item);
        continue;
      }
      const float *src = in + 2 * first * cplx_item;
      float *dst = (float *)(scratch + first * cplx_item);
      for (size_t j = 0; j < 2 * (size_t)count * cplx_item; j++) dst[j] = src[j];
      fftwf_execute_dft_c2r(p->c2r, scratch + first * cplx_item, out + first * real_item);
    }
  }
  pthread_mutex_unlock(&fft_lock);
  return rc;
}

int cpu_fft_r2c_omp(gpd_engine *e, int b, int h, int w, const float *x, float *X) {
  return fft_omp(e, 0, b, h, w, x, X);
}

int cpu_fft_c2r_omp(gpd_engine *e, int b, int h, int w, const float *X, float *x) {
  return fft_omp(e, 1, b, h, w, X, x);
}

/* The engine table's fft_scratch_bytes: the c2r input copy, and the
 * arrays planning (B, H, W) allocates while it runs. */
size_t cpu_fft_scratch_bytes(gpd_engine *e, int b, int h, int w) {
  (void)e;
  if (b < 1 || h < 1 || w < 1) return 0;
  const size_t spectrum = (size_t)b * h * (w / 2 + 1) * sizeof(fftwf_complex);
  return 2 * spectrum + (size_t)b * h * w * sizeof(float);
}

/* Frees every cached plan and the scratch buffer (the engine's destroy);
 * later FFTs, from any other CPU engine, simply plan again. Takes the mutex,
 * so it never frees a plan that another thread is executing. */
void cpu_fft_cleanup(gpd_engine *e) {
  (void)e;
  pthread_mutex_lock(&fft_lock);
  while (fft_plans) {
    fft_plan_entry *p = fft_plans;
    fft_plans = p->next;
    fftwf_destroy_plan(p->r2c);
    fftwf_destroy_plan(p->c2r);
    free(p);
  }
  fftwf_free(fft_scratch);
  fft_scratch = NULL;
  fft_scratch_count = 0;
  pthread_mutex_unlock(&fft_lock);
}
