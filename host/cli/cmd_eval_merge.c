/* `gpdeblur eval-merge A.csv B.csv ... -o ALL.csv`: combine the results
 * CSVs of shards (gpd_eval_merge), refusing overlapping or missing images,
 * and print the merged summary. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_eval.h"
#include "gpd/cli.h"
#include "gpd/common.h"
#include "gpd/eval.h"

static const char *CMD = "eval-merge";

static void usage(FILE *f) {
  fprintf(f,
          "usage: gpdeblur eval-merge SHARD.csv... -o ALL.csv\n\n"
          "Combines the results of 'gpdeblur eval --shard K/N' runs into one CSV (rows in the\n"
          "selection's order, with its manifest ALL.csv.json), as if one run had made it. Each\n"
          "input needs its manifest (SHARD.csv.json). Refused, with the reason: inputs made with\n"
          "different settings or selections, an image in two inputs (overlapping shards), images of\n"
          "the selection in no input (a shard missing or not run to its end: resume it).\n"
          "The merged manifest's info names the inputs (merged_from) and, where the shards\n"
          "disagree on an info entry (the build, the device), every value met.\n\n"
          "  -o, --output FILE      the merged CSV (written atomically)\n"
          "  -h, --help             this help\n");
}

int gpd_cmd_eval_merge(int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *output = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
    switch (opt) {
    case 'o': output = optarg; break;
    case 'h': usage(stdout); return 0;
    default: return gpd_cli_bad_option(CMD, opt, argv);
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "gpdeblur %s: no shard CSVs given; see 'gpdeblur %s --help'\n", CMD, CMD);
    return 2;
  }
  if (!output) {
    gpd_error("-o ALL.csv is required");
    return gpd_cli_fail(CMD);
  }
  if (gpd_cli_check_output("-o", output) != 0) return gpd_cli_fail(CMD);
  long rows = 0;
  if (gpd_eval_merge((const char *const *)(argv + optind), argc - optind, output, &rows) != 0) return gpd_cli_fail(CMD);
  gpd_eval_rows all;
  if (gpd_eval_csv_read(output, 0, &all, NULL) != 0) return gpd_cli_fail(CMD);
  gpd_eval_summary sum;
  gpd_eval_summarize(all.rows, all.n, &sum);
  gpd_eval_rows_free(&all);
  char title[512];
  snprintf(title, sizeof title, "%s (merged from %d inputs)", output, argc - optind);
  gpd_cli_eval_print_summary(stdout, title, &sum);
  return 0;
}
