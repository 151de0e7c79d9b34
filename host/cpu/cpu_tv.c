/* Anisotropic total variation per item: the sum of absolute differences of
 * vertical and horizontal neighbours inside each (H, W) plane, no wrap. */
#include <math.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* out[n] = sum_{c,y,x} |x[y+1,x]-x[y,x]| + |x[y,x+1]-x[y,x]| (double sums) */
int cpu_tv_forward(gpd_engine *e, int n, int c, int h, int w, const float *x, float *out) {
  (void)e;
  if (n < 0 || c < 0 || h < 1 || w < 1) return gpd_error("tv_forward: invalid size N=%d C=%d H=%d W=%d", n, c, h, w);
  const size_t plane = (size_t)h * w;
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int ch = 0; ch < c; ch++) {
      const float *p = x + ((size_t)i * c + ch) * plane;
      for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
          const float v = p[(size_t)y * w + xx];
          if (y + 1 < h) s += fabs((double)p[(size_t)(y + 1) * w + xx] - v);
          if (xx + 1 < w) s += fabs((double)p[(size_t)y * w + xx + 1] - v);
        }
    }
    out[i] = (float)s;
  }
  return 0;
}

static float sign_of(float d) { return d > 0.0f ? 1.0f : d < 0.0f ? -1.0f : 0.0f; }

/* dx += weight * d(tv)/dx. A difference d = x[q] - x[p] contributes
 * sign(d) to x[q] and -sign(d) to x[p], with sign(0) = 0. */
int cpu_tv_backward(gpd_engine *e, int n, int c, int h, int w, float weight, const float *x, float *dx) {
  (void)e;
  if (n < 0 || c < 0 || h < 1 || w < 1) return gpd_error("tv_backward: invalid size N=%d C=%d H=%d W=%d", n, c, h, w);
  const size_t plane = (size_t)h * w, planes = (size_t)n * c;
  for (size_t pl = 0; pl < planes; pl++) {
    const float *p = x + pl * plane;
    float *g = dx + pl * plane;
    for (int y = 0; y < h; y++)
      for (int xx = 0; xx < w; xx++) {
        const size_t at = (size_t)y * w + xx;
        if (y + 1 < h) {
          const float s = weight * sign_of(p[at + w] - p[at]);
          g[at + w] += s;
          g[at] -= s;
        }
        if (xx + 1 < w) {
          const float s = weight * sign_of(p[at + 1] - p[at]);
          g[at + 1] += s;
          g[at] -= s;
        }
      }
  }
  return 0;
}
