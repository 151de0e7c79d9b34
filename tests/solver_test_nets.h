/* Small random-weight generators for the solver tests (test_solver_grad.c,
 * test_solver_recovery.c, test_solver_groups.c; test_eval.c's weights
 * writer uses test_arch): built with
 * gpd_net_build + gpd_net_init on the CPU engine, with two honest
 * adjustments documented where they are made. */
#ifndef GPD_TESTS_SOLVER_TEST_NETS_H
#define GPD_TESTS_SOLVER_TEST_NETS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/image.h"
#include "gpd/net.h"
#include "gpd/rng.h"

static gpd_engine *E; /* the engine the tests run on */

/* The architecture `name` at these sizes (0: the architecture's default). */
static inline gpd_arch test_arch(const char *name, int latent, int channels, int size, int width) {
  gpd_arch a;
  memset(&a, 0, sizeof a);
  snprintf(a.name, sizeof a.name, "%s", name);
  a.latent = latent;
  a.channels = channels;
  a.size = size;
  a.width = width;
  return a;
}

static inline int make_net(gpd_net *net, const char *arch, const char *role, int latent, int channels, int size, int width,
                    uint64_t seed, float weight_scale) {
  const gpd_arch a = test_arch(arch, latent, channels, size, width);
  GPD_TRY(gpd_net_build(net, &a, role));
  GPD_TRY(gpd_net_alloc(net, E));
  GPD_TRY(gpd_net_init(net, seed));
  if (weight_scale != 1.0f) {
    /* scale the conv / linear weights (not batch norm) */
    float *h = malloc(sizeof(float) * net->n_params);
    GPD_TRY(E->download(E, h, net->params, net->n_params));
    for (int i = 0; i < net->n_layers; i++) {
      const gpd_layer *l = &net->layers[i];
      if (l->kind != GPD_LAYER_LINEAR && l->kind != GPD_LAYER_CONV_TRANSPOSE2D && l->kind != GPD_LAYER_CONV2D) continue;
      size_t nw = l->kind == GPD_LAYER_LINEAR ? (size_t)l->in_c * l->out_c : (size_t)l->in_c * l->out_c * l->k * l->k;
      for (size_t j = 0; j < nw; j++) h[l->w_off + j] *= weight_scale;
    }
    GPD_TRY(E->upload(E, net->params, h, net->n_params));
    free(h);
  }
  return 0;
}

/* A tiny kernel generator from the engine's layer kinds, for the recovery
 * tests: Linear(latent -> K*K) -> Unflatten(1, K, K) -> ReLU, with the
 * rows of pixels outside a centred support x support window zero and their
 * biases -1 (so they stay 0), the others N(0, 0.25/latent) weights and
 * N(1, 0.09) biases: each kernel is a positive blob whose cells vary by
 * about 0.5 with the latent (sums within ~10%, cosine ~0.75 between
 * kernels of independent latents). Why not a random blur_vae decoder: its kernels
 * fill the whole 28x28 canvas and barely depend on the latent (cosine 0.6
 * to 0.95 between kernels of independent latents), so its range is a
 * single huge blob and "recovering the kernel" would measure nothing. This
 * one makes compact, sparse, nonnegative kernels that differ from latent to
 * latent, like trained blur generators do. */
static inline int make_compact_kernel_net(gpd_net *net, int latent, int support, int K, uint64_t seed) {
  memset(net, 0, sizeof *net);
  snprintf(net->arch, sizeof net->arch, "tiny_kernel");
  snprintf(net->role, sizeof net->role, "decoder");
  net->in_c = latent;
  net->in_h = net->in_w = 1;
  net->out_c = 1;
  net->out_h = net->out_w = K;
  gpd_layer *l = &net->layers[0];
  memset(net->layers, 0, sizeof net->layers);
  l[0] = (gpd_layer){.kind = GPD_LAYER_LINEAR, .index = 0, .in_c = latent, .in_h = 1, .in_w = 1, .out_c = K * K,
                     .out_h = 1, .out_w = 1, .has_bias = 1, .w_off = 0, .b_off = (long)latent * K * K,
                     .mean_off = -1, .var_off = -1};
  l[1] = (gpd_layer){.kind = GPD_LAYER_RESHAPE, .index = 1, .in_c = K * K, .in_h = 1, .in_w = 1, .out_c = 1,
                     .out_h = K, .out_w = K, .w_off = -1, .b_off = -1, .mean_off = -1, .var_off = -1};
  l[2] = (gpd_layer){.kind = GPD_LAYER_RELU, .index = 2, .in_c = 1, .in_h = K, .in_w = K, .out_c = 1, .out_h = K,
                     .out_w = K, .w_off = -1, .b_off = -1, .mean_off = -1, .var_off = -1};
  net->n_layers = 3;
  net->n_params = (size_t)(latent + 1) * K * K;
  GPD_TRY(gpd_net_alloc(net, E));
  float *h = calloc(net->n_params, sizeof(float));
  if (!h) return gpd_error("out of memory");
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  const int lo = (K - support) / 2;
  for (int p = 0; p < K * K; p++) {
    int py = p / K, px = p % K;
    int inside = py >= lo && py < lo + support && px >= lo && px < lo + support;
    for (int j = 0; j < latent; j++)
      h[(size_t)p * latent + j] = inside ? (float)(0.5 * gpd_rng_normal(&r) / sqrt((double)latent)) : 0.0f;
    h[(size_t)latent * K * K + p] = inside ? (float)(1.0 + 0.3 * gpd_rng_normal(&r)) : -1.0f;
  }
  int rc = E->upload(E, net->params, h, net->n_params);
  free(h);
  return rc;
}

