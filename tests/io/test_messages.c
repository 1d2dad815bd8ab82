/* tests/io/test_messages.c: errors name the file and print exact numbers (issue 13):
 *  - a 1-D tensor of the wrong length is shown as [16], not run together with a stray 0;
 *  - eos_token_id 2^31 is reported as 2147483648 (it was truncated through int);
 *  - an adapter tensor of dtype I32 names the adapter file;
 *  - a llama2.c header whose vocab is INT_MIN is refused (its negation was undefined behaviour);
 *  - a tokenizer that is not the model's: the row, the tokenizer and the model are named;
 *  - invalid UTF-8 in an MMLU CSV names that file and line. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "io/safetensors.h"
#include "lethe/eval_mmlu.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

TU_WORK_DIR("messages")

static void test_one_d_shape(void **state) {
  (void)state;
  char *src = tu_src_path("tests/fixtures/models/llama_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(src, &m), LETHE_OK);
  char *dir = lethe_path_join(WORK, "short_norm"), *cfg = lethe_path_join(src, "config.json");
  assert_int_equal(lethe_make_dirs(dir), LETHE_OK);
  char *c2 = lethe_path_join(dir, "config.json"), *st = lethe_path_join(dir, "model.safetensors");
  assert_int_equal(lethe_copy_file(cfg, c2), LETHE_OK);
  lethe_st_entry *e = calloc((size_t)m->n_tensors, sizeof *e);
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    e[i] = (lethe_st_entry){.name = t->name,
        .dtype = LETHE_DT_F32,
        .ndim = t->ndim,
        .shape = {t->shape[0], t->shape[1]},
        .src = m->params + t->offset};
    if (!strcmp(t->name, "model.norm.weight")) e[i].shape[0] = 16;
  }
  assert_int_equal(lethe_st_write(st, e, m->n_tensors, NULL), LETHE_OK);
  lethe_model *b = NULL;
  assert_int_equal(lethe_model_load(dir, &b), LETHE_ERR_FORMAT);
  print_message("%s\n", lethe_last_error());
  assert_non_null(strstr(
      lethe_last_error(), "tensor 'model.norm.weight' has shape [16] in the file, [32] expected from config.json"));
  free(e);
  free(c2);
  free(st);
  free(cfg);
  free(dir);
  lethe_model_free(m);
  free(src);
}

static void test_eos_beyond_int(void **state) {
  (void)state;
  char *src = tu_src_path("tests/fixtures/models/llama_tiny/config.json");
  char *text;
  size_t n;
  assert_int_equal(lethe_read_file(src, 1 << 20, &text, &n), LETHE_OK);
  char *p = strstr(text, "\"eos_token_id\": 2");
  assert_non_null(p);
  char *fixed = malloc(n + 32);
  snprintf(
      fixed, n + 32, "%.*s\"eos_token_id\": 2147483648%s", (int)(p - text), text, p + strlen("\"eos_token_id\": 2"));
  char *cfg = lethe_path_join(WORK, "config.json");
  assert_int_equal(lethe_write_file_atomic(cfg, fixed, strlen(fixed)), LETHE_OK);
  lethe_config c;
  assert_int_not_equal(lethe_config_load(cfg, &c), LETHE_OK);
  print_message("%s\n", lethe_last_error());
  assert_non_null(strstr(lethe_last_error(), "field 'eos_token_id' is 2147483648, outside [-1, 2147483647]"));
  free(cfg);
  free(fixed);
  free(text);
  free(src);
}

static void test_adapter_dtype_names_file(void **state) {
  (void)state;
  char *msrc = tu_src_path("tests/fixtures/models/olmo_tiny"),
       *asrc = tu_src_path("tests/fixtures/peft/olmo_tiny_peft");
  char *ad = lethe_path_join(WORK, "i32_adapter");
  assert_int_equal(lethe_make_dirs(ad), LETHE_OK);
  char *c1 = lethe_path_join(asrc, "adapter_config.json"), *c2 = lethe_path_join(ad, "adapter_config.json");
  assert_int_equal(lethe_copy_file(c1, c2), LETHE_OK);
  char *s1 = lethe_path_join(asrc, "adapter_model.safetensors"), *s2 = lethe_path_join(ad, "adapter_model.safetensors");
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(s1, &st), LETHE_OK);
  lethe_st_entry *e = calloc((size_t)st.n, sizeof *e);
  for (int i = 0; i < st.n; i++) {
    const lethe_st_tensor *t = &st.tensors[i];
    e[i] = (lethe_st_entry){.name = t->name,
        .dtype = i == 0 ? LETHE_DT_I32 : LETHE_DT_F32,
        .ndim = t->ndim,
        .shape = {t->shape[0], t->shape[1]},
        .src = t->data};
  }
  assert_int_equal(lethe_st_write(s2, e, st.n, NULL), LETHE_OK);
  lethe_model *m;
  assert_int_equal(lethe_model_load(msrc, &m), LETHE_OK);
  lethe_lora *l = NULL;
  assert_int_not_equal(lethe_lora_load(ad, m, &l), LETHE_OK);
  print_message("%s\n", lethe_last_error());
  char want[512];
  snprintf(want, sizeof want, "%s: tensor '%s' has dtype I32", s2, st.tensors[0].name);
  assert_non_null(strstr(lethe_last_error(), want));
  lethe_model_free(m);
  lethe_st_close(&st);
  free(e);
  free(c1);
  free(c2);
  free(s1);
  free(s2);
  free(ad);
  free(msrc);
  free(asrc);
}

static void test_llama2c_vocab_int_min(void **state) {
  (void)state;
  char *p = lethe_path_join(WORK, "intmin.bin");
  int32_t h[7] = {64, 128, 1, 4, 4, INT_MIN, 32};
  unsigned char buf[4096] = {0};
  memcpy(buf, h, sizeof h);
  assert_int_equal(lethe_write_file_atomic(p, buf, sizeof buf), LETHE_OK);
  lethe_model *m = NULL;
  assert_int_equal(lethe_model_load(p, &m), LETHE_ERR_FORMAT);
  print_message("%s\n", lethe_last_error());
  assert_non_null(strstr(lethe_last_error(), "is not a valid llama2.c checkpoint"));
  free(p);
}

/* A tokenizer that is not the model's: the first id outside the vocabulary names the data row,
 * the tokenizer and the model (it said only "token id 31373 is outside the vocabulary (512)"). */
