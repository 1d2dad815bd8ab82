/* tests/io/test_finite.c: weights are checked at the borders (issue 13).
 *  - a model whose safetensors hold a NaN (or Inf) is refused at load, naming the file, the tensor
 *    and the first bad index; the same for a PEFT adapter;
 *  - a model is not written with non-finite values, nor in a dtype that cannot hold them
 *    (`convert --dtype float16` of a 1e5 weight): the error names the tensor and the largest
 *    magnitude, and no output appears. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "io/safetensors.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

TU_WORK_DIR("finite")

/* Copies directory `src` (its listed files) to WORK/name; returns the copy. */
static char *copy_dir(const char *src, const char *name, const char *const *files, int n) {
  char *dst = lethe_path_join(WORK, name);
  lethe_remove_tree(dst);
  assert_int_equal(lethe_make_dirs(dst), LETHE_OK);
  for (int i = 0; i < n; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(dst, files[i]);
    assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  return dst;
}

/* Overwrites element `idx` of F32 tensor `tensor` in safetensors file `path` with `v`. */
static void poke(const char *path, const char *tensor, size_t idx, float v) {
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(path, &st), LETHE_OK);
  const lethe_st_tensor *t = lethe_st_find(&st, tensor);
  assert_non_null(t);
  assert_int_equal(t->dtype, LETHE_DT_F32);
  assert_true(idx < t->numel);
  long off = (long)(t->data - st.map.data) + (long)(idx * 4);
  lethe_st_close(&st);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, off, SEEK_SET), 0);
  assert_int_equal(fwrite(&v, 4, 1, fp), 1);
  fclose(fp);
}

static const char *const MODEL_FILES[] = {"config.json", "model.safetensors"};

static void test_nan_model_refused_at_load(void **state) {
  (void)state;
  char *src = tu_src_path("tests/fixtures/models/llama_tiny");
  char *dir = copy_dir(src, "nan_model", MODEL_FILES, 2);
  char *st = lethe_path_join(dir, "model.safetensors");
  poke(st, "model.layers.1.mlp.up_proj.weight", 37, NAN);
  lethe_model *m = NULL;
  assert_int_equal(lethe_model_load(dir, &m), LETHE_ERR_FORMAT);
  assert_null(m);
  const char *e = lethe_last_error();
  print_message("%s\n", e);
  assert_non_null(strstr(e, dir));
  assert_non_null(
      strstr(e, "tensor 'model.layers.1.mlp.up_proj.weight' holds a non-finite value (nan) at flat index 37"));
  /* the CLI says the same (generate used to print only the prompt) */
  char *err;
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "generate", "--model", dir, "--prompt", "hi", NULL) != 0, 1);
  assert_non_null(strstr(err, "model.layers.1.mlp.up_proj.weight"));
  free(err);
  poke(st, "model.layers.1.mlp.up_proj.weight", 37, 0.0f);
  poke(st, "model.embed_tokens.weight", 5, INFINITY);
  assert_int_equal(lethe_model_load(dir, &m), LETHE_ERR_FORMAT);
  assert_non_null(
      strstr(lethe_last_error(), "'model.embed_tokens.weight' holds a non-finite value (inf) at flat index 5"));
  free(st);
  free(dir);
  free(src);
}

static void test_nan_adapter_refused_at_load(void **state) {
  (void)state;
  char *msrc = tu_src_path("tests/fixtures/models/olmo_tiny"),
       *asrc = tu_src_path("tests/fixtures/peft/olmo_tiny_peft");
  static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors"};
  char *ad = copy_dir(asrc, "nan_adapter", files, 2);
  char *st = lethe_path_join(ad, "adapter_model.safetensors");
  lethe_model *m;
  assert_int_equal(lethe_model_load(msrc, &m), LETHE_OK);
  lethe_lora *l = NULL;
  assert_int_equal(lethe_lora_load(ad, m, &l), LETHE_OK);
  lethe_lora_free(l);
  poke(st, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", 3, NAN);
  l = NULL;
  assert_int_not_equal(lethe_lora_load(ad, m, &l), LETHE_OK);
  assert_null(l);
  const char *e = lethe_last_error();
  print_message("%s\n", e);
  assert_non_null(strstr(e, st));
  assert_non_null(strstr(e, "layers.0.self_attn.q_proj.lora_B.weight' holds a non-finite value (nan) at flat index 3"));
  lethe_model_free(m);
  free(st);
  free(ad);
  free(msrc);
  free(asrc);
}

static void test_unwritable_values_refused(void **state) {
  (void)state;
  char *src = tu_src_path("tests/fixtures/models/llama_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(src, &m), LETHE_OK);
  const lethe_tensor *t = lethe_model_find(m, "model.layers.0.self_attn.o_proj.weight");
  assert_non_null(t);
  m->params[t->offset + 11] = -1e5f;
  /* float32 holds it: written; float16 does not: refused, nothing written */
  char *big = lethe_path_join(WORK, "big"), *f16 = lethe_path_join(WORK, "big_f16");
  assert_int_equal(lethe_model_save(m, big, "float32", 0), LETHE_OK);
  assert_int_equal(lethe_model_save(m, f16, "float16", 0), LETHE_ERR_NUMERIC);
  print_message("%s\n", lethe_last_error());
  assert_non_null(
      strstr(lethe_last_error(), "tensor 'model.layers.0.self_attn.o_proj.weight' holds a value of magnitude 100000"));
  assert_non_null(strstr(lethe_last_error(), "float16's largest finite 65504"));
  assert_false(lethe_is_dir(f16));
  /* the CLI: convert --dtype float16 */
  char *err;
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "convert", "--model", big, "--out", f16, "--dtype", "float16",
                       "--no-tokenizer", NULL),
      1);
  print_message("%s", err);
  assert_non_null(strstr(err, "magnitude 100000"));
  assert_false(lethe_is_dir(f16));
  assert_int_equal(lethe_remove_temporaries(WORK), 0);
  free(err);
  /* bfloat16 holds 1e5; a NaN is never written */
  assert_int_equal(lethe_model_save(m, f16, "bfloat16", 0), LETHE_OK);
  m->params[t->offset + 2] = NAN;
  assert_int_equal(lethe_model_save(m, big, "float32", 0), LETHE_ERR_NUMERIC);
  assert_non_null(strstr(
      lethe_last_error(), "'model.layers.0.self_attn.o_proj.weight' holds a non-finite value (nan) at flat index 2"));
  lethe_model_free(m);
  free(big);
  free(f16);
  free(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nan_model_refused_at_load),
      cmocka_unit_test(test_nan_adapter_refused_at_load),
      cmocka_unit_test(test_unwritable_values_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
