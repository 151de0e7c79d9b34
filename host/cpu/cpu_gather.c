/* Gathering items by a host index (minibatches, chosen restarts). */
#include <string.h>

#include "cpu_ops.h"
#include "gpd/common.h"

/* dst[j] = src[index[j]], items of item_size floats */
int cpu_gather_items(gpd_engine *e, int count, size_t item_size, const int *index, const float *src, float *dst) {
  (void)e;
  if (count < 0) return gpd_error("gather_items: negative count %d", count);
  for (int j = 0; j < count; j++)
    if (index[j] < 0) return gpd_error("gather_items: negative index %d at position %d", index[j], j);
  for (int j = 0; j < count; j++)
    memmove(dst + (size_t)j * item_size, src + (size_t)index[j] * item_size, item_size * sizeof(float));
  return 0;
}
