/* cli/cmd_train.c: `lethe unlearn` and `lethe train`: flags -> lethe_train_opts -> lethe_train_run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/comm.h"
#include "cli/commands.h"
#include "cli/process.h"
#include "lethe/data.h"
#include "lethe/unlearn.h"

/* Flags both commands share: optimisation, adapter, run control. */
#define COMMON_FLAGS(o, v)                                                                                             \
  {"model", ARG_STR, &(o).model, "model: HF directory, llama2.c .bin or GGUF file", 1, 0, 0, NULL},                    \
      {"tokenizer", ARG_STR, &(o).tokenizer, "tokenizer.json or llama2.c tokenizer (default: the model's)", 0, 0, 0,   \
          NULL},                                                                                                       \
      {"out", ARG_STR, &(o).out, "output directory (adapter or model, train_log.jsonl, run.json, checkpoint/)", 0, 0,  \
          0, NULL},                                                                                                    \
      {"resume", ARG_STR, &(o).resume, "continue the run in this directory from its checkpoint", 0, 0, 0, NULL},       \
      {"max-len", ARG_INT, &(o).max_len, "tokens per row; longer rows are cut (counted)", 0, 2, 1 << 20, NULL},        \
      {"epochs", ARG_INT, &(o).epochs, "passes over the data", 0, 1, 1 << 20, NULL},                                   \
      {"batch", ARG_INT, &(o).batch, "rows per micro-batch", 0, 1, 1 << 16, NULL},                                     \
      {"grad-accum", ARG_INT, &(o).grad_accum, "micro-batches per optimizer step", 0, 1, 1 << 16, NULL},               \
      {"lr", ARG_STR, &(v).lr_text, "learning rate, or auto (a short search over 1e-4..1e-2 first, evaluated)", 0, 0,  \
          0, NULL},                                                                                                    \
      {"optimizer", ARG_CHOICE, &(v).optimizer, "Adam (L2 weight decay) or AdamW (decoupled)", 0, 0, 0, "adam|adamw"}, \
      {"weight-decay", ARG_FLOAT, &(o).weight_decay, "weight decay", 0, 0, 1e3, NULL},                                 \
      {"adam-beta1", ARG_FLOAT, &(o).beta1, "Adam beta1", 0, 0, 0.999999, NULL},                                       \
      {"adam-beta2", ARG_FLOAT, &(o).beta2, "Adam beta2", 0, 0, 0.999999999, NULL},                                    \
      {"adam-eps", ARG_FLOAT, &(o).adam_eps, "Adam epsilon", 0, 1e-30, 1, NULL},                                       \
      {"max-grad-norm", ARG_FLOAT, &(o).max_grad_norm, "clip the gradient norm (0: off)", 0, 0, 1e30, NULL},           \
      {"schedule", ARG_CHOICE, &(v).schedule, "learning-rate schedule", 0, 0, 0, "constant|linear|cosine"},            \
      {"warmup-steps", ARG_INT, &(o).warmup_steps, "linear warm-up steps", 0, 0, 1 << 30, NULL},                       \
      {"seed", ARG_I64, &(v).seed, "seed for the adapter's init and the data order", 0, 0, 0, NULL},                   \
      {"max-steps", ARG_INT, &(o).max_steps, "stop after this many optimizer steps (0: all epochs)", 0, 0, 1 << 30,    \
          NULL},                                                                                                       \
      {"lora-rank", ARG_INT, &(o).lora_rank, "LoRA rank r", 0, 1, 4096, NULL},                                         \
      {"lora-alpha", ARG_FLOAT, &(o).lora_alpha, "LoRA alpha (scale alpha / r)", 0, 1e-9, 1e9, NULL},                  \
      {"lora-targets", ARG_STR, &(o).lora_targets,                                                                     \
          "adapted modules as PEFT names them: q_proj,v_proj, suffixes (self_attn.q_proj), full names "                \
          "(model.layers.0.mlp.down_proj), q,k,v,o,gate,up,down, or all-linear",                                       \
          0, 0, 0, NULL},                                                                                              \
      {"rslora", ARG_FLAG, &(o).rslora, "scale alpha / sqrt(r) (rank-stabilised LoRA)", 0, 0, 0, NULL},                \
      {"lora-init", ARG_CHOICE, &(o).lora_init_kaiming,                                                                \
          "init of A: xavier-normal (the paper) or kaiming-uniform (PEFT)", 0, 0, 0, "xavier|kaiming"},                \
      {"checkpoint-every", ARG_INT, &(o).checkpoint_steps, "checkpoint every N optimizer steps (0: off)", 0, 0,        \
          1 << 30, NULL},                                                                                              \
      {"checkpoint-minutes", ARG_FLOAT, &(o).checkpoint_minutes, "checkpoint every M minutes (0: off)", 0, 0, 1e9,     \
          NULL},                                                                                                       \
      {"merge", ARG_FLAG, &(o).merge, "also write the merged model (OUT/merged)", 0, 0, 0, NULL},                      \
      {"recompute", ARG_FLAG, &(o).recompute, "recompute activations per block in the backward pass (less memory)", 0, \
          0, 0, NULL},                                                                                                 \
      {"threads", ARG_INT, &(o).threads, "OpenMP threads (0: all cores)", 0, 0, 4096, NULL},                           \
      {"max-line-bytes", ARG_I64, &(o).max_line_bytes, "longest JSONL line accepted in the data (default 64 MiB)", 0,  \
          1, 1e12, NULL},                                                                                              \
      CLI_ARG_DEVICE(&(o).device), /* one entry for every command */                                                   \
      {"quiet", ARG_FLAG, &(v).quiet, "no progress output", 0, 0, 0, NULL},                                            \
      {"eval-every", ARG_INT, &(o).eval_every,                                                                         \
          "evaluate (the scores of lethe eval) every K epochs, and before step 1", 0, 1, 1 << 20, NULL},               \
      {"eval-every-steps", ARG_INT, &(o).eval_every_steps, "or every K optimizer steps", 0, 1, 1 << 30, NULL},         \
      {"eval-forget", ARG_STR, &(o).eval_forget, "forget rows to evaluate (default: the training forget rows)", 0, 0,  \
          0, NULL},                                                                                                    \
      {"eval-retain", ARG_STR, &(o).eval_retain, "retain rows to evaluate (default: the training retain rows / data)", \
          0, 0, 0, NULL},                                                                                              \
      {"mia-members", ARG_STR, &(o).mia_members, "MIA member documents (JSONL: id, document)", 0, 0, 0, NULL},         \
      {"mia-nonmembers", ARG_STR, &(o).mia_nonmembers, "MIA non-member documents", 0, 0, 0, NULL},                     \
      {"mmlu", ARG_STR, &(o).mmlu_dir, "MMLU directory (hendrycks CSVs) evaluated too", 0, 0, 0, NULL},                \
      {"mmlu-limit", ARG_INT, &(o).mmlu_limit, "MMLU questions per subject: a fixed, seeded subset (0: all)", 0, 0,    \
          1 << 30, NULL},                                                                                              \
      {"eval-max-new", ARG_INT, &(o).eval_max_new, "new tokens per evaluation generation (default 256)", 0, 1,         \
          1 << 20, NULL},                                                                                              \
      {"eval-batch", ARG_INT, &(o).eval_batch, "prompts generated together in an evaluation (default 16)", 0, 1,       \
          1 << 16, NULL},                                                                                              \
      {"select", ARG_CHOICE, &(v).select,                                                                              \
          "the run's result: the best evaluation's (default when evaluating) or the last", 0, 0, 0, "best|last"},      \
  {                                                                                                                    \
    "early-stop", ARG_INT, &(o).early_stop, "stop after N evaluations without improvement (0: never)", 0, 0, 1 << 20,  \
        NULL                                                                                                           \
  }

