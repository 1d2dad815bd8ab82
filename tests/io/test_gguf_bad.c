/* tests/io/test_gguf_bad.c: malformed and unsupported GGUF input. Files are built here byte by byte
 * (a valid tiny llama model, then variants with one lie each): wrong magic and versions, every
 * truncation, lying counts, string and array lengths, dimensions, offsets, overlaps, alignments,
 * unknown value and tensor types, duplicates, and, at the model level, an unsupported architecture,
 * an unsupported tensor type, missing, misshapen and extra tensors, missing or mistyped keys, and
 * bad tokenizer metadata. Each must fail with one clear message (checked for its key words), and
 * never crash (the suite also runs under ASan and UBSan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/io.h"
#include "lethe/model.h"
#include "testutil.h"
#include "util/fileio.h"

typedef struct {
  uint8_t *p;
  size_t n, cap;
} buf;

static void put(buf *b, const void *x, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->n, x, n);
  b->n += n;
}
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void f32v(buf *b, float v) { put(b, &v, 4); }
static void str(buf *b, const char *s) {
  u64(b, strlen(s));
  put(b, s, strlen(s));
}
static void kv_u32(buf *b, const char *k, uint32_t v) {
  str(b, k);
  u32(b, GGUF_UINT32);
  u32(b, v);
}
static void kv_f32(buf *b, const char *k, float v) {
  str(b, k);
  u32(b, GGUF_FLOAT32);
  f32v(b, v);
}
static void kv_str(buf *b, const char *k, const char *v) {
  str(b, k);
  u32(b, GGUF_STRING);
  str(b, v);
}
static void header(buf *b, uint32_t version, uint64_t nt, uint64_t nkv) {
  put(b, "GGUF", 4);
  u32(b, version);
  u64(b, nt);
  u64(b, nkv);
}

/* ---- a valid tiny llama (d 8, 2 heads, F 8, vocab 8, one layer, tied head), with one change --- */

typedef struct {
  const char *arch;
  uint32_t q_type;   /* type of blk.0.attn_q.weight */
  const char *drop;  /* tensor left out */
  const char *extra; /* an extra tensor */
  int q_rows;        /* rows of attn_q (8) */
  int block_count;   /* 1 */
  int block_count_as_str;
  int no_block_count;
  const char *tok_model; /* NULL: no tokenizer metadata */
  const char *tok_pre;
  int tok_types_n; /* entries of token_type (8) */
} spec;

static spec base(void) {
  return (spec){.arch = "llama",
      .q_type = GGML_F32,
      .q_rows = 8,
      .block_count = 1,
      .tok_model = "gpt2",
      .tok_pre = "gpt2",
      .tok_types_n = 8};
}

typedef struct {
  const char *name;
  int64_t ne0, ne1; /* ne1 0: a vector */
  uint32_t type;
} tinfo;

static size_t tbytes(const tinfo *t) {
  int64_t n = t->ne0 * (t->ne1 ? t->ne1 : 1);
  return (size_t)(n / lethe_ggml_block_size(t->type)) * lethe_ggml_block_bytes(t->type);
}

