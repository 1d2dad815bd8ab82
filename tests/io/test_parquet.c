/* tests/io/test_parquet.c: the Parquet reader against pyarrow's files (tests/fixtures/parquet/,
 * tools/reference/make_parquet_fixtures.py): every codec x encoding x data page version reads as
 * the same rows as the JSONL; the reader is chosen by the magic, not the name; every bad input
 * (truncation at every length, lying lengths, unknown codec / encoding, bad Thrift, nested
 * columns) is one error naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "data/parquet.h"
#include "lethe/util.h"
#include "testutil.h"

static char *fix(const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fixtures/parquet/%s", name);
  return tu_src_path(rel);
}

static void assert_same_rows(const lethe_rowset *a, const lethe_rowset *b, const char *what) {
  if (a->n != b->n) fail_msg("%s: %d rows, want %d", what, a->n, b->n);
  for (int i = 0; i < a->n; i++) {
    const lethe_row *x = &a->rows[i], *y = &b->rows[i];
    if (strcmp(x->id, y->id) || strcmp(x->task, y->task) || x->input_len != y->input_len ||
        x->output_len != y->output_len || memcmp(x->input, y->input, x->input_len) ||
        memcmp(x->output, y->output, x->output_len))
      fail_msg("%s: row %d differs (id %s vs %s)", what, i, x->id, y->id);
  }
}

static int codec_built(const char *name) {
  if (strstr(name, "snappy")) {
#ifndef LETHE_WITH_SNAPPY
    return 0;
#endif
  }
  if (strstr(name, "gzip")) {
#ifndef LETHE_WITH_ZLIB
    return 0;
#endif
  }
  if (strstr(name, "zstd")) {
#ifndef LETHE_WITH_ZSTD
    return 0;
#endif
  }
  return 1;
}

static void test_rows_every_variant(void **state) {
  (void)state;
  static const char *variants[] = {"none_v1_dict", "none_v1_plain", "snappy_v1_dict", "gzip_v1_plain", "zstd_v1_dict",
      "none_v2_plain", "snappy_v2_dict", "gzip_v2_dict", "zstd_v2_plain"};
  char *jp = fix("rows.jsonl");
  lethe_rowset want;
  assert_int_equal(lethe_rows_load(jp, &want), LETHE_OK);
  assert_int_equal(want.n, 30);
  int skipped = 0;
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    char name[64];
    snprintf(name, sizeof name, "rows_%s.parquet", variants[v]);
    if (!codec_built(name)) {
      print_message("SKIP %s: codec not built in\n", name);
      skipped++;
      continue;
    }
    char *p = fix(name);
    lethe_rowset got;
    if (lethe_rows_load(p, &got) != LETHE_OK) fail_msg("%s: %s", name, lethe_last_error());
    assert_same_rows(&got, &want, name);
    lethe_rowset_free(&got);
    free(p);
  }
  lethe_rowset_free(&want);
  free(jp);
  if (skipped == (int)(sizeof variants / sizeof *variants)) skip();
}

static void test_docs_and_int_ids(void **state) {
  (void)state;
  char *jp = fix("docs.jsonl"), *p1 = fix("docs_snappy_v1_dict.parquet"), *p2 = fix("docs_zstd_v2_plain.parquet");
  lethe_rowset want, got;
  assert_int_equal(lethe_docs_load(jp, &want), LETHE_OK);
  const char *ps[2] = {p1, p2};
  for (int k = 0; k < 2; k++) {
    if (!codec_built(ps[k])) continue;
    if (lethe_docs_load(ps[k], &got) != LETHE_OK) fail_msg("%s: %s", ps[k], lethe_last_error());
    /* JSONL ids are numbers here too: both become their decimal text. */
    assert_same_rows(&got, &want, ps[k]);
    lethe_rowset_free(&got);
  }
  lethe_rowset_free(&want);
  /* int32 ids and an undecoded double column. */
  char *pi = fix("rows_int_id.parquet");
  assert_int_equal(lethe_rows_load(pi, &got), LETHE_OK);
  assert_int_equal(got.n, 30);
  assert_string_equal(got.rows[29].id, "29");
  assert_string_equal(got.rows[0].task, "");
  lethe_rowset_free(&got);
  free(pi);
  free(jp);
  free(p1);
  free(p2);
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* The reader is chosen by the magic: Parquet bytes under a .jsonl name, JSONL under .parquet. */
static void test_magic_not_name(void **state) {
  (void)state;
  char *src = fix("rows_none_v1_plain.parquet"), *jp = fix("rows.jsonl");
  char *buf, *jbuf;
  size_t n, jn;
  assert_int_equal(lethe_read_file(src, 1 << 24, &buf, &n), LETHE_OK);
  assert_int_equal(lethe_read_file(jp, 1 << 24, &jbuf, &jn), LETHE_OK);
  char *t1 = tu_tmp_path("pq_named.jsonl"), *t2 = tu_tmp_path("jsonl_named.parquet");
  write_bytes(t1, buf, n);
  write_bytes(t2, jbuf, jn);
  lethe_rowset a, b;
  assert_int_equal(lethe_rows_load(t1, &a), LETHE_OK);
  assert_int_equal(lethe_rows_load(t2, &b), LETHE_OK);
  assert_same_rows(&a, &b, "magic");
  lethe_rowset_free(&a);
  lethe_rowset_free(&b);
  remove(t1);
  remove(t2);
  free(t1);
  free(t2);
  free(buf);
  free(jbuf);
  free(src);
  free(jp);
}

