/* tests/cli/test_outputs.c: outputs never destroy what the user had (issue 13).
 *  - merge/convert into an existing directory lethe did not write: refused, its files intact;
 *    --force replaces it; lethe's own output of the same kind is replaced without --force;
 *  - --out a symbolic link to a directory: refused, the target's files intact; --force replaces
 *    the link itself, never the target; lethe_remove_tree on a link removes only the link;
 *  - an output equal to / inside / containing an input is refused (merge --out = the adapter,
 *    report --out RUN/run.json, unlearn --out inside the model directory);
 *  - unlearn --out an existing user directory is refused; a FIFO as --forget is refused at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"

static char *WORK, *MODEL, *ADAPTER;

static int setup(void **state) {
  (void)state;
  WORK = tu_fresh_dir("outputs");
  MODEL = tu_src_path("tests/fixtures/models/olmo_tiny");
  ADAPTER = tu_src_path("tests/fixtures/peft/olmo_tiny_peft");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(WORK);
  free(WORK);
  free(MODEL);
  free(ADAPTER);
  return 0;
}

static char *w(const char *name) { return lethe_path_join(WORK, name); }

static void assert_text(const char *path, const char *text) {
  char *got;
  size_t n;
  assert_int_equal(lethe_read_file(path, 1 << 20, &got, &n), LETHE_OK);
  assert_string_equal(got, text);
  free(got);
}

/* A user's directory with two files of their own. */
static char *user_dir(const char *name) {
  char *d = w(name);
  lethe_remove_tree(d);
  assert_int_equal(lethe_make_dirs(d), LETHE_OK);
  char *a = lethe_path_join(d, "notes.txt"), *b = lethe_path_join(d, "config.json");
  tu_write_text(a, "my notes\n");
  tu_write_text(b, "{\"mine\": true}\n");
  free(a);
  free(b);
  return d;
}

static void assert_user_dir_intact(const char *d) {
  char *a = lethe_path_join(d, "notes.txt"), *b = lethe_path_join(d, "config.json");
  assert_text(a, "my notes\n");
  assert_text(b, "{\"mine\": true}\n");
  free(a);
  free(b);
}

static int merge(const char *out, int force, char **err) {
  char *argv[] = {
      "merge", "--model", MODEL, "--adapter", ADAPTER, "--out", (char *)out, force ? "--force" : NULL, NULL};
  return tu_run_lethe_argv(NULL, NULL, err, argv);
}

static void test_merge_into_user_dir(void **state) {
  (void)state;
  char *d = user_dir("user_dir"), *err;
  assert_int_equal(merge(d, 0, &err), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "not a model lethe wrote"));
  assert_non_null(strstr(err, "--force"));
  free(err);
  assert_user_dir_intact(d);
  /* a file given as --out is refused and kept */
  char *f = w("user_file");
  tu_write_text(f, "precious\n");
  assert_int_equal(merge(f, 0, &err), 1);
  assert_non_null(strstr(err, "is a file"));
  free(err);
  assert_text(f, "precious\n");
  /* lethe's own merged model is replaced without --force; --force replaces the user's */
  char *m = w("merged");
  assert_int_equal(merge(m, 0, NULL), 0);
  char *marker = lethe_path_join(m, LETHE_OUTPUT_MARKER);
  assert_true(lethe_file_exists(marker));
  assert_int_equal(merge(m, 0, NULL), 0);
  assert_int_equal(merge(d, 1, NULL), 0);
  char *cfg = lethe_path_join(d, "model.safetensors"), *notes = lethe_path_join(d, "notes.txt");
  assert_true(lethe_file_exists(cfg));
  assert_false(lethe_file_exists(notes));
  /* no temporary is left beside the outputs */
  assert_true(lethe_is_temp_name("merged.tmp.1"));
  assert_false(lethe_is_temp_name("merged"));
  assert_int_equal(lethe_remove_temporaries(WORK), 0);
  free(cfg);
  free(notes);
  free(marker);
  free(m);
  free(f);
  free(d);
}

