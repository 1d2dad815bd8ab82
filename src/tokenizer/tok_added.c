/* tokenizer/tok_added.c: added and special tokens. Ids are assigned the way tokenizers assigns them
 * when it reads "added_tokens" (the id in the file is only a hint: a content already in the model's
 * vocabulary keeps the model's id, a new one gets the next free id), and the tokens are found in the
 * text with leftmost-longest matching (a byte trie), honouring single_word, lstrip and rstrip;
 * non-normalized tokens are matched in the raw text, normalized ones in the normalized text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tok_internal.h"
#include "util/array.h"
#include "util/error.h"

typedef struct {
  int32_t child, sibling;
  int32_t id; /* -1: not the end of a pattern */
  uint8_t byte;
} tnode;

struct tok_trie {
  tnode *n;
  size_t count, cap;
  int32_t root[256];
  size_t npatterns;
};

static tok_trie *trie_new(void) {
  tok_trie *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  for (int i = 0; i < 256; i++) t->root[i] = -1;
  return t;
}

static void trie_free(tok_trie *t) {
  if (!t) return;
  free(t->n);
  free(t);
}

static int32_t new_node(tok_trie *t, uint8_t b) {
  if (LETHE_ARRAY_RESERVE1(t->n, t->count, t->cap, "tokenizer: added-token trie") != LETHE_OK) return -1;
  tnode *x = &t->n[t->count];
  x->child = x->sibling = x->id = -1;
  x->byte = b;
  return (int32_t)t->count++;
}

/* Adds a pattern; the first pattern with a given string keeps its id (as aho-corasick reports the
 * lowest pattern index among equal matches). */
static lethe_status trie_add(tok_trie *t, const char *s, size_t n, int id) {
  if (n == 0) return LETHE_OK;
  int32_t cur = t->root[(uint8_t)s[0]];
  if (cur < 0) {
    if ((cur = new_node(t, (uint8_t)s[0])) < 0) return tok_nomem("added tokens");
    t->root[(uint8_t)s[0]] = cur;
  }
  for (size_t i = 1; i < n; i++) {
    int32_t c = t->n[cur].child;
    while (c >= 0 && t->n[c].byte != (uint8_t)s[i]) c = t->n[c].sibling;
    if (c < 0) {
      if ((c = new_node(t, (uint8_t)s[i])) < 0) return tok_nomem("added tokens");
      t->n[c].sibling = t->n[cur].child;
      t->n[cur].child = c;
    }
    cur = c;
  }
  if (t->n[cur].id < 0) t->n[cur].id = id;
  t->npatterns++;
  return LETHE_OK;
}

/* Longest pattern starting at s[0..n): its length and id, or 0. */
static size_t trie_longest(const tok_trie *t, const char *s, size_t n, int *id) {
  int32_t cur = t->root[(uint8_t)s[0]];
  size_t best = 0;
  size_t i = 1;
  while (cur >= 0) {
    if (t->n[cur].id >= 0) {
      best = i;
      *id = t->n[cur].id;
    }
    if (i >= n) break;
    int32_t c = t->n[cur].child;
    while (c >= 0 && t->n[c].byte != (uint8_t)s[i]) c = t->n[c].sibling;
    cur = c;
    i++;
  }
  return best;
}

/* ---- loading ---- */

static int same_token(const tok_added_token *a, const tok_added_token *b) {
  return a->len == b->len && !memcmp(a->content, b->content, a->len) && a->special == b->special &&
         a->single_word == b->single_word && a->lstrip == b->lstrip && a->rstrip == b->rstrip &&
         a->normalized == b->normalized;
}

