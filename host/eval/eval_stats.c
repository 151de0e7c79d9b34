/* Summaries of results rows (mean, sample std, 95% confidence interval of
 * the mean with Student's t) and the Markdown report in the layout of the
 * paper's Table V (gpd/eval.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/common.h"
#include "gpd/repo_path.h"
#include "gpd/eval.h"

/* t(0.975, df) for df = 1..30 (scipy.stats.t.ppf); beyond, the
 * Cornish-Fisher expansion in 1/df (Abramowitz and Stegun 26.7.5), whose
 * error at df = 31 is below 1e-6. */
static const double T975[30] = {12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581837, 2.446911849,
                                2.364624251,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
                                2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
                                2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
                                2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};

double gpd_eval_t975(long df) {
  if (df < 1) return NAN;
  if (df <= 30) return T975[df - 1];
  const double z = 1.959963984540054, v = (double)df;
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
  const double g1 = (z3 + z) / 4.0;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96.0;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384.0;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160.0;
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

void gpd_eval_stat_of(const double *x, long n, gpd_eval_stat *s) {
  double sum = 0;
  long k = 0;
  for (long i = 0; i < n; i++)
    if (isfinite(x[i])) {
      sum += x[i];
      k++;
    }
  s->n = k;
  s->mean = k ? sum / (double)k : NAN;
  s->std = s->ci95 = NAN;
  if (k < 2) return;
  double ss = 0;
  for (long i = 0; i < n; i++)
    if (isfinite(x[i])) ss += (x[i] - s->mean) * (x[i] - s->mean);
  s->std = sqrt(ss / (double)(k - 1));
  s->ci95 = gpd_eval_t975(k - 1) * s->std / sqrt((double)k);
}

void gpd_eval_summarize(const gpd_eval_row *rows, long n, gpd_eval_summary *s) {
  memset(s, 0, sizeof *s);
  s->rows = n;
  enum { COLUMNS = 9 };
  double *v = malloc(sizeof(double) * (size_t)(n ? n : 1) * COLUMNS);
  if (!v) {
    /* too little memory for the columns: counts only, statistics NaN */
    gpd_eval_stat none = {0, NAN, NAN, NAN};
    s->psnr = s->ssim = s->kernel_error = s->range_psnr = s->seconds = s->restart_iterations = none;
    s->blurry_psnr = s->blurry_ssim = s->lift = none;
  }
  long k = 0;
  for (long i = 0; i < n; i++) {
    const gpd_eval_row *r = &rows[i];
    if (!strcmp(r->status, "skipped")) s->skipped++;
    else if (!strcmp(r->status, "diverged")) s->diverged++;
    else if (!strcmp(r->status, "ok")) {
      s->ok++;
      if (v) {
        v[k] = r->psnr;
        v[n + k] = r->ssim;
        v[2 * n + k] = r->kernel_error;
        v[3 * n + k] = r->range_psnr;
        v[4 * n + k] = r->seconds;
        v[5 * n + k] = r->restart_iterations;
        v[6 * n + k] = r->blurry_psnr;
        v[7 * n + k] = r->blurry_ssim;
        v[8 * n + k] = r->psnr - r->blurry_psnr; /* NaN where either is */
        k++;
      }
    }
  }
  if (!v) return;
  gpd_eval_stat_of(v, k, &s->psnr);
  gpd_eval_stat_of(v + n, k, &s->ssim);
  gpd_eval_stat_of(v + 2 * n, k, &s->kernel_error);
  gpd_eval_stat_of(v + 3 * n, k, &s->range_psnr);
  gpd_eval_stat_of(v + 4 * n, k, &s->seconds);
  gpd_eval_stat_of(v + 5 * n, k, &s->restart_iterations);
  gpd_eval_stat_of(v + 6 * n, k, &s->blurry_psnr);
  gpd_eval_stat_of(v + 7 * n, k, &s->blurry_ssim);
  gpd_eval_stat_of(v + 8 * n, k, &s->lift);
  free(v);
}

void gpd_eval_paired_psnr_gain(const gpd_eval_row *a, long na, const gpd_eval_row *b, long nb, gpd_eval_stat *s) {
  double *d = malloc(sizeof(double) * (size_t)(na ? na : 1));
  if (!d) {
    *s = (gpd_eval_stat){0, NAN, NAN, NAN};
    return;
  }
  long k = 0;
  for (long i = 0; i < na; i++) {
    if (strcmp(a[i].status, "ok")) continue;
    /* sweeps are small (4 to 100 images a value): a linear search is enough */
    for (long j = 0; j < nb; j++)
      if (!strcmp(a[i].file, b[j].file)) {
        if (!strcmp(b[j].status, "ok")) d[k++] = a[i].psnr - b[j].psnr; /* NaN where either is */
        break;
      }
  }
  gpd_eval_stat_of(d, k, s);
  free(d);
}

void gpd_eval_method_label(const char *alg, const char *target, char *buf, size_t size) {
  const int range = target && !strcmp(target, "range");
  if (!strcmp(alg, "naive")) snprintf(buf, size, "%s (eq. 4)", range ? "naive on i_range" : "naive");
  else if (range) snprintf(buf, size, "îrange (Algorithm %s on i_range)", alg);
  else snprintf(buf, size, "î%s (Algorithm %s)", alg, alg);
}

/* ---- Markdown ---------------------------------------------------------------------- */

static void cell(FILE *f, double v, const char *fmt) {
  if (isfinite(v)) fprintf(f, fmt, v);
  else fputs("–", f);
}

/* One dataset's PSNR | SSIM cells of a Table V row: the means, or dashes
 * (NULL: nothing evaluated there). */
static void table_cells(FILE *f, const gpd_eval_stat *psnr, const gpd_eval_stat *ssim) {
  fputc(' ', f);
  cell(f, psnr ? psnr->mean : NAN, "%.2f");
  fputs(" | ", f);
  cell(f, ssim ? ssim->mean : NAN, "%.3f");
  fputs(" |", f);
}

/* The results path as given, relative to the repository (reports are committed). */
static void print_source(FILE *f, const char *source) {
  char relative[4096];
  gpd_repo_relative_text(source, relative, sizeof relative);
  fputs(relative, f);
}

/* An entry whose blurry inputs are the test images' (not the range images'). */
static int blurry_entry(const gpd_eval_report_entry *e) {
  return e->summary.blurry_psnr.n > 0 && (!e->target || strcmp(e->target, "range"));
}

static void mean_ci(FILE *f, const gpd_eval_stat *s, const char *fmt) {
  cell(f, s->mean, fmt);
  if (isfinite(s->ci95)) {
    fputs(" ± ", f);
    cell(f, s->ci95, fmt);
  }
}

int gpd_eval_report_markdown(FILE *f, const gpd_eval_report_entry *e, int n, const gpd_eval_manifest *m) {
  if (n < 1) return gpd_error("report: no results to report");
  const char **datasets = calloc((size_t)n, sizeof(char *)), **methods = calloc((size_t)n, sizeof(char *));
  if (!datasets || !methods) {
    free(datasets);
    free(methods);
    return gpd_error("out of host memory for the report");
  }
  int nd = 0, nm = 0;
  for (int i = 0; i < n; i++) {
    int j = 0;
    while (j < nd && strcmp(datasets[j], e[i].dataset)) j++;
    if (j == nd) datasets[nd++] = e[i].dataset;
    j = 0;
    while (j < nm && strcmp(methods[j], e[i].method)) j++;
    if (j == nm) methods[nm++] = e[i].method;
  }

  fprintf(f, "# Deblurring results\n\n");
  fprintf(f, "Mean PSNR (dB, images in [0, 1]) and SSIM (Gaussian window, Wang et al. 2004) over the evaluated "
             "images, laid out as the paper's Table V; a dash: not evaluated.\n\n");
  fprintf(f, "| Method |");
  for (int d = 0; d < nd; d++) fprintf(f, " %s PSNR | %s SSIM |", datasets[d], datasets[d]);
  fprintf(f, "\n|:--|");
  for (int d = 0; d < nd; d++) fprintf(f, "--:|--:|");
  fputc('\n', f);
  for (int mi = 0; mi < nm; mi++) {
    fprintf(f, "| %s |", methods[mi]);
    for (int d = 0; d < nd; d++) {
      const gpd_eval_report_entry *hit = NULL;
      for (int i = 0; i < n && !hit; i++)
        if (!strcmp(e[i].method, methods[mi]) && !strcmp(e[i].dataset, datasets[d])) hit = &e[i];
      table_cells(f, hit ? &hit->summary.psnr : NULL, hit ? &hit->summary.ssim : NULL);
    }
    fputc('\n', f);
  }
  /* the blurry inputs of each dataset's first test-target entry that has them: one row when a
   * dataset's entries all started from the same blurry images (Table V); a row per entry when
   * they did not (a noise or blur-length sweep blurs anew for each value) */
  int any_blurry = 0, same_blurry = 1;
  for (int i = 0; i < n; i++) {
    if (!blurry_entry(&e[i])) continue;
    any_blurry = 1;
    for (int j = 0; j < i; j++)
      if (blurry_entry(&e[j]) && !strcmp(e[i].dataset, e[j].dataset) &&
          (e[i].summary.blurry_psnr.mean != e[j].summary.blurry_psnr.mean ||
           e[i].summary.blurry_ssim.mean != e[j].summary.blurry_ssim.mean))
        same_blurry = 0;
  }
  for (int i = 0; i < n && !same_blurry; i++) {
    if (!blurry_entry(&e[i])) continue;
    fprintf(f, "| blurry input (%s) |", e[i].method);
    for (int d = 0; d < nd; d++) {
      const int mine = !strcmp(e[i].dataset, datasets[d]);
      table_cells(f, mine ? &e[i].summary.blurry_psnr : NULL, mine ? &e[i].summary.blurry_ssim : NULL);
    }
    fputc('\n', f);
  }
  if (any_blurry && same_blurry) {
    fprintf(f, "| blurry input |");
    for (int d = 0; d < nd; d++) {
      const gpd_eval_report_entry *hit = NULL;
      for (int i = 0; i < n && !hit; i++)
        if (blurry_entry(&e[i]) && !strcmp(e[i].dataset, datasets[d])) hit = &e[i];
      table_cells(f, hit ? &hit->summary.blurry_psnr : NULL, hit ? &hit->summary.blurry_ssim : NULL);
    }
    fputc('\n', f);
  }

  fprintf(f, "\n## Details\n\n");
  fprintf(f, "Images: evaluated (ok) / skipped (unreadable or unusable) / diverged (every restart); intervals are "
             "95%% confidence intervals of the mean (Student's t); blurry: the blurry inputs (of the range images "
             "for îrange) against the same targets; lift: the mean of PSNR - blurry PSNR per image.\n\n");
  fprintf(f, "| Method | Dataset | ok | skipped | diverged | PSNR | PSNR std | SSIM | SSIM std | blurry PSNR | "
             "blurry SSIM | lift (dB) | kernel error | s / image | results |\n");
  fprintf(f, "|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|\n");
  for (int i = 0; i < n; i++) {
    const gpd_eval_summary *s = &e[i].summary;
    fprintf(f, "| %s | %s | %ld | %ld | %ld | ", e[i].method, e[i].dataset, s->ok, s->skipped, s->diverged);
    mean_ci(f, &s->psnr, "%.2f");
    fputs(" | ", f);
    cell(f, s->psnr.std, "%.2f");
    fputs(" | ", f);
    mean_ci(f, &s->ssim, "%.3f");
    fputs(" | ", f);
    cell(f, s->ssim.std, "%.3f");
    fputs(" | ", f);
    cell(f, s->blurry_psnr.mean, "%.2f");
    fputs(" | ", f);
    cell(f, s->blurry_ssim.mean, "%.3f");
    fputs(" | ", f);
    cell(f, s->lift.mean, "%+.2f"); /* signed; its interval not */
    if (isfinite(s->lift.ci95)) {
      fputs(" ± ", f);
      cell(f, s->lift.ci95, "%.2f");
    }
    fputs(" | ", f);
    cell(f, s->kernel_error.mean, "%.3f");
    fputs(" | ", f);
    cell(f, s->seconds.mean, "%.1f");
    fputs(" | ", f);
    print_source(f, e[i].source ? e[i].source : "");
    fputs(" |\n", f);
  }
  for (int i = 0; i < n; i++)
    if (e[i].summary.range_psnr.n > 0) {
      fprintf(f, "\n%s, %s: the range images i_range are ", e[i].method, e[i].dataset);
      mean_ci(f, &e[i].summary.range_psnr, "%.2f");
      fprintf(f, " dB from the test images (range error, eq. 13).\n");
    }
  if (m) {
    fputs("\n## Settings (", f);
    print_source(f, e[0].source ? e[0].source : "first entry");
    fputs(")\n\n", f);
    for (int i = 0; i < m->n_settings; i++) fprintf(f, "- %s: `%s`\n", m->settings[i].key, m->settings[i].value);
    for (int i = 0; i < m->n_info; i++) {
      char value[sizeof m->info[i].value]; /* reports are committed: paths relative to the repository */
      gpd_repo_relative_text(m->info[i].value, value, sizeof value);
      fprintf(f, "- %s: `%s`\n", m->info[i].key, value);
    }
  }
  free(datasets);
  free(methods);
  if (ferror(f)) return gpd_error("cannot write the report");
  return 0;
}