static buf build(const spec *s) {
  tinfo ts[16];
  int nt = 0;
  ts[nt++] = (tinfo){"token_embd.weight", 8, 8, GGML_F32};
  ts[nt++] = (tinfo){"output_norm.weight", 8, 0, GGML_F32};
  ts[nt++] = (tinfo){"blk.0.attn_norm.weight", 8, 0, GGML_F32};
  ts[nt++] = (tinfo){"blk.0.attn_q.weight", s->q_type == 13 ? 256 : 8, s->q_rows, s->q_type};
  ts[nt++] = (tinfo){"blk.0.attn_k.weight", 8, 8, GGML_F32};
  ts[nt++] = (tinfo){"blk.0.attn_v.weight", 8, 8, GGML_F16};
  ts[nt++] = (tinfo){"blk.0.attn_output.weight", 8, 8, GGML_F32};
  ts[nt++] = (tinfo){"blk.0.ffn_norm.weight", 8, 0, GGML_F32};
  ts[nt++] = (tinfo){"blk.0.ffn_gate.weight", 8, 8, GGML_F32};
  ts[nt++] = (tinfo){"blk.0.ffn_up.weight", 8, 8, GGML_BF16};
  ts[nt++] = (tinfo){"blk.0.ffn_down.weight", 8, 8, GGML_F32};
  if (s->extra) ts[nt++] = (tinfo){s->extra, 4, 0, GGML_F32};
  if (s->drop)
    for (int i = 0; i < nt; i++)
      if (!strcmp(ts[i].name, s->drop)) {
        memmove(&ts[i], &ts[i + 1], sizeof *ts * (size_t)(nt - i - 1));
        nt--;
        break;
      }
  buf kv = {0};
  int nkv = 0;
  char k[64];
#define KEY(suffix) (snprintf(k, sizeof k, "%s.%s", s->arch, suffix), k)
  kv_str(&kv, "general.architecture", s->arch), nkv++;
  kv_u32(&kv, KEY("context_length"), 64), nkv++;
  kv_u32(&kv, KEY("embedding_length"), 8), nkv++;
  if (s->block_count_as_str)
    kv_str(&kv, KEY("block_count"), "one"), nkv++;
  else if (!s->no_block_count)
    kv_u32(&kv, KEY("block_count"), (uint32_t)s->block_count), nkv++;
  kv_u32(&kv, KEY("feed_forward_length"), 8), nkv++;
  kv_u32(&kv, KEY("attention.head_count"), 2), nkv++;
  kv_f32(&kv, KEY("attention.layer_norm_rms_epsilon"), 1e-5f), nkv++;
#undef KEY
  if (s->tok_model) {
    kv_str(&kv, "tokenizer.ggml.model", s->tok_model), nkv++;
    kv_str(&kv, "tokenizer.ggml.pre", s->tok_pre), nkv++;
    static const char *const TOK[8] = {"a", "b", "c", "d", "ab", "abc", "\xc4\xa0", "<|e|>"};
    str(&kv, "tokenizer.ggml.tokens");
    u32(&kv, GGUF_ARRAY);
    u32(&kv, GGUF_STRING);
    u64(&kv, 8);
    for (int i = 0; i < 8; i++) str(&kv, TOK[i]);
    nkv++;
    str(&kv, "tokenizer.ggml.token_type");
    u32(&kv, GGUF_ARRAY);
    u32(&kv, GGUF_INT32);
    u64(&kv, (uint64_t)s->tok_types_n);
    for (int i = 0; i < s->tok_types_n; i++) u32(&kv, i == 7 ? 3 : 1);
    nkv++;
    str(&kv, "tokenizer.ggml.merges");
    u32(&kv, GGUF_ARRAY);
    u32(&kv, GGUF_STRING);
    u64(&kv, 2);
    str(&kv, "a b");
    str(&kv, "ab c");
    nkv++;
    kv_u32(&kv, "tokenizer.ggml.eos_token_id", 7), nkv++;
  }
  buf b = {0};
  header(&b, 3, (uint64_t)nt, (uint64_t)nkv);
  put(&b, kv.p, kv.n);
  free(kv.p);
  size_t off = 0;
  for (int i = 0; i < nt; i++) {
    str(&b, ts[i].name);
    u32(&b, ts[i].ne1 ? 2 : 1);
    u64(&b, (uint64_t)ts[i].ne0);
    if (ts[i].ne1) u64(&b, (uint64_t)ts[i].ne1);
    u32(&b, ts[i].type);
    u64(&b, off);
    off += (tbytes(&ts[i]) + 31) / 32 * 32;
  }
  while (b.n % 32) put(&b, "", 1);
  for (int i = 0; i < nt; i++) {
    size_t n = tbytes(&ts[i]), padded = (n + 31) / 32 * 32;
    for (size_t j = 0; j < padded; j++) {
      /* small finite values in every encoding: 0x3c00 is 1.0 in f16, ~0.0078 in bf16 */
      uint8_t x = j < n ? (uint8_t)(j % 2 ? 0x3c : 0x00) : 0;
      put(&b, &x, 1);
    }
  }
  return b;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void expect_parse_error(const buf *b, lethe_status want, const char *words) {
  lethe_gguf g;
  lethe_status s = lethe_gguf_parse(b->p, b->n, "bad.gguf", &g);
  if (s == LETHE_OK) {
    lethe_gguf_close(&g);
    print_error("parsed, expected an error about \"%s\"\n", words);
    fail();
  }
  const char *msg = lethe_last_error();
  if (s != want || !strstr(msg, words) || !strstr(msg, "bad.gguf")) {
    print_error("status %d, message \"%s\"; expected %d and \"%s\"\n", s, msg, want, words);
    fail();
  }
  print_message("  %s\n", msg);
}

static void expect_model_error(const spec *sp, lethe_status want, const char *words) {
  buf b = build(sp);
  lethe_gguf g;
  lethe_status s = lethe_gguf_parse(b.p, b.n, "bad.gguf", &g);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  lethe_model *m = NULL;
  s = lethe_gguf_model(&g, &m);
  lethe_model_free(m);
  const char *msg = lethe_last_error();
  if (s != want || !strstr(msg, words)) {
    print_error("status %d, message \"%s\"; expected %d and \"%s\"\n", s, msg, want, words);
    fail();
  }
  print_message("  %s\n", msg);
  lethe_gguf_close(&g);
  free(b.p);
}

static void expect_tokenizer_error(const spec *sp, lethe_status want, const char *words) {
  buf b = build(sp);
  lethe_gguf g;
  assert_int_equal(lethe_gguf_parse(b.p, b.n, "bad.gguf", &g), LETHE_OK);
  char *json = NULL;
  lethe_status s = lethe_gguf_tokenizer_json_from(&g, &json);
  free(json);
  const char *msg = lethe_last_error();
  if (s != want || !strstr(msg, words)) {
    print_error("status %d, message \"%s\"; expected %d and \"%s\"\n", s, msg, want, words);
    fail();
  }
  print_message("  %s\n", msg);
  lethe_gguf_close(&g);
  free(b.p);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_valid_tiny(void **state) {
  (void)state;
  spec sp = base();
  buf b = build(&sp);
  lethe_gguf g;
  lethe_status s = lethe_gguf_parse(b.p, b.n, "tiny.gguf", &g);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  assert_int_equal(g.version, 3);
  assert_int_equal(g.n_tensors, 11);
  lethe_model *m = NULL;
  s = lethe_gguf_model(&g, &m);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  assert_int_equal(lethe_model_config(m)->vocab_size, 8);
  assert_int_equal(lethe_model_config(m)->tie_embeddings, 1);
  lethe_model_free(m);
  char *json = NULL;
  s = lethe_gguf_tokenizer_json_from(&g, &json);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  free(json);
  lethe_gguf_close(&g);
  free(b.p);
}

static void test_magic_and_version(void **state) {
  (void)state;
  buf b = {0};
  put(&b, "GGUX", 4);
  u32(&b, 3);
  u64(&b, 0);
  u64(&b, 0);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "not a GGUF file");
  b.n = 0;
  header(&b, 1, 0, 0);
  expect_parse_error(&b, LETHE_ERR_UNSUPPORTED, "version 1");
  b.n = 0;
  header(&b, 7, 0, 0);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "unknown GGUF version 7");
  b.n = 0;
  header(&b, 0x03000000u, 0, 0);
  expect_parse_error(&b, LETHE_ERR_UNSUPPORTED, "big-endian");
  b.n = 0;
  header(&b, 2, 0, 0); /* version 2 with nothing in it is valid */
  lethe_gguf g;
  assert_int_equal(lethe_gguf_parse(b.p, b.n, "v2.gguf", &g), LETHE_OK);
  lethe_gguf_close(&g);
  free(b.p);
}

