/* Image quality: PSNR and SSIM (Wang et al. 2004 as scikit-image computes it
 * with gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 * data_range=1; mean over channels), and the Levin benchmark's
 * shift-tolerant versions. */
#ifndef GPD_METRICS_H
#define GPD_METRICS_H

#include "gpd/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Arrays are (C, H, W) floats in [0, 1]. */
double gpd_psnr(const float *a, const float *b, int c, int h, int w);
double gpd_ssim(const float *a, const float *b, int c, int h, int w);
/* Shift-tolerant: best over integer shifts |dy|,|dx| <= max_shift of the
 * restored image against the sharp one, both cropped by `border` pixels. */
double gpd_psnr_shift_tolerant(const float *restored, const float *sharp, int c, int h, int w, int max_shift, int border);
double gpd_ssim_shift_tolerant(const float *restored, const float *sharp, int c, int h, int w, int max_shift, int border);
/* Kernel error: relative l2 error ||k - k_true|| / ||k_true|| after the best
 * integer shift within +-max_shift (a kernel is only known up to a shift). */
double gpd_kernel_error(const float *k, const float *k_true, int ksize, int max_shift);

#ifdef __cplusplus
}
#endif
#endif