static void test_foreign_tokenizer(void **state) {
  (void)state;
  char *m = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("tokenizers/gpt2/tokenizer.json");
  if (!m || !tok) {
    free(m);
    free(tok);
    TU_REQUIRE_SHARED(NULL, "models/stories260K and tokenizers/gpt2");
  }
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"), *out = lethe_path_join(WORK, "foreign"), *err;
  int rc = tu_run_lethe(
      NULL, NULL, &err, "unlearn", "--model", m, "--tokenizer", tok, "--forget", f, "--out", out, "--quiet", NULL);
  assert_int_equal(rc, 1);
  print_message("%s", err);
  char want[1024];
  snprintf(want, sizeof want, "%s, row 1: the tokenizer %s gives token id", f, tok);
  assert_non_null(strstr(err, want));
  snprintf(want, sizeof want, "outside the vocabulary of the model %s (512 ids)", m);
  assert_non_null(strstr(err, want));
  free(err);
  free(out);
  free(f);
  free(m);
  free(tok);
}

/* Invalid UTF-8 in an MMLU CSV is that file's fault, with its line (it was blamed on tokenizer.json). */
static void test_mmlu_bad_utf8(void **state) {
  (void)state;
  char *src = tu_src_path("tests/fixtures/eval/mmlu_mini"), *dir = lethe_path_join(WORK, "mmlu");
  const char *files[] = {
      "dev/another_one_dev.csv", "dev/toy_subject_dev.csv", "test/another_one_test.csv", "test/toy_subject_test.csv"};
  char *d1 = lethe_path_join(dir, "dev"), *d2 = lethe_path_join(dir, "test");
  assert_int_equal(lethe_make_dirs(d1), LETHE_OK);
  assert_int_equal(lethe_make_dirs(d2), LETHE_OK);
  for (int i = 0; i < 4; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(dir, files[i]);
    assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  char *bad = lethe_path_join(dir, "test/toy_subject_test.csv"), *text;
  size_t n;
  assert_int_equal(lethe_read_file(bad, 1 << 20, &text, &n), LETHE_OK);
  char *nl = memchr(text, '\n', n);
  assert_non_null(nl);
  nl[1] = (char)0xff; /* the first byte of line 2 */
  assert_int_equal(lethe_write_file_atomic(bad, text, n), LETHE_OK);
  lethe_mmlu_opts opt = {0, 0};
  lethe_mmlu_set set;
  assert_int_not_equal(lethe_mmlu_load(dir, &opt, &set), LETHE_OK);
  print_message("%s\n", lethe_last_error());
  char want[512];
  snprintf(want, sizeof want, "%s:2: invalid UTF-8 at byte offset %zu (byte 0xff)", bad, (size_t)(nl + 1 - text));
  assert_non_null(strstr(lethe_last_error(), want));
  free(text);
  free(bad);
  free(d1);
  free(d2);
  free(dir);
  free(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_d_shape),
      cmocka_unit_test(test_eos_beyond_int),
      cmocka_unit_test(test_adapter_dtype_names_file),
      cmocka_unit_test(test_llama2c_vocab_int_min),
      cmocka_unit_test(test_foreign_tokenizer),
      cmocka_unit_test(test_mmlu_bad_utf8),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