static void test_symlinked_out(void **state) {
  (void)state;
  char *target = user_dir("link_target"), *link = w("link"), *err;
  unlink(link);
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(merge(link, 0, &err), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "symbolic link"));
  free(err);
  assert_user_dir_intact(target);
  /* a convert into it is refused the same way */
  char *argv[] = {"convert", "--model", MODEL, "--out", link, "--no-tokenizer", NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  assert_non_null(strstr(err, "symbolic link"));
  free(err);
  assert_user_dir_intact(target);
  /* --force replaces the link itself, never what it points to */
  assert_int_equal(merge(link, 1, NULL), 0);
  struct stat st;
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_user_dir_intact(target);
  /* the removal helper on a link: only the link goes */
  char *link2 = w("link2");
  assert_int_equal(symlink(target, link2), 0);
  lethe_remove_tree(link2);
  assert_int_not_equal(lstat(link2, &st), 0);
  assert_user_dir_intact(target);
  /* a link inside a tree being removed is not followed */
  char *tree = w("tree"), *inner = w("tree/inner");
  assert_int_equal(lethe_make_dirs(tree), LETHE_OK);
  assert_int_equal(symlink(target, inner), 0);
  lethe_remove_tree(tree);
  assert_false(lethe_is_dir(tree));
  assert_user_dir_intact(target);
  free(tree);
  free(inner);
  free(link2);
  free(link);
  free(target);
}

static void test_output_overlapping_input(void **state) {
  (void)state;
  char *err;
  /* merge --out the adapter directory (a copy: the fixture must stay as it is) */
  char *ad = w("adapter_copy");
  assert_int_equal(lethe_make_dirs(ad), LETHE_OK);
  const char *files[] = {"adapter_config.json", "adapter_model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *a = lethe_path_join(ADAPTER, files[i]), *b = lethe_path_join(ad, files[i]);
    assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  char *argv[] = {"merge", "--model", MODEL, "--adapter", ad, "--out", ad, "--force", NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "lethe never writes over its inputs"));
  free(err);
  char *cfg = lethe_path_join(ad, "adapter_config.json");
  assert_true(lethe_file_exists(cfg));
  /* merge --out the parent of the model, or a directory inside it */
  char *inside = lethe_path_join(MODEL, "merged");
  char *argv2[] = {"merge", "--model", MODEL, "--adapter", ADAPTER, "--out", inside, NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv2), 1);
  assert_non_null(strstr(err, "inside the input"));
  free(err);
  assert_false(lethe_is_dir(inside));
  /* report --out RUN/run.json */
  char *run = w("run"), *src = tu_src_path("tests/fixtures/report/npo");
  assert_int_equal(lethe_make_dirs(run), LETHE_OK);
  char *rj = lethe_path_join(run, "run.json"), *srj = lethe_path_join(src, "run.json");
  assert_int_equal(lethe_copy_file(srj, rj), LETHE_OK);
  char *before;
  size_t nb;
  assert_int_equal(lethe_read_file(rj, 1 << 20, &before, &nb), LETHE_OK);
  char *argv3[] = {"report", "--run", run, "--out", rj, NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv3), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "lethe never writes over its inputs"));
  free(err);
  assert_text(rj, before);
  free(before);
  free(rj);
  free(srj);
  free(run);
  free(src);
  free(inside);
  free(cfg);
  free(ad);
}

static void test_unlearn_outputs(void **state) {
  (void)state;
  char *m = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  if (!m || !tok) {
    free(m);
    free(tok);
    TU_REQUIRE_SHARED(NULL, "models/stories260K");
  }
  char *forget = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"), *err;
  /* an existing user directory as --out */
  char *d = user_dir("unlearn_user");
  char *argv[] = {"unlearn", "--model", m, "--tokenizer", tok, "--forget", forget, "--out", d, "--epochs", "1", NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "not a run lethe wrote"));
  free(err);
  assert_user_dir_intact(d);
  /* a symbolic link to it */
  char *link = w("unlearn_link");
  assert_int_equal(symlink(d, link), 0);
  argv[8] = link;
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  assert_non_null(strstr(err, "symbolic link"));
  free(err);
  assert_user_dir_intact(d);
  /* a FIFO as the forget set: refused at once (it used to block forever on open) */
  char *fifo = w("forget.fifo"), *out = w("unlearn_fifo");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  argv[6] = fifo;
  argv[8] = out;
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "not a regular file (a FIFO)"));
  free(err);
  free(fifo);
  free(out);
  free(link);
  free(d);
  free(forget);
  free(m);
  free(tok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_merge_into_user_dir),
      cmocka_unit_test(test_symlinked_out),
      cmocka_unit_test(test_output_overlapping_input),
      cmocka_unit_test(test_unlearn_outputs),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