static void test_every_truncation(void **state) {
  (void)state;
  spec sp = base();
  buf b = build(&sp);
  size_t failed = 0;
  for (size_t n = 0; n < b.n; n++) {
    lethe_gguf g;
    lethe_status s = lethe_gguf_parse(b.p, n, "cut.gguf", &g);
    if (s == LETHE_OK) {
      lethe_gguf_close(&g);
      print_error("a prefix of %zu of %zu bytes parsed\n", n, b.n);
      fail();
    }
    failed += s == LETHE_ERR_FORMAT && strstr(lethe_last_error(), "cut.gguf") != NULL;
  }
  print_message("all %zu truncations of a %zu-byte file fail with a format error naming the file\n", failed, b.n);
  assert_int_equal(failed, b.n);
  free(b.p);
}

static void test_lying_counts_and_lengths(void **state) {
  (void)state;
  buf b = {0};
  header(&b, 3, (uint64_t)1 << 40, 0);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "tensor count");
  b.n = 0;
  header(&b, 3, 0, UINT64_MAX);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "metadata count");
  /* a key whose length runs past the end */
  b.n = 0;
  header(&b, 3, 0, 1);
  u64(&b, (uint64_t)1 << 62);
  put(&b, "general.name", 12);
  u32(&b, GGUF_UINT8);
  put(&b, "x", 1);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "claims");
  /* a string value whose length lies */
  b.n = 0;
  header(&b, 3, 0, 1);
  str(&b, "general.name");
  u32(&b, GGUF_STRING);
  u64(&b, 1000);
  put(&b, "short", 5);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "claims");
  /* an array whose length cannot fit */
  b.n = 0;
  header(&b, 3, 0, 1);
  str(&b, "tokenizer.ggml.scores");
  u32(&b, GGUF_ARRAY);
  u32(&b, GGUF_FLOAT32);
  u64(&b, (uint64_t)1 << 61);
  f32v(&b, 1.0f);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "cannot fit");
  /* an array of strings with a lying count */
  b.n = 0;
  header(&b, 3, 0, 1);
  str(&b, "tokenizer.ggml.tokens");
  u32(&b, GGUF_ARRAY);
  u32(&b, GGUF_STRING);
  u64(&b, 3);
  str(&b, "a");
  str(&b, "b");
  u64(&b, 100); /* the third claims 100 bytes, 3 follow */
  put(&b, "xyz", 3);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "array string");
  /* unknown value types, arrays nested too deep, an empty key, a NUL in a key */
  b.n = 0;
  header(&b, 3, 0, 1);
  str(&b, "k");
  u32(&b, 13);
  u32(&b, 0);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "unknown value type 13");
  b.n = 0;
  header(&b, 3, 0, 1);
  str(&b, "k");
  u32(&b, GGUF_ARRAY);
  for (int i = 0; i < 5; i++) {
    u32(&b, GGUF_ARRAY);
    u64(&b, 1);
  }
  u32(&b, GGUF_UINT8);
  u64(&b, 0);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "nested deeper");
  b.n = 0;
  header(&b, 3, 0, 1);
  str(&b, "");
  u32(&b, GGUF_UINT8);
  put(&b, "xpad", 4);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "empty key");
  b.n = 0;
  header(&b, 3, 0, 1);
  u64(&b, 3);
  put(&b, "a\0b", 3);
  u32(&b, GGUF_UINT8);
  put(&b, "x", 1);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "NUL");
  free(b.p);
}

