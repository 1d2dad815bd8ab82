/* tests/data/test_data.c: data/ on its own, against the tokenizer. Rows from JSONL (ids as strings
 * or integers, extra fields ignored, NUL bytes kept, documents); the tokset builder's prompt masking
 * (n_prompt is len(encode(input)), the tokens are encode(input + output) + eos, also when a BPE
 * merge crosses the input/output boundary), cutting to max-len and skipping rows without an answer
 * token; packing (targets exactly on the answer positions, sequence starts, answer offsets, room
 * checks); the epoch order (a permutation that depends only on seed and epoch, so a resumed run
 * computes the same batches without replaying earlier epochs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "lethe/tokenizer.h"
#include "lethe/util.h"
#include "testutil.h"

static char *write_tmp(const char *name, const char *text) {
  char *p = tu_tmp_path(name);
  assert_int_equal(lethe_write_file_atomic(p, text, strlen(text)), LETHE_OK);
  return p;
}

static lethe_tokenizer *builtin(void) {
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_builtin(&t), LETHE_OK);
  return t;
}

/* A tiny BPE with merges: "a" "b" merge into "ab", " " and "c" stay alone. */
static lethe_tokenizer *tiny_bpe(void) {
  const char *json = "{\"version\": \"1.0\", \"added_tokens\": [], \"normalizer\": null, \"pre_tokenizer\": null,"
                     " \"post_processor\": null, \"decoder\": null,"
                     " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \" \": 3, \"ab\": 4},"
                     " \"merges\": [\"a b\"]}}";
  lethe_tokenizer *t = NULL;
  lethe_status s = lethe_tokenizer_load_json(json, strlen(json), "tiny_bpe.json", &t);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  return t;
}

static int *encode(const lethe_tokenizer *t, const char *text, size_t len, int *n) {
  int *ids = NULL;
  assert_int_equal(lethe_tokenizer_encode(t, text, len, 1, &ids, n), LETHE_OK);
  return ids;
}

static void test_rows_load(void **st) {
  (void)st;
  char *p = write_tmp("rows.jsonl",
      "{\"id\": \"a1sc1\", \"input\": \"in\", \"output\": \"out\", \"task\": \"Task1\"}\n"
      "\n"
      "{\"id\": 42, \"input\": \"x\\u0000y\", \"output\": \"z\", \"extra\": [1, {\"k\": 2}]}\n");
  lethe_rowset r;
  assert_int_equal(lethe_rows_load(p, &r), LETHE_OK);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.rows[0].id, "a1sc1");
  assert_string_equal(r.rows[0].task, "Task1");
  assert_int_equal(r.rows[0].line, 1);
  assert_string_equal(r.rows[1].id, "42"); /* an integer id becomes its decimal text */
  assert_int_equal(r.rows[1].line, 3);     /* the blank line counts */
  assert_int_equal(r.rows[1].input_len, 3);
  assert_memory_equal(r.rows[1].input, "x\0y", 3);
  assert_string_equal(r.path, p);
  lethe_rowset_free(&r);
  unlink(p);
  free(p);
  /* documents: the whole text is the output of a row with an empty input */
  p = write_tmp("docs.jsonl", "{\"document\": \"one two\"}\n{\"text\": \"three\", \"id\": \"d2\"}\n");
  assert_int_equal(lethe_docs_load(p, &r), LETHE_OK);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.rows[0].input_len, 0);
  assert_string_equal(r.rows[0].output, "one two");
  assert_string_equal(r.rows[1].output, "three");
  assert_string_equal(r.rows[1].id, "d2");
  lethe_rowset_free(&r);
  unlink(p);
  free(p);
}

