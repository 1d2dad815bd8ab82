/* util/fileio.c: file reads, mappings and atomic writes with messages that name the file. */
#include "util/fileio.h"

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"

/* Opens `path` for reading without blocking on a FIFO or device: anything but a regular file is
 * refused at once. */
lethe_status lethe_open_regular(const char *path, int *fd_out) {
  *fd_out = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return lethe_fail(LETHE_ERR_IO, "%s: not a regular file (%s)", path,
        S_ISDIR(st.st_mode)                          ? "a directory"
        : S_ISFIFO(st.st_mode)                       ? "a FIFO"
        : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
        : S_ISSOCK(st.st_mode)                       ? "a socket"
                                                     : "not a file");
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  *fd_out = fd;
  return LETHE_OK;
}

lethe_status lethe_read_file(const char *path, size_t max_bytes, char **out, size_t *len) {
  *out = NULL;
  if (len) *len = 0;
  int fd;
  LETHE_TRY(lethe_open_regular(path, &fd));
  FILE *fp = fdopen(fd, "rb");
  if (!fp) {
    close(fd);
    return lethe_fail(LETHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fileno(fp), &st) != 0) {
    fclose(fp);
    return lethe_fail(LETHE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
  }
  if ((uint64_t)st.st_size > max_bytes) {
    fclose(fp);
    return lethe_fail(LETHE_ERR_INVALID, "%s: file is %lld bytes, larger than the %zu allowed", path,
        (long long)st.st_size, max_bytes);
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
  int fd;
  LETHE_TRY(lethe_open_regular(path, &fd));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return lethe_fail(LETHE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
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
  if (!(m->path = strdup(path))) {
    lethe_unmap_file(m);
    return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", path);
  }
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
    lethe_status s =
        lethe_fail(LETHE_ERR_IO, "%s: cannot create (as the temporary %s): %s", path, f->tmp_path, strerror(errno));
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
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot rename into place: %s", f->path, strerror(errno));
    lethe_atomic_abort(f);
    return s;
  }
  lethe_status s = lethe_fsync_parent(f->path);
  free(f->tmp_path);
  free(f->path);
  memset(f, 0, sizeof *f);
  return s;
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
  return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int lethe_file_exists(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
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

/* ---- Removal that never follows a symbolic link ---- */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path); /* a file, or a symbolic link itself (FTW_SL: never followed) */
  return 0;
}

void lethe_remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    unlink(path); /* a file or a link: the link, never what it points to */
    return;
  }
  nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- Durability ---- */

lethe_status lethe_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot open the directory to sync it: %s", dir, strerror(errno));
  int bad = fsync(fd) != 0 && errno != EINVAL && errno != EROFS;
  int err = errno;
  close(fd);
  if (bad) return lethe_fail(LETHE_ERR_IO, "%s: cannot sync the directory: %s", dir, strerror(err));
  return LETHE_OK;
}

lethe_status lethe_fsync_parent(const char *path) {
  char *p = strdup(path);
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = 0;
  char *slash = strrchr(p, '/');
  lethe_status s;
  if (!slash)
    s = lethe_fsync_dir(".");
  else {
    if (slash == p)
      slash[1] = 0;
    else
      *slash = 0;
    s = lethe_fsync_dir(p);
  }
  free(p);
  return s;
}

/* ---- lethe's output directories ---- */

int lethe_dir_kind(const char *dir, char *kind, size_t n) {
  if (n) kind[0] = 0;
  struct stat st;
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  char *p = lethe_path_join(dir, LETHE_OUTPUT_MARKER);
  if (!p) return 0;
  int ok = 0;
  if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 256) {
    FILE *fp = fopen(p, "rb");
    char buf[256] = {0};
    size_t got = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp) fclose(fp);
    buf[got] = 0;
    const char *k = strstr(buf, "\"kind\": \"");
    if (k) {
      k += 9;
      const char *e = strchr(k, '"');
      if (e && (size_t)(e - k) < n) {
        memcpy(kind, k, (size_t)(e - k));
        kind[e - k] = 0;
        ok = 1;
      }
    }
  }
  free(p);
  return ok;
}

