/* tests/eval/test_generate_hf.c: generation as transformers does it, against fixtures made by
 * tools/reference/make_generate_fixtures.py:
 * - the sampling distribution (temperature, top-k, top-p in transformers' order) on fixed logits
 *   equals transformers' processed softmax, and draws follow it;
 * - sampling with a seed is reproducible, independent of batching, and another seed differs;
 * - greedy generation stops on generation_config.json's eos_token_id list where model.generate
 *   stops, and takes its max_new_tokens as the default; so do lethe eval's generations;
 * - --chat's templates give apply_chat_template's text and ids for ChatML, Llama 3, Mistral and
 *   Llama-2;
 * - --chat on a real instruct model's GGUF (SmolLM2-135M-Instruct, its tokenizer.chat_template;
 *   skipped without it) answers and stops at its end-of-turn token;
 * - bad generation_config.json, --prompt-ids and chat templates are one clear error each. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/sample.h"
#include "lethe/chat.h"
#include "lethe/generate.h"
#include "lethe/tokenizer.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

static float *floats(const json_t *a, int *n) {
  *n = (int)json_array_size(a);
  float *x = malloc(sizeof(float) * (size_t)*n);
  for (int i = 0; i < *n; i++) x[i] = (float)json_number_value(json_array_get(a, (size_t)i));
  return x;
}

static void test_sampling_distribution(void **state) {
  (void)state;
  json_t *j = tu_load_json("tests/fixtures/generate/sampling.json");
  int V;
  float *z = floats(json_object_get(j, "logits"), &V);
  float *p = malloc(sizeof(float) * V);
  int *order = malloc(sizeof(int) * V);
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(j, "cases"), i, c) {
    lethe_sampler s = {json_number_value(json_object_get(c, "temperature")),
        (int)json_integer_value(json_object_get(c, "top_k")), json_number_value(json_object_get(c, "top_p"))};
    int nw;
    float *want = floats(json_object_get(c, "probs"), &nw);
    assert_int_equal(nw, V);
    lethe_sample_probs(z, V, &s, p, order);
    int kept = 0, kept_w = 0;
    for (int v = 0; v < V; v++) kept += p[v] > 0, kept_w += want[v] > 0;
    print_message("T %.2f top-k %d top-p %.2f: %d of %d tokens kept (transformers %d), max |dp| %.2e\n", s.temperature,
        s.top_k, s.top_p, kept, V, kept_w, tu_max_abs_diff(p, want, V));
    assert_int_equal(kept, kept_w);
    for (int v = 0; v < V; v++) assert_true((p[v] > 0) == (want[v] > 0));
    assert_true(tu_max_abs_diff(p, want, V) <= 1e-6);
    /* draws follow the distribution: every frequency within 5 standard errors */
    if (i == 4) {
      enum { N = 40000 };
      int count[64] = {0};
      lethe_rng r;
      lethe_rng_seed(&r, 1);
      for (int k = 0; k < N; k++) count[lethe_sample_draw(p, V, &r)]++;
      for (int v = 0; v < V; v++) {
        double f = (double)count[v] / N, se = sqrt(p[v] * (1 - p[v]) / N) + 1e-9;
        assert_true(fabs(f - p[v]) <= 5 * se);
        if (p[v] == 0) assert_int_equal(count[v], 0);
      }
    }
    free(want);
  }
  free(order);
  free(p);
  free(z);
  json_decref(j);
}

