/* Evaluation at scale (the paper's Section V): which test images, which test
 * kernels, the per-image pipeline (crop / resize, blur, noise, deblur,
 * metrics), results appended one CSV row per image and made durable at
 * once, resuming, shards and their merge, summaries with confidence
 * intervals and the Markdown table in the layout of the paper's Table V.
 *
 * Durability: every row is written with one fwrite, then fflush and fsync,
 * so a run killed at any moment loses at most the batch of images in
 * flight and, at worst, leaves a partial last line, which reading with
 * truncate_partial cuts off. Beside results.csv, results.csv.json (the manifest) holds the
 * full selection of image names, the shard and every setting that changes
 * the numbers, so --resume refuses a CSV made with other settings and a
 * merge names the images no shard evaluated.
 *
 * Library code never prints: skipped images and progress reach the caller
 * through gpd_eval_hooks. */
#ifndef GPD_EVAL_H
#define GPD_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "gpd/image.h"
#include "gpd/solve.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Test kernels come from motion-kernel seeds at and above this one by
 * default; training draws its kernels from seeds below it. */
#define GPD_EVAL_KERNEL_SEED0 1000000000ull
/* Kernel error (gpd_kernel_error) allows the estimate this much integer
 * shift on the synthetic sets (a blind method finds k up to a shift). */
#define GPD_EVAL_KERNEL_SHIFT 4

/* ---- the selection of test items --------------------------------------------- */

typedef struct gpd_eval_item {
  char *name;   /* the key in the CSV: the file name in the folder (Levin: the capture's) */
  char *path;   /* the sharp image (Levin: the blurry capture) */
  char *truth;  /* Levin: the sharp image; NULL otherwise */
  char *kernel; /* Levin: the measured kernel; NULL otherwise */
  long index;   /* position in the full selection: kernel, noise and solver seed derive from it */
} gpd_eval_item;

typedef struct gpd_eval_list {
  long n;
  gpd_eval_item *items;
} gpd_eval_list;

typedef struct gpd_eval_selection {
  const char *dir;
  int levin;        /* dir is the Levin benchmark: gt/imN.png, blurred/imN_kernelM_img.png, kernels/kernelM.txt */
  int partition;    /* the split kept when dir has CelebA's list_eval_partition.txt (2 = test) */
  long first, last; /* keep files whose name is a number in [first, last] ("008001.jpg" is 8001); first < 0: all */
  long limit;       /* keep the first `limit` of what is left (0: all) */
} gpd_eval_selection;

/* The full selection, sorted by name (strcmp): the image files (.png .jpg
 * .jpeg .bmp .ppm .pgm .pnm .tga .gif, any case) directly in dir, or the
 * names the partition file lists for the split; then the numeric range and
 * the limit. Files are not opened here: an unreadable one is skipped (and
 * recorded) when it is evaluated. Error when nothing is selected. */
int gpd_eval_select(const gpd_eval_selection *s, gpd_eval_list *out);
void gpd_eval_list_free(gpd_eval_list *l);

/* Shards: shard K of N (1-based, "K/N") holds the items whose index in the
 * full selection satisfies index % N == K - 1. */
int gpd_eval_in_shard(long index, int k, int n);
int gpd_eval_parse_shard(const char *text, int *k, int *n);
/* "A:B" -> [A, B] (inclusive, 0 <= A <= B). `opt` names the option in errors. */
int gpd_eval_parse_range(const char *opt, const char *text, long *a, long *b);

/* ---- test kernels ------------------------------------------------------------ */

typedef struct gpd_eval_kernels {
  /* settings */
  const char *dir;       /* a folder of kernel files (.kernel, text rows, images): item i gets file i mod n,
                          * sorted by name; NULL: motion kernels from seeds */
  uint64_t seed0;        /* first seed (GPD_EVAL_KERNEL_SEED0) */
  int len_min, len_max;  /* the generator's length range (5, 28: the paper's) */
  int bucket_min, bucket_max; /* keep only seeds whose drawn length is in [bucket_min, bucket_max]; 0 0: all */
  int ksize;             /* canvas of seed kernels, and of every kernel as blurred (28) */
  /* filled by gpd_eval_kernels_prepare */
  long n;                /* items covered */
  uint64_t *seeds;       /* seed mode: item i's seed, the i-th accepted seed from seed0 up */
  int n_files;
  char **files;          /* folder mode: sorted paths */
  uint64_t files_hash;   /* folder mode: FNV-1a of the names and contents */
} gpd_eval_kernels;

