/* Evaluation at scale (gpd/eval.h, `gpdeblur eval`, `eval-merge`, `sweep`):
 * known answers for the statistics (scipy's t quantiles), CSV rows that
 * round-trip with quoting, partial last lines cut off, the selection
 * (ranges, partition file, limit, shards), test kernels by length bucket;
 * then tiny end-to-end runs on the CPU with random generators written
 * here: a row recomputed by hand, all images in one batch equal one image
 * per solve, killed in the middle of a batch's appends and resumed equals
 * uninterrupted (each image once), shards merged equal the unsharded run
 * (within float tolerance: an image's rounding depends on its batch), a CSV
 * of the layout before restart_iterations read but not resumed,
 * overlapping / missing / mismatched inputs refused, a truncated PNG
 * skipped and counted, divergence recorded, report, grid and sweep
 * written. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gpd/blur.h"
#include "gpd/common.h"
#include "gpd/engine.h"
#include "gpd/eval.h"
#include "gpd/image.h"
#include "gpd/metrics.h"
#include "gpd/net.h"
#include "gpd/solve.h"
#include "gpd/weights.h"
#include "solver_test_nets.h"

int gpd_cmd_eval(int argc, char **argv);
int gpd_cmd_eval_merge(int argc, char **argv);
int gpd_cmd_sweep(int argc, char **argv);


static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
}

static long size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Runs a subcommand in-process with a NULL-terminated list of arguments. */
static int run(int (*cmd)(int, char **), const char *name, ...) {
  char *argv[80];
  int argc = 0;
  argv[argc++] = strdup(name);
  va_list ap;
  va_start(ap, name);
  const char *s;
  while ((s = va_arg(ap, const char *)) && argc < 79) argv[argc++] = strdup(s);
  va_end(ap);
  argv[argc] = NULL;
  char *keep[80];
  memcpy(keep, argv, sizeof keep);
  fflush(stdout);
  int rc = cmd(argc, argv);
  fflush(stdout);
  for (int i = 0; i < argc; i++) free(keep[i]); /* getopt permutes argv, not the strings */
  return rc;
}

/* ---- statistics -------------------------------------------------------------------- */

static void test_stats(void) {
  /* scipy.stats.t.ppf(0.975, df) */
  static const struct {
    long df;
    double t;
  } T975[] = {{1, 12.706204736}, {2, 4.302652730}, {10, 2.228138852}, {30, 2.042272456},
              {31, 2.039513446},  {40, 2.021075383}, {79, 1.990450210}, {100, 1.983971518}, {1000, 1.962339081}};
  for (size_t i = 0; i < sizeof T975 / sizeof T975[0]; i++)
    CHECK(fabs(gpd_eval_t975(T975[i].df) - T975[i].t) < 2e-6, "t(0.975, %ld) = %.9f, scipy %.9f", T975[i].df,
          gpd_eval_t975(T975[i].df), T975[i].t);
  CHECK(isnan(gpd_eval_t975(0)), "t with df 0 should be NaN");

  const double x[] = {1, 2, NAN, 3, 4, INFINITY};
  gpd_eval_stat s;
  gpd_eval_stat_of(x, 6, &s);
  const double sd = sqrt(5.0 / 3.0);
  CHECK(s.n == 4 && fabs(s.mean - 2.5) < 1e-12 && fabs(s.std - sd) < 1e-12, "stat: n %ld mean %g std %g", s.n, s.mean,
        s.std);
  CHECK(fabs(s.ci95 - 3.182446305 * sd / 2.0) < 1e-8, "ci95 %.9g", s.ci95);
  gpd_eval_stat_of(x, 1, &s);
  CHECK(s.n == 1 && s.mean == 1 && isnan(s.std) && isnan(s.ci95), "one value: std and CI are NaN");

  gpd_eval_row rows[4];
  for (int i = 0; i < 4; i++) {
    gpd_eval_row_init(&rows[i]);
    rows[i].psnr = 20 + i;
    rows[i].ssim = 0.5;
  }
  snprintf(rows[1].status, sizeof rows[1].status, "skipped");
  snprintf(rows[3].status, sizeof rows[3].status, "diverged");
  gpd_eval_summary sum;
  gpd_eval_summarize(rows, 4, &sum);
  CHECK(sum.rows == 4 && sum.ok == 2 && sum.skipped == 1 && sum.diverged == 1, "counts %ld %ld %ld %ld", sum.rows,
        sum.ok, sum.skipped, sum.diverged);
  CHECK(sum.psnr.n == 2 && fabs(sum.psnr.mean - 21.0) < 1e-12, "PSNR over ok rows only: n %ld mean %g", sum.psnr.n,
        sum.psnr.mean);

  /* a sweep's gain over its first value: images matched by name, in any
   * order; an image not ok at either value, or missing at the first, left out.
   * first: a 20 (ok), b 30 (ok), c 25 (skipped), d 22 (ok);
   * later: d 25, b 31, a 22, c 26, e 40 (not at the first) -> gains 3, 1, 2 */
  const char *first_names[] = {"a", "b", "c", "d"}, *later_names[] = {"d", "b", "a", "c", "e"};
  const double first_psnr[] = {20, 30, 25, 22}, later_psnr[] = {25, 31, 22, 26, 40};
  gpd_eval_row first[4], later[5];
  for (int i = 0; i < 5; i++) {
    if (i < 4) {
      gpd_eval_row_init(&first[i]);
      snprintf(first[i].file, sizeof first[i].file, "%s", first_names[i]);
      first[i].psnr = first_psnr[i];
    }
    gpd_eval_row_init(&later[i]);
    snprintf(later[i].file, sizeof later[i].file, "%s", later_names[i]);
    later[i].psnr = later_psnr[i];
  }
  snprintf(first[2].status, sizeof first[2].status, "skipped");
  gpd_eval_stat gain;
  gpd_eval_paired_psnr_gain(later, 5, first, 4, &gain);
  CHECK(gain.n == 3 && fabs(gain.mean - 2.0) < 1e-12 && fabs(gain.std - 1.0) < 1e-12,
        "paired gain: n %ld mean %g std %g, expected 3, 2, 1", gain.n, gain.mean, gain.std);
  CHECK(fabs(gain.ci95 - 4.302652730 / sqrt(3.0)) < 1e-8, "paired gain's interval %.9g", gain.ci95);
  gpd_eval_paired_psnr_gain(first, 4, first, 4, &gain);
  CHECK(gain.n == 3 && gain.mean == 0 && gain.std == 0, "a value against itself: n %ld mean %g std %g", gain.n,
        gain.mean, gain.std);
}

