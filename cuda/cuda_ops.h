/* The CUDA engine's operations, one per table entry (gpd/engine.h documents
 * each; host/cpu/ holds the reference each must agree with). Our own
 * kernels live in kernels/, one family per file, and these extern "C"
 * functions are their launchers; cuda/ holds the cuDNN, cuBLAS and cuFFT
 * ones. All run on the engine's stream. */
#ifndef GPD_CUDA_OPS_H
#define GPD_CUDA_OPS_H

#include "gpd/engine.h"
#include "gpd/engine_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cuda_<op> for every op of the engine table (gpd/engine_ops.h), e.g.
 *   int cuda_axpby(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
 * implemented by family:
 *   kernels/elementwise.cu  axpby, affine, scale_per_item, multiply
 *   kernels/activation.cu   activation_forward / _backward
 *   cuda/cuda_linear.c      linear_forward, linear_backward_data / _weights
 *   cuda/cuda_conv.c        conv2d_* and conv_transpose2d_*
 *   kernels/batchnorm.cu    batchnorm_forward / backward _train / _infer
 *   kernels/pool.cu         maxpool2d_*, upsample_nearest_*
 *   cuda/cuda_fft.c         fft_r2c, fft_c2r
 *   kernels/complex.cu      complex_multiply_broadcast / _sum_channels
 *   kernels/canvas.cu       kernel_to_canvas, kernel_from_canvas, valid_crop, valid_pad, crop2d, crop2d_backward
 *   kernels/reduce.cu       sum_squares_per_item, squared_distance_per_item, sum_per_item
 *   kernels/tv.cu           tv_forward, tv_backward
 *   kernels/optim.cu        sgd_step, adam_step
 *   kernels/optim_device.cu sgd_step_device_lr, adam_step_device_t (the schedule in device memory)
 *   kernels/losses.cu       vae_sample, vae_sample_backward, vae_kl_per_item, bce_with_logits
 *   kernels/gather.cu       gather_items
 *   kernels/augment.cu      diffaugment_forward / _backward */
#define GPD_CUDA_OP_DECLARE(name, params) int cuda_##name params;
GPD_ENGINE_OPS(GPD_CUDA_OP_DECLARE)
#undef GPD_CUDA_OP_DECLARE

/* kernels/elementwise.cu: x[i] = value for i < count (fill with a non-zero bit pattern) */
int cuda_fill_value(gpd_engine *e, float *x, float value, size_t count);

/* kernels/bias.cu: the dense layer's bias, y (N, Out) += b; db (Out) += column sums of dy */
int cuda_bias_add_rows(gpd_engine *e, int n, int out, const float *b, float *y);
int cuda_bias_grad_rows(gpd_engine *e, int n, int out, const float *dy, float *db);

#ifdef __cplusplus
}
#endif
#endif
