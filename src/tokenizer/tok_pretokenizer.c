/* tokenizer/tok_pretokenizer.c: tokenizer.json pre-tokenizers: ByteLevel (with and without its
 * GPT-2 regex, add_prefix_space), Split (String or Regex pattern, the five delimiter behaviours,
 * invert), Digits, Metaspace, WhitespaceSplit, CharDelimiterSplit and Sequence (flattened). They
 * run depth-first: each piece a step makes goes through the later steps and into the model before
 * the next piece is made, which gives the same ids as tokenizers' split-everything-first order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

/* GPT-2's pre-tokenization pattern, as tokenizers' ByteLevel uses it. */
static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static lethe_status add_step(tok_pretokenizer *pt, const tok_pre_step *st) {
  tok_pre_step *p = realloc(pt->steps, (size_t)(pt->n + 1) * sizeof *p);
  if (!p) return tok_nomem("pre-tokenizer");
  pt->steps = p;
  pt->steps[pt->n++] = *st;
  return LETHE_OK;
}

static lethe_status parse_behavior(const json_t *j, const char *name, const char *where, tok_behavior *b) {
  const char *s = NULL;
  LETHE_TRY(lethe_json_str_at(j, "behavior", 1, &(lethe_json_at){name, 0, where}, &s, NULL));
  if (!strcmp(s, "Removed"))
    *b = TB_REMOVED;
  else if (!strcmp(s, "Isolated"))
    *b = TB_ISOLATED;
  else if (!strcmp(s, "MergedWithPrevious"))
    *b = TB_MERGED_PREV;
  else if (!strcmp(s, "MergedWithNext"))
    *b = TB_MERGED_NEXT;
  else if (!strcmp(s, "Contiguous"))
    *b = TB_CONTIGUOUS;
  else
    return lethe_fail(LETHE_ERR_FORMAT,
        "%s: %s.behavior: unknown behavior \"%s\" (Removed, Isolated, "
        "MergedWithPrevious, MergedWithNext, Contiguous)",
        name, where, s);
  return LETHE_OK;
}

lethe_status tok_parse_prepend_scheme(const json_t *j, const char *name, const char *where, tok_prepend_scheme *out) {
  const lethe_json_at at = {name, 0, where};
  const char *s = NULL;
  *out = TPS_ALWAYS;
  LETHE_TRY(lethe_json_str_at(j, "prepend_scheme", 0, &at, &s, NULL));
  if (s) {
    if (!strcmp(s, "always"))
      *out = TPS_ALWAYS;
    else if (!strcmp(s, "first"))
      *out = TPS_FIRST;
    else if (!strcmp(s, "never"))
      *out = TPS_NEVER;
    else
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: %s.prepend_scheme: unknown value \"%s\" (always, first, never)", name, where, s);
    return LETHE_OK;
  }
  /* older files: add_prefix_space */
  int aps = 1;
  LETHE_TRY(lethe_json_bool_at(j, "add_prefix_space", 0, &at, &aps, NULL));
  *out = aps ? TPS_ALWAYS : TPS_NEVER;
  return LETHE_OK;
}

