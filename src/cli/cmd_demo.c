/* cli/cmd_demo.c: `lethe demo`: the whole story on a laptop, no download, no GPU. (1) synthetic
 * biographies with personal data, (2) a small OLMo-architecture model trained from scratch until it
 * regurgitates them, (3) the task's evaluation, (4) Low-Rank NPO on the forget set (the paper's
 * recipe: LoRA on q,v; NPO + retain NLL + KL), plus plain gradient ascent for comparison,
 * evaluated after every epoch with the task's scores, the best epoch kept (--select best),
 * (5) evaluation again, (6) the curve, a before/after table and the HTML report. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/process.h"
#include "lethe/data.h"
#include "lethe/evaluate.h"
#include "lethe/model.h"
#include "lethe/report.h"
#include "lethe/tokenizer.h"
#include "lethe/unlearn.h"
#include "lethe/util.h"
#include "util/error.h"

typedef struct {
  int people, forget, holdout;
  int dim, layers, heads; /* the MLP is 3 x dim wide */
  int train_epochs, train_batch;
  double train_lr;
  int unlearn_epochs;
  double unlearn_lr;
  int max_new;
} demo_size;

/* Sizes chosen so that the story is clear and quick on 2 cores: the model memorises every row
 * (regurgitation 1.0) and Low-Rank NPO then removes the forget people while keeping the others.
 * The tiny from-scratch model needs a larger learning rate than the paper's 1e-4 for OLMo. */
static const demo_size FULL = {.people = 12,
    .forget = 3,
    .holdout = 6,
    .dim = 128,
    .layers = 4,
    .heads = 4,
    .train_epochs = 100,
    .train_batch = 8,
    .train_lr = 3e-3,
    .unlearn_epochs = 30,
    .unlearn_lr = 2e-3,
    .max_new = 96};
static const demo_size QUICK = {.people = 12,
    .forget = 3,
    .holdout = 6,
    .dim = 96,
    .layers = 3,
    .heads = 4,
    .train_epochs = 80,
    .train_batch = 8,
    .train_lr = 3e-3,
    .unlearn_epochs = 30,
    .unlearn_lr = 2e-3,
    .max_new = 96};

static char *join(const char *a, const char *b) { return lethe_path_join(a, b); }

static int fail_stage(const char *what) {
  const char *m = lethe_last_error();
  if (m && strstr(m, "continue with --resume")) {
    /* the library's advice is for lethe unlearn/train; demo has no --resume */
    fprintf(stderr, "lethe demo: interrupted during %s; run lethe demo again to start over\n", what);
    return 1;
  }
  fprintf(stderr, "lethe demo: %s failed\n", what);
  return cli_report("demo");
}

/* Concatenates two JSONL files. */
static lethe_status concat(const char *a, const char *b, const char *out) {
  char *x = NULL, *y = NULL;
  size_t nx, ny;
  lethe_status s = lethe_read_file(a, 1 << 30, &x, &nx);
  if (!s) s = lethe_read_file(b, 1 << 30, &y, &ny);
  if (!s) {
    char *both = malloc(nx + ny + 1);
    if (!both) {
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", out);
    } else {
      memcpy(both, x, nx);
      memcpy(both + nx, y, ny);
      s = lethe_write_file_atomic(out, both, nx + ny);
    }
    free(both);
  }
  free(x);
  free(y);
  return s;
}

static lethe_status make_model(const demo_size *z, uint64_t seed, const char *dir) {
  lethe_config c;
  memset(&c, 0, sizeof c);
  c.arch = LETHE_ARCH_OLMO;
  snprintf(c.model_type, sizeof c.model_type, "olmo");
  c.vocab_size = 259;
  c.dim = z->dim;
  c.n_layers = z->layers;
  c.n_heads = z->heads;
  c.n_kv_heads = z->heads;
  c.head_dim = z->dim / z->heads;
  c.hidden_dim = 3 * z->dim;
  c.max_seq_len = 512;
  c.norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.clip_qkv = 8.0;
  c.bos_id = -1;
  c.eos_ids[0] = 258;
  c.n_eos = 1;
  c.pad_id = 256;
  snprintf(c.dtype, sizeof c.dtype, "float32");
  lethe_model *m;
  lethe_status s = lethe_model_create(&c, seed, 0.02f, &m);
  if (s) return s;
  s = lethe_model_save(m, dir, "float32", 0);
  lethe_model_free(m);
  if (s) return s;
  char *tj = lethe_tokenizer_builtin_json(), *tp = join(dir, "tokenizer.json");
  s = lethe_write_file_atomic(tp, tj, strlen(tj));
  free(tj);
  free(tp);
  return s;
}

