/* Error recording and small host helpers (see gpd/common.h). */
#define _POSIX_C_SOURCE 200809L
#include "gpd/common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static _Thread_local char last_error[1024];

int gpd_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  /* one line whatever a file name or a quoted byte holds */
  for (char *c = last_error; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
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

/* A pipe or a device, read to its end (at most max_bytes). */
static char *read_stream(FILE *f, const char *path, const char *what, size_t max_bytes, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = gpd_malloc(cap + 1, what);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    if (cap > max_bytes) {
      gpd_error("%s '%s' is more than the %zu bytes this program reads", what, path, max_bytes);
      free(buf);
      return NULL;
    }
    char *b = realloc(buf, 2 * cap + 1);
    if (!b) {
      gpd_error("out of host memory reading %s '%s'", what, path);
      free(buf);
      return NULL;
    }
    buf = b;
    cap *= 2;
  }
  if (buf && ferror(f)) {
    gpd_error("cannot read %s '%s': %s", what, path, strerror(errno));
    free(buf);
    return NULL;
  }
  if (buf && n > max_bytes) {
    gpd_error("%s '%s' is more than the %zu bytes this program reads", what, path, max_bytes);
    free(buf);
    return NULL;
  }
  if (buf) {
    buf[n] = 0;
    *len = n;
  }
  return buf;
}

char *gpd_read_file(const char *path, const char *what, size_t max_bytes, size_t *len) {
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    gpd_error("cannot open %s '%s': %s", what, path, strerror(errno));
    return NULL;
  }
  /* fstat, not a seek to the end: a folder opens, and ftell then says
   * LONG_MAX; a FIFO has no size at all */
  struct stat st;
  char *buf = NULL;
  if (fstat(fileno(f), &st) != 0) {
    gpd_error("cannot read %s '%s': %s", what, path, strerror(errno));
  } else if (S_ISDIR(st.st_mode)) {
    gpd_error("%s '%s' is a directory, not a file", what, path);
  } else if (!S_ISREG(st.st_mode)) {
    buf = read_stream(f, path, what, max_bytes, len); /* a pipe: no size until its end */
  } else if ((unsigned long long)st.st_size > (unsigned long long)max_bytes) {
    gpd_error("%s '%s' is %lld bytes, more than the %zu this program reads", what, path, (long long)st.st_size,
              max_bytes);
  } else {
    size_t size = (size_t)st.st_size;
    buf = gpd_malloc(size + 1, what);
    if (buf && fread(buf, 1, size, f) != size) {
      gpd_error("cannot read %s '%s': %s", what, path, ferror(f) ? strerror(errno) : "it shrank while being read");
      free(buf);
      buf = NULL;
    }
    if (buf) {
      buf[size] = 0;
      *len = size;
    }
  }
  fclose(f);
  return buf;
}

/* ---- the kill-point test hook -------------------------------------------------------- */

static long kill_at = -1; /* -1: not read yet; 0: off */
static long kill_count;
static int kill_trace;

static void kill_points_init(void) {
  if (kill_at >= 0) return;
  const char *at = getenv("GPD_TEST_KILL_AT"), *trace = getenv("GPD_TEST_KILL_TRACE");
  kill_at = at ? strtol(at, NULL, 10) : 0;
  if (kill_at < 0) kill_at = 0;
  kill_trace = trace && atoi(trace) != 0;
}

int gpd_kill_points_armed(void) {
  kill_points_init();
  return kill_at > 0 || kill_trace;
}

void gpd_kill_point(const char *where) {
  kill_points_init();
  if (!kill_at && !kill_trace) return;
  kill_count++;
  if (kill_trace) fprintf(stderr, "kill point %ld: %s\n", kill_count, where);
  if (kill_count == kill_at) raise(SIGKILL);
}

double gpd_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t gpd_fnv1a64(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}
