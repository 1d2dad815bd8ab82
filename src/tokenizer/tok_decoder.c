/* tokenizer/tok_decoder.c: decoders, turning token strings back into text: ByteLevel, Replace,
 * ByteFallback, Fuse, Strip, Metaspace and Sequence (flattened), each working on the list of
 * strings as tokenizers' decode_chain does; the list is joined at the end (with spaces when the
 * tokenizer has no decoder). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

static lethe_status add_step(tok_decoder *d, const tok_dec_step *st) {
  tok_dec_step *p = realloc(d->steps, (size_t)(d->n + 1) * sizeof *p);
  if (!p) return tok_nomem("decoder");
  d->steps = p;
  d->steps[d->n++] = *st;
  return LETHE_OK;
}

static lethe_status parse_one(const json_t *j, const char *name, const char *where, tok_decoder *d, int depth) {
  const char *type;
  char w[200];
  if (depth > 16) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: nested too deeply", name, where);
  LETHE_TRY(tok_json_type(j, name, where, &type));
  const lethe_json_at at = {name, 0, where};
  tok_dec_step st;
  memset(&st, 0, sizeof st);
  if (!strcmp(type, "Sequence")) {
    json_t *arr = json_object_get(j, "decoders");
    if (!json_is_array(arr))
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: %s.decoders: expected an array, found %s", name, where, lethe_json_type_name(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
      snprintf(w, sizeof w, "%s.decoders[%zu]", where, i);
      LETHE_TRY(parse_one(json_array_get(arr, i), name, w, d, depth + 1));
    }
    return LETHE_OK;
  }
  if (!strcmp(type, "ByteLevel")) {
    st.kind = TD_BYTELEVEL;
  } else if (!strcmp(type, "ByteFallback")) {
    st.kind = TD_BYTEFALLBACK;
  } else if (!strcmp(type, "Fuse")) {
    st.kind = TD_FUSE;
  } else if (!strcmp(type, "Replace")) {
    const char *c = NULL;
    size_t cl = 0;
    st.kind = TD_REPLACE;
    LETHE_TRY(lethe_json_str_at(j, "content", 1, &at, &c, &cl));
    LETHE_TRY(tok_json_pattern(j, "pattern", name, where, &st.re));
    if (!(st.content = tok_strndup(c, cl))) {
      tok_regex_free(st.re);
      return tok_nomem("decoder");
    }
    st.content_len = cl;
  } else if (!strcmp(type, "Strip")) {
    int64_t a = 0, b = 0;
    st.kind = TD_STRIP;
    LETHE_TRY(tok_json_get_char(j, "content", ' ', name, where, &st.ch));
    LETHE_TRY(lethe_json_int_at(j, "start", 0, 0, 1 << 20, &at, &a, NULL));
    LETHE_TRY(lethe_json_int_at(j, "stop", 0, 0, 1 << 20, &at, &b, NULL));
    st.start = (int)a;
    st.stop = (int)b;
  } else if (!strcmp(type, "Metaspace")) {
    st.kind = TD_METASPACE;
    LETHE_TRY(tok_json_get_char(j, "replacement", 0x2581, name, where, &st.ch));
    LETHE_TRY(tok_parse_prepend_scheme(j, name, where, &st.scheme));
  } else {
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: %s: decoder type \"%s\" is not supported (supported: ByteLevel, "
        "Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)",
        name, where, type);
  }
  lethe_status s = add_step(d, &st);
  if (s != LETHE_OK) {
    tok_regex_free(st.re);
    free(st.content);
  }
  return s;
}

lethe_status tok_decoder_parse(const json_t *j, const char *name, tok_decoder *out) {
  memset(out, 0, sizeof *out);
  if (!j || json_is_null(j)) return LETHE_OK;
  out->present = 1;
  lethe_status s = parse_one(j, name, "decoder", out, 0);
  if (s != LETHE_OK) tok_decoder_free(out);
  return s;
}

void tok_decoder_free(tok_decoder *d) {
  for (int i = 0; i < d->n; i++) {
    tok_regex_free(d->steps[i].re);
    free(d->steps[i].content);
  }
  free(d->steps);
  memset(d, 0, sizeof *d);
}

/* ---- decoding: a list of strings in an arena ---- */