lethe_status tok_added_parse(
    const json_t *j, const char *name, const tok_bpe *model, const tok_normalizer *nz, tok_added *out) {
  memset(out, 0, sizeof *out);
  if (!j || json_is_null(j)) j = NULL;
  if (j && !json_is_array(j))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: added_tokens: expected an array, found %s", name, lethe_json_type_name(j));
  size_t n = j ? json_array_size(j) : 0;
  lethe_status st = LETHE_OK;
  tok_strmap map = {0};                  /* content -> id */
  tok_strmap special = {0};              /* contents of special tokens -> 1 */
  tok_strmap by_id = {0};                /* id (4 bytes) -> index into out->tok */
  size_t nspecial_l = 0, nclassic_l = 0; /* the special list and the classic list, in order */
  int *classic_idx = calloc(n + 1, sizeof *classic_idx), *special_idx = calloc(n + 1, sizeof(int));
  tok_added_token *toks = calloc(n + 1, sizeof *toks); /* the parsed entries */
  out->tok = calloc(n + 1, sizeof *out->tok);
  if (!classic_idx || !special_idx || !toks || !out->tok) {
    st = tok_nomem("added tokens");
    goto done;
  }
  if ((st = tok_strmap_init(&map, n)) != LETHE_OK || (st = tok_strmap_init(&special, n)) != LETHE_OK ||
      (st = tok_strmap_init(&by_id, n)) != LETHE_OK)
    goto done;
  int32_t maxadded = -1;
  for (size_t i = 0; i < n; i++) {
    char where[64];
    snprintf(where, sizeof where, "added_tokens[%zu]", i);
    json_t *e = json_array_get(j, i);
    if (!json_is_object(e)) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: expected an object, found %s", name, where, lethe_json_type_name(e));
      goto done;
    }
    const lethe_json_at at = {name, 0, where};
    const char *content = NULL;
    size_t clen = 0;
    int64_t id = -1;
    tok_added_token *t = &toks[i];
    t->special = t->single_word = t->lstrip = t->rstrip = 0;
    if ((st = lethe_json_str_at(e, "content", 1, &at, &content, &clen)) != LETHE_OK ||
        (st = lethe_json_int_at(e, "id", 0, 0, UINT32_MAX, &at, &id, NULL)) != LETHE_OK ||
        (st = lethe_json_bool_at(e, "special", 0, &at, &t->special, NULL)) != LETHE_OK ||
        (st = lethe_json_bool_at(e, "single_word", 0, &at, &t->single_word, NULL)) != LETHE_OK ||
        (st = lethe_json_bool_at(e, "lstrip", 0, &at, &t->lstrip, NULL)) != LETHE_OK ||
        (st = lethe_json_bool_at(e, "rstrip", 0, &at, &t->rstrip, NULL)) != LETHE_OK)
      goto done;
    t->normalized = !t->special;
    if ((st = lethe_json_bool_at(e, "normalized", 0, &at, &t->normalized, NULL)) != LETHE_OK) goto done;
    if (id < 0) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: missing \"id\"", name, where);
      goto done;
    }
    if (!(t->content = tok_strndup(content, clen))) {
      st = tok_nomem("added tokens");
      goto done;
    }
    t->len = clen;
    if (clen == 0) continue; /* ignored, as tokenizers does */
    if (t->special && tok_strmap_get(&special, content, clen) < 0) {
      if ((st = tok_strmap_put(&special, content, clen, 1, NULL)) != LETHE_OK) goto done;
      special_idx[nspecial_l++] = (int)i;
    }
    /* an identical token (content and options) is ignored; one with the same content can only
     * be the entry of the id that content already has */
    int32_t nid = tok_strmap_get(&map, content, clen);
    if (nid >= 0) {
      int32_t k = tok_strmap_get(&by_id, (const char *)&nid, sizeof nid);
      if (k >= 0 && same_token(&out->tok[k], t)) continue;
    }
    if (nid < 0) nid = tok_strmap_get(&model->vocab, content, clen);
    if (nid < 0) {
      int32_t vs = (int32_t)model->nvocab;
      if (maxadded < 0)
        nid = vs;
      else
        nid = (maxadded >= vs || vs == 0) ? maxadded + 1 : vs;
    }
    if (nid >= TOK_MAX_ID) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: id out of range", name, where);
      goto done;
    }
    t->id = nid;
    if ((st = tok_strmap_put(&map, content, clen, nid, NULL)) != LETHE_OK) goto done;
    if (nid > maxadded) maxadded = nid;
    /* the id's entry (content and options) is replaced by the latest token given it */
    int32_t k = tok_strmap_get(&by_id, (const char *)&nid, sizeof nid);
    if (k < 0) k = out->ntok;
    tok_added_token copy = *t;
    copy.dec = NULL;
    if (!(copy.content = tok_strndup(t->content, t->len))) {
      st = tok_nomem("added tokens");
      goto done;
    }
    if (k < out->ntok) {
      free(out->tok[k].content);
      out->tok[k] = copy;
    } else {
      out->tok[out->ntok++] = copy;
      if ((st = tok_strmap_put(&by_id, (const char *)&nid, sizeof nid, k, NULL)) != LETHE_OK) goto done;
    }
    if (tok_strmap_get(&special, content, clen) < 0) classic_idx[nclassic_l++] = (int)i;
  }
  /* the matchers: special tokens first, then the classic ones, split by `normalized` */
  out->raw = trie_new();
  out->norm = trie_new();
  if (!out->raw || !out->norm) {
    st = tok_nomem("added tokens");
    goto done;
  }
  tok_ctx ctx;
  if ((st = tok_ctx_init(&ctx, 0)) != LETHE_OK) goto done;
  for (size_t pass = 0; pass < 2 && st == LETHE_OK; pass++) {
    size_t cnt = pass == 0 ? nspecial_l : nclassic_l;
    for (size_t q = 0; q < cnt && st == LETHE_OK; q++) {
      const tok_added_token *t = &toks[pass == 0 ? special_idx[q] : classic_idx[q]];
      int32_t id = tok_strmap_get(&map, t->content, t->len);
      if (id < 0) id = tok_strmap_get(&model->vocab, t->content, t->len);
      if (id < 0) continue;
      if (!t->normalized) {
        st = trie_add(out->raw, t->content, t->len, id);
      } else {
        const char *nc = t->content;
        size_t nn = t->len;
        if (nz && nz->n) st = tok_normalize(nz, &ctx, t->content, t->len, &nc, &nn);
        if (st == LETHE_OK) st = trie_add(out->norm, nc, nn, id);
      }
    }
  }
  /* decoding shows a normalized token in its normalized form (tokenizers' normalized cache) */
  for (int k = 0; k < out->ntok && st == LETHE_OK; k++) {
    tok_added_token *t = &out->tok[k];
    if (!t->normalized || !nz || !nz->n) continue;
    const char *nc;
    size_t nn;
    st = tok_normalize(nz, &ctx, t->content, t->len, &nc, &nn);
    if (st == LETHE_OK && !(t->dec = tok_strndup(nc, nn))) st = tok_nomem("added tokens");
    t->dec_len = nn;
  }
  tok_ctx_free(&ctx);
  if (st != LETHE_OK) goto done;
  /* id -> entry */
  int maxid = -1;
  for (int k = 0; k < out->ntok; k++)
    if (out->tok[k].id > maxid) maxid = out->tok[k].id;
  out->nby_id = maxid + 1;
  out->by_id = malloc(((size_t)out->nby_id + 1) * sizeof *out->by_id);
  if (!out->by_id) {
    st = tok_nomem("added tokens");
    goto done;
  }
  for (int k = 0; k < out->nby_id; k++) out->by_id[k] = -1;
  for (int k = 0; k < out->ntok; k++) out->by_id[out->tok[k].id] = k;
  st = tok_strmap_init(&out->special_set, special.count);
  if (st == LETHE_OK) {
    for (size_t q = 0; q < nspecial_l && st == LETHE_OK; q++) {
      const tok_added_token *t = &toks[special_idx[q]];
      st = tok_strmap_put(&out->special_set, t->content, t->len, 1, NULL);
    }
  }
  if (st == LETHE_OK) {
    out->map = map;
    memset(&map, 0, sizeof map);
  }
