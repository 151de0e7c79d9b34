/* Progress bar, option parsing and error reporting shared by subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpd/cli.h"
#include "gpd/common.h"

int gpd_cli_fail(const char *cmd) {
  const char *msg = gpd_last_error();
  fprintf(stderr, "gpdeblur %s: %s\n", cmd, msg[0] ? msg : "failed");
  return 1;
}

int gpd_cli_usage_error(const char *cmd) {
  fprintf(stderr, "gpdeblur %s: see 'gpdeblur %s --help'\n", cmd, cmd);
  return 2;
}

int gpd_cli_usage_fail(const char *cmd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "gpdeblur %s: %s; see 'gpdeblur %s --help'\n", cmd, msg, cmd);
  return 2;
}

/* The period of the log lines (GPD_PROGRESS_EVERY seconds, default 60). */
static double progress_line_period(void) {
  const char *env = getenv("GPD_PROGRESS_EVERY");
  char *end;
  double s = env ? strtod(env, &end) : 60.0;
  return env && (end == env || *end || !(s >= 0.0)) ? 60.0 : s;
}

void gpd_progress_start(gpd_progress *p, const char *label, long total) {
  const char *env = getenv("GPD_PROGRESS");
  p->label = label;
  p->total = total > 0 ? total : 1;
  p->start = gpd_seconds();
  p->last_draw = p->start;
  p->lines_drawn = 0;
  p->extra[0] = 0;
  p->partial = 0.0;
  p->period = progress_line_period();
  if (env) p->mode = atoi(env) != 0 ? GPD_PROGRESS_BAR : GPD_PROGRESS_OFF;
  else p->mode = isatty(STDERR_FILENO) ? GPD_PROGRESS_BAR : GPD_PROGRESS_LINES;
}

/* "M:SS", or "H:MM:SS" from an hour on. */
static void format_duration(double seconds, char *buf, size_t size) {
  long s = seconds > 0 ? (long)(seconds + 0.5) : 0;
  if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void progress_draw(gpd_progress *p, long done) {
  const int width = 28;
  const double work = (double)done + (p->partial > 0 ? p->partial : 0.0);
  double frac = work / (double)p->total;
  if (frac > 1) frac = 1;
  double elapsed = gpd_seconds() - p->start;
  double rate = elapsed > 0 ? work / elapsed : 0.0;
  char eta[32], took[32];
  format_duration(rate > 0 ? ((double)p->total - work) / rate : 0.0, eta, sizeof eta);
  format_duration(elapsed, took, sizeof took);
  if (p->mode == GPD_PROGRESS_LINES) { /* a log: whole lines, no control characters */
    fprintf(stderr, "%s: %3d%% %ld/%ld %.3g it/s elapsed %s ETA %s%s%s\n", p->label, (int)(100 * frac), done,
            p->total, rate, took, eta, p->extra[0] ? " " : "", p->extra);
    fflush(stderr);
    return;
  }
  char bar[64];
  int filled = (int)(frac * width);
  for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
  bar[width] = 0;
  fprintf(stderr, "\r%s [%s] %3d%% %ld/%ld %.1f it/s ETA %s %s\033[K", p->label, bar, (int)(100 * frac), done,
          p->total, rate, eta, p->extra);
  fflush(stderr);
}

void gpd_progress_update(gpd_progress *p, long done) {
  if (p->mode == GPD_PROGRESS_OFF) return;
  double now = gpd_seconds();
  if (p->mode == GPD_PROGRESS_LINES) {
    if (now - p->last_draw < p->period || done >= p->total) return; /* the last line comes from finish */
    p->lines_drawn++;
  } else if (now - p->last_draw < 0.1 && done < p->total) {
    return;
  }
  p->last_draw = now;
  progress_draw(p, done);
}

void gpd_progress_finish(gpd_progress *p) {
  if (p->mode == GPD_PROGRESS_OFF) return;
  if (p->mode == GPD_PROGRESS_LINES) {
    /* a run short enough to print no line leaves the log alone */
    if (p->lines_drawn == 0 && gpd_seconds() - p->start < p->period) return;
    progress_draw(p, p->total);
    return;
  }
  progress_draw(p, p->total);
  fputc('\n', stderr);
}

int gpd_parse_int(const char *opt, const char *text, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end) return gpd_error("--%s: '%s' is not an integer", opt, text);
  if (v < lo || v > hi) return gpd_error("--%s: %ld is outside [%ld, %ld]", opt, v, lo, hi);
  *out = v;
  return 0;
}

