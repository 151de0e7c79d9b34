/* Layer lists of the shipped architectures (gpd/net.h, DESIGN.md "Networks
 * and weights", the paper's Table IV).
 *
 * Each list is the equivalent PyTorch nn.Sequential, one entry per module,
 * and a layer's `index` is its position there, so tensor names are the
 * Sequential's state_dict names ("generator.4.weight"). Reshapes are
 * nn.Flatten / nn.Unflatten modules and take a slot; the final (x+1)/2 of
 * the generators is a parameter-free module at the end (scripts/
 * make_net_fixtures.py writes the same lists in PyTorch).
 *
 * blur_vae (f = width, default 20; size must be 28):
 *   encoder: 0 Conv2d(c,f,2) 1 ReLU 2 MaxPool2d(2) 3 Conv2d(f,f,2) 4 ReLU
 *            5 MaxPool2d(2) 6 Flatten 7 Linear(36f, 2*latent)
 *            (28 -> 27 -> 13 -> 12 -> 6; output = mean then log-variance)
 *   decoder: 0 Linear(latent,36f) 1 ReLU 2 Unflatten(f,6,6) 3 Upsample(2)
 *            4 ConvT(f,f,2) 5 ReLU 6 Upsample(2) 7 ConvT(f,f,2) 8 ReLU
 *            9 ConvT(f,c,2) 10 ReLU  (6 -> 12 -> 13 -> 26 -> 27 -> 28)
 * svhn_vae (w = width, default 128; size divisible by 8, s = size/8):
 *   encoder: 0 Conv2d(c,w,2,s2) 1 BN 2 ReLU 3 Conv2d(w,2w,2,s2) 4 BN 5 ReLU
 *            6 Conv2d(2w,4w,2,s2) 7 BN 8 ReLU 9 Flatten 10 Linear(4w*s*s, 2*latent)
 *   decoder: 0 Linear(latent,4w*s*s) 1 Unflatten(4w,s,s) 2 ConvT(4w,4w,2,s2)
 *            3 BN 4 ReLU 5 ConvT(4w,2w,2,s2) 6 BN 7 ReLU 8 ConvT(2w,w,2,s2)
 *            9 BN 10 ReLU 11 Conv2d(w,c,1) 12 Sigmoid   (4 -> 8 -> 16 -> 32)
 * DCGAN (w = width, default 64; size a power of two >= 8). Every variant
 * starts at 4x4 and doubles log2(size/4) times; the channels entering
 * doubling stage i are ch(i) = max(w, 8w >> i), so size 64 is the paper's
 * 8w -> 4w -> 2w -> w -> c and sizes 128 / 256 add one / two more stages of
 * w channels at the end (cheap in parameters; Algorithm 3 at 256x256).
 *   dcgan_tf generator: 0 Linear(latent, 16*ch0) 1 Unflatten(ch0,4,4) 2 BN
 *            3 ReLU, then per stage ConvT(5, stride 2, padding 2,
 *            output_padding 1, bias) + BN + ReLU, the last one + Tanh, then
 *            Affine (x+1)/2.
 *   dcgan_torch generator: 0 ConvT(latent, ch0, 4, 1, 0, no bias) 1 BN
 *            2 ReLU, then per stage ConvT(4, stride 2, padding 1, no bias) +
 *            BN + ReLU, the last one + Tanh, then Affine (x+1)/2.
 *   dcgan_disc discriminator (any dcgan_* arch, role "discriminator"):
 *            per stage i Conv2d(4, stride 2, padding 1, no bias) to
 *            ch(n-1-i) channels, BN except on the first, LeakyReLU(0.2);
 *            then Conv2d(8w', 1, 4, 1, 0, no bias) -> one logit.
 * Batch norms use eps 1e-5 and momentum 0.1 (PyTorch's defaults). */
#include <stdio.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/net.h"

typedef struct builder {
  gpd_net *net;
  int c, h, w;      /* current per-item shape */
  long np, nb;      /* params / buffers used so far */
} builder;

static gpd_layer *push(builder *b, gpd_layer_kind kind) {
  gpd_net *net = b->net;
  if (net->n_layers >= GPD_MAX_LAYERS) {
    gpd_error("%s %s: more than %d layers", net->arch, net->role, GPD_MAX_LAYERS);
    return NULL;
  }
  gpd_layer *l = &net->layers[net->n_layers];
  memset(l, 0, sizeof *l);
  l->kind = kind;
  l->index = net->n_layers++;
  l->in_c = l->out_c = b->c;
  l->in_h = l->out_h = b->h;
  l->in_w = l->out_w = b->w;
  l->w_off = l->b_off = l->mean_off = l->var_off = -1;
  return l;
}