typedef struct {
  int optimizer, schedule, quiet;
  int64_t seed;
  int select; /* -1: not given */
  const char *lr_text;
} extra;

static int finish(const char *cmd, lethe_train_opts *o, extra *v, lethe_train_shared *sh) {
  o->adamw = v->optimizer == 1;
  o->schedule = (lethe_schedule)v->schedule;
  o->seed = (uint64_t)v->seed;
  if (v->lr_text && strcmp(v->lr_text, "auto") == 0) {
    o->lr_auto = 1;
  } else if (v->lr_text) {
    char *end;
    double lr = strtod(v->lr_text, &end);
    if (end == v->lr_text || *end || isnan(lr)) {
      fprintf(stderr, "lethe %s: option --lr: '%s' is not a number (or auto)\n", cmd, v->lr_text);
      return 2;
    }
    if (!(lr >= 0 && lr <= 1e3)) {
      fprintf(stderr, "lethe %s: option --lr: %s is out of range [0, 1000] (or auto)\n", cmd, v->lr_text);
      return 2;
    }
    o->lr = lr;
  }
  o->select = v->select < 0 ? LETHE_SELECT_AUTO : v->select == 0 ? LETHE_SELECT_BEST : LETHE_SELECT_LAST;
  if (v->quiet) o->progress = NULL;
  if (!o->out) o->out = o->resume;
  if (!o->out) {
    fprintf(stderr, "lethe %s: missing required option --out (see lethe %s --help)\n", cmd, cmd);
    return 2;
  }
  cli_set_threads(o->threads, 0);
  o->fault_nan_step = cli_fault_nan_step();
  o->comm = cli_comm(); /* one rank, or this rank of an mpirun / srun job */
  o->stop = cli_stop_trap();
  lethe_status s = lethe_train_run_shared(o, sh);
  cli_stop_untrap();
  o->stop = NULL;
  if (s) return cli_report(cmd);
  return 0;
}

