/* `gpdeblur info FILE [--json]`: what a weights file holds (architecture
 * from its metadata, every tensor with dtype and shape, parameter counts)
 * and whether each role in it loads as that architecture. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/weights.h"

static const char *CMD = "info";
static const char *ROLES[] = {"encoder", "decoder", "generator", "discriminator"};
#define N_ROLES 4

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur info FILE [--json]\n\n"
          "Describes a .safetensors weights file: its architecture (from __metadata__),\n"
          "every tensor with its dtype and shape, the number of parameters (batch-norm\n"
          "running statistics counted apart), and for each network role in the file\n"
          "(encoder, decoder, generator, discriminator) whether it loads as the\n"
          "architecture says. Exits 1 when the file is unreadable or a role does not load.\n\n"
          "options:\n"
          "      --json   print one JSON object instead of text\n"
          "  -h, --help   this help\n");
}

static int is_buffer(const char *name) {
  const char *suffix[] = {".running_mean", ".running_var", ".num_batches_tracked"};
  size_t n = strlen(name);
  for (int i = 0; i < 3; i++) {
    size_t k = strlen(suffix[i]);
    if (n > k && !strcmp(name + n - k, suffix[i])) return 1;
  }
  return 0;
}

static int has_role(const gpd_safetensors *st, const char *role) {
  size_t k = strlen(role);
  for (int i = 0; i < st->n_tensors; i++)
    if (!strncmp(st->tensors[i].name, role, k) && st->tensors[i].name[k] == '.') return 1;
  return 0;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static unsigned long long element_count(const gpd_st_tensor *t) {
  unsigned long long n = 1;
  for (int d = 0; d < t->ndim; d++) n *= (unsigned long long)t->shape[d];
  return n;
}

int gpd_cmd_info(int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int json = 0, opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (opt) {
    case 'j': json = 1; break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "gpdeblur %s: one weights file expected, got %d; see 'gpdeblur %s --help'\n", CMD, argc - optind, CMD);
    return 2;
  }
  const char *path = argv[optind];
  gpd_safetensors st;
  if (gpd_st_read(&st, path)) return gpd_cli_fail(CMD);

  gpd_arch arch;
  int have_arch = gpd_st_meta_get(&st, "arch") != NULL;
  char arch_error[1024] = "";
  if (have_arch && gpd_weights_arch(&st, &arch)) {
    snprintf(arch_error, sizeof arch_error, "%s", gpd_last_error());
    have_arch = 0;
  }

  /* Each role present is loaded for real (on the CPU) to check it. */
  char role_result[N_ROLES][1024];
  int role_present[N_ROLES], failed = arch_error[0] != 0;
  gpd_engine *e = NULL;
  for (int r = 0; r < N_ROLES; r++) {
    role_present[r] = has_role(&st, ROLES[r]);
    role_result[r][0] = 0;
    if (!role_present[r] || !have_arch) continue;
    if (!e && !(e = gpd_engine_cpu_create())) {
      gpd_st_free(&st);
      return gpd_cli_fail(CMD);
    }
    gpd_net net;
    gpd_arch role_arch = arch;
    /* A GAN checkpoint's discriminator may have its own width. */
    const char *dw = gpd_st_meta_get(&st, "train_disc_width");
    if (!strcmp(ROLES[r], "discriminator") && dw && atoi(dw) > 0) role_arch.width = atoi(dw);
    if (gpd_net_build(&net, &role_arch, ROLES[r]) || gpd_net_alloc(&net, e) || gpd_weights_fill_net(&net, &st)) {
      snprintf(role_result[r], sizeof role_result[r], "%s", gpd_last_error());
      failed = 1;
    } else {
      snprintf(role_result[r], sizeof role_result[r], "ok");
    }
    gpd_net_free(&net);
  }
  if (e) gpd_engine_destroy(e);

  unsigned long long params = 0, buffers = 0;
  for (int i = 0; i < st.n_tensors; i++) {
    if (is_buffer(st.tensors[i].name)) buffers += element_count(&st.tensors[i]);
    else params += element_count(&st.tensors[i]);
  }

  if (json) {
    printf("{\"file\":");
    json_string(path);
    printf(",\"metadata\":{");
    for (int i = 0; i < st.n_meta; i++) {
      printf(i ? "," : "");
      json_string(st.meta[i].key);
      putchar(':');
      json_string(st.meta[i].value);
    }
    printf("},\"arch\":");
    if (have_arch) {
      printf("{\"name\":");
      json_string(arch.name);
      printf(",\"latent\":%d,\"channels\":%d,\"size\":%d,\"width\":%d}", arch.latent, arch.channels, arch.size, arch.width);
    } else {
      printf("null");
    }
    printf(",\"tensors\":[");
    for (int i = 0; i < st.n_tensors; i++) {
      const gpd_st_tensor *t = &st.tensors[i];
      printf("%s{\"name\":", i ? "," : "");
      json_string(t->name);
      printf(",\"dtype\":\"%s\",\"shape\":[", t->dtype);
      for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
      printf("]}");
    }
    printf("],\"parameters\":%llu,\"buffers\":%llu,\"roles\":{", params, buffers);
    int first = 1;
    for (int r = 0; r < N_ROLES; r++) {
      if (!role_present[r]) continue;
      printf("%s\"%s\":", first ? "" : ",", ROLES[r]);
      if (role_result[r][0]) json_string(role_result[r]);
      else printf("null");
      first = 0;
    }
    printf("}");
    if (arch_error[0]) {
      printf(",\"error\":");
      json_string(arch_error);
    }
    printf("}\n");
  } else {
    printf("file: %s\n", path);
    if (have_arch)
      printf("arch: %s (latent %d, channels %d, size %d, width %d)\n", arch.name, arch.latent, arch.channels, arch.size,
             arch.width);
    else if (!arch_error[0])
      printf("arch: none (no \"arch\" in __metadata__)\n");
    if (st.n_meta) {
      printf("metadata:\n");
      for (int i = 0; i < st.n_meta; i++) printf("  %s = %s\n", st.meta[i].key, st.meta[i].value);
    }
    printf("tensors: %d\n", st.n_tensors);
    for (int i = 0; i < st.n_tensors; i++) {
      const gpd_st_tensor *t = &st.tensors[i];
      char shape[160];
      size_t k = (size_t)snprintf(shape, sizeof shape, "[");
      for (int d = 0; d < t->ndim && k < sizeof shape; d++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
      if (k < sizeof shape) snprintf(shape + k, sizeof shape - k, "]");
      printf("  %-40s %-5s %s\n", t->name, t->dtype, shape);
    }
    printf("parameters: %llu\n", params);
    if (buffers) printf("buffers (batch-norm running statistics): %llu\n", buffers);
    for (int r = 0; r < N_ROLES; r++)
      if (role_present[r] && role_result[r][0]) printf("%s: %s\n", ROLES[r], !strcmp(role_result[r], "ok") ? "loads" : "does not load");
    fflush(stdout);
  }
  if (failed) {
    const char *why = arch_error;
    for (int r = 0; r < N_ROLES && !why[0]; r++)
      if (role_present[r] && role_result[r][0] && strcmp(role_result[r], "ok")) why = role_result[r];
    fprintf(stderr, "gpdeblur %s: %s\n", CMD, why);
  }
  gpd_st_free(&st);
  return failed ? 1 : 0;
}
