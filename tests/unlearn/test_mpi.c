/* test_mpi: data parallelism over MPI on the committed fixtures (tests/fixtures/unlearn/: the tiny
 * Llama model, six forget and six retain stories). `mpirun -np 2 lethe unlearn --batch B` (each rank
 * B/2 sequences of every global batch) against one process with --batch B: the same losses at every
 * step and the same adapter, for npo, npo-seq, full-vocabulary KL, an uneven split (batch 5:
 * slices of 3 and 2, a last batch of 2), full-parameter `lethe train`, and over TCP only
 * (--mca btl tcp,self, as between machines). Tolerance: rel err <= 1e-5 on each logged loss and on
 * the adapter (the gradient is summed in another order; fp32). A rank killed mid-run ends the job
 * within seconds with a non-zero exit, and --resume (same N) reaches the adapter of the
 * uninterrupted 2-rank run; bad input gives one message; `lethe bench step` gives one process's
 * losses and reports per-rank tokens/s; `lethe eval` (not data-parallel) is refused. Skipped (exit 77) when lethe was
 * built without MPI or mpirun is missing. Runs as root too (OMPI_ALLOW_RUN_AS_ROOT). */
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
static void test_eval_refused(void **state) {
  char *out = lethe_path_join(WORK, "eval");
  char *args[] = {"eval", "--model", M, "--tokenizer", TOK, "--forget", FORGET, "--retain", RETAIN, "--out", out, NULL};
  char *err = NULL;
  assert_int_not_equal(run(2, 0, args, &err), 0);
  int msgs = 0;
  for (const char *p = err; (p = strstr(p, "lethe eval")); p++) msgs++;
  assert_int_equal(msgs, 1);
  assert_non_null(strstr(err, "without mpirun"));
  assert_false(lethe_is_dir(out));
  free(err);
  free(out);
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
      cmocka_unit_test(test_eval_refused),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