/* Whether the run evaluates (a schedule, or --lr auto): only then may a data directory's sets be
 * evaluation sets (the library refuses sets without a schedule). */
static int evaluating(const lethe_train_opts *o, const extra *v) {
  return o->eval_every || o->eval_every_steps || (v->lr_text && !strcmp(v->lr_text, "auto"));
}

/* --data-dir: the task's files, found as lethe eval finds them (lethe_data_dir_find). Rows named by
 * a flag as well are refused (which rows would train is then unclear), and so is a directory
 * without the rows the command needs (need_forget: unlearn). Returns 0, or the exit code after
 * one message. */
static int data_dir_files(const char *cmd, const char *dir, const char *split, const char *flags, int rows_given,
    int need_forget, int quiet, lethe_data_files *f) {
  memset(f, 0, sizeof *f);
  if (rows_given) {
    fprintf(stderr, "lethe %s: --data-dir %s and %s both name the rows to train on: give one or the other\n", cmd, dir,
        flags);
    return 2;
  }
  if (lethe_data_dir_find(dir, split, f)) return cli_report(cmd);
  if (need_forget && !f->forget) {
    fprintf(stderr,
        "lethe %s: --data-dir %s: no forget rows (looked for forget_%s-*.parquet, forget_%s.{parquet,jsonl}%s); "
        "retain rows alone cannot be unlearned\n",
        cmd, dir, split, split, strcmp(split, "train") ? "" : ", forget.{parquet,jsonl}");
    lethe_data_files_free(f);
    return 1;
  }
  if (!quiet)
    fprintf(stderr, "data: forget %s, retain %s, MIA %s / %s\n", f->forget ? f->forget : "-",
        f->retain ? f->retain : "-", f->mia_members ? f->mia_members : "-",
        f->mia_nonmembers ? f->mia_nonmembers : "-");
  return 0;
}

/* "npo|npo-seq|...": the method table's names, for the flag's help. */
static const char *method_choices(void) {
  static char buf[512];
  int n;
  const lethe_method *ms = lethe_methods(&n);
  buf[0] = 0;
  for (int i = 0; i < n; i++) {
    if (i) strncat(buf, "|", sizeof buf - strlen(buf) - 1);
    strncat(buf, ms[i].name, sizeof buf - strlen(buf) - 1);
  }
  return buf;
}

