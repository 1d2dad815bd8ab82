/* test_mpi: data parallelism over MPI on the committed fixtures (tests/fixtures/unlearn/: the tiny
 * Llama model, six forget and six retain stories). `mpirun -np 2 lethe unlearn --batch B` (each rank
 * B/2 sequences of every global batch) against one process with --batch B: the same losses at every
 * step and the same adapter, for npo, npo-seq, full-vocabulary KL, an uneven split (batch 5:
 * slices of 3 and 2, a last batch of 2), full-parameter `lethe train`, and over TCP only
 * (--mca btl tcp,self, as between machines). Tolerance: rel err <= 1e-5 on each logged loss and on
 * the adapter (the gradient is summed in another order; fp32). A rank killed mid-run ends the job
 * within seconds with a non-zero exit, and --resume (same N) reaches the adapter of the
 * uninterrupted 2-rank run; bad input gives one message; `lethe bench step` gives one process's
 * losses and reports per-rank tokens/s; `lethe generate` (not data-parallel) is refused. `lethe eval`
 * over 2 and 3 ranks (rows, MIA documents, MMLU questions split in whole batches) writes files
 * byte-identical to one process's; `lethe unlearn --eval-every 1 --select best --early-stop` over 2
 * ranks chooses the same evaluation as one process (same step, scores within 1e-6) and the same
 * adapter (TOL), and so do --lr auto (the same rate) and `lethe sweep` (the same sweep.csv); an
 * input bad on one rank only (an MPMD launch) ends the job within seconds with one message from
 * that rank. Skipped (exit 77) when lethe was built without MPI or mpirun is missing. Runs as root
 * too (OMPI_ALLOW_RUN_AS_ROOT). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "lethe/util.h"
#include "testutil.h"
#include "util/fileio.h"

static char *M, *TOK, *FORGET, *RETAIN, *ALL, *WORK;
static const char *MPIRUN;
static const double TOL = 1e-5;

/* argv of `[mpirun --oversubscribe -np N [--mca btl tcp,self]] lethe ARGS...` into out (NULL-ended). */
static int build_argv(int np, int tcp, char *const *args, char **out) {
  static char npbuf[16];
  int k = 0;
  const char *bin = getenv("LETHE_BIN");
  if (np > 0) {
    snprintf(npbuf, sizeof npbuf, "%d", np);
    out[k++] = (char *)MPIRUN;
    out[k++] = "--oversubscribe";
    out[k++] = "-np";
    out[k++] = npbuf;
    if (tcp) {
      out[k++] = "--mca";
      out[k++] = "btl";
      out[k++] = "tcp,self";
    }
  }
  out[k++] = (char *)bin;
  for (int i = 0; args[i]; i++) out[k++] = args[i];
  out[k] = NULL;
  return k;
}

/* Starts the command with stderr into err_path (stdout into out_path, or discarded); returns the pid. */
static pid_t spawn_out(int np, int tcp, char *const *args, const char *err_path, const char *out_path) {
  char *argv[96];
  build_argv(np, tcp, args, argv);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int nul = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(fd, 2);
    setpgid(0, 0);
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static pid_t spawn(int np, int tcp, char *const *args, const char *err_path) {
  return spawn_out(np, tcp, args, err_path, NULL);
}

static int wait_rc(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static char *read_text(const char *path) {
  char *text = NULL;
  size_t len;
  if (lethe_read_file(path, 1 << 24, &text, &len) != LETHE_OK) return strdup("");
  return text;
}

/* Runs to completion; returns the exit code, *err (may be NULL) the stderr text. */
static int run(int np, int tcp, char *const *args, char **err) {
  char *ep = lethe_path_join(WORK, "stderr.txt");
  int rc = wait_rc(spawn(np, tcp, args, ep));
  char *e = read_text(ep);
  if (rc != 0) print_message("exit %d:\n%s\n", rc, e);
  if (err)
    *err = e;
  else
    free(e);
  free(ep);
  return rc;
}

/* The "loss" of every line of OUT/train_log.jsonl. */
static int log_losses(const char *out, double *loss, int cap) {
  char *lp = lethe_path_join(out, "train_log.jsonl");
  char *text = read_text(lp);
  int n = 0;
  for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    loss[n++] = json_number_value(json_object_get(j, "loss"));
    json_decref(j);
  }
  free(text);
  free(lp);
  return n;
}

/* Every tensor of a safetensors file, concatenated as fp32 (malloc'ed). */
static float *tensors(const char *path, size_t *n) {
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(path, &st), LETHE_OK);
  size_t total = 0;
  for (int i = 0; i < st.n; i++) total += st.tensors[i].numel;
  float *x = malloc(sizeof(float) * (total ? total : 1));
  size_t off = 0;
  for (int i = 0; i < st.n; i++) {
    assert_int_equal(lethe_st_to_f32(&st, &st.tensors[i], x + off, st.tensors[i].numel), LETHE_OK);
    off += st.tensors[i].numel;
  }
  lethe_st_close(&st);
  *n = total;
  return x;
}

