/* One-line reports of getopt_long failures and of a wrong number of
 * positional arguments (gpd/cli.h): getopt's own messages are off
 * (opterr = 0) so each bad option costs the user exactly one line on
 * stderr. */
#include <getopt.h>
#include <stdio.h>

#include "gpd/cli.h"

int gpd_cli_bad_option(const char *cmd, int opt, char **argv) {
  char shortopt[3] = {'-', (char)optopt, 0};
  /* A short option names itself through optopt; a long one (optopt 0, or the
   * value of a long option with a missing argument) is the word just
   * consumed. */
  const char *what = (opt == '?' && optopt) ? shortopt : argv[optind - 1];
  if (opt == ':')
    fprintf(stderr, "gpdeblur %s: option '%s' needs a value; see 'gpdeblur %s --help'\n", cmd, what, cmd);
  else
    fprintf(stderr, "gpdeblur %s: unknown option '%s'; see 'gpdeblur %s --help'\n", cmd, what, cmd);
  return 2;
}

int gpd_cli_one_positional(const char *cmd, int argc, char **argv, const char *what) {
  const int n = argc - optind;
  if (n == 1) return 0;
  if (n > 1)
    fprintf(stderr, "gpdeblur %s: one %s expected, got '%s' and '%s'; see 'gpdeblur %s --help'\n", cmd, what,
            argv[optind], argv[optind + 1], cmd);
  else fprintf(stderr, "gpdeblur %s: missing the %s; see 'gpdeblur %s --help'\n", cmd, what, cmd);
  return 2;
}
