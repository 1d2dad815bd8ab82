/* tests/unlearn/test_kill_points.c: checkpoints are crash-proof at every instant (issue 13).
 * `lethe unlearn` (LoRA, NPO) and `lethe train --full` on stories260K, 6 steps with a checkpoint
 * every 2, are run once uninterrupted with the kill shim (tests/unlearn/killshim.c, LD_PRELOAD)
 * counting their rename()/fsync() calls: every point at which an output is published or made
 * durable. Then, for every k, the same run is killed with SIGKILL just before its k-th call and
 * resumed with --resume: each resumed run must finish and give the same adapter / model bytes as
 * the uninterrupted run, one log line per step, and no temporary left behind. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/fileio.h"

static char *M, *TOK, *WORK, *SHIM;

static int setup(void **state) {
  (void)state;
  M = tu_shared_path("models/stories260K/stories260K.bin");
  TOK = tu_shared_path("models/stories260K/tok512.bin");
  WORK = tu_fresh_dir("kill-points");
  SHIM = getenv("LETHE_KILLSHIM") ? strdup(getenv("LETHE_KILLSHIM")) : NULL;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(WORK);
  free(M);
  free(TOK);
  free(WORK);
  free(SHIM);
  return 0;
}

/* Runs argv (out replaced into the slot `out_at`) under the shim; kill_at 0: count only. */
static int run_shimmed(char **argv, long kill_at, const char *count_file) {
  char k[32];
  snprintf(k, sizeof k, "%ld", kill_at);
  const char *asan = getenv("ASAN_OPTIONS");
  char *saved = asan ? strdup(asan) : NULL, opts[1024];
  /* a sanitized lethe with the (uninstrumented) shim preloaded before the ASan runtime */
  snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", saved ? saved : "", saved ? ":" : "");
  setenv("LD_PRELOAD", SHIM, 1);
  setenv("ASAN_OPTIONS", opts, 1);
  setenv("LETHE_KILL_AT", k, 1);
  if (count_file) setenv("LETHE_KILL_COUNT_FILE", count_file, 1);
  int rc = tu_run_lethe_argv(NULL, NULL, NULL, argv);
  unsetenv("LD_PRELOAD");
  if (saved)
    setenv("ASAN_OPTIONS", saved, 1);
  else
    unsetenv("ASAN_OPTIONS");
  free(saved);
  unsetenv("LETHE_KILL_AT");
  unsetenv("LETHE_KILL_COUNT_FILE");
  return rc;
}

static void assert_same_file(const char *a, const char *b, long k) {
  lethe_mapped_file ma, mb;
  assert_int_equal(lethe_map_file(a, &ma), LETHE_OK);
  if (lethe_map_file(b, &mb) != LETHE_OK) {
    print_error("kill point %ld: %s missing after the resume\n", k, b);
    fail();
  }
  if (ma.size != mb.size || memcmp(ma.data, mb.data, ma.size) != 0) {
    print_error("kill point %ld: %s differs from the uninterrupted run's\n", k, b);
    fail();
  }
  lethe_unmap_file(&ma);
  lethe_unmap_file(&mb);
}

static int lines_of(const char *path) {
  char *text;
  size_t len;
  if (lethe_read_file(path, 1 << 20, &text, &len)) return -1;
  int n = 0;
  for (size_t i = 0; i < len; i++) n += text[i] == '\n';
  free(text);
  return n;
}

/* argv ends with "--out", NULL, NULL: the out slot is argv[n-2]. `product` is the file compared. */
static void every_kill_point(char **argv, int n, const char *name, const char *product, int steps) {
  char *ref = lethe_path_join(WORK, name), *count = lethe_path_join(WORK, "count.txt");
  argv[n - 2] = ref;
  assert_int_equal(run_shimmed(argv, 0, count), 0);
  char *text;
  size_t len;
  assert_int_equal(lethe_read_file(count, 64, &text, &len), LETHE_OK);
  long points = atol(text);
  free(text);
  print_message("%s: %ld rename/fsync points in an uninterrupted run\n", name, points);
  assert_true(points >= 20);
  char *ref_product = lethe_path_join(ref, product);
  assert_true(lethe_file_exists(ref_product));
  char *resume_argv[64];
  int kills = 0;
  for (long k = 1; k <= points; k++) {
    char sub[64];
    snprintf(sub, sizeof sub, "%s-k%ld", name, k);
    char *out = lethe_path_join(WORK, sub);
    argv[n - 2] = out;
    int rc = run_shimmed(argv, k, NULL);
    if (rc != 128 + SIGKILL) {
      print_error("kill point %ld: the run was not killed (exit %d)\n", k, rc);
      fail();
    }
    kills++;
    /* the same command with --resume OUT instead of --out OUT */
    int m = 0;
    for (int i = 0; i < n - 3; i++) resume_argv[m++] = argv[i];
    resume_argv[m++] = "--resume";
    resume_argv[m++] = out;
    resume_argv[m] = NULL;
    char *err = NULL;
    rc = tu_run_lethe_argv(NULL, NULL, &err, resume_argv);
    if (rc != 0) {
      print_error("kill point %ld: the resume failed (exit %d): %s\n", k, rc, err);
      fail();
    }
    free(err);
    char *got = lethe_path_join(out, product), *log = lethe_path_join(out, "train_log.jsonl");
    assert_same_file(ref_product, got, k);
    if (lines_of(log) != steps) {
      print_error("kill point %ld: the log has %d lines, %d steps were run\n", k, lines_of(log), steps);
      fail();
    }
    if (lethe_remove_temporaries(out) != 0) {
      print_error("kill point %ld: temporaries were left in %s\n", k, out);
      fail();
    }
    lethe_remove_tree(out);
    free(got);
    free(log);
    free(out);
  }
  print_message("%s: killed at each of the %d points and resumed: the same bytes every time\n", name, kills);
  free(ref_product);
  free(count);
  free(ref);
}

#define REQUIRE()                                                                                                      \
  do {                                                                                                                 \
    TU_REQUIRE_SHARED(M, "models/stories260K");                                                                        \
    TU_REQUIRE_SHARED(TOK, "models/stories260K/tok512.bin");                                                           \
    if (!SHIM) {                                                                                                       \
      print_message("SKIP: LETHE_KILLSHIM (the LD_PRELOAD shim) not set\n");                                           \
      skip();                                                                                                          \
    }                                                                                                                  \
  } while (0)

static void test_unlearn_every_kill_point(void **state) {
  (void)state;
  REQUIRE();
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"),
       *r = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl");
  char *argv[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--lr", "7e-4", "--epochs",
      "2", "--threads", "1", "--checkpoint-every", "2", "--quiet", "--out", NULL, NULL};
  every_kill_point(argv, (int)(sizeof argv / sizeof *argv), "unlearn", "adapter/adapter_model.safetensors", 6);
  free(f);
  free(r);
}

static void test_train_every_kill_point(void **state) {
  (void)state;
  REQUIRE();
  char *d = tu_src_path("tests/fixtures/unlearn/stories_all.jsonl");
  char *argv[] = {"train", "--model", M, "--tokenizer", TOK, "--data", d, "--full", "--lr", "3e-3", "--batch", "4",
      "--epochs", "2", "--threads", "1", "--checkpoint-every", "2", "--quiet", "--out", NULL, NULL};
  every_kill_point(argv, (int)(sizeof argv / sizeof *argv), "train", "model/model.safetensors", 6);
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unlearn_every_kill_point),
      cmocka_unit_test(test_train_every_kill_point),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
