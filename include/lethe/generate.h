/* lethe/generate.h: greedy decoding with a KV cache, batched over prompts of different lengths. */
#ifndef LETHE_GENERATE_H
#define LETHE_GENERATE_H

#include "lethe/lora.h"
#include "lethe/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int max_new;          /* at most this many new tokens per prompt (default 256) */
  const int *stop_ids;  /* stop when one of these is generated (it is not returned); NULL: the
                           model's eos ids */
  int n_stop;
  int max_batch;        /* prompts decoded together (default 16) */
  int no_cache;         /* recompute the whole prefix every step (slow; a check of the cache) */
} lethe_gen_opts;

void lethe_gen_opts_default(lethe_gen_opts *o);

/* Greedy continuation of n prompts (token ids, lens[i] >= 1). out[i] (malloc'ed) receives
 * out_lens[i] new tokens. adapter may be NULL. Ties between logits go to the lowest id, as
 * torch.argmax does. */
lethe_status lethe_generate(const lethe_model *m, const lethe_lora *adapter, const int *const *prompts,
                            const int *lens, int n, const lethe_gen_opts *o, int **out, int *out_lens);

#ifdef __cplusplus
}
#endif
#endif
