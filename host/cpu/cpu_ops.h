/* The CPU engine's operations: the reference implementation of every
 * engine op (gpd/engine.h documents each). One family per file:
 * cpu_elementwise.c, cpu_activation.c, cpu_linear.c, cpu_conv2d.c,
 * cpu_conv_transpose2d.c, cpu_batchnorm.c, cpu_pool.c, cpu_fft.c,
 * cpu_complex.c, cpu_canvas.c, cpu_reduce.c, cpu_tv.c, cpu_optim.c,
 * cpu_gather.c, cpu_losses.c, cpu_crop.c. */
#ifndef GPD_CPU_OPS_H
#define GPD_CPU_OPS_H

#include "gpd/engine.h"

int cpu_axpby(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
int cpu_affine(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
int cpu_scale_per_item(gpd_engine *e, int items, size_t per_item, const float *s, const float *x, float *y);
int cpu_multiply(gpd_engine *e, size_t count, const float *a, const float *b, float *y);
int cpu_activation_forward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y);
int cpu_activation_backward(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx);
int cpu_linear_forward(gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b, float *y);
int cpu_linear_backward_data(gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx);
int cpu_linear_backward_weights(gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw, float *db);
int cpu_conv2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y);
int cpu_conv2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx);
int cpu_conv2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db);
int cpu_conv_transpose2d_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y);
int cpu_conv_transpose2d_backward_data(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx);
int cpu_conv_transpose2d_backward_weights(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db);
int cpu_batchnorm_forward_train(gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var);
int cpu_batchnorm_backward_train(gpd_engine *e, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
int cpu_batchnorm_forward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y);
int cpu_batchnorm_backward_infer(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta);
int cpu_maxpool2d_forward(gpd_engine *e, int n, int c, int h, int w, int size, const float *x, float *y, int32_t *argmax);
int cpu_maxpool2d_backward(gpd_engine *e, int n, int c, int h, int w, int size, const float *dy, const int32_t *argmax, float *dx);
int cpu_upsample_nearest_forward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *x, float *y);
int cpu_upsample_nearest_backward(gpd_engine *e, int n, int c, int h, int w, int factor, const float *dy, float *dx);
int cpu_fft_r2c(gpd_engine *e, int b, int h, int w, const float *x, float *X);
int cpu_fft_c2r(gpd_engine *e, int b, int h, int w, const float *X, float *x);
int cpu_complex_multiply_broadcast(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out);
int cpu_complex_multiply_sum_channels(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out);
int cpu_kernel_to_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *k, float *canvas);
int cpu_kernel_from_canvas(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *canvas, float *dk);
int cpu_valid_crop(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *full, float *valid);
int cpu_valid_pad(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *valid, float *full);
int cpu_crop2d(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *src, float *dst);
int cpu_crop2d_backward(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *ddst, float *dsrc);
int cpu_sum_squares_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out);
int cpu_squared_distance_per_item(gpd_engine *e, int items, size_t per_item, const float *a, const float *b, float *out);
int cpu_sum_per_item(gpd_engine *e, int items, size_t per_item, const float *x, float *out);
int cpu_tv_forward(gpd_engine *e, int n, int c, int h, int w, const float *x, float *out);
int cpu_tv_backward(gpd_engine *e, int n, int c, int h, int w, float weight, const float *x, float *dx);
int cpu_sgd_step(gpd_engine *e, size_t count, float lr, const float *g, float *p);
int cpu_adam_step(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m, float *v, float *p);
/* cpu_optim_device.c: the same steps with the schedule in engine memory */
int cpu_sgd_step_device_lr(gpd_engine *e, size_t count, const float *lr, const float *g, float *p);
int cpu_adam_step_device_t(gpd_engine *e, size_t count, const float *sched, float beta1, float beta2, float eps, const float *g, float *m, float *v, float *p);
int cpu_vae_sample(gpd_engine *e, int n, int latent, const float *stats, const float *eps, float *z);
int cpu_vae_sample_backward(gpd_engine *e, int n, int latent, const float *stats, const float *eps, const float *dz, float kl_weight, float *dstats);
int cpu_vae_kl_per_item(gpd_engine *e, int n, int latent, const float *stats, float *out);
int cpu_bce_with_logits(gpd_engine *e, int n, const float *logits, float target, float scale, float *loss, float *dlogits);
int cpu_gather_items(gpd_engine *e, int count, size_t item_size, const int *index, const float *src, float *dst);

/* im2col for conv2d geometry g, one image: x (C_in, H_in, W_in) ->
 * col (C_in*K*K, H_out*W_out); col2im is its adjoint (accumulates into x). */
void cpu_im2col(const gpd_conv_geom *g, const float *x, float *col);
void cpu_col2im(const gpd_conv_geom *g, const float *col, float *x);

/* FFTW plan cache, freed with the engine. */
void cpu_fft_cleanup(gpd_engine *e);

#endif
