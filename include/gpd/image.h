/* Images on the host: float CHW in [0, 1], gray (C = 1) or RGB (C = 3). */
#ifndef GPD_IMAGE_H
#define GPD_IMAGE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gpd_image {
  int c, h, w;
  float *data;   /* (C, H, W), host memory */
} gpd_image;

int gpd_image_alloc(gpd_image *im, int c, int h, int w);
void gpd_image_free(gpd_image *im);
/* Loads PNG, JPEG, BMP, binary PGM/PPM and TGA (stb_image, after a check
 * of the file's structure: truncated, corrupt or oversized files are
 * refused before they are decoded). channels: 0 = as stored (gray stays
 * gray, gray+alpha -> gray, RGB(A) -> RGB), 1 = force gray (ITU-R 601
 * luma), 3 = force RGB. Errors are one line naming the file. */
int gpd_image_load(gpd_image *im, const char *path, int channels);
/* The same from the file's bytes in memory; `name` is what errors call it. */
int gpd_image_load_memory(gpd_image *im, const char *name, const unsigned char *bytes, size_t len, int channels);
/* Saves an 8-bit PNG (values clipped to [0, 1] and rounded). */
int gpd_image_save_png(const gpd_image *im, const char *path);
/* Center crop to ch x cw (error if larger than the image). */
int gpd_image_center_crop(const gpd_image *src, int ch, int cw, gpd_image *dst);
/* Bilinear resize with antialiasing (area-weighted when shrinking), as PIL's
 * BILINEAR resize does. */
int gpd_image_resize(const gpd_image *src, int h, int w, gpd_image *dst);
/* The CelebA recipe: center crop crop x crop then resize to size x size
 * (54 -> 64 for the half-size aligned set in ../shared/data). */
#define GPD_CELEBA_CROP 54
#define GPD_CELEBA_SIZE 64
int gpd_image_crop_resize(const gpd_image *src, int crop, int size, gpd_image *dst);
/* Side-by-side grid of images (each padded to the tallest, gray promoted to
 * RGB), `pad` pixels of white between. */
int gpd_image_hstack(const gpd_image *const *ims, int count, int pad, gpd_image *dst);
/* Kernel for display: scaled so its maximum is 1, upscaled by `zoom`. */
int gpd_image_from_kernel(const float *k, int ksize, int zoom, gpd_image *dst);

#ifdef __cplusplus
}
#endif
#endif
