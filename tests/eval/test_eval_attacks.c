/* tests/eval/test_eval_attacks.c: the MIA attacks and memorisation metrics against an
 * independent torch float64 implementation of open-unlearning's definitions
 * (tests/fixtures/mia/attacks.json from tools/reference/make_mia_fixtures.py): per-token log p,
 * mean and variance of log p over the vocabulary, greedy hits; per-sequence LOSS, ZLib, Min-K%,
 * Min-K%++, Reference, exact memorisation, extraction strength; every attack's AUC; all to 1e-6.
 * Also the official layout's CSV fields (Python's csv module) and one-line JSON, and that an
 * evaluation's one pass over the model gives the numbers separate passes over each set give. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/attacks.h"
#include "eval/eval_scores.h"
#include "eval/official.h"
#include "eval/seq_nll.h"
#include "lethe/lora.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "testutil.h"

static void close_to(const char *what, int i, double got, double want, double tol) {
  double err = fabs(got - want) / (fabs(want) > 1 ? fabs(want) : 1);
  if (!(err <= tol)) fail_msg("%s (sequence %d): %.17g, want %.17g", what, i, got, want);
}

static json_t *load(const char *rel) {
  char *p = tu_src_path(rel);
  json_error_t e;
  json_t *j = json_load_file(p, JSON_ALLOW_NUL, &e);
  if (!j) fail_msg("%s: %s", p, e.text);
  free(p);
  return j;
}

/* Token statistics of a (T, V) logits array given as JSON. */
static void stats(const json_t *logits, const json_t *targets, int V, double *logp, double *mu, double *var, int *am) {
  float *z = malloc(sizeof(float) * (size_t)V);
  for (size_t t = 0; t < json_array_size(logits); t++) {
    const json_t *row = json_array_get(logits, t);
    assert_int_equal(json_array_size(row), (size_t)V);
    for (int j = 0; j < V; j++) z[j] = (float)json_number_value(json_array_get(row, (size_t)j));
    lethe_row_stats(z, V, (int)json_integer_value(json_array_get(targets, t)), &logp[t], &mu[t], &var[t], &am[t]);
  }
  free(z);
}

