/* Networks to and from safetensors files (gpd/weights.h).
 *
 * A file holds one architecture (its __metadata__: arch, latent, channels,
 * size, width; absent numbers take the architecture's defaults) and the
 * tensors of one or more roles under their state_dict names: a VAE file has
 * "encoder.*" and "decoder.*", a GAN file "generator.*" and possibly
 * "discriminator.*". Loading a role checks every tensor the architecture
 * expects (present, right shape) and refuses tensors of that role it does
 * not know, so a file for another architecture never loads half-way.
 * PyTorch's "num_batches_tracked" is accepted and ignored; we do not write
 * it (load such files in PyTorch with strict=False). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/weights.h"

static int parse_meta_int(const gpd_safetensors *st, const char *key, int *out) {
  const char *v = gpd_st_meta_get(st, key);
  *out = 0;
  if (!v) return 0;
  char *end;
  long x = strtol(v, &end, 10);
  if (end == v || *end || x < 0 || x > (1L << 24))
    return gpd_error("%s: __metadata__ \"%s\" is '%.40s', expected a non-negative integer", st->path, key, v);
  *out = (int)x;
  return 0;
}

int gpd_weights_arch(const gpd_safetensors *st, gpd_arch *arch) {
  memset(arch, 0, sizeof *arch);
  const char *name = gpd_st_meta_get(st, "arch");
  if (!name)
    return gpd_error("%s: no \"arch\" in __metadata__ (expected blur_vae, svhn_vae, dcgan_tf, dcgan_torch or dcgan_disc)",
                     st->path);
  if (strlen(name) >= sizeof arch->name) return gpd_error("%s: unknown architecture '%.40s'", st->path, name);
  snprintf(arch->name, sizeof arch->name, "%s", name);
  GPD_TRY(parse_meta_int(st, "latent", &arch->latent));
  GPD_TRY(parse_meta_int(st, "channels", &arch->channels));
  GPD_TRY(parse_meta_int(st, "size", &arch->size));
  GPD_TRY(parse_meta_int(st, "width", &arch->width));
  if (gpd_arch_defaults(arch)) {
    char why[700];
    snprintf(why, sizeof why, "%s", gpd_last_error());
    return gpd_error("%s: %s", st->path, why);
  }
  return 0;
}

/* ---- the tensors of a layer ------------------------------------------------ */

typedef struct layer_tensor {
  const char *what; /* "weight", "bias", "running_mean", "running_var" */
  int in_buffers;   /* 0: params, 1: buffers */
  long off;
  int ndim;
  int64_t shape[4];
} layer_tensor;

/* Lists the tensors of layer l into t[4]; returns how many. */
static int layer_tensors(const gpd_layer *l, layer_tensor *t) {
  int n = 0;
  if (l->kind == GPD_LAYER_BATCHNORM) {
    const char *what[4] = {"weight", "bias", "running_mean", "running_var"};
    long offs[4] = {l->w_off, l->b_off, l->mean_off, l->var_off};
    for (int i = 0; i < 4; i++) t[n++] = (layer_tensor){what[i], i >= 2, offs[i], 1, {l->in_c}};
    return n;
  }
  if (l->w_off >= 0) {
    layer_tensor w = {"weight", 0, l->w_off, 0, {0}};
    if (l->kind == GPD_LAYER_LINEAR) {
      w.ndim = 2;
      w.shape[0] = l->out_c;
      w.shape[1] = (int64_t)l->in_c * l->in_h * l->in_w;
    } else {
      w.ndim = 4;
      w.shape[0] = l->kind == GPD_LAYER_CONV_TRANSPOSE2D ? l->in_c : l->out_c;
      w.shape[1] = l->kind == GPD_LAYER_CONV_TRANSPOSE2D ? l->out_c : l->in_c;
      w.shape[2] = w.shape[3] = l->k;
    }
    t[n++] = w;
  }
  if (l->b_off >= 0) t[n++] = (layer_tensor){"bias", 0, l->b_off, 1, {l->out_c}};
  return n;
}

static void shape_text(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t k = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < ndim && k < size; i++) k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (k < size) snprintf(buf + k, size - k, "]");
}

static void arch_text(const gpd_net *net, char *buf, size_t size) {
  if (net->in_h == 1 && net->in_w == 1) snprintf(buf, size, "arch %s latent %d", net->arch, net->in_c);
  else snprintf(buf, size, "arch %s input %dx%dx%d", net->arch, net->in_c, net->in_h, net->in_w);
}

static int expected_name(const gpd_net *net, const char *name) {
  char buf[160];
  for (int i = 0; i < net->n_layers; i++) {
    layer_tensor t[4];
    int k = layer_tensors(&net->layers[i], t);
    for (int j = 0; j < k; j++) {
      gpd_layer_tensor_name(net, &net->layers[i], t[j].what, buf, sizeof buf);
      if (!strcmp(buf, name)) return 1;
    }
  }
  return 0;
}

