/* tests/io/test_peft.c: PEFT adapters and merging.
 * - An adapter written by lethe (tests/fixtures/peft/NAME_lethe, made by this test with
 *   LETHE_WRITE_FIXTURES=1) loads in PEFT: tools/reference/peft_roundtrip.py recorded the logits
 *   PeftModel.from_pretrained gives with it; lethe gives the same logits (rel. err <= 1e-4).
 * - An adapter written by PEFT (tests/fixtures/peft/NAME_peft) loads in lethe with PEFT's logits.
 * - Saving a loaded adapter reproduces the file PEFT-compatible, byte for byte.
 * - lethe merge: the merged model's logits equal base + adapter (rel. err <= 1e-5).
 * - target_modules as PEFT resolves it (tests/fixtures/peft/targets_CASE, made with PEFT by
 *   tools/reference/peft_targets.py): all-linear saved as full module names, '.'-suffixes with
 *   exclude_modules, layers_to_transform + layers_pattern, a regular expression, all-linear less
 *   an exclude regex: each loads with PEFT's logits, merges to the same logits, and saved again
 *   by lethe loads the same.
 * - Adapters that do not fit (another model's shapes, a wrong rank, a non-target tensor, DoRA,
 *   aLoRA, rank_pattern, a target lethe does not adapt, a missing tensor) are clear errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

static char *fx(const char *rel) {
  char buf[512];
  snprintf(buf, sizeof buf, "tests/fixtures/%s", rel);
  return tu_src_path(buf);
}

/* Logits of the packed fixture batch (models/NAME/parity.safetensors inputs). */
static float *logits_of(lethe_model *m, const lethe_lora *lora, const char *name, size_t *n_out) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s/parity.safetensors", name);
  char *p = fx(rel);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(p, &st), LETHE_OK);
  const lethe_st_tensor *tt = lethe_st_find(&st, "tokens"), *ts = lethe_st_find(&st, "start");
  int N = (int)tt->numel, S = (int)ts->numel - 1;
  int *tok = malloc(sizeof(int) * N), *start = malloc(sizeof(int) * (S + 1));
  assert_int_equal(lethe_st_to_i32(&st, tt, tok, tt->numel), LETHE_OK);
  assert_int_equal(lethe_st_to_i32(&st, ts, start, ts->numel), LETHE_OK);
  lethe_workspace *ws;
  assert_int_equal(lethe_workspace_create(m, lora, N, S, 0, &ws), LETHE_OK);
  lethe_batch b = {.n_seq = S, .n_tokens = N, .tokens = tok, .targets = NULL, .start = start};
  assert_int_equal(lethe_forward(m, lora, ws, &b), LETHE_OK);
  float *z = malloc(sizeof(float) * (size_t)N * m->cfg.vocab_size);
  m->ops->logits(z, ws->lnf, m->head, N, m->cfg.dim, m->cfg.vocab_size);
  *n_out = (size_t)N * m->cfg.vocab_size;
  lethe_workspace_free(ws);
  free(tok);
  free(start);
  lethe_st_close(&st);
  free(p);
  return z;
}

static lethe_model *model(const char *name) {
  char rel[128];
  snprintf(rel, sizeof rel, "models/%s", name);
  char *p = fx(rel);
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  free(p);
  return m;
}

/* The lethe-written adapter of a fixture model: rank 3 on q, v, o and down, A and B random from
 * fixed seeds. */
static lethe_lora *make_lethe_adapter(const lethe_model *m) {
  lethe_lora_config lc = {.rank = 3, .alpha = 6, .targets = 0, .init = LETHE_LORA_INIT_KAIMING};
  assert_int_equal(lethe_lora_parse_targets("q_proj,v_proj,o_proj,down_proj", &lc.targets), LETHE_OK);
  lethe_lora *l;
  assert_int_equal(lethe_lora_create(&m->cfg, &lc, 77, &l), LETHE_OK);
  lethe_rng r;
  lethe_rng_seed(&r, 78);
  for (size_t i = 0; i < l->n_params; i++)
    if (l->params[i] == 0.0f) l->params[i] = (float)(0.1 * lethe_rng_normal(&r));
  return l;
}

static void expected(const char *name, const char *which, float **want, size_t *n) {
  char rel[256];
  snprintf(rel, sizeof rel, "peft/%s_expected.safetensors", name);
  char *p = fx(rel);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(p, &st), LETHE_OK);
  const lethe_st_tensor *t = lethe_st_find(&st, which);
  assert_non_null(t);
  *want = malloc(sizeof(float) * t->numel);
  *n = t->numel;
  assert_int_equal(lethe_st_to_f32(&st, t, *want, t->numel), LETHE_OK);
  lethe_st_close(&st);
  free(p);
}