static double jnum(json_t *root, const char *a, const char *b) {
  json_t *v = json_object_get(root, a);
  if (b) v = json_object_get(v, b);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_row(const char *name, json_t *const *r, int n, const char *a, const char *b) {
  printf("  %-38s", name);
  for (int i = 0; i < n; i++) {
    double x = r[i] ? jnum(r[i], a, b) : NAN;
    if (isnan(x))
      printf(" %10s", "-");
    else
      printf(" %10.4f", x);
  }
  printf("\n");
}

/* The run's evaluations as a text chart of the final score per epoch; returns the chosen epoch
 * (-1 when the run has none). */
static int print_curve(const char *run_dir, const char *name) {
  char *p = join(run_dir, "run.json");
  json_error_t je;
  json_t *run = json_load_file(p, 0, &je);
  free(p);
  json_t *chosen = json_object_get(json_object_get(run, "evaluation"), "chosen");
  int ep = chosen ? (int)(json_number_value(json_object_get(chosen, "epoch")) + 0.5) : -1;
  json_decref(run);
  p = join(run_dir, "eval_log.jsonl");
  json_t *line;
  FILE *f = fopen(p, "r");
  free(p);
  if (!f) return ep;
  printf("  %s: final score (mean of task aggregate and MIA score) after each epoch\n", name);
  char buf[4096];
  while (fgets(buf, sizeof buf, f)) {
    if (!(line = json_loads(buf, 0, &je))) continue;
    int e = (int)(json_number_value(json_object_get(line, "epoch")) + 0.5);
    double v = json_number_value(json_object_get(line, "final"));
    int w = (int)(v * 40 + 0.5);
    printf("    epoch %3d %6.3f |%.*s%s\n", e, v,
        w < 0    ? 0
        : w > 40 ? 40
                 : w,
        "########################################", e == ep ? "  <- chosen" : "");
    json_decref(line);
  }
  fclose(f);
  return ep;
}

/* One training run of the demo, with the thread count, the stop trap and the test hook as
 * `lethe train` / `lethe unlearn` give them. */
static lethe_status demo_train(lethe_train_opts *o) {
  cli_set_threads(o->threads, 0);
  o->fault_nan_step = cli_fault_nan_step();
  o->stop = cli_stop_trap();
  lethe_status s = lethe_train_run(o);
  cli_stop_untrap();
  o->stop = NULL;
  return s;
}

int cmd_demo(int argc, char **argv) {
  const char *out = "demo-run";
  int quick = 0, threads = 0, skip_ga = 0;
  int people = 0, forget_people = 0, dim = 0, layers = 0, train_epochs = 0, unlearn_epochs = 0;
  double train_lr = 0, unlearn_lr = 0;
  int64_t seed = 1;
  const cli_arg defs[] = {
      {"out", ARG_STR, &out, "output directory (default demo-run)", 0, 0, 0, NULL},
      {"quick", ARG_FLAG, &quick, "a smaller, faster run (what the tests use)", 0, 0, 0, NULL},
      {"no-ga", ARG_FLAG, &skip_ga, "skip the gradient-ascent comparison", 0, 0, 0, NULL},
      {"threads", ARG_INT, &threads, "OpenMP threads (0: all cores)", 0, 0, 4096, NULL},
      {"seed", ARG_I64, &seed, "seed for the data, the model and the adapters", 0, 0, 0, NULL},
      {"people", ARG_INT, &people, "people in the data (advanced)", 0, 2, 100000, NULL},
      {"forget-people", ARG_INT, &forget_people, "of whom to forget (advanced)", 0, 1, 100000, NULL},
      {"dim", ARG_INT, &dim, "model width, a multiple of 8 (4 heads of an even width; advanced)", 0, 8, 4096, NULL},
      {"layers", ARG_INT, &layers, "model depth (advanced)", 0, 1, 64, NULL},
      {"train-epochs", ARG_INT, &train_epochs, "memorisation epochs (advanced)", 0, 1, 100000, NULL},
      {"train-lr", ARG_FLOAT, &train_lr, "memorisation learning rate (advanced)", 0, 1e-9, 1, NULL},
      {"unlearn-epochs", ARG_INT, &unlearn_epochs, "unlearning epochs (advanced)", 0, 1, 100000, NULL},
      {"unlearn-lr", ARG_FLOAT, &unlearn_lr, "unlearning learning rate (advanced)", 0, 1e-9, 1, NULL},
  };
  int rc = cli_parse("demo",
      "The whole story end to end: a model learns private data, is scored, unlearns it with Low-Rank\n"
      "NPO, is scored again, and a report shows what changed. No download, no GPU.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  demo_size zz = quick ? QUICK : FULL;
  if (people > 0) zz.people = people;
  if (forget_people > 0) zz.forget = forget_people;
  if (dim > 0) zz.dim = dim;
  if (layers > 0) zz.layers = layers;
  if (train_epochs > 0) zz.train_epochs = train_epochs;
  if (train_lr > 0) zz.train_lr = train_lr;
  if (unlearn_epochs > 0) zz.unlearn_epochs = unlearn_epochs;
  if (unlearn_lr > 0) zz.unlearn_lr = unlearn_lr;
  if (zz.dim % (2 * zz.heads) != 0) {
    /* checked before anything is written: RoPE needs an even head width */
    fprintf(stderr, "lethe demo: --dim %d must be a multiple of %d (%d heads, each of an even width)\n", zz.dim,
        2 * zz.heads, zz.heads);
    return 2;
  }
  if (zz.forget >= zz.people) {
    fprintf(stderr, "lethe demo: --forget-people must be smaller than --people\n");
    return 2;
  }
  const demo_size *z = &zz;
  double t0 = lethe_now_s();
  char *data = join(out, "data"), *init = join(out, "model-init"), *mem = join(out, "memorised"),
       *memm = join(mem, "model");
  char *forget = join(data, "forget.jsonl"), *retain = join(data, "retain.jsonl"), *all = join(data, "train.jsonl");
  char *members = join(data, "mia_members.jsonl"), *nonmembers = join(data, "mia_nonmembers.jsonl");
  char *ev_base = join(out, "eval-base"), *npo = join(out, "npo"), *ga = join(out, "ga");
  char *npo_ad = join(npo, "adapter"), *ga_ad = join(ga, "adapter"), *npo_ev = join(npo, "eval"),
       *ga_ev = join(ga, "eval");
  int status = 1;

  printf("== lethe demo%s: %d people (%d to forget), a %d-layer OLMo-architecture model (d %d) trained from scratch\n",
      quick ? " --quick" : "", z->people, z->forget, z->layers, z->dim);
  printf("\n[1/6] data: synthetic biographies with personal data -> %s\n", data);
  fflush(stdout);
  lethe_bios_opts bo = {.n_people = z->people, .n_forget = z->forget, .n_holdout = z->holdout, .seed = (uint64_t)seed};
  if (lethe_bios_generate(&bo, data) || concat(forget, retain, all)) {
    status = fail_stage("data");
    goto done;
  }

  printf("\n[2/6] train: the model memorises every biography (full-parameter training) -> %s\n", memm);
  fflush(stdout);
  if (make_model(z, (uint64_t)seed, init)) {
    status = fail_stage("model creation");
    goto done;
  }
  lethe_train_opts to;
  lethe_train_opts_default(&to, 0);
  to.model = init;
  to.data = all;
  to.out = mem;
  to.full = 1;
  to.epochs = z->train_epochs;
  to.batch = z->train_batch;
  to.lr = z->train_lr;
  to.schedule = LETHE_SCHED_COSINE;
  to.warmup_steps = 10;
  to.seed = (uint64_t)seed;
  to.threads = threads;
  to.max_len = 512;
  if (demo_train(&to)) {
    status = fail_stage("training");
    goto done;
  }

  printf("\n[3/6] evaluate the memorised model (the task's scorer) -> %s\n", ev_base);
  fflush(stdout);
  lethe_eval_opts eo;
  lethe_eval_opts_default(&eo);
  eo.model = memm;
  eo.forget = forget;
  eo.retain = retain;
  eo.mia_members = members;
  eo.mia_nonmembers = nonmembers;
  eo.out = ev_base;
  eo.max_new = z->max_new;
  eo.threads = threads;
  eo.table = NULL;
  if (lethe_eval_run(&eo)) {
    status = fail_stage("evaluation");
    goto done;
  }

  printf("\n[4/6] unlearn: Low-Rank NPO on the forget set (LoRA r 5 on q,v; NPO + retain NLL + KL), evaluated after\n"
         "      every epoch; the epoch with the best final score is kept -> %s\n",
      npo);
  fflush(stdout);
  for (int run = 0; run < (skip_ga ? 1 : 2); run++) {
    lethe_train_opts uo;
    lethe_train_opts_default(&uo, 1);
    uo.model = memm;
    uo.forget = forget;
    uo.retain = retain;
    uo.out = run == 0 ? npo : ga;
    uo.method = run == 0 ? "npo" : "ga";
    lethe_objective_preset(uo.method, &uo.obj);
    uo.epochs = z->unlearn_epochs;
    uo.lr = z->unlearn_lr;
    uo.seed = (uint64_t)seed;
    uo.threads = threads;
    /* evaluated after every epoch (the task's scores, with MIA); the best epoch is the result */
    uo.eval_every = 1;
    uo.mia_members = members;
    uo.mia_nonmembers = nonmembers;
    uo.eval_max_new = z->max_new;
    uo.select = LETHE_SELECT_BEST;
    if (run == 1) printf("\n      for comparison: plain gradient ascent (--method ga) -> %s\n", ga);
    fflush(stdout);
    if (demo_train(&uo)) {
      status = fail_stage("unlearning");
      goto done;
    }
  }

  printf("\n[5/6] evaluate again, with the adapters\n");
  fflush(stdout);
  for (int run = 0; run < (skip_ga ? 1 : 2); run++) {
    eo.adapter = run == 0 ? npo_ad : ga_ad;
    eo.out = run == 0 ? npo_ev : ga_ev;
    if (lethe_eval_run(&eo)) {
      status = fail_stage("evaluation");
      goto done;
    }
  }

  printf("\n[6/6] before and after\n\n");
  json_t *res[3] = {NULL, NULL, NULL};
  const char *dirs[3] = {ev_base, npo_ev, ga_ev};
  int ncol = skip_ga ? 2 : 3;
  for (int i = 0; i < ncol; i++) {
    char *p = join(dirs[i], "evaluation_results.json");
    json_error_t je;
    res[i] = json_load_file(p, 0, &je);
    free(p);
  }
  int chosen[2] = {-1, -1};
  for (int run = 0; run < (skip_ga ? 1 : 2); run++)
    chosen[run] = print_curve(run == 0 ? npo : ga, run == 0 ? "NPO" : "GA");
  char hn[32], hg[32];
  snprintf(hn, sizeof hn, "NPO ep %d", chosen[0]);
  snprintf(hg, sizeof hg, "GA ep %d", chosen[1]);
  printf("\n  %-38s %10s %10s", "", "memorised", hn);
  if (!skip_ga) printf(" %10s", hg);
  printf("\n");
  print_row("forget regurgitation (ROUGE-L recall)", res, ncol, "forget-set", "overall-regurgitation-score");
  print_row("forget knowledge (exact match)", res, ncol, "forget-set", "overall-knowledge-score");
  print_row("retain regurgitation", res, ncol, "retain-set", "overall-regurgitation-score");
  print_row("retain knowledge", res, ncol, "retain-set", "overall-knowledge-score");
  print_row("task aggregate (harmonic mean)", res, ncol, "harmonic-mean-task-aggregate", NULL);
  print_row("MIA AUC", res, ncol, "mia_loss_acc", NULL);
  printf("  %-38s", "MIA score (1 - 2 |AUC - 0.5|)");
  for (int i = 0; i < ncol; i++) {
    double auc = res[i] ? jnum(res[i], "mia_loss_acc", NULL) : NAN;
    if (isnan(auc))
      printf(" %10s", "-");
    else
      printf(" %10.4f", 1 - 2 * fabs(auc - 0.5));
  }
  printf("\n");
  printf("  (ep N: the epoch chosen by --select best; the final score is the mean of task aggregate and MIA score)\n");
  for (int i = 0; i < ncol; i++) json_decref(res[i]);
  lethe_report_opts ro = {.run = npo,
      .base_eval = ev_base,
      .eval = npo_ev,
      .compare_run = skip_ga ? NULL : ga,
      .compare_eval = skip_ga ? NULL : ga_ev,
      .compare_label = "gradient ascent",
      .train_run = mem};
  char *report = join(out, "report.html");
  ro.out = report;
  if (lethe_report_write(&ro)) {
    free(report);
    status = fail_stage("report");
    goto done;
  }
  printf("\nreport: %s\nadapter: %s\ntotal time: %.0f s\n", report, npo_ad, lethe_now_s() - t0);
  free(report);
  status = 0;
done:
  free(data);
  free(init);
  free(mem);
  free(memm);
  free(forget);
  free(retain);
  free(all);
  free(members);
  free(nonmembers);
  free(ev_base);
  free(npo);
  free(ga);
  free(npo_ad);
  free(ga_ad);
  free(npo_ev);
  free(ga_ev);
  return status;
}