static int finish(builder *b, gpd_layer *l) {
  if (l->out_c <= 0 || l->out_h <= 0 || l->out_w <= 0)
    return gpd_error("%s %s: layer %d maps %dx%dx%d to an empty %dx%dx%d output", b->net->arch, b->net->role, l->index,
                     l->in_c, l->in_h, l->in_w, l->out_c, l->out_h, l->out_w);
  b->c = l->out_c;
  b->h = l->out_h;
  b->w = l->out_w;
  return 0;
}

static int add_linear(builder *b, int out, int bias) {
  gpd_layer *l = push(b, GPD_LAYER_LINEAR);
  if (!l) return -1;
  int in = b->c * b->h * b->w;
  l->in_c = in; /* a linear layer sees its input flat */
  l->in_h = l->in_w = 1;
  l->out_c = out;
  l->out_h = l->out_w = 1;
  l->has_bias = bias;
  l->w_off = b->np;
  b->np += (long)in * out;
  if (bias) {
    l->b_off = b->np;
    b->np += out;
  }
  return finish(b, l);
}

static int add_conv(builder *b, gpd_layer_kind kind, int c_out, int k, int stride, int pad, int out_pad, int bias) {
  gpd_layer *l = push(b, kind);
  if (!l) return -1;
  l->out_c = c_out;
  l->k = k;
  l->stride = stride;
  l->pad = pad;
  if (kind == GPD_LAYER_CONV2D) {
    l->out_h = (b->h + 2 * pad - k) / stride + 1;
    l->out_w = (b->w + 2 * pad - k) / stride + 1;
  } else {
    l->out_h = (b->h - 1) * stride - 2 * pad + k + out_pad;
    l->out_w = (b->w - 1) * stride - 2 * pad + k + out_pad;
  }
  l->has_bias = bias;
  l->w_off = b->np;
  b->np += (long)b->c * c_out * k * k;
  if (bias) {
    l->b_off = b->np;
    b->np += c_out;
  }
  return finish(b, l);
}

static int add_batchnorm(builder *b) {
  gpd_layer *l = push(b, GPD_LAYER_BATCHNORM);
  if (!l) return -1;
  l->eps = 1e-5f;
  l->momentum = 0.1f;
  l->has_bias = 1;
  l->w_off = b->np; /* gamma */
  l->b_off = b->np + b->c; /* beta */
  b->np += 2L * b->c;
  l->mean_off = b->nb;
  l->var_off = b->nb + b->c;
  b->nb += 2L * b->c;
  return finish(b, l);
}

static int add_simple(builder *b, gpd_layer_kind kind) {
  gpd_layer *l = push(b, kind);
  if (!l) return -1;
  if (kind == GPD_LAYER_LEAKY_RELU) l->slope = 0.2f;
  return finish(b, l);
}

static int add_resample(builder *b, gpd_layer_kind kind, int factor) {
  gpd_layer *l = push(b, kind);
  if (!l) return -1;
  l->k = factor;
  l->stride = factor;
  if (kind == GPD_LAYER_MAXPOOL) {
    l->out_h = b->h / factor;
    l->out_w = b->w / factor;
  } else {
    l->out_h = b->h * factor;
    l->out_w = b->w * factor;
  }
  return finish(b, l);
}

static int add_reshape(builder *b, int c, int h, int w) {
  gpd_layer *l = push(b, GPD_LAYER_RESHAPE);
  if (!l) return -1;
  if ((long)c * h * w != (long)b->c * b->h * b->w)
    return gpd_error("%s %s: cannot reshape %dx%dx%d to %dx%dx%d", b->net->arch, b->net->role, b->c, b->h, b->w, c, h, w);
  l->out_c = c;
  l->out_h = h;
  l->out_w = w;
  return finish(b, l);
}

static int add_affine(builder *b, float a, float c) {
  gpd_layer *l = push(b, GPD_LAYER_AFFINE);
  if (!l) return -1;
  l->a = a;
  l->b = c;
  return finish(b, l);
}

/* ---- architectures --------------------------------------------------------- */

