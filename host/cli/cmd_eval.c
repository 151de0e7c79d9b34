/* `gpdeblur eval`: deblur a test set (the paper's Section V), one results
 * row per image appended as it finishes, resumable, shardable; a summary
 * on stdout, optionally a Markdown report in Table V's layout and a grid of
 * examples (Figure 6's layout). `eval --summarize` reports on existing
 * results CSVs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_eval.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/eval.h"

static const char *CMD = "eval";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur eval DIR -o RESULTS.csv [options]\n"
          "       gpdeblur eval --levin DIR -o RESULTS.csv [options]\n"
          "       gpdeblur eval --summarize RESULTS.csv... [--report R.md]\n\n"
          "Blurs each sharp test image with a test kernel, adds noise, deblurs it and measures\n"
          "PSNR, SSIM and the kernel error. Images are solved in batches (--batch-images: their\n"
          "restarts run as one batch); one CSV row per image is appended (and synced to disk) when\n"
          "its batch finishes, so a run killed at any moment loses at most the batch in flight:\n"
          "continue it with --resume. RESULTS.csv.json beside it records the selection, the shard\n"
          "and the settings; --resume and eval-merge refuse results made with other settings.\n"
          "Unreadable images are reported (one line each on stderr), recorded as skipped and counted.\n\n"
          "outputs:\n"
          "  -o, --output FILE      results CSV: file,index,kernel,sigma,alg,target,status,psnr,ssim,\n"
          "                         kernel_error,chosen,measurement,total,range_psnr,seconds,\n"
          "                         restart_iterations,blurry_psnr,blurry_ssim,note (blurry_*: the\n"
          "                         blurry input against the same target, as the result is measured)\n"
          "      --resume           continue FILE, skipping its images (a partial last line is cut)\n"
          "      --overwrite        start FILE again\n"
          "      --report R.md      Markdown summary in the layout of the paper's Table V\n"
          "      --grid G.png       examples: sharp | blurry | deblurred | true kernel | estimate\n"
          "      --grid-count N     examples in the grid (default 8; from this run's images)\n"
          "      --stop-after N     stop after N images of this run (time slices, tests)\n"
          "      --summarize        report on the results CSVs given instead of running (one table\n"
          "                         row per method, one column pair per dataset)\n"
          "  -h, --help             this help\n");
  gpd_cli_eval_usage_common(f);
}

/* eval --summarize: one report entry per results CSV. */
static int summarize(const gpd_cli_eval_args *a) {
  const int n = a->n_inputs;
  gpd_eval_report_entry *entries = calloc((size_t)n, sizeof *entries);
  gpd_eval_manifest *ms = calloc((size_t)n, sizeof *ms);
  char (*labels)[2][256] = calloc((size_t)n, sizeof *labels);
  int rc = entries && ms && labels ? 0 : gpd_error("out of host memory");
  for (int i = 0; !rc && i < n; i++) {
    gpd_eval_rows rows;
    if (gpd_eval_manifest_read(a->inputs[i], &ms[i]) != 0 || gpd_eval_csv_read(a->inputs[i], 0, &rows, NULL) != 0) {
      rc = -1;
      break;
    }
    const char *alg = gpd_eval_manifest_get(&ms[i], "alg"), *target = gpd_eval_manifest_get(&ms[i], "target");
    const char *dataset = gpd_eval_manifest_get(&ms[i], "dataset");
    gpd_eval_method_label(alg ? alg : "?", target ? target : "test", labels[i][0], sizeof labels[i][0]);
    snprintf(labels[i][1], sizeof labels[i][1], "%s", a->dataset ? a->dataset : dataset ? dataset : "images");
    entries[i].method = labels[i][0];
    entries[i].dataset = labels[i][1];
    entries[i].source = a->inputs[i];
    entries[i].target = target;
    gpd_eval_summarize(rows.rows, rows.n, &entries[i].summary);
    gpd_eval_rows_free(&rows);
    char title[512];
    snprintf(title, sizeof title, "%s, %s (%s)", entries[i].method, entries[i].dataset, a->inputs[i]);
    gpd_cli_eval_print_summary(stdout, title, &entries[i].summary);
  }
  if (!rc && a->report) {
    FILE *f = fopen(a->report, "w");
    if (!f) rc = gpd_error("cannot write the report %s", a->report);
    else {
      rc = gpd_eval_report_markdown(f, entries, n, n == 1 ? &ms[0] : NULL);
      if (fclose(f) != 0 && !rc) rc = gpd_error("cannot write the report %s", a->report);
    }
  }
  for (int i = 0; ms && i < n; i++) gpd_eval_manifest_free(&ms[i]);
  free(entries);
  free(ms);
  free(labels);
  return rc ? gpd_cli_fail(CMD) : 0;
}

