/* PNG grids of generator samples from fixed latents, written at every
 * checkpoint so a run's progress can be seen: the net that ships (the EMA
 * of G when there is one). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/image.h"
#include "gpd/train.h"
#include "train_internal.h"

int gpd_train_grid_image(const float *items, int n, int c, int h, int w, int cols, int per_item_max, const char *png_path) {
  if (n < 1 || cols < 1) return gpd_error("sample grid: nothing to draw");
  int rows = (n + cols - 1) / cols;
  gpd_image im = {0};
  GPD_TRY(gpd_image_alloc(&im, c, rows * (h + 1) + 1, cols * (w + 1) + 1));
  size_t plane = (size_t)im.h * im.w;
  for (size_t i = 0; i < (size_t)c * plane; i++) im.data[i] = 1.0f;
  size_t item = (size_t)c * h * w;
  for (int k = 0; k < n; k++) {
    const float *src = items + (size_t)k * item;
    float scale = 1.0f;
    if (per_item_max) {
      float mx = 0;
      for (size_t j = 0; j < item; j++) mx = src[j] > mx ? src[j] : mx;
      scale = mx > 0 ? 1.0f / mx : 1.0f;
    }
    int top = 1 + (k / cols) * (h + 1), left = 1 + (k % cols) * (w + 1);
    for (int ch = 0; ch < c; ch++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          im.data[ch * plane + (size_t)(top + y) * im.w + left + x] = src[((size_t)ch * h + y) * w + x] * scale;
  }
  int rc = gpd_image_save_png(&im, png_path);
  gpd_image_free(&im);
  return rc;
}

int gpd_train_sample_grid(gpd_trainer *t, int count, uint64_t seed, const char *png_path) {
  gpd_engine *e = t->e;
  gpd_net *g = gpd_trainer_shipped_net(t);
  if (!g) return -1;
  size_t l = (size_t)t->latent, item = gpd_net_out_size(g);
  float *z = gpd_malloc((size_t)count * l * sizeof(float), "sample latents");
  float *out = gpd_malloc((size_t)count * item * sizeof(float), "samples");
  int rc = -1;
  if (!z || !out) goto done;
  gpd_rng r;
  gpd_rng_seed(&r, gpd_train_mix_seed(seed, GPD_STREAM_GRID));
  gpd_rng_fill_normal(&r, z, (size_t)count * l, 0.0f, 1.0f);
  /* Inference mode: the running statistics the shipped file will use. */
  g->bn_train = 0;
  for (int done = 0; done < count;) {
    int n = count - done < t->ws[1].n ? count - done : t->ws[1].n;
    if (e->upload(e, t->noise, z + (size_t)done * l, (size_t)n * l) != 0) goto restore;
    const float *y = gpd_net_forward(g, &t->ws[1], n, t->noise);
    if (!y || e->download(e, out + (size_t)done * item, y, (size_t)n * item) != 0) goto restore;
    done += n;
  }
  if (g->n_layers > 0 && g->layers[g->n_layers - 1].kind == GPD_LAYER_TANH)
    for (size_t i = 0; i < (size_t)count * item; i++) out[i] = 0.5f * (out[i] + 1.0f);
  int cols = (int)ceil(sqrt((double)count));
  rc = gpd_train_grid_image(out, count, g->out_c, g->out_h, g->out_w, cols, t->cfg.arch.channels == 1, png_path);
restore:
  g->bn_train = g == &t->nets[1]; /* the EMA stays in inference mode */
  t->fake = NULL; /* the forward above replaced G's activations */
done:
  free(z);
  free(out);
  return rc;
}
