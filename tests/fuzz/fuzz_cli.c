/* Fuzz target: the command-line parsers. The first byte picks a command
 * (deblur, train, info, evalgen, eval, sweep), the rest is its arguments
 * separated by NUL bytes; each command is parsed and validated as a run
 * would be, with no work done (cli_check.h, gpd_cli_eval_parse). Files the
 * arguments name are only looked at, never written. */
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_check.h"
#include "cli_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 40 };

static void eval_usage(FILE *f) { fputs("usage\n", f); }

/* getopt keeps a pointer into the last argv it scanned; forget it before
 * the next input's argv (glibc resets fully when optind is 0). */
static void reset_getopt(void) {
  static char name[] = "fuzz";
  char *argv[] = {name, NULL};
  static const struct option none[] = {{0, 0, 0, 0}};
  optind = 0;
  opterr = 0;
  getopt_long(1, argv, ":", none, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int quiet;
  if (!quiet) {
    /* the commands' one-line errors and --help go nowhere; sanitizer and
     * fuzzer reports use the file descriptors, not these streams */
    FILE *null = fopen("/dev/null", "w");
    if (null) stdout = stderr = null;
    quiet = 1;
  }
  if (size < 1) return 0;
  char *text = malloc(size + 1);
  char *argv[MAX_ARGS + 2];
  if (!text) return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = 0;
  static char cmd[] = "gpdeblur-cmd";
  int argc = 0;
  argv[argc++] = cmd;
  for (size_t i = 0; i < size - 1 && argc <= MAX_ARGS; i += strlen(text + i) + 1) argv[argc++] = text + i;
  argv[argc] = NULL;
  reset_getopt();
  gpd_cli_eval_args a;
  switch (data[0] % 6) {
  case 0: gpd_cmd_deblur_check(argc, argv); break;
  case 1: gpd_cmd_train_check(argc, argv); break;
  case 2: gpd_cmd_info_check(argc, argv); break;
  case 3: gpd_cmd_evalgen_check(argc, argv); break;
  case 4: gpd_cli_eval_parse("eval", 0, argc, argv, eval_usage, &a); break;
  case 5: gpd_cli_eval_parse("sweep", 1, argc, argv, eval_usage, &a); break;
  }
  free(text);
  return 0;
}
