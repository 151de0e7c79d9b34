/* Host images: allocation, loading through stb_image (each file checked by
 * image_guard.c before stb sees it), saving 8-bit PNGs (gpd/image.h).
 * Pixels are float CHW in [0, 1]. */
#define _POSIX_C_SOURCE 200809L
#include "gpd/image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "gpd/common.h"
#include "image_guard.h"

int gpd_image_alloc(gpd_image *im, int c, int h, int w) {
  im->c = im->h = im->w = 0;
  im->data = NULL;
  if (c < 1 || h < 1 || w < 1) return gpd_error("invalid image shape %dx%dx%d", h, w, c);
  im->data = gpd_malloc((size_t)c * h * w * sizeof(float), "image");
  if (!im->data) return -1;
  im->c = c;
  im->h = h;
  im->w = w;
  return 0;
}

void gpd_image_free(gpd_image *im) {
  if (!im) return;
  free(im->data);
  im->data = NULL;
  im->c = im->h = im->w = 0;
}

/* ITU-R BT.601 luma, the weights PIL's convert("L") uses. */
static float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

int gpd_image_load_memory(gpd_image *im, const char *name, const unsigned char *bytes, size_t len, int channels) {
  im->c = im->h = im->w = 0;
  im->data = NULL;
  if (channels != 0 && channels != 1 && channels != 3)
    return gpd_error("%s: cannot load with %d channels (0, 1 or 3)", name, channels);
  gpd_image_format format;
  GPD_TRY(gpd_image_guard(bytes, len, name, &format));
  int w, h, n;
  unsigned char *px = stbi_load_from_memory(bytes, (int)len, &w, &h, &n, 0);
  if (!px) return gpd_error("cannot decode image '%s' (corrupt or unsupported): %s", name, stbi_failure_reason());
  int stored = n <= 2 ? 1 : 3; /* alpha is dropped */
  int c = channels ? channels : stored;
  if (gpd_image_alloc(im, c, h, w) != 0) {
    stbi_image_free(px);
    return -1;
  }
  size_t plane = (size_t)h * w;
  for (size_t p = 0; p < plane; p++) {
    const unsigned char *q = px + p * (size_t)n;
    float v0 = q[0] / 255.0f;
    if (stored == 1) {
      for (int ch = 0; ch < c; ch++) im->data[ch * plane + p] = v0;
    } else {
      float r = v0, g = q[1] / 255.0f, b = q[2] / 255.0f;
      if (c == 1) {
        im->data[p] = luma(r, g, b);
      } else {
        im->data[p] = r;
        im->data[plane + p] = g;
        im->data[2 * plane + p] = b;
      }
    }
  }
  stbi_image_free(px);
  return 0;
}

int gpd_image_load(gpd_image *im, const char *path, int channels) {
  im->c = im->h = im->w = 0;
  im->data = NULL;
  size_t len;
  unsigned char *bytes = (unsigned char *)gpd_read_file(path, "image", GPD_IMAGE_MAX_BYTES, &len);
  if (!bytes) return -1;
  int rc = gpd_image_load_memory(im, path, bytes, len, channels);
  free(bytes);
  return rc;
}

int gpd_image_save_png(const gpd_image *im, const char *path) {
  if (!im || !im->data || (im->c != 1 && im->c != 3))
    return gpd_error("cannot save '%s': PNG needs a 1- or 3-channel image", path);
  size_t plane = (size_t)im->h * im->w;
  unsigned char *px = gpd_malloc(plane * im->c, "PNG pixels");
  if (!px) return -1;
  for (size_t p = 0; p < plane; p++)
    for (int ch = 0; ch < im->c; ch++) {
      float v = im->data[ch * plane + p];
      /* NaN maps to 0 rather than to whatever the cast would make of it. */
      v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
      px[p * im->c + ch] = (unsigned char)lrintf(v * 255.0f);
    }
  errno = 0;
  int ok = stbi_write_png(path, im->w, im->h, im->c, px, im->w * im->c);
  int err = errno;
  free(px);
  if (!ok) return gpd_error("cannot write PNG '%s': %s", path, err ? strerror(err) : "write failed");
  return 0;
}
