/* cli/cmd_score.c: `lethe score`: per-token log-probabilities of rows or documents as JSONL. */
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/score.h"

int cmd_score(int argc, char **argv) {
  lethe_score_opts o = {0};
  o.batch = 8;
  const cli_arg defs[] = {
      {"model", ARG_STR, &o.model, "model: HF directory, llama2.c .bin or GGUF file", 1, 0, 0, NULL},
      {"tokenizer", ARG_STR, &o.tokenizer, "tokenizer (default: the model's)", 0, 0, 0, NULL},
      {"adapter", ARG_STR, &o.adapter, "PEFT LoRA adapter directory to apply", 0, 0, 0, NULL},
      {"data", ARG_STR, &o.data,
          "JSONL rows {input, output} (output tokens scored) or documents {document|text} (all tokens after the first)",
          1, 0, 0, NULL},
      {"out", ARG_STR, &o.out, "JSONL output (default: stdout)", 0, 0, 0, NULL},
      {"batch", ARG_INT, &o.batch, "sequences per forward pass (default 8)", 0, 1, 1 << 16, NULL},
      {"max-len", ARG_INT, &o.max_len, "cut sequences to this many tokens (default: the model's context)", 0, 2,
          1 << 24, NULL},
      CLI_ARG_DEVICE(&o.device),
  };
  int rc = cli_parse("score",
      "Writes one JSON line per row: line, id, n_prompt, ids (the scored tokens), logprobs, sum_logprob, "
      "mean_logprob.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  int n = 0, skipped = 0;
  if (lethe_score_run(&o, &n, &skipped)) return cli_report("score");
  if (skipped) fprintf(stderr, "lethe score: %d rows without a scored token left out\n", skipped);
  return 0;
}