lethe_status lethe_dir_mark(const char *dir, const char *kind) {
  char *p = lethe_path_join(dir, LETHE_OUTPUT_MARKER);
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  char text[256];
  snprintf(text, sizeof text, "{\"written_by\": \"lethe\", \"kind\": \"%s\"}\n", kind);
  lethe_status s = lethe_write_file_atomic(p, text, strlen(text));
  free(p);
  return s;
}

static int dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int empty = 1;
  struct dirent *e;
  while (empty && (e = readdir(d)) != NULL) empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
  closedir(d);
  return empty;
}

lethe_status lethe_out_check(const char *path, const char *kind) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return LETHE_OK;
    return lethe_fail(LETHE_ERR_IO, "%s: cannot inspect the output path: %s", path, strerror(errno));
  }
  if (S_ISLNK(st.st_mode))
    return lethe_fail(LETHE_ERR_INVALID,
        "%s is a symbolic link; lethe never writes or deletes through a link: give the real path, or "
        "--force to replace the link itself",
        path);
  if (S_ISDIR(st.st_mode)) {
    char have[64];
    if (dir_is_empty(path)) return LETHE_OK; /* nothing in it to lose */
    if (lethe_dir_kind(path, have, sizeof have)) {
      if (!strcmp(have, kind)) return LETHE_OK;
      return lethe_fail(LETHE_ERR_INVALID,
          "%s is lethe's %s output, not a %s: choose another output, or --force to replace it", path, have, kind);
    }
    return lethe_fail(LETHE_ERR_INVALID,
        "%s exists and is not a %s lethe wrote (no %s marker): lethe does not replace a directory it did "
        "not write; choose a new output, or --force to replace it",
        path, kind, LETHE_OUTPUT_MARKER);
  }
  return lethe_fail(LETHE_ERR_INVALID,
      "%s exists and is %s, not a %s directory lethe wrote: choose a new output, or --force to replace it", path,
      S_ISREG(st.st_mode) ? "a file" : "not a directory", kind);
}

lethe_status lethe_out_clear(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return LETHE_OK;
  lethe_remove_tree(path);
  if (lstat(path, &st) == 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot remove it to replace it", path);
  return lethe_fsync_parent(path);
}

/* `dst` without trailing slashes, plus `tag`.PID. */
static char *sibling(const char *dst, const char *tag) {
  size_t n = strlen(dst);
  while (n > 1 && dst[n - 1] == '/') n--;
  size_t len = n + strlen(tag) + 32;
  char *p = malloc(len);
  if (p) snprintf(p, len, "%.*s.%s.%ld", (int)n, dst, tag, (long)getpid());
  return p;
}

lethe_status lethe_dir_begin(const char *dst, char **tmp) {
  *tmp = sibling(dst, "tmp");
  if (!*tmp) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_remove_tree(*tmp);
  lethe_status s = lethe_make_dirs(*tmp);
  if (s) {
    free(*tmp);
    *tmp = NULL;
  }
  return s;
}

lethe_status lethe_dir_publish(const char *tmp, const char *dst, const char *kind) {
  LETHE_TRY(lethe_dir_mark(tmp, kind));
  LETHE_TRY(lethe_fsync_dir(tmp));
  LETHE_TRY(lethe_out_check(dst, kind));
  if (rename(tmp, dst) == 0) return lethe_fsync_parent(dst);
  if (errno != ENOTEMPTY && errno != EEXIST && errno != EISDIR && errno != ENOTDIR)
    return lethe_fail(LETHE_ERR_IO, "%s: cannot move %s into place: %s", dst, tmp, strerror(errno));
  char *old = sibling(dst, "old");
  if (!old) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_remove_tree(old);
  if (rename(dst, old) != 0) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot move aside: %s", dst, strerror(errno));
    free(old);
    return s;
  }
  if (rename(tmp, dst) != 0) {
    lethe_status s = lethe_fail(LETHE_ERR_IO, "%s: cannot move %s into place: %s", dst, tmp, strerror(errno));
    rename(old, dst);
    free(old);
    return s;
  }
  lethe_status s = lethe_fsync_parent(dst);
  lethe_remove_tree(old);
  free(old);
  return s;
}

