/* A training setting's history over resumes, kept in checkpoints and written
 * into the shipped weights: "0.3 from step 9902, 1 from step 13520". A run
 * may resume under another precision (a CPU run finished on a GPU) or, when
 * told, another reconstruction weight (a schedule); the weights must say
 * what made them, not what the last export ran with. Values hold no spaces;
 * segments are "VALUE from step N" or, for a checkpoint older than the
 * history, "VALUE before step N". */
#include <stdio.h>
#include <string.h>

#include "gpd/common.h"
#include "train_internal.h"

/* The last segment's value ("" when the history is empty). */
static void last_value(const char *history, char *out, size_t size) {
  const char *seg = history, *p;
  while ((p = strstr(seg, ", "))) seg = p + 2;
  size_t n = strcspn(seg, " ");
  if (n >= size) n = size - 1;
  memcpy(out, seg, n);
  out[n] = '\0';
}

int gpd_train_history_note(char *history, size_t size, const char *value, long step) {
  char last[64];
  last_value(history, last, sizeof last);
  if (!strcmp(last, value)) return 0;
  size_t used = strlen(history);
  int n = snprintf(history + used, size - used, "%s%s from step %ld", used ? ", " : "", value, step);
  if (n < 0 || (size_t)n >= size - used) {
    history[used] = '\0';
    return gpd_error("training history: no room to note '%s' at step %ld after '%s'", value, step, history);
  }
  return 0;
}

void gpd_train_history_summary(const char *history, char *out, size_t size) {
  char last[64];
  last_value(history, last, sizeof last);
  /* one value all along: just the value */
  char whole[96];
  snprintf(whole, sizeof whole, "%s from step 0", last);
  snprintf(out, size, "%s", strcmp(history, whole) ? history : last);
}
