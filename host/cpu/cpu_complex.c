/* Complex products of half spectra (interleaved re, im floats), the
 * frequency-domain half of the blur model and its gradients. */
#include "cpu_ops.h"
#include "gpd/common.h"

/* out[n,c,m] = a[n,c,m] * (conj?) b[n,m]
 * a, out: (N, C, M) complex; b: (N, M) complex; out may alias a. */
int cpu_complex_multiply_broadcast(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out) {
  (void)e;
  if (n < 0 || c < 0) return gpd_error("complex_multiply_broadcast: invalid size N=%d C=%d", n, c);
  const float sign = conjugate_b ? -1.0f : 1.0f;
  for (int i = 0; i < n; i++) {
    const float *bi = b + 2 * (size_t)i * m;
    for (int ch = 0; ch < c; ch++) {
      const size_t off = 2 * ((size_t)i * c + ch) * m;
      const float *ai = a + off;
      float *oi = out + off;
      for (size_t j = 0; j < m; j++) {
        const float ar = ai[2 * j], aim = ai[2 * j + 1];
        const float br = bi[2 * j], bim = sign * bi[2 * j + 1];
        oi[2 * j] = ar * br - aim * bim;
        oi[2 * j + 1] = ar * bim + aim * br;
      }
    }
  }
  return 0;
}

/* out[n,m] = sum_c a[n,c,m] * (conj?) b[n,c,m]
 * a, b: (N, C, M) complex; out: (N, M) complex, must not alias a or b. */
int cpu_complex_multiply_sum_channels(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out) {
  (void)e;
  if (n < 0 || c < 0) return gpd_error("complex_multiply_sum_channels: invalid size N=%d C=%d", n, c);
  const float sign = conjugate_b ? -1.0f : 1.0f;
  for (int i = 0; i < n; i++) {
    float *oi = out + 2 * (size_t)i * m;
    for (size_t j = 0; j < 2 * m; j++) oi[j] = 0.0f;
    for (int ch = 0; ch < c; ch++) {
      const size_t off = 2 * ((size_t)i * c + ch) * m;
      const float *ai = a + off, *bi = b + off;
      for (size_t j = 0; j < m; j++) {
        const float ar = ai[2 * j], aim = ai[2 * j + 1];
        const float br = bi[2 * j], bim = sign * bi[2 * j + 1];
        oi[2 * j] += ar * br - aim * bim;
        oi[2 * j + 1] += ar * bim + aim * br;
      }
    }
  }
  return 0;
}
