/* tests/model/test_lora_combine.c: several adapters merged into one model (lethe_lora_combine and
 * `lethe merge --adapter A --adapter B --combine linear|ties`) against the NumPy implementation of
 * tools/reference/ties_reference.py: the two committed tiny-OLMo adapters, a weighted linear sum and
 * TIES at densities 0.8 (ZJUKLAB's, weights 1, 1) and 0.3 (weights 1, 0.5). Every adapted projection
 * must match to relative error 1e-5; --as-adapter's truncated SVD reports NumPy's errors (1e-4) and is
 * exact at full rank. Bad --weights / --density are one clear usage error. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/json.h"

/* Compares every tensor of the fixture with the model's (or, with st_got, another safetensors). */
static int compare(const char *label, lethe_safetensors *want, const lethe_model *m, lethe_safetensors *got) {
  int count = 0;
  for (int k = 0; k < want->n; k++) {
    const lethe_st_tensor *t = &want->tensors[k];
    float *w = malloc(sizeof(float) * t->numel), *g = malloc(sizeof(float) * t->numel);
    assert_int_equal(lethe_st_to_f32(want, t, w, t->numel), LETHE_OK);
    if (got) {
      const lethe_st_tensor *o = lethe_st_find(got, t->name);
      assert_non_null(o);
      assert_int_equal(lethe_st_to_f32(got, o, g, t->numel), LETHE_OK);
    } else {
      const lethe_tensor *mt = lethe_model_find(m, t->name);
      assert_non_null(mt);
      memcpy(g, m->params + mt->offset, sizeof(float) * t->numel);
    }
    char what[256];
    snprintf(what, sizeof what, "%s %s", label, t->name);
    tu_assert_close(what, g, w, t->numel, 1e-5);
    free(w);
    free(g);
    count++;
  }
  return count;
}

static json_t *cases(void) {
  char *p = tu_src_path("tests/fixtures/merge/cases.json");
  json_t *j;
  assert_int_equal(lethe_json_load(p, 1 << 16, &j), LETHE_OK);
  free(p);
  return j;
}

static void test_library(void **state) {
  (void)state;
  json_t *j = cases();
  char *mp = tu_src_path("tests/fixtures/models/olmo_tiny");
  const char *name;
  json_t *c;
  json_object_foreach(json_object_get(j, "cases"), name, c) {
    lethe_model *m;
    assert_int_equal(lethe_model_load(mp, &m), LETHE_OK);
    lethe_lora *ad[2];
    double w[2];
    for (int i = 0; i < 2; i++) {
      char *ap = tu_src_path(json_string_value(json_array_get(json_object_get(j, "adapters"), (size_t)i)));
      assert_int_equal(lethe_lora_load(ap, m, &ad[i]), LETHE_OK);
      free(ap);
      w[i] = json_number_value(json_array_get(json_object_get(c, "weights"), (size_t)i));
    }
    int ties = !strcmp(json_string_value(json_object_get(c, "combine")), "ties");
    assert_int_equal(
        lethe_lora_combine(m, (const lethe_lora *const *)ad, w, 2, ties ? LETHE_COMBINE_TIES : LETHE_COMBINE_LINEAR,
            json_number_value(json_object_get(c, "density"))),
        LETHE_OK);
    char rel[128];
    snprintf(rel, sizeof rel, "tests/fixtures/merge/%s.safetensors", name);
    char *fp = tu_src_path(rel);
    lethe_safetensors st;
    assert_int_equal(lethe_st_open(fp, &st), LETHE_OK);
    int n = compare(name, &st, m, NULL);
    print_message("%s: %d tensors match NumPy\n", name, n);
    assert_int_equal(n, 4 * m->cfg.n_layers); /* q, v, o, down of every layer */
    lethe_st_close(&st);
    free(fp);
    /* a density outside (0, 1] is refused */
    assert_int_not_equal(lethe_lora_combine(m, (const lethe_lora *const *)ad, w, 2, LETHE_COMBINE_TIES, 0.0), LETHE_OK);
    lethe_lora_free(ad[0]);
    lethe_lora_free(ad[1]);
    lethe_model_free(m);
  }
  free(mp);
  json_decref(j);
}

/* --as-adapter: the rank-R adapter's errors equal NumPy's SVD tail; at full rank (linear, 3 + 4)
 * the adapter merged into the base gives the linear fixture. */
