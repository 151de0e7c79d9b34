/* Engine memory of a network (parameters, gradients, batch-norm buffers)
 * and of its workspace (activations kept for the backward), plus sizes,
 * tensor names and FLOP counts. All memory comes from the engine's alloc,
 * so the same code serves host and device. */
#include <stdio.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/net.h"

size_t gpd_net_in_size(const gpd_net *net) { return (size_t)net->in_c * net->in_h * net->in_w; }
size_t gpd_net_out_size(const gpd_net *net) { return (size_t)net->out_c * net->out_h * net->out_w; }

static size_t layer_out_size(const gpd_layer *l) { return (size_t)l->out_c * l->out_h * l->out_w; }

int gpd_net_alloc(gpd_net *net, gpd_engine *e) {
  net->engine = e;
  net->params = net->grads = net->buffers = NULL;
  char what[96];
  snprintf(what, sizeof what, "%s %s parameters", net->arch, net->role);
  if (!(net->params = e->alloc(e, net->n_params, what))) goto fail;
  snprintf(what, sizeof what, "%s %s gradients", net->arch, net->role);
  if (!(net->grads = e->alloc(e, net->n_params, what))) goto fail;
  if (net->n_buffers) {
    snprintf(what, sizeof what, "%s %s batch-norm statistics", net->arch, net->role);
    if (!(net->buffers = e->alloc(e, net->n_buffers, what))) goto fail;
    /* A fresh batch norm has running mean 0 and running variance 1. */
    for (int i = 0; i < net->n_layers; i++) {
      const gpd_layer *l = &net->layers[i];
      if (l->kind == GPD_LAYER_BATCHNORM && e->fill(e, net->buffers + l->var_off, 1.0f, (size_t)l->in_c)) goto fail;
    }
  }
  return 0;
fail:
  gpd_net_free(net);
  return -1;
}

void gpd_net_free(gpd_net *net) {
  gpd_engine *e = net->engine;
  if (e) {
    if (net->params) e->free(e, net->params);
    if (net->grads) e->free(e, net->grads);
    if (net->buffers) e->free(e, net->buffers);
  }
  net->params = net->grads = net->buffers = NULL;
}

int gpd_net_workspace_alloc(gpd_net_workspace *ws, const gpd_net *net, int n) {
  gpd_engine *e = net->engine;
  memset(ws, 0, sizeof *ws);
  if (!e) return gpd_error("%s %s: workspace requested before the network was allocated", net->arch, net->role);
  if (n < 1) return gpd_error("%s %s: workspace for batch %d", net->arch, net->role, n);
  ws->n = n;
  char what[96];
  snprintf(what, sizeof what, "%s %s activations (batch %d)", net->arch, net->role, n);
  size_t largest = gpd_net_in_size(net);
  if (!(ws->act[0] = e->alloc(e, (size_t)n * gpd_net_in_size(net), what))) goto fail;
  for (int i = 0; i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    size_t out = layer_out_size(l);
    if (out > largest) largest = out;
    if (l->kind == GPD_LAYER_RESHAPE) {
      ws->act[i + 1] = ws->act[i]; /* same data, other shape */
      continue;
    }
    if (!(ws->act[i + 1] = e->alloc(e, (size_t)n * out, what))) goto fail;
    if (l->kind == GPD_LAYER_BATCHNORM) {
      /* bn_mean holds the saved mean (C) and then a C + C scratch that takes
       * dgamma / dbeta when a backward is not accumulating weight gradients
       * (the engine's batch-norm backward always writes them). */
      if (!(ws->bn_mean[i] = e->alloc(e, 3 * (size_t)l->in_c, what))) goto fail;
      if (!(ws->bn_invstd[i] = e->alloc(e, (size_t)l->in_c, what))) goto fail;
    }
    if (l->kind == GPD_LAYER_MAXPOOL) {
      /* int32 argmax in engine memory: same size as a float. */
      if (!(ws->argmax[i] = (int32_t *)e->alloc(e, (size_t)n * out, what))) goto fail;
    }
  }
  snprintf(what, sizeof what, "%s %s gradient buffers (batch %d)", net->arch, net->role, n);
  if (!(ws->grad_a = e->alloc(e, (size_t)n * largest, what))) goto fail;
  if (!(ws->grad_b = e->alloc(e, (size_t)n * largest, what))) goto fail;
  return 0;
fail:
  gpd_net_workspace_free(ws, e);
  return -1;
}

void gpd_net_workspace_free(gpd_net_workspace *ws, gpd_engine *e) {
  if (!e) return;
  for (int i = 0; i <= GPD_MAX_LAYERS; i++)
    if (ws->act[i] && (i == 0 || ws->act[i] != ws->act[i - 1])) e->free(e, ws->act[i]);
  for (int i = 0; i < GPD_MAX_LAYERS; i++) {
    if (ws->bn_mean[i]) e->free(e, ws->bn_mean[i]);
    if (ws->bn_invstd[i]) e->free(e, ws->bn_invstd[i]);
    if (ws->argmax[i]) e->free(e, ws->argmax[i]);
  }
  if (ws->grad_a) e->free(e, ws->grad_a);
  if (ws->grad_b) e->free(e, ws->grad_b);
  memset(ws, 0, sizeof *ws);
}

void gpd_layer_tensor_name(const gpd_net *net, const gpd_layer *l, const char *what, char *buf, size_t size) {
  snprintf(buf, size, "%s.%d.%s", net->role, l->index, what);
}

double gpd_net_forward_flops(const gpd_net *net) {
  double macs = 0;
  for (int i = 0; i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    switch (l->kind) {
    case GPD_LAYER_LINEAR: macs += (double)l->in_c * l->out_c; break;
    case GPD_LAYER_CONV2D: macs += (double)l->out_c * l->out_h * l->out_w * l->in_c * l->k * l->k; break;
    case GPD_LAYER_CONV_TRANSPOSE2D: macs += (double)l->in_c * l->in_h * l->in_w * l->out_c * l->k * l->k; break;
    default: break;
    }
  }
  return macs;
}
