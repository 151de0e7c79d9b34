/* The CPU engine's operations: the reference implementation of every
 * engine op (gpd/engine.h documents each). One family per file:
 * cpu_elementwise.c, cpu_activation.c, cpu_linear.c, cpu_conv2d.c,
 * cpu_conv_transpose2d.c, cpu_batchnorm.c, cpu_pool.c, cpu_fft.c,
 * cpu_complex.c, cpu_canvas.c, cpu_reduce.c, cpu_tv.c, cpu_optim.c,
 * cpu_gather.c, cpu_losses.c, cpu_crop.c, cpu_augment.c. */
#ifndef GPD_CPU_OPS_H
#define GPD_CPU_OPS_H

#include "gpd/engine.h"
#include "gpd/engine_ops.h"

/* cpu_<op> for every op of the engine table (gpd/engine_ops.h), e.g.
 *   int cpu_axpby(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
 * cpu_optim_device.c's sgd_step_device_lr / adam_step_device_t run the
 * by-value steps of cpu_optim.c with the schedule read from engine memory. */
#define GPD_CPU_OP_DECLARE(name, params) int cpu_##name params;
GPD_ENGINE_OPS(GPD_CPU_OP_DECLARE)
#undef GPD_CPU_OP_DECLARE

/* Ops whose loops the cpu engine splits over its OpenMP pool (cpu_NAME_omp;
 * the cpu_NAME above run on the calling thread): batch norms by channel,
 * activations and Adam by element, FFTs by batch item (cpu_fft.c). */
#define GPD_CPU_OMP_OPS(X)                                                                                    \
  X(batchnorm_forward_train) X(batchnorm_backward_train) X(batchnorm_forward_infer) X(batchnorm_backward_infer) \
  X(activation_forward) X(activation_backward) X(adam_step) X(fft_r2c) X(fft_c2r)
int cpu_batchnorm_forward_train_omp(gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var);
int cpu_batchnorm_backward_train_omp(gpd_engine *e, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
int cpu_batchnorm_forward_infer_omp(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y);
int cpu_activation_forward_omp(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y);
int cpu_activation_backward_omp(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx);
int cpu_adam_step_omp(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m, float *v, float *p);
int cpu_fft_r2c_omp(gpd_engine *e, int b, int h, int w, const float *x, float *X);
int cpu_fft_c2r_omp(gpd_engine *e, int b, int h, int w, const float *X, float *x);
int cpu_batchnorm_backward_infer_omp(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta);

/* im2col for conv2d geometry g, one image: x (C_in, H_in, W_in) ->
 * col (C_in*K*K, H_out*W_out); col2im is its adjoint (accumulates into x). */
void cpu_im2col(const gpd_conv_geom *g, const float *x, float *col);
void cpu_col2im(const gpd_conv_geom *g, const float *col, float *x);

/* Fills e's table with the reference ops and host memory (everything but
 * name, destroy and fork). */
void cpu_engine_fill_reference(gpd_engine *e);

/* FFTW plan cache, freed with the engine. */
void cpu_fft_cleanup(gpd_engine *e);
size_t cpu_fft_scratch_bytes(gpd_engine *e, int b, int h, int w);

#endif