/* Same steps, each loss within TOL, and the result file (adapter or model) within TOL. */
static void assert_same_run(const char *a, const char *b, const char *result) {
  double la[512], lb[512];
  int na = log_losses(a, la, 512), nb = log_losses(b, lb, 512);
  assert_true(na > 0);
  assert_int_equal(na, nb);
  double worst = 0;
  for (int i = 0; i < na; i++) {
    double e = fabs(la[i] - lb[i]) / fmax(fabs(la[i]), 1e-12);
    if (e > worst) worst = e;
  }
  print_message("%d steps: losses within rel %.2e\n", na, worst);
  assert_true(worst <= TOL);
  char *pa = lethe_path_join(a, result), *pb = lethe_path_join(b, result);
  size_t n1, n2;
  float *x = tensors(pa, &n1), *y = tensors(pb, &n2);
  assert_int_equal(n1, n2);
  double e = tu_rel_err(x, y, n1);
  print_message("%s: %zu values, rel err %.2e\n", result, n1, e);
  assert_true(e <= TOL);
  free(x);
  free(y);
  free(pa);
  free(pb);
}

static int run_json_world(const char *out) {
  char *p = lethe_path_join(out, "run.json");
  json_t *j = json_load_file(p, 0, NULL);
  free(p);
  assert_non_null(j);
  int w = (int)json_integer_value(json_object_get(j, "world_size"));
  json_decref(j);
  return w;
}

/* One process against 2 ranks, same global batch, extra flags appended. */
static void parity(const char *name, const char *batch, int tcp, const char *x1, const char *x2, const char *x3) {
  char *one = lethe_path_join(WORK, name);
  char name2[128];
  snprintf(name2, sizeof name2, "%s-2ranks", name);
  char *two = lethe_path_join(WORK, name2);
  char *args[40] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs",
      "3", "--batch", (char *)batch, "--lr", "3e-3", "--threads", "1", "--quiet", "--out", one};
  int k = 20;
  if (x1) args[k++] = (char *)x1;
  if (x2) args[k++] = (char *)x2;
  if (x3) args[k++] = (char *)x3;
  args[k] = NULL;
  assert_int_equal(run(0, 0, args, NULL), 0);
  args[19] = two;
  assert_int_equal(run(2, tcp, args, NULL), 0);
  assert_int_equal(run_json_world(two), 2);
  assert_same_run(one, two, "adapter/adapter_model.safetensors");
  free(one);
  free(two);
}

static void test_npo(void **state) { parity("npo", "4", 0, "--method", "npo", NULL); }
static void test_npo_seq(void **state) { parity("npo-seq", "4", 0, "--method", "npo-seq", NULL); }
static void test_full_kl(void **state) { parity("kl-full", "4", 0, "--kl", "full", NULL); }
static void test_uneven_slices(void **state) { parity("uneven", "5", 0, "--grad-accum", "2", NULL); }
static void test_tcp_only(void **state) { parity("tcp", "4", 1, "--method", "npo", NULL); }

static void test_full_training(void **state) {
  char *one = lethe_path_join(WORK, "train"), *two = lethe_path_join(WORK, "train-2ranks");
  char *args[] = {"train", "--model", M, "--tokenizer", TOK, "--data", ALL, "--full", "--epochs", "2", "--batch", "4",
      "--lr", "1e-3", "--threads", "1", "--quiet", "--out", one, NULL};
  assert_int_equal(run(0, 0, args, NULL), 0);
  args[18] = two;
  assert_int_equal(run(2, 0, args, NULL), 0);
  assert_same_run(one, two, "model/model.safetensors");
  free(one);
  free(two);
}

