/* tests/testutil.c: shared test helpers (paths, comparisons, running the CLI). */
#include "testutil.h"

#include "lethe/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/rng.h"

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

char *tu_src_path(const char *rel) {
  const char *root = getenv("LETHE_SOURCE_DIR");
  return join(root ? root : ".", rel);
}

char *tu_shared_path(const char *rel) {
  const char *root = getenv("LETHE_SHARED");
  if (!root) return NULL;
  char *p = join(root, rel);
  struct stat st;
  if (stat(p, &st) != 0) {
    free(p);
    return NULL;
  }
  return p;
}

const char *tu_shared_root(void) {
  const char *root = getenv("LETHE_SHARED");
  return root && *root ? root : "(unset)";
}

#define TU_MAX_SKIPS 64
static char *g_skips[TU_MAX_SKIPS];
static int g_nskips;

void tu_note_skip(const char *reason) {
  printf("SKIP: %s\n", reason);
  fflush(stdout);
  if (g_nskips < TU_MAX_SKIPS) g_skips[g_nskips] = strdup(reason);
  g_nskips++;
}

int tu_skip_count(void) { return g_nskips; }

int tu_finish(int cmocka_failed) {
  int n = g_nskips < TU_MAX_SKIPS ? g_nskips : TU_MAX_SKIPS;
  if (g_nskips > 0) {
    printf("%d case(s) could not run here:\n", g_nskips);
    for (int i = 0; i < n; i++) printf("SKIP: %s\n", g_skips[i]);
  }
  for (int i = 0; i < n; i++) free(g_skips[i]);
  if (cmocka_failed) return cmocka_failed;
  return g_nskips > 0 ? 77 : 0;
}

int tu_require_shared_files(const char *first, ...) {
  va_list ap;
  va_start(ap, first);
  int ok = 1;
  for (const char *rel = first; rel; rel = va_arg(ap, const char *)) {
    char *p = tu_shared_path(rel);
    if (!p) {
      printf("SKIP: %s not found under LETHE_SHARED=%s\n", rel, tu_shared_root());
      ok = 0;
      break;
    }
    free(p);
  }
  va_end(ap);
  return ok;
}

char *tu_tmp_path(const char *name) {
  const char *root = getenv("LETHE_TMP");
  char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s.%ld", root ? root : "/tmp", name, (long)getpid());
  return strdup(buf);
}

char *tu_fresh_dir(const char *name) {
  char *p = tu_tmp_path(name);
  lethe_remove_tree(p);
  if (lethe_make_dirs(p) != LETHE_OK) {
    print_error("cannot create %s\n", p);
    fail();
  }
  return p;
}

void tu_write_text(const char *path, const char *text) {
  if (lethe_write_file_atomic(path, text, strlen(text)) != LETHE_OK) {
    print_error("cannot write %s\n", path);
    fail();
  }
}

void tu_remove_dir(char *dir) {
  if (dir) lethe_remove_tree(dir);
  free(dir);
}

int tu_same_file(const char *a, const char *b) {
  char *x, *y;
  size_t nx, ny;
  if (lethe_read_file(a, (size_t)1 << 30, &x, &nx)) return 0;
  if (lethe_read_file(b, (size_t)1 << 30, &y, &ny)) {
    free(x);
    return 0;
  }
  int same = nx == ny && memcmp(x, y, nx) == 0;
  free(x);
  free(y);
  return same;
}

double tu_rel_err(const float *a, const float *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)a[i] - (double)b[i];
    num += d * d;
    den += (double)b[i] * (double)b[i];
  }
  if (isnan(num)) return INFINITY;
  return sqrt(num) / fmax(sqrt(den), 1e-30);
}

double tu_max_abs_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (isnan(d)) return INFINITY;
    if (d > m) m = d;
  }
  return m;
}

void tu_assert_close(const char *what, const float *got, const float *want, size_t n, double tol) {
  double e = tu_rel_err(got, want, n);
  if (!(e <= tol)) {
    print_error(
        "%s: relative error %.3e > %.1e (max abs diff %.3e, n=%zu)\n", what, e, tol, tu_max_abs_diff(got, want, n), n);
    fail();
  }
}

static char *drain(int fd) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  buf[len] = 0;
  return buf;
}

int tu_run_lethe_argv(const char *stdin_text, char **out, char **err, char *const *argv) {
  const char *bin = getenv("LETHE_BIN");
  if (!bin) bin = "lethe";
  char outtmp[] = "/tmp/lethe-test-out-XXXXXX", errtmp[] = "/tmp/lethe-test-err-XXXXXX",
       intmp[] = "/tmp/lethe-test-in-XXXXXX";
  int ofd = mkstemp(outtmp), efd = mkstemp(errtmp), ifd = mkstemp(intmp);
  if (stdin_text) {
    size_t n = strlen(stdin_text);
    if (write(ifd, stdin_text, n) != (ssize_t)n) abort();
    lseek(ifd, 0, SEEK_SET);
  }
  int argc = 0;
  while (argv[argc]) argc++;
  char **full = calloc((size_t)argc + 2, sizeof *full);
  full[0] = (char *)bin;
  for (int i = 0; i < argc; i++) full[i + 1] = argv[i];
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(ifd, 0);
    dup2(ofd, 1);
    dup2(efd, 2);
    execv(bin, full);
    _exit(127);
  }
  free(full);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  lseek(ofd, 0, SEEK_SET);
  lseek(efd, 0, SEEK_SET);
  char *o = drain(ofd), *e = drain(efd);
  close(ofd);
  close(efd);
  close(ifd);
  unlink(outtmp);
  unlink(errtmp);
  unlink(intmp);
  if (out)
    *out = o;
  else
    free(o);
  if (err)
    *err = e;
  else
    free(e);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int tu_run_lethe(const char *stdin_text, char **out, char **err, ...) {
  char *argv[128];
  int n = 0;
  va_list ap;
  va_start(ap, err);
  char *a;
  while ((a = va_arg(ap, char *)) != NULL && n < 127) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  return tu_run_lethe_argv(stdin_text, out, err, argv);
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed) {
  lethe_rng r;
  lethe_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)lethe_rng_uniform(&r);
}

json_t *tu_load_json(const char *rel) {
  char *p = tu_src_path(rel);
  json_error_t e;
  json_t *j = json_load_file(p, 0, &e);
  if (!j) print_error("%s: %s\n", p, e.text);
  assert_non_null(j);
  free(p);
  return j;
}

char *tu_smollm2_path(void) {
  const char *env = getenv("LETHE_SMOLLM2");
  char buf[4096];
  if (env && *env)
    snprintf(buf, sizeof buf, "%s", env);
  else {
    const char *cache = getenv("LETHE_CACHE"), *home = getenv("HOME");
    if (cache && *cache)
      snprintf(buf, sizeof buf, "%s/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", cache);
    else
      snprintf(buf, sizeof buf, "%s/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", home ? home : "");
  }
  struct stat st;
  return stat(buf, &st) == 0 ? strdup(buf) : NULL;
}
