/* `gpdeblur sweep`: one evaluation per value of a parameter, reproducing
 * the paper's Fig. 8 (noise sigma), Fig. 14 (blur length buckets) and
 * Fig. 11 (random restarts), and the step budget (PSNR against the
 * restart-iterations spent, scripts/restart_budget.sh). Each value has its own resumable results CSV
 * in --out-dir; sweep.csv collects their summaries (rewritten atomically
 * after each value) for scripts/plot_sweep.py. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_eval.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/eval.h"

static const char *CMD = "sweep";

#define MAX_VALUES 64

typedef struct sweep_value {
  char text[32];  /* as given: 0.01, 3, 5:8 */
  char label[48]; /* in file names: sigma_0.01, restarts_3, length_5-8 */
  double x;       /* on the plot's axis (a length bucket's midpoint) */
  long lo, hi;
} sweep_value;

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur sweep DIR --param sigma|length|restarts|steps [--values V,...] --out-dir OUT [options]\n\n"
          "Runs 'gpdeblur eval' once per value of one parameter (all other options as for eval):\n"
          "  sigma     noise standard deviation, the paper's Fig. 8 (default 0.01,0.02,...,0.10)\n"
          "  length    motion-blur length buckets L:H (or single lengths L): only test kernels whose\n"
          "            drawn length is in [L, H], Fig. 14 (default 5:8,9:12,13:16,17:20,21:24,25:28)\n"
          "  restarts  random restarts, Fig. 11 (default 1,2,...,10; with --average-best K, the\n"
          "            points below K average all their restarts)\n"
          "  steps     the step budget per restart (default 250,500,1000,2000,5000,10000; with\n"
          "            --schedule halving, the restart-iterations column shows what it spent)\n"
          "Each value's results go to OUT/<param>_<value>.csv, resumed when the sweep is run again\n"
          "(--overwrite starts them again); OUT/sweep.csv holds one summary row per value:\n"
          "  param,value,x,method,dataset,images,ok,skipped,diverged,psnr_mean,psnr_std,psnr_ci95,\n"
          "  ssim_mean,ssim_std,ssim_ci95,kernel_error_mean,seconds_mean,restart_iterations_mean,\n"
          "  blurry_psnr_mean,blurry_ssim_mean,lift_mean,lift_ci95 (lift: PSNR - blurry PSNR),\n"
          "  gain_mean,gain_ci95 (gain: PSNR - the first value's PSNR, per image: paired, so its\n"
          "  interval leaves out how much the images differ), results\n"
          "  (results: the value's CSV, named relative to OUT, so the folder can move)\n"
          "Plot it with: /usr/bin/python3 scripts/plot_sweep.py OUT/sweep.csv [more.csv] -o plot.png\n\n"
          "  --param P, --values LIST, --out-dir OUT   as above\n"
          "  --report R.md          Markdown table of the values\n"
          "  --stop-after N         stop after N images in all (time slices, tests)\n"
          "  --overwrite            start every value's results again\n"
          "  -h, --help             this help\n");
  gpd_cli_eval_usage_common(f);
}

static int parse_value(const char *param, const char *text, sweep_value *v) {
  memset(v, 0, sizeof *v);
  if (strlen(text) >= sizeof v->text) return gpd_error("--values: '%s' is too long", text);
  snprintf(v->text, sizeof v->text, "%s", text);
  if (!strcmp(param, "sigma")) {
    GPD_TRY(gpd_parse_float("values", text, 0, 10, &v->x));
    snprintf(v->label, sizeof v->label, "sigma_%s", text);
  } else if (!strcmp(param, "restarts")) {
    GPD_TRY(gpd_parse_int("values", text, 1, 1000000, &v->lo));
    v->x = (double)v->lo;
    snprintf(v->label, sizeof v->label, "restarts_%ld", v->lo);
  } else if (!strcmp(param, "steps")) {
    GPD_TRY(gpd_parse_int("values", text, 0, 100000000, &v->lo));
    v->x = (double)v->lo;
    snprintf(v->label, sizeof v->label, "steps_%ld", v->lo);
  } else {
    if (strchr(text, ':')) GPD_TRY(gpd_eval_parse_range("values", text, &v->lo, &v->hi));
    else {
      GPD_TRY(gpd_parse_int("values", text, 0, 1000, &v->lo));
      v->hi = v->lo;
    }
    if (v->lo < GPD_MOTION_LENGTH_MIN || v->hi > GPD_MOTION_LENGTH_MAX)
      return gpd_error("--values: length bucket '%s' is outside the drawn lengths %d..%d", text, GPD_MOTION_LENGTH_MIN,
                       GPD_MOTION_LENGTH_MAX);
    v->x = 0.5 * (double)(v->lo + v->hi);
    snprintf(v->label, sizeof v->label, "length_%ld-%ld", v->lo, v->hi);
  }
  return 0;
}