static void expect_error(const char *path, const char *needle) {
  lethe_rowset r;
  lethe_status s = lethe_rows_load(path, &r);
  if (s == LETHE_OK) fail_msg("%s: accepted, want an error with \"%s\"", path, needle ? needle : "?");
  const char *msg = lethe_last_error();
  if (!strstr(msg, path)) fail_msg("error does not name the file: %s", msg);
  if (needle && !strstr(msg, needle)) fail_msg("error \"%s\" lacks \"%s\"", msg, needle);
  assert_null(r.rows);
}

static void test_refused_inputs(void **state) {
  (void)state;
  struct {
    const char *file, *needle;
  } cases[] = {{"bad_lz4.parquet", "codec LZ4_RAW is not supported"},
      {"bad_brotli.parquet", "codec BROTLI is not supported"},
      {"bad_delta.parquet", "encoding DELTA_BYTE_ARRAY (7) is not supported"}, {"bad_nested.parquet", "nested"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *p = fix(cases[i].file);
    expect_error(p, cases[i].needle);
    free(p);
  }
}

/* Every prefix of a file is refused with a message naming it (the file ends early). */
static void test_truncated_every_length(void **state) {
  (void)state;
  const char *names[] = {"rows_none_v1_dict.parquet", "rows_snappy_v2_dict.parquet"};
  char *t = tu_tmp_path("pq_trunc.parquet");
  for (int k = 0; k < 2; k++) {
    if (!codec_built(names[k])) continue;
    char *src = fix(names[k]);
    char *buf;
    size_t n;
    assert_int_equal(lethe_read_file(src, 1 << 24, &buf, &n), LETHE_OK);
    for (size_t len = 4; len < n; len += (len < 64 || n - len < 64) ? 1 : 7) {
      write_bytes(t, buf, len);
      expect_error(t, NULL);
    }
    free(buf);
    free(src);
  }
  remove(t);
  free(t);
}

/* Lying lengths and broken metadata, each with its message. */
static void test_lying_lengths(void **state) {
  (void)state;
  char *src = fix("rows_none_v1_plain.parquet");
  char *buf;
  size_t n;
  assert_int_equal(lethe_read_file(src, 1 << 24, &buf, &n), LETHE_OK);
  char *t = tu_tmp_path("pq_lie.parquet");
  char *b = malloc(n);
  /* The footer length says more than the file holds. */
  memcpy(b, buf, n);
  b[n - 5] = 0x7f;
  write_bytes(t, b, n);
  expect_error(t, "footer length");
  /* The footer's Thrift is garbage. */
  memcpy(b, buf, n);
  uint32_t footer =
      (uint8_t)b[n - 8] | (uint8_t)b[n - 7] << 8 | (uint8_t)b[n - 6] << 16 | (uint32_t)(uint8_t)b[n - 5] << 24;
  memset(b + n - 8 - footer, 0xff, footer);
  write_bytes(t, b, n);
  expect_error(t, "bad Thrift metadata");
  /* The first page's compressed_page_size (field 3, after type and uncompressed size) lies. The
   * header starts at byte 4: 0x15 <type> 0x15 <varint> 0x15 <varint>. */
  memcpy(b, buf, n);
  size_t pos = 4;
  assert_int_equal((uint8_t)b[pos], 0x15);
  pos += 2;
  assert_int_equal((uint8_t)b[pos], 0x15);
  pos++;
  while ((uint8_t)b[pos] & 0x80) pos++;
  pos++;
  assert_int_equal((uint8_t)b[pos], 0x15);
  pos++;
  size_t start = pos;
  while ((uint8_t)b[pos] & 0x80) pos++;
  for (size_t i = start; i < pos; i++) b[i] = (char)0xfe;
  b[pos] = 0x3f; /* a large positive zigzag value */
  write_bytes(t, b, n);
  expect_error(t, "page 0 at byte 4: "); /* more than the page holds, or than the file has */
  /* A string value's length lies: the first id of the first data page. */
  memcpy(b, buf, n);
  char *hit = memmem(b, n, "\x13\0\0\0\"0000-abcd", 14); /* PLAIN: 4-byte length 19, then the id */
  assert_non_null(hit);
  hit[1] = (char)0xff;
  hit[2] = (char)0xff;
  write_bytes(t, b, n);
  expect_error(t, "bytes, the page has");
  /* Not Parquet at the end. */
  memcpy(b, buf, n);
  b[n - 1] = 'X';
  write_bytes(t, b, n);
  expect_error(t, "no PAR1 magic at the end");
  remove(t);
  free(t);
  free(b);
  free(buf);
  free(src);
}

/* Random byte flips: refused or read, never a crash (ASan builds catch overreads). */
static void test_mutations_do_not_crash(void **state) {
  (void)state;
  char *src = fix("rows_none_v1_dict.parquet");
  char *buf;
  size_t n;
  assert_int_equal(lethe_read_file(src, 1 << 24, &buf, &n), LETHE_OK);
  uint8_t *b = malloc(n);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  int refused = 0;
  for (int it = 0; it < 3000; it++) {
    memcpy(b, buf, n);
    for (int k = 0; k < 1 + it % 4; k++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b[x % n] = (uint8_t)(x >> 32);
    }
    lethe_pq_table t;
    if (lethe_pq_parse(b, n, "mut", &t) == LETHE_OK)
      lethe_pq_free(&t);
    else
      refused++;
  }
  assert_true(refused > 0);
  free(b);
  free(buf);
  free(src);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_every_variant),
      cmocka_unit_test(test_docs_and_int_ids),
      cmocka_unit_test(test_magic_not_name),
      cmocka_unit_test(test_refused_inputs),
      cmocka_unit_test(test_truncated_every_length),
      cmocka_unit_test(test_lying_lengths),
      cmocka_unit_test(test_mutations_do_not_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
