/* Per-item reductions of the CPU engine, accumulated in double so that long
 * sums (a 64x64x3 image, a whole kernel) lose nothing to float rounding. */
#include "cpu_ops.h"
#include "gpd/common.h"

/* out[i] = sum_j x[i,j]^2 */
int cpu_sum_squares_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out) {
  (void)e;
  if (items < 0) return gpd_error("sum_squares_per_item: negative item count %d", items);
  for (int i = 0; i < items; i++) {
    const float *xi = x + (size_t)i * per_item;
    double s = 0.0;
    for (size_t j = 0; j < per_item; j++) s += (double)xi[j] * xi[j];
    out[i] = (float)s;
  }
  return 0;
}

/* out[i] = sum_j (a[i,j] - b[i,j])^2 */
int cpu_squared_distance_per_item(gpd_engine *e, int items, size_t per_item, const float *a, const float *b, float *out) {
  (void)e;
  if (items < 0) return gpd_error("squared_distance_per_item: negative item count %d", items);
  for (int i = 0; i < items; i++) {
    const float *ai = a + (size_t)i * per_item, *bi = b + (size_t)i * per_item;
    double s = 0.0;
    for (size_t j = 0; j < per_item; j++) {
      const double d = (double)ai[j] - bi[j];
      s += d * d;
    }
    out[i] = (float)s;
  }
  return 0;
}

/* out[i] = sum_j x[i,j] */
int cpu_sum_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out) {
  (void)e;
  if (items < 0) return gpd_error("sum_per_item: negative item count %d", items);
  for (int i = 0; i < items; i++) {
    const float *xi = x + (size_t)i * per_item;
    double s = 0.0;
    for (size_t j = 0; j < per_item; j++) s += xi[j];
    out[i] = (float)s;
  }
  return 0;
}
