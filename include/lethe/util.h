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
/* Removes a directory tree (or a file) without ever following a symbolic link: a link is removed
 * itself, never what it points to. */
void lethe_remove_tree(const char *path);

/* lethe's output directories. Each one carries DIR/.lethe-output naming its kind ("model",
 * "adapter", "checkpoint", "run", "eval"). An output is built in a temporary sibling directory
 * (lethe_dir_begin), then published by lethe_dir_publish: the marker is written, the directory
 * fsynced, and it is renamed over `dst` (the old `dst` moved aside and removed only after the new
 * one is in place, then the parent fsynced). `dst` is replaced only when it is absent or lethe's
 * own output of the same kind: a user's directory, a file or a symbolic link is refused. */
#define LETHE_OUTPUT_MARKER ".lethe-output"
lethe_status lethe_dir_begin(const char *dst, char **tmp);
lethe_status lethe_dir_publish(const char *tmp, const char *dst, const char *kind);
/* OK when `path` is absent, an empty directory or lethe's `kind` output; else an error saying what it is. */
lethe_status lethe_out_check(const char *path, const char *kind);
/* --force: removes `path` (a link itself, never its target) so that it can be written. */
lethe_status lethe_out_clear(const char *path);
/* Refuses an output `out` (described as `what`) that is, contains or lies inside one of the
 * inputs (NULL entries skipped). */
lethe_status lethe_out_apart(const char *out, const char *what, const char *const *inputs, int n);
/* Joins a directory and a file name into a malloc'ed string. */
char *lethe_path_join(const char *dir, const char *name);
/* Seconds on a monotonic clock. */
double lethe_now_s(void);

#ifdef __cplusplus
}
#endif
#endif
