/* Fuzz target: any bytes as a kernel file (".kernel", rows of numbers, or
 * an image); a kernel that loads must pass gpd_kernel_check, and is placed
 * on the blur VAE's canvas and drawn as the picture beside a .kernel. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/eval.h"
#include "gpd/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  float *k = NULL;
  int ks = 0;
  if (gpd_kernel_load_memory("fuzz.kernel", data, size, &k, &ks) != 0) return 0;
  /* every reader's kernel is a blur kernel */
  if (gpd_kernel_check("fuzz.kernel", k, ks) != 0) abort();
  float canvas[GPD_KERNEL_SIZE * GPD_KERNEL_SIZE];
  if (ks <= GPD_KERNEL_SIZE && gpd_eval_kernel_embed(k, ks, canvas, GPD_KERNEL_SIZE) != 0) abort();
  gpd_image im = {0};
  if (ks <= 64 && gpd_image_from_kernel(k, ks, 1, &im) == 0) gpd_image_free(&im);
  free(k);
  return 0;
}