/* Fixes the kernel of items 0 .. count-1. Folder mode loads every file once
 * to check it (sum > 0, no larger than ksize). */
int gpd_eval_kernels_prepare(gpd_eval_kernels *k, long count);
void gpd_eval_kernels_free(gpd_eval_kernels *k);
/* Item `index`'s kernel centred on a ksize x ksize canvas (*kernel
 * malloc'd) and its id for the CSV (the seed, or the file name). */
int gpd_eval_kernel_get(const gpd_eval_kernels *k, long index, float **kernel, char *id, size_t id_size);
/* Copies a k x k kernel onto a K x K canvas, centre k/2 onto K/2 (k <= K). */
int gpd_eval_kernel_embed(const float *src, int k, float *dst, int K);

/* ---- rows of the results CSV -------------------------------------------------- */

#define GPD_EVAL_CSV_HEADER                                                                                      \
  "file,index,kernel,sigma,alg,target,status,psnr,ssim,kernel_error,chosen,measurement,total,range_psnr,seconds," \
  "restart_iterations,blurry_psnr,blurry_ssim,note"
/* Older layouts: still read (their missing columns are NaN), never
 * appended to (--resume refuses them). V2: before blurry_psnr / _ssim; V1:
 * before restart_iterations too. */
#define GPD_EVAL_CSV_HEADER_V2                                                                                   \
  "file,index,kernel,sigma,alg,target,status,psnr,ssim,kernel_error,chosen,measurement,total,range_psnr,seconds," \
  "restart_iterations,note"
#define GPD_EVAL_CSV_HEADER_V1                                                                                   \
  "file,index,kernel,sigma,alg,target,status,psnr,ssim,kernel_error,chosen,measurement,total,range_psnr,seconds," \
  "note"

typedef struct gpd_eval_row {
  char file[256];
  long index;
  char kernel[256];   /* seed or kernel file name */
  double sigma;       /* noise added (NaN: real captures) */
  char alg[8];        /* naive, 1, 2, 3 */
  char target[8];     /* test (the image itself) or range (its projection onto G_I's range) */
  char status[12];    /* ok, skipped (unreadable / unusable image), diverged (every restart) */
  double psnr, ssim;  /* of the deblurred image against the target (NaN unless ok) */
  double kernel_error;/* gpd_kernel_error of the estimate (NaN: naive, or not ok) */
  int chosen;         /* restart kept (-1 unless ok) */
  double measurement, total; /* the chosen restart's final losses */
  double range_psnr;  /* target range: PSNR of the range image to the test image */
  double seconds;     /* wall time of the item: its share of its batch's (the batch's / its images) */
  double restart_iterations; /* solver iterations summed over the restarts (deblurring only;
                              * NaN: not solved, or a CSV of the layout before it) */
  double blurry_psnr, blurry_ssim; /* the blurry input y against the target, measured as the
                                    * deblurred image is (the same window; shift-tolerant for
                                    * Levin's captures): what deblurring starts from (NaN unless
                                    * ok, or a CSV of a layout before them) */
  char note[256];     /* why it was skipped / diverged */
} gpd_eval_row;

/* A row with every number NaN, chosen -1 and status "ok". */
void gpd_eval_row_init(gpd_eval_row *r);
/* One CSV line with its '\n' (RFC 4180 quoting where a field needs it);
 * error when buf is too small. */
int gpd_eval_row_format(const gpd_eval_row *r, char *buf, size_t size);
/* Parses a line without its '\n'; errors say which field is wrong. */
int gpd_eval_row_parse(const char *line, gpd_eval_row *r);

