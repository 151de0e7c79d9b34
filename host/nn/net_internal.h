/* Helpers shared by the forward and the backward of a network. */
#ifndef GPD_NN_NET_INTERNAL_H
#define GPD_NN_NET_INTERNAL_H

#include "gpd/net.h"

/* The engine geometry of a (transposed) convolution layer at batch n. */
static inline gpd_conv_geom gpd_layer_conv_geom(const gpd_layer *l, int n) {
  gpd_conv_geom g = {n, l->in_c, l->in_h, l->in_w, l->out_c, l->out_h, l->out_w, l->k, l->stride, l->pad};
  return g;
}

/* The engine activation of an activation layer. */
static inline gpd_activation gpd_layer_activation(gpd_layer_kind k) {
  switch (k) {
  case GPD_LAYER_LEAKY_RELU: return GPD_ACT_LEAKY_RELU;
  case GPD_LAYER_TANH: return GPD_ACT_TANH;
  case GPD_LAYER_SIGMOID: return GPD_ACT_SIGMOID;
  default: return GPD_ACT_RELU;
  }
}

#endif