static void roundtrip(const char *name) {
  lethe_model *m = model(name);
  char rel[256];
  snprintf(rel, sizeof rel, "peft/%s_lethe", name);
  char *ldir = fx(rel);
  if (getenv("LETHE_WRITE_FIXTURES")) {
    lethe_lora *l = make_lethe_adapter(m);
    assert_int_equal(lethe_lora_save(l, "tests/fixtures/models", ldir), LETHE_OK);
    lethe_lora_free(l);
    print_message("wrote %s\n", ldir);
  }
  /* lethe's adapter, as PEFT applies it. */
  lethe_lora *l;
  assert_int_equal(lethe_lora_load(ldir, m, &l), LETHE_OK);
  lethe_lora *again = make_lethe_adapter(m);
  assert_memory_equal(l->params, again->params, sizeof(float) * l->n_params); /* the file holds what lethe wrote */
  lethe_lora_free(again);
  size_t n, nw;
  float *z = logits_of(m, l, name, &n), *want;
  expected(name, "logits_lethe_adapter", &want, &nw);
  assert_int_equal(n, nw);
  tu_assert_close("PEFT logits with lethe's adapter", z, want, n, 1e-4);
  print_message("%s: lethe's adapter in PEFT: relative error %.2e\n", name, tu_rel_err(z, want, n));
  free(z);
  free(want);
  /* Saving what was loaded gives the same bytes. */
  char *tmp = tu_tmp_path("peft-resave");
  assert_int_equal(lethe_lora_save(l, "tests/fixtures/models", tmp), LETHE_OK);
  char *a = lethe_path_join(ldir, "adapter_model.safetensors"), *b = lethe_path_join(tmp, "adapter_model.safetensors");
  lethe_mapped_file fa, fb;
  assert_int_equal(lethe_map_file(a, &fa), LETHE_OK);
  assert_int_equal(lethe_map_file(b, &fb), LETHE_OK);
  assert_int_equal(fa.size, fb.size);
  assert_memory_equal(fa.data, fb.data, fa.size);
  lethe_unmap_file(&fa);
  lethe_unmap_file(&fb);
  lethe_remove_tree(tmp);
  free(a);
  free(b);
  free(tmp);
  lethe_lora_free(l);
  /* PEFT's adapter in lethe. */
  snprintf(rel, sizeof rel, "peft/%s_peft", name);
  char *pdir = fx(rel);
  assert_int_equal(lethe_lora_load(pdir, m, &l), LETHE_OK);
  z = logits_of(m, l, name, &n);
  expected(name, "logits_peft_adapter", &want, &nw);
  tu_assert_close("lethe logits with PEFT's adapter", z, want, n, 1e-4);
  print_message("%s: PEFT's adapter in lethe: relative error %.2e\n", name, tu_rel_err(z, want, n));
  free(z);
  free(want);
  /* Merge: merged weights give base + adapter. */
  float *with = logits_of(m, l, name, &n);
  char *merged = tu_tmp_path("merged");
  char *mdir = fx("models");
  char model_path[512];
  snprintf(model_path, sizeof model_path, "%s/%s", mdir, name);
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "merge", "--model", model_path, "--adapter", pdir, "--out", merged, NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  lethe_model *mm;
  assert_int_equal(lethe_model_load(merged, &mm), LETHE_OK);
  float *zm = logits_of(mm, NULL, name, &n);
  tu_assert_close("merged model logits", zm, with, n, 1e-5);
  print_message("%s: merged vs base + adapter: relative error %.2e\n", name, tu_rel_err(zm, with, n));
  lethe_model_free(mm);
  lethe_remove_tree(merged);
  free(merged);
  free(mdir);
  free(zm);
  free(with);
  lethe_lora_free(l);
  free(pdir);
  free(ldir);
  lethe_model_free(m);
}

/* base_model_name_or_path: a local path is written absolute (it resolves from anywhere); a Hub
 * id, which is no local path, as given. */
