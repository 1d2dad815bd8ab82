/* util/fileio.h: whole-file reads, read-only mappings and atomic writes (temporary name, then
 * rename), each failing with a message that names the file. */
#ifndef LETHE_UTIL_FILEIO_H
#define LETHE_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lethe/status.h"
#include "lethe/util.h" /* lethe_read_file, lethe_write_file_atomic, directories, paths, clock */

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




#endif
