/* Forward through a network's layer list, every operation through the
 * engine table (no tensor data is touched here). Activations stay in the
 * workspace for the backward: act[0] is a copy of the input, act[i+1] the
 * output of layer i (a reshape shares its input's buffer). With
 * net->bn_train set, batch norms normalise with the batch statistics and
 * move their running statistics as PyTorch's train() mode does; otherwise
 * they use the running statistics and leave them alone. */
#include <stdio.h>

#include "gpd/common.h"
#include "gpd/net.h"
#include "net_internal.h"

static int layer_forward(gpd_net *net, gpd_net_workspace *ws, int i, int n) {
  gpd_engine *e = net->engine;
  const gpd_layer *l = &net->layers[i];
  const float *x = ws->act[i];
  float *y = ws->act[i + 1];
  size_t count = (size_t)n * l->out_c * l->out_h * l->out_w;
  const float *w = l->w_off >= 0 ? net->params + l->w_off : NULL;
  const float *b = l->b_off >= 0 ? net->params + l->b_off : NULL;
  switch (l->kind) {
  case GPD_LAYER_LINEAR: return e->linear_forward(e, n, l->in_c, l->out_c, x, w, b, y);
  case GPD_LAYER_CONV2D: {
    gpd_conv_geom g = gpd_layer_conv_geom(l, n);
    return e->conv2d_forward(e, &g, x, w, b, y);
  }
  case GPD_LAYER_CONV_TRANSPOSE2D: {
    gpd_conv_geom g = gpd_layer_conv_geom(l, n);
    return e->conv_transpose2d_forward(e, &g, x, w, b, y);
  }
  case GPD_LAYER_BATCHNORM: {
    int hw = l->in_h * l->in_w;
    float *rm = net->buffers + l->mean_off, *rv = net->buffers + l->var_off;
    if (net->bn_train)
      return e->batchnorm_forward_train(e, n, l->in_c, hw, l->eps, l->momentum, x, w, b, y, ws->bn_mean[i],
                                        ws->bn_invstd[i], rm, rv);
    return e->batchnorm_forward_infer(e, n, l->in_c, hw, l->eps, x, w, b, rm, rv, y);
  }
  case GPD_LAYER_RELU:
  case GPD_LAYER_LEAKY_RELU:
  case GPD_LAYER_TANH:
  case GPD_LAYER_SIGMOID: return e->activation_forward(e, gpd_layer_activation(l->kind), l->slope, count, x, y);
  case GPD_LAYER_MAXPOOL: return e->maxpool2d_forward(e, n, l->in_c, l->in_h, l->in_w, l->k, x, y, ws->argmax[i]);
  case GPD_LAYER_UPSAMPLE: return e->upsample_nearest_forward(e, n, l->in_c, l->in_h, l->in_w, l->k, x, y);
  case GPD_LAYER_RESHAPE: return 0; /* y aliases x */
  case GPD_LAYER_AFFINE: return e->affine(e, count, l->a, x, l->b, y);
  }
  return gpd_error("%s %s: layer %d has an unknown kind %d", net->arch, net->role, l->index, (int)l->kind);
}

const float *gpd_net_forward(gpd_net *net, gpd_net_workspace *ws, int n, const float *x) {
  gpd_engine *e = net->engine;
  if (!e || !net->params) {
    gpd_error("%s %s: forward before the network was allocated", net->arch, net->role);
    return NULL;
  }
  if (n < 1 || n > ws->n) {
    gpd_error("%s %s: forward at batch %d with a workspace for batch %d", net->arch, net->role, n, ws->n);
    return NULL;
  }
  if (e->copy(e, ws->act[0], x, (size_t)n * gpd_net_in_size(net))) return NULL;
  for (int i = 0; i < net->n_layers; i++) {
    if (layer_forward(net, ws, i, n)) {
      /* Keep the engine's reason, add where it happened. */
      char why[700];
      snprintf(why, sizeof why, "%s", gpd_last_error());
      gpd_error("%s %s: forward of layer %d: %s", net->arch, net->role, net->layers[i].index, why);
      return NULL;
    }
  }
  return ws->act[net->n_layers];
}
