/* Fuzz target: any bytes as an eval results CSV (what --resume,
 * --summarize and eval-merge read): the parser, the summary of what it
 * accepts, and formatting being a fixed point (a row written, read back and
 * written again is the same line). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gpd_eval_rows rows;
  size_t keep;
  if (gpd_eval_csv_parse("fuzz.csv", (const char *)data, size, &rows, &keep) != 0) return 0;
  if (keep > size) abort();
  gpd_eval_summary sum;
  gpd_eval_summarize(rows.rows, rows.n, &sum);
  if (sum.rows != rows.n) abort();
  for (long i = 0; i < rows.n; i++) {
    char a[4096], b[4096];
    gpd_eval_row again;
    if (gpd_eval_row_format(&rows.rows[i], a, sizeof a) != 0) continue; /* too long to write: an error, not a crash */
    a[strcspn(a, "\n")] = 0;
    if (gpd_eval_row_parse(a, &again) != 0 || gpd_eval_row_format(&again, b, sizeof b) != 0) abort();
    b[strcspn(b, "\n")] = 0;
    if (strcmp(a, b)) abort();
  }
  gpd_eval_rows_free(&rows);
  return 0;
}
