/* tests/io/test_gguf_smollm2.c: a real quantised model, SmolLM2-135M-Instruct as Q4_1 GGUF (fetched by
 * scripts/fetch-smollm2.sh; the test skips without it), against llama.cpp
 * (tools/reference/make_smollm2_fixtures.py, tests/fixtures/gguf/smollm2_*.json):
 *  - the tokenizer.json lethe derives from the GGUF encodes ~200 strings exactly as llama.cpp does;
 *  - greedy decoding of three prompts (llama.cpp's prompt ids) gives, for all 48 tokens (EOS does not
 *    stop either side), the continuation llama.cpp computes on the same weights in fp32 (a dequantised copy of
 *    the file). On the Q4_1 file itself llama.cpp quantises activations to 8 bits inside its dot
 *    products, which moves logits by a few hundredths; lethe must agree with that run too up to
 *    the first step where llama.cpp's own top-two margin is below NEAR_TIE logits, and the test
 *    prints where the paths part. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"
#include "lethe/generate.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "testutil.h"

#define NEAR_TIE 0.5

static char g_looked_at[4096]; /* where gguf_path looked last, for the skip message */

static char *gguf_path(void) {
  const char *env = getenv("LETHE_SMOLLM2");
  char buf[4096];
  if (env && *env)
    snprintf(buf, sizeof buf, "%s", env);
  else {
    const char *cache = getenv("LETHE_CACHE"), *home = getenv("HOME");
    if (cache && *cache)
      snprintf(buf, sizeof buf, "%s/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", cache);
    else
      snprintf(buf, sizeof buf, "%s/.cache/lethe/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", home ? home : "");
  }
  snprintf(g_looked_at, sizeof g_looked_at, "%s", buf);
  struct stat st;
  return stat(buf, &st) == 0 ? strdup(buf) : NULL;
}

#define REQUIRE_SMOLLM2(p)                                                                                             \
  do {                                                                                                                 \
    if (!(p))                                                                                                          \
      tu_skip_case("SmolLM2-135M-Instruct.Q4_1.gguf not found at %s (run scripts/fetch-smollm2.sh, "                   \
                   "or set LETHE_SMOLLM2)",                                                                            \
          g_looked_at);                                                                                                \
  } while (0)

static json_t *load_json(const char *rel) {
  char *p = tu_src_path(rel);
  json_error_t e;
  json_t *j = json_load_file(p, 0, &e);
  if (!j) print_error("%s: %s\n", p, e.text);
  assert_non_null(j);
  free(p);
  return j;
}

static lethe_tokenizer *gguf_tokenizer(const char *path) {
  char *json = NULL;
  lethe_status s = lethe_gguf_tokenizer_json(path, &json);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  lethe_tokenizer *t = NULL;
  s = lethe_tokenizer_load_json(json, strlen(json), path, &t);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  free(json);
  return t;
}

static int *ids_of(const json_t *a, int *n) {
  *n = (int)json_array_size(a);
  int *x = malloc(sizeof(int) * (size_t)(*n ? *n : 1));
  for (int i = 0; i < *n; i++) x[i] = (int)json_integer_value(json_array_get(a, (size_t)i));
  return x;
}

static void test_tokenizer(void **state) {
  (void)state;
  char *path = gguf_path();
  REQUIRE_SMOLLM2(path);
  lethe_tokenizer *t = gguf_tokenizer(path);
  json_t *all = load_json("tests/fixtures/gguf/smollm2_tokenize.json");
  json_t *cases = json_object_get(all, "cases"), *c;
  size_t i;
  int bad = 0;
  json_array_foreach(cases, i, c) {
    json_t *jt = json_object_get(c, "text");
    int nw, n = 0, *want = ids_of(json_object_get(c, "ids"), &nw), *got = NULL;
    lethe_status s = lethe_tokenizer_encode(t, json_string_value(jt), json_string_length(jt), 1, &got, &n);
    int same = !s && n == nw;
    for (int k = 0; same && k < n; k++) same = got[k] == want[k];
    if (!same) {
      bad++;
      print_error("differs from llama.cpp: \"%s\"\n", json_string_value(jt));
    }
    free(got);
    free(want);
  }
  print_message("SmolLM2 tokenizer: %zu of %zu strings encode as llama.cpp does\n",
      json_array_size(cases) - (size_t)bad, json_array_size(cases));
  assert_int_equal(bad, 0);
  json_decref(all);
  lethe_tokenizer_free(t);
  free(path);
}

