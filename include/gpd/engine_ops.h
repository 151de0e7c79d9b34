/* The engine table's ops (gpd/engine.h documents each) as one X-macro list
 * of name and parameters, for the engines that implement them: each engine
 * declares its functions <prefix>_<name> and fills its table from this
 * list (host/cpu/cpu_ops.h and cpu_engine.c, cuda/cuda_ops.h and
 * cuda_engine.c), so an op added to gpd_engine is one line here. The
 * table's other entries (memory, sync, destroy, fork, caps, fft_scratch_bytes,
 * graphs) are per engine.
 *
 *   #define DECLARE(name, params) int cpu_##name params;
 *   GPD_ENGINE_OPS(DECLARE)
 *
 * Every op returns 0, or -1 with an error recorded. The compiler checks
 * each list entry against its gpd_engine member where a table is filled. */
#ifndef GPD_ENGINE_OPS_H
#define GPD_ENGINE_OPS_H

#include "gpd/engine.h"

// clang-format off
#define GPD_ENGINE_OPS(X) \
  /* elementwise */ \
  X(axpby, (gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y)) \
  X(affine, (gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y)) \
  X(scale_per_item, (gpd_engine *e, int items, size_t per_item, const float *s, const float *x, float *y)) \
  X(multiply, (gpd_engine *e, size_t count, const float *a, const float *b, float *y)) \
  /* activations */ \
  X(activation_forward, (gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y)) \
  X(activation_backward, (gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx)) \
  /* dense layers */ \
  X(linear_forward, (gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b, float *y)) \
  X(linear_backward_data, (gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx)) \
  X(linear_backward_weights, (gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw, float *db)) \
  /* convolutions */ \
  X(conv2d_forward, (gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y)) \
  X(conv2d_backward_data, (gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx)) \
  X(conv2d_backward_weights, (gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db)) \
  X(conv_transpose2d_forward, (gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y)) \
  X(conv_transpose2d_backward_data, (gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx)) \
  X(conv_transpose2d_backward_weights, (gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db)) \
  /* batch norm */ \
  X(batchnorm_forward_train, (gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var)) \
  X(batchnorm_backward_train, (gpd_engine *e, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta)) \
  X(batchnorm_forward_infer, (gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y)) \
  X(batchnorm_backward_infer, (gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta)) \
  /* pooling and upsampling */ \
  X(maxpool2d_forward, (gpd_engine *e, int n, int c, int h, int w, int size, const float *x, float *y, int32_t *argmax)) \
  X(maxpool2d_backward, (gpd_engine *e, int n, int c, int h, int w, int size, const float *dy, const int32_t *argmax, float *dx)) \
  X(upsample_nearest_forward, (gpd_engine *e, int n, int c, int h, int w, int factor, const float *x, float *y)) \
  X(upsample_nearest_backward, (gpd_engine *e, int n, int c, int h, int w, int factor, const float *dy, float *dx)) \
  /* FFT and complex products */ \
  X(fft_r2c, (gpd_engine *e, int b, int h, int w, const float *x, float *X)) \
  X(fft_c2r, (gpd_engine *e, int b, int h, int w, const float *X, float *x)) \
  X(complex_multiply_broadcast, (gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out)) \
  X(complex_multiply_sum_channels, (gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out)) \
  /* kernels on canvases, crops */ \
  X(kernel_to_canvas, (gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *k, float *canvas)) \
  X(kernel_from_canvas, (gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *canvas, float *dk)) \
  X(valid_crop, (gpd_engine *e, int n, int c, int h, int w, int ksize, const float *full, float *valid)) \
  X(valid_pad, (gpd_engine *e, int n, int c, int h, int w, int ksize, const float *valid, float *full)) \
  X(crop2d, (gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *src, float *dst)) \
  X(crop2d_backward, (gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *ddst, float *dsrc)) \
  /* per-item reductions */ \
  X(sum_squares_per_item, (gpd_engine *e, int items, size_t per_item, const float *x, float *out)) \
  X(squared_distance_per_item, (gpd_engine *e, int items, size_t per_item, const float *a, const float *b, float *out)) \
  X(sum_per_item, (gpd_engine *e, int items, size_t per_item, const float *x, float *out)) \
  /* total variation */ \
  X(tv_forward, (gpd_engine *e, int n, int c, int h, int w, const float *x, float *out)) \
  X(tv_backward, (gpd_engine *e, int n, int c, int h, int w, float weight, const float *x, float *dx)) \
  /* optimisers */ \
  X(sgd_step, (gpd_engine *e, size_t count, float lr, const float *g, float *p)) \
  X(adam_step, (gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m, float *v, float *p)) \
  /* VAE and GAN losses */ \
  X(vae_sample, (gpd_engine *e, int n, int latent, const float *stats, const float *eps, float *z)) \
  X(vae_sample_backward, (gpd_engine *e, int n, int latent, const float *stats, const float *eps, const float *dz, float kl_weight, float *dstats)) \
  X(vae_kl_per_item, (gpd_engine *e, int n, int latent, const float *stats, float *out)) \
  X(bce_with_logits, (gpd_engine *e, int n, const float *logits, float target, float scale, float *loss, float *dlogits)) \
  /* gather */ \
  X(gather_items, (gpd_engine *e, int count, size_t item_size, const int *index, const float *src, float *dst)) \
  /* data augmentation */ \
  X(diffaugment_forward, (gpd_engine *e, int n, int c, int h, int w, const float *params, const float *x, float *y)) \
  X(diffaugment_backward, (gpd_engine *e, int n, int c, int h, int w, const float *params, const float *dy, float *dx)) \
  /* optimisers with the schedule in engine memory */ \
  X(sgd_step_device_lr, (gpd_engine *e, size_t count, const float *lr, const float *g, float *p)) \
  X(adam_step_device_t, (gpd_engine *e, size_t count, const float *sched, float beta1, float beta2, float eps, const float *g, float *m, float *v, float *p))
// clang-format on

#endif