static void expect_rows_error(const char *text, const char *want) {
  char *p = write_tmp("bad_rows.jsonl", text);
  lethe_rowset r;
  lethe_status s = lethe_rows_load(p, &r);
  const char *m = lethe_last_error();
  print_message("%s\n", m);
  assert_int_not_equal(s, LETHE_OK);
  assert_non_null(strstr(m, p)); /* the message names the file */
  assert_non_null(strstr(m, want));
  assert_int_equal(r.n, 0);
  assert_null(r.rows);
  unlink(p);
  free(p);
}

static void test_rows_bad(void **st) {
  (void)st;
  expect_rows_error("", "no rows");
  expect_rows_error("{\"id\": \"a\", \"input\": \"x\"}\n", ":1: missing field \"output\"");
  expect_rows_error("{\"id\": \"a\", \"input\": \"x\", \"output\": \"y\"}\n[1, 2]\n", ":2: expected a JSON object");
  expect_rows_error("{\"id\": \"a\", \"input\": \"x\", \"output\": 7}\n", "field \"output\" must be a string");
  expect_rows_error("{\"id\": 1.5, \"input\": \"x\", \"output\": \"y\"}\n", "\"id\" must be a string or an integer");
  expect_rows_error("{\"id\": \"a\", \"input\": \"x\", \"output\": \"y\", \"id\": \"b\"}\n", ":1: invalid JSON");
  expect_rows_error("{\"id\": \"a\", \"input\": \"\xff\", \"output\": \"y\"}\n", ":1: invalid JSON");
  expect_rows_error("{\"id\": \"a\", \"input\": \"x\", \"output\": \"y\"", ":1: invalid JSON"); /* truncated */
}

static lethe_rowset rows_of(const char *const *in, const char *const *out, int n) {
  lethe_rowset r;
  memset(&r, 0, sizeof r);
  r.rows = calloc((size_t)n, sizeof *r.rows);
  r.n = n;
  for (int i = 0; i < n; i++) {
    r.rows[i].id = strdup("x");
    r.rows[i].task = strdup("");
    r.rows[i].input = strdup(in[i]);
    r.rows[i].output = strdup(out[i]);
    r.rows[i].input_len = strlen(in[i]);
    r.rows[i].output_len = strlen(out[i]);
    r.rows[i].line = i + 1;
  }
  return r;
}

/* Every sequence of `d` against the tokenizer: tokens == encode(input + output) (+ eos), cut to
 * max_len; n_prompt == len(encode(input)), at most the length. */
static void check_against_tokenizer(const lethe_tokenizer *t, const lethe_tokset *d, const lethe_rowset *f,
    const lethe_rowset *r, int max_len, int eos) {
  for (int i = 0; i < d->n; i++) {
    const lethe_rowset *set = d->split[i] == LETHE_SPLIT_FORGET ? f : r;
    const lethe_row *row = &set->rows[d->row[i]];
    char both[512];
    snprintf(both, sizeof both, "%s%s", row->input, row->output);
    int np, nb;
    int *pi = encode(t, row->input, row->input_len, &np), *bi = encode(t, both, strlen(both), &nb);
    int len = nb + (eos >= 0);
    if (len > max_len) len = max_len;
    assert_int_equal(lethe_tokset_len(d, i), len);
    assert_int_equal(d->n_prompt[i], np < len ? np : len);
    const int *got = d->tokens + d->offset[i];
    for (int k = 0; k < len; k++) assert_int_equal(got[k], k < nb ? bi[k] : eos);
    free(pi);
    free(bi);
  }
}