static int common_prefix(const int *a, int na, const int *b, int nb) {
  int k = 0;
  while (k < na && k < nb && a[k] == b[k]) k++;
  return k;
}

static void test_greedy(void **state) {
  (void)state;
  char *path = gguf_path();
  REQUIRE_SMOLLM2(path);
  lethe_model *m = NULL;
  lethe_status s = lethe_model_load(path, &m);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  lethe_tokenizer *t = gguf_tokenizer(path);
  json_t *all = load_json("tests/fixtures/gguf/smollm2_greedy.json");
  json_t *runs = json_object_get(all, "runs"), *r;
  int max_new = (int)json_integer_value(json_object_get(all, "max_new"));
  size_t i;
  json_array_foreach(runs, i, r) {
    json_t *jp = json_object_get(r, "prompt");
    int np, *prompt = ids_of(json_object_get(r, "prompt_ids"), &np);
    int nq, *q41 = ids_of(json_object_get(r, "continuation_ids"), &nq);
    int nf, *f32 = ids_of(json_object_get(r, "continuation_ids_fp32"), &nf);
    json_t *margins = json_object_get(r, "margins");
    /* lethe's tokenizer gives llama.cpp's prompt ids */
    int *enc = NULL, ne = 0;
    assert_int_equal(lethe_tokenizer_encode(t, json_string_value(jp), json_string_length(jp), 1, &enc, &ne), LETHE_OK);
    assert_int_equal(common_prefix(enc, ne, prompt, np), np);
    assert_int_equal(ne, np);
    lethe_gen_opts o;
    lethe_gen_opts_default(&o);
    o.max_new = max_new;
    static const int no_stop[1] = {-1};
    o.stop_ids = no_stop; /* EOS is a token like any other here, as in the reference */
    o.n_stop = 0;
    const int *pr[1] = {prompt};
    int *out = NULL, nout = 0;
    assert_int_equal(lethe_generate(m, NULL, pr, &np, 1, &o, &out, &nout), LETHE_OK);
    int kf = common_prefix(out, nout, f32, nf), kq = common_prefix(out, nout, q41, nq);
    int tie = 0;
    while (tie < nq && json_real_value(json_array_get(margins, (size_t)tie)) >= NEAR_TIE) tie++;
    print_message(
        "prompt %zu: %d new tokens; vs llama.cpp fp32 copy: %d of %d match; vs llama.cpp Q4_1: first %d match "
        "(its first top-two margin below %.1f is at step %d%s)\n",
        i, nout, kf, nf, kq, NEAR_TIE, tie, kq < nq ? "" : ", never reached");
    if (kq < nq && kq < nout)
      print_message("   step %d: lethe %d, llama.cpp Q4_1 %d (llama.cpp margin there %.4f)\n", kq, out[kq], q41[kq],
          json_real_value(json_array_get(margins, (size_t)kq)));
    assert_int_equal(nout, nf);
    assert_int_equal(kf, nf);
    assert_true(nf >= 32);
    assert_true(kq >= tie || kq == nq);
    free(out);
    free(enc);
    free(prompt);
    free(q41);
    free(f32);
  }
  json_decref(all);
  lethe_tokenizer_free(t);
  lethe_model_free(m);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokenizer),
      cmocka_unit_test(test_greedy),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
