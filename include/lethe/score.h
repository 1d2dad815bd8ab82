/* lethe/score.h: per-token log-probabilities of texts under a model (and adapter), written as JSONL
 * for scripts (membership inference, calibration): `lethe score`. */
#ifndef LETHE_SCORE_H
#define LETHE_SCORE_H

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *model;     /* HF directory, llama2.c .bin or GGUF */
  const char *tokenizer; /* NULL: the model's */
  const char *adapter;   /* PEFT adapter directory or NULL */
  const char *data;      /* JSONL: rows {"input", "output"} (the output's tokens are scored) or
                            documents {"document"} / {"text"} (every token after the first) */
  const char *out;       /* JSONL written atomically; NULL: stdout */
  const char *device;    /* NULL: cpu */
  int batch;             /* sequences per forward pass (default 8) */
  int max_len;           /* 0: the model's context */
} lethe_score_opts;

/* One line per scored row, in file order: {"line", "id", "n_prompt", "ids", "logprobs",
 * "sum_logprob", "mean_logprob"}; ids are the scored (predicted) tokens, logprobs their
 * log-probabilities (log-softmax of the logits at the position before each). Rows without a
 * scored token are left out (counted in *n_skipped, which may be NULL). */
lethe_status lethe_score_run(const lethe_score_opts *o, int *n_rows, int *n_skipped);

#ifdef __cplusplus
}
#endif
#endif
