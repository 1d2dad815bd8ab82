/* tests/io/test_model_bad_input.c: every malformed model input gets one clear error (file, place,
 * problem) and no crash: safetensors that are truncated, lie about offsets or sizes, overlap, use
 * an unknown dtype or a wrong shape, miss a tensor or carry an unexpected one; config.json with a
 * missing field, an unknown model_type, hidden_size not divisible by the heads, wrong types;
 * missing files; llama2.c headers that do not match the file. Also the safetensors round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "lethe/model.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

static char *tmpdir;

static int setup(void **state) {
  (void)state;
  tmpdir = tu_tmp_path("badinput");
  lethe_remove_tree(tmpdir);
  return lethe_make_dirs(tmpdir) == LETHE_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(tmpdir);
  free(tmpdir);
  return 0;
}

static char *tpath(const char *name) { return lethe_path_join(tmpdir, name); }

static void write_raw(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* A safetensors image with the given header JSON and `data_len` bytes of data. */
static void write_st(const char *path, const char *header, size_t data_len) {
  size_t h = strlen(header);
  unsigned char *buf = calloc(1, 8 + h + data_len);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
  memcpy(buf + 8, header, h);
  write_raw(path, buf, 8 + h + data_len);
  free(buf);
}

static void expect_st_error(const char *header, size_t data_len, const char *needle) {
  char *p = tpath("x.safetensors");
  write_st(p, header, data_len);
  lethe_safetensors st;
  lethe_status s = lethe_st_open(p, &st);
  if (s == LETHE_OK) {
    lethe_st_close(&st);
    print_error("accepted a bad file: %s\n", header);
    fail();
  }
  print_message("%s\n", lethe_last_error());
  if (!strstr(lethe_last_error(), needle)) {
    print_error("message lacks '%s'\n", needle);
    fail();
  }
  assert_non_null(strstr(lethe_last_error(), p));
  free(p);
}

static void test_safetensors_bad(void **state) {
  (void)state;
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "past the end");
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "shape x dtype");
  expect_st_error("{\"a\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype");
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
      12, "overlap");
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8, "shape");
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "not ordered");
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets");
  expect_st_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8, "JSON");
  expect_st_error("[1,2]", 0, "not a JSON object");
  /* Truncated: a header length larger than the file. */
  char *p = tpath("t.safetensors");
  unsigned char tiny[12] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
  write_raw(p, tiny, sizeof tiny);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(p, &st), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), "runs past the end"));
  write_raw(p, tiny, 5);
  assert_int_equal(lethe_st_open(p, &st), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), "too short"));
  free(p);
  p = tpath("missing.safetensors");
  assert_int_equal(lethe_st_open(p, &st), LETHE_ERR_IO);
  assert_non_null(strstr(lethe_last_error(), "cannot open"));
  free(p);
}

static void test_safetensors_roundtrip(void **state) {
  (void)state;
  float a[6] = {1.5f, -2.25f, 3e-5f, 65504.0f, -0.0f, 1e-8f};
  int32_t ids[3] = {7, -1, 123456};
  lethe_st_entry e[4] = {
      {.name = "f32", .dtype = LETHE_DT_F32, .ndim = 2, .shape = {2, 3}, .src = a},
      {.name = "bf16", .dtype = LETHE_DT_BF16, .ndim = 1, .shape = {6}, .src = a},
      {.name = "f16", .dtype = LETHE_DT_F16, .ndim = 1, .shape = {6}, .src = a},
      {.name = "ids", .dtype = LETHE_DT_I32, .ndim = 1, .shape = {3}, .src = ids},
  };
  char *p = tpath("rt.safetensors");
  assert_int_equal(lethe_st_write(p, e, 4, "{\"format\": \"pt\"}"), LETHE_OK);
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(p, &st), LETHE_OK);
  assert_int_equal(st.n, 4);
  float back[6];
  assert_int_equal(lethe_st_to_f32(&st, lethe_st_find(&st, "f32"), back, 6), LETHE_OK);
  assert_memory_equal(back, a, sizeof a);
  assert_int_equal(lethe_st_to_f32(&st, lethe_st_find(&st, "bf16"), back, 6), LETHE_OK);
  for (int i = 0; i < 6; i++) assert_true(back[i] == lethe_bf16_to_f32(lethe_f32_to_bf16(a[i])));
  assert_true(back[0] == 1.5f && back[1] == -2.25f);
  assert_int_equal(lethe_st_to_f32(&st, lethe_st_find(&st, "f16"), back, 6), LETHE_OK);
  assert_true(back[0] == 1.5f && back[1] == -2.25f && back[3] == 65504.0f);
  assert_true(back[2] > 2.99e-5f && back[2] < 3.01e-5f); /* f16 subnormal range */
  int32_t ib[3];
  assert_int_equal(lethe_st_to_i32(&st, lethe_st_find(&st, "ids"), ib, 3), LETHE_OK);
  assert_memory_equal(ib, ids, sizeof ids);
  /* Asking for the wrong element count is an error, not an overrun. */
  assert_int_equal(lethe_st_to_f32(&st, lethe_st_find(&st, "f32"), back, 5), LETHE_ERR_FORMAT);
  lethe_st_close(&st);
  free(p);
}

