/* Data-efficient GAN training's augmentation (Zhao et al., "Differentiable
 * Augmentation for Data-Efficient GAN Training", NeurIPS 2020): the policy
 * names, and the per-item random draws the engine's diffaugment op applies.
 *
 * Every step draws three views of the batch: the real images as D sees
 * them in its update, the fakes there, and the fakes in G's update (the
 * reference code calls DiffAugment afresh at each of the three places).
 * The ranges are the reference code's for images in [-1, 1] (D's input):
 * brightness U(-0.5, 0.5), saturation U(0, 2), contrast U(0.5, 1.5),
 * translation by an integer in [-s, s] per axis with s = round(size / 8),
 * cutout of a round(size / 2) square whose centre is uniform over the
 * image (zero-filled). Flips of the real images are the ordinary data
 * augmentation and ride on the same op (view 0 only). */
#include <string.h>

#include "gpd/common.h"
#include "gpd/train.h"
#include "train_internal.h"

int gpd_parse_augment(const char *text, unsigned *policy) {
  static const struct {
    const char *name;
    unsigned bits;
  } words[] = {{"none", 0},
               {"flip", GPD_AUGMENT_FLIP},
               {"color", GPD_AUGMENT_COLOR},
               {"translation", GPD_AUGMENT_TRANSLATION},
               {"cutout", GPD_AUGMENT_CUTOUT},
               {"diffaug", GPD_AUGMENT_DIFFAUG},
               {"all", GPD_AUGMENT_FLIP | GPD_AUGMENT_DIFFAUG}};
  unsigned bits = 0;
  const char *p = text;
  for (;;) {
    size_t len = strcspn(p, ",");
    size_t i, n = sizeof words / sizeof words[0];
    for (i = 0; i < n; i++)
      if (strlen(words[i].name) == len && !strncmp(words[i].name, p, len)) break;
    if (i == n)
      return gpd_error("--augment: '%.*s' in '%s' is not one of none, flip, color, translation, cutout, diffaug, all", (int)len, p, text);
    bits |= words[i].bits;
    if (!p[len]) break;
    p += len + 1;
  }
  *policy = bits;
  return 0;
}

void gpd_augment_describe(unsigned policy, char *buf, size_t size) {
  if (!policy) {
    snprintf(buf, size, "none");
    return;
  }
  snprintf(buf, size, "%s%s%s%s", policy & GPD_AUGMENT_FLIP ? "flip," : "", policy & GPD_AUGMENT_COLOR ? "color," : "",
           policy & GPD_AUGMENT_TRANSLATION ? "translation," : "", policy & GPD_AUGMENT_CUTOUT ? "cutout," : "");
  size_t len = strlen(buf);
  if (len && buf[len - 1] == ',') buf[len - 1] = 0;
}

void gpd_augment_draw(gpd_rng *r, unsigned policy, int flip, int n, int h, int w, float *params) {
  const int shift_y = (int)(h * 0.125 + 0.5), shift_x = (int)(w * 0.125 + 0.5);
  const int cut = (int)(h * 0.5 + 0.5);
  for (int i = 0; i < n; i++) {
    float *p = params + (size_t)i * GPD_AUGMENT_PARAMS;
    memset(p, 0, GPD_AUGMENT_PARAMS * sizeof *p);
    p[GPD_AUG_SATURATION] = p[GPD_AUG_CONTRAST] = 1.0f;
    if (flip && (policy & GPD_AUGMENT_FLIP)) p[GPD_AUG_FLIP] = (float)(gpd_rng_u64(r) & 1);
    if (policy & GPD_AUGMENT_COLOR) {
      p[GPD_AUG_BRIGHTNESS] = (float)gpd_rng_uniform(r) - 0.5f;
      p[GPD_AUG_SATURATION] = 2.0f * (float)gpd_rng_uniform(r);
      p[GPD_AUG_CONTRAST] = 0.5f + (float)gpd_rng_uniform(r);
    }
    if (policy & GPD_AUGMENT_TRANSLATION) {
      p[GPD_AUG_SHIFT_Y] = (float)gpd_rng_int(r, -shift_y, shift_y);
      p[GPD_AUG_SHIFT_X] = (float)gpd_rng_int(r, -shift_x, shift_x);
    }
    if (policy & GPD_AUGMENT_CUTOUT) {
      /* the reference: offset in [0, size + (1 - cut % 2)), square from offset - cut / 2 */
      p[GPD_AUG_CUT_SIZE] = (float)cut;
      p[GPD_AUG_CUT_TOP] = (float)(gpd_rng_int(r, 0, h - cut % 2) - cut / 2);
      p[GPD_AUG_CUT_LEFT] = (float)(gpd_rng_int(r, 0, w - cut % 2) - cut / 2);
    }
  }
}

int gpd_trainer_draw_augment(gpd_trainer *t, int n) {
  if (!t->cfg.augment || t->kind != GPD_TRAIN_GAN) return 0;
  const gpd_net *g = &t->nets[1];
  size_t view = (size_t)t->cfg.batch * GPD_AUGMENT_PARAMS;
  for (int v = 0; v < GPD_AUGMENT_VIEWS; v++)
    gpd_augment_draw(&t->aug_rng, t->cfg.augment, v == GPD_VIEW_REAL, n, g->out_h, g->out_w, t->host_aug + v * view);
  return t->e->upload(t->e, t->aug_params, t->host_aug, GPD_AUGMENT_VIEWS * view);
}

int gpd_train_gan_augment(gpd_trainer *t, int view, int n, const float *x, float *y) {
  const gpd_net *g = &t->nets[1];
  const float *params = t->aug_params + (size_t)view * t->cfg.batch * GPD_AUGMENT_PARAMS;
  return t->e->diffaugment_forward(t->e, n, g->out_c, g->out_h, g->out_w, params, x, y);
}

int gpd_train_gan_augment_backward(gpd_trainer *t, int view, int n, const float *dy, float *dx) {
  const gpd_net *g = &t->nets[1];
  const float *params = t->aug_params + (size_t)view * t->cfg.batch * GPD_AUGMENT_PARAMS;
  return t->e->diffaugment_backward(t->e, n, g->out_c, g->out_h, g->out_w, params, dy, dx);
}