static int parse_values(const char *param, const char *list, sweep_value *vals, int *n) {
  char buf[2048];
  if (strlen(list) >= sizeof buf) return gpd_error("--values: the list is too long");
  snprintf(buf, sizeof buf, "%s", list);
  *n = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (*n == MAX_VALUES) return gpd_error("--values: more than %d values", MAX_VALUES);
    GPD_TRY(parse_value(param, t, &vals[*n]));
    for (int i = 0; i < *n; i++)
      if (!strcmp(vals[i].label, vals[*n].label)) return gpd_error("--values: '%s' is given twice", t);
    (*n)++;
  }
  if (*n == 0) return gpd_error("--values: no values");
  return 0;
}

static const char *DEFAULTS_SIGMA = "0.01,0.02,0.03,0.04,0.05,0.06,0.07,0.08,0.09,0.1";
static const char *DEFAULTS_LENGTH = "5:8,9:12,13:16,17:20,21:24,25:28";
static const char *DEFAULTS_RESTARTS = "1,2,3,4,5,6,7,8,9,10";
static const char *DEFAULTS_STEPS = "250,500,1000,2000,5000,10000";

/* Options that the swept parameter would silently override. */
static int check_conflicts(const gpd_cli_eval_args *a) {
  if (strcmp(a->param, "sigma") && strcmp(a->param, "length") && strcmp(a->param, "restarts") &&
      strcmp(a->param, "steps"))
    return gpd_error("--param: '%s' is not sigma, length, restarts or steps", a->param);
  if (a->output) return gpd_error("-o: a sweep writes OUT/<param>_<value>.csv per value; give --out-dir only");
  if (a->levin) return gpd_error("--levin: the benchmark has fixed captures; sweeps need synthetic blur");
  if (!strcmp(a->param, "restarts") && a->solve.restarts > 0)
    return gpd_error("--restarts is the swept parameter; give its values with --values");
  if (!strcmp(a->param, "steps") && a->solve.steps >= 0)
    return gpd_error("--steps is the swept parameter; give its values with --values");
  if (!strcmp(a->param, "length") && (a->kernels_dir || a->bucket_min || a->bucket_max))
    return gpd_error("--param length picks motion kernels by length; drop --kernels / --kernel-length");
  return 0;
}

static void num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, ",%.9g", v);
  else fputs(",nan", f);
}

/* method: the evaluated method without the value (the plot's line label;
 * no commas, labels are plain CSV fields). */
static int write_table(const char *dir, const char *param, const char *method, const sweep_value *vals,
                       const gpd_eval_report_entry *e, const gpd_eval_stat *gain, int n) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/sweep.csv", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return gpd_error("cannot write %s: %s", tmp, strerror(errno));
  fprintf(f, "param,value,x,method,dataset,images,ok,skipped,diverged,psnr_mean,psnr_std,psnr_ci95,ssim_mean,"
             "ssim_std,ssim_ci95,kernel_error_mean,seconds_mean,restart_iterations_mean,blurry_psnr_mean,"
             "blurry_ssim_mean,lift_mean,lift_ci95,gain_mean,gain_ci95,results\n");
  for (int i = 0; i < n; i++) {
    const gpd_eval_summary *s = &e[i].summary;
    fprintf(f, "%s,%s,%.9g,%s,%s,%ld,%ld,%ld,%ld", param, vals[i].text, vals[i].x, method, e[i].dataset, s->rows, s->ok,
            s->skipped, s->diverged);
    num(f, s->psnr.mean);
    num(f, s->psnr.std);
    num(f, s->psnr.ci95);
    num(f, s->ssim.mean);
    num(f, s->ssim.std);
    num(f, s->ssim.ci95);
    num(f, s->kernel_error.mean);
    num(f, s->seconds.mean);
    num(f, s->restart_iterations.mean);
    num(f, s->blurry_psnr.mean);
    num(f, s->blurry_ssim.mean);
    num(f, s->lift.mean);
    num(f, s->lift.ci95);
    num(f, gain[i].mean);
    num(f, gain[i].ci95);
    /* the value's CSV lies in dir: its name alone keeps the folder movable (and
     * no machine's absolute path goes into a committed sweep.csv) */
    const char *slash = strrchr(e[i].source, '/');
    fprintf(f, ",%s\n", slash ? slash + 1 : e[i].source);
  }
  int rc = 0;
  if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) rc = gpd_error("cannot write %s: %s", tmp, strerror(errno));
  if (fclose(f) != 0 && !rc) rc = gpd_error("cannot write %s", tmp);
  if (!rc && rename(tmp, path) != 0) rc = gpd_error("cannot rename %s to %s: %s", tmp, path, strerror(errno));
  if (rc) remove(tmp);
  return rc;
}

