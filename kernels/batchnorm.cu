/* Batch norm over (N, C, HW) per channel, PyTorch's BatchNorm2d semantics.
 * Reference: host/cpu/cpu_batchnorm.c, whose formulas and rounding points
 * these follow: channel sums in double (two passes for the variance), the
 * per-channel scale and shift in double then applied in float.
 * gamma / beta may be NULL (1 and 0); dgamma / dbeta accumulate and may be
 * NULL; dx may be NULL. In place allowed (y == x, dx == dy): every kernel
 * finishes its reads of a channel before a barrier and then writes.
 *
 * Training statistics use one block per channel (the reduction and the
 * normalisation of a channel stay in one block). Inference is elementwise
 * per channel: a 2-D grid of (channel, slice) blocks, each computing its
 * channel's scale once. */
#include <limits.h>

#include "kernel_util.cuh"

/* Element j of channel ch, j < n*hw: plane j / hw, offset j % hw. */
static __device__ __forceinline__ size_t bn_at(unsigned j, unsigned hw, int c, int ch) {
  const unsigned i = j / hw, k = j - i * hw;
  return ((size_t)i * c + ch) * hw + k;
}

static __global__ void bn_forward_train_kernel(int n, int c, int hw, float eps, float momentum, const float *x,
                                               const float *gamma, const float *beta, float *y, float *save_mean,
                                               float *save_invstd, float *running_mean, float *running_var) {
  const int ch = blockIdx.x;
  const unsigned count = (unsigned)n * (unsigned)hw;
  const double m = (double)count;
  double s = 0.0;
  for (unsigned j = threadIdx.x; j < count; j += blockDim.x) s += x[bn_at(j, hw, c, ch)];
  const double mean = block_sum(s) / m;
  double ss = 0.0; /* second pass: no cancellation in the variance */
  for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
    const double d = x[bn_at(j, hw, c, ch)] - mean;
    ss += d * d;
  }
  const double var = block_sum(ss) / m;
  const double invstd = 1.0 / sqrt(var + eps);
  const double scale = invstd * (gamma ? gamma[ch] : 1.0f);
  const double shift = (beta ? beta[ch] : 0.0f) - mean * scale;
  const float fs = (float)scale, fb = (float)shift;
  for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
    const size_t at = bn_at(j, hw, c, ch);
    y[at] = x[at] * fs + fb;
  }
  if (threadIdx.x == 0) {
    if (save_mean) save_mean[ch] = (float)mean;
    if (save_invstd) save_invstd[ch] = (float)invstd;
    if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean);
    if (running_var) running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * var * m / (m - 1.0));
  }
}

/* dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
 * dgamma += sum(dy * xhat), dbeta += sum(dy). */
static __global__ void bn_backward_train_kernel(int n, int c, int hw, const float *x, const float *dy, const float *gamma,
                                                const float *save_mean, const float *save_invstd, float *dx,
                                                float *dgamma, float *dbeta) {
  const int ch = blockIdx.x;
  const unsigned count = (unsigned)n * (unsigned)hw;
  const double m = (double)count;
  const float mean = save_mean[ch], invstd = save_invstd[ch];
  double sdy = 0.0, sdyx = 0.0;
  for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
    const size_t at = bn_at(j, hw, c, ch);
    const float g = dy[at];
    sdy += g;
    sdyx += (double)g * (x[at] - mean);
  }
  sdy = block_sum(sdy);
  sdyx = block_sum(sdyx) * invstd; /* sum(dy * xhat) */
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[ch] += (float)sdyx;
    if (dbeta) dbeta[ch] += (float)sdy;
  }
  if (!dx) return;
  const float k = (gamma ? gamma[ch] : 1.0f) * invstd;
  const float mdy = (float)(sdy / m), c1 = (float)(sdyx / m) * invstd; /* per (x - mean) */
  for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
    const size_t at = bn_at(j, hw, c, ch);
    dx[at] = k * (dy[at] - mdy - (x[at] - mean) * c1);
  }
}

/* y = x * scale + shift with the running statistics; grid (C, slices). */
static __global__ void bn_forward_infer_kernel(int n, int c, int hw, float eps, const float *x, const float *gamma,
                                               const float *beta, const float *running_mean, const float *running_var,
                                               float *y) {
  const int ch = blockIdx.x;
  const unsigned count = (unsigned)n * (unsigned)hw;
  const double invstd = 1.0 / sqrt((double)running_var[ch] + eps);
  const double scale = invstd * (gamma ? gamma[ch] : 1.0f);
  const double shift = (beta ? beta[ch] : 0.0f) - running_mean[ch] * scale;
  const float fs = (float)scale, fb = (float)shift;
  for (unsigned j = blockIdx.y * blockDim.x + threadIdx.x; j < count; j += gridDim.y * blockDim.x) {
    const size_t at = bn_at(j, hw, c, ch);
    y[at] = x[at] * fs + fb;
  }
}

/* dx = dy * gamma * invstd (the statistics are constants); grid (C, slices). */
static __global__ void bn_backward_infer_dx_kernel(int n, int c, int hw, float eps, const float *dy, const float *gamma,
                                                   const float *running_var, float *dx) {
  const int ch = blockIdx.x;
  const unsigned count = (unsigned)n * (unsigned)hw;
  const float invstd = (float)(1.0 / sqrt((double)running_var[ch] + eps));
  const float k = (gamma ? gamma[ch] : 1.0f) * invstd;
  for (unsigned j = blockIdx.y * blockDim.x + threadIdx.x; j < count; j += gridDim.y * blockDim.x) {
    const size_t at = bn_at(j, hw, c, ch);
    dx[at] = dy[at] * k + 0.0f;
  }
}

