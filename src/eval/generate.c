/* eval/generate.c: greedy decoding or sampling. Prompts are prefilled together into a KV cache (one slot
 * each), then every step decodes one token for each unfinished prompt in one forward pass. */
#include "lethe/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/sample.h"
#include "model/model.h"
#include "util/error.h"

void lethe_gen_opts_default(lethe_gen_opts *o) {
  memset(o, 0, sizeof *o);
  o->max_new = 256;
  o->max_batch = 16;
}

static int argmax(const float *z, int V) {
  int best = 0;
  for (int v = 1; v < V; v++)
    if (z[v] > z[best]) best = v;
  return best;
}

static int is_stop(const lethe_gen_opts *o, const lethe_config *c, int tok) {
  const int *ids = o->stop_ids ? o->stop_ids : c->eos_ids;
  int n = o->stop_ids ? o->n_stop : c->n_eos;
  for (int i = 0; i < n; i++)
    if (ids[i] == tok) return 1;
  return 0;
}

/* Decodes prompts [first, first + nb) together. */
static lethe_status run_batch(lethe_model *m, const lethe_lora *lora, const int *const *prompts, const int *lens,
    int first, int nb, const lethe_gen_opts *o, int **out, int *out_lens) {
  const lethe_config *c = &m->cfg;
  int V = c->vocab_size;
  int max_len = 0, total = 0;
  for (int i = 0; i < nb; i++) {
    int L = lens[first + i];
    if (L < 1) return lethe_fail(LETHE_ERR_INVALID, "prompt %d is empty", first + i);
    if (L >= c->max_seq_len)
      return lethe_fail(
          LETHE_ERR_INVALID, "prompt %d has %d tokens; the model's context is %d", first + i, L, c->max_seq_len);
    if (L > max_len) max_len = L;
    total += L;
  }
  int max_new = o->max_new;
  int max_pos = max_len + max_new;
  if (max_pos > c->max_seq_len) max_pos = c->max_seq_len;
  int rows_cap = o->no_cache ? nb * max_pos : (total > nb ? total : nb);
  lethe_workspace *ws = NULL;
  lethe_kv_cache *cache = NULL;
  int *tok = NULL, *slot = NULL, *pos = NULL, *last = NULL, *cur_len = NULL, *done = NULL, *start = NULL;
  float *lg = NULL, *probs = NULL;
  int *order = NULL;
  lethe_rng *rng = NULL;
  lethe_status s = lethe_model_rope_reserve(m, max_pos);
  if (!s) s = lethe_workspace_create(m, lora, rows_cap, o->no_cache ? nb : (nb > 1 ? nb : 1), LETHE_WS_INFER, &ws);
  if (!s && !o->no_cache) s = lethe_kv_cache_create(m, nb, max_pos, &cache);
  if (s) goto done;
  tok = malloc(sizeof(int) * (size_t)rows_cap);
  slot = malloc(sizeof(int) * (size_t)rows_cap);
  pos = malloc(sizeof(int) * (size_t)rows_cap);
  last = malloc(sizeof(int) * (size_t)nb);
  cur_len = calloc((size_t)nb, sizeof(int));
  done = calloc((size_t)nb, sizeof(int));
  start = malloc(sizeof(int) * (size_t)(nb + 1));
  lg = malloc(sizeof(float) * (size_t)nb * V);
  int nomem = 0;
  if (o->sample) {
    probs = malloc(sizeof(float) * (size_t)V);
    order = malloc(sizeof(int) * (size_t)V);
    rng = malloc(sizeof *rng * (size_t)nb);
    nomem |= !probs || !order || !rng;
    for (int i = 0; rng && i < nb; i++)
      lethe_rng_seed(rng + i, o->seed * 0x9E3779B97F4A7C15ull + (uint64_t)(first + i) + 1);
  }
  for (int i = 0; i < nb; i++) {
    out[first + i] = malloc(sizeof(int) * (size_t)(max_new > 0 ? max_new : 1));
    out_lens[first + i] = 0;
    nomem |= !out[first + i];
    if (o->logprobs) nomem |= !(o->logprobs[first + i] = malloc(sizeof(float) * (size_t)(max_new > 0 ? max_new : 1)));
  }
  if (nomem || !tok || !slot || !pos || !last || !cur_len || !done || !start || !lg) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  /* Each slot's sequence so far lives in out[] (new tokens) after its prompt. */
  for (int step = 0; step <= max_new; step++) {
    int N = 0, active = 0;
    if (o->no_cache) {
      /* Whole prefix of every unfinished prompt, as packed sequences. */
      for (int i = 0; i < nb; i++) {
        if (done[i]) continue;
        start[active] = N;
        int L = lens[first + i];
        for (int t = 0; t < L; t++) tok[N++] = prompts[first + i][t];
        for (int t = 0; t < out_lens[first + i]; t++) tok[N++] = out[first + i][t];
        last[active++] = N - 1;
      }
      if (!active) break;
      start[active] = N;
      lethe_batch b = {.n_seq = active, .n_tokens = N, .tokens = tok, .targets = NULL, .start = start};
      if ((s = lethe_forward(m, lora, ws, &b))) goto done;
    } else {
      for (int i = 0; i < nb; i++) {
        if (done[i]) continue;
        if (step == 0) {
          int L = lens[first + i];
          for (int t = 0; t < L; t++) {
            tok[N] = prompts[first + i][t];
            slot[N] = i;
            pos[N] = t;
            N++;
          }
          cur_len[i] = L;
        } else {
          tok[N] = out[first + i][out_lens[first + i] - 1];
          slot[N] = i;
          pos[N] = cur_len[i]++;
          N++;
        }
        last[active++] = N - 1;
      }
      if (!active) break;
      if ((s = lethe_forward_cached(m, lora, ws, cache, tok, slot, pos, N))) goto done;
    }
    if (step == max_new) break;
    if ((s = lethe_logits_rows(m, ws, last, active, lg))) goto done;
    int k = 0;
    for (int i = 0; i < nb; i++) {
      if (done[i]) continue;
      const float *z = lg + (size_t)k * V;
      int next;
      if (o->sample) {
        lethe_sample_probs(z, V, &o->sampler, probs, order);
        next = lethe_sample_draw(probs, V, rng + i);
      } else {
        next = argmax(z, V);
      }
      k++;
      int plen = lens[first + i] + out_lens[first + i];
      if (is_stop(o, c, next)) {
        done[i] = 1;
        continue;
      }
      if (o->logprobs) {
        double mx = z[0], sum = 0;
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
        o->logprobs[first + i][out_lens[first + i]] = (float)((double)z[next] - mx - log(sum));
      }
      out[first + i][out_lens[first + i]++] = next;
      if (out_lens[first + i] >= max_new || plen + 1 >= max_pos) done[i] = 1;
    }
  }
done:
  free(tok);
  free(slot);
  free(pos);
  free(last);
  free(cur_len);
  free(done);
  free(start);
  free(lg);
  free(probs);
  free(order);
  free(rng);
  lethe_kv_cache_free(cache);
  lethe_workspace_free(ws);
  return s;
}

