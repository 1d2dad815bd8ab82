/* tests/eval/test_eval_porter.c: lethe's Porter stemmer against nltk's PorterStemmer (the one
 * rouge-score uses) on ~25000 committed words, and on every distinct token of the LUME data read
 * from ../shared (compared through committed hashes, so no LUME text is in the repository). */
#include "eval/eval_fixture.h"
#include "lethe/eval_text.h"

static void test_committed_words(void **state) {
  (void)state;
  char *text = ef_read("porter_words.tsv", NULL), *cur = text, *line;
  size_t n = 0, bad = 0;
  char out[256];
  while ((line = ef_line(&cur)) != NULL) {
    if (line[0] == '#') continue;
    char *tab = strchr(line, '\t');
    assert_non_null(tab);
    *tab = 0;
    const char *want = tab + 1;
    size_t len = strlen(line);
    assert_true(len < sizeof out);
    size_t k = lethe_porter_stem(line, len, out);
    assert_int_equal(k, strlen(out));
    assert_true(k <= len);
    if (strcmp(out, want) != 0 && bad++ < 20) print_message("stem(%s) = %s, nltk says %s\n", line, out, want);
    n++;
  }
  free(text);
  assert_int_equal(bad, 0);
  assert_true(n > 24000);
}

static void test_examples(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"caresses", "caress"},
      {"ponies", "poni"},
      {"ties", "tie"},
      {"dies", "die"},
      {"flies", "fli"},
      {"dying", "die"},
      {"news", "news"},
      {"agreed", "agre"},
      {"hopping", "hop"},
      {"filing", "file"},
      {"happy", "happi"},
      {"enjoy", "enjoy"},
      {"generalizations", "gener"},
      {"geology", "geolog"},
      {"Running", "run"},
      {"a", "a"},
      {"by", "by"},
      {"yyyy", "yyyi"},
      {"1990s", "1990"},
  };
  char out[64];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lethe_porter_stem(cases[i][0], strlen(cases[i][0]), out);
    assert_string_equal(out, cases[i][1]);
  }
}

typedef struct {
  uint64_t word, stem;
} hash_pair;

static int cmp_pair(const void *a, const void *b) {
  uint64_t x = ((const hash_pair *)a)->word, y = ((const hash_pair *)b)->word;
  return (x > y) - (x < y);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *const k_lume_files[] = {
    "data/lume/forget_train.jsonl",
    "data/lume/forget_validation.jsonl",
    "data/lume/retain_train.jsonl",
    "data/lume/retain_validation.jsonl",
    "data/lume/mia/member.jsonl",
    "data/lume/mia/nonmember.jsonl",
    "data/lume/mia/validation/member.jsonl",
    "data/lume/mia/validation/nonmember.jsonl",
};

static void test_lume_vocabulary(void **state) {
  (void)state;
  char *probe = tu_shared_path(k_lume_files[0]);
  TU_REQUIRE_SHARED(probe, "LUME data (data/lume)");
  free(probe);

  /* Every token of every input / output / document field. */
  char **toks = NULL;
  size_t n_tok = 0, cap = 0;
  for (size_t f = 0; f < sizeof k_lume_files / sizeof k_lume_files[0]; f++) {
    char *path = tu_shared_path(k_lume_files[f]);
    TU_REQUIRE_SHARED(path, k_lume_files[f]);
    char *text;
    size_t len;
    assert_int_equal(lethe_read_file(path, (size_t)1 << 30, &text, &len), LETHE_OK);
    char *cur = text, *line;
    while ((line = ef_line(&cur)) != NULL) {
      if (!*line) continue;
      json_t *j = ef_json(line);
      static const char *const fields[] = {"input", "output", "document"};
      for (int k = 0; k < 3; k++) {
        const json_t *v = json_object_get(j, fields[k]);
        if (!v) continue;
        lethe_rouge_tokens t;
        assert_int_equal(lethe_rouge_tokenize(json_string_value(v), json_string_length(v), 0, &t), LETHE_OK);
        for (size_t i = 0; i < t.n; i++) {
          if (n_tok == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            toks = realloc(toks, cap * sizeof *toks);
            assert_non_null(toks);
          }
          toks[n_tok++] = strdup(t.tokens[i]);
        }
        lethe_rouge_tokens_free(&t);
      }
      json_decref(j);
    }
    free(text);
    free(path);
  }
  qsort(toks, n_tok, sizeof *toks, cmp_cstr);
  size_t n_uniq = 0;
  for (size_t i = 0; i < n_tok; i++) {
    if (n_uniq && strcmp(toks[n_uniq - 1], toks[i]) == 0) {
      free(toks[i]);
      continue;
    }
    toks[n_uniq++] = toks[i];
  }

  /* The committed hashes. */
  char *fix = ef_read("lume_stems.txt", NULL);
  char *cur = fix;
  char *line = ef_line(&cur);
  assert_non_null(line);
  size_t want_n = 0;
  unsigned long long want_digest = 0;
  assert_int_equal(sscanf(line, "# distinct %zu digest %llx", &want_n, &want_digest), 2);
  hash_pair *pairs = malloc(want_n * sizeof *pairs);
  size_t n_pairs = 0;
  while ((line = ef_line(&cur)) != NULL) {
    unsigned long long w, s;
    assert_int_equal(sscanf(line, "%llx %llx", &w, &s), 2);
    assert_true(n_pairs < want_n);
    pairs[n_pairs].word = w;
    pairs[n_pairs].stem = s;
    n_pairs++;
  }
  free(fix);
  qsort(pairs, n_pairs, sizeof *pairs, cmp_pair);

  /* The tokenizer finds the same vocabulary as rouge-score's... */
  uint64_t digest = EF_FNV_INIT;
  for (size_t i = 0; i < n_uniq; i++) {
    if (i) digest = ef_fnv64(digest, "\n", 1);
    digest = ef_fnv64(digest, toks[i], strlen(toks[i]));
  }
  print_message("LUME: %zu tokens, %zu distinct (rouge-score: %zu)\n", n_tok, n_uniq, want_n);
  assert_int_equal(n_uniq, want_n);
  assert_true(digest == (uint64_t)want_digest);

  /* ... and stems each word as nltk does. */
  size_t bad = 0;
  char out[512];
  for (size_t i = 0; i < n_uniq; i++) {
    size_t len = strlen(toks[i]);
    const char *st = toks[i];
    if (len > 3 && len < sizeof out) {
      lethe_porter_stem(toks[i], len, out);
      st = out;
    }
    hash_pair key = {ef_fnv64(EF_FNV_INIT, toks[i], len), 0};
    hash_pair *hit = bsearch(&key, pairs, n_pairs, sizeof *pairs, cmp_pair);
    assert_non_null(hit);
    if (hit->stem != ef_fnv64(EF_FNV_INIT, st, strlen(st)) && bad++ < 20)
      print_message("LUME word of %zu letters starting '%.3s': stem '%s' differs from nltk's\n", len, toks[i], st);
    free(toks[i]);
  }
  free(toks);
  free(pairs);
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_committed_words),
      cmocka_unit_test(test_examples),
      cmocka_unit_test(test_lume_vocabulary),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