static int build_blur_vae(builder *b, const gpd_arch *a, int encoder) {
  int f = a->width;
  if (encoder) {
    GPD_TRY(add_conv(b, GPD_LAYER_CONV2D, f, 2, 1, 0, 0, 1));
    GPD_TRY(add_simple(b, GPD_LAYER_RELU));
    GPD_TRY(add_resample(b, GPD_LAYER_MAXPOOL, 2));
    GPD_TRY(add_conv(b, GPD_LAYER_CONV2D, f, 2, 1, 0, 0, 1));
    GPD_TRY(add_simple(b, GPD_LAYER_RELU));
    GPD_TRY(add_resample(b, GPD_LAYER_MAXPOOL, 2));
    GPD_TRY(add_reshape(b, b->c * b->h * b->w, 1, 1));
    return add_linear(b, 2 * a->latent, 1);
  }
  GPD_TRY(add_linear(b, f * 36, 1));
  GPD_TRY(add_simple(b, GPD_LAYER_RELU));
  GPD_TRY(add_reshape(b, f, 6, 6));
  GPD_TRY(add_resample(b, GPD_LAYER_UPSAMPLE, 2));
  GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, f, 2, 1, 0, 0, 1));
  GPD_TRY(add_simple(b, GPD_LAYER_RELU));
  GPD_TRY(add_resample(b, GPD_LAYER_UPSAMPLE, 2));
  GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, f, 2, 1, 0, 0, 1));
  GPD_TRY(add_simple(b, GPD_LAYER_RELU));
  GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, a->channels, 2, 1, 0, 0, 1));
  return add_simple(b, GPD_LAYER_RELU);
}

static int build_svhn_vae(builder *b, const gpd_arch *a, int encoder) {
  int w = a->width, s = a->size / 8;
  if (encoder) {
    for (int i = 0; i < 3; i++) {
      GPD_TRY(add_conv(b, GPD_LAYER_CONV2D, w << i, 2, 2, 0, 0, 1));
      GPD_TRY(add_batchnorm(b));
      GPD_TRY(add_simple(b, GPD_LAYER_RELU));
    }
    GPD_TRY(add_reshape(b, b->c * b->h * b->w, 1, 1));
    return add_linear(b, 2 * a->latent, 1);
  }
  GPD_TRY(add_linear(b, 4 * w * s * s, 1));
  GPD_TRY(add_reshape(b, 4 * w, s, s));
  for (int i = 0; i < 3; i++) {
    GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, i == 0 ? 4 * w : (4 * w) >> i, 2, 2, 0, 0, 1));
    GPD_TRY(add_batchnorm(b));
    GPD_TRY(add_simple(b, GPD_LAYER_RELU));
  }
  GPD_TRY(add_conv(b, GPD_LAYER_CONV2D, a->channels, 1, 1, 0, 0, 1));
  return add_simple(b, GPD_LAYER_SIGMOID);
}

static int dcgan_stages(const gpd_arch *a) {
  int n = 0;
  while ((4 << n) < a->size) n++;
  return n;
}

/* Channels entering doubling stage i of a generator. */
static int dcgan_channels(const gpd_arch *a, int i) {
  int c = i >= 3 ? a->width : (8 * a->width) >> i;
  return c < a->width ? a->width : c;
}

static int build_dcgan_generator(builder *b, const gpd_arch *a, int tf) {
  int n = dcgan_stages(a);
  int c0 = dcgan_channels(a, 0);
  if (tf) {
    GPD_TRY(add_linear(b, c0 * 16, 1));
    GPD_TRY(add_reshape(b, c0, 4, 4));
  } else {
    GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, c0, 4, 1, 0, 0, 0));
  }
  GPD_TRY(add_batchnorm(b));
  GPD_TRY(add_simple(b, GPD_LAYER_RELU));
  for (int i = 0; i < n; i++) {
    int last = i == n - 1;
    int c_out = last ? a->channels : dcgan_channels(a, i + 1);
    if (tf) GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, c_out, 5, 2, 2, 1, 1));
    else GPD_TRY(add_conv(b, GPD_LAYER_CONV_TRANSPOSE2D, c_out, 4, 2, 1, 0, 0));
    if (!last) {
      GPD_TRY(add_batchnorm(b));
      GPD_TRY(add_simple(b, GPD_LAYER_RELU));
    }
  }
  GPD_TRY(add_simple(b, GPD_LAYER_TANH));
  return add_affine(b, 0.5f, 0.5f);
}

static int build_dcgan_discriminator(builder *b, const gpd_arch *a) {
  int n = dcgan_stages(a);
  for (int i = 0; i < n; i++) {
    GPD_TRY(add_conv(b, GPD_LAYER_CONV2D, dcgan_channels(a, n - 1 - i), 4, 2, 1, 0, 0));
    if (i > 0) GPD_TRY(add_batchnorm(b));
    GPD_TRY(add_simple(b, GPD_LAYER_LEAKY_RELU));
  }
  return add_conv(b, GPD_LAYER_CONV2D, 1, 4, 1, 0, 0, 0);
}

