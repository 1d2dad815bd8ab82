/* tests/model/test_parity.c: lethe against PyTorch (transformers + PEFT) on the committed tiny
 * models of tools/reference/make_fixtures.py: logits, loss and the gradient of every parameter
 * (full training) and of every LoRA factor, relative error <= 1e-4 in fp32. The two sequences of
 * a fixture are packed into one batch here while PyTorch ran them one by one, so packing is
 * checked too. Every check runs twice: all activations kept, and per-block recomputation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "testutil.h"
#include "util/json.h"

#define TOL 1e-4

typedef struct {
  lethe_model *m;
  lethe_safetensors st;
  int *tokens, *targets, *start;
  int N, S;
  lethe_batch b;
} parity;

static float *read_f32(parity *p, const char *name, size_t *n) {
  const lethe_st_tensor *t = lethe_st_find(&p->st, name);
  if (!t) {
    print_error("fixture tensor %s missing\n", name);
    fail();
  }
  float *x = malloc(sizeof(float) * t->numel);
  assert_int_equal(lethe_st_to_f32(&p->st, t, x, t->numel), LETHE_OK);
  if (n) *n = t->numel;
  return x;
}

static int *read_i32(parity *p, const char *name, int *n) {
  const lethe_st_tensor *t = lethe_st_find(&p->st, name);
  assert_non_null(t);
  int *x = malloc(sizeof(int) * t->numel);
  assert_int_equal(lethe_st_to_i32(&p->st, t, x, t->numel), LETHE_OK);
  *n = (int)t->numel;
  return x;
}

static void open_fixture(parity *p, const char *name) {
  memset(p, 0, sizeof *p);
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
  char *dir = tu_src_path(rel);
  lethe_status s = lethe_model_load(dir, &p->m);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  char *path = tu_src_path(strcat(rel, "/parity.safetensors"));
  assert_int_equal(lethe_st_open(path, &p->st), LETHE_OK);
  int ns;
  p->tokens = read_i32(p, "tokens", &p->N);
  p->targets = read_i32(p, "targets", &ns);
  p->start = read_i32(p, "start", &ns);
  p->S = ns - 1;
  p->b = (lethe_batch){.n_seq = p->S, .n_tokens = p->N, .tokens = p->tokens, .targets = p->targets, .start = p->start};
  free(dir);
  free(path);
}

static void close_fixture(parity *p) {
  free(p->tokens);
  free(p->targets);
  free(p->start);
  lethe_st_close(&p->st);
  lethe_model_free(p->m);
}

/* Runs forward, all-row logits, mean NLL loss and (optionally) backward; checks logits + loss. */
static void run_and_check(
    parity *p, lethe_lora *lora, const char *logits_name, const char *loss_name, int backward, int keep) {
  lethe_workspace *ws;
  assert_int_equal(lethe_workspace_create(p->m, lora, p->N, p->S, keep, &ws), LETHE_OK);
  if (keep == LETHE_WS_RECOMPUTE) {
    /* recomputation keeps less: one input per block instead of every activation */
    lethe_workspace *full;
    assert_int_equal(lethe_workspace_create(p->m, lora, p->N, p->S, LETHE_WS_TRAIN, &full), LETHE_OK);
    print_message("activation arena: %zu bytes with recomputation, %zu without\n", ws->arena_bytes, full->arena_bytes);
    assert_true(ws->arena_bytes < full->arena_bytes);
    lethe_workspace_free(full);
  }
  assert_int_equal(lethe_forward(p->m, lora, ws, &p->b), LETHE_OK);
  int V = p->m->cfg.vocab_size;
  float *logits = malloc(sizeof(float) * (size_t)p->N * V);
  p->m->ops->logits(logits, ws->lnf, p->m->head, p->N, p->m->cfg.dim, V);
  size_t n;
  float *want = read_f32(p, logits_name, &n);
  assert_int_equal(n, (size_t)p->N * V);
  tu_assert_close(logits_name, logits, want, n, TOL);
  print_message("%s: relative error %.2e\n", logits_name, tu_rel_err(logits, want, n));
  /* loss = mean NLL over target rows: dL/dl_t = -1 / count */
  int count = 0;
  for (int t = 0; t < p->N; t++) count += p->targets[t] >= 0;
  float *fixed = malloc(sizeof(float) * (size_t)count);
  for (int i = 0; i < count; i++) fixed[i] = -1.0f / (float)count;
  lethe_head_coef coef = {.fixed = fixed};
  assert_int_equal(lethe_head(p->m, ws, &p->b, &coef, backward), LETHE_OK);
  assert_int_equal(ws->n_rows, count);
  double loss = 0;
  for (int i = 0; i < count; i++) loss -= ws->logp[i];
  float lossf = (float)(loss / count);
  float *wl = read_f32(p, loss_name, NULL);
  tu_assert_close(loss_name, &lossf, wl, 1, TOL);
  print_message("%s: lethe %.7f, PyTorch %.7f\n", loss_name, lossf, wl[0]);
  if (backward) assert_int_equal(lethe_backward(p->m, lora, ws, &p->b), LETHE_OK);
  free(wl);
  free(fixed);
  free(want);
  free(logits);
  lethe_workspace_free(ws);
}

