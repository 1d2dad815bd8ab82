/* util/fileio.c: file reads, mappings and atomic writes with messages that name the file. */
#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"

lethe_status lethe_read_file(const char *path, size_t max_bytes, char **out, size_t *len) {
  *out = NULL;
  if (len) *len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return lethe_fail(LETHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(fp);
    return lethe_fail(LETHE_ERR_IO, "%s: not a regular file", path);
  }
  if ((uint64_t)st.st_size > max_bytes) {
    fclose(fp);
    return lethe_fail(LETHE_ERR_INVALID, "%s: file is %lld bytes, larger than the %zu allowed",
                      path, (long long)st.st_size, max_bytes);
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  if (!buf) {
    fclose(fp);
    return lethe_fail(LETHE_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
  }
  size_t got = n ? fread(buf, 1, n, fp) : 0;
  int err = ferror(fp);
  fclose(fp);
  if (got != n || err) {
    free(buf);
    return lethe_fail(LETHE_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
  }
  buf[n] = 0;
  *out = buf;
  if (len) *len = n;
  return LETHE_OK;
}

lethe_status lethe_map_file(const char *path, lethe_mapped_file *m) {
  memset(m, 0, sizeof *m);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return lethe_fail(LETHE_ERR_IO, "%s: not a regular file", path);
  }
  m->size = (size_t)st.st_size;
  if (m->size > 0) {
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      close(fd);
      return lethe_fail(LETHE_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    }
    m->data = p;
  }
  close(fd);
  m->path = strdup(path);
  return LETHE_OK;
}

void lethe_unmap_file(lethe_mapped_file *m) {
  if (m->data) munmap((void *)m->data, m->size);
  free(m->path);
  memset(m, 0, sizeof *m);
}

lethe_status lethe_atomic_open(lethe_atomic_file *f, const char *path) {
  memset(f, 0, sizeof *f);
  size_t n = strlen(path) + 32;
  f->tmp_path = malloc(n);
  f->path = strdup(path);
  if (!f->tmp_path || !f->path) {
    lethe_atomic_abort(f);
    return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", path);
  }
  snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
  f->fp = fopen(f->tmp_path, "wb");
  if (!f->fp) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot create: %s", f->tmp_path, strerror(errno));
    free(f->tmp_path);
    free(f->path);
    memset(f, 0, sizeof *f);
    return s;
  }
  return LETHE_OK;
}

lethe_status lethe_atomic_commit(lethe_atomic_file *f) {
  if (!f->fp) return lethe_fail(LETHE_ERR_INVALID, "atomic file already closed");
  int bad = fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0;
  int err = errno;
  bad |= fclose(f->fp) != 0;
  f->fp = NULL;
  if (bad) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: write failed: %s", f->path, strerror(err));
    lethe_atomic_abort(f);
    return s;
  }
  if (rename(f->tmp_path, f->path) != 0) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot rename into place: %s", f->path,
                                strerror(errno));
    lethe_atomic_abort(f);
    return s;
  }
  free(f->tmp_path);
  free(f->path);
  memset(f, 0, sizeof *f);
  return LETHE_OK;
}

void lethe_atomic_abort(lethe_atomic_file *f) {
  if (f->fp) fclose(f->fp);
  if (f->tmp_path) unlink(f->tmp_path);
  free(f->tmp_path);
  free(f->path);
  memset(f, 0, sizeof *f);
}

lethe_status lethe_write_file_atomic(const char *path, const void *data, size_t len) {
  lethe_atomic_file f;
  LETHE_TRY(lethe_atomic_open(&f, path));
  if (len && fwrite(data, 1, len, f.fp) != len) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    lethe_atomic_abort(&f);
    return s;
  }
  return lethe_atomic_commit(&f);
}

int lethe_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int lethe_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

lethe_status lethe_make_dirs(const char *path) {
  char *p = strdup(path);
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  size_t n = strlen(p);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] == '/' || p[i] == 0) {
      char c = p[i];
      p[i] = 0;
      if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
        free(p);
        return s;
      }
      p[i] = c;
    }
  }
  free(p);
  if (!lethe_is_dir(path)) return lethe_fail(LETHE_ERR_IO, "%s: exists and is not a directory", path);
  return LETHE_OK;
}

void lethe_remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    unlink(path);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *child = lethe_path_join(path, e->d_name);
    if (!child) continue;
    struct stat st;
    if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) lethe_remove_tree(child);
    else unlink(child);
    free(child);
  }
  closedir(d);
  rmdir(path);
}

lethe_status lethe_replace_dir(const char *src, const char *dst) {
  if (rename(src, dst) == 0) return LETHE_OK;
  if (errno != ENOTEMPTY && errno != EEXIST && errno != EISDIR && errno != ENOTDIR)
    return lethe_fail(LETHE_ERR_IO, "%s: cannot move %s into place: %s", dst, src, strerror(errno));
  size_t n = strlen(dst) + 32;
  char *old = malloc(n);
  if (!old) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  snprintf(old, n, "%s.old.%ld", dst, (long)getpid());
  if (rename(dst, old) != 0) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot move aside: %s", dst, strerror(errno));
    free(old);
    return s;
  }
  if (rename(src, dst) != 0) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot move %s into place: %s", dst, src, strerror(errno));
    rename(old, dst);
    free(old);
    return s;
  }
  lethe_remove_tree(old);
  free(old);
  return LETHE_OK;
}

lethe_status lethe_copy_file(const char *src, const char *dst) {
  lethe_mapped_file m;
  LETHE_TRY(lethe_map_file(src, &m));
  lethe_status s = lethe_write_file_atomic(dst, m.data, m.size);
  lethe_unmap_file(&m);
  return s;
}

char *lethe_path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a); // NOLINT(bugprone-not-null-terminated-result): the NUL follows the name
  size_t k = a;
  if (a && dir[a - 1] != '/') p[k++] = '/';
  memcpy(p + k, name, b + 1);
  return p;
}

double lethe_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