/* The newest checkpoint's step, or -1. */
static int checkpoint_step(const char *out) {
  char *p = lethe_path_join(out, "checkpoint/state.json");
  json_t *j = json_load_file(p, 0, NULL);
  free(p);
  if (!j) return -1;
  int st = (int)json_integer_value(json_object_get(j, "step"));
  json_decref(j);
  return st;
}

/* A /proc file (its size reads as 0: read to the end). */
static char *read_proc(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += k;
    if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
  }
  fclose(f);
  if (buf) buf[n] = 0;
  *len = n;
  return buf;
}

/* The pid of the `lethe` process with OMPI_COMM_WORLD_RANK=rank whose environment names `out`. */
static pid_t find_rank(const char *out, int rank) {
  DIR *d = opendir("/proc");
  pid_t found = -1;
  char want[32];
  snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
  for (struct dirent *e; d && found < 0 && (e = readdir(d));) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    char *env = NULL;
    size_t len = 0;
    if (!(env = read_proc(path, &len))) continue;
    int has_rank = 0;
    for (size_t i = 0; i < len; i += strlen(env + i) + 1)
      if (!strcmp(env + i, want)) has_rank = 1;
    free(env);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    char *cmd = NULL;
    if (has_rank && (cmd = read_proc(path, &len))) {
      for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
        if (!strcmp(cmd + i, out)) found = pid;
      free(cmd);
    }
  }
  if (d) closedir(d);
  return found;
}