/* A file of one tensor info (and an optional alignment) with the given fields. */
static buf one_tensor(uint32_t n_dims, const uint64_t *dims, uint32_t type, uint64_t offset, size_t data_bytes) {
  buf b = {0};
  header(&b, 3, 1, 0);
  str(&b, "t");
  u32(&b, n_dims);
  for (uint32_t i = 0; i < n_dims && i < 8; i++) u64(&b, dims[i]);
  u32(&b, type);
  u64(&b, offset);
  while (b.n % 32) put(&b, "", 1);
  for (size_t i = 0; i < data_bytes; i++) put(&b, "", 1);
  return b;
}

static void test_tensor_infos(void **state) {
  (void)state;
  uint64_t d[8] = {32, 2, 1, 1, 1, 1, 1, 1};
  buf b = one_tensor(2, d, GGML_F32, 0, 256);
  lethe_gguf g;
  assert_int_equal(lethe_gguf_parse(b.p, b.n, "ok.gguf", &g), LETHE_OK);
  lethe_gguf_close(&g);
  free(b.p);
  b = one_tensor(5, d, GGML_F32, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "5 dimensions");
  free(b.p);
  b = one_tensor(0, d, GGML_F32, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "0 dimensions");
  free(b.p);
  uint64_t zero[2] = {32, 0};
  b = one_tensor(2, zero, GGML_F32, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "dimension 1 is 0");
  free(b.p);
  uint64_t huge[4] = {(uint64_t)1 << 32, (uint64_t)1 << 32, 4, 1};
  b = one_tensor(3, huge, GGML_F32, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "overflows");
  free(b.p);
  uint64_t neg[2] = {UINT64_MAX, 1};
  b = one_tensor(2, neg, GGML_F32, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "dimension 0");
  free(b.p);
  b = one_tensor(2, d, 4, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "unknown tensor type id 4");
  free(b.p);
  b = one_tensor(2, d, 99, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "unknown tensor type id 99");
  free(b.p);
  uint64_t odd[2] = {33, 2};
  b = one_tensor(2, odd, GGML_Q8_0, 0, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "block size");
  free(b.p);
  b = one_tensor(2, d, GGML_F32, 0, 255); /* one byte short */
  expect_parse_error(&b, LETHE_ERR_FORMAT, "runs past the end");
  free(b.p);
  b = one_tensor(2, d, GGML_F32, (uint64_t)1 << 62, 256);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "runs past the end");
  free(b.p);
  b = one_tensor(2, d, GGML_F32, 8, 512);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "not a multiple of the alignment");
  free(b.p);
  /* two tensors: overlapping, and with the same name */
  for (int dup = 0; dup < 2; dup++) {
    b.p = NULL;
    b.n = b.cap = 0;
    header(&b, 3, 2, 0);
    for (int i = 0; i < 2; i++) {
      str(&b, dup ? "same" : i ? "b" : "a");
      u32(&b, 1);
      u64(&b, 32);
      u32(&b, GGML_F32);
      u64(&b, dup ? (uint64_t)i * 128 : (uint64_t)i * 64);
    }
    while (b.n % 32) put(&b, "", 1);
    for (int i = 0; i < 256; i++) put(&b, "", 1);
    expect_parse_error(&b, LETHE_ERR_FORMAT, dup ? "appears twice" : "overlap");
    free(b.p);
  }
}

