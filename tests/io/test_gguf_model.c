/* tests/io/test_gguf_model.c: GGUF models against the same models in Hugging Face form
 * (tools/reference/make_gguf_fixtures.py):
 *  - olmo_tiny_f32.gguf and llama_tiny_f32.gguf are tests/fixtures/models/{olmo,llama}_tiny converted
 *    with llama.cpp's conventions (q/k rows permuted to interleaved RoPE pairs; llama_tiny's Llama 3
 *    RoPE scaling stored as rope_freqs.weight): every weight must come back bit-identical to the
 *    safetensors model, the config must agree, and the logits must match PyTorch's.
 *  - llama_mixed.gguf (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K tensors; GQA; untied head) and
 *    olmo_mixed.gguf (Q8_0, Q4_0, Q6_K, F16; clip_qkv; tied head): logits against transformers'
 *    LlamaForCausalLM / OlmoForCausalLM holding the dequantised weights, relative error <= 1e-4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "testutil.h"

#define TOL 1e-4

static lethe_model *load(const char *rel) {
  char *p = tu_src_path(rel);
  lethe_model *m = NULL;
  lethe_status s = lethe_model_load(p, &m);
  if (s) print_error("%s: %s\n", rel, lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  free(p);
  return m;
}

static void *st_read(lethe_safetensors *st, const char *name, int i32, size_t *n) {
  const lethe_st_tensor *t = lethe_st_find(st, name);
  if (!t) {
    print_error("fixture tensor %s missing\n", name);
    fail();
  }
  void *x = malloc(4 * t->numel);
  if (i32)
    assert_int_equal(lethe_st_to_i32(st, t, x, t->numel), LETHE_OK);
  else
    assert_int_equal(lethe_st_to_f32(st, t, x, t->numel), LETHE_OK);
  *n = t->numel;
  return x;
}

/* All-position logits of the packed sequences tokens[start[i] .. start[i+1]). */
static float *logits_of(const lethe_model *m, const int *tokens, const int *start, int S) {
  int N = start[S];
  lethe_workspace *ws;
  assert_int_equal(lethe_workspace_create((lethe_model *)m, NULL, N, S, 0, &ws), LETHE_OK);
  lethe_batch b = {.n_seq = S, .n_tokens = N, .tokens = tokens, .targets = NULL, .start = start};
  assert_int_equal(lethe_forward(m, NULL, ws, &b), LETHE_OK);
  float *lg = malloc(sizeof(float) * (size_t)N * m->cfg.vocab_size);
  m->ops->logits(lg, ws->lnf, m->head, N, m->cfg.dim, m->cfg.vocab_size);
  lethe_workspace_free(ws);
  return lg;
}