static void test_base_model_path(void **state) {
  (void)state;
  lethe_model *m = model("olmo_tiny");
  lethe_lora *l = make_lethe_adapter(m);
  char *tmp = tu_tmp_path("peft-base");
  const char *given[] = {".", "org/some-model"};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(lethe_lora_save(l, given[i], tmp), LETHE_OK);
    char *p = lethe_path_join(tmp, "adapter_config.json"), *text;
    size_t len;
    assert_int_equal(lethe_read_file(p, 1 << 20, &text, &len), LETHE_OK);
    char cwd[4096], want[4200];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "\"base_model_name_or_path\": \"%s\"", i == 0 ? cwd : given[i]);
    if (!strstr(text, want)) print_error("%s lacks %s\n", text, want);
    assert_non_null(strstr(text, want));
    free(text);
    free(p);
  }
  lethe_remove_tree(tmp);
  free(tmp);
  lethe_lora_free(l);
  lethe_model_free(m);
}

static void test_olmo(void **s) {
  (void)s;
  roundtrip("olmo_tiny");
}
static void test_llama(void **s) {
  (void)s;
  roundtrip("llama_tiny");
}

static void expect_load_error(lethe_model *m, const char *dir, const char *needle) {
  lethe_lora *l = NULL;
  lethe_status s = lethe_lora_load(dir, m, &l);
  if (s == LETHE_OK) {
    lethe_lora_free(l);
    print_error("accepted a bad adapter (%s)\n", needle);
    fail();
  }
  print_message("%s\n", lethe_last_error());
  if (!strstr(lethe_last_error(), needle)) {
    print_error("message lacks '%s'\n", needle);
    fail();
  }
}

static void test_bad_adapters(void **state) {
  (void)state;
  lethe_model *olmo = model("olmo_tiny"), *llama = model("llama_tiny");
  char *peft = fx("peft/olmo_tiny_peft");
  /* An adapter for another model: OLMo's (MHA, 4 kv heads) on the Llama fixture (GQA). */
  expect_load_error(llama, peft, "an adapter for another model");
  char *dir = tu_fresh_dir("badpeft");
  char *cfg = lethe_path_join(dir, "adapter_config.json"), *w = lethe_path_join(dir, "adapter_model.safetensors");
  char *src_w = lethe_path_join(peft, "adapter_model.safetensors");
  assert_int_equal(lethe_copy_file(src_w, w), LETHE_OK);
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 5, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"]}");
  expect_load_error(olmo, dir, "r=5");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\"]}");
  expect_load_error(olmo, dir, "which target_modules does not select");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\", \"k_proj\"]}");
  expect_load_error(olmo, dir, "missing base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight");
  tu_write_text(cfg,
      "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"use_dora\": true, \"target_modules\": [\"q_proj\"]}");
  expect_load_error(olmo, dir, "use_dora");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": \".*proj\"}");
  expect_load_error(olmo, dir, "missing base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": \"(q_proj\"}");
  expect_load_error(olmo, dir, "not a regular expression");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"], "
                     "\"alora_invocation_tokens\": [5, 6]}");
  expect_load_error(olmo, dir, "alora_invocation_tokens");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"], "
                     "\"rank_pattern\": {\"q_proj\": 2}}");
  expect_load_error(olmo, dir, "rank_pattern");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"], "
                     "\"modules_to_save\": [\"lm_head\"]}");
  expect_load_error(olmo, dir, "modules_to_save");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"], "
                     "\"some_future_field\": 3}");
  expect_load_error(olmo, dir, "some_future_field");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"], "
                     "\"init_lora_weights\": \"pissa_niter_4\"}");
  expect_load_error(olmo, dir, "init_lora_weights 'pissa_niter_4'");
  tu_write_text(
      cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", \"lm_head\"]}");
  expect_load_error(olmo, dir, "selects module 'lm_head'");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"proj\"]}");
  expect_load_error(olmo, dir, "selects no module");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\"], "
                     "\"layers_to_transform\": \"x\"}");
  expect_load_error(olmo, dir, "layers_to_transform");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", 3]}");
  expect_load_error(olmo, dir, "target_modules[1] is not a string");
  tu_write_text(cfg, "{\"peft_type\": \"PREFIX_TUNING\"}");
  expect_load_error(olmo, dir, "PREFIX_TUNING");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\"], \"bias\": \"all\"}");
  expect_load_error(olmo, dir, "bias 'all'");
  tu_write_text(cfg, "not json");
  expect_load_error(olmo, dir, "invalid JSON");
  tu_write_text(cfg, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
                     "\"v_proj\", \"down_proj\"]}");
  unlink(w);
  expect_load_error(olmo, dir, "cannot open");
  /* a pickled adapter: said so, with the way out */
  char *bin = lethe_path_join(dir, "adapter_model.bin");
  tu_write_text(bin, "\x80\x02pickle");
  expect_load_error(olmo, dir, "adapter_model.bin is a pickle");
  unlink(bin);
  free(bin);
  lethe_remove_tree(dir);
  free(src_w);
  free(cfg);
  free(w);
  free(dir);
  free(peft);
  lethe_model_free(olmo);
  lethe_model_free(llama);
}