int gpd_parse_float(const char *opt, const char *text, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end || !isfinite(v)) return gpd_error("--%s: '%s' is not a number", opt, text);
  if (v < lo || v > hi) return gpd_error("--%s: %g is outside [%g, %g]", opt, v, lo, hi);
  *out = v;
  return 0;
}

int gpd_parse_u64(const char *opt, const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-') return gpd_error("--%s: '%s' is not a non-negative integer", opt, text);
  *out = (uint64_t)v;
  return 0;
}

int gpd_parse_u64_range(const char *opt, const char *text, uint64_t *a, uint64_t *b) {
  char buf[64];
  const char *colon = strchr(text, ':');
  if (!colon || (size_t)(colon - text) >= sizeof buf) return gpd_error("--%s: '%s' is not a range A:B", opt, text);
  memcpy(buf, text, (size_t)(colon - text));
  buf[colon - text] = 0;
  GPD_TRY(gpd_parse_u64(opt, buf, a));
  GPD_TRY(gpd_parse_u64(opt, colon + 1, b));
  return 0;
}

void gpd_path_with_ext(const char *path, const char *ext, char *buf, size_t size) {
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(path, '.');
  size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - path) : strlen(path);
  snprintf(buf, size, "%.*s%s", (int)stem, path, ext);
}

/* The folder part of path ("." when it has none). */
static void folder_of(const char *path, char *buf, size_t size) {
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(buf, size, ".");
  else if (slash == path) snprintf(buf, size, "/");
  else snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static int writable_folder(const char *opt, const char *path, const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return gpd_error("%s '%s': the folder '%s' does not exist", opt, path, dir);
  if (!S_ISDIR(st.st_mode)) return gpd_error("%s '%s': '%s' is not a folder", opt, path, dir);
  if (access(dir, W_OK | X_OK) != 0) return gpd_error("%s '%s': cannot write in '%s': %s", opt, path, dir, strerror(errno));
  return 0;
}

int gpd_cli_check_output(const char *opt, const char *path) {
  if (!path[0]) return gpd_error("%s: an empty file name", opt);
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return gpd_error("%s '%s' is a folder, not a file name", opt, path);
    if (access(path, W_OK) != 0) return gpd_error("%s '%s': cannot overwrite it: %s", opt, path, strerror(errno));
  }
  char dir[4096];
  folder_of(path, dir, sizeof dir);
  return writable_folder(opt, path, dir);
}

int gpd_cli_check_output_dir(const char *opt, const char *path) {
  if (!path[0]) return gpd_error("%s: an empty folder name", opt);
  struct stat st;
  if (stat(path, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return gpd_error("%s '%s' exists and is not a folder", opt, path);
    return writable_folder(opt, path, path);
  }
  char dir[4096];
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--; /* "out/" is the folder out */
  snprintf(dir, sizeof dir, "%.*s", (int)n, path);
  char parent[4096];
  folder_of(dir, parent, sizeof parent);
  return writable_folder(opt, path, parent);
}

int gpd_cli_check_not_inside(const char *opt, const char *path, const char *dir_opt, const char *dir) {
  char folder[4096];
  folder_of(path, folder, sizeof folder);
  struct stat a, b;
  /* a folder that does not exist yet holds nothing; the same folder is the same device and inode */
  if (stat(folder, &a) != 0 || stat(dir, &b) != 0) return 0;
  if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    return gpd_error("%s '%s' lies in %s '%s', whose files would overwrite it; write it elsewhere", opt, path, dir_opt,
                     dir);
  return 0;
}

int gpd_cli_make_output_dir(const char *opt, const char *dir) {
  if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    return gpd_error("%s: '%s' exists and is not a folder", opt, dir);
  }
  return gpd_error("%s: cannot create folder '%s': %s", opt, dir, strerror(errno));
}

int gpd_cli_check_seed_range(const char *opt, uint64_t first, uint64_t count) {
  if (count > 0 && first > UINT64_MAX - (count - 1))
    return gpd_error("--%s %llu: with %llu items the seeds would pass %llu", opt, (unsigned long long)first,
                     (unsigned long long)count, (unsigned long long)UINT64_MAX);
  return 0;
}