int lethe_is_temp_name(const char *name) {
  static const char *const tags[] = {".tmp.", ".old.", ".with."};
  for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
    const char *t = strstr(name, tags[i]);
    while (t) {
      const char *d = t + strlen(tags[i]);
      if (*d) {
        const char *q = d;
        while (*q >= '0' && *q <= '9') q++;
        if (!*q) return 1;
      }
      t = strstr(t + 1, tags[i]);
    }
  }
  return 0;
}

int lethe_remove_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!lethe_is_temp_name(e->d_name)) continue;
    char *p = lethe_path_join(dir, e->d_name);
    if (p) lethe_remove_tree(p);
    free(p);
    n++;
  }
  closedir(d);
  return n;
}

/* ---- Paths that overlap ---- */

char *lethe_path_canon(const char *path) {
  char *r = realpath(path, NULL);
  if (r) return r;
  char *p = strdup(path);
  if (!p) return NULL;
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = 0;
  char *slash = strrchr(p, '/');
  char *parent;
  const char *base;
  if (!slash) {
    parent = realpath(".", NULL);
    base = p;
  } else {
    *slash = 0;
    parent = lethe_path_canon(slash == p ? "/" : p);
    base = slash + 1;
  }
  char *out = NULL;
  if (parent) {
    if (!strcmp(base, ".") || !*base)
      out = strdup(parent);
    else if (!strcmp(base, "..")) {
      char *s2 = strrchr(parent, '/');
      out = s2 && s2 != parent ? strndup(parent, (size_t)(s2 - parent)) : strdup("/");
    } else
      out = lethe_path_join(parent, base);
  }
  free(parent);
  free(p);
  return out;
}

int lethe_path_overlap(const char *a, const char *b) {
  char *ca = lethe_path_canon(a), *cb = lethe_path_canon(b);
  int r = 0;
  if (ca && cb) {
    size_t na = strlen(ca), nb = strlen(cb);
    size_t k = na < nb ? na : nb;
    if (!strncmp(ca, cb, k)) {
      if (na == nb)
        r = 1;
      else {
        const char *longer = na > nb ? ca : cb;
        r = longer[k] == '/' || (k == 1 && longer[0] == '/');
      }
    }
  }
  free(ca);
  free(cb);
  return r;
}

lethe_status lethe_out_apart(const char *out, const char *what, const char *const *inputs, int n) {
  for (int i = 0; i < n; i++) {
    if (!inputs[i] || !*inputs[i]) continue;
    if (lethe_path_overlap(out, inputs[i]))
      return lethe_fail(LETHE_ERR_INVALID,
          "%s (the %s) is, contains or lies inside the input %s: lethe never writes over its inputs; "
          "choose another output",
          out, what, inputs[i]);
  }
  return LETHE_OK;
}

static int only_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int ok = 1;
  struct dirent *e;
  while (ok && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !lethe_is_temp_name(e->d_name)) ok = 0;
  closedir(d);
  return ok;
}

lethe_status lethe_out_dir_prepare(const char *dir, const char *kind) {
  struct stat st;
  if (lstat(dir, &st) == 0) {
    char have[64];
    int ours = S_ISDIR(st.st_mode) && lethe_dir_kind(dir, have, sizeof have) && !strcmp(have, kind);
    if (!ours && !(S_ISDIR(st.st_mode) && only_temporaries(dir))) {
      if (S_ISLNK(st.st_mode)) return lethe_out_check(dir, kind);
      return lethe_fail(LETHE_ERR_INVALID,
          "%s exists and is not a%s %s lethe wrote (no %s marker naming one): lethe does not write into a "
          "directory or file it did not make; choose a new --out",
          dir, strchr("aeiou", kind[0]) ? "n" : "", kind, LETHE_OUTPUT_MARKER);
    }
  }
  LETHE_TRY(lethe_make_dirs(dir));
  return lethe_dir_mark(dir, kind);
}
