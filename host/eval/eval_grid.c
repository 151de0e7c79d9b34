/* The example grid of an evaluation (gpd/eval.h): the rows kept by the
 * run (sharp | blurry | deblurred | true kernel | estimate, Figure 6's
 * layout), stacked vertically. */
#include <string.h>

#include "gpd/common.h"
#include "gpd/eval.h"

int gpd_eval_grid(const gpd_eval_outcome *out, int pad, gpd_image *dst) {
  if (out->grid_rows < 1) return gpd_error("no evaluated examples for the grid");
  int c = 1, h = 0, w = 0;
  for (int i = 0; i < out->grid_rows; i++) {
    const gpd_image *g = &out->grid[i];
    if (g->c == 3) c = 3;
    if (g->w > w) w = g->w;
    h += g->h + (i ? pad : 0);
  }
  GPD_TRY(gpd_image_alloc(dst, c, h, w));
  for (size_t i = 0; i < (size_t)c * h * w; i++) dst->data[i] = 1.0f;
  int y0 = 0;
  for (int i = 0; i < out->grid_rows; i++) {
    const gpd_image *g = &out->grid[i];
    for (int ch = 0; ch < c; ch++) {
      const int sc = g->c == 1 ? 0 : ch;
      for (int y = 0; y < g->h; y++)
        memcpy(dst->data + ((size_t)ch * h + y0 + y) * w, g->data + ((size_t)sc * g->h + y) * g->w,
               sizeof(float) * (size_t)g->w);
    }
    y0 += g->h + pad;
  }
  return 0;
}