static lethe_model *tiny(void) {
  char *p = tu_src_path("tests/fixtures/models/llama_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  free(p);
  return m;
}

static void test_seeded_sampling(void **state) {
  (void)state;
  lethe_model *m = tiny();
  int p0[] = {5, 17, 42, 8}, p1[] = {9, 3};
  const int *prompts[2] = {p0, p1};
  int lens[2] = {4, 2};
  lethe_gen_opts o;
  lethe_gen_opts_default(&o);
  o.max_new = 16;
  o.stop_ids = (int[]){-1};
  o.n_stop = 1;
  o.sample = 1;
  o.sampler = (lethe_sampler){0.9, 40, 0.95};
  o.seed = 7;
  int *a[2], *b[2], *c[2], la[2], lb[2], lc[2];
  assert_int_equal(lethe_generate(m, NULL, prompts, lens, 2, &o, a, la), LETHE_OK);
  assert_int_equal(lethe_generate(m, NULL, prompts, lens, 2, &o, b, lb), LETHE_OK);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(la[i], 16);
    assert_int_equal(la[i], lb[i]);
    assert_memory_equal(a[i], b[i], sizeof(int) * la[i]);
  }
  /* one prompt per batch: the same tokens */
  o.max_batch = 1;
  assert_int_equal(lethe_generate(m, NULL, prompts, lens, 2, &o, c, lc), LETHE_OK);
  for (int i = 0; i < 2; i++) assert_memory_equal(a[i], c[i], sizeof(int) * la[i]);
  for (int i = 0; i < 2; i++) free(c[i]);
  /* another seed: other tokens */
  o.seed = 8;
  assert_int_equal(lethe_generate(m, NULL, prompts, lens, 2, &o, c, lc), LETHE_OK);
  assert_true(memcmp(a[0], c[0], sizeof(int) * 16) != 0 || memcmp(a[1], c[1], sizeof(int) * 16) != 0);
  for (int i = 0; i < 2; i++) {
    free(a[i]);
    free(b[i]);
    free(c[i]);
  }
  lethe_model_free(m);
  /* the CLI: the same seed, the same JSON */
  char *model = tu_src_path("tests/fixtures/models/llama_tiny"), *o1, *o2, *o3;
  assert_int_equal(tu_run_lethe(NULL, &o1, NULL, "generate", "--model", model, "--prompt-ids", "5 17 42 8", "--sample",
                       "--seed", "11", "--max-new", "12", "--logprobs", NULL),
      0);
  assert_int_equal(tu_run_lethe(NULL, &o2, NULL, "generate", "--model", model, "--prompt-ids", "5 17 42 8", "--sample",
                       "--seed", "11", "--max-new", "12", "--logprobs", NULL),
      0);
  assert_int_equal(tu_run_lethe(NULL, &o3, NULL, "generate", "--model", model, "--prompt-ids", "5 17 42 8", "--sample",
                       "--seed", "12", "--max-new", "12", "--logprobs", NULL),
      0);
  print_message("%s%s", o1, o3);
  assert_string_equal(o1, o2);
  assert_string_not_equal(o1, o3);
  json_error_t e;
  json_t *j = json_loads(o1, 0, &e);
  assert_non_null(j);
  assert_int_equal(json_array_size(json_object_get(j, "ids")), 12);
  assert_int_equal(json_array_size(json_object_get(j, "logprobs")), 12);
  for (size_t i = 0; i < 12; i++) assert_true(json_number_value(json_array_get(json_object_get(j, "logprobs"), i)) < 0);
  json_decref(j);
  free(o1);
  free(o2);
  free(o3);
  free(model);
}

static char *ids_csv(const json_t *a, size_t n) {
  char *s = malloc(16 * (n + 1)), *w = s;
  *w = 0;
  for (size_t i = 0; i < n; i++)
    w += sprintf(w, i ? " %lld" : "%lld", (long long)json_integer_value(json_array_get(a, i)));
  return s;
}

/* The new ids of `lethe generate --ids` output. */
static json_t *gen_ids(const char *model, const char *prompt, int *rc) {
  char *out, *err;
  *rc = tu_run_lethe(NULL, &out, &err, "generate", "--model", model, "--prompt-ids", prompt, "--ids", NULL);
  if (*rc) print_message("%s", err);
  json_t *j = *rc ? NULL : json_loads(out, 0, NULL), *ids = NULL;
  if (j) ids = json_incref(json_object_get(j, "ids"));
  json_decref(j);
  free(out);
  free(err);
  return ids;
}

