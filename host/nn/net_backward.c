/* Backward through a network's layer list, from the last layer to the
 * first, through the engine table. The gradient flowing down alternates
 * between the workspace's two buffers (grad_a, grad_b); the first layer
 * writes straight into the caller's dx. Layers below the lowest one that
 * still needs a gradient are skipped: with dx == NULL and no weight
 * gradients nothing runs at all. */
#include <stdio.h>

#include "gpd/common.h"
#include "gpd/net.h"
#include "net_internal.h"

static int has_weights(const gpd_layer *l) { return l->w_off >= 0 || l->b_off >= 0; }

/* Weight gradients of layer i (accumulated into net->grads). */
static int layer_backward_weights(gpd_net *net, gpd_net_workspace *ws, int i, int n, const float *gy) {
  gpd_engine *e = net->engine;
  const gpd_layer *l = &net->layers[i];
  const float *x = ws->act[i];
  float *dw = l->w_off >= 0 ? net->grads + l->w_off : NULL;
  float *db = l->b_off >= 0 ? net->grads + l->b_off : NULL;
  gpd_conv_geom g = gpd_layer_conv_geom(l, n);
  switch (l->kind) {
  case GPD_LAYER_LINEAR: return e->linear_backward_weights(e, n, l->in_c, l->out_c, x, gy, dw, db);
  case GPD_LAYER_CONV2D: return e->conv2d_backward_weights(e, &g, x, gy, dw, db);
  case GPD_LAYER_CONV_TRANSPOSE2D: return e->conv_transpose2d_backward_weights(e, &g, x, gy, dw, db);
  default: return 0; /* batch norm does both in layer_backward */
  }
}

/* The input gradient gx of layer i from its output gradient gy. For batch
 * norm this also accumulates dgamma / dbeta (into net->grads when
 * `weights`, else into workspace scratch that nobody reads). */
static int layer_backward(gpd_net *net, gpd_net_workspace *ws, int i, int n, const float *gy, float *gx, int weights) {
  gpd_engine *e = net->engine;
  const gpd_layer *l = &net->layers[i];
  const float *x = ws->act[i], *y = ws->act[i + 1];
  const float *w = l->w_off >= 0 ? net->params + l->w_off : NULL;
  size_t count = (size_t)n * l->out_c * l->out_h * l->out_w;
  gpd_conv_geom g = gpd_layer_conv_geom(l, n);
  switch (l->kind) {
  case GPD_LAYER_LINEAR: return e->linear_backward_data(e, n, l->in_c, l->out_c, gy, w, gx);
  case GPD_LAYER_CONV2D: return e->conv2d_backward_data(e, &g, gy, w, gx);
  case GPD_LAYER_CONV_TRANSPOSE2D: return e->conv_transpose2d_backward_data(e, &g, gy, w, gx);
  case GPD_LAYER_BATCHNORM: {
    int c = l->in_c, hw = l->in_h * l->in_w;
    float *dgamma = weights ? net->grads + l->w_off : ws->bn_mean[i] + c;
    float *dbeta = weights ? net->grads + l->b_off : ws->bn_mean[i] + 2 * c;
    if (net->bn_train)
      return e->batchnorm_backward_train(e, n, c, hw, x, gy, w, ws->bn_mean[i], ws->bn_invstd[i], gx, dgamma, dbeta);
    return e->batchnorm_backward_infer(e, n, c, hw, l->eps, x, gy, w, net->buffers + l->mean_off,
                                       net->buffers + l->var_off, gx, dgamma, dbeta);
  }
  case GPD_LAYER_RELU:
  case GPD_LAYER_LEAKY_RELU:
  case GPD_LAYER_TANH:
  case GPD_LAYER_SIGMOID:
    return e->activation_backward(e, gpd_layer_activation(l->kind), l->slope, count, x, y, gy, gx);
  case GPD_LAYER_MAXPOOL:
    return e->maxpool2d_backward(e, n, l->in_c, l->in_h, l->in_w, l->k, gy, ws->argmax[i], gx);
  case GPD_LAYER_UPSAMPLE:
    return e->upsample_nearest_backward(e, n, l->in_c, l->in_h, l->in_w, l->k, gy, gx);
  case GPD_LAYER_RESHAPE: return e->copy(e, gx, gy, count);
  case GPD_LAYER_AFFINE: return e->affine(e, count, l->a, gy, 0.0f, gx);
  }
  return gpd_error("unknown layer kind %d", (int)l->kind);
}

static int fail_at(const gpd_net *net, int i) {
  char why[700];
  snprintf(why, sizeof why, "%s", gpd_last_error());
  return gpd_error("%s %s: backward of layer %d: %s", net->arch, net->role, net->layers[i].index, why);
}

int gpd_net_backward(gpd_net *net, gpd_net_workspace *ws, int n, const float *dy, float *dx, int accumulate_weights) {
  if (!net->engine || !net->params) return gpd_error("%s %s: backward before the network was allocated", net->arch, net->role);
  if (n < 1 || n > ws->n)
    return gpd_error("%s %s: backward at batch %d with a workspace for batch %d", net->arch, net->role, n, ws->n);
  /* The lowest layer whose output gradient is needed. */
  int stop = net->n_layers;
  if (dx) stop = 0;
  else if (accumulate_weights)
    for (int i = 0; i < net->n_layers && stop == net->n_layers; i++)
      if (has_weights(&net->layers[i])) stop = i;
  const float *gy = dy;
  for (int i = net->n_layers - 1; i >= stop; i--) {
    const gpd_layer *l = &net->layers[i];
    if (accumulate_weights && has_weights(l) && layer_backward_weights(net, ws, i, n, gy)) return fail_at(net, i);
    float *gx;
    if (i > stop) gx = gy == ws->grad_a ? ws->grad_b : ws->grad_a;
    else if (dx) gx = dx;
    else if (l->kind == GPD_LAYER_BATCHNORM) gx = gy == ws->grad_a ? ws->grad_b : ws->grad_a; /* dgamma needs the pass */
    else break;
    if (l->kind == GPD_LAYER_RESHAPE && gx != dx) {
      continue; /* the same numbers in another shape: gy passes down as it is */
    }
    if (layer_backward(net, ws, i, n, gy, gx, accumulate_weights)) return fail_at(net, i);
    gy = gx;
  }
  return 0;
}