static void test_killed_rank_and_resume(void **state) {
  char *a = lethe_path_join(WORK, "dp-uninterrupted"), *b = lethe_path_join(WORK, "dp-killed");
  char *args[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs", "40",
      "--batch", "4", "--lr", "7e-4", "--threads", "1", "--checkpoint-every", "5", "--quiet", "--out", a, NULL};
  assert_int_equal(run(2, 0, args, NULL), 0);
  args[21] = b;
  char *ep = lethe_path_join(WORK, "killed-stderr.txt");
  pid_t job = spawn(2, 0, args, ep);
  pid_t victim = -1;
  int killed_at = -1;
  for (int i = 0; i < 12000 && killed_at < 0; i++) {
    int st = checkpoint_step(b);
    if (st >= 20) {
      victim = find_rank(b, 1);
      if (victim > 0) {
        kill(victim, SIGKILL);
        killed_at = st;
      }
    }
    int status;
    if (waitpid(job, &status, WNOHANG) == job) {
      job = -1;
      break;
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  assert_true(killed_at >= 20);
  double t0 = lethe_now_s();
  int rc = wait_rc(job);
  double waited = lethe_now_s() - t0;
  char *err = read_text(ep);
  print_message(
      "rank 1 killed after the checkpoint of step %d: job exit %d after %.1fs:\n%s\n", killed_at, rc, waited, err);
  assert_int_not_equal(rc, 0);
  assert_true(waited < 30.0); /* no hang */
  char *adapter_b = lethe_path_join(b, "adapter/adapter_model.safetensors");
  assert_false(lethe_file_exists(adapter_b));
  /* resumed with the same number of ranks */
  char *resume[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs",
      "40", "--batch", "4", "--lr", "7e-4", "--threads", "1", "--checkpoint-every", "5", "--quiet", "--resume", b,
      NULL};
  assert_int_equal(run(2, 0, resume, NULL), 0);
  assert_same_run(a, b, "adapter/adapter_model.safetensors");
  free(err);
  free(ep);
  free(adapter_b);
  free(a);
  free(b);
}

/* Resumed with another number of ranks (the global batch unchanged): 2 ranks write a checkpoint
 * at step 9 of 12; one process resumes from it and must reach the uninterrupted 1-process result. */
static void test_resume_other_world(void **state) {
  char *a = lethe_path_join(WORK, "w-one"), *b = lethe_path_join(WORK, "w-two-then-one");
  char *args[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs", "4",
      "--batch", "4", "--lr", "3e-3", "--threads", "1", "--checkpoint-every", "9", "--quiet", "--out", a, NULL};
  assert_int_equal(run(0, 0, args, NULL), 0);
  args[21] = b;
  assert_int_equal(run(2, 0, args, NULL), 0);
  assert_int_equal(checkpoint_step(b), 9);
  char *resume[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs",
      "4", "--batch", "4", "--lr", "3e-3", "--threads", "1", "--checkpoint-every", "9", "--resume", b, NULL};
  char *err = NULL;
  assert_int_equal(run(0, 0, resume, &err), 0);
  assert_non_null(strstr(err, "at step 9"));
  assert_int_equal(run_json_world(b), 1);
  assert_same_run(a, b, "adapter/adapter_model.safetensors");
  free(err);
  free(a);
  free(b);
}

static void test_bad_input_one_message(void **state) {
  char *bad = lethe_path_join(WORK, "bad_forget.jsonl");
  tu_write_text(bad, "{\"input\": \"a\", \"output\": \"b\"}\n{\"input\": \"a\", \"outp\n");
  char *out = lethe_path_join(WORK, "bad");
  char *args[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", bad, "--retain", RETAIN, "--threads", "1",
      "--quiet", "--out", out, NULL};
  char *err = NULL;
  double t0 = lethe_now_s();
  int rc = run(2, 0, args, &err);
  double took = lethe_now_s() - t0;
  int msgs = 0;
  for (const char *p = err; (p = strstr(p, "lethe unlearn")); p++) msgs++;
  print_message("exit %d after %.1fs, %d lethe message(s)\n", rc, took, msgs);
  assert_int_not_equal(rc, 0);
  assert_int_equal(msgs, 1);
  assert_non_null(strstr(err, "bad_forget.jsonl"));
  assert_true(took < 30.0);
  free(err);
  free(out);
  free(bad);
}

/* The first numbers after "loss step=K total=" in bench output. */
static int bench_losses(const char *text, double *loss, int cap) {
  int n = 0;
  for (const char *p = text; n < cap && (p = strstr(p, "loss step=")); p++) {
    const char *t = strstr(p, "total=");
    if (!t) break;
    loss[n++] = atof(t + 6);
  }
  return n;
}

/* lethe bench step under mpirun: the same losses as one process, per-rank and total tokens/s and
 * the all-reduce's time and bytes reported by rank 0 only. */
static void test_bench_step(void **state) {
  char *cfg = tu_src_path("tests/fixtures/unlearn/tiny_llama/config.json");
  char *args[] = {"bench", "step", "--config", cfg, "--batch", "4", "--seq", "24", "--steps", "3", "--warmup", "0",
      "--threads", "1", NULL};
  char *ep = lethe_path_join(WORK, "bench-err.txt"), *op1 = lethe_path_join(WORK, "bench1.txt"),
       *op2 = lethe_path_join(WORK, "bench2.txt");
  assert_int_equal(wait_rc(spawn_out(0, 0, args, ep, op1)), 0);
  assert_int_equal(wait_rc(spawn_out(2, 0, args, ep, op2)), 0);
  char *o1 = read_text(op1), *o2 = read_text(op2);
  print_message("%s", o2);
  double l1[8], l2[8];
  int n1 = bench_losses(o1, l1, 8), n2 = bench_losses(o2, l2, 8);
  assert_int_equal(n1, 3);
  assert_int_equal(n2, 3); /* printed once: by rank 0 */
  for (int i = 0; i < n1; i++) assert_true(fabs(l1[i] - l2[i]) <= TOL * fabs(l1[i]) + 1e-7);
  assert_non_null(strstr(o2, "mpi world_size=2 total_tokens_per_s="));
  assert_non_null(strstr(o2, "allreduce_bytes="));
  assert_non_null(strstr(o2, "mpi rank=1 tokens_per_s="));
  free(o1);
  free(o2);
  free(ep);
  free(op1);
  free(op2);
  free(cfg);
}

/* A command that is not data-parallel is refused under 2 ranks, with one message. */
static void test_generate_refused(void **state) {
  char *out = lethe_path_join(WORK, "generate");
  char *args[] = {"generate", "--model", M, "--tokenizer", TOK, "--prompt", "Once", NULL};
  char *err = NULL;
  assert_int_not_equal(run(2, 0, args, &err), 0);
  int msgs = 0;
  for (const char *p = err; (p = strstr(p, "lethe generate")); p++) msgs++;
  assert_int_equal(msgs, 1);
  assert_non_null(strstr(err, "without mpirun"));
  assert_false(lethe_is_dir(out));
  free(err);
  free(out);
}

/* MIA documents for the evaluation tests (3 and 3: 2 batches of --batch 2, none for a third rank;
 * with them the tiny model's best evaluation during training is a middle one). */
static char *MEM, *NON, *MMLU;

static void write_mia(void) {
  MEM = lethe_path_join(WORK, "mia_members.jsonl");
  NON = lethe_path_join(WORK, "mia_nonmembers.jsonl");
  tu_write_text(MEM, "{\"id\":\"m1\",\"document\":\"Tim had a small red boat. Every morning he sailed.\"}\n"
                     "{\"id\":\"m2\",\"document\":\"The little cat named Pip lived in a tower.\"}\n"
                     "{\"id\":\"m3\",\"document\":\"Once upon a time there was a girl.\"}\n");
  tu_write_text(NON, "{\"id\":\"n1\",\"document\":\"Quantum chromodynamics describes the strong force.\"}\n"
                     "{\"id\":\"n2\",\"document\":\"The stock market fell sharply.\"}\n"
                     "{\"id\":\"n3\",\"document\":\"Bake the bread for an hour.\"}\n");
}

/* The bytes of OUT/name in two output directories are the same. */
static void assert_same_file(const char *a, const char *b, const char *name) {
  char *pa = lethe_path_join(a, name), *pb = lethe_path_join(b, name);
  char *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  assert_int_equal(lethe_read_file(pa, 1 << 24, &x, &nx), LETHE_OK);
  assert_int_equal(lethe_read_file(pb, 1 << 24, &y, &ny), LETHE_OK);
  if (nx != ny || memcmp(x, y, nx)) print_error("%s differs:\n%s\n----\n%s\n", name, x, y);
  assert_true(nx == ny && memcmp(x, y, nx) == 0);
  assert_true(nx > 0);
  free(x);
  free(y);
  free(pa);
  free(pb);
}

/* lethe eval over 2 and 3 ranks against one process: every output file byte for byte. */
static void test_eval_parallel(void **state) {
  char *one = lethe_path_join(WORK, "eval-1"), *two = lethe_path_join(WORK, "eval-2"),
       *three = lethe_path_join(WORK, "eval-3");
  char *args[] = {"eval", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--mia-members",
      MEM, "--mia-nonmembers", NON, "--mmlu", MMLU, "--batch", "2", "--max-new", "12", "--layout", "official",
      "--threads", "1", "--out", one, NULL};
  int k_out = 24;
  assert_string_equal(args[k_out - 1], "--out");
  char *outs[3] = {one, two, three};
  char *err = NULL;
  for (int np = 0; np < 3; np++) {
    args[k_out] = outs[np];
    char *ep = lethe_path_join(WORK, "eval-stderr.txt"), *op = lethe_path_join(WORK, "eval-stdout.txt");
    assert_int_equal(wait_rc(spawn_out(np ? np + 1 : 0, 0, args, ep, op)), 0);
    err = read_text(ep);
    char *table = read_text(op);
    if (np) { /* rank 0 alone prints: one table, one progress line per split */
      int tables = 0, gens = 0;
      for (const char *p = table; (p = strstr(p, "final score")); p++) tables++;
      for (const char *p = err; (p = strstr(p, "forget: generated")); p++) gens++;
      print_message("%d ranks: %d table(s), %d forget progress line(s)\n%s", np + 1, tables, gens, err);
      assert_true(tables <= 1);
      assert_int_equal(gens, 1);
      assert_non_null(strstr(err, "of rank 0's share"));
    }
    free(table);
    free(err);
    free(ep);
    free(op);
  }
  const char *files[] = {"evaluation_results.json", "rows.jsonl", "mia.jsonl", "mia_attacks.json", "mmlu_metrics.json",
      "forget_0.csv", "retain_0.csv", "mia_results/member_0.csv", "mia_results/nonmember_0.csv"};
  for (int np = 1; np < 3; np++)
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) assert_same_file(one, outs[np], files[i]);
  free(one);
  free(two);
  free(three);
}

/* An input that only rank 1 reads as bad (an MPMD launch: its own --forget) ends the job within
 * seconds, one message from rank 1, no results; so does a rank whose file has other rows. */
static void test_eval_one_rank_bad_input(void **state) {
  char *bad = lethe_path_join(WORK, "eval_bad_forget.jsonl"), *fewer = lethe_path_join(WORK, "eval_fewer.jsonl");
  tu_write_text(bad, "{\"id\": \"x1sc1\", \"input\": \"a\", \"output\": \"b\"}\n{\"id\": \"x2\", \"inp\n");
  tu_write_text(fewer, "{\"id\": \"x1sc1\", \"input\": \"Tim had\", \"output\": \" a boat\"}\n");
  const char *cases[2] = {bad, fewer}, *want[2] = {"eval_bad_forget.jsonl", "every rank must read the same"};
  for (int c = 0; c < 2; c++) {
    char *out = lethe_path_join(WORK, c ? "eval-fewer" : "eval-bad");
    char *argv[64];
    int k = 0;
    const char *base[] = {"eval", "--model", M, "--tokenizer", TOK, "--retain", RETAIN, "--max-new", "8", "--batch",
        "2", "--threads", "1", "--out", out};
    argv[k++] = (char *)MPIRUN;
    argv[k++] = "--oversubscribe";
    for (int r = 0; r < 2; r++) {
      if (r) argv[k++] = ":";
      argv[k++] = "-np";
      argv[k++] = "1";
      argv[k++] = getenv("LETHE_BIN");
      for (size_t i = 0; i < sizeof base / sizeof *base; i++) argv[k++] = (char *)base[i];
      argv[k++] = "--forget";
      argv[k++] = r ? (char *)cases[c] : FORGET;
    }
    argv[k] = NULL;
    char *ep = lethe_path_join(WORK, "eval-bad-stderr.txt");
    fflush(NULL);
    double t0 = lethe_now_s();
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644), nul = open("/dev/null", O_WRONLY);
      dup2(nul, 1);
      dup2(fd, 2);
      setpgid(0, 0);
      execvp(argv[0], argv);
      _exit(127);
    }
    int rc = wait_rc(pid);
    double took = lethe_now_s() - t0;
    char *err = read_text(ep);
    int msgs = 0;
    for (const char *p = err; (p = strstr(p, "lethe eval")); p++) msgs++;
    print_message("exit %d after %.1fs, %d lethe message(s):\n%s\n", rc, took, msgs, err);
    assert_int_not_equal(rc, 0);
    assert_int_equal(msgs, 1);
    assert_non_null(strstr(err, "rank 1 of 2"));
    assert_non_null(strstr(err, want[c]));
    assert_true(took < 30.0);
    char *res = lethe_path_join(out, "evaluation_results.json");
    assert_false(lethe_file_exists(res));
    free(res);
    free(err);
    free(ep);
    free(out);
  }
  free(bad);
  free(fewer);
}

