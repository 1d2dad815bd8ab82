/* tests/unlearn/test_unlearn_cli.c: `lethe train` and `lethe unlearn` end to end. The SIGKILL-resume,
 * bad-data and NaN cases run on committed files only, so they never skip: a small from-scratch
 * Llama-architecture model with the built-in byte tokenizer (tests/fixtures/unlearn/tiny_llama, made
 * by tools/reference/make_unlearn_model.c). The NPO case needs a pretrained model and uses
 * stories260K, committed as tests/fixtures/unlearn/stories260K (MIT, karpathy/tinyllamas): a
 * from-scratch model's retain NLL moved by 20-30% under NPO depending on the build and seed, too
 * unstable for its 10% band. That model
 * is made to memorise a small forget and retain set by full-parameter training with lethe; Low-Rank NPO then raises the
 * forget answer NLL several times over (>= 3x) while the retain answer NLL stays within 10% of its starting value. A
 * run killed with SIGKILL mid-way and resumed (with --recompute) gives the same adapter, byte for byte, as an
 * uninterrupted one (without it). Bad inputs
 * (empty forget set, a row without output, too-long rows, invalid JSON, a missing file) get one
 * clear error or a counted warning. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"

static char *M, *TOK, *WORK, *MEM;
static char *M260, *TOK260, *MEM260; /* stories260K (tests/fixtures/unlearn/stories260K) */

static int setup(void **state) {
  (void)state;
  M = tu_src_path("tests/fixtures/unlearn/tiny_llama");
  TOK = tu_src_path("tests/fixtures/unlearn/tiny_llama/tokenizer.json");
  WORK = tu_fresh_dir("unlearn-cli");
  MEM = lethe_path_join(WORK, "memorised");
  M260 = tu_src_path("tests/fixtures/unlearn/stories260K/stories260K.bin");
  TOK260 = tu_src_path("tests/fixtures/unlearn/stories260K/tok512.bin");
  MEM260 = lethe_path_join(WORK, "memorised260K");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(WORK);
  free(M);
  free(TOK);
  free(WORK);
  free(MEM);
  free(M260);
  free(TOK260);
  free(MEM260);
  return 0;
}

static char *fx(const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fixtures/unlearn/%s", name);
  return tu_src_path(rel);
}

/* Makes `model` memorise the 12 rows into `mem` (once per test program). */
static void memorise_into(const char *model, const char *tok, const char *mem, const char *epochs) {
  char *model_dir = lethe_path_join(mem, "model");
  if (lethe_is_dir(model_dir)) {
    free(model_dir);
    return;
  }
  char *all = fx("stories_all.jsonl");
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "train", "--model", model, "--tokenizer", tok, "--data", all, "--full",
      "--out", mem, "--epochs", epochs, "--lr", "3e-3", "--batch", "4", "--threads", "2", NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  assert_true(lethe_is_dir(model_dir));
  free(err);
  free(all);
  free(model_dir);
}

/* The tiny model: 44 epochs bring its answer NLL to about 0.1. */
static void memorise(void) { memorise_into(M, TOK, MEM, "44"); }
/* stories260K, pretrained: 4 epochs bring it to about 0.3, memorised but not trivially. */
static void memorise260(void) { memorise_into(M260, TOK260, MEM260, "4"); }

static double nll(json_t *run, const char *key) {
  return json_real_value(json_object_get(json_object_get(run, "answer_nll"), key));
}