/* PEFT's own resolution of target_modules: each case loads with the logits PEFT gives. */
static void target_case(const char *cas, const char *name) {
  lethe_model *m = model(name);
  char rel[256];
  snprintf(rel, sizeof rel, "peft/targets_%s", cas);
  char *dir = fx(rel);
  lethe_lora *l;
  lethe_status ls = lethe_lora_load(dir, m, &l);
  if (ls) print_error("%s\n", lethe_last_error());
  assert_int_equal(ls, LETHE_OK);
  size_t n, nw;
  float *z = logits_of(m, l, name, &n), *want;
  char *p = fx("peft/targets_expected.safetensors");
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(p, &st), LETHE_OK);
  const lethe_st_tensor *t = lethe_st_find(&st, cas);
  assert_non_null(t);
  nw = t->numel;
  want = malloc(sizeof(float) * nw);
  assert_int_equal(lethe_st_to_f32(&st, t, want, nw), LETHE_OK);
  lethe_st_close(&st);
  assert_int_equal(n, nw);
  tu_assert_close("lethe logits with PEFT's adapter", z, want, n, 1e-4);
  char *desc = lethe_lora_targets_describe(l->layer_targets, l->n_layers);
  print_message("%s (%s): %s; relative error %.2e\n", cas, name, desc, tu_rel_err(z, want, n));
  free(desc);
  /* merged into the weights (only the adapted layers' projections change): the same logits */
  lethe_model *mm = model(name);
  assert_int_equal(lethe_lora_merge(mm, l), LETHE_OK);
  float *zm = logits_of(mm, NULL, name, &n);
  tu_assert_close("merged logits", zm, z, n, 1e-5);
  free(zm);
  lethe_model_free(mm);
  /* saved by lethe (full names where layers differ) and loaded again: the same logits */
  char *tmp = tu_tmp_path("peft-targets");
  assert_int_equal(lethe_lora_save(l, NULL, tmp), LETHE_OK);
  lethe_lora *again;
  assert_int_equal(lethe_lora_load(tmp, m, &again), LETHE_OK);
  float *z2 = logits_of(m, again, name, &n);
  assert_memory_equal(z, z2, sizeof(float) * n);
  assert_memory_equal(l->layer_targets, again->layer_targets, sizeof(unsigned) * (size_t)l->n_layers);
  lethe_remove_tree(tmp);
  free(tmp);
  free(z2);
  lethe_lora_free(again);
  free(z);
  free(want);
  free(p);
  free(dir);
  lethe_lora_free(l);
  lethe_model_free(m);
}

static void test_targets_all_linear(void **s) {
  (void)s;
  target_case("all_linear", "olmo_tiny");
}
static void test_targets_suffix_exclude(void **s) {
  (void)s;
  target_case("suffix_excl", "llama_tiny");
}
static void test_targets_layers(void **s) {
  (void)s;
  target_case("layers", "qwen2_tiny");
}
static void test_targets_regex(void **s) {
  (void)s;
  target_case("regex", "llama_tiny");
}
static void test_targets_exclude_regex(void **s) {
  (void)s;
  target_case("excl_regex", "qwen2_tiny");
}

/* An adapter lethe makes for some layers only (--lora-targets model.layers.1.self_attn.q_proj,v) is
 * written with PEFT's full module names and loads in PEFT with lethe's logits
 * (tests/fixtures/peft/targets_lethe_partial, written by this test with LETHE_WRITE_FIXTURES=1;
 * PEFT's logits from tools/reference/peft_targets.py). */