/* The command's summary with one paragraph per method of the table (formula, source). */
static const char *unlearn_summary(void) {
  static char buf[12288];
  int n;
  const lethe_method *ms = lethe_methods(&n);
  size_t len = (size_t)snprintf(buf, sizeof buf,
      "Train a LoRA adapter that makes the model forget the forget set (Low-Rank NPO by default;\n"
      "paper defaults: beta 0.5, weights 1/1/0.5, Adam lr 1e-4, batch 4, 20 epochs, r 5, alpha 5, q_proj,v_proj).\n"
      "l = log p(answer token), p = exp(l), F = forget answer tokens, sg = stop-gradient.\n"
      "Methods (--method; every coefficient is a flag; lr/epochs are the authors' unless given):");
  for (int i = 0; i < n && len < sizeof buf; i++) {
    char hp[64] = "";
    if (ms[i].lr > 0) snprintf(hp, sizeof hp, " [lr %g, %d epochs%s]", ms[i].lr, ms[i].epochs, "");
    len += (size_t)snprintf(
        buf + len, sizeof buf - len, "\n  %-8s %s%s\n           %s", ms[i].name, ms[i].formula, hp, ms[i].source);
  }
  return buf;
}

int cmd_unlearn(int argc, char **argv) { return cmd_unlearn_shared(argc, argv, NULL); }

