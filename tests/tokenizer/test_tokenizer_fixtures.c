/* tests/tokenizer/test_tok_fixtures.c: lethe's tokenizers against the answers of the Hugging Face
 * tokenizers library (the JSONL files in tests/fixtures/tokenizer, made by
 * tools/reference/make_tokenizer_fixtures.py): for gpt2, olmo-0724, llama3, mistral (read from
 * ../shared) and the built-in tokenizer, thousands of strings encoded without and with special
 * tokens and decoded with and without skipping them, every LUME row (its text read from
 * ../shared), the synthetic tokenizers of edge.jsonl, and llama2.c's tok512.bin against a faithful
 * re-implementation of llama2.c's encode/decode. Every string must match exactly. */
#include <stdlib.h>
#include <string.h>

#include "tok_fixture_util.h"

typedef struct {
  lethe_tokenizer *t;
  const char *name;
  int fails, count;
} run;

static const json_t *field_or(const json_t *rec, const char *key, const json_t *dflt) {
  const json_t *v = json_object_get(rec, key);
  return v ? v : dflt;
}

static void check_case(lethe_tokenizer *t, const char *name, json_t *rec, int *fails) {
  const json_t *jt = json_object_get(rec, "text");
  const char *text = json_string_value(jt);
  size_t tlen = json_string_length(jt);
  const json_t *ids = json_object_get(rec, "ids");
  const json_t *ids_sp = field_or(rec, "ids_sp", ids);
  const json_t *dec = field_or(rec, "dec", jt), *dec_skip = field_or(rec, "dec_skip", jt),
               *dec_plain = field_or(rec, "dec_plain", jt);
  char what[160];
  int ok = 1;
  for (int sp = 0; sp < 2; sp++) {
    int *got = NULL, n = 0;
    lethe_status st = lethe_tokenizer_encode(t, text, tlen, sp, &got, &n);
    if (st != LETHE_OK) {
      print_error("%s: encode failed: %s\n", name, lethe_last_error());
      ok = 0;
      continue;
    }
    snprintf(what, sizeof what, "%s: encode(add_special=%d)", name, sp);
    if (!tf_ids_equal(what, text, tlen, got, n, sp ? ids_sp : ids)) ok = 0;
    free(got);
  }
  struct {
    const json_t *ids;
    int skip;
    const json_t *want;
    const char *label;
  } d[3] = {{ids_sp, 0, dec, "decode(ids_sp)"}, {ids_sp, 1, dec_skip, "decode(ids_sp, skip_special)"},
      {ids, 0, dec_plain, "decode(ids)"}};
  for (int k = 0; k < 3; k++) {
    size_t m = json_array_size(d[k].ids);
    int *v = malloc((m + 1) * sizeof *v);
    for (size_t i = 0; i < m; i++) v[i] = (int)json_integer_value(json_array_get(d[k].ids, i));
    char *out = NULL;
    size_t olen = 0;
    lethe_status st = lethe_tokenizer_decode(t, v, (int)m, d[k].skip, &out, &olen);
    free(v);
    if (st != LETHE_OK) {
      print_error("%s: %s failed: %s\n", name, d[k].label, lethe_last_error());
      ok = 0;
      continue;
    }
    snprintf(what, sizeof what, "%s: %s", name, d[k].label);
    if (strlen(out) != olen && !memchr(text, 0, tlen)) ok = 0; /* NUL-terminated, no stray NULs */
    if (!tf_text_equal(what, text, tlen, out, olen, json_string_value(d[k].want), json_string_length(d[k].want)))
      ok = 0;
    free(out);
  }
  if (!ok) (*fails)++;
}

static void on_case(json_t *rec, void *arg) {
  run *r = arg;
  if (r->fails < 20)
    check_case(r->t, r->name, rec, &r->fails);
  else
    r->fails++;
  r->count++;
}

static void run_strings(lethe_tokenizer *t, const char *name, const char *fixture) {
  char *path = tu_src_path(fixture);
  run r = {t, name, 0, 0};
  int n = tf_each_line(path, on_case, &r);
  if (n < 0) {
    print_error("cannot read %s\n", path);
    fail();
  }
  print_message("%s: %d strings checked, %d mismatched\n", name, r.count, r.fails);
  free(path);
  assert_int_equal(r.fails, 0);
}

/* ---- LUME rows: the text comes from ../shared, the fixture holds counts, hashes, some ids ---- */

static const char *const LUME_FILES[4] = {"forget_train", "forget_validation", "retain_train", "retain_validation"};

typedef struct {
  json_t *rows[4]; /* arrays of row objects, by line - 1 */
} lume;

static void lume_add(json_t *rec, void *arg) { json_array_append(arg, rec); }

