/* Repository-relative paths for what gpdeblur writes into shipped files
 * (gpd/repo_path.h). */
#define _POSIX_C_SOURCE 200809L
#include "gpd/repo_path.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef GPD_REPO_DIR
#define GPD_REPO_DIR "."
#endif

#define MAX_PARTS 256
#define MAX_PATH 4096

const char *gpd_repo_dir(void) { return GPD_REPO_DIR; }

/* An absolute path as its components, "." and ".." resolved: parts point
 * into buf (a copy of the path, '/' replaced by NULs). Returns the count,
 * or -1 when there are too many. */
static int split_absolute(const char *path, char *buf, size_t size, const char **parts) {
  snprintf(buf, size, "%s", path);
  int n = 0;
  for (char *s = buf; *s;) {
    while (*s == '/') *s++ = 0;
    if (!*s) break;
    char *part = s;
    while (*s && *s != '/') s++;
    if (*s) *s++ = 0;
    if (!strcmp(part, ".")) continue;
    if (!strcmp(part, "..")) {
      if (n > 0) n--;
      continue;
    }
    if (n == MAX_PARTS) return -1;
    parts[n++] = part;
  }
  return n;
}

/* path made absolute against the working directory; 0, or -1 when it
 * cannot be. */
static int absolute(const char *path, char *out, size_t size) {
  if (path[0] == '/') return (size_t)snprintf(out, size, "%s", path) < size ? 0 : -1;
  char cwd[MAX_PATH];
  if (!getcwd(cwd, sizeof cwd)) return -1;
  return (size_t)snprintf(out, size, "%s/%s", cwd, path) < size ? 0 : -1;
}

void gpd_repo_relative(const char *path, char *out, size_t size) {
  if (!size) return;
  snprintf(out, size, "%s", path);
  char abs[2 * MAX_PATH], pbuf[2 * MAX_PATH], rbuf[MAX_PATH];
  const char *p[MAX_PARTS], *r[MAX_PARTS];
  if (!path[0] || absolute(path, abs, sizeof abs) != 0) return;
  int np = split_absolute(abs, pbuf, sizeof pbuf, p), nr = split_absolute(gpd_repo_dir(), rbuf, sizeof rbuf, r);
  if (np < 0 || nr < 0) return;
  int common = 0;
  while (common < np && common < nr && !strcmp(p[common], r[common])) common++;
  char rel[2 * MAX_PATH];
  size_t len = 0;
  for (int i = common; i < nr; i++) len += (size_t)snprintf(rel + len, sizeof rel - len, "%s..", len ? "/" : "");
  for (int i = common; i < np && len < sizeof rel; i++)
    len += (size_t)snprintf(rel + len, sizeof rel - len, "%s%s", len ? "/" : "", p[i]);
  if (len >= sizeof rel || len >= size) return;
  snprintf(out, size, "%s", len ? rel : ".");
}

static int starts_word(const char *text, const char *at) {
  return at == text || strchr(" \t(=,\"'", at[-1]) != NULL;
}

static int ends_path(char c) { return !c || strchr(" \t\n:,)\"'", c) != NULL; }

void gpd_repo_relative_text(const char *text, char *out, size_t size) {
  if (!size) return;
  size_t len = 0;
  out[0] = 0;
  for (const char *s = text; *s && len + 1 < size;) {
    if (*s == '/' && starts_word(text, s)) {
      const char *end = s;
      while (!ends_path(*end)) end++;
      char path[MAX_PATH], rel[MAX_PATH];
      snprintf(path, sizeof path, "%.*s", (int)(end - s), s);
      gpd_repo_relative(path, rel, sizeof rel);
      int w = snprintf(out + len, size - len, "%s", rel);
      len = w < 0 || (size_t)w >= size - len ? size - 1 : len + (size_t)w;
      s = end;
    } else {
      out[len++] = *s++;
      out[len] = 0;
    }
  }
}