static void test_npo_forgets_and_keeps(void **state) {
  (void)state;
  memorise260();
  char *model_dir = lethe_path_join(MEM260, "model"), *out = lethe_path_join(WORK, "npo");
  char *f = fx("stories_forget.jsonl"), *r = fx("stories_retain.jsonl");
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", model_dir, "--tokenizer", TOK260, "--forget", f,
      "--retain", r, "--out", out, "--lr", "7e-4", "--threads", "2", NULL);
  print_message("%s", err);
  assert_int_equal(rc, 0);
  char *rp = lethe_path_join(out, "run.json");
  json_error_t je;
  json_t *run = json_load_file(rp, 0, &je);
  assert_non_null(run);
  double f0 = nll(run, "forget_before"), f1 = nll(run, "forget_after"), r0 = nll(run, "retain_before"),
         r1 = nll(run, "retain_after");
  print_message("forget answer NLL %.4f -> %.4f (x%.2f), retain %.4f -> %.4f (%+.1f%%)\n", f0, f1, f1 / f0, r0, r1,
      100 * (r1 - r0) / r0);
  assert_true(f0 > 0.05 && f0 < 1.0); /* memorised, not trivially */
  assert_true(f1 >= 3.0 * f0);
  assert_true(r1 <= 1.10 * r0 && r1 >= 0.90 * r0);
  /* run.json names the adapted modules (the default q_proj,v_proj) */
  const json_t *lt = json_object_get(json_object_get(run, "options"), "lora_targets");
  assert_true(json_is_array(lt) && json_array_size(lt) == 2);
  assert_string_equal(json_string_value(json_array_get(lt, 0)), "q_proj");
  assert_string_equal(json_string_value(json_array_get(lt, 1)), "v_proj");
  /* The adapter is a PEFT directory; the log has one line per step (6 steps x 20 epochs / 2). */
  char *ad = lethe_path_join(out, "adapter/adapter_config.json"), *lg = lethe_path_join(out, "train_log.jsonl");
  assert_true(lethe_file_exists(ad));
  char *text;
  size_t len;
  assert_int_equal(lethe_read_file(lg, 1 << 20, &text, &len), LETHE_OK);
  int lines = 0;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  assert_int_equal(lines, 60);
  assert_non_null(strstr(text, "\"grad_norm\""));
  free(text);
  json_decref(run);
  free(ad);
  free(lg);
  free(rp);
  free(err);
  free(f);
  free(r);
  free(out);
  free(model_dir);
}

/* Starts lethe in the background; returns its pid. */
static pid_t spawn(char *const *argv) {
  const char *bin = getenv("LETHE_BIN");
  int argc = 0;
  while (argv[argc]) argc++;
  char **full = calloc((size_t)argc + 2, sizeof *full);
  full[0] = (char *)bin;
  for (int i = 0; i < argc; i++) full[i + 1] = argv[i];
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(bin, full);
    _exit(127);
  }
  free(full);
  return pid;
}

static int checkpoint_step(const char *out) {
  char *p = lethe_path_join(out, "checkpoint/state.json");
  json_error_t je;
  json_t *s = json_load_file(p, 0, &je);
  free(p);
  if (!s) return -1;
  int step = (int)json_integer_value(json_object_get(s, "step"));
  json_decref(s);
  return step;
}

static void test_sigkill_resume_is_bit_identical(void **state) {
  (void)state;
  memorise();
  char *model_dir = lethe_path_join(MEM, "model");
  char *f = fx("stories_forget.jsonl"), *r = fx("stories_retain.jsonl");
  char *a = lethe_path_join(WORK, "uninterrupted"), *b = lethe_path_join(WORK, "killed");
  char *common[] = {"unlearn", "--model", model_dir, "--tokenizer", TOK, "--forget", f, "--retain", r, "--lr", "7e-4",
      "--epochs", "40", "--threads", "2", "--checkpoint-every", "5", "--out", NULL, NULL};
  int n = (int)(sizeof common / sizeof *common);
  common[n - 2] = a;
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, NULL, common), 0);
  /* The same run, killed with SIGKILL once a checkpoint past step 20 exists. */
  common[n - 2] = b;
  pid_t pid = spawn(common);
  int killed_at = -1;
  for (int i = 0; i < 6000; i++) {
    int st = checkpoint_step(b);
    if (st >= 20) {
      kill(pid, SIGKILL);
      killed_at = st;
      break;
    }
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  if (pid > 0) waitpid(pid, NULL, 0);
  assert_true(killed_at >= 20);
  char *adapter_b = lethe_path_join(b, "adapter/adapter_model.safetensors");
  assert_false(lethe_file_exists(adapter_b)); /* it really died before the end */
  print_message("killed with SIGKILL after the checkpoint of step %d; resuming\n", killed_at);
  /* resumed with activation recomputation: the same numbers, so still the same bytes */
  char *resume[] = {"unlearn", "--model", model_dir, "--tokenizer", TOK, "--forget", f, "--retain", r, "--lr", "7e-4",
      "--epochs", "40", "--threads", "2", "--checkpoint-every", "5", "--recompute", "--resume", b, NULL};
  char *err;
  int rc = tu_run_lethe_argv(NULL, NULL, &err, resume);
  print_message("%s", strstr(err, "resumed") ? strstr(err, "resumed") : err);
  assert_int_equal(rc, 0);
  char *adapter_a = lethe_path_join(a, "adapter/adapter_model.safetensors");
  lethe_mapped_file ma, mb;
  assert_int_equal(lethe_map_file(adapter_a, &ma), LETHE_OK);
  assert_int_equal(lethe_map_file(adapter_b, &mb), LETHE_OK);
  assert_int_equal(ma.size, mb.size);
  assert_memory_equal(ma.data, mb.data, ma.size);
  lethe_unmap_file(&ma);
  lethe_unmap_file(&mb);
  /* The resumed log has each step once. */
  char *lg = lethe_path_join(b, "train_log.jsonl"), *text;
  size_t len;
  assert_int_equal(lethe_read_file(lg, 1 << 20, &text, &len), LETHE_OK);
  int lines = 0;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  assert_int_equal(lines, 120);
  free(text);
  free(lg);
  free(err);
  free(adapter_a);
  free(adapter_b);
  free(a);
  free(b);
  free(f);
  free(r);
  free(model_dir);
}

