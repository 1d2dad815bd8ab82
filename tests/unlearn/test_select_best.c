/* tests/unlearn/test_select_best.c: evaluation while unlearning and best-checkpoint selection on a
 * real model. stories260K (../shared) memorises synthetic people of this test's own (lethe data
 * bios, seed 7: 8 people, 2 to forget, 4 never seen), then Low-Rank NPO at a learning rate that
 * over-forgets (1e-2, 12 epochs: by the end the forget documents look less likely than unseen
 * ones) is evaluated after every epoch. --select best returns the best final score evaluated (>=
 * every evaluated epoch, including a separate fixed-5-epoch run, which is the same trajectory) and
 * more than the last epoch's; `lethe eval` of the chosen adapter gives exactly the score the run
 * logged; a run stopped mid-way (a NaN step keeps the last checkpoint) and resumed gives the same
 * adapters byte for byte. --lr auto alone reaches task aggregate >= 0.85 and MIA score >= 0.6.
 * lethe sweep trains, tables and resumes. Bad evaluation options and sweep lists fail before any
 * training, with no output. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/fileio.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif
#ifndef SANITIZER_BUILD
#define SANITIZER_BUILD 0
#endif

static char *M, *TOK, *WORK, *DATA, *MEMM;
static char *F, *R, *MM, *MN;

static int setup(void **state) {
  (void)state;
  M = tu_shared_path("models/stories260K/stories260K.bin");
  TOK = tu_shared_path("models/stories260K/tok512.bin");
  WORK = tu_fresh_dir("select-best");
  DATA = lethe_path_join(WORK, "data");
  MEMM = lethe_path_join(WORK, "memorised/model");
  F = lethe_path_join(DATA, "forget.jsonl");
  R = lethe_path_join(DATA, "retain.jsonl");
  MM = lethe_path_join(DATA, "mia_members.jsonl");
  MN = lethe_path_join(DATA, "mia_nonmembers.jsonl");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(WORK);
  char *p[] = {M, TOK, WORK, DATA, MEMM, F, R, MM, MN};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) free(p[i]);
  return 0;
}

/* The people, and stories260K made to memorise them (once per program). */
static void memorise(void) {
  if (lethe_is_dir(MEMM)) return;
  char *err = NULL;
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "data", "bios", "--out", DATA, "--n", "8", "--forget", "2",
                       "--holdout", "4", "--seed", "7", NULL),
      0);
  free(err);
  char *all = lethe_path_join(DATA, "all.jsonl"), *a, *b;
  size_t na, nb;
  assert_int_equal(lethe_read_file(F, 1 << 20, &a, &na), LETHE_OK);
  assert_int_equal(lethe_read_file(R, 1 << 20, &b, &nb), LETHE_OK);
  FILE *fp = fopen(all, "wb");
  fwrite(a, 1, na, fp);
  fwrite(b, 1, nb, fp);
  fclose(fp);
  free(a);
  free(b);
  char *mem = lethe_path_join(WORK, "memorised");
  int rc = tu_run_lethe(NULL, NULL, &err, "train", "--model", M, "--tokenizer", TOK, "--data", all, "--full", "--out",
      mem, "--epochs", "40", "--lr", "3e-3", "--batch", "4", "--schedule", "cosine", "--warmup-steps", "10",
      "--threads", "1", "--quiet", NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  free(all);
  free(mem);
}

/* Every case starts here: the model (../shared) or a skip; with `memorised`, also the model made to
 * memorise the people (once per program). */
static void need_model(int memorised) {
  TU_REQUIRE_SHARED(M, "models/stories260K");
  TU_REQUIRE_SHARED(TOK, "models/stories260K/tok512.bin");
  if (memorised) memorise();
}

