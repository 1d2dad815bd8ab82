/* util/fileio.h: whole-file reads, read-only mappings and atomic writes (temporary name, then
 * rename), each failing with a message that names the file. */
#ifndef LETHE_UTIL_FILEIO_H
#define LETHE_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lethe/status.h"

/* Reads all of `path` into a malloc'ed, NUL-terminated buffer. Files above `max_bytes` are an
 * error (a guard against reading a wrong, huge file into memory). */
lethe_status lethe_read_file(const char *path, size_t max_bytes, char **out, size_t *len);

typedef struct {
  const uint8_t *data; /* (size) bytes, read-only */
  size_t size;
  char *path;
} lethe_mapped_file;

/* Maps `path` read-only. An empty file maps to data == NULL, size == 0. */
lethe_status lethe_map_file(const char *path, lethe_mapped_file *m);
void lethe_unmap_file(lethe_mapped_file *m);

/* An output file written under a temporary name and renamed over `path` on commit, so that a
 * reader never sees a partial file. */
typedef struct {
  FILE *fp;
  char *path;
  char *tmp_path;
} lethe_atomic_file;

lethe_status lethe_atomic_open(lethe_atomic_file *f, const char *path);
/* Flushes, fsyncs and renames. On failure the temporary file is removed. */
lethe_status lethe_atomic_commit(lethe_atomic_file *f);
/* Removes the temporary file (safe to call after a commit, and twice). */
void lethe_atomic_abort(lethe_atomic_file *f);

/* Writes `len` bytes to `path` atomically. */
lethe_status lethe_write_file_atomic(const char *path, const void *data, size_t len);

/* Directory helpers. lethe_make_dirs creates `path` and its parents (like mkdir -p). */
lethe_status lethe_make_dirs(const char *path);
int lethe_is_dir(const char *path);
int lethe_file_exists(const char *path);
/* Removes a directory tree (used for temporary output directories). */
void lethe_remove_tree(const char *path);
/* Replaces directory `dst` by directory `src` (both on the same filesystem): the old `dst`, if
 * any, is moved aside and removed only after `src` is in place. */
lethe_status lethe_replace_dir(const char *src, const char *dst);
/* Copies a file (to a temporary name, then renamed). */
lethe_status lethe_copy_file(const char *src, const char *dst);

/* Joins a directory and a file name into a malloc'ed string. */
char *lethe_path_join(const char *dir, const char *name);

#endif