static void test_tokset_prompt_masking(void **st) {
  (void)st;
  lethe_tokenizer *t = builtin();
  const char *fin[] = {"Question: who? ", "Q2 "}, *fout[] = {"Ann.", "Bob went home."};
  const char *rin[] = {"Retain me "}, *rout[] = {"please"};
  lethe_rowset f = rows_of(fin, fout, 2), r = rows_of(rin, rout, 1);
  lethe_tokset d;
  assert_int_equal(lethe_tokset_build(t, &f, &r, 512, 258, &d), LETHE_OK);
  assert_int_equal(d.n, 3);
  assert_int_equal(d.split[0], LETHE_SPLIT_FORGET);
  assert_int_equal(d.split[1], LETHE_SPLIT_FORGET);
  assert_int_equal(d.split[2], LETHE_SPLIT_RETAIN);
  assert_int_equal(d.row[2], 0);
  check_against_tokenizer(t, &d, &f, &r, 512, 258);
  /* scored positions: from the last prompt token to the one before the end (the answer and eos) */
  int total = 0;
  for (int i = 0; i < d.n; i++) {
    int want = lethe_tokset_len(&d, i) - d.n_prompt[i];
    assert_int_equal(lethe_tokset_answer_count(&d, i), want);
    total += want;
  }
  assert_int_equal(d.n_answer_tokens, total);
  assert_int_equal(d.n_truncated, 0);
  assert_int_equal(d.n_skipped, 0);
  lethe_tokset_free(&d);
  /* without eos, and cut: "Question: who? " is 15 bytes, so max-len 17 keeps 2 answer bytes and the
   * 4-byte "Q2 " row keeps its whole answer only when it fits */
  assert_int_equal(lethe_tokset_build(t, &f, NULL, 17, -1, &d), LETHE_OK);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.n_truncated, 1);
  check_against_tokenizer(t, &d, &f, &r, 17, -1);
  assert_int_equal(lethe_tokset_answer_count(&d, 0), 2);
  lethe_tokset_free(&d);
  /* max-len 15 leaves the first row no answer token: skipped and counted, the other stays */
  assert_int_equal(lethe_tokset_build(t, &f, NULL, 15, -1, &d), LETHE_OK);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.n_skipped, 1);
  assert_int_equal(d.row[0], 1);
  lethe_tokset_free(&d);
  assert_int_equal(lethe_tokset_build(t, &f, NULL, 1, -1, &d), LETHE_ERR_INVALID);
  lethe_rowset_free(&f);
  lethe_rowset_free(&r);
  lethe_tokenizer_free(t);
}

/* The prompt is len(encode(input)) even when a merge crosses into the answer (as Hugging Face's
 * recipe does): "a" + "b c" encodes as "ab", " ", "c", so the prompt covers "ab". */
static void test_tokset_merge_across_boundary(void **st) {
  (void)st;
  lethe_tokenizer *t = tiny_bpe();
  const char *in[] = {"a", "c"}, *out[] = {"b c", "ab"};
  lethe_rowset f = rows_of(in, out, 2);
  lethe_tokset d;
  assert_int_equal(lethe_tokset_build(t, &f, NULL, 64, -1, &d), LETHE_OK);
  assert_int_equal(d.n, 2);
  check_against_tokenizer(t, &d, &f, NULL, 64, -1);
  const int want0[] = {4, 3, 2};
  assert_int_equal(lethe_tokset_len(&d, 0), 3);
  assert_memory_equal(d.tokens + d.offset[0], want0, sizeof want0);
  assert_int_equal(d.n_prompt[0], 1);
  assert_int_equal(lethe_tokset_answer_count(&d, 0), 2); /* " " and "c" are scored */
  const int want1[] = {2, 4};
  assert_memory_equal(d.tokens + d.offset[1], want1, sizeof want1);
  lethe_tokset_free(&d);
  lethe_rowset_free(&f);
  lethe_tokenizer_free(t);
}