/* Unlearning with evaluation after every epoch; extra arguments (NULL-terminated, up to 8). */
static int unlearn(
    const char *out, const char *epochs, char **err, const char *x0, const char *x1, const char *x2, const char *x3) {
  char *argv[40] = {"unlearn", "--model", MEMM, "--tokenizer", TOK, "--forget", F, "--retain", R, "--mia-members", MM,
      "--mia-nonmembers", MN, "--eval-every", "1", "--eval-max-new", "64", "--lr", "1e-2", "--epochs", (char *)epochs,
      "--threads", "1", "--out", (char *)out};
  int n = 25;
  const char *x[] = {x0, x1, x2, x3};
  for (int i = 0; i < 4 && x[i]; i++) argv[n++] = (char *)x[i];
  argv[n] = NULL;
  return tu_run_lethe_argv(NULL, NULL, err, argv);
}

static json_t *load(const char *dir, const char *name) {
  char *p = lethe_path_join(dir, name);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  if (!j) print_error("%s: %s\n", p, je.text);
  free(p);
  assert_non_null(j);
  return j;
}

static double num(json_t *o, const char *a, const char *b) {
  json_t *v = json_object_get(o, a);
  if (b) v = json_object_get(v, b);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* `lethe eval` of an adapter, with the run's settings: its final score as the run computes it. */
static double eval_final(const char *adapter, const char *out) {
  char *err = NULL;
  int rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", MEMM, "--tokenizer", TOK, "--adapter", adapter, "--forget",
      F, "--retain", R, "--mia-members", MM, "--mia-nonmembers", MN, "--max-new", "64", "--threads", "1", "--out", out,
      NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  json_t *r = load(out, "evaluation_results.json");
  double auc = num(r, "mia_loss_acc", NULL);
  double v = (num(r, "harmonic-mean-task-aggregate", NULL) + (1 - 2 * fabs(auc - 0.5))) / 2;
  json_decref(r);
  return v;
}

static void test_select_best_and_resume(void **state) {
  (void)state;
  need_model(1);
  char *a = lethe_path_join(WORK, "a"), *err = NULL;
  int rc = unlearn(a, "12", &err, NULL, NULL, NULL, NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  json_t *run = load(a, "run.json"), *ev = json_object_get(run, "evaluation");
  assert_string_equal(json_string_value(json_object_get(ev, "select")), "best");
  double chosen = num(ev, "chosen", "final"), last = num(ev, "last", "final");
  double chosen_mia = num(ev, "chosen", "mia_score"), last_mia = num(ev, "last", "mia_score");
  int chosen_step = (int)num(ev, "chosen", "step");
  /* every evaluation, in order: before training and after each of the 12 epochs */
  char *lp = lethe_path_join(a, "eval_log.jsonl"), *text;
  size_t len;
  assert_int_equal(lethe_read_file(lp, 1 << 20, &text, &len), LETHE_OK);
  int n = 0;
  double best = -1, at5 = NAN;
  int best_step = -1;
  for (char *line = text; line < text + len; n++) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)(nl - line), 0, &je);
    assert_non_null(o);
    double f = num(o, "final", NULL);
    assert_int_equal((int)num(o, "epoch", NULL), n);
    if (f > best) best = f, best_step = (int)num(o, "step", NULL);
    if (n == 5) at5 = f;
    json_decref(o);
    line = nl + 1;
  }
  free(text);
  free(lp);
  print_message("chosen: step %d, final %.4f (MIA score %.3f); last epoch: final %.4f (MIA score %.3f)\n", chosen_step,
      chosen, chosen_mia, last, last_mia);
  assert_int_equal(n, 13);
  /* the best evaluated (the log holds 9 digits), the earliest of ties */
  assert_true(chosen >= best - 1e-8 && fabs(chosen - best) < 1e-8 && chosen_step == best_step);
  assert_true(chosen > last);         /* the last epoch over-forgets ... */
  assert_true(last_mia < chosen_mia); /* ... the forget documents now stand out as unlikely */
  /* the chosen adapter is the one that scored so, and the last one is kept */
  char *ad = lethe_path_join(a, "adapter"), *adl = lethe_path_join(a, "adapter-last");
  char *e1 = lethe_path_join(WORK, "eval-chosen"), *e2 = lethe_path_join(WORK, "eval-last");
  double got = eval_final(ad, e1), got_last = eval_final(adl, e2);
  print_message("lethe eval: chosen adapter %.6f, last adapter %.6f\n", got, got_last);
  assert_true(fabs(got - chosen) < 1e-6);
  assert_true(fabs(got_last - last) < 1e-6);
  /* a fixed 5-epoch run is the same trajectory; best-selection beats or ties it */
  char *c = lethe_path_join(WORK, "fixed5");
  assert_int_equal(unlearn(c, "5", NULL, "--select", "last", NULL, NULL), 0);
  json_t *r5 = load(c, "run.json");
  double fixed5 = num(json_object_get(r5, "evaluation"), "chosen", "final");
  print_message("fixed 5 epochs: final %.4f (epoch 5 of the long run: %.4f)\n", fixed5, at5);
  assert_true(fabs(fixed5 - at5) < 1e-9);
  assert_true(chosen >= fixed5);
  json_decref(r5);
  /* stopped by a NaN at step 117 (checkpoints every 5 steps: resumes from 115, after the best
   * evaluation at an earlier step), then resumed: the same adapters, byte for byte */
  char *b = lethe_path_join(WORK, "b");
  setenv("LETHE_FAULT_NAN_STEP", "117", 1);
  rc = unlearn(b, "12", &err, "--checkpoint-every", "5", NULL, NULL);
  unsetenv("LETHE_FAULT_NAN_STEP");
  assert_int_not_equal(rc, 0);
  free(err);
  char *adb = lethe_path_join(b, "adapter/adapter_model.safetensors");
  assert_false(lethe_file_exists(adb));
  rc = unlearn(b, "12", &err, "--checkpoint-every", "5", "--resume", b);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "resumed"));
  free(err);
  char *ada = lethe_path_join(a, "adapter/adapter_model.safetensors");
  char *adla = lethe_path_join(a, "adapter-last/adapter_model.safetensors"),
       *adlb = lethe_path_join(b, "adapter-last/adapter_model.safetensors");
  assert_true(tu_same_file(ada, adb));
  assert_true(tu_same_file(adla, adlb));
  json_t *runb = load(b, "run.json");
  assert_true(num(json_object_get(runb, "evaluation"), "chosen", "final") == chosen);
  json_decref(runb);
  json_decref(run);
  char *fr[] = {a, ad, adl, e1, e2, c, b, adb, ada, adla, adlb};
  for (size_t i = 0; i < sizeof fr / sizeof *fr; i++) free(fr[i]);
}

