/* cli/cmd_sweep.c: `lethe sweep`: the flags of `lethe unlearn`, where a numeric or choice flag may
 * be a comma list (--lr 3e-4,1e-3 --lora-rank 2,5 --method npo,simnpo). Every combination is an
 * unlearn run in OUT/run-NNN, evaluated while training (--eval-every 1 unless given) and selected
 * as unlearn selects; the table of results is printed and written (OUT/sweep.csv, OUT/sweep.json,
 * rewritten after each run), and the best run's adapter is copied to OUT/adapter. A killed sweep
 * resumes: finished runs (run.json present) are skipped, a run with a checkpoint continues from it.
 * Every list is checked before the first run starts. Under mpirun every rank trains every run
 * (data-parallel, as lethe unlearn); rank 0 decides which runs to skip or resume and broadcasts it,
 * and alone reads run.json, writes the tables and copies the best adapter. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/comm.h"
#include "cli/commands.h"
#include "lethe/unlearn.h"
#include "lethe/util.h"
#include "util/sbuf.h"

/* Flags that may be lists, with their kind: a number, or the choices of the flag. */
static const struct {
  const char *flag, *choices; /* choices NULL: a number (or "auto" for --lr) */
} SWEEPABLE[] = {
    {"lr", NULL},
    {"lora-rank", NULL},
    {"lora-alpha", NULL},
    {"kl-weight", NULL},
    {"retain-weight", NULL},
    {"forget-weight", NULL},
    {"beta", NULL},
    {"delta", NULL},
    {"epochs", NULL},
    {"batch", NULL},
    {"grad-accum", NULL},
    {"seed", NULL},
    {"weight-decay", NULL},
    {"max-grad-norm", NULL},
    {"warmup-steps", NULL},
    {"method", "(a method of lethe unlearn --help)"},
    {"optimizer", "adam|adamw"},
    {"schedule", "constant|linear|cosine"},
    {"kl", "gold|full"},
};
enum { NSWEEP = sizeof SWEEPABLE / sizeof *SWEEPABLE, MAX_AXES = 8, MAX_VALUES = 64, MAX_RUNS = 4096 };

typedef struct {
  int arg; /* index in argv of the value */
  const char *flag;
  char *values[MAX_VALUES];
  int n;
} axis;

static int in_choices(const char *v, const char *choices) {
  size_t n = strlen(v);
  for (const char *c = choices; *c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, v, n) == 0) return 1;
    if (!bar) break;
    c = bar + 1;
  }
  return 0;
}

/* Splits one list, checking every value; 0 on success, else prints the error. */
static int split_list(axis *a, const char *list, const char *choices) {
  char *copy = strdup(list), *save = NULL;
  if (!copy) {
    fprintf(stderr, "lethe sweep: out of memory\n");
    return 2;
  }
  size_t len = strlen(list);
  if (len == 0 || list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,")) {
    fprintf(stderr, "lethe sweep: --%s '%s': an empty value in the list\n", a->flag, list);
    free(copy);
    return 2;
  }
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (a->n == MAX_VALUES) {
      fprintf(stderr, "lethe sweep: --%s: more than %d values\n", a->flag, MAX_VALUES);
      free(copy);
      return 2;
    }
    if (choices && !strcmp(a->flag, "method")) {
      if (!lethe_method_find(tok)) {
        fprintf(
            stderr, "lethe sweep: --method: '%s' is not one of lethe unlearn's methods (lethe unlearn --help)\n", tok);
        free(copy);
        return 2;
      }
    } else if (choices && !in_choices(tok, choices)) {
      fprintf(stderr, "lethe sweep: --%s: '%s' is not one of %s\n", a->flag, tok, choices);
      free(copy);
      return 2;
    }
    if (!choices && !(strcmp(a->flag, "lr") == 0 && strcmp(tok, "auto") == 0)) {
      char *end;
      double x = strtod(tok, &end);
      if (end == tok || *end || !isfinite(x)) {
        fprintf(stderr, "lethe sweep: --%s: '%s' is not a number\n", a->flag, tok);
        free(copy);
        return 2;
      }
    }
    a->values[a->n++] = strdup(tok);
  }
  free(copy);
  return 0;
}