/* The "evaluation" object of OUT/run.json. */
static json_t *run_json_eval(const char *out) {
  char *p = lethe_path_join(out, "run.json");
  json_t *j = json_load_file(p, 0, NULL);
  free(p);
  assert_non_null(j);
  json_t *e = json_incref(json_object_get(j, "evaluation"));
  json_decref(j);
  assert_non_null(e);
  return e;
}

static int count_lines(const char *path) {
  char *t = read_text(path);
  int n = 0;
  for (const char *p = t; *p; p++) n += *p == '\n';
  free(t);
  return n;
}

/* Evaluation during training over 2 ranks: the same evaluations, the same chosen step, the same
 * adapter as one process, also after a 2-rank --resume from a checkpoint; one eval_log.jsonl line
 * per evaluation (rank 0 writes). */
static void test_unlearn_select_best(void **state) {
  char *one = lethe_path_join(WORK, "sel-1"), *two = lethe_path_join(WORK, "sel-2");
  char *args[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs", "6",
      "--batch", "4", "--lr", "3e-3", "--threads", "1", "--quiet", "--eval-every", "1", "--select", "best",
      "--early-stop", "2", "--eval-max-new", "8", "--eval-batch", "2", "--mia-members", MEM, "--mia-nonmembers", NON,
      "--checkpoint-every", "9", "--out", one, NULL};
  assert_int_equal(run(0, 0, args, NULL), 0);
  assert_string_equal(args[34], "--out");
  args[35] = two;
  assert_int_equal(run(2, 0, args, NULL), 0);
  /* resumed over 2 ranks from the checkpoint of step 9 (rank 0 reads the selection state, every
   * rank gets it): the same evaluations, choice and early stop again */
  assert_same_run(one, two, "adapter/adapter_model.safetensors");
  assert_int_equal(checkpoint_step(two), 9);
  args[34] = "--resume";
  assert_int_equal(run(2, 0, args, NULL), 0);
  assert_same_run(one, two, "adapter/adapter_model.safetensors");
  assert_same_run(one, two, "adapter-last/adapter_model.safetensors");
  json_t *a = run_json_eval(one), *b = run_json_eval(two);
  int n = (int)json_integer_value(json_object_get(a, "evaluations"));
  assert_true(n >= 2);
  assert_int_equal(n, (int)json_integer_value(json_object_get(b, "evaluations")));
  json_t *ca = json_object_get(a, "chosen"), *cb = json_object_get(b, "chosen");
  int sa = (int)json_integer_value(json_object_get(ca, "step")),
      sb = (int)json_integer_value(json_object_get(cb, "step"));
  double fa = json_number_value(json_object_get(ca, "final")), fb = json_number_value(json_object_get(cb, "final"));
  print_message("%d evaluations; chosen step %d / %d, final %.9g / %.9g\n", n, sa, sb, fa, fb);
  assert_int_equal(sa, sb);
  assert_true(sa > 0); /* a middle evaluation: the selection is not trivially the start */
  assert_true(fabs(fa - fb) <= 1e-6);
  assert_true(json_is_true(json_object_get(a, "early_stopped")));
  assert_true(json_is_true(json_object_get(b, "early_stopped")));
  char *la = lethe_path_join(one, "eval_log.jsonl"), *lb = lethe_path_join(two, "eval_log.jsonl");
  assert_int_equal(count_lines(la), n);
  assert_int_equal(count_lines(lb), n);
  json_decref(a);
  json_decref(b);
  free(la);
  free(lb);
  free(one);
  free(two);
}