static void test_metadata(void **state) {
  (void)state;
  buf b = {0};
  header(&b, 3, 0, 2);
  kv_u32(&b, "general.alignment", 32);
  kv_u32(&b, "general.alignment", 64);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "appears twice");
  b.n = 0;
  header(&b, 3, 0, 1);
  kv_u32(&b, "general.alignment", 48);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "not a power of two");
  b.n = 0;
  header(&b, 3, 0, 1);
  kv_u32(&b, "general.alignment", 0);
  expect_parse_error(&b, LETHE_ERR_FORMAT, "general.alignment");
  b.n = 0;
  header(&b, 3, 0, 1);
  kv_str(&b, "general.alignment", "32");
  expect_parse_error(&b, LETHE_ERR_FORMAT, "integer was expected");
  /* typed reads of a valid file */
  b.n = 0;
  header(&b, 3, 0, 3);
  kv_u32(&b, "a.int", 7);
  kv_f32(&b, "a.float", 0.25f);
  kv_str(&b, "a.str", "hello");
  lethe_gguf g;
  assert_int_equal(lethe_gguf_parse(b.p, b.n, "meta.gguf", &g), LETHE_OK);
  int64_t iv;
  double dv;
  char *sv = NULL;
  int pr;
  assert_int_equal(lethe_gguf_get_int(&g, "a.int", 1, 0, 10, &iv, NULL), LETHE_OK);
  assert_int_equal(iv, 7);
  assert_int_equal(lethe_gguf_get_int(&g, "a.int", 1, 0, 5, &iv, NULL), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), "out of range"));
  assert_int_equal(lethe_gguf_get_float(&g, "a.float", 1, &dv, NULL), LETHE_OK);
  assert_true(dv == 0.25);
  assert_int_equal(lethe_gguf_get_float(&g, "a.int", 1, &dv, NULL), LETHE_OK);
  assert_true(dv == 7.0);
  assert_int_equal(lethe_gguf_get_str(&g, "a.str", 1, &sv), LETHE_OK);
  assert_string_equal(sv, "hello");
  free(sv);
  assert_int_equal(lethe_gguf_get_str(&g, "a.int", 1, &sv), LETHE_ERR_FORMAT);
  assert_int_equal(lethe_gguf_get_int(&g, "a.missing", 0, 0, 1, &iv, &pr), LETHE_OK);
  assert_int_equal(pr, 0);
  assert_int_equal(lethe_gguf_get_int(&g, "a.missing", 1, 0, 1, &iv, &pr), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), "'a.missing' is missing"));
  lethe_gguf_close(&g);
  free(b.p);
}

static void test_model_level(void **state) {
  (void)state;
  spec sp = base();
  sp.arch = "gpt2";
  expect_model_error(&sp, LETHE_ERR_UNSUPPORTED, "architecture 'gpt2' is not supported");
  sp = base();
  sp.q_type = 13; /* Q5_K: known to ggml, not read by lethe */
  expect_model_error(&sp, LETHE_ERR_UNSUPPORTED, "'blk.0.attn_q.weight': unsupported tensor type Q5_K");
  sp = base();
  sp.drop = "blk.0.ffn_up.weight";
  expect_model_error(&sp, LETHE_ERR_FORMAT, "'blk.0.ffn_up.weight' is missing");
  sp = base();
  sp.q_rows = 4;
  expect_model_error(&sp, LETHE_ERR_FORMAT, "'blk.0.attn_q.weight' has dimensions [8, 4], the metadata implies [8, 8]");
  sp = base();
  sp.extra = "blk.0.mystery.weight";
  expect_model_error(&sp, LETHE_ERR_UNSUPPORTED, "'blk.0.mystery.weight' is not part of a llama model");
  sp = base();
  sp.extra = "rope_freqs.weight";
  expect_model_error(&sp, LETHE_ERR_FORMAT, "'rope_freqs.weight' has 4 entries, the head dimension 4 implies 2");
  sp = base();
  sp.no_block_count = 1;
  expect_model_error(&sp, LETHE_ERR_FORMAT, "'llama.block_count' is missing");
  sp = base();
  sp.block_count_as_str = 1;
  expect_model_error(&sp, LETHE_ERR_FORMAT, "'llama.block_count' is a string, an integer was expected");
  sp = base();
  sp.block_count = 4000; /* the header lies: the tensors of layer 1 are missing, nothing big is allocated */
  expect_model_error(&sp, LETHE_ERR_FORMAT, "'blk.1.attn_norm.weight' is missing");
}