/* What a run wrote, damaged: the report names a bad eval_log.jsonl; a resume names a bad or
 * missing selection state. (Uses the directories test_select_best_and_resume left.) */
static void test_damaged_run_files(void **state) {
  (void)state;
  need_model(0);
  char *a = lethe_path_join(WORK, "a"), *lp = lethe_path_join(a, "eval_log.jsonl"),
       *html = lethe_path_join(WORK, "r.html");
  if (!lethe_is_dir(a)) skip();
  char *err = NULL;
  const char *bad_logs[] = {"{\"step\": 0, \"epoch\": 0, \"final\": \"high\"}\n", "{\"step\": -3}\n", "not json\n",
      "{\"step\": 0, \"epoch\": 0, \"final\": 0.5"};
  for (size_t i = 0; i < sizeof bad_logs / sizeof *bad_logs; i++) {
    tu_write_text(lp, bad_logs[i]);
    int rc = tu_run_lethe(NULL, NULL, &err, "report", "--run", a, "--out", html, NULL);
    if (rc == 0 || !strstr(err, "eval_log.jsonl")) print_error("log %zu: rc %d: %s\n", i, rc, err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "eval_log.jsonl"));
    assert_false(lethe_file_exists(html));
    free(err);
  }
  /* b has its last checkpoint and that step's selection state; damage it, then remove it */
  char *b = lethe_path_join(WORK, "b");
  json_t *st = load(b, "checkpoint/state.json");
  char rel[64];
  snprintf(rel, sizeof rel, "selection/step-%d.json", (int)json_integer_value(json_object_get(st, "step")));
  json_decref(st);
  char *sj = lethe_path_join(b, rel);
  assert_true(lethe_file_exists(sj));
  tu_write_text(sj, "{\"evaluations\": \"x\"}");
  int rc = unlearn(b, "12", &err, "--checkpoint-every", "5", "--resume", b);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, rel + strlen("selection/")));
  free(err);
  remove(sj);
  rc = unlearn(b, "12", &err, "--checkpoint-every", "5", "--resume", b);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "has no evaluation state"));
  free(err);
  free(sj);
  free(b);
  free(a);
  free(lp);
  free(html);
}