static void test_lethe_partial_in_peft(void **state) {
  (void)state;
  lethe_model *m = model("llama_tiny");
  char *dir = fx("peft/targets_lethe_partial");
  unsigned lt[2];
  assert_int_equal(lethe_lora_targets_from_list("model.layers.1.self_attn.q_proj,v", &m->cfg, lt), LETHE_OK);
  assert_true(lt[0] == 1u << LETHE_PROJ_V && lt[1] == ((1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V)));
  lethe_lora_config lc = {.rank = 3, .alpha = 6, .layer_targets = lt, .init = LETHE_LORA_INIT_KAIMING};
  lethe_lora *l;
  assert_int_equal(lethe_lora_create(&m->cfg, &lc, 5, &l), LETHE_OK);
  /* B random where adapted; layer 0's q_proj stays A = B = 0 */
  lethe_rng r;
  lethe_rng_seed(&r, 6);
  for (int lay = 0; lay < 2; lay++)
    for (int p = 0; p < LETHE_NPROJ; p++) {
      if (!(lt[lay] & (1u << p))) continue;
      float *B = lethe_lora_B(l, p, lay);
      for (int i = 0; i < l->out_dim[p] * l->cfg.rank; i++) B[i] = (float)(0.2 * lethe_rng_normal(&r));
    }
  const float *A0 = lethe_lora_A(l, LETHE_PROJ_Q, 0);
  for (int i = 0; i < l->cfg.rank * l->in_dim[LETHE_PROJ_Q]; i++) assert_true(A0[i] == 0.0f);
  if (getenv("LETHE_WRITE_FIXTURES")) {
    assert_int_equal(lethe_lora_save(l, NULL, dir), LETHE_OK);
    print_message("wrote %s\n", dir);
  }
  size_t n, nw;
  float *z = logits_of(m, l, "llama_tiny", &n);
  lethe_lora *back;
  assert_int_equal(lethe_lora_load(dir, m, &back), LETHE_OK);
  float *zb = logits_of(m, back, "llama_tiny", &n);
  assert_memory_equal(z, zb, sizeof(float) * n);
  char *p = fx("peft/targets_expected.safetensors");
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(p, &st), LETHE_OK);
  const lethe_st_tensor *t = lethe_st_find(&st, "lethe_partial");
  assert_non_null(t);
  nw = t->numel;
  float *want = malloc(sizeof(float) * nw);
  assert_int_equal(lethe_st_to_f32(&st, t, want, nw), LETHE_OK);
  lethe_st_close(&st);
  assert_int_equal(n, nw);
  tu_assert_close("PEFT logits with lethe's partial adapter", z, want, n, 1e-4);
  print_message("lethe's adapter for some layers, in PEFT: relative error %.2e\n", tu_rel_err(z, want, n));
  free(want);
  free(p);
  free(z);
  free(zb);
  lethe_lora_free(back);
  lethe_lora_free(l);
  free(dir);
  lethe_model_free(m);
}

/* --lora-targets names as PEFT resolves them, on the 2-layer OLMo fixture. */
static void test_target_list(void **state) {
  (void)state;
  lethe_model *m = model("olmo_tiny");
  unsigned lt[2];
  const unsigned all = (1u << LETHE_NPROJ) - 1, qv = (1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V);
  assert_int_equal(lethe_lora_targets_from_list("all-linear", &m->cfg, lt), LETHE_OK);
  assert_true(lt[0] == all && lt[1] == all);
  assert_int_equal(lethe_lora_targets_from_list("q,self_attn.v_proj", &m->cfg, lt), LETHE_OK);
  assert_true(lt[0] == qv && lt[1] == qv);
  assert_int_equal(lethe_lora_targets_from_list("model.layers.1.mlp.down_proj,q_proj", &m->cfg, lt), LETHE_OK);
  assert_true(lt[0] == 1u << LETHE_PROJ_Q && lt[1] == ((1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_DOWN)));
  char *d = lethe_lora_targets_describe(lt, 2);
  assert_string_equal(
      d, "model.layers.0.self_attn.q_proj,model.layers.1.self_attn.q_proj,model.layers.1.mlp.down_proj");
  free(d);
  assert_int_not_equal(lethe_lora_targets_from_list("mlp.q_proj", &m->cfg, lt), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "selects no module"));
  assert_int_not_equal(lethe_lora_targets_from_list("embed_tokens", &m->cfg, lt), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "model.embed_tokens"));
  assert_int_not_equal(lethe_lora_targets_from_list("", &m->cfg, lt), LETHE_OK);
  lethe_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_olmo),
      cmocka_unit_test(test_llama),
      cmocka_unit_test(test_bad_adapters),
      cmocka_unit_test(test_base_model_path),
      cmocka_unit_test(test_targets_all_linear),
      cmocka_unit_test(test_targets_suffix_exclude),
      cmocka_unit_test(test_targets_layers),
      cmocka_unit_test(test_targets_regex),
      cmocka_unit_test(test_targets_exclude_regex),
      cmocka_unit_test(test_target_list),
      cmocka_unit_test(test_lethe_partial_in_peft),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
