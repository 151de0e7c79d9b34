/* Networks as lists of layers, forward and backward through the whole list.
 *
 * A network's parameters live in ONE contiguous engine buffer (`params`) with
 * named views into it (each layer's offsets), so an optimiser step is one op
 * and a checkpoint is one write; gradients mirror it in `grads`. Batch-norm
 * running statistics live in a second buffer (`buffers`), not trained.
 *
 * Layer names are the PyTorch state_dict names of the equivalent
 * nn.Sequential, prefixed by the network's role: "decoder.0.weight",
 * "generator.3.running_mean", ... so a PyTorch-trained model loads. */
#ifndef GPD_NET_H
#define GPD_NET_H

#include "gpd/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GPD_MAX_LAYERS 48

typedef enum gpd_layer_kind {
  GPD_LAYER_LINEAR = 0,     /* nn.Linear: weight (out, in), bias (out) */
  GPD_LAYER_CONV2D,         /* nn.Conv2d: weight (C_out, C_in, K, K), bias */
  GPD_LAYER_CONV_TRANSPOSE2D, /* nn.ConvTranspose2d: weight (C_in, C_out, K, K), bias */
  GPD_LAYER_BATCHNORM,      /* nn.BatchNorm2d / 1d: weight, bias, running_mean, running_var, num_batches_tracked */
  GPD_LAYER_RELU,
  GPD_LAYER_LEAKY_RELU,
  GPD_LAYER_TANH,
  GPD_LAYER_SIGMOID,
  GPD_LAYER_MAXPOOL,        /* nn.MaxPool2d(size) */
  GPD_LAYER_UPSAMPLE,       /* nn.Upsample(scale_factor=f, mode="nearest") */
  GPD_LAYER_RESHAPE,        /* nn.Unflatten / nn.Flatten: no data movement */
  GPD_LAYER_AFFINE          /* y = a*x + b, fixed (maps tanh's [-1,1] to [0,1]) */
} gpd_layer_kind;

typedef struct gpd_layer {
  gpd_layer_kind kind;
  int index;                 /* position in the nn.Sequential (state_dict name) */
  int in_c, in_h, in_w;      /* per-item input shape (linear: in_c = features, h = w = 1) */
  int out_c, out_h, out_w;   /* per-item output shape */
  int k, stride, pad;        /* conv / conv-transpose; pool and upsample use k as the factor */
  int has_bias;
  float slope;               /* leaky ReLU */
  float eps, momentum;       /* batch norm */
  float a, b;                /* affine */
  /* Offsets (in floats) into the network's params / buffers; -1 if absent. */
  long w_off, b_off;         /* weight / bias (batch norm: gamma / beta) */
  long mean_off, var_off;    /* batch norm running statistics, in buffers */
} gpd_layer;

typedef struct gpd_net {
  char arch[32];             /* "blur_vae", "svhn_vae", "dcgan_tf", "dcgan_torch", "dcgan_disc", ... */
  char role[16];             /* state_dict prefix: "encoder", "decoder", "generator", "discriminator" */
  int n_layers;
  gpd_layer layers[GPD_MAX_LAYERS];
  int in_c, in_h, in_w;      /* per-item input shape (a latent: in_c = latent, h = w = 1) */
  int out_c, out_h, out_w;   /* per-item output shape */
  size_t n_params, n_buffers;
  /* Batch norm uses batch statistics (training) when 1, running ones when 0. */
  int bn_train;
  gpd_engine *engine;
  float *params;             /* engine memory, n_params */
  float *grads;              /* engine memory, n_params */
  float *buffers;            /* engine memory, n_buffers */
} gpd_net;

/* Activations of one forward pass at batch N, kept for the backward. */
typedef struct gpd_net_workspace {
  int n;                     /* batch the workspace was sized for */
  float *act[GPD_MAX_LAYERS + 1]; /* act[0] = input copy, act[i+1] = output of layer i */
  float *grad_a, *grad_b;    /* ping-pong gradient buffers, largest activation */
  float *bn_mean[GPD_MAX_LAYERS], *bn_invstd[GPD_MAX_LAYERS];
  int32_t *argmax[GPD_MAX_LAYERS];
} gpd_net_workspace;

/* Architecture description used to build a network. */
typedef struct gpd_arch {
  char name[32];   /* see gpd_net.arch */
  int latent;      /* latent size (decoders / generators) */
  int channels;    /* image channels */
  int size;        /* output side (generators) or input side (encoders) */
  int width;       /* base width (DCGAN ngf / ndf; VAE: unused = 0) */
} gpd_arch;

/* Builds the layer list (no memory) for a role of an architecture:
 *  blur_vae:  role "encoder" (28x28x1 -> 2*latent: mean then log-variance) or "decoder"
 *  svhn_vae:  "encoder" / "decoder" (32x32x3)
 *  dcgan_tf:  "generator" (TF-style: dense 4x4x(8w), BN, ReLU, 5x5 stride-2 convT with bias ...)
 *  dcgan_torch: "generator" (PyTorch example: 4x4 convT, no bias)
 *  dcgan_disc: "discriminator" (Radford et al.: conv stride 2, leaky ReLU 0.2, BN, one logit)
 * size 64 is the paper's; 128 and 256 add up-sampling stages (Algorithm 3). */
int gpd_net_build(gpd_net *net, const gpd_arch *arch, const char *role);
/* Fills the zero fields of arch with the architecture's defaults (blur_vae:
 * latent 50, 1 channel, size 28, width 20; svhn_vae: 100, 3, 32, width 128;
 * dcgan_*: 100, 3, 64, width 64) and checks the numbers; 0 or -1. */
int gpd_arch_defaults(gpd_arch *arch);
/* Allocates params/grads/buffers on the engine (params zero, BN running var 1). */
int gpd_net_alloc(gpd_net *net, gpd_engine *e);
void gpd_net_free(gpd_net *net);
/* Standard initialisation from a seed (DCGAN: N(0, 0.02), BN gamma N(1, 0.02);
 * VAEs: PyTorch's default Kaiming-uniform; He for the blur decoder's dense). */
int gpd_net_init(gpd_net *net, uint64_t seed);

int gpd_net_workspace_alloc(gpd_net_workspace *ws, const gpd_net *net, int n);
void gpd_net_workspace_free(gpd_net_workspace *ws, gpd_engine *e);

/* Forward at batch n (<= ws->n): x (n, in) -> returns the output pointer
 * (inside ws, valid until the next forward), or NULL with an error. */
const float *gpd_net_forward(gpd_net *net, gpd_net_workspace *ws, int n, const float *x);
/* Backward from dy (n, out). Writes dx (n, in) when dx != NULL; accumulates
 * parameter gradients into net->grads when accumulate_weights != 0. Uses the
 * activations of the last forward. Returns 0 or -1. */
int gpd_net_backward(gpd_net *net, gpd_net_workspace *ws, int n, const float *dy, float *dx, int accumulate_weights);

size_t gpd_net_in_size(const gpd_net *net);   /* per-item input floats */
size_t gpd_net_out_size(const gpd_net *net);  /* per-item output floats */
/* The state_dict name of a layer's tensor ("weight", "bias", "running_mean",
 * "running_var") into buf. */
void gpd_layer_tensor_name(const gpd_net *net, const gpd_layer *l, const char *what, char *buf, size_t size);
/* Multiply-adds of one forward per item (for GFLOP/s reports). */
double gpd_net_forward_flops(const gpd_net *net);

#ifdef __cplusplus
}
#endif
#endif