static void test_eos_list(void **state) {
  (void)state;
  json_t *fx = tu_load_json("tests/fixtures/generate/eos.json");
  const json_t *pr = json_object_get(fx, "prompt"), *want = json_object_get(fx, "transformers"),
               *free_run = json_object_get(fx, "free");
  char *prompt = ids_csv(pr, json_array_size(pr));
  char *src = tu_src_path("tests/fixtures/models/llama_tiny"), *dir = tu_tmp_path("eosmodel");
  lethe_remove_tree(dir);
  assert_int_equal(lethe_make_dirs(dir), LETHE_OK);
  const char *files[] = {"config.json", "model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(dir, files[i]);
    assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  /* without generation_config.json: greedy as transformers, up to the context of 64 (config.json's
   * eos 2 never comes) */
  int rc;
  json_t *ids = gen_ids(dir, prompt, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(json_array_size(ids), 64 - 4);
  for (size_t i = 0; i < json_array_size(free_run); i++)
    assert_int_equal(json_integer_value(json_array_get(ids, i)), json_integer_value(json_array_get(free_run, i)));
  json_decref(ids);
  /* with it: stops where model.generate stops (transformers keeps the eos token, lethe drops it) */
  char *gp = lethe_path_join(dir, "generation_config.json");
  char *gtext = json_dumps(json_object_get(fx, "generation_config"), 0);
  assert_int_equal(lethe_write_file_atomic(gp, gtext, strlen(gtext)), LETHE_OK);
  ids = gen_ids(dir, prompt, &rc);
  assert_int_equal(rc, 0);
  size_t nw = json_array_size(want);
  print_message(
      "generation_config %s: %zu new tokens (transformers %zu with the eos)\n", gtext, json_array_size(ids), nw);
  assert_int_equal(json_array_size(ids), nw - 1);
  for (size_t i = 0; i + 1 < nw; i++)
    assert_int_equal(json_integer_value(json_array_get(ids, i)), json_integer_value(json_array_get(want, i)));
  json_decref(ids);
  /* max_new_tokens is the default: an eos list that never matches runs 20 tokens */
  const char *g2 = "{\"eos_token_id\": [94, 95], \"max_new_tokens\": 20}";
  assert_int_equal(lethe_write_file_atomic(gp, g2, strlen(g2)), LETHE_OK);
  ids = gen_ids(dir, prompt, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(json_array_size(ids), 20);
  json_decref(ids);
  /* bad generation_config.json: one clear error naming it */
  const char *bad[] = {"{\"eos_token_id\": \"x\"}", "{\"eos_token_id\": [1, -4]}", "{\"max_new_tokens\": 1.5}",
      "{\"temperature\": 0}", "{\"eos_token_id\": [1,", "[]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(lethe_write_file_atomic(gp, bad[i], strlen(bad[i])), LETHE_OK);
    char *out, *err;
    rc = tu_run_lethe(NULL, &out, &err, "generate", "--model", dir, "--prompt-ids", "5 6", "--ids", NULL);
    print_message("%s -> %s", bad[i], err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "generation_config.json"));
    assert_int_equal(out[0], 0);
    free(out);
    free(err);
  }
  free(gtext);
  free(gp);
  lethe_remove_tree(dir);
  free(dir);
  free(src);
  free(prompt);
  json_decref(fx);
}

/* lethe eval's generations stop at generation_config.json's eos ids too: with the first token the
 * model generates for a row as the eos, that row's generation is empty. */
static void test_eval_stops_at_eos(void **state) {
  (void)state;
  char *src = tu_src_path("tests/fixtures/models/llama_tiny"), *dir = tu_tmp_path("evaleos"),
       *out = tu_tmp_path("evaleos-out");
  char *tok = tu_src_path("tests/fixtures/score/tokenizer.json"),
       *rows = tu_src_path("tests/fixtures/score/rows.jsonl");
  lethe_remove_tree(dir);
  lethe_remove_tree(out);
  assert_int_equal(lethe_make_dirs(dir), LETHE_OK);
  const char *files[] = {"config.json", "model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(dir, files[i]);
    assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  char *o, *err;
  assert_int_equal(tu_run_lethe(NULL, &o, &err, "generate", "--model", dir, "--tokenizer", tok, "--prompt",
                       "Who wrote the letter?", "--max-new", "4", "--ids", NULL),
      0);
  json_t *j = json_loads(o, 0, NULL);
  assert_non_null(j);
  json_int_t first = json_integer_value(json_array_get(json_object_get(j, "ids"), 0));
  json_decref(j);
  free(o);
  free(err);
  char gc[64];
  snprintf(gc, sizeof gc, "{\"eos_token_id\": [%lld]}", (long long)first);
  char *gp = lethe_path_join(dir, "generation_config.json");
  assert_int_equal(lethe_write_file_atomic(gp, gc, strlen(gc)), LETHE_OK);
  int rc = tu_run_lethe(NULL, &o, &err, "eval", "--model", dir, "--tokenizer", tok, "--forget", rows, "--out", out,
      "--max-new", "8", "--quiet", NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(o);
  free(err);
  char *rp = lethe_path_join(out, "rows.jsonl"), *text;
  size_t len;
  assert_int_equal(lethe_read_file(rp, 1 << 20, &text, &len), LETHE_OK);
  json_t *row = json_loadb(text, (size_t)(strchr(text, '\n') - text), 0, NULL);
  assert_non_null(row);
  print_message("eos %s: row a1 generated '%s'\n", gc, json_string_value(json_object_get(row, "generated")));
  assert_string_equal(json_string_value(json_object_get(row, "id")), "a1");
  assert_string_equal(json_string_value(json_object_get(row, "generated")), "");
  json_decref(row);
  free(text);
  free(rp);
  free(gp);
  lethe_remove_tree(dir);
  lethe_remove_tree(out);
  free(dir);
  free(out);
  free(src);
  free(tok);
  free(rows);
}

static void test_bad_prompt_ids(void **state) {
  (void)state;
  char *model = tu_src_path("tests/fixtures/models/llama_tiny");
  const char *bad[] = {"5 x", "-1", "96", "99999999999", "5,,x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *out, *err;
    int rc = tu_run_lethe(NULL, &out, &err, "generate", "--model", model, "--prompt-ids", bad[i], "--ids", NULL);
    print_message("'%s' -> %d %s", bad[i], rc, err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "--prompt-ids"));
    assert_int_equal(out[0], 0);
    free(out);
    free(err);
  }
  free(model);
}

static void chat_family(const char *name) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/chat/%s.json", name);
  json_t *fx = tu_load_json(rel);
  const char *tokrel = json_string_value(json_object_get(fx, "tokenizer")),
             *cfgrel = json_string_value(json_object_get(fx, "config"));
  char *tokp = !strncmp(tokrel, "../shared/", 10) ? tu_shared_path(tokrel + 10) : tu_src_path(tokrel);
  char *cfgp = !strncmp(cfgrel, "../shared/", 10) ? tu_shared_path(cfgrel + 10) : tu_src_path(cfgrel);
  if (!tokp || !cfgp) json_decref(fx);
  TU_REQUIRE_SHARED(tokp, tokrel);
  TU_REQUIRE_SHARED(cfgp, cfgrel);
  lethe_tokenizer *tok;
  assert_int_equal(lethe_tokenizer_load(tokp, &tok), LETHE_OK);
  lethe_chat_template t;
  lethe_status ls = lethe_chat_template_load(cfgp, &t);
  if (ls) print_error("%s\n", lethe_last_error());
  assert_int_equal(ls, LETHE_OK);
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(fx, "cases"), i, c) {
    const json_t *ms = json_object_get(c, "messages");
    int n = (int)json_array_size(ms);
    lethe_chat_msg msgs[8];
    for (int k = 0; k < n; k++) {
      msgs[k].role = json_string_value(json_object_get(json_array_get(ms, k), "role"));
      msgs[k].content = json_string_value(json_object_get(json_array_get(ms, k), "content"));
    }
    char *text;
    assert_int_equal(lethe_chat_render(&t, msgs, n, 1, &text), LETHE_OK);
    assert_string_equal(text, json_string_value(json_object_get(c, "text")));
    int *ids, nids;
    assert_int_equal(lethe_tokenizer_encode(tok, text, strlen(text), 0, &ids, &nids), LETHE_OK);
    const json_t *want = json_object_get(c, "ids");
    assert_int_equal((size_t)nids, json_array_size(want));
    for (int k = 0; k < nids; k++) assert_int_equal(ids[k], json_integer_value(json_array_get(want, (size_t)k)));
    print_message("%s: %d messages -> %d ids, as apply_chat_template\n", name, n, nids);
    free(ids);
    free(text);
  }
  lethe_chat_template_free(&t);
  lethe_tokenizer_free(tok);
  free(tokp);
  free(cfgp);
  json_decref(fx);
}

static void test_chat_chatml(void **s) {
  (void)s;
  chat_family("chatml");
}
static void test_chat_llama3(void **s) {
  (void)s;
  chat_family("llama3");
}
static void test_chat_mistral(void **s) {
  (void)s;
  chat_family("mistral");
}
static void test_chat_llama2(void **s) {
  (void)s;
  chat_family("llama2");
}

static void test_chat_errors(void **state) {
  (void)state;
  lethe_chat_template t;
  assert_int_not_equal(
      lethe_chat_template_parse("{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}", "", "", "x.json", &t),
      LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "x.json: chat_template is of no family"));
  assert_int_not_equal(
      lethe_chat_template_parse("<|start_header_id|>system Cutting Knowledge Date", "", "", "y.json", &t), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "Llama 3.1"));
  assert_int_not_equal(
      lethe_chat_template_parse("<|im_start|>{% if enable_thinking %}<think>", "", "", "q.json", &t), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "<think>"));
  assert_int_equal(
      lethe_chat_template_parse("[INST] ... {{ message['content'] + eos_token + ' ' }}", "<s>", "</s>", "m.json", &t),
      LETHE_OK);
  lethe_chat_msg turns[3] = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}};
  char *r;
  assert_int_equal(lethe_chat_render(&t, turns, 3, 1, &r), LETHE_OK);
  assert_string_equal(r, "<s>[INST] a [/INST]b</s> [INST] c [/INST]");
  free(r);
  lethe_chat_template_free(&t);
  assert_int_equal(lethe_chat_template_parse("[INST]", "<s>", "</s>", "m.json", &t), LETHE_OK);
  lethe_chat_msg two_users[2] = {{"user", "a"}, {"user", "b"}};
  char *out;
  assert_int_not_equal(lethe_chat_render(&t, two_users, 2, 1, &out), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "alternate"));
  lethe_chat_msg tool[1] = {{"tool", "a"}};
  assert_int_not_equal(lethe_chat_render(&t, tool, 1, 1, &out), LETHE_OK);
  lethe_chat_template_free(&t);
  /* a model directory without tokenizer_config.json; one whose config has no chat_template */
  char *dir = tu_fresh_dir("chatcfg");
  assert_int_not_equal(lethe_chat_template_load(dir, &t), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "tokenizer_config.json"));
  char *p = lethe_path_join(dir, "tokenizer_config.json");
  assert_int_equal(lethe_write_file_atomic(p, "{\"bos_token\": \"<s>\"}", 20), LETHE_OK);
  assert_int_not_equal(lethe_chat_template_load(dir, &t), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "no chat_template"));
  assert_int_equal(lethe_write_file_atomic(p, "{\"chat_template\": 3", 19), LETHE_OK);
  assert_int_not_equal(lethe_chat_template_load(dir, &t), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "tokenizer_config.json"));
  lethe_remove_tree(dir);
  free(p);
  free(dir);
  /* the CLI: --chat on a model whose tokenizer has no tokenizer_config.json beside it */
  char *model = tu_src_path("tests/fixtures/models/llama_tiny"),
       *tok = tu_src_path("tests/fixtures/score/tokenizer.json"), *o, *err;
  int rc =
      tu_run_lethe(NULL, &o, &err, "generate", "--model", model, "--tokenizer", tok, "--chat", "--prompt", "hi", NULL);
  print_message("%s", err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "tokenizer_config.json"));
  assert_int_equal(o[0], 0);
  free(o);
  free(err);
  assert_int_equal(
      tu_run_lethe(NULL, NULL, &err, "generate", "--model", model, "--chat", "--prompt-ids", "1", NULL), 2);
  free(err);
  free(tok);
  free(model);
}

