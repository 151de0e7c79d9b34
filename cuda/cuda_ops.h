/* The CUDA engine's operations, one per table entry (gpd/engine.h documents
 * each; host/cpu/ holds the reference each must agree with). Our own
 * kernels live in kernels/, one family per file, and these extern "C"
 * functions are their launchers; cuda/ holds the cuDNN, cuBLAS and cuFFT
 * ones. All run on the engine's stream. */
#ifndef GPD_CUDA_OPS_H
#define GPD_CUDA_OPS_H

#include "gpd/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* kernels/elementwise.cu */
int cuda_axpby(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
int cuda_affine(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
int cuda_scale_per_item(gpd_engine *e, int items, size_t per_item, const float *s, const float *x, float *y);
int cuda_multiply(gpd_engine *e, size_t count, const float *a, const float *b, float *y);
/* x[i] = value for i < count (fill with a non-zero bit pattern) */
int cuda_fill_value(gpd_engine *e, float *x, float value, size_t count);

/* kernels/activation.cu */
int cuda_activation_forward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y);
int cuda_activation_backward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx);

/* cuda/cuda_linear.c */
int cuda_linear_forward(gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b, float *y);
int cuda_linear_backward_data(gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx);
int cuda_linear_backward_weights(gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw, float *db);

/* kernels/bias.cu: the dense layer's bias, y (N, Out) += b; db (Out) += column sums of dy */
int cuda_bias_add_rows(gpd_engine *e, int n, int out, const float *b, float *y);
int cuda_bias_grad_rows(gpd_engine *e, int n, int out, const float *dy, float *db);

/* cuda/cuda_conv.c */
int cuda_conv2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y);
int cuda_conv2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx);
int cuda_conv2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db);
int cuda_conv_transpose2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y);
int cuda_conv_transpose2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx);
int cuda_conv_transpose2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db);

/* kernels/batchnorm.cu */
int cuda_batchnorm_forward_train(gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var);
int cuda_batchnorm_backward_train(gpd_engine *e, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
int cuda_batchnorm_forward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y);
int cuda_batchnorm_backward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta);

/* kernels/pool.cu */
int cuda_maxpool2d_forward(gpd_engine *e, int n, int c, int h, int w, int size, const float *x, float *y, int32_t *argmax);
int cuda_maxpool2d_backward(gpd_engine *e, int n, int c, int h, int w, int size, const float *dy, const int32_t *argmax, float *dx);
int cuda_upsample_nearest_forward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *x, float *y);
int cuda_upsample_nearest_backward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *dy, float *dx);

/* cuda/cuda_fft.c */
int cuda_fft_r2c(gpd_engine *e, int b, int h, int w, const float *x, float *X);
int cuda_fft_c2r(gpd_engine *e, int b, int h, int w, const float *X, float *x);

/* kernels/complex.cu */
int cuda_complex_multiply_broadcast(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out);
int cuda_complex_multiply_sum_channels(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out);

/* kernels/canvas.cu */
int cuda_kernel_to_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *k, float *canvas);
int cuda_kernel_from_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *canvas, float *dk);
int cuda_valid_crop(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *full, float *valid);
int cuda_valid_pad(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *valid, float *full);
int cuda_crop2d(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *src, float *dst);
int cuda_crop2d_backward(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *ddst, float *dsrc);

/* kernels/reduce.cu */
int cuda_sum_squares_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out);
int cuda_squared_distance_per_item(gpd_engine *e, int items, size_t per_item, const float *a, const float *b, float *out);
int cuda_sum_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out);

/* kernels/tv.cu */
int cuda_tv_forward(gpd_engine *e, int n, int c, int h, int w, const float *x, float *out);
int cuda_tv_backward(gpd_engine *e, int n, int c, int h, int w, float weight, const float *x, float *dx);

/* kernels/optim.cu */
int cuda_sgd_step(gpd_engine *e, size_t count, float lr, const float *g, float *p);
int cuda_adam_step(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m, float *v, float *p);

/* kernels/optim_device.cu: the same steps with the schedule in device memory */
int cuda_sgd_step_device_lr(gpd_engine *e, size_t count, const float *lr, const float *g, float *p);
int cuda_adam_step_device_t(gpd_engine *e, size_t count, const float *sched, float beta1, float beta2, float eps, const float *g, float *m, float *v, float *p);

/* kernels/losses.cu */
int cuda_vae_sample(gpd_engine *e, int n, int latent, const float *stats, const float *eps, float *z);
int cuda_vae_sample_backward(gpd_engine *e, int n, int latent, const float *stats, const float *eps, const float *dz, float kl_weight, float *dstats);
int cuda_vae_kl_per_item(gpd_engine *e, int n, int latent, const float *stats, float *out);
int cuda_bce_with_logits(gpd_engine *e, int n, const float *logits, float target, float scale, float *loss, float *dlogits);

/* kernels/gather.cu */
int cuda_gather_items(gpd_engine *e, int count, size_t item_size, const int *index, const float *src, float *dst);

#ifdef __cplusplus
}
#endif
#endif