/* --lr auto with no other tuning flag: the search picks a rate, the run selects its best epoch,
 * and the result reaches the bar: task aggregate >= 0.85 and MIA score >= 0.6. */
static void test_lr_auto(void **state) {
  (void)state;
  need_model(1);
  char *out = lethe_path_join(WORK, "lr-auto"), *err = NULL;
  int rc = unlearn(out, "12", &err, "--lr", "auto", NULL, NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "lr auto: chose lr"));
  free(err);
  json_t *search = load(out, "lr_search.json"), *run = load(out, "run.json");
  assert_int_equal(json_array_size(json_object_get(search, "candidates")), 5);
  double lr = num(search, "chosen_lr", NULL);
  json_t *ch = json_object_get(json_object_get(run, "evaluation"), "chosen");
  double agg = num(ch, "task_aggregate", NULL), mia = num(ch, "mia_score", NULL);
  print_message(
      "lr auto: lr %g, chosen epoch %.0f: task aggregate %.4f, MIA score %.3f\n", lr, num(ch, "epoch", NULL), agg, mia);
  assert_true(num(json_object_get(run, "lr_auto"), "chosen_lr", NULL) == lr);
  if (!SANITIZER_BUILD) {
    assert_true(agg >= 0.85);
    assert_true(mia >= 0.6);
  }
  json_decref(search);
  json_decref(run);
  free(out);
  /* The bar is a property of the shipped build's arithmetic (-O3 -march=native). The sanitizer
   * build (-O0, no -march=native) rounds differently, and its search lands elsewhere: one run chose
   * an epoch with task aggregate 0.80 at MIA score 1.0 (final 0.90). There this case checks the
   * memory of the whole --lr auto path, and the bar is reported Skipped, not Passed. */
  if (SANITIZER_BUILD)
    tu_skip_case("the --lr auto quality bar (aggregate %.4f >= 0.85, MIA score %.3f >= 0.6) is asserted in the Release "
                 "build only",
        agg, mia);
}

/* MMLU during training: a fixed subset (1 question per subject) scored in every evaluation; the
 * final score is then the mean of the three. */
static void test_mmlu_in_training(void **state) {
  (void)state;
  need_model(0);
  char *mmlu = tu_shared_path("data/mmlu");
  TU_REQUIRE_SHARED(mmlu, "data/mmlu");
  memorise();
  char *out = lethe_path_join(WORK, "mmlu"), *err = NULL;
  int rc = unlearn(out, "1", &err, "--mmlu", mmlu, "--mmlu-limit", "1");
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  char *lp = lethe_path_join(out, "eval_log.jsonl"), *text;
  size_t len;
  assert_int_equal(lethe_read_file(lp, 1 << 20, &text, &len), LETHE_OK);
  int n = 0;
  for (char *line = text; line < text + len; n++) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)(nl - line), 0, &je);
    assert_non_null(o);
    double mm = num(o, "mmlu", NULL), agg = num(o, "task_aggregate", NULL), mia = num(o, "mia_score", NULL);
    print_message("evaluation %d: MMLU %.4f, final %.6f\n", n, mm, num(o, "final", NULL));
    assert_true(mm >= 0 && mm <= 1);
    assert_true(fabs(num(o, "final", NULL) - (agg + mia + mm) / 3) < 1e-7);
    json_decref(o);
    line = nl + 1;
  }
  assert_int_equal(n, 2);
  free(text);
  free(lp);
  free(out);
  free(mmlu);
}