static lethe_status parse_one(const json_t *j, const char *name, const char *where, tok_pretokenizer *pt, int depth) {
  const char *type;
  char w[200];
  if (depth > 16) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: nested too deeply", name, where);
  LETHE_TRY(tok_json_type(j, name, where, &type));
  const lethe_json_at at = {name, 0, where};
  tok_pre_step st;
  memset(&st, 0, sizeof st);
  if (!strcmp(type, "Sequence")) {
    json_t *arr = json_object_get(j, "pretokenizers");
    if (!json_is_array(arr))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.pretokenizers: expected an array, found %s", name, where,
          lethe_json_type_name(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
      snprintf(w, sizeof w, "%s.pretokenizers[%zu]", where, i);
      LETHE_TRY(parse_one(json_array_get(arr, i), name, w, pt, depth + 1));
    }
    return LETHE_OK;
  }
  if (!strcmp(type, "ByteLevel")) {
    st.kind = TP_BYTELEVEL;
    st.add_prefix_space = st.use_regex = 1;
    LETHE_TRY(lethe_json_bool_at(j, "add_prefix_space", 0, &at, &st.add_prefix_space, NULL));
    LETHE_TRY(lethe_json_bool_at(j, "use_regex", 0, &at, &st.use_regex, NULL));
    if (st.use_regex) {
      snprintf(w, sizeof w, "%s: %s (GPT-2 pattern)", name, where);
      LETHE_TRY(tok_regex_compile(GPT2_PATTERN, sizeof GPT2_PATTERN - 1, 0, w, &st.re));
    }
  } else if (!strcmp(type, "Split")) {
    st.kind = TP_SPLIT;
    LETHE_TRY(parse_behavior(j, name, where, &st.behavior));
    LETHE_TRY(lethe_json_bool_at(j, "invert", 0, &at, &st.invert, NULL));
    LETHE_TRY(tok_json_pattern(j, "pattern", name, where, &st.re));
  } else if (!strcmp(type, "Digits")) {
    st.kind = TP_DIGITS;
    LETHE_TRY(lethe_json_bool_at(j, "individual_digits", 0, &at, &st.individual_digits, NULL));
  } else if (!strcmp(type, "Metaspace")) {
    st.kind = TP_METASPACE;
    LETHE_TRY(tok_json_get_char(j, "replacement", 0x2581, name, where, &st.ch));
    LETHE_TRY(tok_parse_prepend_scheme(j, name, where, &st.scheme));
    st.split = 1;
    LETHE_TRY(lethe_json_bool_at(j, "split", 0, &at, &st.split, NULL));
  } else if (!strcmp(type, "WhitespaceSplit")) {
    st.kind = TP_WHITESPACE_SPLIT;
  } else if (!strcmp(type, "CharDelimiterSplit")) {
    st.kind = TP_CHAR_SPLIT;
    LETHE_TRY(tok_json_get_char(j, "delimiter", 0xFFFFFFFFu, name, where, &st.ch));
    if (st.ch == 0xFFFFFFFFu) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: missing \"delimiter\"", name, where);
  } else {
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: %s: pre-tokenizer type \"%s\" is not supported (supported: ByteLevel, "
        "Split, Digits, Metaspace, WhitespaceSplit, CharDelimiterSplit, Sequence)",
        name, where, type);
  }
  st.chlen = (int)tok_utf8_encode(st.ch, st.chs);
  lethe_status s = add_step(pt, &st);
  if (s != LETHE_OK) tok_regex_free(st.re);
  return s;
}

lethe_status tok_pretokenizer_parse(const json_t *j, const char *name, tok_pretokenizer *out) {
  memset(out, 0, sizeof *out);
  if (!j || json_is_null(j)) return LETHE_OK;
  lethe_status s = parse_one(j, name, "pre_tokenizer", out, 0);
  if (s != LETHE_OK) tok_pretokenizer_free(out);
  return s;
}

void tok_pretokenizer_free(tok_pretokenizer *pt) {
  for (int i = 0; i < pt->n; i++) tok_regex_free(pt->steps[i].re);
  free(pt->steps);
  pt->steps = NULL;
  pt->n = 0;
}

/* ---- applying ---- */

