/* tokenizer/tok_regex.c: the regular expressions of tokenizer.json (written for Oniguruma, which
 * tokenizers uses) run on PCRE2 with JIT in UTF + UCP mode. The pattern is translated first so that
 * the two engines agree: \s, \w, \d, \h and \p{L} / \p{N} become explicit classes matching the
 * sets Oniguruma matches (PCRE2's \s, for instance, also takes U+180E, and its Unicode tables are
 * older), ^ and $ are line anchors as in Ruby syntax, \uHHHH is accepted. Iteration over matches
 * follows the onig crate's find_iter, including its rule for empty matches. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

static lethe_status app(lethe_sbuf *b, const char *s) { return lethe_sbuf_put(b, s, strlen(s)); }

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* The class body (without brackets) for \p{L} / \p{N} and friends, or NULL. */
static const char *prop_body(const char *name, size_t n, const char **extra) {
  if ((n == 1 && name[0] == 'L') || (n == 6 && !memcmp(name, "Letter", 6))) {
    *extra = tok_uc_extra_L;
    return "\\p{L}";
  }
  if ((n == 1 && name[0] == 'N') || (n == 6 && !memcmp(name, "Number", 6))) {
    *extra = tok_uc_extra_N;
    return "\\p{N}";
  }
  return NULL;
}

lethe_status tok_regex_translate(const char *pat, size_t len, lethe_sbuf *out, const char *where) {
  size_t i = 0;
  int in_class = 0;
  size_t class_start = 0; /* index just past "[" or "[^" */
  while (i < len) {
    char c = pat[i];
    if (c == '\\') {
      if (i + 1 >= len) return lethe_fail(LETHE_ERR_FORMAT, "%s: regex ends with a lone backslash", where);
      char e = pat[i + 1];
      const char *body = NULL, *extra = "";
      int negate = 0;
      size_t adv = 2;
      switch (e) {
      case 's':
        body = "";
        extra = tok_uc_space;
        break;
      case 'S':
        body = "";
        extra = tok_uc_space;
        negate = 1;
        break;
      case 'w':
        body = "\\p{L}\\p{M}\\p{Pc}\\p{Nd}\\p{Nl}";
        extra = tok_uc_extra_w;
        break;
      case 'W':
        body = "\\p{L}\\p{M}\\p{Pc}\\p{Nd}\\p{Nl}";
        extra = tok_uc_extra_w;
        negate = 1;
        break;
      case 'd':
        body = "\\p{Nd}";
        extra = tok_uc_extra_d;
        break;
      case 'D':
        body = "\\p{Nd}";
        extra = tok_uc_extra_d;
        negate = 1;
        break;
      case 'h': body = "0-9a-fA-F"; break;
      case 'H':
        body = "0-9a-fA-F";
        negate = 1;
        break;
      case 'p':
      case 'P': {
        const char *name;
        size_t nlen;
        if (i + 2 < len && pat[i + 2] == '{') {
          size_t j = i + 3;
          while (j < len && pat[j] != '}') j++;
          if (j >= len) return lethe_fail(LETHE_ERR_FORMAT, "%s: regex: unterminated \\p{", where);
          name = pat + i + 3;
          nlen = j - (i + 3);
          adv = j + 1 - i;
        } else if (i + 2 < len) {
          name = pat + i + 2;
          nlen = 1;
          adv = 3;
        } else {
          return lethe_fail(LETHE_ERR_FORMAT, "%s: regex: \\p without a property", where);
        }
        if (nlen > 0 && name[0] == '^') {
          negate = 1;
          name++;
          nlen--;
        }
        if (e == 'P') negate = !negate;
        body = prop_body(name, nlen, &extra);
        if (!body) { /* another property: PCRE2 knows it under the same name */
          LETHE_TRY(lethe_sbuf_put(out, pat + i, adv));
          i += adv;
          continue;
        }
        break;
      }
      case 'u':
        if (i + 5 < len && is_hex(pat[i + 2]) && is_hex(pat[i + 3]) && is_hex(pat[i + 4]) && is_hex(pat[i + 5])) {
          LETHE_TRY(app(out, "\\x{"));
          LETHE_TRY(lethe_sbuf_put(out, pat + i + 2, 4));
          LETHE_TRY(app(out, "}"));
          i += 6;
          continue;
        }
        return lethe_fail(LETHE_ERR_FORMAT, "%s: regex: \\u must be followed by 4 hex digits", where);
      case 'Q': { /* literal text up to \E */
        size_t j = i + 2;
        while (j + 1 < len && !(pat[j] == '\\' && pat[j + 1] == 'E')) j++;
        size_t end = (j + 1 < len) ? j + 2 : len;
        LETHE_TRY(lethe_sbuf_put(out, pat + i, end - i));
        i = end;
        continue;
      }
      default: break;
      }
      if (!body) {
        /* other escapes carry over (\x{..}, \n, \t, \., \b, \A, \z, \k<..>, ...); a multi-char
         * escape's tail is ordinary text for the scanner */
        LETHE_TRY(lethe_sbuf_put(out, pat + i, 2));
        i += 2;
        continue;
      }
      if (in_class) {
        if (negate)
          return lethe_fail(
              LETHE_ERR_UNSUPPORTED, "%s: regex: negated class escape \\%c inside [...] is not supported", where, e);
        LETHE_TRY(app(out, body));
        LETHE_TRY(app(out, extra));
      } else {
        LETHE_TRY(app(out, negate ? "[^" : "["));
        LETHE_TRY(app(out, body));
        LETHE_TRY(app(out, extra));
        LETHE_TRY(app(out, "]"));
      }
      i += adv;
      continue;
    }
    if (in_class) {
      if (c == ']' && i > class_start) {
        in_class = 0;
      } else if (c == '[') {
        if (i + 1 < len && pat[i + 1] == ':') { /* POSIX bracket [:alpha:] */
          size_t j = i + 2;
          while (j + 1 < len && !(pat[j] == ':' && pat[j + 1] == ']')) j++;
          if (j + 1 >= len) return lethe_fail(LETHE_ERR_FORMAT, "%s: regex: unterminated [: :]", where);
          LETHE_TRY(lethe_sbuf_put(out, pat + i, j + 2 - i));
          i = j + 2;
          continue;
        }
        return lethe_fail(LETHE_ERR_UNSUPPORTED,
            "%s: regex: nested character classes are not "
            "supported",
            where);
      } else if (c == '&' && i + 1 < len && pat[i + 1] == '&') {
        return lethe_fail(LETHE_ERR_UNSUPPORTED,
            "%s: regex: class intersection (&&) is not "
            "supported",
            where);
      }
      LETHE_TRY(lethe_sbuf_put(out, &c, 1));
      i++;
      continue;
    }
    if (c == '[') {
      in_class = 1;
      LETHE_TRY(lethe_sbuf_put(out, &c, 1));
      i++;
      if (i < len && pat[i] == '^') {
        LETHE_TRY(lethe_sbuf_put(out, "^", 1));
        i++;
      }
      class_start = i; /* a ']' right here is a literal */
      continue;
    }
    LETHE_TRY(lethe_sbuf_put(out, &c, 1));
    i++;
  }
  if (in_class) return lethe_fail(LETHE_ERR_FORMAT, "%s: regex: unterminated [...]", where);
  return LETHE_OK;
}

