/* Batched 2-D real FFTs with cuFFT, unnormalised both ways (c2r(r2c(x)) =
 * H*W*x), as host/cpu/cpu_fft.c: x (B, H, W) real <-> X (B, H, W/2+1)
 * complex, interleaved.
 *
 * Plans are cached per engine by (B, H, W) and bound to the engine stream.
 * Creating a plan allocates and may synchronise, so it is refused while a
 * CUDA graph is being captured (run the sequence once before capturing).
 * cuFFT's C2R overwrites its input; ours is const, so the spectrum is
 * copied to a scratch buffer first. cuFFT wants 8-byte aligned arrays:
 * an array at an odd float offset is staged through scratch too. */
#include <stdint.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_ops.h"

typedef struct fft_plan {
  int b, h, w;
  cufftHandle r2c, c2r;
  int have_r2c, have_c2r;
  struct fft_plan *next;
} fft_plan;

static int fft_check(const char *op, int b, int h, int w) {
  if (b < 0 || h < 1 || w < 1) return gpd_error("%s: invalid size B=%d H=%d W=%d", op, b, h, w);
  return 0;
}

static int make_plan(gpd_engine *e, fft_plan *p, cufftType type, cufftHandle *out, int *have) {
  if (cuda_capturing(e))
    return gpd_error("cuFFT plan for B=%d H=%d W=%d requested during CUDA graph capture: run the sequence once "
                     "before capturing so the plan exists", p->b, p->h, p->w);
  /* planning allocates the work area and may synchronise: not while
   * another engine captures */
  cuda_setup_lock();
  cufftHandle plan;
  cufftResult r = cufftCreate(&plan);
  if (r != CUFFT_SUCCESS) {
    cuda_setup_unlock();
    (void)cudaGetLastError();
    return gpd_error("cufftCreate failed: %s (%s:%d)", gpd_cufft_status_name(r), gpd_cuda_short_file(__FILE__),
                     __LINE__);
  }
  long long n[2] = {p->h, p->w};
  size_t work = 0;
  r = cufftMakePlanMany64(plan, 2, n, NULL, 1, 0, NULL, 1, 0, type, (long long)p->b, &work);
  if (r == CUFFT_SUCCESS) r = cufftSetStream(plan, cuda_stream_of(e));
  if (r != CUFFT_SUCCESS) cufftDestroy(plan);
  cuda_setup_unlock();
  (void)cudaGetLastError(); /* cuFFT reports through r (see cuda_check.h) */
  if (r != CUFFT_SUCCESS) {
    return gpd_error("cufftMakePlanMany64 (%s, B=%d H=%d W=%d) failed: %s (%s:%d)", type == CUFFT_R2C ? "R2C" : "C2R",
                     p->b, p->h, p->w, gpd_cufft_status_name(r), gpd_cuda_short_file(__FILE__), __LINE__);
  }
  *out = plan;
  *have = 1;
  return 0;
}

/* The cache entry for (b, h, w), created empty when new. */
static fft_plan *plan_entry(gpd_engine *e, int b, int h, int w) {
  cuda_impl *m = cuda_impl_of(e);
  for (fft_plan *p = m->fft_cache; p; p = p->next)
    if (p->b == b && p->h == h && p->w == w) return p;
  fft_plan *p = gpd_calloc(1, sizeof *p, "a cuFFT plan cache entry");
  if (!p) return NULL;
  p->b = b;
  p->h = h;
  p->w = w;
  p->next = m->fft_cache;
  m->fft_cache = p;
  return p;
}

static int aligned8(const void *p) { return ((uintptr_t)p & 7) == 0; }