typedef struct {
  lethe_sbuf text;
  tok_zvec off; /* pairs (offset, length) */
} slist;

static void slist_free(slist *l) {
  lethe_sbuf_free(&l->text);
  tok_zvec_free(&l->off);
}

static void slist_clear(slist *l) {
  l->text.n = 0;
  l->off.n = 0;
}

/* Starts a new string at the end of the arena. */
static lethe_status slist_open(slist *l) {
  LETHE_TRY(tok_zvec_push(&l->off, l->text.n));
  return tok_zvec_push(&l->off, 0);
}

static lethe_status slist_put(slist *l, const char *s, size_t n) {
  LETHE_TRY(lethe_sbuf_put(&l->text, s, n));
  l->off.p[l->off.n - 1] += n;
  return LETHE_OK;
}

/* The i-th string's first byte; "" while the arena is still unallocated (all strings empty), so
 * that no offset is ever applied to a null pointer. */
static const char *slist_str(const slist *l, size_t i) { return l->text.p ? l->text.p + l->off.p[2 * i] : ""; }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* "<0xAB>" -> 0xAB, else -1 (u8::from_str_radix on the two characters, a '+' sign included). */
static int byte_token(const char *s, size_t n) {
  if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
  if (s[3] == '+') return hexval(s[4]);
  int a = hexval(s[3]), b = hexval(s[4]);
  return (a < 0 || b < 0) ? -1 : a * 16 + b;
}

static lethe_status flush_bytes(slist *dst, lethe_sbuf *bytes) {
  if (!bytes->n) return LETHE_OK;
  static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
  if (tok_utf8_invalid_at(bytes->p, bytes->n) == bytes->n) {
    LETHE_TRY(slist_open(dst));
    LETHE_TRY(slist_put(dst, bytes->p, bytes->n));
  } else {
    for (size_t i = 0; i < bytes->n; i++) {
      LETHE_TRY(slist_open(dst));
      LETHE_TRY(slist_put(dst, fffd, 3));
    }
  }
  bytes->n = 0;
  return LETHE_OK;
}