static int lume_load(lume *L) {
  for (int f = 0; f < 4; f++) {
    char rel[128];
    snprintf(rel, sizeof rel, "data/lume/%s.jsonl", LUME_FILES[f]);
    char *p = tu_shared_path(rel);
    if (!p) return 0;
    L->rows[f] = json_array();
    tf_each_line(p, lume_add, L->rows[f]);
    free(p);
  }
  return 1;
}

static void lume_free(lume *L) {
  for (int f = 0; f < 4; f++) json_decref(L->rows[f]);
}

/* The text of field key ("i", "o", "io") of a row; malloc'ed. */
static char *lume_text(const lume *L, int f, int line, const char *key, size_t *len) {
  json_t *row = json_array_get(L->rows[f], (size_t)line - 1);
  const json_t *in = json_object_get(row, "input"), *out = json_object_get(row, "output");
  size_t a = json_string_length(in), b = json_string_length(out);
  char *s = malloc(a + b + 1);
  *len = 0;
  if (strcmp(key, "o")) {
    memcpy(s, json_string_value(in), a);
    *len = a;
  }
  if (strcmp(key, "i")) {
    memcpy(s + *len, json_string_value(out), b);
    *len += b;
  }
  s[*len] = 0;
  return s;
}

typedef struct {
  lethe_tokenizer *t;
  const char *name;
  const lume *L;
  int fails, count, bytes_ids; /* bytes_ids: expect the text's bytes (built-in tokenizer) */
} lume_run;

static void check_lume_field(lume_run *r, const json_t *rec, const char *key) {
  const json_t *nh = json_object_get(rec, key);
  if (!nh && !r->bytes_ids) return;
  int f = (int)json_integer_value(json_object_get(rec, "f"));
  int line = (int)json_integer_value(json_object_get(rec, "l"));
  size_t len;
  char *text = lume_text(r->L, f, line, key, &len);
  int *ids = NULL, n = 0;
  char what[200];
  snprintf(what, sizeof what, "%s: LUME %s.jsonl line %d field %s", r->name, LUME_FILES[f], line, key);
  int ok = lethe_tokenizer_encode(r->t, text, len, 0, &ids, &n) == LETHE_OK;
  if (!ok) print_error("%s: encode failed: %s\n", what, lethe_last_error());
  if (ok && r->bytes_ids) {
    ok = (size_t)n == len;
    for (int i = 0; ok && i < n; i++) ok = ids[i] == (unsigned char)text[i];
    if (!ok) print_error("%s: ids are not the text's bytes\n", what);
  } else if (ok) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)tf_fnv_ids(ids, n));
    if (n != json_integer_value(json_array_get(nh, 0)) || strcmp(hex, json_string_value(json_array_get(nh, 1)))) {
      print_error("%s: %d ids, hash %s; want %lld ids, hash %s\n", what, n, hex,
          (long long)json_integer_value(json_array_get(nh, 0)), json_string_value(json_array_get(nh, 1)));
      ok = 0;
    }
    const json_t *want = json_object_get(json_object_get(rec, "ids"), key);
    if (want && !tf_ids_equal(what, text, len, ids, n, want)) ok = 0;
  }
  if (ok) {
    char *dec = NULL;
    size_t dlen = 0;
    char dk[8];
    snprintf(dk, sizeof dk, "d%s", key);
    const json_t *dh = json_object_get(rec, dk);
    if (lethe_tokenizer_decode(r->t, ids, n, 1, &dec, &dlen) != LETHE_OK) {
      print_error("%s: decode failed: %s\n", what, lethe_last_error());
      ok = 0;
    } else if (!dh) {
      ok = tf_text_equal(what, text, len, dec, dlen, text, len);
    } else {
      char hex[17];
      snprintf(hex, sizeof hex, "%016llx", (unsigned long long)tf_fnv_bytes(dec, dlen));
      if (strcmp(hex, json_string_value(dh))) {
        print_error("%s: decoded text hash %s, want %s\n", what, hex, json_string_value(dh));
        ok = 0;
      }
    }
    free(dec);
  }
  if (!ok) r->fails++;
  r->count++;
  free(ids);
  free(text);
}

static void on_lume(json_t *rec, void *arg) {
  lume_run *r = arg;
  if (r->fails >= 20) return;
  check_lume_field(r, rec, "i");
  check_lume_field(r, rec, "o");
  if (!r->bytes_ids) check_lume_field(r, rec, "io");
}