static void test_packing(void **st) {
  (void)st;
  lethe_tokenizer *t = builtin();
  const char *in[] = {"ab", "", "xyz"}, *out[] = {"cd", "e", "w"};
  lethe_rowset f = rows_of(in, out, 3);
  lethe_tokset d;
  assert_int_equal(lethe_tokset_build(t, &f, NULL, 64, 258, &d), LETHE_OK);
  assert_int_equal(d.n, 3);
  lethe_packed p;
  assert_int_equal(lethe_packed_init(&p, 32, 3), LETHE_OK);
  const int idx[] = {2, 0, 1};
  assert_int_equal(lethe_packed_fill(&p, &d, idx, 3), LETHE_OK);
  assert_int_equal(p.n_seq, 3);
  int N = 0, A = 0;
  for (int s = 0; s < 3; s++) {
    int i = idx[s], len = lethe_tokset_len(&d, i);
    assert_int_equal(p.start[s], N);
    assert_int_equal(p.answer_off[s], A);
    assert_int_equal(p.seq[s], i);
    const int *src = d.tokens + d.offset[i];
    int scored = 0;
    for (int k = 0; k < len; k++) {
      assert_int_equal(p.tokens[N + k], src[k]);
      /* a target where position k predicts an answer token (or eos), -1 on the prompt and the end */
      int want = (k + 1 >= d.n_prompt[i] && k + 1 < len) ? src[k + 1] : -1;
      if (d.n_prompt[i] == 0 && k == 0) want = len > 1 ? src[1] : -1;
      assert_int_equal(p.targets[N + k], want);
      scored += p.targets[N + k] >= 0;
    }
    assert_int_equal(scored, lethe_tokset_answer_count(&d, i));
    N += len;
    A += scored;
  }
  assert_int_equal(p.start[3], N);
  assert_int_equal(p.n_tokens, N);
  assert_int_equal(p.answer_off[3], A);
  /* room checks: too many sequences, too many tokens, none */
  const int four[] = {0, 1, 2, 0};
  assert_int_equal(lethe_packed_fill(&p, &d, four, 4), LETHE_ERR_INVALID);
  assert_int_equal(lethe_packed_fill(&p, &d, idx, 0), LETHE_ERR_INVALID);
  lethe_packed small;
  assert_int_equal(lethe_packed_init(&small, 8, 3), LETHE_OK);
  assert_int_equal(lethe_packed_fill(&small, &d, idx, 3), LETHE_ERR_INVALID);
  assert_non_null(strstr(lethe_last_error(), "more than 8 tokens"));
  lethe_packed_free(&small);
  lethe_packed_free(&p);
  lethe_tokset_free(&d);
  lethe_rowset_free(&f);
  lethe_tokenizer_free(t);
}

static void test_epoch_order(void **st) {
  (void)st;
  enum { N = 50, EPOCHS = 6 };
  int orders[EPOCHS][N];
  /* a run from the start */
  for (int e = 0; e < EPOCHS; e++) lethe_epoch_order(1234, e, N, orders[e]);
  for (int e = 0; e < EPOCHS; e++) {
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
      assert_true(orders[e][i] >= 0 && orders[e][i] < N);
      seen[orders[e][i]]++;
    }
    for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1); /* a permutation */
  }
  /* resumed at epoch 4 in a fresh process: the same order without computing epochs 0..3 */
  int resumed[N];
  lethe_epoch_order(1234, 4, N, resumed);
  assert_memory_equal(resumed, orders[4], sizeof resumed);
  /* epochs differ from each other and from the identity; another seed gives another order */
  int ident = 1;
  for (int i = 0; i < N; i++) ident &= orders[0][i] == i;
  assert_false(ident);
  for (int e = 1; e < EPOCHS; e++) assert_true(memcmp(orders[e], orders[e - 1], sizeof orders[e]) != 0);
  int other[N];
  lethe_epoch_order(1235, 0, N, other);
  assert_true(memcmp(other, orders[0], sizeof other) != 0);
  /* n = 1 and n = 0 are fine */
  int one = -1;
  lethe_epoch_order(1, 0, 1, &one);
  assert_int_equal(one, 0);
  lethe_epoch_order(1, 0, 0, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_load),
      cmocka_unit_test(test_rows_bad),
      cmocka_unit_test(test_tokset_prompt_masking),
      cmocka_unit_test(test_tokset_merge_across_boundary),
      cmocka_unit_test(test_packing),
      cmocka_unit_test(test_epoch_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
