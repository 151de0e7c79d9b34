/* Generators, default weights and progress for the solver subcommands
 * (cli_solve.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli_solve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpd/common.h"
#include "gpd/weights.h"

#ifndef GPD_DEFAULT_WEIGHTS_DIR
#define GPD_DEFAULT_WEIGHTS_DIR "weights"
#endif

static int has_role(const gpd_safetensors *st, const char *role) {
  size_t k = strlen(role);
  for (int i = 0; i < st->n_tensors; i++)
    if (!strncmp(st->tensors[i].name, role, k) && st->tensors[i].name[k] == '.') return 1;
  return 0;
}

/* The role holding the wanted generator, or an error naming what the file
 * holds instead. */
static int generator_role(const gpd_safetensors *st, const char *path, const gpd_arch *a, int blur, const char **role) {
  const char *name = a->name;
  const int dcgan = !strcmp(name, "dcgan_tf") || !strcmp(name, "dcgan_torch");
  if (blur) {
    if (!strcmp(name, "blur_vae")) *role = "decoder";
    else if (dcgan || !strcmp(name, "svhn_vae"))
      return gpd_error("%s holds a %s image generator, not the blur VAE; pass it as --image-gen", path, name);
    else return gpd_error("%s holds a %s network, not the blur VAE", path, name);
  } else {
    if (dcgan) *role = "generator";
    else if (!strcmp(name, "svhn_vae")) *role = "decoder";
    else if (!strcmp(name, "blur_vae"))
      return gpd_error("%s holds the blur VAE, not an image generator; pass it as --blur-gen", path);
    else return gpd_error("%s holds a %s network, not an image generator", path, name);
  }
  if (!has_role(st, *role))
    return gpd_error("%s has no %s.* tensors (an encoder%s-only file?); the %s generator is the %s's %s", path, *role,
                     dcgan ? "/discriminator" : "", blur ? "blur" : "image", name, *role);
  return 0;
}

int gpd_cli_load_generator(gpd_net *net, gpd_engine *e, const char *path, int blur) {
  gpd_safetensors st;
  gpd_arch arch;
  const char *role = NULL;
  memset(net, 0, sizeof *net);
  GPD_TRY(gpd_st_read(&st, path));
  int rc = gpd_weights_arch(&st, &arch);
  if (!rc) rc = generator_role(&st, path, &arch, blur, &role);
  gpd_st_free(&st);
  if (rc) return -1;
  /* the loader builds, allocates and checks every tensor's shape */
  return gpd_weights_load_net(net, e, path, role);
}

const char *gpd_cli_weights_dir(void) {
  const char *env = getenv("GPD_WEIGHTS_DIR");
  return env && env[0] ? env : GPD_DEFAULT_WEIGHTS_DIR;
}

int gpd_cli_default_weights(const char *file, const char *what, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", gpd_cli_weights_dir(), file);
  if (access(buf, R_OK) != 0)
    return gpd_error("the default %s %s is missing; make it with 'gpdeblur train' (see weights/README.md), set "
                     "GPD_WEIGHTS_DIR, or pass the file explicitly",
                     what, buf);
  return 0;
}

const char *gpd_cli_default_image_generator(int c, int h, int w) {
  if (c == 3 && h == 64 && w == 64) return "dcgan_celeba64.safetensors";
  if (c == 3 && h == 32 && w == 32) return "svhn_vae.safetensors";
  return NULL;
}

int gpd_cli_pick_image_generator(int c, int h, int w, const char *boundary, const char **file) {
  if ((*file = gpd_cli_default_image_generator(c, h, w))) return 0;
  return gpd_error("no shipped image generator makes %dx%dx%d images%s%s%s: the shipped ones make 64x64x3 "
                   "(dcgan_celeba64) and 32x32x3 (svhn_vae); pass --image-gen FILE, or --alg 3 --boundary linear for a "
                   "photo of any size (an untrained generator fitted to it)",
                   h, w, c, boundary ? " (" : "", boundary ? boundary : "", boundary ? " boundary)" : "");
}

int gpd_cli_open_generator(gpd_net *net, gpd_engine *e, const char *path, const char *default_file, int blur,
                           char *used, size_t size) {
  memset(net, 0, sizeof *net);
  if (path) snprintf(used, size, "%s", path);
  else GPD_TRY(gpd_cli_default_weights(default_file, blur ? "blur generator" : "image generator", used, size));
  return gpd_cli_load_generator(net, e, used, blur);
}

/* ---- monitor -------------------------------------------------------------- */