int gpd_weights_fill_net(gpd_net *net, const gpd_safetensors *st) {
  gpd_engine *e = net->engine;
  if (!e || !net->params) return gpd_error("%s: %s %s is not allocated", st->path, net->arch, net->role);
  char arch[96];
  arch_text(net, arch, sizeof arch);
  /* Tensors of this role that the architecture does not have. */
  size_t plen = strlen(net->role);
  for (int i = 0; i < st->n_tensors; i++) {
    const char *name = st->tensors[i].name;
    size_t len = strlen(name);
    if (strncmp(name, net->role, plen) || name[plen] != '.') continue;
    const char *nbt = ".num_batches_tracked";
    if (len > strlen(nbt) && !strcmp(name + len - strlen(nbt), nbt)) continue;
    if (!expected_name(net, name))
      return gpd_error("%s: tensor %s is not part of %s %s (%s); is the file for another architecture?", st->path, name,
                       net->arch, net->role, arch);
  }
  float *params = gpd_calloc(net->n_params ? net->n_params : 1, sizeof(float), "weights being loaded");
  float *buffers = gpd_calloc(net->n_buffers ? net->n_buffers : 1, sizeof(float), "batch-norm statistics being loaded");
  int rc = params && buffers ? 0 : -1;
  for (int i = 0; !rc && i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    layer_tensor t[4];
    int k = layer_tensors(l, t);
    for (int j = 0; !rc && j < k; j++) {
      char name[160], want[96], have[96];
      gpd_layer_tensor_name(net, l, t[j].what, name, sizeof name);
      const gpd_st_tensor *f = gpd_st_find(st, name);
      if (!f) {
        rc = gpd_error("%s: missing tensor %s for %s", st->path, name, arch);
        break;
      }
      int same = f->ndim == t[j].ndim;
      for (int d = 0; same && d < f->ndim; d++) same = f->shape[d] == t[j].shape[d];
      if (!same) {
        shape_text(have, sizeof have, f->ndim, f->shape);
        shape_text(want, sizeof want, t[j].ndim, t[j].shape);
        rc = gpd_error("%s: tensor %s has shape %s, expected %s for %s", st->path, name, have, want, arch);
        break;
      }
      size_t count = 1;
      for (int d = 0; d < t[j].ndim; d++) count *= (size_t)t[j].shape[d];
      rc = gpd_st_tensor_to_finite_f32(st, f, (t[j].in_buffers ? buffers : params) + t[j].off, count);
    }
  }
  if (!rc) rc = e->upload(e, net->params, params, net->n_params);
  if (!rc && net->n_buffers) rc = e->upload(e, net->buffers, buffers, net->n_buffers);
  free(params);
  free(buffers);
  return rc;
}

int gpd_weights_load_net(gpd_net *net, gpd_engine *e, const char *path, const char *role) {
  gpd_safetensors st;
  gpd_arch arch;
  memset(net, 0, sizeof *net);
  GPD_TRY(gpd_st_read(&st, path));
  int rc = gpd_weights_arch(&st, &arch);
  if (!rc && gpd_net_build(net, &arch, role)) {
    char why[700];
    snprintf(why, sizeof why, "%s", gpd_last_error());
    rc = gpd_error("%s: %s", path, why);
  }
  if (!rc) rc = gpd_net_alloc(net, e);
  if (!rc && (rc = gpd_weights_fill_net(net, &st))) {
    char why[1024];
    snprintf(why, sizeof why, "%s", gpd_last_error());
    gpd_net_free(net);
    gpd_error("%s", why);
  }
  gpd_st_free(&st);
  return rc;
}

int gpd_weights_add_net(gpd_st_writer *w, const gpd_net *net) {
  gpd_engine *e = net->engine;
  if (!e || !net->params) return gpd_error("%s %s: saved before it was allocated", net->arch, net->role);
  float *params = gpd_malloc((net->n_params ? net->n_params : 1) * sizeof(float), "weights being saved");
  float *buffers = gpd_malloc((net->n_buffers ? net->n_buffers : 1) * sizeof(float), "batch-norm statistics being saved");
  int rc = params && buffers ? 0 : -1;
  if (!rc) rc = e->download(e, params, net->params, net->n_params);
  if (!rc && net->n_buffers) rc = e->download(e, buffers, net->buffers, net->n_buffers);
  for (int i = 0; !rc && i < net->n_layers; i++) {
    const gpd_layer *l = &net->layers[i];
    layer_tensor t[4];
    int k = layer_tensors(l, t);
    for (int j = 0; !rc && j < k; j++) {
      char name[160];
      gpd_layer_tensor_name(net, l, t[j].what, name, sizeof name);
      rc = gpd_st_writer_add(w, name, t[j].ndim, t[j].shape, (t[j].in_buffers ? buffers : params) + t[j].off);
    }
  }
  free(params);
  free(buffers);
  return rc;
}

int gpd_weights_add_arch(gpd_st_writer *w, const gpd_arch *arch_in) {
  gpd_arch resolved = *arch_in, *arch = &resolved;
  char v[32];
  GPD_TRY(gpd_arch_defaults(arch)); /* the file states every number */
  GPD_TRY(gpd_st_writer_meta(w, "arch", arch->name));
  snprintf(v, sizeof v, "%d", arch->latent);
  GPD_TRY(gpd_st_writer_meta(w, "latent", v));
  snprintf(v, sizeof v, "%d", arch->channels);
  GPD_TRY(gpd_st_writer_meta(w, "channels", v));
  snprintf(v, sizeof v, "%d", arch->size);
  GPD_TRY(gpd_st_writer_meta(w, "size", v));
  snprintf(v, sizeof v, "%d", arch->width);
  return gpd_st_writer_meta(w, "width", v);
}