static void test_attacks_match_reference(void **state) {
  (void)state;
  json_t *root = load("tests/fixtures/mia/attacks.json");
  int V = (int)json_integer_value(json_object_get(root, "V"));
  double k = json_number_value(json_object_get(root, "k"));
  const json_t *seqs = json_object_get(root, "seqs");
  size_t ns = json_array_size(seqs);
  lethe_doc_scores mem = {0}, non = {0};
  for (int a = 0; a < LETHE_ATK_COUNT; a++) {
    mem.score[a] = calloc(ns, sizeof(double));
    non.score[a] = calloc(ns, sizeof(double));
  }
  double max_err = 0;
  for (size_t i = 0; i < ns; i++) {
    const json_t *s = json_array_get(seqs, i);
    const json_t *targets = json_object_get(s, "targets");
    int T = (int)json_array_size(targets);
    double *logp = malloc(sizeof(double) * T), *mu = malloc(sizeof(double) * T), *var = malloc(sizeof(double) * T);
    double *blogp = malloc(sizeof(double) * T), *bmu = malloc(sizeof(double) * T), *bvar = malloc(sizeof(double) * T);
    int *am = malloc(sizeof(int) * T), *bam = malloc(sizeof(int) * T);
    unsigned char *hit = malloc((size_t)T);
    stats(json_object_get(s, "logits"), targets, V, logp, mu, var, am);
    stats(json_object_get(s, "base_logits"), targets, V, blogp, bmu, bvar, bam);
    for (int t = 0; t < T; t++) {
      close_to("log p", (int)i, logp[t], json_number_value(json_array_get(json_object_get(s, "logp"), t)), 1e-6);
      close_to("mu", (int)i, mu[t], json_number_value(json_array_get(json_object_get(s, "mu"), t)), 1e-6);
      close_to("var", (int)i, var[t], json_number_value(json_array_get(json_object_get(s, "var"), t)), 1e-6);
      double e = fabs(var[t] - json_number_value(json_array_get(json_object_get(s, "var"), t)));
      if (e > max_err) max_err = e;
      assert_int_equal(am[t], (int)json_integer_value(json_array_get(json_object_get(s, "argmax"), t)));
      hit[t] = am[t] == (int)json_integer_value(json_array_get(targets, t));
    }
    const char *text = json_string_value(json_object_get(s, "text"));
    size_t zl = 0;
    assert_int_equal(lethe_zlib_length(text, strlen(text), &zl), LETHE_OK);
    double loss = lethe_score_loss(logp, T);
    double sc[LETHE_ATK_COUNT] = {loss, loss / (double)zl, lethe_score_mink(logp, T, k),
        lethe_score_minkpp(logp, mu, var, T, k), loss - lethe_score_loss(blogp, T)};
    const json_t *want = json_object_get(s, "scores");
    int member = (int)json_integer_value(json_object_get(s, "member"));
    for (int a = 0; a < LETHE_ATK_COUNT; a++) {
      close_to(lethe_attack_name((lethe_attack)a), (int)i, sc[a],
          json_number_value(json_object_get(want, lethe_attack_name((lethe_attack)a))), 1e-6);
      lethe_doc_scores *d = member ? &mem : &non;
      d->score[a][d->n] = sc[a];
    }
    (member ? &mem : &non)->n++;
    close_to("exact memorisation", (int)i, lethe_exact_memorization(hit, T),
        json_number_value(json_object_get(s, "exact_memorization")), 1e-12);
    close_to("extraction strength", (int)i, lethe_extraction_strength(hit, T),
        json_number_value(json_object_get(s, "extraction_strength")), 1e-12);
    free(logp);
    free(mu);
    free(var);
    free(blogp);
    free(bmu);
    free(bvar);
    free(am);
    free(bam);
    free(hit);
  }
  print_message("max |var - reference| = %.3g\n", max_err);
  lethe_attack_results r;
  lethe_attack_results_init(&r, k);
  assert_int_equal(lethe_attack_aucs(&mem, &non, &r), LETHE_OK);
  const json_t *auc = json_object_get(root, "auc");
  for (int a = 0; a < LETHE_ATK_COUNT; a++)
    close_to(lethe_attack_name((lethe_attack)a), -1, r.auc[a],
        json_number_value(json_object_get(auc, lethe_attack_name((lethe_attack)a))), 1e-12);
  /* mia_attacks.json round trip. */
  r.exact_mem[0] = 0.25;
  char *p = tu_tmp_path("mia_attacks.json");
  assert_int_equal(lethe_attack_results_write_json(&r, p), LETHE_OK);
  lethe_attack_results back;
  assert_int_equal(lethe_attack_results_read_json(p, &back), LETHE_OK);
  for (int a = 0; a < LETHE_ATK_COUNT; a++) assert_true(back.auc[a] == r.auc[a]);
  assert_true(back.exact_mem[0] == 0.25 && isnan(back.exact_mem[1]));
  remove(p);
  free(p);
  lethe_doc_scores_free(&mem);
  lethe_doc_scores_free(&non);
  json_decref(root);
}

static void test_memorisation_edges(void **state) {
  (void)state;
  const unsigned char all[4] = {1, 1, 1, 1}, none[4] = {0, 0, 0, 0}, tail[4] = {0, 1, 0, 1};
  assert_true(lethe_extraction_strength(all, 4) == 1.0);
  assert_true(lethe_extraction_strength(none, 4) == 0.25); /* open-unlearning's loop ends at k = n - 1 */
  assert_true(lethe_extraction_strength(tail, 4) == 0.25);
  assert_true(isnan(lethe_extraction_strength(all, 0)));
  const double lp[5] = {-1, -5, -2, -4, -3};
  assert_true(lethe_score_mink(lp, 5, 0.2) == 5.0); /* int(5 * 0.2) = 1 lowest */
  assert_true(lethe_score_mink(lp, 5, 0.5) == 4.5); /* the two lowest */
  assert_true(lethe_score_mink(lp, 2, 0.2) == 5.0); /* at least one */
}

static void test_csv_and_one_line_json(void **state) {
  (void)state;
  char *p = tu_src_path("tests/fixtures/mia/csv_fields.jsonl");
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    assert_non_null(j);
    const json_t *fld = json_object_get(j, "field");
    lethe_sbuf b = {0};
    lethe_sbuf_puts(&b, "a,");
    lethe_csv_field(&b, json_string_value(fld), json_string_length(fld));
    lethe_sbuf_puts(&b, ",z\n");
    lethe_sbuf_put(&b, "", 1);
    assert_string_equal(b.p, json_string_value(json_object_get(j, "row")));
    lethe_sbuf_free(&b);
    json_decref(j);
    n++;
  }
  fclose(f);
  free(p);
  assert_true(n >= 10);
  const char *in = "{\n    \"a\": [\n        1.5,\n        2\n    ],\n    \"b, c\": {\n        \"c\": \"x,\\n    y\"\n "
                   "   },\n    \"e\": []\n}";
  lethe_sbuf b = {0};
  assert_int_equal(lethe_json_one_line(in, strlen(in), &b), LETHE_OK);
  lethe_sbuf_put(&b, "", 1);
  assert_string_equal(b.p, "{\"a\": [1.5, 2], \"b, c\": {\"c\": \"x,\\n    y\"}, \"e\": []}");
  lethe_sbuf_free(&b);
}

