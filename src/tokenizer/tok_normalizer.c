/* tokenizer/tok_normalizer.c: tokenizer.json normalizers: NFC, NFD, NFKC, NFKD (utf8proc),
 * Lowercase, Prepend, Replace, Strip, ByteLevel and Sequence (flattened into one list of steps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

static lethe_status add_step(tok_normalizer *nz, const tok_norm_step *st) {
  tok_norm_step *p = realloc(nz->steps, (size_t)(nz->n + 1) * sizeof *p);
  if (!p) return tok_nomem("normalizer");
  nz->steps = p;
  nz->steps[nz->n++] = *st;
  return LETHE_OK;
}

static lethe_status parse_one(const json_t *j, const char *name, const char *where, tok_normalizer *nz, int depth) {
  const char *type;
  char w[200];
  if (depth > 16) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: nested too deeply", name, where);
  LETHE_TRY(tok_json_type(j, name, where, &type));
  const lethe_json_at at = {name, 0, where};
  tok_norm_step st;
  memset(&st, 0, sizeof st);
  if (!strcmp(type, "Sequence")) {
    json_t *arr = json_object_get(j, "normalizers");
    if (!json_is_array(arr))
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: %s.normalizers: expected an array, found %s", name, where, lethe_json_type_name(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
      snprintf(w, sizeof w, "%s.normalizers[%zu]", where, i);
      LETHE_TRY(parse_one(json_array_get(arr, i), name, w, nz, depth + 1));
    }
    return LETHE_OK;
  }
  if (!strcmp(type, "NFC"))
    st.kind = TN_NFC;
  else if (!strcmp(type, "NFD"))
    st.kind = TN_NFD;
  else if (!strcmp(type, "NFKC"))
    st.kind = TN_NFKC;
  else if (!strcmp(type, "NFKD"))
    st.kind = TN_NFKD;
  else if (!strcmp(type, "Lowercase"))
    st.kind = TN_LOWERCASE;
  else if (!strcmp(type, "ByteLevel"))
    st.kind = TN_BYTELEVEL;
  else if (!strcmp(type, "Prepend")) {
    const char *s = NULL;
    size_t n = 0;
    st.kind = TN_PREPEND;
    LETHE_TRY(lethe_json_str_at(j, "prepend", 1, &at, &s, &n));
    if (!(st.str = tok_strndup(s, n))) return tok_nomem("normalizer");
    st.len = n;
  } else if (!strcmp(type, "Replace")) {
    const char *s = NULL;
    size_t n = 0;
    st.kind = TN_REPLACE;
    LETHE_TRY(lethe_json_str_at(j, "content", 1, &at, &s, &n));
    LETHE_TRY(tok_json_pattern(j, "pattern", name, where, &st.re));
    if (!(st.str = tok_strndup(s, n))) {
      tok_regex_free(st.re);
      return tok_nomem("normalizer");
    }
    st.len = n;
  } else if (!strcmp(type, "Strip")) {
    st.kind = TN_STRIP;
    st.left = st.right = 1;
    LETHE_TRY(lethe_json_bool_at(j, "strip_left", 0, &at, &st.left, NULL));
    LETHE_TRY(lethe_json_bool_at(j, "strip_right", 0, &at, &st.right, NULL));
  } else {
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: %s: normalizer type \"%s\" is not supported (supported: NFC, NFD, NFKC, "
        "NFKD, Lowercase, Prepend, Replace, Strip, ByteLevel, Sequence)",
        name, where, type);
  }
  lethe_status s = add_step(nz, &st);
  if (s != LETHE_OK) {
    free(st.str);
    tok_regex_free(st.re);
  }
  return s;
}

lethe_status tok_normalizer_parse(const json_t *j, const char *name, tok_normalizer *out) {
  memset(out, 0, sizeof *out);
  if (!j || json_is_null(j)) return LETHE_OK;
  lethe_status s = parse_one(j, name, "normalizer", out, 0);
  if (s != LETHE_OK) tok_normalizer_free(out);
  return s;
}

void tok_normalizer_free(tok_normalizer *nz) {
  for (int i = 0; i < nz->n; i++) {
    free(nz->steps[i].str);
    tok_regex_free(nz->steps[i].re);
  }
  free(nz->steps);
  nz->steps = NULL;
  nz->n = 0;
}

/* 1 when `s` certainly stays the same under the normalization form. */
static int unchanged(tok_norm_kind k, const char *s, size_t n) {
  /* Text below U+0300 is stable under NFC (no combining marks, nothing that composes); only ASCII
   * is stable under the other forms. */
  unsigned char lim = k == TN_NFC ? 0xCC : 0x80;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= lim) return 0;
  return 1;
}

