/* `gpdeblur info FILE [--json]`: what a weights file holds (architecture
 * from its metadata, every tensor with dtype and shape, parameter counts)
 * and whether each role in it loads as that architecture. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_check.h"
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

/* argv -> path, json: 0, -1 after --help, or the exit status of a usage
 * error (its line printed). */
static int parse_args(int argc, char **argv, const char **path, int *json) {
  static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int opt;
  *json = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (opt) {
    case 'j': *json = 1; break;
    case 'h': usage(stdout); return -1;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
  }
  const int npos = gpd_cli_one_positional(CMD, argc, argv, "weights file");
  if (npos) return npos;
  *path = argv[optind];
  return 0;
}

/* What the file holds and whether each role loads. */
typedef struct info_report {
  gpd_arch arch;
  int have_arch, failed;
  char arch_error[1024];
  int role_present[N_ROLES];
  char role_result[N_ROLES][1024]; /* "ok", the error, or "" (not checked) */
  unsigned long long params, buffers;
} info_report;

/* Each role present is loaded for real (on the CPU) to check it. */
static int check_roles(const gpd_safetensors *st, info_report *r) {
  memset(r, 0, sizeof *r);
  r->have_arch = gpd_st_meta_get(st, "arch") != NULL;
  if (r->have_arch && gpd_weights_arch(st, &r->arch)) {
    snprintf(r->arch_error, sizeof r->arch_error, "%s", gpd_last_error());
    r->have_arch = 0;
    r->failed = 1;
  }
  gpd_engine *e = NULL;
  for (int i = 0; i < N_ROLES; i++) {
    r->role_present[i] = has_role(st, ROLES[i]);
    if (!r->role_present[i] || !r->have_arch) continue;
    if (!e && !(e = gpd_engine_cpu_create())) return -1;
    gpd_net net;
    gpd_arch role_arch = r->arch;
    /* A GAN checkpoint's discriminator may have its own width. */
    const char *dw = gpd_st_meta_get(st, "train_disc_width");
    if (!strcmp(ROLES[i], "discriminator") && dw && atoi(dw) > 0) role_arch.width = atoi(dw);
    if (gpd_net_build(&net, &role_arch, ROLES[i]) || gpd_net_alloc(&net, e) || gpd_weights_fill_net(&net, st)) {
      snprintf(r->role_result[i], sizeof r->role_result[i], "%s", gpd_last_error());
      r->failed = 1;
    } else {
      snprintf(r->role_result[i], sizeof r->role_result[i], "ok");
    }
    gpd_net_free(&net);
  }
  if (e) gpd_engine_destroy(e);
  for (int i = 0; i < st->n_tensors; i++) {
    if (is_buffer(st->tensors[i].name)) r->buffers += element_count(&st->tensors[i]);
    else r->params += element_count(&st->tensors[i]);
  }
  return 0;
}

static void print_json(const char *path, const gpd_safetensors *st, const info_report *r) {
  printf("{\"file\":");
  json_string(path);
  printf(",\"metadata\":{");
  for (int i = 0; i < st->n_meta; i++) {
    printf(i ? "," : "");
    json_string(st->meta[i].key);
    putchar(':');
    json_string(st->meta[i].value);
  }
  printf("},\"arch\":");
  if (r->have_arch) {
    printf("{\"name\":");
    json_string(r->arch.name);
    printf(",\"latent\":%d,\"channels\":%d,\"size\":%d,\"width\":%d}", r->arch.latent, r->arch.channels, r->arch.size,
           r->arch.width);
  } else {
    printf("null");
  }
  printf(",\"tensors\":[");
  for (int i = 0; i < st->n_tensors; i++) {
    const gpd_st_tensor *t = &st->tensors[i];
    printf("%s{\"name\":", i ? "," : "");
    json_string(t->name);
    printf(",\"dtype\":\"%s\",\"shape\":[", t->dtype);
    for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
    printf("]}");
  }
  printf("],\"parameters\":%llu,\"buffers\":%llu,\"roles\":{", r->params, r->buffers);
  int first = 1;
  for (int i = 0; i < N_ROLES; i++) {
    if (!r->role_present[i]) continue;
    printf("%s\"%s\":", first ? "" : ",", ROLES[i]);
    if (r->role_result[i][0]) json_string(r->role_result[i]);
    else printf("null");
    first = 0;
  }
  printf("}");
  if (r->arch_error[0]) {
    printf(",\"error\":");
    json_string(r->arch_error);
  }
  printf("}\n");
}

static void print_text(const char *path, const gpd_safetensors *st, const info_report *r) {
  printf("file: %s\n", path);
  if (r->have_arch)
    printf("arch: %s (latent %d, channels %d, size %d, width %d)\n", r->arch.name, r->arch.latent, r->arch.channels,
           r->arch.size, r->arch.width);
  else if (!r->arch_error[0])
    printf("arch: none (no \"arch\" in __metadata__)\n");
  if (st->n_meta) {
    printf("metadata:\n");
    for (int i = 0; i < st->n_meta; i++) printf("  %s = %s\n", st->meta[i].key, st->meta[i].value);
  }
  printf("tensors: %d\n", st->n_tensors);
  for (int i = 0; i < st->n_tensors; i++) {
    const gpd_st_tensor *t = &st->tensors[i];
    char shape[160];
    size_t k = (size_t)snprintf(shape, sizeof shape, "[");
    for (int d = 0; d < t->ndim && k < sizeof shape; d++)
      k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (k < sizeof shape) snprintf(shape + k, sizeof shape - k, "]");
    printf("  %-40s %-5s %s\n", t->name, t->dtype, shape);
  }
  printf("parameters: %llu\n", r->params);
  if (r->buffers) printf("buffers (batch-norm running statistics): %llu\n", r->buffers);
  for (int i = 0; i < N_ROLES; i++)
    if (r->role_present[i] && r->role_result[i][0])
      printf("%s: %s\n", ROLES[i], !strcmp(r->role_result[i], "ok") ? "loads" : "does not load");
  fflush(stdout);
}

/* The report of a file that reads as safetensors; exit 1 (the reason on
 * stderr) when its architecture or a role does not load. */
static int run(const char *path, int json, const gpd_safetensors *st) {
  info_report r;
  if (check_roles(st, &r) != 0) return gpd_cli_fail(CMD);
  if (json) print_json(path, st, &r);
  else print_text(path, st, &r);
  if (!r.failed) return 0;
  const char *why = r.arch_error;
  for (int i = 0; i < N_ROLES && !why[0]; i++)
    if (r.role_present[i] && r.role_result[i][0] && strcmp(r.role_result[i], "ok")) why = r.role_result[i];
  fprintf(stderr, "gpdeblur %s: %s\n", CMD, why);
  return 1;
}

/* parse, validate (the file reads as safetensors), then run (work = 1)
 * or stop there (work = 0, the error recorded and not printed). */
static int info_command(int argc, char **argv, int work) {
  const char *path = NULL;
  int json = 0;
  gpd_safetensors st;
  const int parsed = parse_args(argc, argv, &path, &json);
  if (parsed) return parsed < 0 ? 0 : parsed;
  if (gpd_st_read(&st, path) != 0) return work ? gpd_cli_fail(CMD) : 1;
  const int rc = work ? run(path, json, &st) : 0;
  gpd_st_free(&st);
  return rc;
}

int gpd_cmd_info_check(int argc, char **argv) { return info_command(argc, argv, 0); }
int gpd_cmd_info(int argc, char **argv) { return info_command(argc, argv, 1); }