/* lr_search.json's chosen rate and each candidate's best final score. */
static double lr_search(const char *out, double *finals, int cap, int *n) {
  char *p = lethe_path_join(out, "lr_search.json");
  json_t *j = json_load_file(p, 0, NULL);
  free(p);
  assert_non_null(j);
  double lr = json_number_value(json_object_get(j, "chosen_lr"));
  json_t *c = json_object_get(j, "candidates");
  *n = 0;
  for (size_t i = 0; i < json_array_size(c) && *n < cap; i++) {
    json_t *f = json_object_get(json_array_get(c, i), "best_final");
    finals[(*n)++] = json_is_number(f) ? json_number_value(f) : NAN;
  }
  json_decref(j);
  return lr;
}

/* --lr auto over 2 ranks: the same candidates' scores, the same chosen rate, the same adapter as
 * one process; rank 0 alone writes lr_search.json. */
static void test_lr_auto(void **state) {
  char *one = lethe_path_join(WORK, "lra-1"), *two = lethe_path_join(WORK, "lra-2");
  char *args[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs", "4",
      "--batch", "4", "--lr", "auto", "--threads", "1", "--quiet", "--eval-max-new", "8", "--eval-batch", "2",
      "--mia-members", MEM, "--mia-nonmembers", NON, "--out", one, NULL};
  assert_int_equal(run(0, 0, args, NULL), 0);
  assert_string_equal(args[26], "--out");
  args[27] = two;
  assert_int_equal(run(2, 0, args, NULL), 0);
  double fa[16], fb[16];
  int na, nb;
  double la = lr_search(one, fa, 16, &na), lb = lr_search(two, fb, 16, &nb);
  print_message("chosen lr %g / %g over %d candidates\n", la, lb, na);
  assert_true(na > 1);
  assert_int_equal(na, nb);
  assert_true(la == lb);
  for (int i = 0; i < na; i++) assert_true((isnan(fa[i]) && isnan(fb[i])) || fabs(fa[i] - fb[i]) <= 1e-6);
  assert_same_run(one, two, "adapter/adapter_model.safetensors");
  free(one);
  free(two);
}