/* dgamma += sum(dy * (x - mean) * invstd), dbeta += sum(dy); one block per
 * channel. Runs before the dx kernel, so dx may alias dy. */
static __global__ void bn_backward_infer_params_kernel(int n, int c, int hw, float eps, const float *x, const float *dy,
                                                       const float *running_mean, const float *running_var,
                                                       float *dgamma, float *dbeta) {
  const int ch = blockIdx.x;
  const unsigned count = (unsigned)n * (unsigned)hw;
  const float mean = running_mean[ch];
  const float invstd = (float)(1.0 / sqrt((double)running_var[ch] + eps));
  double sdy = 0.0, sdyx = 0.0;
  for (unsigned j = threadIdx.x; j < count; j += blockDim.x) {
    const size_t at = bn_at(j, hw, c, ch);
    const float g = dy[at];
    sdy += g;
    if (x) sdyx += (double)g * (x[at] - mean);
  }
  sdy = block_sum(sdy);
  sdyx = block_sum(sdyx);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[ch] += (float)(sdyx * invstd);
    if (dbeta) dbeta[ch] += (float)sdy;
  }
}

static int bn_check(const char *op, int n, int c, int hw) {
  if (n < 0 || c < 1 || hw < 1) return gpd_error("%s: bad shape (n %d, c %d, hw %d)", op, n, c, hw);
  /* The kernels index a channel's n*hw values with 32-bit counters (with
   * room for the last stride step not to wrap). */
  if ((unsigned long long)n * (unsigned long long)hw > (unsigned long long)UINT_MAX / 2)
    return gpd_error("%s: %d x %d values per channel is too many for the CUDA kernels", op, n, hw);
  return 0;
}

/* Slices per channel for the elementwise kernels: enough blocks in all to
 * fill the GPU, none without work. */
static unsigned bn_slices(const gpd_engine *e, int n, int c, int hw) {
  const size_t count = (size_t)n * hw;
  size_t slices = (count + CUDA_THREADS - 1) / CUDA_THREADS;
  size_t want = ((size_t)cuda_impl_of(e)->sm_count * 32 + c - 1) / c;
  if (slices > want) slices = want;
  if (slices > 65535) slices = 65535;
  return slices < 1 ? 1u : (unsigned)slices;
}

extern "C" int cuda_batchnorm_forward_train(gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x,
                                            const float *gamma, const float *beta, float *y, float *save_mean,
                                            float *save_invstd, float *running_mean, float *running_var) {
  GPD_TRY(bn_check("batchnorm_forward_train", n, c, hw));
  if ((double)n * hw < 2)
    return gpd_error("batchnorm_forward_train: need more than one value per channel (n %d, hw %d)", n, hw);
  if (!x || !y) return gpd_error("batchnorm_forward_train: NULL x or y");
  bn_forward_train_kernel<<<c, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(n, c, hw, eps, momentum, x, gamma, beta, y,
                                                                      save_mean, save_invstd, running_mean, running_var);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_batchnorm_backward_train(gpd_engine *e, int n, int c, int hw, const float *x, const float *dy,
                                             const float *gamma, const float *save_mean, const float *save_invstd,
                                             float *dx, float *dgamma, float *dbeta) {
  GPD_TRY(bn_check("batchnorm_backward_train", n, c, hw));
  if (n == 0) return 0;
  if (!x || !dy || !save_mean || !save_invstd)
    return gpd_error("batchnorm_backward_train: NULL x, dy, save_mean or save_invstd");
  bn_backward_train_kernel<<<c, REDUCE_THREADS, 0, cuda_stream_of(e)>>>(n, c, hw, x, dy, gamma, save_mean, save_invstd,
                                                                       dx, dgamma, dbeta);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_batchnorm_forward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x,
                                            const float *gamma, const float *beta, const float *running_mean,
                                            const float *running_var, float *y) {
  GPD_TRY(bn_check("batchnorm_forward_infer", n, c, hw));
  if (n == 0) return 0;
  if (!x || !y || !running_mean || !running_var)
    return gpd_error("batchnorm_forward_infer: NULL x, y, running_mean or running_var");
  dim3 grid((unsigned)c, bn_slices(e, n, c, hw));
  bn_forward_infer_kernel<<<grid, CUDA_THREADS, 0, cuda_stream_of(e)>>>(n, c, hw, eps, x, gamma, beta, running_mean,
                                                                       running_var, y);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_batchnorm_backward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x,
                                             const float *dy, const float *gamma, const float *running_mean,
                                             const float *running_var, float *dx, float *dgamma, float *dbeta) {
  GPD_TRY(bn_check("batchnorm_backward_infer", n, c, hw));
  if (n == 0) return 0;
  if (!dy || !running_mean || !running_var)
    return gpd_error("batchnorm_backward_infer: NULL dy, running_mean or running_var");
  if (dgamma && !x) return gpd_error("batchnorm_backward_infer: dgamma needs the forward input x");
  cudaStream_t s = cuda_stream_of(e);
  if (dgamma || dbeta) {
    bn_backward_infer_params_kernel<<<c, REDUCE_THREADS, 0, s>>>(n, c, hw, eps, x, dy, running_mean, running_var,
                                                                  dgamma, dbeta);
    CUDA_LAUNCH_CHECK();
  }
  if (dx) {
    dim3 grid((unsigned)c, bn_slices(e, n, c, hw));
    bn_backward_infer_dx_kernel<<<grid, CUDA_THREADS, 0, s>>>(n, c, hw, eps, dy, gamma, running_var, dx);
    CUDA_LAUNCH_CHECK();
  }
  return 0;
}