static void check_base(const char *name, int keep) {
  parity p;
  open_fixture(&p, name);
  assert_int_equal(lethe_model_enable_grads(p.m), LETHE_OK);
  run_and_check(&p, NULL, "logits_base", "loss_base", 1, keep);
  double worst = 0;
  for (int i = 0; i < p.m->n_tensors; i++) {
    const lethe_tensor *t = &p.m->tensors[i];
    char key[128];
    snprintf(key, sizeof key, "grad.%s", t->name);
    size_t n;
    float *want = read_f32(&p, key, &n);
    assert_int_equal(n, t->numel);
    tu_assert_close(key, p.m->grads + t->offset, want, n, TOL);
    double e = tu_rel_err(p.m->grads + t->offset, want, n);
    worst = e > worst ? e : worst;
    free(want);
  }
  print_message("parameter gradients: worst relative error %.2e\n", worst);
  close_fixture(&p);
}

static void check_lora(const char *name, int keep) {
  parity p;
  open_fixture(&p, name);
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s/lora.json", name);
  char *path = tu_src_path(rel);
  json_t *j;
  assert_int_equal(lethe_json_load(path, 1 << 16, &j), LETHE_OK);
  lethe_lora_config lc = {.rank = (int)json_integer_value(json_object_get(j, "r")),
      .alpha = json_number_value(json_object_get(j, "lora_alpha")),
      .rslora = json_is_true(json_object_get(j, "use_rslora"))};
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(j, "target_modules"), i, e) {
    unsigned t;
    assert_int_equal(lethe_lora_parse_targets(json_string_value(e), &t), LETHE_OK);
    lc.targets |= t;
  }
  json_decref(j);
  free(path);
  lethe_lora *lora;
  assert_int_equal(lethe_lora_create(&p.m->cfg, &lc, 1, &lora), LETHE_OK);
  int loaded = 0;
  for (int k = 0; k < p.st.n; k++) {
    const char *key = p.st.tensors[k].name;
    if (strncmp(key, "lora.", 5) != 0) continue;
    float *dst;
    int is_b, proj, layer;
    assert_int_equal(lethe_lora_peft_slot(lora, key + 5, &dst, &is_b, &proj, &layer), LETHE_OK);
    assert_int_equal(lethe_st_to_f32(&p.st, &p.st.tensors[k], dst, p.st.tensors[k].numel), LETHE_OK);
    loaded++;
  }
  assert_int_equal(loaded, 2 * p.m->cfg.n_layers * __builtin_popcount(lc.targets));
  run_and_check(&p, lora, "logits_lora", "loss_lora", 1, keep);
  double worst = 0;
  for (int k = 0; k < p.st.n; k++) {
    const char *key = p.st.tensors[k].name;
    if (strncmp(key, "lora_grad.", 10) != 0) continue;
    float *dst;
    int is_b, proj, layer;
    assert_int_equal(lethe_lora_peft_slot(lora, key + 10, &dst, &is_b, &proj, &layer), LETHE_OK);
    size_t n;
    float *want = read_f32(&p, key, &n);
    tu_assert_close(key, lora->grads + (dst - lora->params), want, n, TOL);
    double err = tu_rel_err(lora->grads + (dst - lora->params), want, n);
    worst = err > worst ? err : worst;
    free(want);
  }
  print_message("LoRA gradients: worst relative error %.2e\n", worst);
  lethe_lora_free(lora);
  close_fixture(&p);
}

/* Every check runs with all activations kept and with per-block recomputation: both must match
 * PyTorch's gradients. */
#define PAIR(fn, check, name)                                                                                          \
  static void fn(void **s) {                                                                                           \
    (void)s;                                                                                                           \
    check(name, LETHE_WS_TRAIN);                                                                                       \
  }                                                                                                                    \
  static void fn##_recompute(void **s) {                                                                               \
    (void)s;                                                                                                           \
    check(name, LETHE_WS_RECOMPUTE);                                                                                   \
  }
PAIR(test_olmo_base, check_base, "olmo_tiny")
PAIR(test_llama_base, check_base, "llama_tiny")
PAIR(test_qwen2_base, check_base, "qwen2_tiny")
PAIR(test_olmo_lora, check_lora, "olmo_tiny")
PAIR(test_llama_lora, check_lora, "llama_tiny")
PAIR(test_qwen2_lora, check_lora, "qwen2_tiny")

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_olmo_base),
      cmocka_unit_test(test_llama_base),
      cmocka_unit_test(test_qwen2_base),
      cmocka_unit_test(test_olmo_lora),
      cmocka_unit_test(test_llama_lora),
      cmocka_unit_test(test_qwen2_lora),
      cmocka_unit_test(test_olmo_base_recompute),
      cmocka_unit_test(test_llama_base_recompute),
      cmocka_unit_test(test_qwen2_base_recompute),
      cmocka_unit_test(test_olmo_lora_recompute),
      cmocka_unit_test(test_llama_lora_recompute),
      cmocka_unit_test(test_qwen2_lora_recompute),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
