/* tests/testutil.h: what every test program shares: cmocka, paths to fixtures and ../shared,
 * relative-error comparison, and running the lethe CLI as a child process. */
#ifndef LETHE_TESTUTIL_H
#define LETHE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
// cmocka needs the four headers above first.
#include <cmocka.h>

#include <jansson.h>

/* A JSON file of the repository (tu_src_path(rel)), parsed; fails the test when it does not load. */
json_t *tu_load_json(const char *rel);
/* The SmolLM2-135M-Instruct Q4_1 GGUF (LETHE_SMOLLM2, else LETHE_CACHE or ~/.cache/lethe under
 * smollm2/; fetched by scripts/fetch-smollm2.sh), malloc'ed, or NULL when absent. */
char *tu_smollm2_path(void);

/* Repository root (LETHE_SOURCE_DIR) joined with `rel`; malloc'ed. */
char *tu_src_path(const char *rel);
/* ../shared joined with `rel` (malloc'ed), or NULL when ../shared or the file is absent. */
char *tu_shared_path(const char *rel);
/* A fresh scratch path for this test: LETHE_TMP/<name>.<pid>; malloc'ed. */
char *tu_tmp_path(const char *name);
/* tu_tmp_path(name), created empty (removed first); malloc'ed. */
char *tu_fresh_dir(const char *name);
/* Removes a tu_fresh_dir directory and frees its path. */
void tu_remove_dir(char *dir);
/* A test program's scratch directory: defines `static char *WORK` and the cmocka group setup and
 * teardown (pass them to tu_run_group_tests) that create it (tu_fresh_dir(name)) and remove it. */
#define TU_WORK_DIR(name)                                                                                              \
  static char *WORK;                                                                                                   \
  static int setup(void **state) {                                                                                     \
    (void)state;                                                                                                       \
    WORK = tu_fresh_dir(name);                                                                                         \
    return 0;                                                                                                          \
  }                                                                                                                    \
  static int teardown(void **state) {                                                                                  \
    (void)state;                                                                                                       \
    tu_remove_dir(WORK);                                                                                               \
    return 0;                                                                                                          \
  }
/* Writes `text` to `path` (fails the test when it cannot). */
void tu_write_text(const char *path, const char *text);
/* 1 when the two files hold the same bytes; 0 when they differ or either cannot be read (up to 1 GiB). */
int tu_same_file(const char *a, const char *b);

/* Honest skips. ctest shows a program as Skipped only when it exits 77 (SKIP_RETURN_CODE); cmocka's
 * skip() alone reports the program as Passed. So a case that cannot run calls tu_skip_case (or
 * TU_REQUIRE_SHARED), which prints "SKIP: <reason>" and records it, and main returns
 * tu_run_group_tests(...): the cmocka result when a case failed, else 77 when any case was skipped
 * (the reasons are printed again at the end), else 0. A program none of whose cases can run without
 * some file calls tu_require_shared_files() first and returns 77 at once. */
void tu_note_skip(const char *reason);
/* Counts the skips noted so far. */
int tu_skip_count(void);
/* cmocka's failure count when non-zero; otherwise 77 if a case was skipped, else 0. */
int tu_finish(int cmocka_failed);
#define tu_run_group_tests(tests, setup, teardown) tu_finish(cmocka_run_group_tests(tests, setup, teardown))

/* Skips the current case, with the reason, and records it for tu_finish. */
#define tu_skip_case(...)                                                                                              \
  do {                                                                                                                 \
    char tu_reason_[8192];                                                                                             \
    snprintf(tu_reason_, sizeof tu_reason_, __VA_ARGS__);                                                              \
    tu_note_skip(tu_reason_);                                                                                          \
    skip();                                                                                                            \
  } while (0)

/* Skips the current case when `path` is NULL (a ../shared asset is missing). */
#define TU_REQUIRE_SHARED(path, what)                                                                                  \
  do {                                                                                                                 \
    if (!(path)) tu_skip_case("%s not found under LETHE_SHARED=%s", what, tu_shared_root());                           \
  } while (0)

/* The ../shared root the tests look in (LETHE_SHARED), or "(unset)". */
const char *tu_shared_root(void);
/* Returns 1 when every NULL-terminated ../shared path exists; otherwise prints "SKIP: ..." naming
 * the first missing one and returns 0 (main then returns 77). */
int tu_require_shared_files(const char *first, ...);

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
