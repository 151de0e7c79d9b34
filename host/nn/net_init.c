/* Standard initialisation, drawn on the host from one seed (gpd/rng.h) and
 * uploaded, so every engine starts from the same numbers.
 *  - DCGAN (Radford et al.): conv / linear weights N(0, 0.02), biases 0,
 *    batch-norm gamma N(1, 0.02), beta 0.
 *  - VAEs: PyTorch's default, weights and biases U(-1/sqrt(fan_in),
 *    1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)); fan_in of a
 *    transposed convolution is C_out*K*K as PyTorch computes it from the
 *    (C_in, C_out, K, K) weight; batch norm gamma 1, beta 0. The blur
 *    decoder's dense layer is He-normal (std sqrt(2/fan_in)), bias 0.
 * Running statistics restart at mean 0, variance 1; gradients at 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/net.h"
#include "gpd/rng.h"

static void fill_uniform(gpd_rng *r, float *x, size_t n, double bound) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(bound * (2.0 * gpd_rng_uniform(r) - 1.0));
}

static size_t weight_count(const gpd_layer *l) {
  if (l->kind == GPD_LAYER_LINEAR) return (size_t)l->in_c * l->out_c;
  return (size_t)l->in_c * l->out_c * l->k * l->k;
}

static int fan_in(const gpd_layer *l) {
  switch (l->kind) {
  case GPD_LAYER_LINEAR: return l->in_c;
  case GPD_LAYER_CONV2D: return l->in_c * l->k * l->k;
  default: return l->out_c * l->k * l->k; /* conv transpose, PyTorch's convention */
  }
}

int gpd_net_init(gpd_net *net, uint64_t seed) {
  gpd_engine *e = net->engine;
  if (!e || !net->params) return gpd_error("%s %s: initialised before it was allocated", net->arch, net->role);
  float *host = gpd_calloc(net->n_params ? net->n_params : 1, sizeof(float), "initial weights");
  if (!host) return -1;
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  int dcgan = !strncmp(net->arch, "dcgan", 5);
  int he_dense = !strcmp(net->arch, "blur_vae") && !strcmp(net->role, "decoder");
  for (int i = 0; i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    if (l->kind == GPD_LAYER_BATCHNORM) {
      size_t c = (size_t)l->in_c;
      if (dcgan) gpd_rng_fill_normal(&r, host + l->w_off, c, 1.0f, 0.02f);
      else for (size_t j = 0; j < c; j++) host[l->w_off + j] = 1.0f;
      continue; /* beta stays 0 */
    }
    if (l->kind != GPD_LAYER_LINEAR && l->kind != GPD_LAYER_CONV2D && l->kind != GPD_LAYER_CONV_TRANSPOSE2D) continue;
    size_t nw = weight_count(l), nb = (size_t)l->out_c;
    double bound = 1.0 / sqrt((double)fan_in(l));
    if (dcgan) {
      gpd_rng_fill_normal(&r, host + l->w_off, nw, 0.0f, 0.02f);
    } else if (he_dense && l->kind == GPD_LAYER_LINEAR) {
      gpd_rng_fill_normal(&r, host + l->w_off, nw, 0.0f, (float)sqrt(2.0 / fan_in(l)));
    } else {
      fill_uniform(&r, host + l->w_off, nw, bound);
      if (l->b_off >= 0) fill_uniform(&r, host + l->b_off, nb, bound);
    }
  }
  int rc = e->upload(e, net->params, host, net->n_params);
  free(host);
  if (!rc) rc = e->fill(e, net->grads, 0.0f, net->n_params);
  for (int i = 0; !rc && i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    if (l->kind != GPD_LAYER_BATCHNORM) continue;
    rc = e->fill(e, net->buffers + l->mean_off, 0.0f, (size_t)l->in_c);
    if (!rc) rc = e->fill(e, net->buffers + l->var_off, 1.0f, (size_t)l->in_c);
  }
  return rc;
}