int gpd_cmd_sweep(int argc, char **argv) {
  gpd_cli_eval_args a;
  int st = gpd_cli_eval_parse(CMD, 1, argc, argv, usage, &a);
  if (st) return st < 0 ? 0 : st;
  static sweep_value vals[MAX_VALUES];
  int nv = 0;
  if (check_conflicts(&a) != 0) return gpd_cli_fail(CMD);
  const char *list = a.values                  ? a.values
                     : !strcmp(a.param, "sigma")  ? DEFAULTS_SIGMA
                     : !strcmp(a.param, "length") ? DEFAULTS_LENGTH
                     : !strcmp(a.param, "steps")  ? DEFAULTS_STEPS
                                                  : DEFAULTS_RESTARTS;
  if (parse_values(a.param, list, vals, &nv) != 0) return gpd_cli_fail(CMD);
  if (gpd_cli_make_output_dir("--out-dir", a.out_dir) != 0) return gpd_cli_fail(CMD);

  gpd_cli_eval_session s;
  if (gpd_cli_eval_open(&a, &s) != 0) {
    gpd_cli_fail(CMD);
    gpd_cli_eval_close(&s);
    return 1;
  }
  static gpd_eval_report_entry entries[MAX_VALUES];
  static char methods[MAX_VALUES][256], paths[MAX_VALUES][4096];
  static gpd_eval_stat gains[MAX_VALUES];
  gpd_eval_rows first; /* the first value's rows, which every value's gain is paired with */
  memset(&first, 0, sizeof first);
  char base[128];
  gpd_eval_method_label(gpd_eval_alg_name(s.cfg.solve.alg), s.cfg.range ? "range" : "test", base, sizeof base);
  long budget = a.stop_after;
  int rc = 0, stopped = 0, done = 0;
  for (int i = 0; !rc && i < nv && !stopped; i++) {
    const sweep_value *v = &vals[i];
    gpd_eval_config cfg = s.cfg;
    snprintf(paths[i], sizeof paths[i], "%s/%s.csv", a.out_dir, v->label);
    cfg.csv = paths[i];
    cfg.resume = !a.overwrite;
    cfg.overwrite = a.overwrite;
    cfg.grid_count = 0;
    cfg.stop_after = budget;
    if (!strcmp(a.param, "sigma")) cfg.sigma = (float)v->x;
    else if (!strcmp(a.param, "restarts")) {
      cfg.solve.restarts = (int)v->lo;
      /* --average-best K over restarts 1..10: the points below K average all
       * they have (their manifests say how many), rather than refusing them */
      if (cfg.solve.average_best > cfg.solve.restarts) cfg.solve.average_best = cfg.solve.restarts;
    }
    else if (!strcmp(a.param, "steps")) cfg.solve.steps = (int)v->lo;
    else {
      s.kernels.bucket_min = (int)v->lo;
      s.kernels.bucket_max = (int)v->hi;
      if (gpd_eval_kernels_prepare(&s.kernels, s.full.n) != 0) {
        rc = -1;
        break;
      }
    }
    gpd_eval_outcome out;
    memset(&out, 0, sizeof out);
    char label[96];
    snprintf(label, sizeof label, "%s %s", a.param, v->text);
    if (gpd_cli_eval_execute(label, &s, &cfg, &out) != 0) {
      rc = -1;
      gpd_eval_outcome_free(&out);
      break;
    }
    snprintf(methods[i], sizeof methods[i], "%s; %s %s", base, a.param, v->text);
    entries[i] = (gpd_eval_report_entry){
        .method = methods[i], .dataset = s.dataset, .source = paths[i], .target = s.cfg.range ? "range" : "test"};
    gpd_eval_summarize(out.rows.rows, out.rows.n, &entries[i].summary);
    gpd_cli_eval_print_summary(stdout, methods[i], &entries[i].summary);
    if (i == 0) { /* keep its rows: out.rows is freed below */
      first = out.rows;
      memset(&out.rows, 0, sizeof out.rows);
    }
    gpd_eval_paired_psnr_gain(i ? out.rows.rows : first.rows, i ? out.rows.n : first.n, first.rows, first.n, &gains[i]);
    done = i + 1;
    if (budget > 0) {
      budget -= out.done;
      if (out.stopped || budget <= 0) stopped = i + 1 < nv || out.stopped;
    }
    gpd_eval_outcome_free(&out);
    rc = write_table(a.out_dir, a.param, base, vals, entries, gains, done);
  }
  if (!rc && stopped)
    fprintf(stderr, "gpdeblur %s: stopped (--stop-after); run the same command again to continue\n", CMD);
  if (!rc && a.report && done > 0) {
    FILE *f = fopen(a.report, "w");
    if (!f) rc = gpd_error("cannot write the report %s", a.report);
    else {
      rc = gpd_eval_report_markdown(f, entries, done, NULL);
      if (fclose(f) != 0 && !rc) rc = gpd_error("cannot write the report %s", a.report);
    }
  }
  gpd_eval_rows_free(&first);
  if (rc) gpd_cli_fail(CMD);
  else printf("sweep: %s/sweep.csv (%d of %d values)\n", a.out_dir, done, nv);
  gpd_cli_eval_close(&s);
  return rc ? 1 : 0;
}