static void monitor_log(void *ctx, int step, int restarts, const float *m, const float *t) {
  gpd_cli_monitor *mon = ctx;
  float best = NAN;
  for (int r = 0; r < restarts; r++)
    if (isfinite(m[r]) && !(m[r] >= best)) best = m[r];
  snprintf(mon->bar.extra, sizeof mon->bar.extra, "best %.4g", best);
  if (!mon->csv) return;
  if (!mon->header_done) {
    fprintf(mon->csv, "step");
    for (int r = 0; r < restarts; r++) fprintf(mon->csv, ",measurement%d", r);
    for (int r = 0; r < restarts; r++) fprintf(mon->csv, ",total%d", r);
    fputc('\n', mon->csv);
    mon->header_done = 1;
  }
  fprintf(mon->csv, "%d", step);
  for (int r = 0; r < restarts; r++) fprintf(mon->csv, ",%.9g", m[r]);
  for (int r = 0; r < restarts; r++) fprintf(mon->csv, ",%.9g", t[r]);
  fputc('\n', mon->csv);
}

static void monitor_progress(void *ctx, int done, int total) {
  gpd_cli_monitor *mon = ctx;
  mon->bar.total = total > 0 ? total : 1;
  gpd_progress_update(&mon->bar, done);
}

void gpd_cli_monitor_attach(gpd_cli_monitor *m, gpd_solve_options *o, const char *label, FILE *csv, int log_every) {
  memset(m, 0, sizeof *m);
  gpd_progress_start(&m->bar, label, o->steps);
  m->csv = csv;
  o->log = monitor_log;
  o->log_ctx = m;
  /* without a CSV, log points only refresh the progress line's best loss */
  o->log_every = log_every > 0 ? log_every : (m->bar.mode != GPD_PROGRESS_OFF ? 50 : 0);
  o->progress = monitor_progress;
  o->progress_ctx = m;
}

void gpd_cli_monitor_finish(gpd_cli_monitor *m) { gpd_progress_finish(&m->bar); }

int gpd_cli_parse_precision(const char *text, gpd_precision *out) {
  if (gpd_precision_parse(text, out) != 0) return gpd_error("--precision: '%s' is not fp32, tf32 or bf16", text);
  return 0;
}

int gpd_cli_parse_threads(const char *text, int *out) {
  long v;
  GPD_TRY(gpd_parse_int("threads", text, 1, 1024, &v));
  *out = (int)v;
  return 0;
}

gpd_engine *gpd_cli_engine_create(const char *device, gpd_precision precision, int threads) {
  /* both pools: which one computes depends on the engine --device picks
   * (auto: cuda or cpu); the cpu engine puts OpenBLAS back to one thread */
  gpd_cpu_set_threads(threads);
  gpd_ref_set_threads(threads);
  return gpd_engine_create(device, precision);
}

int gpd_cli_report_plan(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o) {
  gpd_solve_plan plan;
  GPD_TRY(gpd_solve_plan_make(e, y, gi, gk, o, &plan));
  char line[256];
  if (gpd_solve_plan_describe(&plan, e, o->restarts, line, sizeof line)) fprintf(stderr, "%s\n", line);
  return 0;
}

int gpd_cli_solve_logged(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, gpd_solve_options *o,
                         const char *label, const char *log_path, int log_every, gpd_solve_result *res) {
  FILE *csv = NULL;
  if (log_path && !(csv = fopen(log_path, "w"))) return gpd_error("cannot write the log %s", log_path);
  int rc = gpd_cli_report_plan(e, y, gi, gk, o);
  if (rc == 0) {
    gpd_cli_monitor mon;
    gpd_cli_monitor_attach(&mon, o, label, csv, log_path ? log_every : 0);
    rc = gpd_solve(e, y, gi, gk, o, res);
    gpd_cli_monitor_finish(&mon);
  }
  if (rc == 0 && res->graph_capture_failures)
    fprintf(stderr, "%s: warning: %ld graph capture%s failed, %s iterations ran eagerly: %s\n", label,
            res->graph_capture_failures, res->graph_capture_failures == 1 ? "" : "s",
            res->graph_capture_failures == 1 ? "its" : "their", res->graph_failure);
  if (csv && fclose(csv) != 0 && rc == 0) rc = gpd_error("cannot write the log %s", log_path);
  return rc;
}

void gpd_cli_json_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

void gpd_cli_json_field(FILE *f, const char *key, double v) {
  fprintf(f, ",\"%s\":", key);
  gpd_cli_json_number(f, v);
}

void gpd_cli_json_graphs(FILE *f, const gpd_solve_result *res) {
  fprintf(f, ",\"graph_launches\":%ld,\"graph_capture_failures\":%ld", res->graph_launches,
          res->graph_capture_failures);
}

void gpd_cli_json_diverged(FILE *f, const gpd_solve_result *res) {
  fputs(",\"diverged\":[", f);
  for (int r = 0, first = 1; r < res->restarts; r++)
    if (res->diverged_at[r] != -1) {
      fprintf(f, "%s%d", first ? "" : ",", r);
      first = 0;
    }
  fputc(']', f);
}
