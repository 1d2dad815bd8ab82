/* lethe/generate.h: greedy decoding or sampling with a KV cache, batched over prompts of different
 * lengths; generation_config.json's defaults. */
#ifndef LETHE_GENERATE_H
#define LETHE_GENERATE_H

#include "lethe/lora.h"
#include "lethe/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sampling as transformers does it: temperature, then top-k, then top-p (see eval/sample.c). */
typedef struct {
  double temperature; /* > 0; 1: unchanged */
  int top_k;          /* 0: off */
  double top_p;       /* 1: off */
} lethe_sampler;

typedef struct {
  int max_new;         /* at most this many new tokens per prompt (default 256) */
  const int *stop_ids; /* stop when one of these is generated (it is not returned); NULL: the
                          model's eos ids */
  int n_stop;
  int max_batch; /* prompts decoded together (default 16) */
  int no_cache;  /* recompute the whole prefix every step (slow; a check of the cache) */
  int sample;    /* draw from the sampler's distribution instead of the argmax */
  lethe_sampler sampler;
  uint64_t seed;    /* prompt i draws from its own generator seeded from (seed, i): the same
                       tokens whatever the batch */
  float **logprobs; /* non-NULL: logprobs[i] (malloc'ed, out_lens[i]) gets each new token's
                       log-probability under the model (log-softmax of the raw logits) */
} lethe_gen_opts;

/* The next-token distribution (probs, V) of logits (V) under the sampler, as transformers'
 * TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper, then softmax, make it. order
 * (V ints) is scratch. */
void lethe_sample_probs(const float *logits, int V, const lethe_sampler *s, float *probs, int *order);

#define LETHE_GEN_MAX_EOS 16

/* generation_config.json; unset fields are -1 (ints) or NaN. */
typedef struct {
  int present; /* the file exists */
  int eos_ids[LETHE_GEN_MAX_EOS];
  int n_eos; /* 0: none given (the model's config.json eos ids apply) */
  int max_new_tokens;
  int max_length; /* prompt + new tokens, when max_new_tokens is unset */
  int do_sample;
  double temperature;
  int top_k;
  double top_p;
} lethe_gen_config;

void lethe_gen_config_default(lethe_gen_config *g);
/* Reads MODEL_DIR/generation_config.json when model_path is a directory holding one (else the
 * defaults); a malformed file is an error naming it. */
lethe_status lethe_gen_config_load(const char *model_path, lethe_gen_config *g);
lethe_status lethe_gen_config_parse(const char *text, size_t len, const char *path, lethe_gen_config *g);

void lethe_gen_opts_default(lethe_gen_opts *o);

/* Greedy (or, with o->sample, sampled) continuation of n prompts (token ids, lens[i] >= 1). out[i] (malloc'ed) receives
 * out_lens[i] new tokens. adapter may be NULL. Ties between logits go to the lowest id, as
 * torch.argmax does. */
lethe_status lethe_generate(const lethe_model *m, const lethe_lora *adapter, const int *const *prompts, const int *lens,
    int n, const lethe_gen_opts *o, int **out, int *out_lens);

#ifdef __cplusplus
}
#endif
#endif
