/* Blur kernels and the forward model y = i (*) k + n, on the host.
 *
 * Kernels are K x K (K = 28 for the blur VAE), nonnegative, sum 1.
 * Exact kernel files (".kernel"): the text line "gpdeblur-kernel 1 K",
 * then K lines of K numbers printed with %.9g (round-trips float32 exactly),
 * row by row. A PNG beside it is for people (scaled to its maximum). */
#ifndef GPD_BLUR_H
#define GPD_BLUR_H

#include <stdint.h>
#include "gpd/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The paper's blur kernels: 28 x 28 (the blur VAE's output), motion
 * trajectories of maximum length drawn from 5..28 pixels. */
#define GPD_KERNEL_SIZE 28
#define GPD_MOTION_LENGTH_MIN 5
#define GPD_MOTION_LENGTH_MAX 28

typedef enum gpd_boundary {
  GPD_BOUNDARY_CIRCULAR = 0, /* the paper's: FFT of the image's size, kernel centred */
  GPD_BOUNDARY_LINEAR        /* real photos: y is the valid part of a linear convolution */
} gpd_boundary;

/* Motion blur from a random camera-shake trajectory (Boracchi and Foi 2012):
 * 100 samples, anxiety 0.01, maximum length drawn uniformly from the integers
 * [len_min, len_max] (the paper: 5..28), exposure T = 1, rasterised with
 * bilinear weights and centred on the K x K canvas. Reproducible from seed. */
int gpd_motion_kernel(float *k, int ksize, uint64_t seed, int len_min, int len_max);
/* The length drawn for a seed (the same draw gpd_motion_kernel makes). */
int gpd_motion_kernel_length(uint64_t seed, int len_min, int len_max);
/* Isotropic Gaussian kernel of standard deviation sigma, centred, sum 1. */
int gpd_gaussian_kernel(float *k, int ksize, float sigma);

/* Forward model on the host (the reference the engines are tested against):
 * circular: y (C,H,W) = i (C,H,W) (*) k, kernel centred (no shift);
 * linear:   i is (C, H+K-1, W+K-1), y is the valid (C, H, W) part.
 * Then y += N(0, sigma^2) from `seed` and clip to [0, 1] when sigma > 0. */
int gpd_blur_image(const gpd_image *sharp, const float *k, int ksize, gpd_boundary boundary, float sigma, uint64_t seed, gpd_image *blurry);
/* Direct spatial convolution (no FFT), for tests. Same geometry as above,
 * no noise. */
void gpd_blur_direct(const float *x, int c, int h, int w, const float *k, int ksize, gpd_boundary boundary, float *y);

int gpd_kernel_save(const char *path, const float *k, int ksize);
/* Loads a ".kernel" file, or a Levin-style text file (rows of numbers), or an
 * image (normalised to sum 1), and checks it (gpd_kernel_check). *k is
 * malloc'd. Errors are one line naming the file (and the line and text of a
 * bad number). */
int gpd_kernel_load(const char *path, float **k, int *ksize);
/* The same from the file's bytes in memory; `name` is what errors call it. */
int gpd_kernel_load_memory(const char *name, const unsigned char *bytes, size_t len, float **k, int *ksize);
/* What makes a blur kernel, whichever file it came from: every entry finite
 * and nonnegative, the sum above 0. Errors name `name` and the entry. */
int gpd_kernel_check(const char *name, const float *k, int ksize);
/* Writes path (".kernel") and the same name with ".png". */
int gpd_kernel_save_both(const char *path, const float *k, int ksize);

#ifdef __cplusplus
}
#endif
#endif
