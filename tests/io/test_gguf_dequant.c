/* tests/io/test_gguf_dequant.c: dequantisation of every GGUF tensor type lethe reads (F32, F16,
 * BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K) against gguf-py's own dequantize() on random blocks
 * (tests/fixtures/gguf/dequant.gguf, made by tools/reference/make_gguf_fixtures.py): every value
 * must be bit-identical, since each format defines its values exactly in fp32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "testutil.h"

static void check_type(const char *type_name, uint32_t type_id) {
  char *path = tu_src_path("tests/fixtures/gguf/dequant.gguf");
  char *rpath = tu_src_path("tests/fixtures/gguf/dequant_ref.safetensors");
  lethe_gguf g;
  lethe_status s = lethe_gguf_open(path, &g);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(rpath, &st), LETHE_OK);
  char name[64];
  snprintf(name, sizeof name, "deq.%s", type_name);
  const lethe_gguf_tensor *t = lethe_gguf_find_tensor(&g, name);
  assert_non_null(t);
  assert_int_equal(t->type, type_id);
  assert_string_equal(lethe_ggml_type_name(t->type), type_name);
  assert_true(lethe_ggml_type_supported(t->type));
  assert_int_equal(t->ne[0], 512);
  assert_int_equal(t->ne[1], 2);
  const lethe_st_tensor *r = lethe_st_find(&st, name);
  assert_non_null(r);
  assert_int_equal(r->numel, t->numel);
  float *got = malloc(sizeof(float) * t->numel), *want = malloc(sizeof(float) * t->numel);
  assert_int_equal(lethe_gguf_tensor_f32(&g, t, got), LETHE_OK);
  assert_int_equal(lethe_st_to_f32(&st, r, want, r->numel), LETHE_OK);
  size_t diff = 0;
  double maxd = 0, maxv = 0;
  for (size_t i = 0; i < t->numel; i++) {
    diff += memcmp(&got[i], &want[i], sizeof(float)) != 0;
    maxd = fmax(maxd, fabs((double)got[i] - want[i]));
    maxv = fmax(maxv, fabs((double)want[i]));
  }
  print_message("%-5s %zu values, %zu differ, max |diff| %.3g (max |x| %.3g)\n", type_name, t->numel, diff, maxd, maxv);
  assert_int_equal(diff, 0);
  free(got);
  free(want);
  lethe_st_close(&st);
  lethe_gguf_close(&g);
  free(path);
  free(rpath);
}

static void test_f32(void **state) {
  (void)state;
  check_type("F32", GGML_F32);
}
static void test_f16(void **state) {
  (void)state;
  check_type("F16", GGML_F16);
}
static void test_bf16(void **state) {
  (void)state;
  check_type("BF16", GGML_BF16);
}
static void test_q8_0(void **state) {
  (void)state;
  check_type("Q8_0", GGML_Q8_0);
}
static void test_q4_0(void **state) {
  (void)state;
  check_type("Q4_0", GGML_Q4_0);
}
static void test_q4_1(void **state) {
  (void)state;
  check_type("Q4_1", GGML_Q4_1);
}
static void test_q4_k(void **state) {
  (void)state;
  check_type("Q4_K", GGML_Q4_K);
}
static void test_q6_k(void **state) {
  (void)state;
  check_type("Q6_K", GGML_Q6_K);
}

/* Block sizes and byte sizes as ggml defines them; unsupported types are known but refused. */
static void test_type_table(void **state) {
  (void)state;
  assert_int_equal(lethe_ggml_block_size(GGML_Q4_K), 256);
  assert_int_equal(lethe_ggml_block_bytes(GGML_Q4_K), 144);
  assert_int_equal(lethe_ggml_block_bytes(GGML_Q6_K), 210);
  assert_int_equal(lethe_ggml_block_bytes(GGML_Q4_1), 20);
  assert_int_equal(lethe_ggml_block_bytes(GGML_Q8_0), 34);
  assert_string_equal(lethe_ggml_type_name(13), "Q5_K");
  assert_false(lethe_ggml_type_supported(13));
  assert_null(lethe_ggml_type_name(4)); /* removed from ggml */
  assert_int_equal(lethe_ggml_block_size(4), 0);
  assert_null(lethe_ggml_type_name(1000));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f32),
      cmocka_unit_test(test_f16),
      cmocka_unit_test(test_bf16),
      cmocka_unit_test(test_q8_0),
      cmocka_unit_test(test_q4_0),
      cmocka_unit_test(test_q4_1),
      cmocka_unit_test(test_q4_k),
      cmocka_unit_test(test_q6_k),
      cmocka_unit_test(test_type_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
