/* tests/testutil.h: what every test program shares: cmocka, paths to fixtures and ../shared,
 * relative-error comparison, and running the lethe CLI as a child process. */
#ifndef LETHE_TESTUTIL_H
#define LETHE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka needs the four headers above first.
#include <cmocka.h>

/* Repository root (LETHE_SOURCE_DIR) joined with `rel`; malloc'ed. */
char *tu_src_path(const char *rel);
/* ../shared joined with `rel` (malloc'ed), or NULL when ../shared or the file is absent. */
char *tu_shared_path(const char *rel);
/* A fresh scratch path for this test: LETHE_TMP/<name>.<pid>; malloc'ed. */
char *tu_tmp_path(const char *name);
/* tu_tmp_path(name), created empty (removed first); malloc'ed. */
char *tu_fresh_dir(const char *name);
/* Writes `text` to `path` (fails the test when it cannot). */
void tu_write_text(const char *path, const char *text);

/* Skips the current test with a message when `path` is NULL (shared asset missing). */
#define TU_REQUIRE_SHARED(path, what)                                                              \
  do {                                                                                             \
    if (!(path)) {                                                                                 \
      print_message("SKIP: %s not found (../shared absent?)\n", what);                             \
      skip();                                                                                      \
    }                                                                                              \
  } while (0)

/* ||a - b|| / max(||b||, tiny), in double. */
double tu_rel_err(const float *a, const float *b, size_t n);
double tu_max_abs_diff(const float *a, const float *b, size_t n);

/* Asserts relative error <= tol, printing the name and the numbers on failure. */
void tu_assert_close(const char *what, const float *got, const float *want, size_t n, double tol);

/* Runs `lethe` with the arguments (NULL-terminated), stdin from `stdin_text` (may be NULL),
 * capturing stdout and stderr (malloc'ed, may be passed NULL to discard). Returns the exit code,
 * or 128 + signal number when the child was killed by a signal. */
int tu_run_lethe(const char *stdin_text, char **out, char **err, ...);
/* Same, with an argv array. */
int tu_run_lethe_argv(const char *stdin_text, char **out, char **err, char *const *argv);

/* Fills x[0..n) with uniform values in [lo, hi) from a seeded generator. */
void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed);

#endif