static void test_unsupported_tensor_type(void **state) {
  (void)state;
  /* a model whose q_proj is Q5_K with the right shape: d 256 */
  buf b = {0};
  header(&b, 3, 1, 0);
  str(&b, "blk.0.attn_q.weight");
  u32(&b, 2);
  u64(&b, 256);
  u64(&b, 2);
  u32(&b, 13);
  u64(&b, 0);
  while (b.n % 32) put(&b, "", 1);
  for (int i = 0; i < 2 * 176; i++) put(&b, "", 1);
  lethe_gguf g;
  assert_int_equal(lethe_gguf_parse(b.p, b.n, "q5k.gguf", &g), LETHE_OK);
  float x[512];
  assert_int_equal(lethe_gguf_tensor_f32(&g, &g.tensors[0], x), LETHE_ERR_UNSUPPORTED);
  assert_non_null(strstr(lethe_last_error(), "'blk.0.attn_q.weight': unsupported tensor type Q5_K"));
  print_message("  %s\n", lethe_last_error());
  lethe_gguf_close(&g);
  free(b.p);
}

static void test_tokenizer_metadata(void **state) {
  (void)state;
  spec sp = base();
  sp.tok_model = "bert";
  expect_tokenizer_error(&sp, LETHE_ERR_UNSUPPORTED, "tokenizer model 'bert' is not supported");
  sp = base();
  sp.tok_pre = "deepseek-coder";
  expect_tokenizer_error(&sp, LETHE_ERR_UNSUPPORTED, "pre-tokenizer 'deepseek-coder' is not supported");
  sp = base();
  sp.tok_types_n = 5;
  expect_tokenizer_error(&sp, LETHE_ERR_FORMAT, "'tokenizer.ggml.token_type' has 5 entries");
  sp = base();
  sp.tok_model = NULL;
  expect_tokenizer_error(&sp, LETHE_ERR_FORMAT, "'tokenizer.ggml.model' is missing");
}

/* Through the file path: lethe_model_load dispatches on the magic; messages name the path. */
static void test_files(void **state) {
  (void)state;
  spec sp = base();
  sp.arch = "falcon";
  buf b = build(&sp);
  char *path = tu_tmp_path("falcon.gguf");
  assert_int_equal(lethe_write_file_atomic(path, b.p, b.n), LETHE_OK);
  lethe_model *m = NULL;
  assert_int_equal(lethe_model_load(path, &m), LETHE_ERR_UNSUPPORTED);
  assert_null(m);
  assert_non_null(strstr(lethe_last_error(), path));
  assert_non_null(strstr(lethe_last_error(), "architecture 'falcon'"));
  print_message("  %s\n", lethe_last_error());
  assert_int_equal(lethe_write_file_atomic(path, b.p, b.n / 2), LETHE_OK);
  assert_int_equal(lethe_model_load(path, &m), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), path));
  print_message("  %s\n", lethe_last_error());
  char *json = NULL;
  assert_int_equal(lethe_gguf_tokenizer_json(path, &json), LETHE_ERR_FORMAT);
  assert_null(json);
  remove(path);
  free(path);
  free(b.p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_tiny),
      cmocka_unit_test(test_magic_and_version),
      cmocka_unit_test(test_every_truncation),
      cmocka_unit_test(test_lying_counts_and_lengths),
      cmocka_unit_test(test_tensor_infos),
      cmocka_unit_test(test_metadata),
      cmocka_unit_test(test_model_level),
      cmocka_unit_test(test_unsupported_tensor_type),
      cmocka_unit_test(test_tokenizer_metadata),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