static int is_numeric(uint32_t cp) {
  utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

/* Turns matches (pairs in m) into the (start, end, is_match) list covering s[0..n), as
 * tokenizers' Pattern::find_matches does. */
static lethe_status cover(const tok_zvec *m, size_t n, int invert, tok_zvec *out) {
  out->n = 0;
  if (n == 0) {
    LETHE_TRY(tok_zvec_push(out, 0));
    LETHE_TRY(tok_zvec_push(out, 0));
    return tok_zvec_push(out, (size_t)(invert ? 1 : 0));
  }
  size_t prev = 0;
  for (size_t i = 0; i < m->n; i += 2) {
    size_t a = m->p[i], b = m->p[i + 1];
    if (prev != a) {
      LETHE_TRY(tok_zvec_push(out, prev));
      LETHE_TRY(tok_zvec_push(out, a));
      LETHE_TRY(tok_zvec_push(out, (size_t)(invert ? 1 : 0)));
    }
    LETHE_TRY(tok_zvec_push(out, a));
    LETHE_TRY(tok_zvec_push(out, b));
    LETHE_TRY(tok_zvec_push(out, (size_t)(invert ? 0 : 1)));
    prev = b;
  }
  if (prev != n) {
    LETHE_TRY(tok_zvec_push(out, prev));
    LETHE_TRY(tok_zvec_push(out, n));
    LETHE_TRY(tok_zvec_push(out, (size_t)(invert ? 1 : 0)));
  }
  return LETHE_OK;
}

/* Character-predicate matches: each matching character is its own match. */
static lethe_status char_matches(const char *s, size_t n, tok_pre_kind kind, uint32_t ch, tok_zvec *m) {
  m->n = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t k = tok_utf8_decode(s + i, &cp);
    int hit = kind == TP_DIGITS ? is_numeric(cp) : kind == TP_WHITESPACE_SPLIT ? tok_is_whitespace(cp) : cp == ch;
    if (hit) {
      LETHE_TRY(tok_zvec_push(m, i));
      LETHE_TRY(tok_zvec_push(m, i + k));
    }
    i += k;
  }
  return LETHE_OK;
}

/* Applies a delimiter behaviour in place to a cover list (triples); the third field becomes
 * "remove". */
static void behave(tok_zvec *c, tok_behavior b) {
  size_t n = c->n / 3, o = 0;
  size_t *p = c->p;
  int prev = 0;
  switch (b) {
  case TB_ISOLATED:
    for (size_t i = 0; i < n; i++) p[3 * i + 2] = 0;
    return;
  case TB_REMOVED: return;
  case TB_CONTIGUOUS:
  case TB_MERGED_PREV:
    for (size_t i = 0; i < n; i++) {
      int m = (int)p[3 * i + 2];
      int merge = b == TB_CONTIGUOUS ? (m == prev) : (m && !prev);
      if (merge && o > 0) {
        p[3 * (o - 1) + 1] = p[3 * i + 1];
      } else {
        p[3 * o] = p[3 * i];
        p[3 * o + 1] = p[3 * i + 1];
        p[3 * o + 2] = 0;
        o++;
      }
      prev = m;
    }
    c->n = 3 * o;
    return;
  case TB_MERGED_NEXT: {
    /* right to left, filling from the end, then shifted down */
    size_t w = n;
    for (size_t k = n; k-- > 0;) {
      size_t a = p[3 * k], e = p[3 * k + 1];
      int m = (int)p[3 * k + 2];
      if (m && !prev && w < n) {
        p[3 * w] = a;
      } else {
        w--;
        p[3 * w] = a;
        p[3 * w + 1] = e;
        p[3 * w + 2] = 0;
      }
      prev = m;
    }
    memmove(p, p + 3 * w, (n - w) * 3 * sizeof *p);
    c->n = 3 * (n - w);
    return;
  }
  }
}

static lethe_status bytelevel_map(const char *s, size_t n, lethe_sbuf *dst) {
  dst->n = 0;
  LETHE_TRY(lethe_sbuf_reserve(dst, 2 * n));
  char *o = dst->p;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    o[0] = tok_bl_char[c][0];
    if (tok_bl_char_len[c] == 2) {
      o[1] = tok_bl_char[c][1];
      o += 2;
    } else {
      o += 1;
    }
  }
  dst->n = (size_t)(o - dst->p);
  dst->p[dst->n] = 0;
  return LETHE_OK;
}

/* Runs the pieces of a cover list (with removals) through the next steps. */
static lethe_status run_pieces(
    const lethe_tokenizer *t, tok_ctx *ctx, int k, const char *s, const tok_zvec *c, int at_origin) {
  for (size_t i = 0; i + 2 < c->n; i += 3) {
    if (c->p[i + 2]) continue;
    size_t a = c->p[i], b = c->p[i + 1];
    if (a == b) continue;
    LETHE_TRY(tok_pretokenize(t, ctx, k + 1, s + a, b - a, at_origin && a == 0));
  }
  return LETHE_OK;
}