static void test_as_adapter(void **state) {
  (void)state;
  json_t *j = cases();
  char *mp = tu_src_path("tests/fixtures/models/olmo_tiny");
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(j, "svd"), i, c) {
    const char *name = json_string_value(json_object_get(c, "case"));
    int rank = (int)json_integer_value(json_object_get(c, "rank"));
    const json_t *cs = json_object_get(json_object_get(j, "cases"), name);
    lethe_model *m;
    assert_int_equal(lethe_model_load(mp, &m), LETHE_OK);
    lethe_lora *ad[2], *res;
    double w[2];
    for (int k = 0; k < 2; k++) {
      char *ap = tu_src_path(json_string_value(json_array_get(json_object_get(j, "adapters"), (size_t)k)));
      assert_int_equal(lethe_lora_load(ap, m, &ad[k]), LETHE_OK);
      free(ap);
      w[k] = json_number_value(json_array_get(json_object_get(cs, "weights"), (size_t)k));
    }
    int ties = !strcmp(json_string_value(json_object_get(cs, "combine")), "ties");
    double emax, eall;
    assert_int_equal(lethe_lora_combine_to_adapter(m, (const lethe_lora *const *)ad, w, 2,
                         ties ? LETHE_COMBINE_TIES : LETHE_COMBINE_LINEAR,
                         json_number_value(json_object_get(cs, "density")), rank, &res, &emax, &eall),
        LETHE_OK);
    double want_all = json_number_value(json_object_get(c, "err_all")),
           want_max = json_number_value(json_object_get(c, "err_max"));
    print_message(
        "%s rank %d: error %.6g (NumPy %.6g), worst %.6g (%.6g)\n", name, rank, eall, want_all, emax, want_max);
    if (want_all > 1e-3) {
      assert_true(fabs(eall - want_all) <= 1e-4 * want_all);
      assert_true(fabs(emax - want_max) <= 1e-4 * want_max);
    } else {
      /* exact rank: both are rounding, and the adapter is the combination itself */
      assert_true(eall < 1e-5 && emax < 1e-5);
      assert_int_equal(lethe_lora_merge(m, res), LETHE_OK);
      char rel[128];
      snprintf(rel, sizeof rel, "tests/fixtures/merge/%s.safetensors", name);
      char *fp = tu_src_path(rel);
      lethe_safetensors st;
      assert_int_equal(lethe_st_open(fp, &st), LETHE_OK);
      assert_int_equal(compare("as-adapter", &st, m, NULL), 4 * m->cfg.n_layers);
      lethe_st_close(&st);
      free(fp);
    }
    lethe_lora_free(res); /* the failing call below sets res to NULL */
    assert_int_not_equal(lethe_lora_combine_to_adapter(
                             m, (const lethe_lora *const *)ad, w, 2, LETHE_COMBINE_LINEAR, 1, 0, &res, &emax, &eall),
        LETHE_OK);
    lethe_lora_free(res);
    lethe_lora_free(ad[0]);
    lethe_lora_free(ad[1]);
    lethe_model_free(m);
  }
  free(mp);
  json_decref(j);
}

static void test_cli(void **state) {
  (void)state;
  char *mp = tu_src_path("tests/fixtures/models/olmo_tiny"), *a = tu_src_path("tests/fixtures/peft/olmo_tiny_lethe"),
       *b = tu_src_path("tests/fixtures/peft/olmo_tiny_peft"), *out = tu_tmp_path("merge-ties");
  lethe_remove_tree(out);
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "merge", "--model", mp, "--adapter", a, "--adapter", b, "--combine", "ties",
      "--density", "0.8", "--weights", "1,1", "--out", out, "--dtype", "float32", NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  char *got = lethe_path_join(out, "model.safetensors"),
       *want = tu_src_path("tests/fixtures/merge/ties_d08_w1_1.safetensors");
  lethe_safetensors sg, sw;
  assert_int_equal(lethe_st_open(got, &sg), LETHE_OK);
  assert_int_equal(lethe_st_open(want, &sw), LETHE_OK);
  assert_true(compare("cli ties", &sw, NULL, &sg) > 0);
  lethe_st_close(&sg);
  lethe_st_close(&sw);
  /* bad weights: wrong count, not numbers */
  const char *bad[] = {"1", "1,x", "1,2,3", "1,", "nan,1"};
  for (int i = 0; i < 5; i++) {
    char *o2 = lethe_path_join(out, "bad");
    rc = tu_run_lethe(NULL, NULL, &err, "merge", "--model", mp, "--adapter", a, "--adapter", b, "--weights", bad[i],
        "--out", o2, NULL);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(err, "--weights"));
    assert_false(lethe_is_dir(o2));
    free(err);
    free(o2);
  }
  rc = tu_run_lethe(NULL, NULL, &err, "merge", "--model", mp, "--adapter", a, "--adapter", b, "--combine", "ties",
      "--density", "1.5", "--out", out, NULL);
  assert_int_equal(rc, 2);
  free(err);
  lethe_remove_tree(out);
  free(got);
  free(want);
  free(mp);
  free(a);
  free(b);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_library), cmocka_unit_test(test_as_adapter), cmocka_unit_test(test_cli)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
