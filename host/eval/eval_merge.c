/* Merging shard CSVs into one (gpd/eval.h): same settings and selection,
 * no image twice, none missing; rows in index order. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpd/common.h"
#include "gpd/repo_path.h"
#include "gpd/eval.h"

typedef struct shard_input {
  const char *path;
  gpd_eval_manifest m;
  gpd_eval_rows rows;
} shard_input;

/* The message for images in no input: which inputs stopped short, which
 * shards were not given, and the first few names. */
static int missing_error(const shard_input *in, int n, const int *owner, long count, long missing) {
  char names[512] = "";
  size_t len = 0;
  int shown = 0;
  long *short_by = calloc((size_t)n, sizeof(long));
  long orphans = 0;
  for (long i = 0; i < count; i++) {
    if (owner[i] >= 0) continue;
    if (shown < 5) {
      int w = snprintf(names + len, sizeof names - len, "%s%s", shown ? ", " : "", in[0].m.files[i]);
      if (w > 0 && (size_t)w < sizeof names - len) len += (size_t)w;
      shown++;
    }
    int j = 0;
    while (j < n && !gpd_eval_in_shard(i, in[j].m.shard_k, in[j].m.shard_n)) j++;
    if (j < n) {
      if (short_by) short_by[j]++;
    } else orphans++;
  }
  char why[1024] = "";
  len = 0;
  for (int j = 0; short_by && j < n; j++)
    if (short_by[j]) {
      int w = snprintf(why + len, sizeof why - len, "; %s (shard %d/%d) lacks %ld of its images (resume it to finish)",
                       in[j].path, in[j].m.shard_k, in[j].m.shard_n, short_by[j]);
      if (w > 0 && (size_t)w < sizeof why - len) len += (size_t)w;
    }
  if (orphans) {
    /* with one shard count N everywhere, name the shards not given */
    int N = in[0].m.shard_n, same = 1;
    for (int j = 1; j < n; j++) same = same && in[j].m.shard_n == N;
    int w = snprintf(why + len, sizeof why - len, "; %ld belong to no input's shard", orphans);
    if (w > 0 && (size_t)w < sizeof why - len) len += (size_t)w;
    if (same && N > 1) {
      w = snprintf(why + len, sizeof why - len, " (not given: shard");
      if (w > 0 && (size_t)w < sizeof why - len) len += (size_t)w;
      for (int k = 1; k <= N; k++) {
        int given = 0;
        for (int j = 0; j < n; j++) given = given || in[j].m.shard_k == k;
        if (given) continue;
        w = snprintf(why + len, sizeof why - len, " %d/%d", k, N);
        if (w > 0 && (size_t)w < sizeof why - len) len += (size_t)w;
      }
      w = snprintf(why + len, sizeof why - len, ")");
      if (w > 0 && (size_t)w < sizeof why - len) len += (size_t)w;
    }
  }
  free(short_by);
  return gpd_error("%ld of the %ld selected images are in no input (%s%s)%s", missing, count, names,
                   missing > shown ? ", ..." : "", why);
}

/* items joined by sep into out (a manifest value); when they do not all
 * fit, as many as do and then "... and K more", never a silent cut. */
static void join_fitted(const char *const *items, int n, const char *sep, char *out, size_t size) {
  char more[40];
  size_t len = 0;
  out[0] = '\0';
  for (int j = 0; j < n; j++) {
    /* room for this item and, unless it is the last, the tail that says how many follow */
    snprintf(more, sizeof more, "%s... and %d more", j ? sep : "", n - j);
    size_t need = (j ? strlen(sep) : 0) + strlen(items[j]) + (j + 1 < n ? strlen(more) + 8 : 0);
    if (len + need >= size) {
      snprintf(out + len, size - len, "%s", more);
      return;
    }
    len += (size_t)snprintf(out + len, size - len, "%s%s", j ? sep : "", items[j]);
  }
}

/* The merged manifest's info: the first input's, with "merged_from" (the
 * inputs relative to the repository: their folder once when they share
 * one) and, for each entry the inputs disagree on (the build that wrote
 * each shard, the device), every value met rather than the first. */
static int merged_info(gpd_eval_manifest *m, const shard_input *in, int n) {
  const size_t value_size = sizeof m->info[0].value;
  char(*rel)[1024] = gpd_malloc(sizeof *rel * (size_t)n, "merge paths");
  const char **items = gpd_malloc(sizeof *items * (size_t)n, "merge paths");
  char *value = gpd_malloc(value_size, "merge info");
  int rc = rel && items && value ? 0 : -1;
  for (int j = 0; !rc && j < n; j++) gpd_repo_relative(in[j].path, rel[j], sizeof rel[j]);
  /* the folder all inputs share ("" when they do not) */
  const char *slash = rc ? NULL : strrchr(rel[0], '/');
  size_t dir = slash ? (size_t)(slash - rel[0]) + 1 : 0;
  if (dir < 2 || dir + 48 > value_size) dir = 0; /* named once only where it leaves room for names */
  for (int j = 1; !rc && dir && j < n; j++)
    if (strncmp(rel[j], rel[0], dir) || strchr(rel[j] + dir, '/')) dir = 0;
  for (int j = 0; !rc && j < n; j++) items[j] = rel[j] + dir;
  if (!rc) {
    char *tail = value;
    if (dir) tail += snprintf(value, value_size, "%.*s: ", (int)(dir - 1), rel[0]);
    join_fitted(items, n, " ", tail, value_size - (size_t)(tail - value));
    rc = gpd_eval_manifest_info(m, "merged_from", "%s", value);
  }
  for (int i = 0; !rc && i < m->n_info; i++) {
    char key[sizeof m->info[i].key]; /* a copy: setting the entry rewrites m->info[i].key */
    snprintf(key, sizeof key, "%s", m->info[i].key);
    if (!strcmp(key, "merged_from")) continue;
    int distinct = 0;
    for (int j = 0; j < n; j++) {
      const char *v = gpd_eval_manifest_get(&in[j].m, key);
      if (!v) v = "(none)";
      int seen = 0;
      for (int d = 0; d < distinct; d++) seen = seen || !strcmp(items[d], v);
      if (!seen) items[distinct++] = v;
    }
    if (distinct > 1) {
      join_fitted(items, distinct, ", ", value, value_size);
      rc = gpd_eval_manifest_info(m, key, "%s", value);
    }
  }
  free(rel);
  free(items);
  free(value);
  return rc;
}