lethe_status tok_pretokenize(const lethe_tokenizer *t, tok_ctx *ctx, int k, const char *s, size_t n, int at_origin) {
  if (n == 0) return LETHE_OK; /* empty pieces are dropped */
  if (k == t->pre.n) return tok_bpe_tokenize(&t->bpe, ctx, s, n);
  const tok_pre_step *st = &t->pre.steps[k];
  lethe_sbuf *A = &ctx->stage_buf[2 * (size_t)k], *B = &ctx->stage_buf[2 * (size_t)k + 1];
  tok_zvec *M = &ctx->stage_pos[2 * (size_t)k], *C = &ctx->stage_pos[2 * (size_t)k + 1];
  switch (st->kind) {
  case TP_BYTELEVEL: {
    if (st->add_prefix_space && s[0] != ' ') {
      A->n = 0;
      LETHE_TRY(lethe_sbuf_put(A, " ", 1));
      LETHE_TRY(lethe_sbuf_put(A, s, n));
      s = A->p;
      n = A->n;
    }
    if (!st->use_regex) {
      LETHE_TRY(bytelevel_map(s, n, B));
      return tok_pretokenize(t, ctx, k + 1, B->p, B->n, at_origin);
    }
    M->n = 0;
    LETHE_TRY(tok_regex_find_all(st->re, ctx->md, s, n, M));
    LETHE_TRY(cover(M, n, 0, C));
    for (size_t i = 0; i + 2 < C->n; i += 3) {
      size_t a = C->p[i], b = C->p[i + 1];
      if (a == b) continue;
      LETHE_TRY(bytelevel_map(s + a, b - a, B));
      LETHE_TRY(tok_pretokenize(t, ctx, k + 1, B->p, B->n, at_origin && a == 0));
    }
    return LETHE_OK;
  }
  case TP_SPLIT:
    M->n = 0;
    LETHE_TRY(tok_regex_find_all(st->re, ctx->md, s, n, M));
    LETHE_TRY(cover(M, n, st->invert, C));
    behave(C, st->behavior);
    return run_pieces(t, ctx, k, s, C, at_origin);
  case TP_DIGITS:
  case TP_WHITESPACE_SPLIT:
  case TP_CHAR_SPLIT:
    LETHE_TRY(char_matches(s, n, st->kind, st->ch, M));
    LETHE_TRY(cover(M, n, 0, C));
    behave(C, st->kind == TP_DIGITS ? (st->individual_digits ? TB_ISOLATED : TB_CONTIGUOUS) : TB_REMOVED);
    return run_pieces(t, ctx, k, s, C, at_origin);
  case TP_METASPACE: {
    A->n = 0;
    /* after spaces become the replacement, does the text start with it? */
    int starts = s[0] == ' ' || ((size_t)st->chlen <= n && !memcmp(s, st->chs, (size_t)st->chlen));
    if (!starts && (st->scheme == TPS_ALWAYS || (st->scheme == TPS_FIRST && at_origin)))
      LETHE_TRY(lethe_sbuf_put(A, st->chs, (size_t)st->chlen));
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
      if (s[i] != ' ') continue;
      LETHE_TRY(lethe_sbuf_put(A, s + run, i - run));
      LETHE_TRY(lethe_sbuf_put(A, st->chs, (size_t)st->chlen));
      run = i + 1;
    }
    LETHE_TRY(lethe_sbuf_put(A, s + run, n - run));
    if (!st->split) return tok_pretokenize(t, ctx, k + 1, A->p, A->n, at_origin);
    LETHE_TRY(char_matches(A->p, A->n, TP_CHAR_SPLIT, st->ch, M));
    LETHE_TRY(cover(M, A->n, 0, C));
    behave(C, TB_MERGED_NEXT);
    return run_pieces(t, ctx, k, A->p, C, at_origin);
  }
  }
  return LETHE_OK;
}