int cmd_unlearn_shared(int argc, char **argv, lethe_train_shared *sh) {
  lethe_train_opts o;
  lethe_train_opts_default(&o, 1);
  extra v = {0, 0, 0, (int64_t)o.seed, -1, NULL};
  int kl = -1, skip_first = -1;
  const char *method = "npo";
  double beta = NAN, delta = NAN, wf = NAN, wr = NAN, wk = NAN, b1 = NAN, b2 = NAN;
  int no_cache = 0, train = -1, sched = -1, chunk = 0, rpf = -1, rmu_layer = -1;
  double rmu_coeff = NAN;
  const char *layers = NULL, *modules = NULL, *data_dir = NULL, *data_split = "train";
  o.lr = NAN; /* the method's unless given */
  o.epochs = 0;
  o.batch = 0;
  const cli_arg defs[] = {
      COMMON_FLAGS(o, v),
      {"forget", ARG_STR, &o.forget, "forget rows (JSONL or Parquet: id, input, output, task); or --data-dir", 0, 0, 0,
          NULL},
      {"data-dir", ARG_STR, &data_dir,
          "directory laid out as the task's data (forget_train-*.parquet, ..., mia/), as lethe eval reads it: "
          "its forget and retain rows (not with --forget/--retain) and MIA documents",
          0, 0, 0, NULL},
      {"data-split", ARG_STR, &data_split, "with --data-dir: train (default) or validation", 0, 0, 0, NULL},
      {"retain", ARG_STR, &o.retain, "retain rows (JSONL)", 0, 0, 0, NULL},
      {"method", ARG_STR, &method, "objective preset (npo = the paper: NPO + retain NLL + KL); one of", 0, 0, 0, NULL},
      {"beta", ARG_FLOAT, &beta, "NPO / SimNPO temperature (npo 0.5), WGA exponent (1), UNDIAL logit penalty (10)", 0,
          1e-9, 1e9, NULL},
      {"delta", ARG_FLOAT, &delta, "SimNPO margin (0)", 0, -1e9, 1e9, NULL},
      {"satimp-beta1", ARG_FLOAT, &b1, "SatImp weight p^b1 (1-p)^b2: b1 (5)", 0, 0, 1e3, NULL},
      {"satimp-beta2", ARG_FLOAT, &b2, "SatImp b2 (1)", 0, 0, 1e3, NULL},
      {"ceu-skip-first", ARG_INT, &skip_first, "CE-U: answer tokens of each forget row left untrained (1)", 0, 0,
          1 << 20, NULL},
      {"rmu-layer", ARG_INT, &rmu_layer, "RMU: the layer whose output is steered (7)", 0, 0, 1 << 16, NULL},
      {"rmu-coeff", ARG_FLOAT, &rmu_coeff, "RMU: the steering coefficient c (300)", 0, 0, 1e9, NULL},
      {"forget-weight", ARG_FLOAT, &wf, "weight of the forget loss (1; satimp 0.1)", 0, -1e9, 1e9, NULL},
      {"retain-weight", ARG_FLOAT, &wr, "weight of the retain term (npo: 1; rmu: 1000)", 0, -1e9, 1e9, NULL},
      {"kl-weight", ARG_FLOAT, &wk, "weight of the KL term (npo: 0.5)", 0, -1e9, 1e9, NULL},
      {"kl", ARG_CHOICE, &kl, "KL on the gold token (the paper) or the full vocabulary", 0, 0, 0, "gold|full"},
      {"append-eos", ARG_FLAG, &o.append_eos, "append the end-of-sequence token to every row", 0, 0, 0, NULL},
      {"no-ref-cache", ARG_FLAG, &no_cache, "recompute reference log-probs each step (slower; the cache is exact)", 0,
          0, 0, NULL},
      {"train", ARG_CHOICE, &train,
          "what trains: a LoRA adapter, or full parameters (of --train-layers; writes OUT/model)", 0, 0, 0,
          "lora|full"},
      {"train-layers", ARG_STR, &layers,
          "full training: layers A-B, A, -N (the last N) or all (sugd: -8, gd-adaptive: 0-5)", 0, 0, 0, NULL},
      {"train-modules", ARG_STR, &modules,
          "full training: mlp (gate, up, down), attn (q, k, v, o) or all (with the norms)", 0, 0, 0, NULL},
      {"schedule-data", ARG_CHOICE, &sched, "data order: shuffled each epoch, or sequential forget chunks (sugd)", 0, 0,
          0, "shuffle|sequential"},
      {"forget-chunk", ARG_INT, &chunk, "sequential: forget rows per chunk, each trained for all epochs in turn (32)",
          0, 1, 1 << 30, NULL},
      {"retain-per-forget", ARG_INT, &rpf, "sequential: retain rows after each forget row, cyclic (7)", 0, 0, 1 << 16,
          NULL},
  };
  enum { ND = sizeof defs / sizeof *defs };
  cli_arg d2[ND];
  memcpy(d2, defs, sizeof defs);
  for (int i = 0; i < ND; i++)
    if (!strcmp(d2[i].name, "method")) {
      static char help[640];
      snprintf(help, sizeof help, "%s %s", d2[i].help, method_choices());
      d2[i].help = help;
    }
  int rc = cli_parse("unlearn", unlearn_summary(), argc, argv, d2, ND);
  if (rc) return rc == 1 ? 0 : rc;
  const lethe_method *me = lethe_method_find(method);
  if (!me) {
    fprintf(stderr, "lethe unlearn: option --method: '%s' is not one of %s\n", method, method_choices());
    return 2;
  }
  o.method = me->name;
  o.obj = me->obj;
  if (isnan(o.lr)) o.lr = me->lr > 0 ? me->lr : 1e-4;
  if (o.epochs == 0) o.epochs = me->epochs > 0 ? me->epochs : 20;
  if (o.batch == 0) o.batch = me->batch > 0 ? me->batch : 4;
  /* what trains: the method's unless --train says otherwise */
  o.full = train >= 0 ? train == 1 : me->train_layers != NULL;
  if (o.full) {
    o.train_layers = layers ? layers : me->train_layers;
    o.train_modules = modules ? modules : (me->train_modules ? me->train_modules : "all");
    if (!o.train_layers && modules) o.train_layers = "all";
  } else if (layers || modules) {
    fprintf(
        stderr, "lethe unlearn: --train-layers and --train-modules select full-parameter training (--train full)\n");
    return 2;
  }
  o.schedule_data = sched >= 0 ? (lethe_data_schedule)sched : me->schedule_data;
  o.forget_chunk = chunk > 0 ? chunk : (me->forget_chunk > 0 ? me->forget_chunk : 32);
  o.retain_per_forget = rpf >= 0 ? rpf : (me->forget_chunk > 0 ? me->retain_per_forget : 7);
  if (!isnan(beta)) o.obj.beta = beta;
  if (!isnan(delta)) o.obj.delta = delta;
  if (!isnan(b1)) o.obj.sat_beta1 = b1;
  if (!isnan(b2)) o.obj.sat_beta2 = b2;
  if (skip_first >= 0) o.obj.skip_first = skip_first;
  if (rmu_layer >= 0) o.obj.rmu_layer = rmu_layer;
  if (!isnan(rmu_coeff)) o.obj.rmu_coeff = rmu_coeff;
  if (!isnan(wf)) o.obj.w_forget = wf;
  if (!isnan(wr)) o.obj.w_retain = wr;
  if (!isnan(wk)) o.obj.w_kl = wk;
  if (kl >= 0) o.obj.kl = (lethe_kl_kind)kl;
  o.no_ref_cache = no_cache;
  /* --data-dir: the files lethe eval would find; its MIA documents when evaluating (flags win) */
  lethe_data_files files = {0};
  if (data_dir) {
    rc = data_dir_files("unlearn", data_dir, data_split, "--forget/--retain", o.forget || o.retain, 1, v.quiet, &files);
    if (rc) return rc;
    o.forget = files.forget;
    o.retain = files.retain;
    if (evaluating(&o, &v) && !o.mia_members && !o.mia_nonmembers) {
      o.mia_members = files.mia_members;
      o.mia_nonmembers = files.mia_nonmembers;
    }
  }
  if (!o.forget) {
    fprintf(stderr, "lethe unlearn: give --forget rows or a --data-dir with forget rows\n");
    return 2;
  }
  rc = finish("unlearn", &o, &v, sh);
  lethe_data_files_free(&files);
  return rc;
}

