/* Complex products of half spectra (interleaved re, im floats): the
 * Fourier-domain blur, its residual and the Wirtinger gradients. Reference:
 * host/cpu/cpu_complex.c (same products, same order of the channel sum). */
#include "kernel_util.cuh"

/* out[i,ch,j] = a[i,ch,j] * (conj?) b[i,j]; one thread per complex value of
 * a (N, C, M); out may alias a. */
static __global__ void complex_multiply_broadcast_kernel(size_t total, size_t cm, size_t m, float sign, const float *a,
                                                         const float *b, float *out) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t i = t / cm, j = t % m;
    const float ar = a[2 * t], aim = a[2 * t + 1];
    const float br = b[2 * (i * m + j)], bim = sign * b[2 * (i * m + j) + 1];
    out[2 * t] = ar * br - aim * bim;
    out[2 * t + 1] = ar * bim + aim * br;
  }
}

/* out[i,j] = sum_ch a[i,ch,j] * (conj?) b[i,ch,j]; one thread per output,
 * channels summed in order in float, as the CPU does. */
static __global__ void complex_multiply_sum_channels_kernel(size_t total, int c, size_t m, float sign, const float *a,
                                                            const float *b, float *out) {
  GRID_STRIDE_LOOP(t, total) {
    const size_t i = t / m, j = t - i * m;
    float re = 0.0f, im = 0.0f;
    for (int ch = 0; ch < c; ch++) {
      const size_t at = 2 * (((size_t)i * c + ch) * m + j);
      const float ar = a[at], aim = a[at + 1];
      const float br = b[at], bim = sign * b[at + 1];
      re += ar * br - aim * bim;
      im += ar * bim + aim * br;
    }
    out[2 * t] = re;
    out[2 * t + 1] = im;
  }
}

extern "C" int cuda_complex_multiply_broadcast(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a,
                                               const float *b, float *out) {
  if (n < 0 || c < 0) return gpd_error("complex_multiply_broadcast: invalid size N=%d C=%d", n, c);
  const size_t total = (size_t)n * c * m;
  if (!total) return 0;
  complex_multiply_broadcast_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, (size_t)c * m, m, conjugate_b ? -1.0f : 1.0f, a, b, out);
  CUDA_LAUNCH_CHECK();
  return 0;
}

extern "C" int cuda_complex_multiply_sum_channels(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a,
                                                  const float *b, float *out) {
  if (n < 0 || c < 0) return gpd_error("complex_multiply_sum_channels: invalid size N=%d C=%d", n, c);
  const size_t total = (size_t)n * m;
  if (!total) return 0;
  complex_multiply_sum_channels_kernel<<<cuda_grid_for(e, total, CUDA_THREADS), CUDA_THREADS, 0, cuda_stream_of(e)>>>(
      total, c, m, conjugate_b ? -1.0f : 1.0f, a, b, out);
  CUDA_LAUNCH_CHECK();
  return 0;
}