static json_t *load_json(const char *dir, const char *name) {
  char *p = lethe_path_join(dir, name);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  free(p);
  return j;
}

static double jnum(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Copies a run's adapter directory to OUT/adapter (built aside, then published). */
static lethe_status copy_adapter(const char *run, const char *out) {
  char *src = lethe_path_join(run, "adapter"), *dst = lethe_path_join(out, "adapter"), *tmp = NULL;
  lethe_status s = lethe_dir_begin(dst, &tmp);
  const char *files[] = {"adapter_model.safetensors", "adapter_config.json"};
  for (int i = 0; i < 2 && !s; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(tmp, files[i]);
    s = lethe_copy_file(a, b);
    free(a);
    free(b);
  }
  if (!s) s = lethe_dir_publish(tmp, dst, "adapter");
  if (s && tmp) lethe_remove_tree(tmp);
  free(src);
  free(dst);
  free(tmp);
  return s;
}

int cmd_sweep(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: lethe sweep [the options of lethe unlearn] --out DIR\n\n"
             "Trains and evaluates every combination of the comma lists given to numeric or choice flags, e.g.\n"
             "  --lr 3e-4,1e-3,2e-3 --lora-rank 2,5 --kl-weight 0,0.5 --method npo,simnpo\n"
             "each as OUT/run-NNN (lethe unlearn with --eval-every 1 unless given, --select best), then writes\n"
             "OUT/sweep.csv, OUT/sweep.json and the best run's adapter to OUT/adapter. Run again to resume.\n"
             "Lists may be given for: ");
      for (int k = 0; k < NSWEEP; k++) printf("--%s%s", SWEEPABLE[k].flag, k + 1 < NSWEEP ? ", " : "\n");
      return 0;
    }
  const char *out = NULL;
  int has_eval = 0;
  axis axes[MAX_AXES];
  int na = 0, rc = 0;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) != 0) continue;
    const char *f = argv[i] + 2;
    if (!strcmp(f, "out") || !strcmp(f, "resume")) {
      if (i + 1 >= argc) break;
      if (!strcmp(f, "resume")) {
        fprintf(stderr, "lethe sweep: a sweep resumes by running it again with the same --out; --resume is per run\n");
        return 2;
      }
      out = argv[i + 1];
    }
    if (!strcmp(f, "eval-every") || !strcmp(f, "eval-every-steps")) has_eval = 1;
    for (int k = 0; k < NSWEEP; k++)
      if (!strcmp(f, SWEEPABLE[k].flag) && i + 1 < argc && strchr(argv[i + 1], ',')) {
        if (na == MAX_AXES) {
          fprintf(stderr, "lethe sweep: at most %d flags may be lists\n", MAX_AXES);
          rc = 2;
          goto done;
        }
        axis *a = &axes[na++];
        memset(a, 0, sizeof *a);
        a->arg = i + 1;
        a->flag = SWEEPABLE[k].flag;
        if ((rc = split_list(a, argv[i + 1], SWEEPABLE[k].choices))) goto done;
      }
  }
  if (!out) {
    fprintf(stderr, "lethe sweep: missing required option --out (see lethe sweep --help)\n");
    return 2;
  }
  long total = 1;
  for (int a = 0; a < na; a++) total *= axes[a].n;
  if (total > MAX_RUNS) {
    fprintf(stderr, "lethe sweep: %ld combinations; at most %d\n", total, MAX_RUNS);
    rc = 2;
    goto done;
  }
  const lethe_comm *cm = cli_comm();
  int rank0 = cm->rank == 0;
  if (rank0 && lethe_make_dirs(out)) {
    rc = cli_report("sweep");
    goto done;
  }
  if (rank0) fprintf(stderr, "sweep: %ld runs\n", total);
  double t0 = lethe_now_s(), sum_runs = 0;
  json_t *runs = json_array();
  int best = -1;
  double best_final = -INFINITY;
  char **av = calloc((size_t)argc + 8, sizeof *av);
  lethe_train_shared *sh = lethe_train_shared_new(); /* one model load, one reference cache */
  if (!av || !sh) {
    fprintf(stderr, "lethe sweep: out of memory\n");
    rc = 1;
  }
  for (long r = 0; r < total && !rc; r++) {
    char name[32];
    snprintf(name, sizeof name, "run-%03ld", r);
    char *dir = lethe_path_join(out, name);
    int n = 0;
    for (int i = 0; i < argc; i++) av[n++] = argv[i];
    json_t *params = json_object();
    long rest = r;
    for (int a = na - 1; a >= 0; a--) { /* the last flag varies fastest */
      const char *v = axes[a].values[rest % axes[a].n];
      rest /= axes[a].n;
      av[axes[a].arg] = (char *)v;
      json_object_set_new(params, axes[a].flag, json_string(v));
    }
    for (int i = 0; i + 1 < n; i++)
      if (!strcmp(av[i], "--out")) av[i + 1] = dir;
    if (!has_eval) {
      av[n++] = "--eval-every";
      av[n++] = "1";
    }
    json_t *run = rank0 ? load_json(dir, "run.json") : NULL;
    char *ck = lethe_path_join(dir, "checkpoint");
    int plan[2] = {run != NULL, rank0 && !run && lethe_is_dir(ck)}; /* finished before, to resume */
    if (lethe_comm_bcast(cm, plan, sizeof plan, 0)) {
      rc = cli_report("sweep");
      json_decref(run);
      json_decref(params);
      free(ck);
      free(dir);
      break;
    }
    if (!plan[0]) {
      if (plan[1]) {
        av[n++] = "--resume";
        av[n++] = dir;
      }
      av[n] = NULL;
      char *ptxt = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
      if (rank0) fprintf(stderr, "sweep: %s (%ld/%ld) %s\n", name, r + 1, total, ptxt ? ptxt : "{}");
      free(ptxt);
      rc = cmd_unlearn_shared(n, av, sh);
      if (rc && rank0)
        fprintf(stderr, "lethe sweep: %s failed; run the sweep again to resume\n", name);
      else if (rank0)
        run = load_json(dir, "run.json");
    } else if (rank0) {
      fprintf(stderr, "sweep: %s finished before; skipped\n", name);
    }
    free(ck);
    if (!rank0) { /* the tables are rank 0's */
      json_decref(params);
      free(dir);
      continue;
    }
    if (run) {
      json_t *ch = json_object_get(json_object_get(run, "evaluation"), "chosen");
      double fin = jnum(ch, "final");
      sum_runs += jnum(json_object_get(run, "training"), "total_seconds");
      json_t *row = json_pack("{s:s, s:o, s:O?}", "run", name, "params", params, "chosen", ch);
      json_object_set_new(row, "lr",
          json_object_get(json_object_get(run, "lr_auto"), "chosen_lr")
              ? json_copy(json_object_get(json_object_get(run, "lr_auto"), "chosen_lr"))
              : json_null());
      json_array_append_new(runs, row);
      if (isfinite(fin) && fin > best_final) best_final = fin, best = (int)json_array_size(runs) - 1;
      json_decref(run);
    } else {
      json_decref(params);
    }
    free(dir);
    /* the table so far */
    int loads = 0, builds = 0;
    lethe_train_shared_counts(sh, &loads, &builds);
    json_t *sw = json_pack("{s:O, s:i, s:f, s:f, s:i, s:i}", "runs", runs, "best", best, "seconds", lethe_now_s() - t0,
        "sum_of_run_seconds", sum_runs, "model_loads", loads, "reference_cache_builds", builds);
    char *text = sw ? json_dumps(sw, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    char *jp = lethe_path_join(out, "sweep.json"), *cp = lethe_path_join(out, "sweep.csv");
    lethe_sbuf csv = {0};
    lethe_sbuf_puts(&csv, "run");
    for (int a = 0; a < na; a++) lethe_sbuf_printf(&csv, ",%s", axes[a].flag);
    lethe_sbuf_puts(&csv, ",epoch,step,task_aggregate,mia_auc,mia_score,mmlu,final\n");
    for (size_t i = 0; i < json_array_size(runs); i++) {
      json_t *row = json_array_get(runs, i), *ch = json_object_get(row, "chosen"), *pa = json_object_get(row, "params");
      lethe_sbuf_printf(&csv, "%s", json_string_value(json_object_get(row, "run")));
      for (int a = 0; a < na; a++) lethe_sbuf_printf(&csv, ",%s", json_string_value(json_object_get(pa, axes[a].flag)));
      lethe_sbuf_printf(&csv, ",%g,%g,%.6g,%.6g,%.6g,%.6g,%.6g\n", jnum(ch, "epoch"), jnum(ch, "step"),
          jnum(ch, "task_aggregate"), jnum(ch, "mia_auc"), jnum(ch, "mia_score"), jnum(ch, "mmlu"), jnum(ch, "final"));
    }
    lethe_status ws = !text || !jp || !cp
                          ? lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory writing the sweep table", out)
                          : lethe_write_file_atomic(jp, text, strlen(text));
    if (!ws) ws = lethe_sbuf_status(&csv, cp);
    if (!ws) ws = lethe_write_file_atomic(cp, csv.p, csv.n);
    if (ws) fprintf(stderr, "lethe sweep: %s\n", lethe_last_error());
    lethe_sbuf_free(&csv);
    free(text);
    free(jp);
    free(cp);
    json_decref(sw);
  }
  free(av);
  int loads = 0, builds = 0;
  lethe_train_shared_counts(sh, &loads, &builds);
  lethe_train_shared_free(sh);
  if (!rc && rank0) {
    printf("%-8s", "run");
    for (int a = 0; a < na; a++) printf(" %12s", axes[a].flag);
    printf(" %6s %10s %8s %9s %8s\n", "epoch", "aggregate", "MIA AUC", "MIA score", "final");
    for (size_t i = 0; i < json_array_size(runs); i++) {
      json_t *row = json_array_get(runs, i), *ch = json_object_get(row, "chosen"), *pa = json_object_get(row, "params");
      printf("%-8s", json_string_value(json_object_get(row, "run")));
      for (int a = 0; a < na; a++) printf(" %12s", json_string_value(json_object_get(pa, axes[a].flag)));
      printf(" %6.0f %10.4f %8.3f %9.3f %8.4f%s\n", jnum(ch, "epoch"), jnum(ch, "task_aggregate"), jnum(ch, "mia_auc"),
          jnum(ch, "mia_score"), jnum(ch, "final"), (int)i == best ? "  <- best" : "");
    }
    printf("sweep: %ld runs in %.1f s (the runs themselves: %.1f s); model loaded %d time(s), reference cache built %d "
           "time(s)\n",
        total, lethe_now_s() - t0, sum_runs, loads, builds);
    if (best >= 0) {
      char *bd = lethe_path_join(out, json_string_value(json_object_get(json_array_get(runs, (size_t)best), "run")));
      if (copy_adapter(bd, out))
        rc = cli_report("sweep");
      else
        printf("best: %s -> %s/adapter\n", bd, out);
      free(bd);
    }
  }
  json_decref(runs);
done:
  for (int a = 0; a < na; a++)
    for (int k = 0; k < axes[a].n; k++) free(axes[a].values[k]);
  return rc;
}