static int write_report(const gpd_cli_eval_args *a, gpd_cli_eval_session *s, const gpd_eval_summary *sum) {
  char method[128];
  gpd_eval_method_label(gpd_eval_alg_name(s->cfg.solve.alg), s->cfg.range ? "range" : "test", method, sizeof method);
  gpd_eval_report_entry entry = {
      .method = method, .dataset = s->dataset, .source = a->output, .target = s->cfg.range ? "range" : "test",
      .summary = *sum};
  gpd_eval_manifest m;
  /* the manifest the run wrote beside its CSV: its settings, without
   * reading every image again for the inputs hash */
  GPD_TRY(gpd_eval_manifest_read(a->output, &m));
  FILE *f = fopen(a->report, "w");
  int rc = f ? 0 : gpd_error("cannot write the report %s", a->report);
  if (!rc) rc = gpd_eval_report_markdown(f, &entry, 1, &m);
  if (f && fclose(f) != 0 && !rc) rc = gpd_error("cannot write the report %s", a->report);
  gpd_eval_manifest_free(&m);
  return rc;
}

int gpd_cmd_eval(int argc, char **argv) {
  gpd_cli_eval_args a;
  int st = gpd_cli_eval_parse(CMD, 0, argc, argv, usage, &a);
  if (st) return st < 0 ? 0 : st;
  if (a.summarize) return summarize(&a);

  gpd_cli_eval_session s;
  gpd_eval_outcome out;
  memset(&out, 0, sizeof out);
  int rc = gpd_cli_eval_open(&a, &s);
  if (!rc) rc = gpd_cli_eval_execute(CMD, &s, &s.cfg, &out);
  if (rc) {
    gpd_cli_fail(CMD);
    if (out.rows.n > 0)
      fprintf(stderr, "gpdeblur %s: the %ld results so far are in %s; continue with --resume\n", CMD, out.rows.n,
              a.output);
    gpd_eval_outcome_free(&out);
    gpd_cli_eval_close(&s);
    return 1;
  }

  gpd_eval_summary sum;
  gpd_eval_summarize(out.rows.rows, out.rows.n, &sum);
  char title[512];
  snprintf(title, sizeof title, "%s (%ld new, %ld resumed)", a.output, out.done, out.resumed);
  gpd_cli_eval_print_summary(stdout, title, &sum);
  if (out.stopped)
    fprintf(stderr, "gpdeblur %s: stopped after %ld images (--stop-after); %ld left, continue with --resume\n", CMD,
            out.done, out.todo - out.done);
  if (a.report && write_report(&a, &s, &sum) != 0) rc = 1;
  if (!rc && a.grid) {
    gpd_image g = {0};
    if (out.grid_rows == 0)
      fprintf(stderr, "gpdeblur %s: no grid: no image was deblurred in this run\n", CMD);
    else if (gpd_eval_grid(&out, 4, &g) != 0 || gpd_image_save_png(&g, a.grid) != 0) rc = 1;
    gpd_image_free(&g);
  }
  if (rc) gpd_cli_fail(CMD);
  gpd_eval_outcome_free(&out);
  gpd_cli_eval_close(&s);
  return rc;
}