static void check_tiny(const char *name) {
  char rel[160];
  snprintf(rel, sizeof rel, "tests/fixtures/gguf/%s_f32.gguf", name);
  lethe_model *g = load(rel);
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
  lethe_model *h = load(rel);
  const lethe_config *a = &g->cfg, *b = &h->cfg;
  assert_int_equal(a->arch, b->arch);
  assert_string_equal(a->model_type, b->model_type);
  assert_true(a->norm_eps == b->norm_eps);
  assert_int_equal(a->rope_type, b->rope_type);
  assert_true(a->rope_factor == b->rope_factor);
  assert_true(a->rope_low_freq_factor == b->rope_low_freq_factor);
  assert_true(a->rope_high_freq_factor == b->rope_high_freq_factor);
  assert_int_equal(a->rope_original_max_pos, b->rope_original_max_pos);
  assert_int_equal(a->bos_id, b->bos_id);
  assert_int_equal(a->vocab_size, b->vocab_size);
  assert_int_equal(a->dim, b->dim);
  assert_int_equal(a->n_layers, b->n_layers);
  assert_int_equal(a->n_heads, b->n_heads);
  assert_int_equal(a->n_kv_heads, b->n_kv_heads);
  assert_int_equal(a->head_dim, b->head_dim);
  assert_int_equal(a->hidden_dim, b->hidden_dim);
  assert_int_equal(a->max_seq_len, b->max_seq_len);
  assert_int_equal(a->tie_embeddings, b->tie_embeddings);
  assert_true(a->clip_qkv == b->clip_qkv);
  assert_true(a->rope_theta == b->rope_theta);
  assert_int_equal(a->n_eos, 1);
  assert_int_equal(a->eos_ids[0], b->eos_ids[0]);
  assert_int_equal(a->pad_id, b->pad_id);
  assert_int_equal(g->n_tensors, h->n_tensors);
  assert_int_equal(g->n_params, h->n_params);
  for (int i = 0; i < h->n_tensors; i++) {
    const lethe_tensor *th = &h->tensors[i], *tg = lethe_model_find(g, th->name);
    assert_non_null(tg);
    assert_int_equal(tg->numel, th->numel);
    if (memcmp(g->params + tg->offset, h->params + th->offset, sizeof(float) * th->numel)) {
      print_error("%s differs between the GGUF and the safetensors model\n", th->name);
      fail();
    }
  }
  print_message("%s: %d tensors, %zu parameters bit-identical to the safetensors model, config the same\n", name,
      g->n_tensors, g->n_params);
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s/parity.safetensors", name);
  char *pp = tu_src_path(rel);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(pp, &st), LETHE_OK);
  size_t nt, ns, nl;
  int *tokens = st_read(&st, "tokens", 1, &nt), *start = st_read(&st, "start", 1, &ns);
  float *want = st_read(&st, "logits_base", 0, &nl);
  float *got = logits_of(g, tokens, start, (int)ns - 1);
  assert_int_equal(nl, nt * (size_t)g->cfg.vocab_size);
  print_message("%s GGUF logits vs PyTorch: relative error %.2e\n", name, tu_rel_err(got, want, nl));
  tu_assert_close(name, got, want, nl, TOL);
  free(got);
  free(want);
  free(tokens);
  free(start);
  lethe_st_close(&st);
  free(pp);
  lethe_model_free(g);
  lethe_model_free(h);
}

static void test_olmo_tiny_same_as_safetensors(void **state) {
  (void)state;
  check_tiny("olmo_tiny");
}

/* GQA, tied head, rms_norm_eps 1e-6 and Llama 3 RoPE scaling recovered from rope_freqs.weight */
static void test_llama_tiny_same_as_safetensors(void **state) {
  (void)state;
  check_tiny("llama_tiny");
}

static void check_mixed(const char *name, lethe_arch arch, int tied, double clip) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/gguf/%s.gguf", name);
  lethe_model *m = load(rel);
  assert_int_equal(m->cfg.arch, arch);
  assert_int_equal(m->cfg.tie_embeddings, tied);
  assert_true(m->cfg.clip_qkv == clip);
  assert_true(m->cfg.norm_eps == 1e-5); /* stored as float32, read back as the decimal it was */
  snprintf(rel, sizeof rel, "tests/fixtures/gguf/%s_ref.safetensors", name);
  char *rp = tu_src_path(rel);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(rp, &st), LETHE_OK);
  size_t nt, nl;
  int *tokens = st_read(&st, "tokens", 1, &nt);
  float *want = st_read(&st, "logits", 0, &nl);
  int start[2] = {0, (int)nt};
  float *got = logits_of(m, tokens, start, 1);
  assert_int_equal(nl, nt * (size_t)m->cfg.vocab_size);
  print_message("%s: logits vs transformers (dequantised weights): relative error %.2e, max |diff| %.2e\n", name,
      tu_rel_err(got, want, nl), tu_max_abs_diff(got, want, nl));
  tu_assert_close(name, got, want, nl, TOL);
  free(got);
  free(want);
  free(tokens);
  lethe_st_close(&st);
  free(rp);
  lethe_model_free(m);
}

static void test_llama_mixed(void **state) {
  (void)state;
  check_mixed("llama_mixed", LETHE_ARCH_LLAMA, 0, 0.0);
}

static void test_olmo_mixed(void **state) {
  (void)state;
  check_mixed("olmo_mixed", LETHE_ARCH_OLMO, 1, 0.5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_olmo_tiny_same_as_safetensors),
      cmocka_unit_test(test_llama_tiny_same_as_safetensors),
      cmocka_unit_test(test_llama_mixed),
      cmocka_unit_test(test_olmo_mixed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