static void run_lume(lethe_tokenizer *t, const char *name, const char *fixture, int bytes_ids) {
  lume L = {{0}};
  if (!lume_load(&L)) {
    lume_free(&L);
    /* the string fixtures above ran; this part cannot, and the program says so (exit 77) */
    tu_note_skip("the LUME part of the tokenizer fixtures: data/lume not found under LETHE_SHARED");
    return;
  }
  lume_run r = {t, name, &L, 0, 0, bytes_ids};
  if (bytes_ids) {
    for (int f = 0; f < 4; f++)
      for (size_t i = 0; i < json_array_size(L.rows[f]); i++) {
        json_t *rec = json_pack("{s:i, s:i}", "f", f, "l", (int)i + 1);
        on_lume(rec, &r);
        json_decref(rec);
      }
  } else {
    char *path = tu_src_path(fixture);
    assert_true(tf_each_line(path, on_lume, &r) > 0);
    free(path);
  }
  print_message("%s: %d LUME texts checked, %d mismatched\n", name, r.count, r.fails);
  lume_free(&L);
  assert_int_equal(r.fails, 0);
}

static void shared_tokenizer(const char *name) {
  char rel[128];
  snprintf(rel, sizeof rel, "tokenizers/%s/tokenizer.json", name);
  char *p = tu_shared_path(rel);
  TU_REQUIRE_SHARED(p, rel);
  lethe_tokenizer *t = tf_load(p);
  char fx[128];
  snprintf(fx, sizeof fx, "tests/fixtures/tokenizer/%s.jsonl", name);
  run_strings(t, name, fx);
  snprintf(fx, sizeof fx, "tests/fixtures/tokenizer/%s.lume.jsonl", name);
  run_lume(t, name, fx, 0);
  lethe_tokenizer_free(t);
  free(p);
}

static void test_gpt2(void **s) {
  (void)s;
  shared_tokenizer("gpt2");
}
static void test_olmo(void **s) {
  (void)s;
  shared_tokenizer("olmo-0724");
}
static void test_llama3(void **s) {
  (void)s;
  shared_tokenizer("llama3");
}
static void test_mistral(void **s) {
  (void)s;
  shared_tokenizer("mistral");
}

static void test_builtin(void **s) {
  (void)s;
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_builtin(&t), LETHE_OK);
  run_strings(t, "builtin", "tests/fixtures/tokenizer/builtin.jsonl");
  run_lume(t, "builtin", NULL, 1);
  lethe_tokenizer_free(t);
}

static void test_tok512(void **s) {
  (void)s;
  char *p = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(p, "models/stories260K/tok512.bin");
  lethe_tokenizer *t = tf_load(p);
  run_strings(t, "tok512", "tests/fixtures/tokenizer/tok512.jsonl");
  run_lume(t, "tok512", "tests/fixtures/tokenizer/tok512.lume.jsonl", 0);
  lethe_tokenizer_free(t);
  free(p);
}

/* ---- synthetic tokenizers ---- */

typedef struct {
  int fails, cases, tokenizers;
} edge_run;

static void on_edge(json_t *rec, void *arg) {
  edge_run *r = arg;
  const char *name = json_string_value(json_object_get(rec, "name"));
  const json_t *js = json_object_get(rec, "json");
  lethe_tokenizer *t = NULL;
  lethe_status st = lethe_tokenizer_load_json(json_string_value(js), json_string_length(js), name, &t);
  r->tokenizers++;
  if (json_is_true(json_object_get(rec, "load_error"))) {
    if (st == LETHE_OK) {
      print_error("%s: tokenizers refuses this file, lethe loaded it\n", name);
      r->fails++;
      lethe_tokenizer_free(t);
    } else {
      print_message("%s: refused as expected: %s\n", name, lethe_last_error());
    }
    return;
  }
  if (st != LETHE_OK) {
    print_error("%s: load failed: %s\n", name, lethe_last_error());
    r->fails++;
    return;
  }
  const json_t *cases = json_object_get(rec, "cases");
  for (size_t i = 0; i < json_array_size(cases); i++) {
    check_case(t, name, json_array_get(cases, i), &r->fails);
    r->cases++;
  }
  lethe_tokenizer_free(t);
}

static void test_edge(void **s) {
  (void)s;
  char *path = tu_src_path("tests/fixtures/tokenizer/edge.jsonl");
  edge_run r = {0, 0, 0};
  assert_true(tf_each_line(path, on_edge, &r) > 0);
  print_message("edge: %d tokenizers, %d strings, %d mismatched\n", r.tokenizers, r.cases, r.fails);
  free(path);
  assert_int_equal(r.fails, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edge),
      cmocka_unit_test(test_builtin),
      cmocka_unit_test(test_gpt2),
      cmocka_unit_test(test_olmo),
      cmocka_unit_test(test_llama3),
      cmocka_unit_test(test_mistral),
      cmocka_unit_test(test_tok512),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