lethe_status tok_regex_compile(const char *pat, size_t len, int literal, const char *where, tok_regex **out) {
  *out = NULL;
  lethe_sbuf tr = {0};
  lethe_status st = LETHE_OK;
  uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;
  if (tok_utf8_invalid_at(pat, len) != len) {
    return lethe_fail(LETHE_ERR_FORMAT, "%s: pattern is not valid UTF-8", where);
  }
  if (literal) {
    opts = PCRE2_UTF | PCRE2_LITERAL;
    st = lethe_sbuf_put(&tr, pat, len);
  } else {
    st = tok_regex_translate(pat, len, &tr, where);
  }
  if (st != LETHE_OK) {
    lethe_sbuf_free(&tr);
    return st;
  }
  int errcode;
  PCRE2_SIZE erroff;
  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  if (!cctx) {
    lethe_sbuf_free(&tr);
    return tok_nomem(where);
  }
  pcre2_set_newline(cctx, PCRE2_NEWLINE_LF); /* '.', '^' and '$' know only \n, as in Oniguruma */
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)(tr.p ? tr.p : ""), tr.n, opts, &errcode, &erroff, cctx);
  pcre2_compile_context_free(cctx);
  lethe_sbuf_free(&tr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: bad regex '%.*s': %s", where, (int)(len > 200 ? 200 : len), pat, (const char *)msg);
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* without JIT the interpreter runs */
  tok_regex *re = calloc(1, sizeof *re);
  pcre2_match_context *mctx = pcre2_match_context_create(NULL);
  char *src = tok_strndup(pat, len);
  if (!re || !mctx || !src) {
    free(re);
    free(src);
    pcre2_match_context_free(mctx);
    pcre2_code_free(code);
    return tok_nomem(where);
  }
  /* Bounds for pathological patterns: an error rather than a hang. */
  pcre2_set_match_limit(mctx, 10000000);
  pcre2_set_depth_limit(mctx, 100000);
  pcre2_set_heap_limit(mctx, 256 * 1024); /* KiB */
  re->code = code;
  re->mctx = mctx;
  re->source = src;
  *out = re;
  return LETHE_OK;
}

void tok_regex_free(tok_regex *re) {
  if (!re) return;
  pcre2_code_free(re->code);
  pcre2_match_context_free(re->mctx);
  free(re->source);
  free(re);
}

static int match_at(const tok_regex *re, pcre2_match_data *md, const char *s, size_t n, size_t from) {
  int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK, md, re->mctx);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its frames on the heap */
    rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, re->mctx);
  return rc;
}

lethe_status tok_regex_find_all(const tok_regex *re, pcre2_match_data *md, const char *s, size_t n, tok_zvec *out) {
  size_t last_end = 0;
  size_t last_match_end = SIZE_MAX;
  static const char empty[1] = {0};
  if (!s) s = empty;
  while (last_end <= n) {
    int rc = match_at(re, md, s, n, last_end);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      return lethe_fail(
          LETHE_ERR_INVALID, "tokenizer: regex '%.100s' at byte %zu: %s", re->source, last_end, (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t ms = ov[0], me = ov[1];
    if (me < ms) { /* \K tricks: treat as empty at the end */
      ms = me;
    }
    if (ms == me && last_match_end == me) {
      /* no empty match right after the previous match: step one character */
      last_end += last_end < n ? tok_utf8_len((unsigned char)s[last_end]) : 1;
      continue;
    }
    last_end = me;
    last_match_end = me;
    LETHE_TRY(tok_zvec_push(out, ms));
    LETHE_TRY(tok_zvec_push(out, me));
  }
  return LETHE_OK;
}
