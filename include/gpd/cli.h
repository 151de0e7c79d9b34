/* Shared by the subcommands: the command table, a progress bar on stderr and
 * small helpers for options. */
#ifndef GPD_CLI_H
#define GPD_CLI_H

#include <stdio.h>
#include <stdint.h>

/* Every subcommand: `gpdeblur NAME [options]`; returns the exit status.
 * On failure it returns gpd_cli_fail(), which prints "gpdeblur NAME: <the
 * recorded error>" as one line on stderr and returns 1. */
typedef int (*gpd_cmd_fn)(int argc, char **argv);
int gpd_cli_fail(const char *cmd);
/* "gpdeblur NAME: unknown option ..." etc., printed by getopt; this prints
 * the hint to use --help and returns 2. */
int gpd_cli_usage_error(const char *cmd);
/* One line "gpdeblur NAME: MESSAGE; see 'gpdeblur NAME --help'" on stderr
 * (a usage mistake: a missing or unexpected argument); returns 2. */
int gpd_cli_usage_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* For getopt_long run with opterr = 0 and an optstring starting with ':':
 * given what it returned ('?' unknown option, ':' missing value), prints
 * one line "gpdeblur NAME: unknown option '--x'; see 'gpdeblur NAME --help'"
 * (or "option '--x' needs a value; ...") and returns 2. */
int gpd_cli_bad_option(const char *cmd, int opt, char **argv);
/* After getopt_long: exactly one positional argument left (argv[optind]).
 * Else prints one line ("gpdeblur NAME: one WHAT expected, got 'a' and
 * 'b'; ..." or "gpdeblur NAME: missing the WHAT; ...") and returns 2. */
int gpd_cli_one_positional(const char *cmd, int argc, char **argv, const char *what);

/* Progress on stderr. On a terminal (or with GPD_PROGRESS=1) a bar redrawn
 * at most 10 times a second:
 *   label [#########.........] 45% 450/1000 12.3 it/s ETA 0:44 <extra>
 * Elsewhere (a log file, a batch job's output) a plain line at most once
 * every GPD_PROGRESS_EVERY seconds (default 60), and one at the end of a
 * run that printed any or lasted that long; nothing for shorter runs:
 *   label:  45% 450/1000 12.3 it/s elapsed 0:36 ETA 0:44 <extra>
 * GPD_PROGRESS=0: nothing. */
typedef enum { GPD_PROGRESS_OFF, GPD_PROGRESS_BAR, GPD_PROGRESS_LINES } gpd_progress_mode;
typedef struct gpd_progress {
  const char *label;
  long total;
  double start, last_draw, period;
  gpd_progress_mode mode;
  int lines_drawn;
  char extra[96];
  /* work done beyond `done`, in the same units (a batch partly through:
   * 2.4 of its 8 images), counted in the bar, the rate and the ETA but not
   * in the done / total shown; 0 from gpd_progress_start */
  double partial;
} gpd_progress;
void gpd_progress_start(gpd_progress *p, const char *label, long total);
void gpd_progress_update(gpd_progress *p, long done);
void gpd_progress_finish(gpd_progress *p);

/* Strict number parsing for options; on failure records
 * "--NAME: 'TEXT' is not a valid ..." and returns -1. */
int gpd_parse_int(const char *opt, const char *text, long lo, long hi, long *out);
int gpd_parse_float(const char *opt, const char *text, double lo, double hi, double *out);
int gpd_parse_u64(const char *opt, const char *text, uint64_t *out);
/* "A:B" of unsigned 64-bit numbers (errors name --OPT). */
int gpd_parse_u64_range(const char *opt, const char *text, uint64_t *a, uint64_t *b);

/* Outputs are checked before any work is done. A file: its folder exists
 * and may be written in, and the path is not a folder. A folder the
 * command creates or fills: it is a writable folder, or its parent is.
 * One-line errors name the option and the path ("-o 'a/b.png': the folder
 * 'a' does not exist"). */
int gpd_cli_check_output(const char *opt, const char *path);
int gpd_cli_check_output_dir(const char *opt, const char *path);
/* An output file must not lie in a folder another option fills (dir_opt's
 * files could overwrite it): "-o 'runs/00.png' lies in --restarts-out
 * 'runs', ...". 0 when dir or path's folder does not exist yet. */
int gpd_cli_check_not_inside(const char *opt, const char *path, const char *dir_opt, const char *dir);
/* Makes folder `dir` (an output named by option `opt`) unless it is one
 * already; 0 or -1 with a one-line error naming opt and dir. */
int gpd_cli_make_output_dir(const char *opt, const char *dir);
/* Seeds first .. first + count - 1 (one per item) must not pass 2^64 - 1:
 * "--OPT S: with N items the seeds would pass 18446744073709551615". */
int gpd_cli_check_seed_range(const char *opt, uint64_t first, uint64_t count);

/* Path helpers: "out.png" -> "out" + suffix (replacing the extension). */
void gpd_path_with_ext(const char *path, const char *ext, char *buf, size_t size);

#endif