typedef struct gpd_eval_rows {
  long n, cap;
  gpd_eval_row *rows;
  int legacy;         /* read from a CSV of an older layout: 1 (V1) or 2 (V2); 0: today's */
} gpd_eval_rows;
int gpd_eval_rows_push(gpd_eval_rows *rs, const gpd_eval_row *r);
void gpd_eval_rows_free(gpd_eval_rows *rs);

/* Reads a results CSV (header checked; older layouts are read too, with
 * out->legacy set). A last line
 * without '\n' (a write cut short by a kill) is ignored, and with
 * truncate_partial cut off the file so appending continues cleanly;
 * *dropped gets its length. Any other malformed line, a NUL byte, or an
 * image in two rows is an error naming the file and line. What --resume,
 * --summarize and eval-merge read. */
int gpd_eval_csv_read(const char *path, int truncate_partial, gpd_eval_rows *out, long *dropped);
/* The same checks on the file's bytes in memory; *keep gets the length up
 * to the last newline (what is read). */
int gpd_eval_csv_parse(const char *name, const char *bytes, size_t len, gpd_eval_rows *out, size_t *keep);
/* Appends one row: one write, fflush, fsync. */
int gpd_eval_csv_append(FILE *f, const char *path, const gpd_eval_row *r);

/* ---- the manifest beside the CSV (<csv>.json) ------------------------------- */

typedef struct gpd_eval_kv {
  char key[32];
  char value[224];
} gpd_eval_kv;

#define GPD_EVAL_MAX_SETTINGS 64
#define GPD_EVAL_MAX_INFO 16

typedef struct gpd_eval_manifest {
  int shard_k, shard_n;
  int n_settings;                                /* compared by resume and merge */
  gpd_eval_kv settings[GPD_EVAL_MAX_SETTINGS];
  int n_info;                                    /* for people: dataset, folder, device, files' paths */
  gpd_eval_kv info[GPD_EVAL_MAX_INFO];
  long count;
  char **files;                                  /* the full selection, in index order */
} gpd_eval_manifest;