/* lethe sweep over 2 ranks: the same table (sweep.csv byte for byte) and the same best adapter as
 * one process; run again, the finished runs are skipped on every rank (rank 0 decides). */
static void test_sweep(void **state) {
  char *one = lethe_path_join(WORK, "sweep-1"), *two = lethe_path_join(WORK, "sweep-2");
  char *args[] = {"sweep", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--epochs", "2",
      "--batch", "4", "--lr", "1e-3,3e-3", "--threads", "1", "--quiet", "--eval-max-new", "8", "--eval-batch", "2",
      "--mia-members", MEM, "--mia-nonmembers", NON, "--out", one, NULL};
  assert_int_equal(run(0, 0, args, NULL), 0);
  assert_string_equal(args[26], "--out");
  args[27] = two;
  assert_int_equal(run(2, 0, args, NULL), 0);
  assert_same_file(one, two, "sweep.csv");
  for (int r = 0; r < 2; r++) {
    char name[16];
    snprintf(name, sizeof name, "run-%03d", r);
    char *ra = lethe_path_join(one, name), *rb = lethe_path_join(two, name);
    assert_same_run(ra, rb, "adapter/adapter_model.safetensors");
    free(ra);
    free(rb);
  }
  char *best = lethe_path_join(two, "adapter/adapter_model.safetensors");
  assert_true(lethe_file_exists(best));
  free(best);
  char *err = NULL;
  assert_int_equal(run(2, 0, args, &err), 0);
  assert_non_null(strstr(err, "run-001 finished before; skipped"));
  assert_same_file(one, two, "sweep.csv");
  free(err);
  free(one);
  free(two);
}

