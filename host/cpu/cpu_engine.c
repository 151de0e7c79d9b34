/* The CPU engine: host memory, OpenBLAS and FFTW. Builds the op table from
 * the cpu_* functions (one family per file in host/cpu/). */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_ops.h"
#include "gpd/common.h"

static float *cpu_alloc(gpd_engine *e, size_t count, const char *what) {
  (void)e;
  return gpd_calloc(count, sizeof(float), what);
}

static void cpu_free(gpd_engine *e, void *p) {
  (void)e;
  free(p);
}

static int cpu_upload(gpd_engine *e, float *dst, const float *src, size_t count) {
  (void)e;
  if (count) memmove(dst, src, count * sizeof(float));
  return 0;
}

static int cpu_copy(gpd_engine *e, float *dst, const float *src, size_t count) {
  (void)e;
  if (count && dst != src) memmove(dst, src, count * sizeof(float));
  return 0;
}

static int cpu_fill(gpd_engine *e, float *x, float value, size_t count) {
  (void)e;
  for (size_t i = 0; i < count; i++) x[i] = value;
  return 0;
}

static int cpu_sync(gpd_engine *e) {
  (void)e;
  return 0;
}

static size_t cpu_memory_free(gpd_engine *e) {
  (void)e;
  long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)1 << 32;
}

/* A second CPU engine: the CPU engine has no per-engine state to share. */
static gpd_engine *cpu_fork(gpd_engine *e) {
  (void)e;
  return gpd_engine_cpu_create();
}

static void cpu_destroy(gpd_engine *e) {
  cpu_fft_cleanup(e);
  free(e);
}

gpd_engine *gpd_engine_cpu_create(void) {
  gpd_engine *e = gpd_calloc(1, sizeof *e, "the CPU engine");
  if (!e) return NULL;
  e->name = "cpu";
  e->precision = GPD_PRECISION_FP32;
  e->alloc = cpu_alloc;
  e->free = cpu_free;
  e->upload = cpu_upload;
  e->download = cpu_upload; /* host to host: the same copy */
  e->copy = cpu_copy;
  e->fill = cpu_fill;
  e->sync = cpu_sync;
  e->destroy = cpu_destroy;
  e->memory_free = cpu_memory_free;
#define OP(name) e->name = cpu_##name
  OP(axpby); OP(affine); OP(scale_per_item); OP(multiply);
  OP(activation_forward); OP(activation_backward);
  OP(linear_forward); OP(linear_backward_data); OP(linear_backward_weights);
  OP(conv2d_forward); OP(conv2d_backward_data); OP(conv2d_backward_weights);
  OP(conv_transpose2d_forward); OP(conv_transpose2d_backward_data); OP(conv_transpose2d_backward_weights);
  OP(batchnorm_forward_train); OP(batchnorm_backward_train);
  OP(batchnorm_forward_infer); OP(batchnorm_backward_infer);
  OP(maxpool2d_forward); OP(maxpool2d_backward);
  OP(upsample_nearest_forward); OP(upsample_nearest_backward);
  OP(fft_r2c); OP(fft_c2r);
  OP(complex_multiply_broadcast); OP(complex_multiply_sum_channels);
  OP(kernel_to_canvas); OP(kernel_from_canvas); OP(valid_crop); OP(valid_pad);
  OP(crop2d); OP(crop2d_backward);
  OP(sum_squares_per_item); OP(squared_distance_per_item); OP(sum_per_item);
  OP(tv_forward); OP(tv_backward);
  OP(sgd_step); OP(adam_step);
  OP(vae_sample); OP(vae_sample_backward); OP(vae_kl_per_item); OP(bce_with_logits);
  OP(gather_items);
  OP(sgd_step_device_lr); OP(adam_step_device_t);
  e->fork = cpu_fork;
#undef OP
  return e;
}
