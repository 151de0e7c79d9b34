/* Error recording and small host helpers (see gpd/common.h). */
#define _POSIX_C_SOURCE 200809L
#include "gpd/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Thread_local char last_error[1024];

int gpd_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return -1;
}

const char *gpd_last_error(void) { return last_error; }
void gpd_clear_error(void) { last_error[0] = 0; }

void *gpd_malloc(size_t bytes, const char *what) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) gpd_error("out of host memory (%zu bytes for %s)", bytes, what);
  return p;
}

void *gpd_calloc(size_t count, size_t size, const char *what) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) gpd_error("out of host memory (%zu bytes for %s)", count * size, what);
  return p;
}

double gpd_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