static void write_text(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* Runs unlearn with the given forget file; returns the exit code and stderr. */
static int unlearn_with(const char *forget_text, char **err, const char *extra) {
  char *fpath = lethe_path_join(WORK, "bad_forget.jsonl"), *out = lethe_path_join(WORK, "bad_out");
  char *r = fx("stories_retain.jsonl");
  if (forget_text)
    write_text(fpath, forget_text);
  else
    unlink(fpath);
  int rc = tu_run_lethe(NULL, NULL, err, "unlearn", "--model", M, "--tokenizer", TOK, "--forget", fpath, "--retain", r,
      "--out", out, "--epochs", "1", "--max-len", extra ? extra : "512", NULL);
  free(fpath);
  free(out);
  free(r);
  return rc;
}

static void test_bad_data(void **state) {
  (void)state;
  char *err;
  assert_int_equal(unlearn_with("", &err, NULL), 1);
  assert_non_null(strstr(err, "no rows"));
  free(err);
  assert_int_equal(unlearn_with("{\"id\": \"a\", \"input\": \"x\"}\n", &err, NULL), 1);
  assert_non_null(strstr(err, ":1: missing field \"output\""));
  free(err);
  assert_int_equal(
      unlearn_with("{\"id\": \"a\", \"input\": \"x\", \"output\": \"y\"}\n{\"id\": \"b\", \"input\": }\n", &err, NULL),
      1);
  assert_non_null(strstr(err, ":2: invalid JSON"));
  free(err);
  assert_int_equal(unlearn_with("{\"id\": \"a\", \"input\": 5, \"output\": \"y\"}\n", &err, NULL), 1);
  assert_non_null(strstr(err, "must be a string"));
  free(err);
  assert_int_equal(unlearn_with(NULL, &err, NULL), 1);
  assert_non_null(strstr(err, "cannot open"));
  free(err);
  /* Rows longer than --max-len are cut and counted; the run goes on. */
  assert_int_equal(
      unlearn_with("{\"id\": \"q\\\"x\\\"sc1\", \"input\": \"Once upon a time there was a girl\", \"output\": \" who "
                   "liked to run and jump and play in the sun all day long.\", \"extra\": [1, 2]}\n",
          &err, "40"),
      0);
  assert_non_null(strstr(err, "rows longer than --max-len 40 were cut")); /* 40 bytes: the input and a bit */
  free(err);
  /* A forget set whose only row has no answer token left. */
  assert_int_equal(
      unlearn_with(
          "{\"id\": \"a\", \"input\": \"Once upon a time there was a girl who\", \"output\": \" ran.\"}\n", &err, "4"),
      1);
  assert_non_null(strstr(err, "no forget row has an answer token"));
  free(err);
}

/* A NaN in the middle of a run (injected into step 5's gradient) stops it with a clear message;
 * the checkpoint of step 4 stays, and a resume without the fault finishes the run. */
static void test_nan_keeps_last_checkpoint(void **state) {
  (void)state;
  char *f = fx("stories_forget.jsonl"), *r = fx("stories_retain.jsonl"), *out = lethe_path_join(WORK, "nan");
  char *argv[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--out", out, "--epochs",
      "3", "--checkpoint-every", "2", "--threads", "2", NULL};
  setenv("LETHE_FAULT_NAN_STEP", "5", 1);
  char *err;
  int rc = tu_run_lethe_argv(NULL, NULL, &err, argv);
  unsetenv("LETHE_FAULT_NAN_STEP");
  print_message("exit %d: %s", rc, strstr(err, "lethe unlearn:") ? strstr(err, "lethe unlearn:") : err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "step 5: the gradient is not finite"));
  assert_non_null(strstr(err, "the last good checkpoint is kept in"));
  assert_int_equal(checkpoint_step(out), 4);
  char *ad = lethe_path_join(out, "adapter");
  assert_false(lethe_is_dir(ad)); /* no output from a failed run */
  free(err);
  char *resume[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--resume", out,
      "--epochs", "3", "--checkpoint-every", "2", "--threads", "2", NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, NULL, resume), 0);
  assert_true(lethe_is_dir(ad));
  free(ad);
  free(f);
  free(r);
  free(out);
}