/* ---- defaults and entry point ------------------------------------------------ */

int gpd_arch_defaults(gpd_arch *a) {
  static const struct {
    const char *name;
    int latent, channels, size, width;
  } table[] = {{"blur_vae", 50, 1, 28, 20},
               {"svhn_vae", 100, 3, 32, 128},
               {"dcgan_tf", 100, 3, 64, 64},
               {"dcgan_torch", 100, 3, 64, 64},
               {"dcgan_disc", 100, 3, 64, 64}};
  size_t i;
  for (i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(a->name, table[i].name)) break;
  if (i == sizeof table / sizeof table[0])
    return gpd_error("unknown architecture '%.31s' (expected blur_vae, svhn_vae, dcgan_tf, dcgan_torch or dcgan_disc)",
                     a->name);
  if (!a->latent) a->latent = table[i].latent;
  if (!a->channels) a->channels = table[i].channels;
  if (!a->size) a->size = table[i].size;
  if (!a->width) a->width = table[i].width;
  if (a->latent < 1 || a->latent > (1 << 20)) return gpd_error("%s: latent size %d is out of range", a->name, a->latent);
  if (a->channels < 1 || a->channels > 64) return gpd_error("%s: %d channels is out of range [1, 64]", a->name, a->channels);
  if (a->width < 1 || a->width > 8192) return gpd_error("%s: width %d is out of range [1, 8192]", a->name, a->width);
  if (!strcmp(a->name, "blur_vae") && a->size != 28)
    return gpd_error("blur_vae: size %d is not supported (its layers fit 28x28 kernels only)", a->size);
  if (!strcmp(a->name, "svhn_vae") && (a->size < 8 || a->size % 8 || a->size > 4096))
    return gpd_error("svhn_vae: size %d is not a multiple of 8 in [8, 4096]", a->size);
  if (!strncmp(a->name, "dcgan", 5) && (a->size < 8 || a->size > 1024 || (a->size & (a->size - 1))))
    return gpd_error("%s: size %d is not a power of two in [8, 1024]", a->name, a->size);
  return 0;
}

int gpd_net_build(gpd_net *net, const gpd_arch *arch_in, const char *role) {
  gpd_arch a = *arch_in;
  memset(net, 0, sizeof *net);
  a.name[sizeof a.name - 1] = 0;
  GPD_TRY(gpd_arch_defaults(&a));
  int vae = !strcmp(a.name, "blur_vae") || !strcmp(a.name, "svhn_vae");
  int disc_arch = !strcmp(a.name, "dcgan_disc");
  if (!role) role = vae ? "decoder" : disc_arch ? "discriminator" : "generator";
  int ok_role = vae ? (!strcmp(role, "encoder") || !strcmp(role, "decoder"))
                    : (!strcmp(role, "discriminator") || (!disc_arch && !strcmp(role, "generator")));
  if (!ok_role)
    return gpd_error("architecture %s has no role '%.20s' (expected %s)", a.name, role,
                     vae ? "encoder or decoder" : disc_arch ? "discriminator" : "generator or discriminator");
  snprintf(net->arch, sizeof net->arch, "%s", a.name);
  snprintf(net->role, sizeof net->role, "%s", role);

  builder b = {net, 0, 0, 0, 0, 0};
  int encoder = !strcmp(net->role, "encoder"), disc = !strcmp(net->role, "discriminator");
  if (encoder || disc) {
    b.c = a.channels;
    b.h = b.w = a.size;
  } else {
    b.c = a.latent;
    b.h = b.w = 1;
  }
  net->in_c = b.c;
  net->in_h = b.h;
  net->in_w = b.w;
  int rc;
  if (!strcmp(a.name, "blur_vae")) rc = build_blur_vae(&b, &a, encoder);
  else if (!strcmp(a.name, "svhn_vae")) rc = build_svhn_vae(&b, &a, encoder);
  else if (disc) rc = build_dcgan_discriminator(&b, &a);
  else rc = build_dcgan_generator(&b, &a, !strcmp(a.name, "dcgan_tf"));
  if (rc) {
    net->n_layers = 0;
    return -1;
  }
  net->out_c = b.c;
  net->out_h = b.h;
  net->out_w = b.w;
  net->n_params = (size_t)b.np;
  net->n_buffers = (size_t)b.nb;
  return 0;
}