lethe_status lethe_generate(const lethe_model *m, const lethe_lora *adapter, const int *const *prompts, const int *lens,
    int n, const lethe_gen_opts *o, int **out, int *out_lens) {
  lethe_gen_opts def;
  if (!o) {
    lethe_gen_opts_default(&def);
    o = &def;
  }
  if (o->max_new < 0) return lethe_fail(LETHE_ERR_INVALID, "max_new must be >= 0");
  if (o->sample && !(o->sampler.temperature > 0)) return lethe_fail(LETHE_ERR_INVALID, "temperature must be positive");
  if (o->sample && !(o->sampler.top_p >= 0 && o->sampler.top_p <= 1))
    return lethe_fail(LETHE_ERR_INVALID, "top-p must be in [0, 1]");
  if (o->sample && o->sampler.top_k < 0) return lethe_fail(LETHE_ERR_INVALID, "top-k must be >= 0");
  for (int i = 0; i < n; i++) {
    out[i] = NULL;
    out_lens[i] = 0;
    if (o->logprobs) o->logprobs[i] = NULL;
  }
  int bs = o->max_batch > 0 ? o->max_batch : 16;
  for (int first = 0; first < n; first += bs) {
    int nb = n - first < bs ? n - first : bs;
    /* The model is only read; rope tables may grow, which is setup, not a step. */
    lethe_status s = run_batch((lethe_model *)m, adapter, prompts, lens, first, nb, o, out, out_lens);
    if (s) {
      for (int i = 0; i < n; i++) {
        free(out[i]);
        out[i] = NULL;
        out_lens[i] = 0;
        if (o->logprobs) {
          free(o->logprobs[i]);
          o->logprobs[i] = NULL;
        }
      }
      return s;
    }
  }
  return LETHE_OK;
}