static void test_f16_conversion_exhaustive(void **state) {
  (void)state;
  /* Every finite half converts to float and back to itself. */
  for (uint32_t h = 0; h < 0x10000; h++) {
    uint16_t x = (uint16_t)h;
    if ((x & 0x7c00) == 0x7c00) continue;
    assert_int_equal(lethe_f32_to_f16(lethe_f16_to_f32(x)), x);
  }
  assert_int_equal(lethe_f32_to_f16(1e6f), 0x7c00);
  assert_true(lethe_bf16_to_f32(lethe_f32_to_bf16(1.00390625f)) == 1.0f); /* tie to even */
}

/* A model directory from the olmo fixture with config.json replaced. */
static void expect_config_error(const char *json, const char *needle) {
  lethe_config c;
  lethe_status s = lethe_config_parse(json, strlen(json), "config.json", &c);
  if (s == LETHE_OK) {
    print_error("accepted: %s\n", json);
    fail();
  }
  print_message("%s\n", lethe_last_error());
  if (!strstr(lethe_last_error(), needle)) {
    print_error("message lacks '%s'\n", needle);
    fail();
  }
}

#define BASE "\"vocab_size\": 64, \"hidden_size\": 32, \"num_hidden_layers\": 2, \"intermediate_size\": 48"

static void test_config_bad(void **state) {
  (void)state;
  expect_config_error("{\"model_type\": \"olmo\", " BASE ", \"num_attention_heads\": 5}", "not divisible");
  expect_config_error("{\"model_type\": \"gpt2\", " BASE ", \"num_attention_heads\": 4}", "model_type 'gpt2'");
  expect_config_error("{" BASE ", \"num_attention_heads\": 4}", "missing required field 'model_type'");
  expect_config_error(
      "{\"model_type\": \"llama\", \"hidden_size\": 32, \"num_hidden_layers\": 2, \"intermediate_size\": 48, "
      "\"num_attention_heads\": 4}",
      "missing required field 'vocab_size'");
  expect_config_error("{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": \"4\"}", "must be an integer");
  expect_config_error("{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": 4, \"num_key_value_heads\": 3}",
      "not a multiple");
  expect_config_error(
      "{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": 4, \"hidden_act\": \"gelu\"}", "hidden_act");
  expect_config_error("{\"model_type\": \"llama\", " BASE
                      ", \"num_attention_heads\": 4, \"rope_scaling\": {\"rope_type\": \"yarn\", "
                      "\"factor\": 2}}",
      "yarn");
  expect_config_error(
      "{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": 4, \"eos_token_id\": 64}", "eos_token_id");
  expect_config_error("{\"model_type\": \"llama\", \"vocab_size\": 0, \"hidden_size\": 32, \"num_hidden_layers\": 2, "
                      "\"intermediate_size\": 48, \"num_attention_heads\": 4}",
      "outside");
  expect_config_error(
      "{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": 4, \"vocab_size\": 9}", "duplicate");
  expect_config_error("{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": 4,}", "invalid JSON");
  expect_config_error("[]", "JSON object");
  /* Defaults and both RoPE spellings parse. */
  lethe_config c;
  const char *v5 = "{\"model_type\": \"llama\", " BASE ", \"num_attention_heads\": 4, \"rope_parameters\": "
                   "{\"rope_type\": \"default\", \"rope_theta\": 500000.0}}";
  assert_int_equal(lethe_config_parse(v5, strlen(v5), "v5", &c), LETHE_OK);
  assert_true(c.rope_theta == 500000.0 && c.n_kv_heads == 4 && c.head_dim == 8 && c.norm_eps == 1e-6);
}

