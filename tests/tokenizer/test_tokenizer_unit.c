/* tests/tokenizer/test_tokenizer_unit.c: the tokenizer's small parts on their own: the GPT-2
 * byte-level alphabet, UTF-8 validation and Rust's lossy conversion (one U+FFFD per maximal
 * invalid subpart), the hash maps, and whitespace as Unicode defines it. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer/tok_internal.h"

static void test_bytelevel(void **st) {
  (void)st;
  /* GPT-2's bytes_to_unicode, written out independently */
  int next = 256;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    uint32_t want = printable ? (uint32_t)b : (uint32_t)next++;
    uint32_t got;
    size_t n = tok_utf8_decode(tok_bl_char[b], &got);
    assert_int_equal(n, tok_bl_char_len[b]);
    assert_int_equal(got, want);
    assert_int_equal(tok_bl_byte(want), b);
  }
  assert_int_equal(tok_bl_byte(0x144), -1);
  assert_int_equal(tok_bl_byte(' '), -1);
  assert_int_equal(tok_bl_byte(0xAD), -1);
}

static void lossy(const char *in, size_t n, const char *want) {
  lethe_sbuf b = {0};
  assert_int_equal(tok_utf8_lossy(in, n, &b), LETHE_OK);
  assert_int_equal(b.n, strlen(want));
  assert_memory_equal(b.p, want, b.n);
  lethe_sbuf_free(&b);
}

#define R "\xEF\xBF\xBD"

static void test_utf8(void **st) {
  (void)st;
  lossy("abc", 3, "abc");
  lossy("a\xC3", 2, "a" R);
  lossy("\xF0\x9F\x98", 3, R);           /* a truncated 4-byte sequence: one */
  lossy("\xE0\x80", 2, R R);             /* E0 needs A0..BF next: two */
  lossy("\xED\xA0\x80", 3, R R R);       /* a surrogate: three */
  lossy("\xF4\x90\x80\x80", 4, R R R R); /* above U+10FFFF */
  lossy("\xC0\xAF", 2, R R);             /* overlong */
  lossy("\xE2\x82\xAC\xE2\x82", 5, "\xE2\x82\xAC" R);
  lossy("\x80\x80x", 3, R R "x");
  assert_int_equal(tok_utf8_invalid_at("\xE2\x82\xAC", 3), 3);
  assert_int_equal(tok_utf8_invalid_at("aaaaaaaaaaaaaaaa\xFF", 17), 16);
  assert_int_equal(tok_utf8_invalid_at("\xF4\x8F\xBF\xBF", 4), 4); /* U+10FFFF */
  for (uint32_t cp = 0; cp < 0x110000; cp += 7) {
    if (cp >= 0xD800 && cp < 0xE000) continue;
    char buf[4];
    size_t n = tok_utf8_encode(cp, buf);
    assert_int_equal(tok_utf8_invalid_at(buf, n), n);
    uint32_t back;
    assert_int_equal(tok_utf8_decode(buf, &back), n);
    assert_int_equal(back, cp);
  }
}

static void test_maps(void **st) {
  (void)st;
  tok_strmap m;
  assert_int_equal(tok_strmap_init(&m, 4), LETHE_OK);
  char key[32];
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(tok_strmap_put(&m, key, (size_t)n, i, NULL), LETHE_OK);
  }
  int fresh = 1;
  assert_int_equal(tok_strmap_put(&m, "k7", 2, 70, &fresh), LETHE_OK);
  assert_int_equal(fresh, 0);
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(tok_strmap_get(&m, key, (size_t)n), i == 7 ? 70 : i);
  }
  assert_int_equal(tok_strmap_get(&m, "", 0), -1);
  assert_int_equal(tok_strmap_get(&m, "k", 1), -1);
  assert_int_equal(tok_strmap_put(&m, "", 0, 9, NULL), LETHE_OK);
  assert_int_equal(tok_strmap_get(&m, "", 0), 9);
  tok_strmap_free(&m);
  tok_pairmap p;
  assert_int_equal(tok_pairmap_init(&p, 1), LETHE_OK);
  for (int i = 0; i < 3000; i++) assert_int_equal(tok_pairmap_put(&p, i, i * 7, (uint32_t)i, -i), LETHE_OK);
  assert_int_equal(tok_pairmap_put(&p, 5, 35, 99, 1), LETHE_OK); /* a repeat keeps the later */
  for (int i = 0; i < 3000; i++) {
    const tok_pair_slot *s = tok_pairmap_get(&p, i, i * 7);
    assert_non_null(s);
    assert_int_equal(s->rank, i == 5 ? 99u : (uint32_t)i);
  }
  assert_null(tok_pairmap_get(&p, 1, 1));
  tok_pairmap_free(&p);
}

static void test_whitespace(void **st) {
  (void)st;
  const uint32_t ws[] = {
      9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
  for (size_t i = 0; i < sizeof ws / sizeof *ws; i++) assert_true(tok_is_whitespace(ws[i]));
  const uint32_t not [] = {0, 8, 14, 0x1C, 0x84, 0x180E, 0x200B, 0xFEFF, 'a'};
  for (size_t i = 0; i < sizeof not / sizeof *not ; i++) assert_false(tok_is_whitespace(not [i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bytelevel),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_maps),
      cmocka_unit_test(test_whitespace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