/* x (B, H, W) -> X (B, H, W/2+1) complex */
int cuda_fft_r2c(gpd_engine *e, int b, int h, int w, const float *x, float *X) {
  GPD_TRY(fft_check("fft_r2c", b, h, w));
  if (b == 0) return 0;
  if (!x || !X) return gpd_error("fft_r2c: NULL x or X");
  fft_plan *p = plan_entry(e, b, h, w);
  if (!p) return -1;
  if (!p->have_r2c) GPD_TRY(make_plan(e, p, CUFFT_R2C, &p->r2c, &p->have_r2c));
  const size_t nreal = (size_t)b * h * w, ncplx = (size_t)b * h * (w / 2 + 1);
  cudaStream_t s = cuda_stream_of(e);
  /* Misaligned arrays go through scratch: [real input | spectrum]. */
  const int stage_in = !aligned8(x), stage_out = !aligned8(X);
  const size_t in_bytes = stage_in ? (nreal + 1) / 2 * 2 * sizeof(float) : 0;
  const size_t out_bytes = stage_out ? ncplx * 2 * sizeof(float) : 0;
  float *in = (float *)x; /* cuFFT's out-of-place R2C does not write its input */
  float *out = X;
  if (stage_in || stage_out) {
    void *tmp = NULL;
    GPD_TRY(cuda_scratch(e, CUDA_SCRATCH_FFT_INPUT, in_bytes + out_bytes, &tmp));
    if (stage_in) {
      in = tmp;
      CUDA_CHECK(cudaMemcpyAsync(in, x, nreal * sizeof(float), cudaMemcpyDeviceToDevice, s));
    }
    if (stage_out) out = (float *)((char *)tmp + in_bytes);
  }
  CUFFT_CHECK(cufftExecR2C(p->r2c, (cufftReal *)in, (cufftComplex *)out));
  if (stage_out) CUDA_CHECK(cudaMemcpyAsync(X, out, out_bytes, cudaMemcpyDeviceToDevice, s));
  return 0;
}

/* X (B, H, W/2+1) complex -> x (B, H, W); X untouched */
int cuda_fft_c2r(gpd_engine *e, int b, int h, int w, const float *X, float *x) {
  GPD_TRY(fft_check("fft_c2r", b, h, w));
  if (b == 0) return 0;
  if (!x || !X) return gpd_error("fft_c2r: NULL X or x");
  fft_plan *p = plan_entry(e, b, h, w);
  if (!p) return -1;
  if (!p->have_c2r) GPD_TRY(make_plan(e, p, CUFFT_C2R, &p->c2r, &p->have_c2r));
  const size_t ncplx = (size_t)b * h * (w / 2 + 1), nreal = (size_t)b * h * w;
  cudaStream_t s = cuda_stream_of(e);
  /* One scratch holds the spectrum copy and, when x is misaligned, the real
   * output after it (at an 8-byte aligned offset). */
  const int stage_out = !aligned8(x);
  const size_t in_bytes = ncplx * 2 * sizeof(float);
  void *tmp = NULL;
  GPD_TRY(cuda_scratch(e, CUDA_SCRATCH_FFT_INPUT, in_bytes + (stage_out ? nreal * sizeof(float) : 0), &tmp));
  CUDA_CHECK(cudaMemcpyAsync(tmp, X, in_bytes, cudaMemcpyDeviceToDevice, s));
  float *out = stage_out ? (float *)((char *)tmp + in_bytes) : x;
  CUFFT_CHECK(cufftExecC2R(p->c2r, (cufftComplex *)tmp, (cufftReal *)out));
  if (stage_out) CUDA_CHECK(cudaMemcpyAsync(x, out, nreal * sizeof(float), cudaMemcpyDeviceToDevice, s));
  return 0;
}

/* The work area cuFFT estimates for one plan, or a spectrum's bytes when
 * it cannot say (the estimate is an upper bound on the plan's need). */
static size_t plan_work_bytes(int b, int h, int w, cufftType type) {
  int n[2] = {h, w};
  size_t work = 0;
  const size_t spectrum = (size_t)b * h * (w / 2 + 1) * 2 * sizeof(float);
  cufftResult r = cufftEstimateMany(2, n, NULL, 1, 0, NULL, 1, 0, type, b, &work);
  (void)cudaGetLastError();
  return r == CUFFT_SUCCESS ? work : spectrum;
}

/* The engine table's fft_scratch_bytes: the r2c and c2r plans' work areas
 * and the scratch that holds the copy of a c2r input (cuFFT overwrites it). */
size_t cuda_fft_scratch_bytes(gpd_engine *e, int b, int h, int w) {
  (void)e;
  if (b < 1 || h < 1 || w < 1) return 0;
  const size_t spectrum = (size_t)b * h * (w / 2 + 1) * 2 * sizeof(float);
  return spectrum + plan_work_bytes(b, h, w, CUFFT_R2C) + plan_work_bytes(b, h, w, CUFFT_C2R);
}

void cuda_fft_cleanup(gpd_engine *e) {
  cuda_impl *m = cuda_impl_of(e);
  fft_plan *p = m->fft_cache;
  while (p) {
    fft_plan *next = p->next;
    if (p->have_r2c) cufftDestroy(p->r2c);
    if (p->have_c2r) cufftDestroy(p->c2r);
    free(p);
    p = next;
  }
  m->fft_cache = NULL;
}