done:
  for (size_t i = 0; i < n && toks; i++) free(toks[i].content);
  free(toks);
  free(classic_idx);
  free(special_idx);
  tok_strmap_free(&map);
  tok_strmap_free(&special);
  tok_strmap_free(&by_id);
  if (st != LETHE_OK) tok_added_free(out);
  return st;
}

void tok_added_free(tok_added *a) {
  for (int k = 0; k < a->ntok; k++) {
    free(a->tok[k].content);
    free(a->tok[k].dec);
  }
  free(a->tok);
  free(a->by_id);
  trie_free(a->raw);
  trie_free(a->norm);
  tok_strmap_free(&a->map);
  tok_strmap_free(&a->special_set);
  memset(a, 0, sizeof *a);
}

int tok_added_by_id(const tok_added *a, int id) {
  if (id < 0 || id >= a->nby_id) return -1;
  return a->by_id[id];
}

int tok_added_find(const tok_added *a, const char *s, size_t n) {
  int32_t id = tok_strmap_get(&a->map, s, n);
  return id < 0 ? -1 : tok_added_by_id(a, id);
}

/* ---- matching ---- */

static int is_word_char(uint32_t cp) {
  if (cp == '_' || cp == 0x200C || cp == 0x200D) return 1;
  if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
      (cp >= 0x1F170 && cp <= 0x1F189))
    return 1;
  switch (utf8proc_category((utf8proc_int32_t)cp)) {
  case UTF8PROC_CATEGORY_LU:
  case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO:
  case UTF8PROC_CATEGORY_MN:
  case UTF8PROC_CATEGORY_MC:
  case UTF8PROC_CATEGORY_ME:
  case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_NL:
  case UTF8PROC_CATEGORY_PC: return 1;
  default: return 0;
  }
}