/* Resume checks what it resumes: changed data (the forget rows reversed: same counts), another
 * --threads (results depend on it), a tampered state.json; and a run directory without a
 * checkpoint yet starts from the beginning and says so. */
static void test_resume_checks_inputs(void **state) {
  (void)state;
  char *f = fx("stories_forget.jsonl"), *r = fx("stories_retain.jsonl"), *out = lethe_path_join(WORK, "checks");
  char *rev = lethe_path_join(WORK, "forget_reversed.jsonl");
  char *argv[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--epochs", "2",
      "--checkpoint-every", "2", "--threads", "2", "--quiet", "--out", out, NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, NULL, argv), 0);
  assert_int_equal(checkpoint_step(out), 4);
  argv[16] = "--resume";
  /* the forget rows reversed */
  char *text;
  size_t len;
  assert_int_equal(lethe_read_file(f, 1 << 20, &text, &len), LETHE_OK);
  char *lines[64];
  int n = 0;
  for (char *p = strtok(text, "\n"); p && n < 64; p = strtok(NULL, "\n")) lines[n++] = p;
  FILE *fp = fopen(rev, "wb");
  for (int i = n - 1; i >= 0; i--) fprintf(fp, "%s\n", lines[i]);
  fclose(fp);
  free(text);
  argv[6] = rev;
  char *err;
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "cannot resume: the forget data"));
  assert_non_null(strstr(err, "is not the one the checkpoint was trained on"));
  free(err);
  argv[6] = f;
  /* another thread count */
  argv[14] = "1";
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "--threads is 1 now but was 2"));
  free(err);
  argv[14] = "2";
  /* a tampered step */
  char *sp = lethe_path_join(out, "checkpoint/state.json");
  json_error_t je;
  json_t *st = json_load_file(sp, 0, &je);
  assert_non_null(st);
  json_object_set_new(st, "step", json_integer((json_int_t)1 << 62));
  assert_int_equal(json_dump_file(st, sp, 0), 0);
  json_decref(st);
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "field 'step' is 4611686018427387904, outside [0, 6]"));
  free(err);
  /* no checkpoint yet: the run starts from the beginning */
  char *fresh = lethe_path_join(WORK, "fresh");
  assert_int_equal(lethe_make_dirs(fresh), LETHE_OK);
  argv[17] = fresh;
  argv[15] = "--recompute"; /* not --quiet: the progress stream says it */
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 0);
  assert_non_null(strstr(err, "has no checkpoint yet: starting the run from the beginning"));
  free(err);
  char *ad = lethe_path_join(fresh, "adapter/adapter_model.safetensors");
  assert_true(lethe_file_exists(ad));
  free(ad);
  free(fresh);
  free(sp);
  free(rev);
  free(out);
  free(f);
  free(r);
}

/* Two ctest tests, both on committed fixtures only (neither skips): test_unlearn_cli and
 * test_unlearn_npo (`test_unlearn_cli npo`: NPO on stories260K). */
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "npo")) {
    const struct CMUnitTest npo[] = {cmocka_unit_test(test_npo_forgets_and_keeps)};
    return tu_run_group_tests(npo, setup, teardown);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigkill_resume_is_bit_identical),
      cmocka_unit_test(test_bad_data),
      cmocka_unit_test(test_nan_keeps_last_checkpoint),
      cmocka_unit_test(test_resume_checks_inputs),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