/* ---- CSV rows ------------------------------------------------------------------------ */

static void test_rows(void) {
  gpd_eval_row r, p;
  gpd_eval_row_init(&r);
  snprintf(r.file, sizeof r.file, "odd, \"name\".png");
  r.index = 12;
  snprintf(r.kernel, sizeof r.kernel, "1000000012");
  r.sigma = 0.01f;
  snprintf(r.alg, sizeof r.alg, "2");
  snprintf(r.target, sizeof r.target, "range");
  r.psnr = 24.123456789012;
  r.ssim = 0.81234567891;
  r.kernel_error = 0.5;
  r.chosen = 3;
  r.measurement = 1.5e-4;
  r.total = INFINITY;
  r.seconds = 2.25;
  snprintf(r.note, sizeof r.note, "two\nlines, \"quoted\"");
  char a[4096], b[4096];
  CHECK_OK(gpd_eval_row_format(&r, a, sizeof a));
  CHECK(strchr(a, '\n') == a + strlen(a) - 1, "a row is one line: %s", a);
  a[strlen(a) - 1] = 0;
  CHECK_OK(gpd_eval_row_parse(a, &p));
  CHECK(!strcmp(p.file, r.file) && p.index == 12 && !strcmp(p.target, "range") && p.chosen == 3, "parsed back: %s", a);
  CHECK(!strcmp(p.note, "two lines, \"quoted\""), "note: '%s'", p.note);
  CHECK(isinf(p.total) && isnan(p.range_psnr) && fabs(p.psnr - 24.123456789012) < 1e-6, "numbers: %s", a);
  CHECK_OK(gpd_eval_row_format(&p, b, sizeof b));
  b[strlen(b) - 1] = 0;
  CHECK(!strcmp(a, b), "format(parse(line)) differs:\n%s\n%s", a, b);

  CHECK(gpd_eval_row_parse("a,1,2", &p) != 0 && strstr(gpd_last_error(), "3 fields"), "short row: %s",
        gpd_last_error());
  char bad[4096];
  snprintf(bad, sizeof bad, "%s", a);
  char *st = strstr(bad, ",ok,");
  CHECK(st != NULL, "status field in %s", bad);
  if (st) {
    memcpy(st, ",OK,", 4);
    CHECK(gpd_eval_row_parse(bad, &p) != 0 && strstr(gpd_last_error(), "status"), "bad status: %s", gpd_last_error());
  }

  /* a file whose last write was cut short */
  const char *path = check_tmp_path("partial.csv");
  FILE *f = fopen(path, "w");
  fprintf(f, "%s\n", GPD_EVAL_CSV_HEADER);
  r.index = 0;
  CHECK_OK(gpd_eval_csv_append(f, path, &r));
  gpd_eval_row first = r;
  r.index = 1;
  snprintf(r.file, sizeof r.file, "second.png");
  CHECK_OK(gpd_eval_csv_append(f, path, &r));
  const long whole = ftell(f);
  fputs("000009.png,2,10000", f);
  fclose(f);
  gpd_eval_rows rows;
  long dropped = -1;
  CHECK_OK(gpd_eval_csv_read(path, 0, &rows, &dropped));
  CHECK(rows.n == 2 && dropped == 18 && size_of(path) == whole + 18, "read: %ld rows, %ld dropped", rows.n, dropped);
  gpd_eval_rows_free(&rows);
  CHECK_OK(gpd_eval_csv_read(path, 1, &rows, &dropped));
  CHECK(rows.n == 2 && size_of(path) == whole, "truncated to %ld bytes, expected %ld", size_of(path), whole);
  CHECK(rows.n == 2 && rows.rows[1].index == 1, "rows kept");
  gpd_eval_rows_free(&rows);

  write_text(check_tmp_path("notcsv.csv"), "a,b,c\n1,2,3\n");
  CHECK(gpd_eval_csv_read(check_tmp_path("notcsv.csv"), 0, &rows, NULL) != 0 &&
            strstr(gpd_last_error(), "not a gpdeblur"),
        "a foreign CSV is refused: %s", gpd_last_error());
  f = fopen(check_tmp_path("badline.csv"), "w");
  fprintf(f, "%s\n1,2\n", GPD_EVAL_CSV_HEADER);
  fclose(f);
  CHECK(gpd_eval_csv_read(check_tmp_path("badline.csv"), 1, &rows, NULL) != 0 && strstr(gpd_last_error(), "line 2"),
        "a complete malformed line is an error naming it: %s", gpd_last_error());

  /* an image twice (by index, or by name) is refused, naming both lines */
  const char *dup = check_tmp_path("dup.csv");
  for (int by_name = 0; by_name < 2; by_name++) {
    f = fopen(dup, "w");
    fprintf(f, "%s\n", GPD_EVAL_CSV_HEADER);
    CHECK_OK(gpd_eval_csv_append(f, dup, &first));
    CHECK_OK(gpd_eval_csv_append(f, dup, &r));
    gpd_eval_row again = by_name ? first : r;
    if (by_name) again.index = 7;
    CHECK_OK(gpd_eval_csv_append(f, dup, &again));
    fclose(f);
    CHECK(gpd_eval_csv_read(dup, 0, &rows, NULL) != 0 && strstr(gpd_last_error(), by_name ? "line 4" : "line 4") &&
              strstr(gpd_last_error(), by_name ? "repeats line 2" : "repeats line 3"),
          "a repeated row is refused: %s", gpd_last_error());
  }

  /* a NUL byte inside the complete lines is refused (it used to hide the
   * rows after it, which --resume then ran again) */
  const char *nul = check_tmp_path("nul.csv");
  f = fopen(nul, "w");
  fprintf(f, "%s\n", GPD_EVAL_CSV_HEADER);
  CHECK_OK(gpd_eval_csv_append(f, nul, &first));
  fputc(0, f);
  CHECK_OK(gpd_eval_csv_append(f, nul, &r));
  fclose(f);
  CHECK(gpd_eval_csv_read(nul, 1, &rows, NULL) != 0 && strstr(gpd_last_error(), "line 3 holds a NUL"),
        "a NUL byte is refused naming its line: %s", gpd_last_error());
}