static uint32_t last_char(const char *s, size_t n) {
  size_t p = n - 1;
  while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
  uint32_t cp;
  tok_utf8_decode(s + p, &cp);
  return cp;
}

lethe_status tok_added_split(const tok_added *a, int normalized, const char *s, size_t n, tok_zvec *out) {
  const tok_trie *t = normalized ? a->norm : a->raw;
  out->n = 0;
  if (!t || t->npatterns == 0) {
    if (n) {
      LETHE_TRY(tok_zvec_push(out, 0));
      LETHE_TRY(tok_zvec_push(out, n));
      LETHE_TRY(tok_zvec_push(out, SIZE_MAX));
    }
    return LETHE_OK;
  }
  size_t start_offset = 0, pos = 0;
  while (pos < n) {
    int id = -1;
    size_t mstart = pos, mlen = 0;
    for (; mstart < n; mstart++) {
      if (t->root[(uint8_t)s[mstart]] < 0) continue;
      mlen = trie_longest(t, s + mstart, n - mstart, &id);
      if (mlen) break;
    }
    if (!mlen) break;
    size_t mend = mstart + mlen;
    pos = mend; /* the next search starts after this match, taken or not */
    int k = tok_added_by_id(a, id);
    const tok_added_token *tk = k >= 0 ? &a->tok[k] : NULL;
    size_t start = mstart, stop = mend;
    if (tk && tk->single_word) {
      uint32_t cp;
      int start_space = mstart == 0 || !is_word_char(last_char(s, mstart));
      int stop_space = mend == n || (tok_utf8_decode(s + mend, &cp), !is_word_char(cp));
      if (!start_space || !stop_space) continue;
    }
    if (tk && tk->lstrip) {
      size_t ns = start;
      while (ns > 0) {
        size_t p = ns - 1;
        while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
        uint32_t cp;
        tok_utf8_decode(s + p, &cp);
        if (!tok_is_whitespace(cp)) break;
        ns = p;
      }
      start = ns > start_offset ? ns : start_offset;
    }
    if (tk && tk->rstrip) {
      while (stop < n) {
        uint32_t cp;
        size_t m = tok_utf8_decode(s + stop, &cp);
        if (!tok_is_whitespace(cp)) break;
        stop += m;
      }
    }
    if (start_offset < start) {
      LETHE_TRY(tok_zvec_push(out, start_offset));
      LETHE_TRY(tok_zvec_push(out, start));
      LETHE_TRY(tok_zvec_push(out, SIZE_MAX));
    }
    LETHE_TRY(tok_zvec_push(out, start));
    LETHE_TRY(tok_zvec_push(out, stop));
    LETHE_TRY(tok_zvec_push(out, (size_t)id));
    start_offset = stop;
  }
  if (start_offset < n) {
    LETHE_TRY(tok_zvec_push(out, start_offset));
    LETHE_TRY(tok_zvec_push(out, n));
    LETHE_TRY(tok_zvec_push(out, SIZE_MAX));
  }
  return LETHE_OK;
}
