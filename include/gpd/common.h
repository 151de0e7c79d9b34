/* Errors and small helpers shared by all of gpdeblur.
 *
 * Library functions return 0 on success and -1 on failure; a failing function
 * records one line saying what failed (naming the file, tensor or option) with
 * gpd_error(). The CLI prints that line prefixed by "gpdeblur: " and exits 1.
 * Nothing below the CLI prints errors or exits. */
#ifndef GPD_COMMON_H
#define GPD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Records a printf-style message as the current error; always returns -1 so
 * that `return gpd_error("...")` both records and fails. */
int gpd_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The message is kept to one line: line breaks and other control characters
 * in it (from a file name or a file's bytes) become spaces. */
/* The last recorded error ("" when none). */
const char *gpd_last_error(void);
void gpd_clear_error(void);

/* Propagates a failure: evaluates expr (an int-returning call) and returns -1
 * from the enclosing function when it failed. */
#define GPD_TRY(expr)                                                          \
  do {                                                                         \
    if ((expr) != 0) return -1;                                                \
  } while (0)

/* Host allocation that records "out of host memory (N bytes for WHAT)" and
 * returns NULL on failure. Free with free(). */
void *gpd_malloc(size_t bytes, const char *what);
void *gpd_calloc(size_t count, size_t size, const char *what);

/* The whole of a file (or a pipe, read to its end) in one malloc'd buffer
 * with a NUL after its *len bytes. NULL, with the error "cannot open WHAT 'PATH': REASON", "WHAT
 * 'PATH' is a directory, not a file" or "WHAT 'PATH' is N bytes, more than
 * the MAX this program reads", when it cannot be read whole. */
char *gpd_read_file(const char *path, const char *what, size_t max_bytes, size_t *len);

/* Crash-safety test hook. With GPD_TEST_KILL_AT=k in the environment the
 * k-th call in this process raises SIGKILL, as a power cut or `kill -9`
 * would; GPD_TEST_KILL_TRACE=1 prints "kill point N: WHERE" on stderr at
 * each. Durable writers call it between the steps of a write (and split a
 * write in two when armed, so a kill can land inside it). Without the
 * variables it does nothing. */
void gpd_kill_point(const char *where);
int gpd_kill_points_armed(void);

/* Wall-clock seconds (monotonic). */
double gpd_seconds(void);

/* FNV-1a, 64 bits: h folded with n bytes of data (start from
 * GPD_FNV1A64_INIT); the fingerprints of files and settings in manifests
 * and checkpoints. */
#define GPD_FNV1A64_INIT 1469598103934665603ull
uint64_t gpd_fnv1a64(uint64_t h, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