/* ---- selection and kernels ------------------------------------------------------------ */

static void test_selection(void) {
  mkdir(check_tmp_path("sel"), 0777);
  const char *names[] = {"000003.png", "000001.jpg", "000002.PNG", "000010.png", "abc.png", "notes.txt"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[512];
    snprintf(p, sizeof p, "%s/sel/%s", check_tmp, names[i]);
    write_text(p, "x");
  }
  gpd_eval_selection s = {.dir = check_tmp_path("sel"), .partition = 2, .first = -1, .last = -1};
  gpd_eval_list l;
  CHECK_OK(gpd_eval_select(&s, &l));
  CHECK(l.n == 5, "5 images (notes.txt is not one), got %ld", l.n);
  if (l.n == 5) {
    CHECK(!strcmp(l.items[0].name, "000001.jpg") && !strcmp(l.items[2].name, "000003.png") &&
              !strcmp(l.items[4].name, "abc.png") && l.items[4].index == 4,
          "sorted by name: %s %s %s", l.items[0].name, l.items[2].name, l.items[4].name);
    CHECK(!strcmp(l.items[1].path, check_tmp_path("sel/000002.PNG")), "path %s", l.items[1].path);
  }
  gpd_eval_list_free(&l);
  s.first = 2;
  s.last = 10;
  CHECK_OK(gpd_eval_select(&s, &l));
  CHECK(l.n == 3 && !strcmp(l.items[0].name, "000002.PNG") && l.items[0].index == 0, "range 2:10: %ld", l.n);
  gpd_eval_list_free(&l);
  s.limit = 2;
  CHECK_OK(gpd_eval_select(&s, &l));
  CHECK(l.n == 2 && !strcmp(l.items[1].name, "000003.png"), "limit 2: %ld", l.n);
  gpd_eval_list_free(&l);
  s.first = 11;
  s.last = 20;
  CHECK(gpd_eval_select(&s, &l) != 0 && strstr(gpd_last_error(), "11:20"), "empty range: %s", gpd_last_error());

  /* CelebA's partition file: only the test split, in the file's order sorted */
  write_text(check_tmp_path("sel/list_eval_partition.txt"), "000001.jpg 0\n000010.png 2\n000002.PNG 1\n000003.png 2\n");
  gpd_eval_selection sp = {.dir = check_tmp_path("sel"), .partition = 2, .first = -1, .last = -1};
  CHECK_OK(gpd_eval_select(&sp, &l));
  CHECK(l.n == 2 && !strcmp(l.items[0].name, "000003.png") && !strcmp(l.items[1].name, "000010.png"),
        "partition 2: %ld", l.n);
  gpd_eval_list_free(&l);

  int k, n;
  CHECK_OK(gpd_eval_parse_shard("2/3", &k, &n));
  CHECK(k == 2 && n == 3, "shard 2/3");
  CHECK(gpd_eval_parse_shard("0/2", &k, &n) != 0 && gpd_eval_parse_shard("3/2", &k, &n) != 0 &&
            gpd_eval_parse_shard("1-2", &k, &n) != 0,
        "bad shards refused");
  /* index % N == K - 1 */
  CHECK(gpd_eval_in_shard(0, 1, 3) && gpd_eval_in_shard(4, 2, 3) && gpd_eval_in_shard(5, 3, 3) &&
            !gpd_eval_in_shard(5, 1, 3) && gpd_eval_in_shard(7, 1, 1),
        "shard convention");
  long a, b;
  CHECK(gpd_eval_parse_range("files", "8001:9000", &a, &b) == 0 && a == 8001 && b == 9000, "range");
  CHECK(gpd_eval_parse_range("files", "9:8", &a, &b) != 0 && strstr(gpd_last_error(), "--files"), "reversed range");
}