/* lethe sweep: 2 x 1 combinations, each evaluated and selected; the table and the best adapter are
 * written; the runs share one model load and one reference cache and give the bytes of a run on its
 * own; a run whose results are removed is redone on the next call, the others are skipped; an
 * invalid list fails before any run. */
static void test_sweep(void **state) {
  (void)state;
  need_model(1);
  char *out = lethe_path_join(WORK, "sweep"), *err = NULL, *sout = NULL;
  char *argv[] = {"sweep", "--model", MEMM, "--tokenizer", TOK, "--forget", F, "--retain", R, "--mia-members", MM,
      "--mia-nonmembers", MN, "--eval-max-new", "64", "--threads", "1", "--quiet", "--epochs", "3", "--lr", "3e-3,1e-2",
      "--out", out, NULL};
  int rc = tu_run_lethe_argv(NULL, &sout, &err, argv);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  print_message("%s", sout);
  assert_non_null(strstr(sout, "<- best"));
  json_t *sw = load(out, "sweep.json");
  json_t *runs = json_object_get(sw, "runs");
  assert_int_equal(json_array_size(runs), 2);
  int best = (int)json_integer_value(json_object_get(sw, "best"));
  double b = json_number_value(json_object_get(json_object_get(json_array_get(runs, (size_t)best), "chosen"), "final"));
  for (size_t i = 0; i < 2; i++)
    assert_true(json_number_value(json_object_get(json_object_get(json_array_get(runs, i), "chosen"), "final")) <= b);
  char *csv = lethe_path_join(out, "sweep.csv"), *ad = lethe_path_join(out, "adapter/adapter_model.safetensors");
  assert_true(lethe_file_exists(csv));
  char bestrun[64];
  snprintf(bestrun, sizeof bestrun, "%s/adapter/adapter_model.safetensors",
      json_string_value(json_object_get(json_array_get(runs, (size_t)best), "run")));
  char *bad_ad = lethe_path_join(out, bestrun);
  assert_true(tu_same_file(ad, bad_ad));
  /* one model load and one reference cache for both runs, and the same bytes as a run on its own */
  assert_int_equal(json_integer_value(json_object_get(sw, "model_loads")), 1);
  assert_int_equal(json_integer_value(json_object_get(sw, "reference_cache_builds")), 1);
  json_t *run1 = load(out, "run-001/run.json");
  json_t *shr = json_object_get(run1, "shared");
  assert_true(json_is_true(json_object_get(shr, "model_reused")));
  assert_true(json_is_true(json_object_get(shr, "reference_cache_reused")));
  json_decref(run1);
  char *sep = lethe_path_join(WORK, "sweep-separate");
  char *uargv[] = {"unlearn", "--model", MEMM, "--tokenizer", TOK, "--forget", F, "--retain", R, "--mia-members", MM,
      "--mia-nonmembers", MN, "--eval-max-new", "64", "--threads", "1", "--quiet", "--epochs", "3", "--lr", "1e-2",
      "--eval-every", "1", "--out", sep, NULL};
  char *uerr = NULL;
  rc = tu_run_lethe_argv(NULL, NULL, &uerr, uargv);
  if (rc) print_error("%s", uerr);
  assert_int_equal(rc, 0);
  free(uerr);
  const char *files[] = {"adapter/adapter_model.safetensors", "adapter-last/adapter_model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char pa[256], pb[256];
    snprintf(pa, sizeof pa, "%s/run-001/%s", out, files[i]);
    snprintf(pb, sizeof pb, "%s/%s", sep, files[i]);
    assert_true(tu_same_file(pa, pb));
  }
  free(sep);
  json_decref(sw);
  free(sout);
  free(err);
  /* resume: run-001 lost its results; only it runs again */
  char *r1 = lethe_path_join(out, "run-001/run.json");
  assert_int_equal(remove(r1), 0);
  rc = tu_run_lethe_argv(NULL, &sout, &err, argv);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "run-000 finished before; skipped"));
  assert_non_null(strstr(err, "run-001 (2/2)"));
  assert_true(lethe_file_exists(r1));
  free(sout);
  free(err);
  /* an invalid list: nothing runs */
  char *out2 = lethe_path_join(WORK, "sweep-bad");
  rc = tu_run_lethe(NULL, NULL, &err, "sweep", "--model", MEMM, "--tokenizer", TOK, "--forget", F, "--out", out2,
      "--lr", "1e-3,,2e-3", NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "an empty value in the list"));
  assert_false(lethe_is_dir(out2));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "sweep", "--model", MEMM, "--tokenizer", TOK, "--forget", F, "--out", out2,
      "--method", "npo,nope", NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "'nope' is not one of")); /* names the value */
  assert_false(lethe_is_dir(out2));
  free(err);
  free(out2);
  free(r1);
  free(csv);
  free(ad);
  free(bad_ad);
  free(out);
}

