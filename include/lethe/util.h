/* lethe/util.h: small helpers the library uses and offers to its users (and the CLI): whole-file
 * reads, atomic writes (a temporary name, then rename, so that no reader ever sees a partial
 * file), directories, paths, and a monotonic clock. Failures are lethe_status values with a
 * message that names the file. */
#ifndef LETHE_UTIL_PUBLIC_H
#define LETHE_UTIL_PUBLIC_H

#include <stddef.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads all of `path` into a malloc'ed, NUL-terminated buffer. Files above `max_bytes` are an
 * error (a guard against reading a wrong, huge file into memory). */
lethe_status lethe_read_file(const char *path, size_t max_bytes, char **out, size_t *len);
/* Writes `len` bytes to `path` atomically. */
lethe_status lethe_write_file_atomic(const char *path, const void *data, size_t len);
/* Copies a file (to a temporary name, then renamed). */
lethe_status lethe_copy_file(const char *src, const char *dst);
/* Creates `path` and its parents (like mkdir -p). */
lethe_status lethe_make_dirs(const char *path);
int lethe_is_dir(const char *path);
int lethe_file_exists(const char *path);
/* Removes a directory tree (or a file). */
void lethe_remove_tree(const char *path);
/* Replaces directory `dst` by directory `src` (same filesystem): the old `dst`, if any, is moved
 * aside and removed only after `src` is in place. */
lethe_status lethe_replace_dir(const char *src, const char *dst);
/* Joins a directory and a file name into a malloc'ed string. */
char *lethe_path_join(const char *dir, const char *name);
/* Seconds on a monotonic clock. */
double lethe_now_s(void);

#ifdef __cplusplus
}
#endif
#endif
