/* eval/mmlu_prompt.h: an MMLU question's token ids as allenai/open-instruct's eval/mmlu/run_eval.py
 * (the task's MMLU harness) builds them: the k-shot prompt of lethe_mmlu_prompt, k lowered from
 * `shots` while the prompt tokenised without special tokens is longer than `limit` (2048 there),
 * then tokenised with the tokenizer's special tokens for the model. */
#ifndef LETHE_EVAL_MMLU_PROMPT_H
#define LETHE_EVAL_MMLU_PROMPT_H

#include "lethe/eval_mmlu.h"
#include "lethe/tokenizer.h"

#define LETHE_MMLU_TOKEN_LIMIT 2048

/* *ids (malloc'ed, *n of them) and the k used. k stops at 0 (run_eval.py would loop forever). */
lethe_status lethe_mmlu_encode(const lethe_tokenizer *tok, const lethe_mmlu_subject *sub, size_t index, int shots,
    int limit, int **ids, int *n, int *k_used);

#endif
