/* cli/cmd_eval.c: `lethe eval`: the SemEval-2025 Task 4 evaluation of a model (and adapter), or
 * --score-only scoring of saved generations without a model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/comm.h"
#include "cli/commands.h"
#include "cli/process.h"
#include "lethe/data.h"
#include "lethe/eval_score.h"
#include "lethe/eval_print.h"
#include "lethe/evaluate.h"
#include "lethe/util.h"

static int score_only(const char *rows, const char *member, const char *nonmember, const char *mia, double mmlu,
    const char *mmlu_metrics, int literal, const char *out) {
  lethe_eval_score_only_opts a = {.rows_path = rows,
      .member_nll_path = member,
      .nonmember_nll_path = nonmember,
      .mia_path = mia,
      .has_mmlu = !isnan(mmlu),
      .mmlu = mmlu,
      .mmlu_metrics_path = mmlu_metrics,
      .compute = {.literal_text = literal}};
  lethe_eval_results res;
  if (lethe_eval_score_only(&a, NULL, &res)) return cli_report("eval");
  int rc = 0;
  if (out) {
    char *p = NULL;
    if (lethe_make_dirs(out) || !(p = lethe_path_join(out, "evaluation_results.json")) ||
        lethe_eval_results_write_json(&res, p))
      rc = cli_report("eval");
    free(p);
  } else {
    char *json;
    size_t len;
    if (lethe_eval_results_to_json(&res, &json, &len))
      rc = cli_report("eval");
    else {
      fwrite(json, 1, len, stdout);
      fputc('\n', stdout);
      free(json);
    }
  }
  if (!rc && out) lethe_eval_print_table(stdout, NULL, &res);
  if (!rc && res.has_mmlu && res.has_mia && res.mmlu < 0.371) lethe_eval_print_mmlu_warning(stdout);
  lethe_eval_results_free(&res);
  return rc;
}

int cmd_eval(int argc, char **argv) {
  lethe_eval_opts o;
  lethe_eval_opts_default(&o);
  int quiet = 0, so = 0;
  const char *rows = NULL, *member_nll = NULL, *nonmember_nll = NULL, *mmlu_metrics = NULL;
  const char *data_dir = NULL, *data_split = "train", *layout = "lethe", *mia_file = NULL;
  double mmlu_avg = NAN;
  const cli_arg defs[] = {
      {"model", ARG_STR, &o.model, "model: HF directory, llama2.c .bin or GGUF file", 0, 0, 0, NULL},
      {"adapter", ARG_STR, &o.adapter, "PEFT LoRA adapter directory", 0, 0, 0, NULL},
      {"tokenizer", ARG_STR, &o.tokenizer, "tokenizer (default: the model directory's tokenizer.json)", 0, 0, 0, NULL},
      {"forget", ARG_STR, &o.forget, "forget rows (JSONL or Parquet: id, input, output, task)", 0, 0, 0, NULL},
      {"retain", ARG_STR, &o.retain, "retain rows (JSONL or Parquet)", 0, 0, 0, NULL},
      {"mia-members", ARG_STR, &o.mia_members, "MIA member documents (JSONL or Parquet: id, document)", 0, 0, 0, NULL},
      {"mia-nonmembers", ARG_STR, &o.mia_nonmembers, "MIA non-member documents (JSONL or Parquet)", 0, 0, 0, NULL},
      {"data-dir", ARG_STR, &data_dir,
          "directory laid out as the task's data (forget_train-*.parquet, ..., mia/); a file flag given as well "
          "replaces that one file (the files used are printed)",
          0, 0, 0, NULL},
      {"data-split", ARG_STR, &data_split, "with --data-dir: train (default) or validation", 0, 0, 0, NULL},
      {"mmlu", ARG_STR, &o.mmlu_dir, "MMLU directory (hendrycks CSVs: dev/, test/)", 0, 0, 0, NULL},
      {"shots", ARG_INT, &o.shots, "MMLU examples per prompt (5)", 0, 0, 64, NULL},
      {"limit", ARG_INT, &o.mmlu_limit, "MMLU questions per subject (0: all)", 0, 0, 1 << 30, NULL},
      {"out", ARG_STR, &o.out, "output directory (evaluation_results.json, rows.jsonl, mmlu_metrics.json)", 0, 0, 0,
          NULL},
      {"max-new", ARG_INT, &o.max_new, "new tokens per generation (256)", 0, 1, 1 << 20, NULL},
      {"batch", ARG_INT, &o.batch, "prompts generated together (16)", 0, 1, 4096, NULL},
      {"compare", ARG_FLAG, &o.compare, "evaluate the base model and the adapter side by side", 0, 0, 0, NULL},
      {"threads", ARG_INT, &o.threads, "OpenMP threads (0: all cores)", 0, 0, 4096, NULL},
      CLI_ARG_DEVICE(&o.device),
      {"dtype", ARG_STR, &o.dtype,
          "compute dtype: fp32 (default, exact) or bf16 (as transformers with torch_dtype=torch.bfloat16 on the CPU)",
          0, 0, 0, NULL},
      {"literal-text", ARG_FLAG, &o.literal_text, "score texts as given (not after the official CSV round trip)", 0, 0,
          0, NULL},
      {"layout", ARG_STR, &layout, "lethe (default) or official: also write the official script's files", 0, 0, 0,
          NULL},
      {"mink-k", ARG_FLOAT, &o.mink_k, "Min-K% and Min-K%++ fraction of tokens (0.2)", 0, 0, 1, NULL},
      {"quiet", ARG_FLAG, &quiet, "no progress output", 0, 0, 0, NULL},
      {"score-only", ARG_FLAG, &so, "score saved generations (--rows) without a model", 0, 0, 0, NULL},
      {"rows", ARG_STR, &rows, "score-only: per-row JSONL (id, task, split, expected, generated)", 0, 0, 0, NULL},
      {"member-nll", ARG_STR, &member_nll, "score-only: MIA member NLLs (JSONL with nll)", 0, 0, 0, NULL},
      {"nonmember-nll", ARG_STR, &nonmember_nll, "score-only: MIA non-member NLLs", 0, 0, 0, NULL},
      {"mia", ARG_STR, &mia_file, "score-only: lethe's mia.jsonl (id, set, nll) instead of the two NLL files", 0, 0, 0,
          NULL},
      {"mmlu-average", ARG_FLOAT, &mmlu_avg, "score-only: the MMLU average", 0, 0, 1, NULL},
      {"mmlu-metrics", ARG_STR, &mmlu_metrics, "score-only: read average_acc from this metrics.json", 0, 0, 0, NULL},
  };
  int rc = cli_parse("eval",
      "Evaluate as SemEval-2025 Task 4 does: regurgitation (ROUGE-L recall) and knowledge (exact match)\n"
      "on forget and retain rows, MIA (AUC of document NLLs), MMLU, and the final score.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  o.comm = cli_comm(); /* one rank, or this rank of an mpirun / srun job */
  if (so && o.comm->size > 1) {
    if (o.comm->rank == 0)
      fprintf(stderr, "lethe eval: --score-only scores saved generations in one process: launch it without mpirun\n");
    return 2;
  }
  if (so) {
    if (!rows) {
      fprintf(stderr, "lethe eval: --score-only needs --rows\n");
      return 2;
    }
    return score_only(rows, member_nll, nonmember_nll, mia_file, mmlu_avg, mmlu_metrics, o.literal_text, o.out);
  }
  if (!o.model || !o.out) {
    fprintf(stderr, "lethe eval: --model and --out are required (or --score-only)\n");
    return 2;
  }
  if (strcmp(layout, "official") == 0)
    o.layout_official = 1;
  else if (strcmp(layout, "lethe") != 0) {
    fprintf(stderr, "lethe eval: --layout must be lethe or official, not \"%s\"\n", layout);
    return 2;
  }
  if (quiet || o.comm->rank != 0) o.progress = NULL; /* rank 0 prints */
  if (o.comm->rank != 0) o.table = NULL;
  lethe_data_files files = {0};
  if (data_dir) {
    if (lethe_data_dir_find(data_dir, data_split, &files)) return cli_report("eval");
    if (!o.forget) o.forget = files.forget;
    if (!o.retain) o.retain = files.retain;
    if (!o.mia_members && !o.mia_nonmembers) {
      o.mia_members = files.mia_members;
      o.mia_nonmembers = files.mia_nonmembers;
    }
    if (o.progress)
      fprintf(o.progress, "data: forget %s, retain %s, MIA %s / %s\n", o.forget ? o.forget : "-",
          o.retain ? o.retain : "-", o.mia_members ? o.mia_members : "-", o.mia_nonmembers ? o.mia_nonmembers : "-");
  }
  cli_set_threads(o.threads, 0);
  rc = lethe_eval_run(&o) ? cli_report("eval") : 0;
  lethe_data_files_free(&files);
  return rc;
}