int cmd_train(int argc, char **argv) {
  lethe_train_opts o;
  lethe_train_opts_default(&o, 0);
  extra v = {0, 0, 0, (int64_t)o.seed, -1, NULL};
  int kind = 0, no_eos = 0;
  const char *data_dir = NULL, *data_split = "train";
  const cli_arg defs[] = {
      COMMON_FLAGS(o, v),
      {"data", ARG_STR, &o.data, "data to learn (JSONL or Parquet rows, or documents with --data-kind docs)", 0, 0, 0,
          NULL},
      {"data-dir", ARG_STR, &data_dir,
          "or a directory laid out as the task's data (forget_train-*.parquet, ..., mia/), as lethe eval reads it: "
          "learns its forget rows, then its retain rows (the task's fine-tuned model learned both); evaluations "
          "score them as forget and retain sets",
          0, 0, 0, NULL},
      {"data-split", ARG_STR, &data_split, "with --data-dir: train (default) or validation", 0, 0, 0, NULL},
      {"data-kind", ARG_CHOICE, &kind, "rows (loss on answers) or docs (loss on every token)", 0, 0, 0, "rows|docs"},
      {"no-eos", ARG_FLAG, &no_eos,
          "do not append the end-of-sequence token to rows (default: appended, so the model learns to stop)", 0, 0, 0,
          NULL},
      {"full", ARG_FLAG, &o.full, "train every parameter and write OUT/model (default: a LoRA adapter)", 0, 0, 0, NULL},
      {"save-dtype", ARG_STR, &o.save_dtype, "dtype of the saved model: float32, bfloat16, float16", 0, 0, 0, NULL},
  };
  int rc = cli_parse("train",
      "Plain supervised training (answer tokens of rows, or every token of documents), full-parameter\n"
      "or LoRA: how a model is made to memorise data before unlearning it.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  o.data_docs = kind == 1;
  if (no_eos || o.data_docs) o.append_eos = 0;
  lethe_data_files files = {0};
  if (data_dir) {
    if (o.data_docs) {
      fprintf(stderr, "lethe train: --data-dir holds rows; --data-kind docs reads documents given with --data\n");
      return 2;
    }
    rc = data_dir_files("train", data_dir, data_split, "--data", o.data != NULL, 0, v.quiet, &files);
    if (rc) return rc;
    /* forget rows then retain rows, both learned (the library's train mode learns retain after data) */
    o.data = files.forget ? files.forget : files.retain;
    o.retain = files.forget ? files.retain : NULL;
    if (evaluating(&o, &v) && !o.eval_forget && !o.eval_retain) {
      o.eval_forget = files.forget;
      o.eval_retain = files.retain;
    }
    if (evaluating(&o, &v) && !o.mia_members && !o.mia_nonmembers) {
      o.mia_members = files.mia_members;
      o.mia_nonmembers = files.mia_nonmembers;
    }
  }
  if (!o.data) {
    fprintf(stderr, "lethe train: give --data or --data-dir (see lethe train --help)\n");
    return 2;
  }
  rc = finish("train", &o, &v, NULL);
  lethe_data_files_free(&files);
  return rc;
}
