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

/* Opens a regular file read-only; a FIFO, device, socket or directory is refused at once (the open
 * never blocks). */
lethe_status lethe_open_regular(const char *path, int *fd);

/* fsync of a directory (after a rename into it) and of the directory holding `path`. */
lethe_status lethe_fsync_dir(const char *dir);
lethe_status lethe_fsync_parent(const char *path);

/* The name lethe's output temporaries end in: NAME.tmp.PID, NAME.old.PID, NAME.with.PID. */
int lethe_is_temp_name(const char *name);
/* Removes every lethe temporary directly inside `dir` (never following links); returns how many. */
int lethe_remove_temporaries(const char *dir);

/* Reads the kind named by DIR/.lethe-output into kind[n]; 0 when there is none. */
int lethe_dir_kind(const char *dir, char *kind, size_t n);
/* Writes DIR/.lethe-output naming `kind`. */
lethe_status lethe_dir_mark(const char *dir, const char *kind);

/* An output directory lethe writes files into (a run, an evaluation): created, or reused when it
 * is lethe's own of this kind or empty but for lethe temporaries; a user's directory, a file or a
 * link is refused. Marked with .lethe-output naming `kind`. */
lethe_status lethe_out_dir_prepare(const char *dir, const char *kind);

/* Absolute path with links resolved as far as it exists (the rest joined lexically); malloc'ed. */
char *lethe_path_canon(const char *path);
/* 1 when the two paths name the same place or one lies inside the other. */
int lethe_path_overlap(const char *a, const char *b);

#endif