static int write_merged(const char *output, const shard_input *in, int n, const int *owner, const long *row_of,
                        long count) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", output, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return gpd_error("cannot write %s: %s", tmp, strerror(errno));
  int rc = fprintf(f, "%s\n", GPD_EVAL_CSV_HEADER) < 0 ? -1 : 0;
  char line[4096];
  for (long i = 0; !rc && i < count; i++) {
    const gpd_eval_row *r = &in[owner[i]].rows.rows[row_of[i]];
    if (gpd_eval_row_format(r, line, sizeof line) != 0) rc = -1;
    else if (fputs(line, f) < 0) rc = gpd_error("cannot write %s: %s", tmp, strerror(errno));
  }
  if (!rc && (fflush(f) != 0 || fsync(fileno(f)) != 0)) rc = gpd_error("cannot write %s: %s", tmp, strerror(errno));
  if (fclose(f) != 0 && !rc) rc = gpd_error("cannot write %s: %s", tmp, strerror(errno));
  if (!rc) {
    /* the manifest first: a CSV is never without one */
    gpd_eval_manifest m = in[0].m;
    m.shard_k = m.shard_n = 1;
    rc = merged_info(&m, in, n);
    if (!rc) rc = gpd_eval_manifest_write(output, &m);
  }
  if (!rc && rename(tmp, output) != 0) rc = gpd_error("cannot rename %s to %s: %s", tmp, output, strerror(errno));
  if (rc) remove(tmp);
  return rc;
}

int gpd_eval_merge(const char *const *inputs, int n, const char *output, long *rows_written) {
  if (n < 1) return gpd_error("nothing to merge: no input CSVs");
  shard_input *in = gpd_calloc((size_t)n, sizeof *in, "merge inputs");
  if (!in) return -1;
  int rc = 0;
  int *owner = NULL;
  long *row_of = NULL;
  for (int j = 0; !rc && j < n; j++) {
    in[j].path = inputs[j];
    for (int i = 0; i < j; i++)
      if (!strcmp(inputs[i], inputs[j])) rc = gpd_error("%s is given twice", inputs[j]);
    if (!rc) rc = gpd_eval_manifest_read(inputs[j], &in[j].m);
    if (!rc) rc = gpd_eval_csv_read(inputs[j], 0, &in[j].rows, NULL);
    if (!rc && j > 0) rc = gpd_eval_manifest_compare(&in[0].m, inputs[0], &in[j].m, inputs[j]);
  }
  const long count = rc ? 0 : in[0].m.count;
  if (!rc) {
    owner = gpd_malloc(sizeof(int) * (size_t)(count ? count : 1), "merge table");
    row_of = gpd_malloc(sizeof(long) * (size_t)(count ? count : 1), "merge table");
    if (!owner || !row_of) rc = -1;
  }
  for (long i = 0; !rc && i < count; i++) owner[i] = -1;
  for (int j = 0; !rc && j < n; j++)
    for (long r = 0; !rc && r < in[j].rows.n; r++) {
      const gpd_eval_row *row = &in[j].rows.rows[r];
      long i = row->index;
      if (i < 0 || i >= count || strcmp(in[0].m.files[i], row->file))
        rc = gpd_error("%s line %ld: %s (index %ld) is not in the selection its manifest declares", in[j].path, r + 2,
                       row->file, i);
      else if (owner[i] == j)
        rc = gpd_error("%s holds %s twice", in[j].path, row->file);
      else if (owner[i] >= 0)
        rc = gpd_error("%s is in both %s (shard %d/%d) and %s (shard %d/%d): overlapping shards", row->file,
                       in[owner[i]].path, in[owner[i]].m.shard_k, in[owner[i]].m.shard_n, in[j].path, in[j].m.shard_k,
                       in[j].m.shard_n);
      else {
        owner[i] = j;
        row_of[i] = r;
      }
    }
  if (!rc) {
    long missing = 0;
    for (long i = 0; i < count; i++) missing += owner[i] < 0;
    if (missing) rc = missing_error(in, n, owner, count, missing);
  }
  if (!rc) rc = write_merged(output, in, n, owner, row_of, count);
  if (!rc && rows_written) *rows_written = count;
  for (int j = 0; j < n; j++) {
    gpd_eval_manifest_free(&in[j].m);
    gpd_eval_rows_free(&in[j].rows);
  }
  free(in);
  free(owner);
  free(row_of);
  return rc;
}