/* Adds (or replaces) a setting / an info entry, printf-style. */
int gpd_eval_manifest_set(gpd_eval_manifest *m, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int gpd_eval_manifest_info(gpd_eval_manifest *m, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
const char *gpd_eval_manifest_get(const gpd_eval_manifest *m, const char *key); /* setting or info; NULL */
int gpd_eval_manifest_set_files(gpd_eval_manifest *m, const gpd_eval_list *full);
void gpd_eval_manifest_free(gpd_eval_manifest *m);
/* "<csv>.json" */
void gpd_eval_manifest_path(const char *csv, char *buf, size_t size);
/* Written atomically (temporary file, fsync, rename). */
int gpd_eval_manifest_write(const char *csv, const gpd_eval_manifest *m);
int gpd_eval_manifest_read(const char *csv, gpd_eval_manifest *m);
/* Same settings and the same selection? The error names the first
 * difference ("A.csv has sigma=0.01, B.csv has sigma=0.02"). The
 * "inputs" setting (the selected files' contents) is compared only when
 * both manifests have it: manifests written before it existed lack it. */
int gpd_eval_manifest_compare(const gpd_eval_manifest *a, const char *a_name, const gpd_eval_manifest *b,
                              const char *b_name);
/* FNV-1a 64 of a file's bytes (identifies the generators in the settings). */
int gpd_eval_hash_file(const char *path, uint64_t *hash);
/* FNV-1a 64 over the full selection's names and file contents (Levin: the
 * capture, its sharp image and its kernel), in index order: the "inputs"
 * setting, so that results are never resumed or merged across images that
 * changed under the same names (a rerendered set, another copy of a data
 * set). A file that cannot be read folds in a marker instead: it is
 * skipped, and recorded, when it is evaluated. */
uint64_t gpd_eval_hash_inputs(const gpd_eval_list *full);

/* ---- summaries and reports ---------------------------------------------------- */

typedef struct gpd_eval_stat {
  long n;      /* finite values */
  double mean;
  double std;  /* sample standard deviation (n - 1); NaN for n < 2 */
  double ci95; /* half-width of the 95% confidence interval of the mean: t(0.975, n-1) std / sqrt(n) */
} gpd_eval_stat;

typedef struct gpd_eval_summary {
  long rows, ok, skipped, diverged;
  gpd_eval_stat psnr, ssim, kernel_error, range_psnr, seconds, restart_iterations;
  gpd_eval_stat blurry_psnr, blurry_ssim; /* the blurry inputs' */
  gpd_eval_stat lift;                     /* psnr - blurry_psnr, per image */
} gpd_eval_summary;

/* Student's t quantile t(0.975, df), df >= 1 (NaN otherwise). */
double gpd_eval_t975(long df);
void gpd_eval_stat_of(const double *x, long n, gpd_eval_stat *s);
void gpd_eval_summarize(const gpd_eval_row *rows, long n, gpd_eval_summary *s);
/* PSNR of a minus PSNR of b, per image, over the images ok in both (rows
 * matched by file name): a sweep's gain over its first value. Paired, its
 * interval leaves out how much the images differ from each other, which
 * the interval of either mean holds. */
void gpd_eval_paired_psnr_gain(const gpd_eval_row *a, long na, const gpd_eval_row *b, long nb, gpd_eval_stat *s);

/* One evaluated set: a row of the report's table. */
typedef struct gpd_eval_report_entry {
  const char *method;  /* "î1 (Algorithm 1)", ... (gpd_eval_method_label) */
  const char *dataset; /* column group: "celeba", "levin", ... */
  const char *source;  /* the CSV it came from */
  const char *target;  /* "test" or "range" (NULL: test): which blurry inputs it started from */
  gpd_eval_summary summary;
} gpd_eval_report_entry;

/* "naive", "1", "2", "3", "range": the alg column. */
const char *gpd_eval_alg_name(gpd_algorithm a);
/* Table I's names: buf gets "î1 (Algorithm 1)", "î2 (Algorithm 2)",
 * "î3 (Algorithm 3)", "naive (eq. 4)", and for the range target
 * "îrange (Algorithm 1 on i_range)". */
void gpd_eval_method_label(const char *alg, const char *target, char *buf, size_t size);
/* Markdown: the Table V layout (methods as rows, then a "blurry input" row
 * from the test-target entries' blurry inputs; per dataset a PSNR and an
 * SSIM column of means), then the details (counts, std, 95% CI, the blurry
 * input's PSNR and the mean lift over it, kernel error, seconds) and the settings of the first entry's manifest when
 * given. */
int gpd_eval_report_markdown(FILE *f, const gpd_eval_report_entry *entries, int n, const gpd_eval_manifest *m);

/* ---- merging shards ------------------------------------------------------------ */

/* Combines shard CSVs (each with its manifest) into one, rows in index order,
 * with a manifest of shard 1/1. Refuses: different settings or selections;
 * an image in two inputs (overlapping shards); images of the selection in no
 * input (a missing shard, or a shard not run to the end), naming the first
 * few; rows outside the selection. Output written atomically. */
int gpd_eval_merge(const char *const *inputs, int n_inputs, const char *output, long *rows_written);

/* ---- the evaluation run ---------------------------------------------------------- */

typedef struct gpd_eval_hooks {
  void *ctx;
  /* an item recorded as skipped (unreadable image, ...), with the reason */
  void (*skipped)(void *ctx, const gpd_eval_item *item, const char *reason);
  /* before the first item: how many this run will evaluate */
  void (*start)(void *ctx, long todo);
  /* after each item's row is durable: done of todo in this run */
  void (*done)(void *ctx, const gpd_eval_row *row, long done, long todo);
  /* solver iterations of the batch in flight; images: how far the batch
   * is, in images (the images of the solve in flight times the fraction of
   * the batch's solves done: its range projection and its deblurring with
   * --range), for a rate and an ETA before its rows come */
  void (*step)(void *ctx, int step, int steps, double images);
} gpd_eval_hooks;

/* The most restarts (images x restarts) one batch of an evaluation holds
 * when the batch size is automatic: the authors' 80 images x 10 restarts. */
#define GPD_EVAL_MAX_BATCH_ITEMS 800

typedef struct gpd_eval_config {
  gpd_solve_options solve;      /* the algorithm; item i runs with seed solve.seed + i */
  int range;                    /* deblur the range image (î_range) instead of the test image */
  gpd_solve_options range_solve;/* its range projection (alg GPD_ALG_RANGE); seed + i too */
  const char *range_cache;      /* a folder keeping the range images between runs (a sweep
                                 * projects the same images for every value); NULL: none */
  int crop, size;               /* crop-resize recipe (0 0: images as they are) */
  float sigma;                  /* noise N(0, sigma^2) after blurring */
  uint64_t noise_seed;          /* item i's noise is drawn from noise_seed + i */
  gpd_eval_kernels *kernels;    /* prepared for the full selection (unused by Levin) */
  int levin;                    /* items are Levin captures: no synthetic blur, shift-tolerant metrics */
  int shard_k, shard_n;         /* 1 1: everything */
  const char *csv;              /* results CSV (manifest beside it) */
  int resume;                   /* continue an existing CSV, skipping its images */
  int overwrite;                /* start an existing CSV again */
  long stop_after;              /* stop after this many items of this run (0: none) */
  int batch_images;             /* images per solve: their restarts run as one batch
                                 * (gpd_solve_batch); 0: as many as the memory plan
                                 * fits in one batch, up to GPD_EVAL_MAX_BATCH_ITEMS
                                 * restarts (Alg 3: 1, it runs restarts one by one) */
  int grid_count;               /* keep example rows of the first grid_count ok items */
  /* for the manifest */
  const char *image_gen, *blur_gen; /* weights files (hashed into the settings); NULL: none */
  gpd_precision precision;      /* the engine's generator math (a setting: it changes the numbers on CUDA) */
  const char *dataset, *device, *dir;
} gpd_eval_config;

typedef struct gpd_eval_outcome {
  gpd_eval_rows rows;  /* every row of the CSV after the run, in file order */
  long resumed;        /* rows found in the CSV before the run */
  long dropped;        /* bytes of a partial last line cut off */
  long todo, done;     /* items of this run: to evaluate, evaluated */
  long range_cached, range_projected; /* --range-cache: range images read from it, projected and added */
  int stopped;         /* stop_after was reached */
  int batch_images;    /* images per solve this run used */
  int grid_rows;
  gpd_image grid[64];  /* sharp | blurry | deblurred | true kernel | estimate, one per example */
} gpd_eval_outcome;

/* The manifest of a run: settings from c (and the generators' hashes),
 * the selection and the shard. */
int gpd_eval_manifest_of(const gpd_eval_config *c, const gpd_eval_list *full, gpd_eval_manifest *m);

/* Evaluates the items of the shard not yet in the CSV in batches of
 * images (c->batch_images) whose restarts run as one batch
 * (gpd_solve_batch; images x restarts); each image's row is appended and
 * synced when its batch finishes, in index order, so a kill loses at most
 * the batch in flight and --resume never writes a row twice.
 * gi: image generator (NULL for Algorithm 3); gk: blur generator (NULL for
 * naive). Skipped images and diverged solves are rows, never failures; a
 * solver error of any other kind (engine, sizes) stops the run with -1,
 * naming the item, and the rows so far stay in the CSV. */
int gpd_eval_run(gpd_engine *e, gpd_net *gi, gpd_net *gk, const gpd_eval_config *c, const gpd_eval_list *full,
                 const gpd_eval_hooks *hooks, gpd_eval_outcome *out);
void gpd_eval_outcome_free(gpd_eval_outcome *out);
/* The example rows stacked vertically (white gaps of `pad`). */
int gpd_eval_grid(const gpd_eval_outcome *out, int pad, gpd_image *dst);

#ifdef __cplusplus
}
#endif
#endif
