/* Runs files through a fuzz target's entry point with the ordinary
 * compiler (no libFuzzer): `fuzz_regress_NAME DIR|FILE...` feeds every file
 * (folders: their files, sorted by name) to LLVMFuzzerTestOneInput. CTest
 * runs it on the seed corpus and on tests/fuzz/regressions/NAME, the inputs
 * that once crashed a target; a crash, a sanitizer report or an abort
 * fails the test. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      uint8_t *b = realloc(buf, cap *= 2);
      if (!b) free(buf);
      buf = b;
    }
  }
  fclose(f);
  if (!buf) return 1;
  /* an exact-size copy, so reading past the input is caught by ASan */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact) memcpy(exact, buf, n);
  free(buf);
  if (!exact) return 1;
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  int failed = 0;
  long count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) continue; /* no regressions for this target yet */
    if (!S_ISDIR(st.st_mode)) {
      failed |= run_file(argv[i]);
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
      if (de->d_name[0] == '.') continue;
      char **v = realloc(names, (n + 1) * sizeof *names);
      if (!v) break;
      names = v;
      names[n++] = strdup(de->d_name);
    }
    if (d) closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, by_name);
    for (size_t k = 0; k < n; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
      failed |= run_file(path);
      count++;
      free(names[k]);
    }
    free(names);
  }
  printf("%ld inputs ran through the target\n", count);
  return failed;
}
