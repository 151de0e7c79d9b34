/* Blur geometry: kernels placed on FFT canvases, the valid window of a
 * linear convolution, and general crops, each with its adjoint. Reference:
 * host/cpu/cpu_canvas.c and cpu_crop.c. Every output element is written by
 * exactly one thread (zeros included), so outputs need no clearing. */
#include "kernel_util.cuh"

/* Kernel index placed at canvas row (or column) r, or -1 when none.
 * Centred kernels put index K/2 at 0 and wrap negative offsets to the end
 * (a -> a - K/2, + size when negative); uncentred ones sit at [0, K).
 * K <= size makes the placement one-to-one. */
static __device__ __forceinline__ int canvas_source(int r, int ksize, int size, int centered) {
  if (!centered) return r < ksize ? r : -1;
  const int half = ksize / 2;
  if (r < ksize - half) return r + half;
  if (r >= size - half) return r - size + half;
  return -1;
}

/* Canvas row (or column) of kernel index a (the forward map). */
static __device__ __forceinline__ int canvas_index(int a, int ksize, int size, int centered) {
  if (!centered) return a;
  const int r = a - ksize / 2;
  return r < 0 ? r + size : r;
}

/* One thread per canvas pixel: k (N, K, K) -> canvas (N, H, W). */
static __global__ void kernel_to_canvas_kernel(size_t total, int ksize, int h, int w, int centered, const float *k,
                                               float *canvas) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t i = t / ((size_t)h * w);
    const int r = (int)(t - i * h * w), y = r / w, x = r - y * w;
    const int a = canvas_source(y, ksize, h, centered), b = canvas_source(x, ksize, w, centered);
    canvas[t] = (a >= 0 && b >= 0) ? k[(i * ksize + a) * ksize + b] : 0.0f;
  }
}

/* One thread per kernel cell: canvas (N, H, W) -> dk (N, K, K). */
static __global__ void kernel_from_canvas_kernel(size_t total, int ksize, int h, int w, int centered,
                                                 const float *canvas, float *dk) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t i = t / ((size_t)ksize * ksize);
    const int r = (int)(t - i * ksize * ksize), a = r / ksize, b = r - a * ksize;
    dk[t] = canvas[(i * h + canvas_index(a, ksize, h, centered)) * w + canvas_index(b, ksize, w, centered)];
  }
}

/* One thread per window value: src planes (H, W) -> dst planes
 * (out_h, out_w) from offset (top, left). */
static __global__ void crop_kernel(size_t total, int h, int w, int top, int left, int out_h, int out_w,
                                   const float *src, float *dst) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t p = t / ((size_t)out_h * out_w);
    const int r = (int)(t - p * out_h * out_w), y = r / out_w, x = r - y * out_w;
    dst[t] = src[(p * h + top + y) * w + left + x];
  }
}

/* The adjoint, one thread per full-plane value: zero outside the window. */
static __global__ void crop_adjoint_kernel(size_t total, int h, int w, int top, int left, int out_h, int out_w,
                                           const float *win, float *full) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t p = t / ((size_t)h * w);
    const int r = (int)(t - p * h * w), y = r / w - top, x = r % w - left;
    full[t] = (y >= 0 && y < out_h && x >= 0 && x < out_w) ? win[(p * out_h + y) * out_w + x] : 0.0f;
  }
}

static int canvas_check(const char *op, int n, int ksize, int h, int w) {
  if (n < 0 || ksize < 1 || h < 1 || w < 1)
    return gpd_error("%s: invalid size N=%d K=%d H=%d W=%d", op, n, ksize, h, w);
  if (ksize > h || ksize > w) return gpd_error("%s: kernel %dx%d does not fit the %dx%d canvas", op, ksize, ksize, h, w);
  if ((long long)h * w > INT32_MAX) return gpd_error("%s: %dx%d canvas is too large", op, h, w);
  return 0;
}

static int valid_check(const char *op, int n, int c, int h, int w, int ksize) {
  if (n < 0 || c < 0 || ksize < 1 || h < ksize || w < ksize)
    return gpd_error("%s: invalid size N=%d C=%d H=%d W=%d K=%d (need H, W >= K)", op, n, c, h, w, ksize);
  if ((long long)h * w > INT32_MAX) return gpd_error("%s: %dx%d planes are too large", op, h, w);
  return 0;
}

static int crop_check(int h, int w, int top, int left, int out_h, int out_w) {
  if (top < 0 || left < 0 || out_h <= 0 || out_w <= 0 || top + out_h > h || left + out_w > w)
    return gpd_error("crop2d: window %dx%d at (%d, %d) does not fit a %dx%d plane", out_h, out_w, top, left, h, w);
  if ((long long)h * w > INT32_MAX) return gpd_error("crop2d: %dx%d planes are too large", h, w);
  return 0;
}

static int launch_crop(gpd_engine *e, long long planes, int h, int w, int top, int left, int out_h, int out_w,
                       const float *src, float *dst) {
  if (planes <= 0) return 0;
  const size_t total = (size_t)planes * out_h * out_w;
  crop_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(total, h, w, top, left,
                                                                                           out_h, out_w, src, dst);
  CUDA_LAUNCH_CHECK();
  return 0;
}

static int launch_crop_adjoint(gpd_engine *e, long long planes, int h, int w, int top, int left, int out_h, int out_w,
                               const float *win, float *full) {
  if (planes <= 0) return 0;
  const size_t total = (size_t)planes * h * w;
  crop_adjoint_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, h, w, top, left, out_h, out_w, win, full);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_kernel_to_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *k,
                                     float *canvas) {
  GPD_TRY(canvas_check("kernel_to_canvas", n, ksize, h, w));
  const size_t total = (size_t)n * h * w;
  if (!total) return 0;
  kernel_to_canvas_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, ksize, h, w, centered, k, canvas);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_kernel_from_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *canvas,
                                       float *dk) {
  GPD_TRY(canvas_check("kernel_from_canvas", n, ksize, h, w));
  const size_t total = (size_t)n * ksize * ksize;
  if (!total) return 0;
  kernel_from_canvas_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, ksize, h, w, centered, canvas, dk);
  CUDA_LAUNCH_CHECK();
  return 0;
}

/* full (N, C, H, W) -> valid (N, C, H-K+1, W-K+1) from offset (K-1, K-1) */
extern "C" int cuda_valid_crop(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *full, float *valid) {
  GPD_TRY(valid_check("valid_crop", n, c, h, w, ksize));
  return launch_crop(e, (long long)n * c, h, w, ksize - 1, ksize - 1, h - ksize + 1, w - ksize + 1, full, valid);
}

extern "C" int cuda_valid_pad(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *valid, float *full) {
  GPD_TRY(valid_check("valid_pad", n, c, h, w, ksize));
  return launch_crop_adjoint(e, (long long)n * c, h, w, ksize - 1, ksize - 1, h - ksize + 1, w - ksize + 1, valid, full);
}

extern "C" int cuda_crop2d(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w,
                           const float *src, float *dst) {
  GPD_TRY(crop_check(h, w, top, left, out_h, out_w));
  return launch_crop(e, (long long)n * c, h, w, top, left, out_h, out_w, src, dst);
}

extern "C" int cuda_crop2d_backward(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w,
                                    const float *ddst, float *dsrc) {
  GPD_TRY(crop_check(h, w, top, left, out_h, out_w));
  return launch_crop_adjoint(e, (long long)n * c, h, w, top, left, out_h, out_w, ddst, dsrc);
}