static void test_chat_gguf_smollm2(void **state) {
  (void)state;
  char *path = tu_smollm2_path();
  if (!path)
    tu_skip_case("SmolLM2-135M-Instruct.Q4_1.gguf not found (run scripts/fetch-smollm2.sh, or set LETHE_SMOLLM2)");
  char *out, *err;
  int rc = tu_run_lethe(NULL, &out, &err, "generate", "--model", path, "--chat", "--prompt",
      "What is the capital of France?", "--max-new", "30", "--ids", NULL);
  print_message("%s%s", out, err);
  assert_int_equal(rc, 0);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  /* the template's default system turn, then the user's, then the assistant header */
  const json_t *p = json_object_get(j, "prompt_ids");
  assert_int_equal(json_integer_value(json_array_get(p, 0)), 1); /* <|im_start|> */
  assert_int_equal(json_integer_value(json_array_get(p, json_array_size(p) - 1)), 198);
  assert_true(json_array_size(json_object_get(j, "ids")) < 30); /* stopped at <|im_end|> */
  assert_string_equal(json_string_value(json_object_get(j, "text")), "The capital of France is Paris.");
  json_decref(j);
  free(out);
  free(err);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sampling_distribution),
      cmocka_unit_test(test_seeded_sampling),
      cmocka_unit_test(test_eos_list),
      cmocka_unit_test(test_bad_prompt_ids),
      cmocka_unit_test(test_chat_chatml),
      cmocka_unit_test(test_chat_llama3),
      cmocka_unit_test(test_chat_mistral),
      cmocka_unit_test(test_chat_llama2),
      cmocka_unit_test(test_chat_errors),
      cmocka_unit_test(test_chat_gguf_smollm2),
      cmocka_unit_test(test_eval_stops_at_eos),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