int main(void) {
  const char *built = getenv("LETHE_MPI_BUILD");
  MPIRUN = getenv("LETHE_MPIRUN");
  if (!built || strcmp(built, "1") != 0 || !MPIRUN || !*MPIRUN || access(MPIRUN, X_OK) != 0) {
    printf("SKIP: lethe was built without MPI or mpirun is missing (LETHE_MPI_BUILD=%s, LETHE_MPIRUN=%s): "
           "install openmpi-bin libopenmpi-dev (scripts/install-deps.sh) and reconfigure\n",
        built ? built : "(unset)", MPIRUN ? MPIRUN : "(unset)");
    return 77;
  }
  /* CI runs as root; OpenMPI refuses root unless told */
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMP_NUM_THREADS", "1", 1);
  setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  /* containers often forbid the cross-memory attach of the shared-memory transport (ptrace) */
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  M = tu_src_path("tests/fixtures/unlearn/tiny_llama");
  TOK = tu_src_path("tests/fixtures/unlearn/tiny_llama/tokenizer.json");
  FORGET = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl");
  RETAIN = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl");
  ALL = tu_src_path("tests/fixtures/unlearn/stories_all.jsonl");
  WORK = tu_fresh_dir("mpi");
  MMLU = tu_src_path("tests/fixtures/eval/mmlu_mini");
  write_mia();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_npo),
      cmocka_unit_test(test_npo_seq),
      cmocka_unit_test(test_full_kl),
      cmocka_unit_test(test_uneven_slices),
      cmocka_unit_test(test_tcp_only),
      cmocka_unit_test(test_full_training),
      cmocka_unit_test(test_resume_other_world),
      cmocka_unit_test(test_killed_rank_and_resume),
      cmocka_unit_test(test_bad_input_one_message),
      cmocka_unit_test(test_bench_step),
      cmocka_unit_test(test_generate_refused),
      cmocka_unit_test(test_eval_parallel),
      cmocka_unit_test(test_eval_one_rank_bad_input),
      cmocka_unit_test(test_unlearn_select_best),
      cmocka_unit_test(test_lr_auto),
      cmocka_unit_test(test_sweep),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
