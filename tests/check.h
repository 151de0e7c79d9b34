/* A tiny test harness: CHECK macros that count failures and print the first
 * few, tolerance comparisons of the form atol + rtol*|ref| that stop after
 * ten mismatches, helpers to find fixtures and shared data, and a
 * temporary folder for the files a test writes. */
#ifndef GPD_TESTS_CHECK_H
#define GPD_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

/* Calls that return 0 on success (gpdeblur library calls). */
#define CHECK_OK(call)                                                         \
  do {                                                                         \
    if ((call) != 0) {                                                         \
      check_failures++;                                                        \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,     \
              gpd_last_error());                                               \
    }                                                                          \
  } while (0)

/* Compares got against ref elementwise; NaN never passes. Returns the number
 * of mismatches and prints the first ten. */
static inline int check_close(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol) {
  int bad = 0;
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double g = got[i], r = ref[i], err = fabs(g - r);
    double tol = atol + rtol * fabs(r);
    if (!(err <= tol)) {
      if (bad < 10) fprintf(stderr, "  %s[%zu]: got %.8g, expected %.8g (|diff| %.3g > tol %.3g)\n", what, i, g, r, err, tol);
      bad++;
    }
    if (err > worst) worst = err;
  }
  if (bad) {
    fprintf(stderr, "%s: %d of %zu values mismatch (worst |diff| %.3g)\n", what, bad, n, worst);
    check_failures++;
  }
  return bad;
}

/* ../shared/data relative to the source tree (GPD_SOURCE_DIR); NULL when
 * absent, so tests that need it can skip with a message. */
static inline const char *shared_data_dir(void) {
  static char buf[1024];
  const char *src = getenv("GPD_SOURCE_DIR");
  const char *env = getenv("GPD_SHARED_DATA");
  if (env) snprintf(buf, sizeof buf, "%s", env);
  else snprintf(buf, sizeof buf, "%s/../shared/data", src ? src : "..");
  FILE *f;
  char probe[1100];
  snprintf(probe, sizeof probe, "%s/README.md", buf);
  if (!(f = fopen(probe, "r"))) return NULL;
  fclose(f);
  return buf;
}

static inline const char *source_path(const char *rel) {
  static char buf[4][1024];
  static int slot = 0;
  const char *src = getenv("GPD_SOURCE_DIR");
  char *b = buf[slot++ & 3];
  snprintf(b, 1024, "%s/%s", src ? src : "..", rel);
  return b;
}

/* ---- a temporary folder for the test's files ---------------------------------- */

static char check_tmp[256]; /* the folder, after check_tmp_make */
static char *check_tmp_kept[1024];
static int check_tmp_n = 0;

/* Makes a fresh folder /tmp/gpd_<name>_XXXXXX; exits 1 when it cannot. */
static inline const char *check_tmp_make(const char *name) {
  snprintf(check_tmp, sizeof check_tmp, "/tmp/gpd_%s_XXXXXX", name);
  if (!mkdtemp(check_tmp)) {
    fprintf(stderr, "%s: cannot make a temporary folder\n", name);
    exit(1);
  }
  return check_tmp;
}

/* <folder>/<rel>, valid until check_tmp_remove. */
static inline const char *check_tmp_path(const char *rel) {
  size_t n = strlen(check_tmp) + strlen(rel) + 2;
  char *b = malloc(n);
  if (!b || check_tmp_n == (int)(sizeof check_tmp_kept / sizeof check_tmp_kept[0])) exit(1);
  snprintf(b, n, "%s/%s", check_tmp, rel);
  return check_tmp_kept[check_tmp_n++] = b;
}

/* Removes the folder and everything in it. */
static inline void check_tmp_remove(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", check_tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", check_tmp);
  while (check_tmp_n > 0) free(check_tmp_kept[--check_tmp_n]);
}

/* Exit code 77 makes CTest report the test as skipped. */
#define SKIP(...)                                                              \
  do {                                                                         \
    fprintf(stderr, "SKIP: ");                                                 \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    exit(77);                                                                  \
  } while (0)

static inline int check_report(const char *name) {
  if (check_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    return 1;
  }
  fprintf(stderr, "%s: all checks passed\n", name);
  return 0;
}

#endif