/* Scales a kernel generator's last weighted layer (followed only by ReLU
 * and reshapes, which are positively homogeneous) so that its kernel for
 * latent z sums to 1, as blur kernels do; z NULL: a standard normal latent
 * drawn from seed. Every kernel in the range is scaled by the same factor.
 * Keeps the data term at the size it has for real images. */
static inline int normalise_kernels(gpd_net *gk, const float *z_in, uint64_t seed) {
  gpd_net_workspace ws;
  GPD_TRY(gpd_net_workspace_alloc(&ws, gk, 1));
  size_t L = gpd_net_in_size(gk), K2 = gpd_net_out_size(gk);
  float *z = malloc(sizeof(float) * L), *k = malloc(sizeof(float) * K2), *dz = NULL;
  gpd_rng r;
  gpd_rng_seed(&r, seed);
  if (z_in) memcpy(z, z_in, sizeof(float) * L);
  else gpd_rng_fill_normal(&r, z, L, 0.0f, 1.0f);
  dz = E->alloc(E, L, "latent");
  GPD_TRY(E->upload(E, dz, z, L));
  const float *out = gpd_net_forward(gk, &ws, 1, dz);
  if (!out) return -1;
  GPD_TRY(E->download(E, k, out, K2));
  double sum = 0;
  for (size_t i = 0; i < K2; i++) sum += k[i];
  if (!(sum > 0)) return gpd_error("kernel generator makes an all-zero kernel");
  const gpd_layer *l = NULL;
  for (int i = 0; i < gk->n_layers; i++) {
    gpd_layer_kind kind = gk->layers[i].kind;
    if (kind == GPD_LAYER_CONV_TRANSPOSE2D || kind == GPD_LAYER_CONV2D || kind == GPD_LAYER_LINEAR) l = &gk->layers[i];
  }
  size_t nw = l->kind == GPD_LAYER_LINEAR ? (size_t)l->in_c * l->out_c : (size_t)l->in_c * l->out_c * l->k * l->k;
  size_t nb = (size_t)l->out_c;
  float *h = malloc(sizeof(float) * gk->n_params);
  GPD_TRY(E->download(E, h, gk->params, gk->n_params));
  for (size_t j = 0; j < nw; j++) h[l->w_off + j] /= (float)sum;
  if (l->b_off >= 0)
    for (size_t j = 0; j < nb; j++) h[l->b_off + j] /= (float)sum;
  GPD_TRY(E->upload(E, gk->params, h, gk->n_params));
  free(h);
  free(z);
  free(k);
  E->free(E, dz);
  gpd_net_workspace_free(&ws, E);
  return 0;
}

/* net(z) of one input through a batch-1 workspace, into host memory out. */
static inline int forward_one(gpd_net *net, const float *z, float *out) {
  gpd_net_workspace ws;
  GPD_TRY(gpd_net_workspace_alloc(&ws, net, 1));
  float *dz = E->alloc(E, gpd_net_in_size(net), "latent");
  int rc = dz && E->upload(E, dz, z, gpd_net_in_size(net)) == 0 ? 0 : -1;
  const float *x = rc ? NULL : gpd_net_forward(net, &ws, 1, dz);
  rc = x ? E->download(E, out, x, gpd_net_out_size(net)) : -1;
  if (dz) E->free(E, dz);
  gpd_net_workspace_free(&ws, E);
  return rc;
}

/* A blurry image: G_I of a latent drawn from latent_seed blurred
 * circularly by G_K of the next latent drawn, noise sigma from noise_seed. */
static inline int make_blurry_image(gpd_net *gi, gpd_net *gk, uint64_t latent_seed, float sigma, uint64_t noise_seed,
                                    gpd_image *y) {
  const size_t li = gpd_net_in_size(gi), lk = gpd_net_in_size(gk), K = (size_t)gk->out_h;
  float *zi = malloc(sizeof(float) * li), *zk = malloc(sizeof(float) * lk), *k = malloc(sizeof(float) * K * K);
  gpd_image sharp = {0};
  int rc = zi && zk && k ? gpd_image_alloc(&sharp, gi->out_c, gi->out_h, gi->out_w) : gpd_error("out of memory");
  if (!rc) {
    gpd_rng r;
    gpd_rng_seed(&r, latent_seed);
    gpd_rng_fill_normal(&r, zi, li, 0.0f, 1.0f);
    gpd_rng_fill_normal(&r, zk, lk, 0.0f, 1.0f);
    rc = forward_one(gi, zi, sharp.data);
  }
  if (!rc) rc = forward_one(gk, zk, k);
  if (!rc) rc = gpd_blur_image(&sharp, k, (int)K, GPD_BOUNDARY_CIRCULAR, sigma, noise_seed, y);
  gpd_image_free(&sharp);
  free(zi);
  free(zk);
  free(k);
  return rc;
}

/* A smooth target: residuals against blurred generator images stay small,
 * so the objective is a few tens and float32 central differences of step
 * 2e-3 resolve its gradients to ~1e-3. */
static inline void smooth_image(gpd_image *im, int c, int h, int w, float phase) {
  gpd_image_alloc(im, c, h, w);
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        im->data[((size_t)ch * h + y) * w + x] =
            0.5f + 0.2f * sinf(6.2831853f * x / w + ch + phase) * cosf(6.2831853f * y / h - phase);
}

#endif