static void test_kernels(void) {
  gpd_eval_kernels k = {.seed0 = GPD_EVAL_KERNEL_SEED0, .len_min = 5, .len_max = 28, .ksize = 28};
  CHECK_OK(gpd_eval_kernels_prepare(&k, 5));
  for (long i = 0; i < 5 && k.seeds; i++) CHECK(k.seeds[i] == GPD_EVAL_KERNEL_SEED0 + (uint64_t)i, "seed %ld", i);
  float *kv = NULL, ref[28 * 28];
  char id[64];
  CHECK_OK(gpd_eval_kernel_get(&k, 3, &kv, id, sizeof id));
  CHECK_OK(gpd_motion_kernel(ref, 28, GPD_EVAL_KERNEL_SEED0 + 3, 5, 28));
  if (kv) check_close("kernel of item 3", kv, ref, 28 * 28, 0, 0);
  CHECK(!strcmp(id, "1000000003"), "id %s", id);
  free(kv);

  k.bucket_min = 10;
  k.bucket_max = 12;
  CHECK_OK(gpd_eval_kernels_prepare(&k, 40));
  uint64_t prev = 0;
  for (long i = 0; i < 40 && k.seeds; i++) {
    int len = gpd_motion_kernel_length(k.seeds[i], 5, 28);
    CHECK(len >= 10 && len <= 12, "seed %llu has length %d", (unsigned long long)k.seeds[i], len);
    CHECK(k.seeds[i] >= GPD_EVAL_KERNEL_SEED0 && (i == 0 || k.seeds[i] > prev), "seeds increase from 1e9");
    prev = k.seeds[i];
  }
  /* every seed skipped has a length outside the bucket */
  for (uint64_t s = GPD_EVAL_KERNEL_SEED0; k.seeds && s < k.seeds[39]; s++) {
    int in = 0, len = gpd_motion_kernel_length(s, 5, 28);
    for (int i = 0; i < 40; i++) in |= k.seeds[i] == s;
    if (!in) CHECK(len < 10 || len > 12, "seed %llu of length %d was skipped", (unsigned long long)s, len);
  }
  gpd_eval_kernels_free(&k);
  k.bucket_min = 30;
  k.bucket_max = 40;
  CHECK(gpd_eval_kernels_prepare(&k, 1) != 0, "a bucket beyond the drawn lengths is refused");

  /* centre k/2 onto K/2 */
  const float src[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  float dst[16];
  CHECK_OK(gpd_eval_kernel_embed(src, 3, dst, 4));
  CHECK(dst[5] == 1 && dst[10] == 5 && dst[15] == 9 && dst[0] == 0 && dst[4] == 0, "embed 3 in 4");
  CHECK(gpd_eval_kernel_embed(src, 3, dst, 2) != 0, "a larger kernel does not fit");
}

/* ---- end to end --------------------------------------------------------------------------- */

static int write_net(const char *path, const char *arch, const char *role, int latent, int channels, int size,
                     int width, uint64_t seed) {
  const gpd_arch a = test_arch(arch, latent, channels, size, width);
  gpd_net net;
  GPD_TRY(gpd_net_build(&net, &a, role));
  GPD_TRY(gpd_net_alloc(&net, E));
  int rc = gpd_net_init(&net, seed);
  gpd_st_writer *w = rc ? NULL : gpd_st_writer_create();
  if (!rc && !w) rc = -1;
  if (!rc) rc = gpd_weights_add_net(w, &net);
  if (!rc) rc = gpd_weights_add_arch(w, &a);
  if (!rc) rc = gpd_st_writer_save(w, path);
  if (w) gpd_st_writer_free(w);
  gpd_net_free(&net);
  return rc;
}

/* 36x36 RGB test images (cropped 30 and resized to 32 by the recipe) */
static void write_images(const char *dir, int count, int corrupt) {
  mkdir(dir, 0777);
  for (int i = 1; i <= count; i++) {
    gpd_image im;
    gpd_image_alloc(&im, 3, 36, 36);
    for (int y = 0; y < 36; y++)
      for (int x = 0; x < 36; x++) {
        im.data[(0 * 36 + y) * 36 + x] = 0.5f + 0.4f * sinf(0.3f * x + (float)i);
        im.data[(1 * 36 + y) * 36 + x] = (float)y / 36.0f;
        im.data[(2 * 36 + y) * 36 + x] = (float)((x / 4 + y / 4 + i) % 2) * 0.8f;
      }
    char p[1024];
    snprintf(p, sizeof p, "%s/%06d.png", dir, i);
    CHECK_OK(gpd_image_save_png(&im, p));
    gpd_image_free(&im);
    if (i == corrupt) CHECK(truncate(p, 60) == 0, "truncating %s", p);
  }
}

/* Two numbers of a row agree: both NaN, or within float tolerance (the
 * solver's rounding depends on the batch an image ran in: batched and
 * one-at-a-time, resumed and uninterrupted runs agree to ~1e-7). */
static int close_enough(double a, double b) {
  return (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-6 + 1e-5 * fabs(b);
}

/* The rows of two CSVs are the same but for the seconds column: every
 * text field and integer equal, every other number within float tolerance. */
static int same_rows(const char *a, const char *b) {
  gpd_eval_rows ra, rb;
  if (gpd_eval_csv_read(a, 0, &ra, NULL) != 0) {
    CHECK(0, "reading %s: %s", a, gpd_last_error());
    return 0;
  }
  if (gpd_eval_csv_read(b, 0, &rb, NULL) != 0) {
    CHECK(0, "reading %s: %s", b, gpd_last_error());
    gpd_eval_rows_free(&ra);
    return 0;
  }
  int same = ra.n == rb.n;
  if (!same) fprintf(stderr, "%s has %ld rows, %s %ld\n", a, ra.n, b, rb.n);
  for (long i = 0; same && i < ra.n; i++) {
    const gpd_eval_row *x = &ra.rows[i], *y = &rb.rows[i];
    same = !strcmp(x->file, y->file) && x->index == y->index && !strcmp(x->kernel, y->kernel) &&
           !strcmp(x->alg, y->alg) && !strcmp(x->target, y->target) && !strcmp(x->status, y->status) &&
           x->chosen == y->chosen && !strcmp(x->note, y->note) && close_enough(x->sigma, y->sigma) &&
           close_enough(x->psnr, y->psnr) && close_enough(x->ssim, y->ssim) &&
           close_enough(x->kernel_error, y->kernel_error) && close_enough(x->measurement, y->measurement) &&
           close_enough(x->total, y->total) && close_enough(x->range_psnr, y->range_psnr) &&
           ((isnan(x->restart_iterations) && isnan(y->restart_iterations)) ||
            x->restart_iterations == y->restart_iterations);
    if (!same) {
      char la[4096], lb[4096];
      gpd_eval_row_format(x, la, sizeof la);
      gpd_eval_row_format(y, lb, sizeof lb);
      fprintf(stderr, "row %ld differs:\n  %s  %s", i, la, lb);
    }
  }
  gpd_eval_rows_free(&ra);
  gpd_eval_rows_free(&rb);
  return same;
}

static int file_contains(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return strstr(buf, needle) != NULL;
}

/* The row of item 1 recomputed with the library alone: the pipeline the CSV
 * claims (crop 30 resize 32, kernel seed 1e9 + 1, noise seed 1, solver
 * seed 5 + 1, Algorithm 1 with the run's options). */
static void check_row_by_hand(const char *csv, const char *gen, const char *blur) {
  gpd_eval_rows rows;
  if (gpd_eval_csv_read(csv, 0, &rows, NULL) != 0 || rows.n < 2) {
    CHECK(0, "reading %s", csv);
    return;
  }
  const gpd_eval_row *r = &rows.rows[1];
  gpd_image raw = {0}, sharp = {0}, y = {0};
  gpd_net gi, gk;
  float k[28 * 28];
  gpd_solve_result res = {0};
  CHECK_OK(gpd_image_load(&raw, check_tmp_path("faces/000002.png"), 3));
  CHECK_OK(gpd_image_crop_resize(&raw, 30, 32, &sharp));
  CHECK_OK(gpd_motion_kernel(k, 28, GPD_EVAL_KERNEL_SEED0 + 1, 5, 28));
  CHECK_OK(gpd_blur_image(&sharp, k, 28, GPD_BOUNDARY_CIRCULAR, 0.01f, 1, &y));
  CHECK_OK(gpd_weights_load_net(&gi, E, gen, "generator"));
  CHECK_OK(gpd_weights_load_net(&gk, E, blur, "decoder"));
  gpd_solve_options o;
  gpd_solve_defaults(&o, GPD_ALG_1);
  o.restarts = 2;
  o.steps = 3;
  o.lr = 1e-5f;
  o.seed = 5 + 1;
  if (gpd_solve(E, &y, &gi, &gk, &o, &res) != 0) {
    CHECK(0, "gpd_solve: %s", gpd_last_error());
  } else {
    double psnr = gpd_psnr(res.image.data, sharp.data, 3, 32, 32);
    double ssim = gpd_ssim(res.image.data, sharp.data, 3, 32, 32);
    double kerr = gpd_kernel_error(res.kernel, k, 28, GPD_EVAL_KERNEL_SHIFT);
    CHECK(!strcmp(r->file, "000002.png") && !strcmp(r->kernel, "1000000001") && !strcmp(r->status, "ok"),
          "row 1: %s %s %s", r->file, r->kernel, r->status);
    CHECK(fabs(r->psnr - psnr) < 1e-6 * fabs(psnr), "PSNR in the CSV %.9g, by hand %.9g", r->psnr, psnr);
    CHECK(fabs(r->ssim - ssim) < 1e-7, "SSIM in the CSV %.9g, by hand %.9g", r->ssim, ssim);
    /* the blurry input y against the same sharp image */
    const double bpsnr = gpd_psnr(y.data, sharp.data, 3, 32, 32), bssim = gpd_ssim(y.data, sharp.data, 3, 32, 32);
    CHECK(fabs(r->blurry_psnr - bpsnr) < 1e-6 * fabs(bpsnr) && fabs(r->blurry_ssim - bssim) < 1e-7,
          "blurry PSNR / SSIM in the CSV %.9g / %.9g, by hand %.9g / %.9g", r->blurry_psnr, r->blurry_ssim, bpsnr,
          bssim);
    CHECK(fabs(r->kernel_error - kerr) < 1e-6 * kerr, "kernel error in the CSV %.9g, by hand %.9g", r->kernel_error,
          kerr);
    CHECK(r->chosen == res.chosen && fabs(r->measurement - res.measurement) <= 1e-6 * fabs(res.measurement),
          "chosen %d / %d, measurement %.9g / %.9g", r->chosen, res.chosen, r->measurement, (double)res.measurement);
  }
  gpd_solve_result_free(&res);
  gpd_net_free(&gi);
  gpd_net_free(&gk);
  gpd_image_free(&raw);
  gpd_image_free(&sharp);
  gpd_image_free(&y);
  gpd_eval_rows_free(&rows);
}

#define GEN_OPTS                                                                                                       \
  "--image-gen", gen, "--blur-gen", blur, "--device", "cpu", "--crop-resize", "30:32", "-r", "2", "-n", "3", "--lr",   \
      "1e-5", "--seed", "5"

static void test_end_to_end(void) {
  char gen[512], blur[512], faces[512];
  snprintf(gen, sizeof gen, "%s", check_tmp_path("gen.safetensors"));
  snprintf(blur, sizeof blur, "%s", check_tmp_path("blur.safetensors"));
  snprintf(faces, sizeof faces, "%s", check_tmp_path("faces"));
  CHECK_OK(write_net(gen, "dcgan_tf", "generator", 8, 3, 32, 4, 11));
  CHECK_OK(write_net(blur, "blur_vae", "decoder", 5, 1, 28, 4, 12));
  write_images(faces, 7, 4); /* 000004.png is a truncated PNG */
  write_text(check_tmp_path("faces/readme.txt"), "not an image");

  /* the uninterrupted run */
  const char *full = check_tmp_path("full.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", full, GEN_OPTS, "--report", check_tmp_path("full.md"), "--grid",
            check_tmp_path("grid.png"), "--grid-count", "2", NULL) == 0,
        "eval: %s", gpd_last_error());
  gpd_eval_rows rows;
  if (gpd_eval_csv_read(full, 0, &rows, NULL) == 0) {
    gpd_eval_summary s;
    gpd_eval_summarize(rows.rows, rows.n, &s);
    CHECK(s.rows == 7 && s.ok == 6 && s.skipped == 1 && s.diverged == 0, "summary: %ld rows, %ld ok, %ld skipped",
          s.rows, s.ok, s.skipped);
    CHECK(rows.n == 7 && !strcmp(rows.rows[3].file, "000004.png") && !strcmp(rows.rows[3].status, "skipped") &&
              strstr(rows.rows[3].note, "000004.png"),
          "the truncated PNG is a skipped row naming it");
    CHECK(s.psnr.n == 6 && isfinite(s.psnr.mean) && isfinite(s.ssim.mean), "finite PSNR / SSIM over the 6 ok images");
    char mean[64];
    snprintf(mean, sizeof mean, "| %.2f | %.3f |", s.psnr.mean, s.ssim.mean);
    CHECK(file_contains(check_tmp_path("full.md"), "| î1 (Algorithm 1) |") &&
              file_contains(check_tmp_path("full.md"), mean),
          "report with the method row and '%s'", mean);
    CHECK(file_contains(check_tmp_path("full.md"), "| î1 (Algorithm 1) | faces | 6 | 1 | 0 |"),
          "report details counts");
    snprintf(mean, sizeof mean, "| blurry input | %.2f | %.3f |", s.blurry_psnr.mean, s.blurry_ssim.mean);
    CHECK(s.blurry_psnr.n == 6 && file_contains(check_tmp_path("full.md"), mean), "report's blurry row '%s'", mean);
    double lift = 0;
    for (long i = 0; i < rows.n; i++)
      if (!strcmp(rows.rows[i].status, "ok")) lift += (rows.rows[i].psnr - rows.rows[i].blurry_psnr) / 6;
    CHECK(fabs(s.lift.mean - lift) < 1e-9 && fabs(s.lift.mean - (s.psnr.mean - s.blurry_psnr.mean)) < 1e-9,
          "lift %.9g, by hand %.9g", s.lift.mean, lift);
    gpd_eval_rows_free(&rows);
  } else CHECK(0, "reading %s: %s", full, gpd_last_error());
  check_row_by_hand(full, gen, blur);
  gpd_image grid = {0};
  if (gpd_image_load(&grid, check_tmp_path("grid.png"), 0) == 0) {
    /* two rows of 32 | 32 | 32 | 28 | 28 with gaps of 2, rows 4 apart */
    CHECK(grid.c == 3 && grid.h == 32 + 4 + 32 && grid.w == 3 * 32 + 2 * 28 + 4 * 2, "grid %dx%dx%d", grid.c, grid.h,
          grid.w);
    gpd_image_free(&grid);
  } else CHECK(0, "no grid: %s", gpd_last_error());

  /* an existing CSV is not overwritten without --resume / --overwrite */
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", full, GEN_OPTS, NULL) != 0 && strstr(gpd_last_error(), "--resume"),
        "refuses an existing CSV: %s", gpd_last_error());

  /* a CSV with a header and no results is started again; a foreign file is not touched */
  write_text(check_tmp_path("header.csv"), GPD_EVAL_CSV_HEADER "\n");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", check_tmp_path("header.csv"), GEN_OPTS, "--limit", "1", NULL) == 0,
        "header-only CSV: %s", gpd_last_error());
  write_text(check_tmp_path("foreign.csv"), "a,b\n1,2\n");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", check_tmp_path("foreign.csv"), GEN_OPTS, "--limit", "1", NULL) != 0 &&
            strstr(gpd_last_error(), "not a results CSV") && size_of(check_tmp_path("foreign.csv")) == 8,
        "a foreign file is refused: %s", gpd_last_error());

  /* the whole selection as one batch (above) == one image at a time */
  const char *ones = check_tmp_path("ones.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", ones, GEN_OPTS, "--batch-images", "1", NULL) == 0, "batch 1: %s",
        gpd_last_error());
  CHECK(same_rows(ones, full), "one image at a time == batched");
  if (gpd_eval_csv_read(full, 0, &rows, NULL) == 0) {
    CHECK(rows.rows[0].restart_iterations == 2 * 3 && isnan(rows.rows[3].restart_iterations),
          "restart_iterations: %g for 2 restarts x 3 steps, %g for the skipped image", rows.rows[0].restart_iterations,
          rows.rows[3].restart_iterations);
    gpd_eval_rows_free(&rows);
  }

  /* killed in the middle of a batch's appends: batches of 2, the second
   * batch's first row written and its second cut short (the first batch
   * stops after 4 images: 2 batches) */
  const char *part = check_tmp_path("part.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", part, GEN_OPTS, "--batch-images", "2", "--stop-after", "4", NULL) == 0,
        "stop-after");
  if (gpd_eval_csv_read(part, 0, &rows, NULL) == 0) {
    CHECK(rows.n == 4, "4 rows before the kill, got %ld", rows.n);
    gpd_eval_rows_free(&rows);
  }
  {
    /* keep the header, rows 1-3 and 20 bytes of row 4 */
    FILE *f = fopen(part, "r");
    char text[8192];
    const size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    size_t cut = 0;
    for (int lines = 0; cut < len && lines < 4; cut++)
      if (text[cut] == '\n') lines++;
    CHECK(cut > 0 && cut + 20 < len && truncate(part, (off_t)(cut + 20)) == 0, "cutting %s", part);
  }
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", part, GEN_OPTS, "--sigma", "0.02", "--resume", NULL) != 0 &&
            strstr(gpd_last_error(), "sigma=0.01"),
        "resuming with other settings is refused: %s", gpd_last_error());
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", part, GEN_OPTS, "--resume", NULL) == 0, "resume: %s",
        gpd_last_error());
  CHECK(same_rows(part, full), "killed and resumed == uninterrupted (each image once)");

  /* a CSV of the layout before restart_iterations: read, never appended to */
  {
    char legacy[256];
    snprintf(legacy, sizeof legacy, "%s", check_tmp_path("legacy.csv"));
    write_text(legacy, GPD_EVAL_CSV_HEADER_V1 "\n000001.png,0,1000000000,0.01,1,test,ok,20.5,0.5,0.3,1,0.1,0.2,nan,"
                                              "1.5,\n");
    if (gpd_eval_csv_read(legacy, 0, &rows, NULL) == 0) {
      CHECK(rows.legacy && rows.n == 1 && rows.rows[0].psnr == 20.5 && rows.rows[0].seconds == 1.5 &&
                isnan(rows.rows[0].restart_iterations),
            "legacy row read");
      gpd_eval_rows_free(&rows);
    } else CHECK(0, "legacy CSV: %s", gpd_last_error());
    char json[300];
    snprintf(json, sizeof json, "%s.json", legacy);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s.json' '%s'", full, json);
    CHECK(system(cmd) == 0, "copying the manifest");
    CHECK(run(gpd_cmd_eval, "eval", faces, "-o", legacy, GEN_OPTS, "--resume", NULL) != 0 &&
              strstr(gpd_last_error(), "restart_iterations"),
          "resuming a legacy CSV is refused: %s", gpd_last_error());
    /* the layout before blurry_psnr / blurry_ssim (V2) */
    write_text(legacy, GPD_EVAL_CSV_HEADER_V2 "\n000001.png,0,1000000000,0.01,1,test,ok,20.5,0.5,0.3,1,0.1,0.2,nan,"
                                              "1.5,6,\n");
    if (gpd_eval_csv_read(legacy, 0, &rows, NULL) == 0) {
      CHECK(rows.legacy == 2 && rows.n == 1 && rows.rows[0].restart_iterations == 6 &&
                isnan(rows.rows[0].blurry_psnr) && isnan(rows.rows[0].blurry_ssim),
            "V2 row read");
      gpd_eval_rows_free(&rows);
    } else CHECK(0, "V2 CSV: %s", gpd_last_error());
    CHECK(run(gpd_cmd_eval, "eval", faces, "-o", legacy, GEN_OPTS, "--resume", NULL) != 0 &&
              strstr(gpd_last_error(), "blurry_psnr"),
          "resuming a V2 CSV is refused: %s", gpd_last_error());
  }

  /* two shards merged == the unsharded run */
  const char *s1 = check_tmp_path("s1.csv"), *s2 = check_tmp_path("s2.csv"), *merged = check_tmp_path("merged.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", s1, GEN_OPTS, "--shard", "1/2", NULL) == 0, "shard 1/2");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", s2, GEN_OPTS, "--shard", "2/2", NULL) == 0, "shard 2/2");
  if (gpd_eval_csv_read(s1, 0, &rows, NULL) == 0) {
    CHECK(rows.n == 4 && rows.rows[1].index == 2 && rows.rows[3].index == 6, "shard 1/2 holds indices 0, 2, 4, 6");
    gpd_eval_rows_free(&rows);
  }
  CHECK(run(gpd_cmd_eval_merge, "eval-merge", s2, s1, "-o", merged, NULL) == 0, "merge: %s", gpd_last_error());
  CHECK(same_rows(merged, full), "merged shards == unsharded");
  {
    /* the merged manifest names every input (their folder once) and,
     * where the inputs disagree (here the device), every value met */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "sed -i 's/\"device\": \"cpu\"/\"device\": \"cuda\"/' '%s.json'", s2);
    CHECK(system(cmd) == 0, "editing shard 2's manifest");
    CHECK(run(gpd_cmd_eval_merge, "eval-merge", s2, s1, "-o", merged, NULL) == 0, "merge: %s", gpd_last_error());
    gpd_eval_manifest m = {0};
    if (gpd_eval_manifest_read(merged, &m) == 0) {
      const char *from = gpd_eval_manifest_get(&m, "merged_from"), *device = gpd_eval_manifest_get(&m, "device");
      CHECK(from && strstr(from, ": s2.csv s1.csv") && !strstr(from, "more"), "merged_from: %s", from ? from : "none");
      CHECK(device && !strcmp(device, "cuda, cpu"), "merged device: %s", device ? device : "none");
      gpd_eval_manifest_free(&m);
    } else CHECK(0, "merged manifest: %s", gpd_last_error());
    /* inputs whose names do not fit in one value: said, never cut silently */
    char longname[200];
    memset(longname, 'x', 150);
    snprintf(longname + 150, sizeof longname - 150, "_1.csv");
    const char *l1 = check_tmp_path(longname);
    longname[151] = '2';
    const char *l2 = check_tmp_path(longname);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s.json' '%s.json' && cp '%s' '%s' && cp '%s.json' '%s.json'", s1,
             l1, s1, l1, s2, l2, s2, l2);
    CHECK(system(cmd) == 0, "copying the shards");
    CHECK(run(gpd_cmd_eval_merge, "eval-merge", l1, l2, "-o", merged, NULL) == 0, "merge: %s", gpd_last_error());
    if (gpd_eval_manifest_read(merged, &m) == 0) {
      const char *from = gpd_eval_manifest_get(&m, "merged_from");
      CHECK(from && strstr(from, "xx_1.csv ... and 1 more"), "long merged_from: %s", from ? from : "none");
      gpd_eval_manifest_free(&m);
    } else CHECK(0, "merged manifest: %s", gpd_last_error());
    /* a folder longer than a manifest value is not named once (it would not fit) */
    memset(longname, 'd', 190);
    longname[190] = '\0';
    const char *ldir = check_tmp_path(longname);
    CHECK(mkdir(ldir, 0777) == 0, "making %s", ldir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'* '%s'* '%s/'", l1, l1, l2, ldir);
    CHECK(system(cmd) == 0, "copying the shards");
    char in1[600], in2[600], out[600];
    snprintf(in1, sizeof in1, "%s/%s", ldir, strrchr(l1, '/') + 1);
    snprintf(in2, sizeof in2, "%s/%s", ldir, strrchr(l2, '/') + 1);
    snprintf(out, sizeof out, "%s/m.csv", ldir);
    CHECK(run(gpd_cmd_eval_merge, "eval-merge", in1, in2, "-o", out, NULL) == 0, "merge: %s", gpd_last_error());
    if (gpd_eval_manifest_read(out, &m) == 0) {
      const char *from = gpd_eval_manifest_get(&m, "merged_from");
      CHECK(from && !strcmp(from, "... and 2 more"), "merged_from in a long folder: %s", from ? from : "none");
      gpd_eval_manifest_free(&m);
    } else CHECK(0, "merged manifest: %s", gpd_last_error());
  }

  /* overlapping, missing and mismatched shards are refused */
  const char *s1b = check_tmp_path("s1b.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", s1b, GEN_OPTS, "--shard", "1/2", NULL) == 0, "shard 1/2 again");
  CHECK(run(gpd_cmd_eval_merge, "eval-merge", s1, s1b, s2, "-o", check_tmp_path("bad.csv"), NULL) != 0 &&
            strstr(gpd_last_error(), "overlapping"),
        "overlap refused: %s", gpd_last_error());
  CHECK(run(gpd_cmd_eval_merge, "eval-merge", s1, "-o", check_tmp_path("bad.csv"), NULL) != 0 &&
            strstr(gpd_last_error(), "3 of the 7") && strstr(gpd_last_error(), "shard 2/2"),
        "missing shard refused: %s", gpd_last_error());
  CHECK(size_of(check_tmp_path("bad.csv")) < 0, "a refused merge writes nothing");
  const char *s2x = check_tmp_path("s2x.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", s2x, GEN_OPTS, "--shard", "2/2", "--noise-seed", "9", NULL) == 0,
        "shard 2/2 with other noise");
  CHECK(run(gpd_cmd_eval_merge, "eval-merge", s1, s2x, "-o", check_tmp_path("bad.csv"), NULL) != 0 &&
            strstr(gpd_last_error(), "noise_seed"),
        "different settings refused: %s", gpd_last_error());

  /* every restart diverging is a row, not a failure */
  const char *dv = check_tmp_path("diverged.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", dv, "--image-gen", gen, "--blur-gen", blur, "--device", "cpu",
            "--crop-resize", "30:32", "-r", "2", "-n", "3", "--lr", "1e9", "--limit", "2", NULL) == 0,
        "diverging run: %s", gpd_last_error());
  if (gpd_eval_csv_read(dv, 0, &rows, NULL) == 0) {
    gpd_eval_summary s;
    gpd_eval_summarize(rows.rows, rows.n, &s);
    CHECK(s.rows == 2 && s.diverged == 2 && strstr(rows.rows[0].note, "diverged"), "2 diverged rows, got %ld",
          s.diverged);
    gpd_eval_rows_free(&rows);
  }

  /* the range target: i_range first, then deblurred and compared with it */
  const char *rg = check_tmp_path("range.csv");
  CHECK(run(gpd_cmd_eval, "eval", faces, "-o", rg, GEN_OPTS, "--range", "--range-steps", "3", "--range-restarts", "2",
            "--limit", "2", NULL) == 0,
        "range: %s", gpd_last_error());
  if (gpd_eval_csv_read(rg, 0, &rows, NULL) == 0) {
    CHECK(rows.n == 2 && !strcmp(rows.rows[0].target, "range") && isfinite(rows.rows[0].range_psnr),
          "range rows carry the range PSNR");
    gpd_eval_rows_free(&rows);
  }
  CHECK(run(gpd_cmd_eval, "eval", "--summarize", full, rg, "--report", check_tmp_path("table.md"), NULL) == 0,
        "summarize: %s", gpd_last_error());
  CHECK(file_contains(check_tmp_path("table.md"), "| î1 (Algorithm 1) |") &&
            file_contains(check_tmp_path("table.md"), "| îrange (Algorithm 1 on i_range) |"),
        "Table V rows for î1 and îrange");

  /* a restarts sweep: one CSV per value, sweep.csv with their summaries */
  CHECK(run(gpd_cmd_sweep, "sweep", faces, "--param", "restarts", "--values", "1,2", "--out-dir",
            check_tmp_path("sweep"), "--image-gen", gen, "--blur-gen", blur, "--device", "cpu", "--crop-resize",
            "30:32", "-n", "3", "--lr", "1e-5", "--seed", "5", "--limit", "3", NULL) == 0,
        "sweep: %s", gpd_last_error());
  CHECK(file_contains(check_tmp_path("sweep/sweep.csv"), "\nrestarts,1,1,î1 (Algorithm 1),faces,3,3,0,0,") &&
            file_contains(check_tmp_path("sweep/sweep.csv"), "\nrestarts,2,2,î1 (Algorithm 1),faces,3,3,0,0,"),
        "sweep.csv rows");
  /* restarts 2 of the sweep is the main run's first 3 images */
  if (gpd_eval_csv_read(check_tmp_path("sweep/restarts_2.csv"), 0, &rows, NULL) == 0) {
    gpd_eval_rows ref;
    if (gpd_eval_csv_read(full, 0, &ref, NULL) == 0) {
      for (int i = 0; i < 3 && rows.n == 3; i++)
        CHECK(close_enough(rows.rows[i].psnr, ref.rows[i].psnr), "sweep value restarts=2, image %d: %.9g vs %.9g", i,
              rows.rows[i].psnr, ref.rows[i].psnr);
      gpd_eval_rows_free(&ref);
    }
    gpd_eval_rows_free(&rows);
  }

  /* a step-budget sweep with the halving schedule: 4 restarts, points at
   * 1/4 and 1/2 of 8 steps spend 4 x 2 + 2 x 2 + 1 x 4 = 16 restart-iterations */
  CHECK(run(gpd_cmd_sweep, "sweep", faces, "--param", "steps", "--values", "8", "--out-dir", check_tmp_path("budget"),
            "--image-gen", gen, "--blur-gen", blur, "--device", "cpu", "--crop-resize", "30:32", "-r", "4", "--lr",
            "1e-5", "--limit", "2", "--schedule", "halving", "--halving-at", "0.25,0.5", NULL) == 0,
        "steps sweep: %s", gpd_last_error());
  CHECK(file_contains(check_tmp_path("budget/sweep.csv"), ",restart_iterations_mean,blurry_psnr_mean,") &&
            file_contains(check_tmp_path("budget/sweep.csv"), ",16,"),
        "sweep.csv has restart_iterations_mean 16");
  CHECK(file_contains(check_tmp_path("budget/steps_8.csv.json"), "halving:0.25,0.5"),
        "the manifest records the schedule");
}

int main(void) {
  check_tmp_make("test_eval");
  E = gpd_engine_create("cpu", GPD_PRECISION_FP32);
  if (!E) {
    fprintf(stderr, "no CPU engine: %s\n", gpd_last_error());
    return 1;
  }
  test_stats();
  test_rows();
  test_selection();
  test_kernels();
  test_end_to_end();
  gpd_engine_destroy(E);
  check_tmp_remove();
  return check_report("test_eval");
}
