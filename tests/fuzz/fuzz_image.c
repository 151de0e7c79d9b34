/* Fuzz target: any bytes through our image loader (the guard, then
 * stb_image), as gray, as stored and as RGB; a decoded image is cropped and
 * resized as the CelebA recipe does. */
#include <stddef.h>
#include <stdint.h>

#include "gpd/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int channels[3] = {0, 1, 3};
  gpd_image im = {0}, out = {0};
  /* the choice of channels comes from the size: every byte stays the file's */
  if (gpd_image_load_memory(&im, "fuzz.img", data, size, channels[size % 3]) == 0) {
    const int side = im.h < im.w ? im.h : im.w;
    if (gpd_image_crop_resize(&im, side, 8, &out) == 0) gpd_image_free(&out);
    gpd_image_free(&im);
  }
  return 0;
}