/* A bad evaluation option: non-zero exit, one message naming the problem, nothing written. */
static void bad(const char *want, const char *x0, const char *x1, const char *x2, const char *x3) {
  char *out = lethe_path_join(WORK, "bad-out"), *err = NULL;
  lethe_remove_tree(out);
  int rc = unlearn(out, "1", &err, x0, x1, x2, x3);
  if (!err || !strstr(err, want)) print_error("expected '%s' in: %s\n", want, err ? err : "(none)");
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, want));
  assert_null(strstr(err, "epoch 1/")); /* no training started */
  assert_false(lethe_is_dir(out));
  free(err);
  free(out);
}

static void test_bad_eval_options(void **state) {
  (void)state;
  need_model(1);
  char *empty = lethe_path_join(WORK, "empty.jsonl"), *missing = lethe_path_join(WORK, "missing.jsonl");
  FILE *fp = fopen(empty, "wb");
  fclose(fp);
  bad("missing.jsonl", "--eval-forget", missing, NULL, NULL);
  bad("empty.jsonl", "--eval-retain", empty, NULL, NULL);
  bad("empty.jsonl", "--mia-nonmembers", empty, NULL, NULL);
  bad("--eval-every", "--eval-every", "0", NULL, NULL);
  bad("not both", "--eval-every-steps", "3", NULL, NULL);
  bad("best", "--early-stop", "2", "--select", "last");
  bad("option --lr: 'fast' is not a number", "--lr", "fast", NULL, NULL);
  bad("no-such-mmlu", "--mmlu", "no-such-mmlu", NULL, NULL);
  char *out = lethe_path_join(WORK, "bad-out"), *err = NULL;
  /* --select best with nothing to evaluate on (no --eval-every) */
  int rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", MEMM, "--tokenizer", TOK, "--forget", F, "--out", out,
      "--select", "best", NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "--select best needs something to evaluate"));
  assert_false(lethe_is_dir(out));
  free(err);
  free(out);
  free(empty);
  free(missing);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_select_best_and_resume),
      cmocka_unit_test(test_damaged_run_files), cmocka_unit_test(test_lr_auto), cmocka_unit_test(test_mmlu_in_training),
      cmocka_unit_test(test_sweep), cmocka_unit_test(test_bad_eval_options)};
  return tu_run_group_tests(tests, setup, teardown);
}