/* The chunked classifier pass on a real model: its log p(target) equal the fused classifier's (which
 * has its PyTorch parity test), for any batch size; LOSS is the per-document NLL eval reports. */
static void test_model_pass_matches_classifier(void **state) {
  (void)state;
  char *mp = tu_shared_path("models/stories260K/stories260K.bin"),
       *tp = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(mp, "models/stories260K");
  TU_REQUIRE_SHARED(tp, "models/stories260K/tok512.bin");
  lethe_model *m = NULL;
  lethe_tokenizer *tok = NULL;
  assert_int_equal(lethe_model_load(mp, &m), LETHE_OK);
  assert_int_equal(lethe_model_tokenizer(mp, tp, &tok), LETHE_OK);
  char *dp = tu_src_path("tests/fixtures/parquet/docs.jsonl");
  lethe_rowset docs;
  assert_int_equal(lethe_docs_load(dp, &docs), LETHE_OK);
  lethe_tokset d;
  assert_int_equal(lethe_tokset_build(tok, NULL, &docs, lethe_model_config(m)->max_seq_len, -1, &d), LETHE_OK);
  double *sum = malloc(sizeof(double) * d.n);
  int *cnt = malloc(sizeof(int) * d.n);
  assert_int_equal(lethe_seq_nll(m, NULL, &d, 4, sum, cnt), LETHE_OK);
  lethe_tok_stats a, b;
  assert_int_equal(lethe_tok_stats_compute(m, NULL, &d, 1, &a), LETHE_OK);
  assert_int_equal(lethe_tok_stats_compute(m, NULL, &d, 5, &b), LETHE_OK);
  for (int i = 0; i < d.n; i++) {
    int n = a.off[i + 1] - a.off[i];
    assert_int_equal(n, cnt[i]);
    close_to("loss vs the classifier", i, lethe_score_loss(a.logp + a.off[i], n), sum[i] / cnt[i], 1e-5);
    for (int t = a.off[i]; t < a.off[i + 1]; t++) {
      close_to("log p, batch 1 vs 5", i, a.logp[t], b.logp[t], 1e-5);
      close_to("var, batch 1 vs 5", i, a.var[t], b.var[t], 1e-4); /* fp32 GEMM blocking differs by batch */
      assert_true(a.var[t] >= 0 && a.mu[t] <= 0);
    }
  }
  lethe_tok_stats_free(&a);
  lethe_tok_stats_free(&b);
  free(sum);
  free(cnt);
  lethe_tokset_free(&d);
  lethe_rowset_free(&docs);
  free(dp);
  lethe_tokenizer_free(tok);
  lethe_model_free(m);
  free(mp);
  free(tp);
}

/* lethe_eval_scores computes the answer NLLs of both splits and the MIA documents' statistics in
 * one pass over the model (and the Reference attack's base-model NLLs in one more): every number is
 * bit for bit what a pass over each set alone gives (what evaluations computed before), on the
 * committed stories260K with an adapter, a batch that splits every set and sets of unequal sizes. */