static lethe_status run_step(
    const tok_dec_step *st, const slist *src, slist *dst, lethe_sbuf *tmp, pcre2_match_data *md, tok_zvec *mpos) {
  size_t n = src->off.n / 2;
  slist_clear(dst);
  switch (st->kind) {
  case TD_BYTELEVEL: {
    tmp->n = 0;
    for (size_t i = 0; i < n; i++) {
      const char *s = slist_str(src, i);
      size_t len = src->off.p[2 * i + 1], k = 0;
      size_t mark = tmp->n;
      int ok = 1;
      while (k < len) {
        uint32_t cp;
        k += tok_utf8_decode(s + k, &cp);
        int b = tok_bl_byte(cp);
        if (b < 0) {
          ok = 0;
          break;
        }
        char c = (char)b;
        LETHE_TRY(lethe_sbuf_put(tmp, &c, 1));
      }
      if (!ok) { /* a character outside the alphabet: the token's own bytes */
        tmp->n = mark;
        LETHE_TRY(lethe_sbuf_put(tmp, s, len));
      }
    }
    LETHE_TRY(slist_open(dst));
    size_t before = dst->text.n;
    LETHE_TRY(tok_utf8_lossy(tmp->p ? tmp->p : "", tmp->n, &dst->text));
    dst->off.p[1] = dst->text.n - before;
    return LETHE_OK;
  }
  case TD_FUSE:
    LETHE_TRY(slist_open(dst));
    for (size_t i = 0; i < n; i++) LETHE_TRY(slist_put(dst, slist_str(src, i), src->off.p[2 * i + 1]));
    return LETHE_OK;
  case TD_BYTEFALLBACK:
    tmp->n = 0;
    for (size_t i = 0; i < n; i++) {
      const char *s = slist_str(src, i);
      size_t len = src->off.p[2 * i + 1];
      int b = byte_token(s, len);
      if (b >= 0) {
        char c = (char)b;
        LETHE_TRY(lethe_sbuf_put(tmp, &c, 1));
        continue;
      }
      LETHE_TRY(flush_bytes(dst, tmp));
      LETHE_TRY(slist_open(dst));
      LETHE_TRY(slist_put(dst, s, len));
    }
    return flush_bytes(dst, tmp);
  case TD_REPLACE:
    for (size_t i = 0; i < n; i++) {
      const char *s = slist_str(src, i);
      size_t len = src->off.p[2 * i + 1], prev = 0;
      mpos->n = 0;
      LETHE_TRY(tok_regex_find_all(st->re, md, s, len, mpos));
      LETHE_TRY(slist_open(dst));
      for (size_t k = 0; k < mpos->n; k += 2) {
        LETHE_TRY(slist_put(dst, s + prev, mpos->p[k] - prev));
        LETHE_TRY(slist_put(dst, st->content, st->content_len));
        prev = mpos->p[k + 1];
      }
      LETHE_TRY(slist_put(dst, s + prev, len - prev));
    }
    return LETHE_OK;
  case TD_STRIP: {
    char chs[4];
    size_t cl = tok_utf8_encode(st->ch, chs);
    for (size_t i = 0; i < n; i++) {
      const char *s = slist_str(src, i);
      size_t len = src->off.p[2 * i + 1], a = 0, b = len;
      for (int k = 0; k < st->start && a + cl <= b && !memcmp(s + a, chs, cl); k++) a += cl;
      for (int k = 0; k < st->stop && b >= a + cl && !memcmp(s + b - cl, chs, cl); k++) b -= cl;
      LETHE_TRY(slist_open(dst));
      LETHE_TRY(slist_put(dst, s + a, b - a));
    }
    return LETHE_OK;
  }
  case TD_METASPACE: {
    char chs[4];
    size_t cl = tok_utf8_encode(st->ch, chs);
    for (size_t i = 0; i < n; i++) {
      const char *s = slist_str(src, i);
      size_t len = src->off.p[2 * i + 1], run = 0;
      int drop = i == 0 && st->scheme != TPS_NEVER;
      LETHE_TRY(slist_open(dst));
      for (size_t k = 0; k + cl <= len;) {
        if (memcmp(s + k, chs, cl)) {
          k += tok_utf8_len((unsigned char)s[k]);
          continue;
        }
        LETHE_TRY(slist_put(dst, s + run, k - run));
        if (!drop) LETHE_TRY(slist_put(dst, " ", 1));
        k += cl;
        run = k;
      }
      LETHE_TRY(slist_put(dst, s + run, len - run));
    }
    return LETHE_OK;
  }
  }
  return LETHE_OK;
}

lethe_status tok_decode_tokens(
    const tok_decoder *d, const char *const *toks, const size_t *lens, size_t n, lethe_sbuf *out) {
  if (!d->present) {
    for (size_t i = 0; i < n; i++) {
      if (i) LETHE_TRY(lethe_sbuf_put(out, " ", 1));
      LETHE_TRY(lethe_sbuf_put(out, toks[i], lens[i]));
    }
    return LETHE_OK;
  }
  slist a = {0}, b = {0};
  lethe_sbuf tmp = {0};
  tok_zvec mpos = {0};
  pcre2_match_data *md = NULL;
  lethe_status st = LETHE_OK;
  for (size_t i = 0; i < n && st == LETHE_OK; i++) {
    st = slist_open(&a);
    if (st == LETHE_OK) st = slist_put(&a, toks[i], lens[i]);
  }
  for (int k = 0; k < d->n && st == LETHE_OK; k++) {
    if (d->steps[k].re && !md && !(md = pcre2_match_data_create(1, NULL))) st = tok_nomem("decode");
    if (st == LETHE_OK) st = run_step(&d->steps[k], &a, &b, &tmp, md, &mpos);
    slist t = a;
    a = b;
    b = t;
  }
  for (size_t i = 0; i + 1 < a.off.n && st == LETHE_OK; i += 2)
    st = lethe_sbuf_put(out, slist_str(&a, i / 2), a.off.p[i + 1]);
  slist_free(&a);
  slist_free(&b);
  lethe_sbuf_free(&tmp);
  tok_zvec_free(&mpos);
  pcre2_match_data_free(md);
  return st;
}