static lethe_status unicode_form(tok_norm_kind k, const char *s, size_t n, lethe_sbuf *dst) {
  int opts = UTF8PROC_STABLE;
  if (k == TN_NFC || k == TN_NFKC)
    opts |= UTF8PROC_COMPOSE;
  else
    opts |= UTF8PROC_DECOMPOSE;
  if (k == TN_NFKC || k == TN_NFKD) opts |= UTF8PROC_COMPAT;
  utf8proc_uint8_t *r = NULL;
  utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &r, (utf8proc_option_t)opts);
  if (m < 0) {
    free(r);
    if (m == UTF8PROC_ERROR_NOMEM) return tok_nomem("normalizer");
    return lethe_fail(LETHE_ERR_INVALID, "tokenizer: normalizer: utf8proc: %s", utf8proc_errmsg(m));
  }
  lethe_status st = lethe_sbuf_put(dst, r, (size_t)m);
  free(r);
  return st;
}

static lethe_status lowercase(const char *s, size_t n, lethe_sbuf *dst) {
  LETHE_TRY(lethe_sbuf_reserve(dst, n + 8));
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      char l = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
      LETHE_TRY(lethe_sbuf_put(dst, &l, 1));
      i++;
      continue;
    }
    uint32_t cp;
    size_t k = tok_utf8_decode(s + i, &cp);
    i += k;
    char enc[8];
    size_t m;
    if (cp == 0x130) { /* the one unconditional multi-character lowercase mapping */
      m = tok_utf8_encode('i', enc);
      m += tok_utf8_encode(0x307, enc + m);
    } else {
      m = tok_utf8_encode((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), enc);
    }
    LETHE_TRY(lethe_sbuf_put(dst, enc, m));
  }
  return LETHE_OK;
}

static lethe_status replace(const tok_norm_step *st, tok_ctx *ctx, const char *s, size_t n, lethe_sbuf *dst) {
  ctx->mpos.n = 0;
  LETHE_TRY(tok_regex_find_all(st->re, ctx->md, s, n, &ctx->mpos));
  size_t prev = 0;
  for (size_t i = 0; i < ctx->mpos.n; i += 2) {
    size_t a = ctx->mpos.p[i], b = ctx->mpos.p[i + 1];
    LETHE_TRY(lethe_sbuf_put(dst, s + prev, a - prev));
    LETHE_TRY(lethe_sbuf_put(dst, st->str, st->len));
    prev = b;
  }
  return lethe_sbuf_put(dst, s + prev, n - prev);
}

lethe_status tok_normalize(
    const tok_normalizer *nz, tok_ctx *ctx, const char *s, size_t n, const char **out, size_t *outn) {
  const char *cur = s;
  size_t curn = n;
  int cur_buf = -1; /* which ctx->norm buffer holds cur (-1: the input) */
  for (int k = 0; k < nz->n; k++) {
    const tok_norm_step *st = &nz->steps[k];
    lethe_sbuf *dst = &ctx->norm[cur_buf == 0 ? 1 : 0];
    dst->n = 0;
    switch (st->kind) {
    case TN_NFC:
    case TN_NFD:
    case TN_NFKC:
    case TN_NFKD:
      if (unchanged(st->kind, cur, curn)) continue;
      LETHE_TRY(unicode_form(st->kind, cur, curn, dst));
      break;
    case TN_LOWERCASE: LETHE_TRY(lowercase(cur, curn, dst)); break;
    case TN_PREPEND:
      if (curn == 0) continue;
      LETHE_TRY(lethe_sbuf_put(dst, st->str, st->len));
      LETHE_TRY(lethe_sbuf_put(dst, cur, curn));
      break;
    case TN_REPLACE: LETHE_TRY(replace(st, ctx, cur, curn, dst)); break;
    case TN_STRIP: {
      size_t a = 0, b = curn;
      if (st->left)
        while (a < b) {
          uint32_t cp;
          size_t m = tok_utf8_decode(cur + a, &cp);
          if (!tok_is_whitespace(cp)) break;
          a += m;
        }
      if (st->right)
        while (b > a) {
          size_t p = b - 1;
          while (p > a && ((unsigned char)cur[p] & 0xC0) == 0x80) p--;
          uint32_t cp;
          tok_utf8_decode(cur + p, &cp);
          if (!tok_is_whitespace(cp)) break;
          b = p;
        }
      cur += a;
      curn = b - a;
      continue; /* a view into the same buffer */
    }
    case TN_BYTELEVEL:
      LETHE_TRY(lethe_sbuf_reserve(dst, curn * 2));
      for (size_t i = 0; i < curn; i++) {
        unsigned char c = (unsigned char)cur[i];
        LETHE_TRY(lethe_sbuf_put(dst, tok_bl_char[c], tok_bl_char_len[c]));
      }
      break;
    }
    cur = dst->p ? dst->p : "";
    curn = dst->n;
    cur_buf = (dst == &ctx->norm[0]) ? 0 : 1;
  }
  *out = cur;
  *outn = curn;
  return LETHE_OK;
}