static void test_one_pass_equals_separate_passes(void **state) {
  (void)state;
  char *mp = tu_src_path("tests/fixtures/unlearn/stories260K/stories260K.bin"),
       *tp = tu_src_path("tests/fixtures/unlearn/stories260K/tok512.bin"),
       *fp = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"),
       *rp = tu_src_path("tests/fixtures/unlearn/stories_all.jsonl"),
       *dp = tu_src_path("tests/fixtures/parquet/docs.jsonl"), *sp = tu_src_path("tests/fixtures/score/docs.jsonl");
  lethe_model *m = NULL;
  lethe_tokenizer *tok = NULL;
  assert_int_equal(lethe_model_load(mp, &m), LETHE_OK);
  assert_int_equal(lethe_model_tokenizer(mp, tp, &tok), LETHE_OK);
  lethe_lora_config lc = {.rank = 2, .alpha = 4, .targets = (1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V)};
  lethe_lora *l;
  assert_int_equal(lethe_lora_create(&m->cfg, &lc, 3, &l), LETHE_OK);
  for (size_t i = 0; i < l->n_params; i++)
    if (l->params[i] == 0.0f) l->params[i] = 0.05f;
  lethe_rowset forget, retain;
  assert_int_equal(lethe_rows_load(fp, &forget), LETHE_OK);
  assert_int_equal(lethe_rows_load(rp, &retain), LETHE_OK);
  lethe_eval_opts o;
  lethe_eval_opts_default(&o);
  o.model = mp;
  o.max_new = 4;
  o.batch = 4;
  o.progress = NULL;
  o.mia_members = sp;
  o.mia_nonmembers = dp;
  lethe_eval_rows rows;
  lethe_mmlu_tally tally;
  lethe_eval_results res;
  lethe_eval_attacks x;
  lethe_eval_attacks_init(&x, 0.2);
  assert_int_equal(lethe_eval_scores(&o, m, l, tok, &forget, &retain, NULL, &rows, &tally, &res, &x), LETHE_OK);
  assert_int_equal(rows.n, (size_t)(forget.n + retain.n));
  /* the answer NLLs: each split alone */
  const lethe_rowset *splits[2] = {&forget, &retain};
  size_t at = 0;
  for (int k = 0; k < 2; k++) {
    lethe_tokset d;
    assert_int_equal(lethe_tokset_build(tok, NULL, splits[k], m->cfg.max_seq_len, -1, &d), LETHE_OK);
    lethe_tok_stats ts;
    assert_int_equal(lethe_tok_stats_compute(m, l, &d, o.batch, &ts), LETHE_OK);
    for (int i = 0; i < d.n; i++) {
      int n = ts.off[i + 1] - ts.off[i];
      double want = lethe_score_loss(ts.logp + ts.off[i], n), got = rows.rows[at + (size_t)d.row[i]].nll;
      if (memcmp(&got, &want, sizeof got)) fail_msg("split %d row %d: NLL %.17g, alone %.17g", k, i, got, want);
    }
    at += (size_t)splits[k]->n;
    lethe_tok_stats_free(&ts);
    lethe_tokset_free(&d);
  }
  /* the MIA documents: each set alone, its Reference from the base model alone */
  const char *docs_paths[2] = {sp, dp};
  const lethe_doc_scores *got_sc[2] = {&x.mem, &x.non};
  for (int k = 0; k < 2; k++) {
    lethe_rowset docs;
    lethe_tokset d;
    assert_int_equal(lethe_docs_load(docs_paths[k], &docs), LETHE_OK);
    assert_int_equal(lethe_tokset_build(tok, NULL, &docs, m->cfg.max_seq_len, -1, &d), LETHE_OK);
    lethe_tok_stats ts;
    assert_int_equal(lethe_tok_stats_compute(m, l, &d, o.batch, &ts), LETHE_OK);
    double *sum = malloc(sizeof(double) * (size_t)d.n);
    int *cnt = malloc(sizeof(int) * (size_t)d.n);
    assert_int_equal(lethe_seq_nll(m, NULL, &d, o.batch, sum, cnt), LETHE_OK);
    lethe_doc_scores want;
    assert_int_equal(lethe_doc_scores_from(&ts, &d, &docs, 0.2, sum, cnt, &want), LETHE_OK);
    assert_int_equal(got_sc[k]->n, want.n);
    assert_non_null(want.score[LETHE_ATK_REF]);
    for (int a = 0; a < LETHE_ATK_COUNT; a++) {
      assert_true((got_sc[k]->score[a] == NULL) == (want.score[a] == NULL));
      if (want.score[a] && memcmp(got_sc[k]->score[a], want.score[a], sizeof(double) * want.n))
        fail_msg("MIA set %d: attack %s differs from a pass over the set alone", k, lethe_attack_name(a));
    }
    lethe_doc_scores_free(&want);
    free(sum);
    free(cnt);
    lethe_tok_stats_free(&ts);
    lethe_tokset_free(&d);
    lethe_rowset_free(&docs);
  }
  lethe_eval_attacks_free(&x);
  lethe_eval_results_free(&res);
  lethe_mmlu_tally_free(&tally);
  lethe_eval_rows_free(&rows);
  lethe_rowset_free(&forget);
  lethe_rowset_free(&retain);
  lethe_lora_free(l);
  lethe_tokenizer_free(tok);
  lethe_model_free(m);
  free(mp);
  free(tp);
  free(fp);
  free(rp);
  free(dp);
  free(sp);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_model_pass_matches_classifier),
      cmocka_unit_test(test_attacks_match_reference), cmocka_unit_test(test_memorisation_edges),
      cmocka_unit_test(test_csv_and_one_line_json), cmocka_unit_test(test_one_pass_equals_separate_passes)};
  return tu_run_group_tests(tests, NULL, NULL);
}