/* Copies the olmo fixture into tmp/NAME, then lets the caller break it. */
static char *copy_fixture(const char *name) {
  char *src = tu_src_path("tests/fixtures/models/olmo_tiny");
  char *dst = tpath(name);
  lethe_remove_tree(dst);
  assert_int_equal(lethe_make_dirs(dst), LETHE_OK);
  const char *files[] = {"config.json", "model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(dst, files[i]);
    assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  free(src);
  return dst;
}

static void expect_load_error(const char *path, const char *needle) {
  lethe_model *m = NULL;
  lethe_status s = lethe_model_load(path, &m);
  if (s == LETHE_OK) {
    lethe_model_free(m);
    print_error("loaded a bad model at %s\n", path);
    fail();
  }
  print_message("%s\n", lethe_last_error());
  if (!strstr(lethe_last_error(), needle)) {
    print_error("message lacks '%s'\n", needle);
    fail();
  }
}

static void test_model_dir_bad(void **state) {
  (void)state;
  /* A tensor missing: rewrite the safetensors without one tensor. */
  char *dir = copy_fixture("missing");
  char *st_path = lethe_path_join(dir, "model.safetensors");
  lethe_safetensors st;
  assert_int_equal(lethe_st_open(st_path, &st), LETHE_OK);
  lethe_st_entry *e = calloc((size_t)st.n, sizeof *e);
  float **bufs = calloc((size_t)st.n, sizeof *bufs);
  int n = 0;
  for (int i = 0; i < st.n; i++) {
    if (!strcmp(st.tensors[i].name, "model.layers.1.mlp.up_proj.weight")) continue;
    bufs[n] = malloc(sizeof(float) * st.tensors[i].numel);
    lethe_st_to_f32(&st, &st.tensors[i], bufs[n], st.tensors[i].numel);
    e[n] = (lethe_st_entry){.name = st.tensors[i].name,
        .dtype = LETHE_DT_F32,
        .ndim = st.tensors[i].ndim,
        .shape = {st.tensors[i].shape[0], st.tensors[i].shape[1]},
        .src = bufs[n]};
    n++;
  }
  assert_int_equal(lethe_st_write(st_path, e, n, NULL), LETHE_OK);
  expect_load_error(dir, "model.layers.1.mlp.up_proj.weight' is missing");
  /* An unexpected tensor: add one. */
  e[n] = (lethe_st_entry){
      .name = "model.layers.0.self_attn.q_norm.weight", .dtype = LETHE_DT_F32, .ndim = 1, .shape = {4}, .src = bufs[0]};
  assert_int_equal(lethe_st_write(st_path, e, n + 1, NULL), LETHE_OK);
  expect_load_error(dir, "unexpected tensor 'model.layers.0.self_attn.q_norm.weight'");
  for (int i = 0; i < n; i++) free(bufs[i]);
  free(bufs);
  free(e);
  lethe_st_close(&st);
  /* A config that no longer matches the weights' shapes. */
  char *cfg = lethe_path_join(dir, "config.json");
  const char *wrong = "{\"model_type\": \"olmo\", \"vocab_size\": 96, \"hidden_size\": 32, \"num_hidden_layers\": 2, "
                      "\"num_attention_heads\": 4, \"intermediate_size\": 64}";
  write_raw(cfg, wrong, strlen(wrong));
  free(copy_fixture("missing"));
  char *dir2 = copy_fixture("shape");
  char *cfg2 = lethe_path_join(dir2, "config.json");
  write_raw(cfg2, wrong, strlen(wrong));
  expect_load_error(dir2, "expected from config.json");
  /* Truncated weights. */
  char *dir3 = copy_fixture("trunc");
  char *w3 = lethe_path_join(dir3, "model.safetensors");
  lethe_mapped_file mf;
  assert_int_equal(lethe_map_file(w3, &mf), LETHE_OK);
  size_t half = mf.size / 2;
  unsigned char *copy = malloc(half);
  memcpy(copy, mf.data, half);
  lethe_unmap_file(&mf);
  write_raw(w3, copy, half);
  free(copy);
  expect_load_error(dir3, "past the end");
  /* No weights at all, and no directory at all. */
  unlink(w3);
  expect_load_error(dir3, "no model.safetensors");
  char *nope = tpath("does-not-exist");
  expect_load_error(nope, "cannot open");
  /* A llama2.c-looking file whose header does not match its size. */
  char *bin = tpath("bad.bin");
  int32_t hdr[7] = {64, 172, 5, 8, 4, 512, 512};
  write_raw(bin, hdr, sizeof hdr);
  expect_load_error(bin, "the header implies");
  int32_t junk[7] = {-5, 0, 0, 0, 0, 0, 0};
  write_raw(bin, junk, sizeof junk);
  expect_load_error(bin, "not a valid llama2.c checkpoint");
  free(bin);
  free(nope);
  free(w3);
  free(dir3);
  free(cfg2);
  free(dir2);
  free(cfg);
  free(st_path);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_safetensors_bad),
      cmocka_unit_test(test_safetensors_roundtrip),
      cmocka_unit_test(test_f16_conversion_exhaustive),
      cmocka_unit_test(test_config_bad),
      cmocka_unit_test(test_model_dir_bad),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
