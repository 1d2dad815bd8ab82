/* eval/mmlu_prompt.c: MMLU prompts to token ids as open-instruct's run_eval.py does (mmlu_prompt.h). */
#include "eval/mmlu_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

lethe_status lethe_mmlu_encode(const lethe_tokenizer *tok, const lethe_mmlu_subject *sub, size_t index, int shots,
    int limit, int **ids, int *n, int *k_used) {
  *ids = NULL;
  *n = 0;
  char *prompt = NULL;
  lethe_status s = LETHE_OK;
  int k = (size_t)shots > sub->n_dev ? (int)sub->n_dev : shots; /* lethe_mmlu_prompt caps k at n_dev */
  for (;; k--) {
    free(prompt);
    prompt = NULL;
    if ((s = lethe_mmlu_prompt(sub, index, (size_t)k, &prompt))) break;
    int *plain = NULL, np = 0;
    if ((s = lethe_tokenizer_encode(tok, prompt, strlen(prompt), 0, &plain, &np))) break;
    free(plain);
    if (np <= limit || k == 0) break;
  }
  if (!s) s = lethe_tokenizer_encode(tok, prompt, strlen(prompt), 1, ids, n);
  /* a tokenizer failure (a regex match limit, say) names the question it was encoding */
  if (s) lethe_fail_context(s, "MMLU %s_test.csv:%zu (with %d shots)", sub->name, sub->test[index].line, k);
  free(prompt);
  *k_used = k;
  return s;
}
