/* Elementwise ops of the CPU engine (gpd/engine.h): axpby, affine,
 * per-item scaling, product. All allow the output to alias an input. */
#include "cpu_ops.h"
#include "gpd/common.h"

/* y = alpha * x + beta * y. With beta == 0, y is not read (as in BLAS), so
 * an uninitialised or NaN-filled output is simply overwritten. */
int cpu_axpby(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y) {
  (void)e;
  if (beta == 0.0f) {
    for (size_t i = 0; i < count; i++) y[i] = alpha * x[i];
  } else {
    for (size_t i = 0; i < count; i++) y[i] = alpha * x[i] + beta * y[i];
  }
  return 0;
}

/* y = alpha * x + beta */
int cpu_affine(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y) {
  (void)e;
  for (size_t i = 0; i < count; i++) y[i] = alpha * x[i] + beta;
  return 0;
}

/* y (items, per_item) = x * s[item] */
int cpu_scale_per_item(gpd_engine *e, int items, size_t per_item, const float *s, const float *x, float *y) {
  (void)e;
  if (items < 0) return gpd_error("scale_per_item: negative item count %d", items);
  for (int i = 0; i < items; i++) {
    const float si = s[i];
    const float *xi = x + (size_t)i * per_item;
    float *yi = y + (size_t)i * per_item;
    for (size_t j = 0; j < per_item; j++) yi[j] = xi[j] * si;
  }
  return 0;
}

/* y = a .* b */
int cpu_multiply(gpd_engine *e, size_t count, const float *a, const float *b, float *y) {
  (void)e;
  for (size_t i = 0; i < count; i++) y[i] = a[i] * b[i];
  return 0;
}
