/* bench/bench_gen.c: `lethe bench gen`: prompt (prefill) and generation (decode) tokens per second
 * of batched greedy decoding with the KV cache, on a real model or a random one of a given shape. */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe/bench.h"
#include "model/model.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"

lethe_status lethe_bench_gen(const lethe_bench_gen_opts *o, lethe_bench_gen_result *r) {
  memset(r, 0, sizeof *r);
  if (o->batch < 1 || o->prompt_len < 1 || o->new_tokens < 1 || o->reps < 1)
    return lethe_fail(LETHE_ERR_INVALID, "bench gen needs batch, prompt length, new tokens and reps >= 1");
  r->blas_core = openblas_get_corename();
  lethe_model *m = NULL;
  if (o->model) {
    LETHE_TRY(lethe_model_load(o->model, &m));
  } else {
    lethe_config c;
    if (!o->config) return lethe_fail(LETHE_ERR_INVALID, "bench gen needs --model or --config");
    LETHE_TRY(lethe_config_load(o->config, &c));
    LETHE_TRY(lethe_model_create(&c, o->seed, 0.02f, &m));
  }
  if (o->device) {
    lethe_status ds = lethe_model_to_device(m, o->device);
    if (ds) {
      lethe_model_free(m);
      return ds;
    }
  }
  const lethe_config *c = &m->cfg;
  int B = o->batch, P = o->prompt_len, M = o->new_tokens, len = P + M;
  lethe_workspace *ws = NULL;
  lethe_kv_cache *kc = NULL;
  int *tok = malloc(sizeof(int) * (size_t)B * P), *slot = malloc(sizeof(int) * (size_t)B * P),
      *pos = malloc(sizeof(int) * (size_t)B * P), *last = malloc(sizeof(int) * (size_t)B);
  float *lg = malloc(sizeof(float) * (size_t)B * c->vocab_size);
  lethe_status s =
      len > c->max_seq_len ? lethe_fail(LETHE_ERR_INVALID, "prompt + new tokens exceed the context") : LETHE_OK;
  if (!s && !(tok && slot && pos && last && lg)) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!s) s = lethe_model_rope_reserve(m, len);
  if (!s) s = lethe_workspace_create(m, NULL, B * P, B, LETHE_WS_INFER, &ws);
  if (!s) s = lethe_kv_cache_create(m, B, len, &kc);
  lethe_rng rng;
  lethe_rng_seed(&rng, o->seed + 1);
  double tp = 0, td = 0;
  for (int rep = 0; rep < o->reps && !s; rep++) {
    for (int b = 0; b < B; b++)
      for (int t = 0; t < P; t++) {
        tok[b * P + t] = (int)lethe_rng_below(&rng, (uint64_t)c->vocab_size);
        slot[b * P + t] = b;
        pos[b * P + t] = t;
      }
    double t0 = lethe_now_s();
    if ((s = lethe_forward_cached(m, NULL, ws, kc, tok, slot, pos, B * P))) break;
    for (int b = 0; b < B; b++) last[b] = b * P + P - 1;
    if ((s = lethe_logits_rows(m, ws, last, B, lg))) break;
    double t1 = lethe_now_s();
    for (int step = 0; step < M && !s; step++) {
      for (int b = 0; b < B; b++) {
        const float *z = lg + (size_t)b * c->vocab_size;
        int best = 0;
        for (int v = 1; v < c->vocab_size; v++) best = z[v] > z[best] ? v : best;
        tok[b] = best;
        slot[b] = b;
        pos[b] = P + step;
        last[b] = b;
      }
      if ((s = lethe_forward_cached(m, NULL, ws, kc, tok, slot, pos, B))) break;
      if ((s = lethe_logits_rows(m, ws, last, B, lg))) break;
    }
    double t2 = lethe_now_s();
    if (rep > 0 || o->reps == 1) { /* the first repetition warms up when there are several */
      tp += t1 - t0;
      td += t2 - t1;
    }
  }
  if (!s) {
    int counted = o->reps > 1 ? o->reps - 1 : 1;
    r->prefill_tokens_per_s = (double)B * P * counted / tp;
    r->decode_tokens_per_s = (double)B * M * counted / td;
  }
  free(tok);
  free(slot);
  free(pos);
  free(last);
  free(lg);
  lethe_kv_cache_free(kc);
  lethe_workspace_free(ws);
  lethe_model_free(m);
  return s;
}
