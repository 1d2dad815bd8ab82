/* tokenizer/tok_bpe.c: the BPE model of tokenizer.json: vocabulary and merges (both the "a b"
 * string form and the ["a", "b"] pair form), unk_token with fuse_unk, byte_fallback,
 * continuing_subword_prefix, end_of_word_suffix and ignore_merges, encoding each pre-token as
 * tokenizers does: characters to ids, then merges applied lowest rank first (leftmost on ties)
 * with a binary heap over a linked list of symbols, so long words cost O(n log n), not O(n^2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/array.h"
#include "util/error.h"

#define CP_TABLE 0x3000

typedef struct {
  int32_t id;
  int32_t prev, next;
  uint32_t len; /* 0: merged away */
} sym_t;

typedef struct {
  uint32_t rank;
  uint32_t pos;
  int32_t id;
} merge_t;

struct tok_bpe_scratch {
  sym_t *sym;
  size_t symcap;
  merge_t *heap;
  size_t heapcap;
  lethe_sbuf key;
};

void tok_bpe_scratch_free(tok_bpe_scratch *s) {
  if (!s) return;
  free(s->sym);
  free(s->heap);
  lethe_sbuf_free(&s->key);
  free(s);
}

/* ---- loading ---- */

static lethe_status opt_string(const json_t *j, const char *key, const char *name, char **out, size_t *len) {
  const char *s = NULL;
  size_t n = 0;
  LETHE_TRY(lethe_json_str_at(j, key, 0, &(lethe_json_at){name, 0, "model"}, &s, &n));
  *out = NULL;
  *len = 0;
  if (!s) return LETHE_OK;
  if (!(*out = tok_strndup(s, n))) return tok_nomem("model");
  *len = n;
  return LETHE_OK;
}

static lethe_status merge_parts(
    const json_t *e, size_t i, const char *name, const char **a, size_t *alen, const char **b, size_t *blen) {
  if (json_is_string(e)) {
    const char *s = json_string_value(e);
    size_t n = json_string_length(e);
    const char *sp = memchr(s, ' ', n);
    if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s)))
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: model.merges[%zu]: \"%.80s\" is not two tokens separated by one space", name, i, s);
    *a = s;
    *alen = (size_t)(sp - s);
    *b = sp + 1;
    *blen = n - *alen - 1;
    return LETHE_OK;
  }
  if (json_is_array(e) && json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
      json_is_string(json_array_get(e, 1))) {
    *a = json_string_value(json_array_get(e, 0));
    *alen = json_string_length(json_array_get(e, 0));
    *b = json_string_value(json_array_get(e, 1));
    *blen = json_string_length(json_array_get(e, 1));
    return LETHE_OK;
  }
  return lethe_fail(LETHE_ERR_FORMAT, "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], found %s", name, i,
      lethe_json_type_name(e));
}

static lethe_status parse_merges(const json_t *merges, const char *name, tok_bpe *m) {
  size_t n = json_array_size(merges);
  if (n > UINT32_MAX / 2) return lethe_fail(LETHE_ERR_FORMAT, "%s: model.merges: too many merges", name);
  LETHE_TRY(tok_pairmap_init(&m->merges, n));
  lethe_sbuf cat = {0};
  lethe_status st = LETHE_OK;
  for (size_t i = 0; i < n && st == LETHE_OK; i++) {
    const char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    st = merge_parts(json_array_get(merges, i), i, name, &a, &al, &b, &bl);
    if (st != LETHE_OK) break;
    int32_t ia = tok_strmap_get(&m->vocab, a, al), ib = tok_strmap_get(&m->vocab, b, bl);
    if (ia < 0 || ib < 0) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: model.merges[%zu]: token \"%.*s\" is not in the vocabulary", name, i,
          (int)(ia < 0 ? (al > 80 ? 80 : al) : (bl > 80 ? 80 : bl)), ia < 0 ? a : b);
      break;
    }
    if (bl < m->prefix_len || (bl > m->prefix_len && ((unsigned char)b[m->prefix_len] & 0xC0) == 0x80)) {
      st = lethe_fail(LETHE_ERR_FORMAT,
          "%s: model.merges[%zu]: token \"%.*s\" is shorter than the "
          "continuing_subword_prefix",
          name, i, (int)(bl > 80 ? 80 : bl), b);
      break;
    }
    cat.n = 0;
    if ((st = lethe_sbuf_put(&cat, a, al)) != LETHE_OK) break;
    if ((st = lethe_sbuf_put(&cat, b + m->prefix_len, bl - m->prefix_len)) != LETHE_OK) break;
    int32_t inew = tok_strmap_get(&m->vocab, cat.p, cat.n);
    if (inew < 0) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: model.merges[%zu]: the merged token \"%.*s\" is not in the vocabulary",
          name, i, (int)(cat.n > 80 ? 80 : cat.n), cat.p);
      break;
    }
    st = tok_pairmap_put(&m->merges, ia, ib, (uint32_t)i, inew);
  }
  lethe_sbuf_free(&cat);
  return st;
}

lethe_status tok_bpe_parse(const json_t *j, const char *name, tok_bpe *m) {
  memset(m, 0, sizeof *m);
  for (int b = 0; b < 256; b++) m->byte_id[b] = -1;
  const lethe_json_at at = {name, 0, "model"};
  lethe_status st;
  json_t *dropout = json_object_get(j, "dropout");
  if (dropout && !json_is_null(dropout)) {
    if (!json_is_number(dropout))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: model.dropout: expected a number or null, found %s", name,
          lethe_json_type_name(dropout));
    if (json_number_value(dropout) != 0.0)
      return lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: model.dropout: BPE dropout (%g) makes encoding random; not supported", name, json_number_value(dropout));
  }
  json_t *vocab = json_object_get(j, "vocab");
  json_t *merges = json_object_get(j, "merges");
  if (!json_is_object(vocab))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: model.vocab: expected an object, found %s", name, lethe_json_type_name(vocab));
  if (merges && !json_is_array(merges))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: model.merges: expected an array, found %s", name, lethe_json_type_name(merges));
  if ((st = opt_string(j, "unk_token", name, &m->unk, &m->unk_len)) != LETHE_OK ||
      (st = opt_string(j, "continuing_subword_prefix", name, &m->prefix, &m->prefix_len)) != LETHE_OK ||
      (st = opt_string(j, "end_of_word_suffix", name, &m->suffix, &m->suffix_len)) != LETHE_OK ||
      (st = lethe_json_bool_at(j, "fuse_unk", 0, &at, &m->fuse_unk, NULL)) != LETHE_OK ||
      (st = lethe_json_bool_at(j, "byte_fallback", 0, &at, &m->byte_fallback, NULL)) != LETHE_OK ||
      (st = lethe_json_bool_at(j, "ignore_merges", 0, &at, &m->ignore_merges, NULL)) != LETHE_OK)
    goto fail;
  if ((st = tok_strmap_init(&m->vocab, json_object_size(vocab))) != LETHE_OK) goto fail;
  const char *key;
  json_t *val;
  int32_t maxid = -1;
  void *it;
  for (it = json_object_iter(vocab); it; it = json_object_iter_next(vocab, it)) {
    key = json_object_iter_key(it);
    size_t klen = json_object_iter_key_len(it);
    val = json_object_iter_value(it);
    if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= TOK_MAX_ID) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: model.vocab[\"%.80s\"]: expected an id in [0, 2^24), found %s", name, key,
          lethe_json_type_name(val));
      goto fail;
    }
    int32_t id = (int32_t)json_integer_value(val);
    if ((st = tok_strmap_put(&m->vocab, key, klen, id, NULL)) != LETHE_OK) goto fail;
    if (id > maxid) maxid = id;
  }
  m->nvocab = m->vocab.count;
  m->nids = maxid + 1;
  m->id_off = malloc(((size_t)m->nids + 1) * sizeof *m->id_off);
  m->id_len = malloc(((size_t)m->nids + 1) * sizeof *m->id_len);
  m->cp_id = malloc(CP_TABLE * sizeof *m->cp_id);
  if (!m->id_off || !m->id_len || !m->cp_id) {
    st = tok_nomem("model");
    goto fail;
  }
  for (int32_t i = 0; i < m->nids; i++) m->id_off[i] = UINT32_MAX;
  for (int i = 0; i < CP_TABLE; i++) m->cp_id[i] = -1;
  /* id -> string: the last string seen for an id wins */
  for (it = json_object_iter(vocab); it; it = json_object_iter_next(vocab, it)) {
    key = json_object_iter_key(it);
    size_t klen = json_object_iter_key_len(it);
    const tok_strmap_slot *sl = tok_strmap_find(&m->vocab, key, klen);
    int32_t id = sl->val; /* a repeated key keeps its last id */
    m->id_off[id] = sl->off;
    m->id_len[id] = (uint32_t)klen;
    if (klen > 0 && klen <= 4 && tok_utf8_len((unsigned char)key[0]) == klen) {
      uint32_t cp;
      tok_utf8_decode(key, &cp);
      if (cp < CP_TABLE) m->cp_id[cp] = id;
    }
  }
  for (int b = 0; b < 256; b++) {
    char bs[8];
    snprintf(bs, sizeof bs, "<0x%02X>", b);
    m->byte_id[b] = tok_strmap_get(&m->vocab, bs, 6);
  }
  if (merges) {
    if ((st = parse_merges(merges, name, m)) != LETHE_OK) goto fail;
  } else {
    if ((st = tok_pairmap_init(&m->merges, 0)) != LETHE_OK) goto fail;
  }
  m->cache = tok_cache_new();
  if (!m->cache) {
    st = tok_nomem("model cache");
    goto fail;
  }
  return LETHE_OK;
fail:
  tok_bpe_free(m);
  return st;
}

void tok_bpe_free(tok_bpe *m) {
  tok_strmap_free(&m->vocab);
  tok_pairmap_free(&m->merges);
  free(m->id_off);
  free(m->id_len);
  free(m->cp_id);
  free(m->unk);
  free(m->prefix);
  free(m->suffix);
  tok_cache_free(m->cache);
  memset(m, 0, sizeof *m);
}

/* ---- encoding ---- */

static lethe_status scratch_reserve(tok_ctx *ctx, size_t nsym) {
  if (!ctx->bpe) {
    ctx->bpe = calloc(1, sizeof *ctx->bpe);
    if (!ctx->bpe) return tok_nomem("encode");
  }
  tok_bpe_scratch *s = ctx->bpe;
  if (nsym > SIZE_MAX / 8) return tok_nomem("encode");
  LETHE_TRY(LETHE_ARRAY_GROW(s->sym, s->symcap, nsym < 64 ? 64 : nsym, "tokenizer: encode"));
  LETHE_TRY(LETHE_ARRAY_GROW(s->heap, s->heapcap, 3 * nsym + 4 < 192 ? 192 : 3 * nsym + 4, "tokenizer: encode"));
  return LETHE_OK;
}

/* heap order: lower rank first, then lower position */
static inline int before(const merge_t *a, const merge_t *b) {
  return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static inline void heap_push(merge_t *h, size_t *n, merge_t x) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&x, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = x;
}

static inline merge_t heap_pop(merge_t *h, size_t *n) {
  merge_t top = h[0];
  merge_t x = h[--(*n)];
  size_t i = 0, m = *n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= m) break;
    if (c + 1 < m && before(&h[c + 1], &h[c])) c++;
    if (!before(&h[c], &x)) break;
    h[i] = h[c];
    i = c;
  }
  if (m) h[i] = x;
  return top;
}

static void merge_all(const tok_bpe *m, sym_t *sym, size_t nsym, merge_t *heap) {
  size_t nh = 0;
  for (size_t i = 0; i + 1 < nsym; i++) {
    const tok_pair_slot *ps = tok_pairmap_get(&m->merges, sym[i].id, sym[i + 1].id);
    if (ps) heap_push(heap, &nh, (merge_t){ps->rank, (uint32_t)i, ps->id});
  }
  while (nh) {
    merge_t top = heap_pop(heap, &nh);
    sym_t *cur = &sym[top.pos];
    if (cur->len == 0 || cur->next < 0) continue;
    sym_t *right = &sym[cur->next];
    const tok_pair_slot *ps = tok_pairmap_get(&m->merges, cur->id, right->id);
    if (!ps || ps->id != top.id) continue; /* an outdated entry */
    cur->id = top.id;
    cur->len += right->len;
    right->len = 0;
    cur->next = right->next;
    if (right->next >= 0) sym[right->next].prev = (int32_t)top.pos;
    if (cur->prev >= 0) {
      const tok_pair_slot *pp = tok_pairmap_get(&m->merges, sym[cur->prev].id, cur->id);
      if (pp) heap_push(heap, &nh, (merge_t){pp->rank, (uint32_t)cur->prev, pp->id});
    }
    if (cur->next >= 0) {
      const tok_pair_slot *pn = tok_pairmap_get(&m->merges, cur->id, sym[cur->next].id);
      if (pn) heap_push(heap, &nh, (merge_t){pn->rank, top.pos, pn->id});
    }
  }
}

static inline void add_sym(sym_t *sym, size_t *n, int32_t id, uint32_t len) {
  size_t i = (*n)++;
  sym[i].id = id;
  sym[i].len = len;
  sym[i].prev = (int32_t)i - 1;
  sym[i].next = -1;
  if (i > 0) sym[i - 1].next = (int32_t)i;
}

static lethe_status unk_id(const tok_bpe *m, int32_t *id) {
  *id = tok_strmap_get(&m->vocab, m->unk, m->unk_len);
  if (*id < 0)
    return lethe_fail(LETHE_ERR_FORMAT,
        "tokenizer: model.unk_token \"%.80s\" is not in the "
        "vocabulary",
        m->unk);
  return LETHE_OK;
}

static lethe_status merge_word(const tok_bpe *m, tok_ctx *ctx, const char *s, size_t n) {
  /* at most one symbol per byte, (prefix + suffix + 4) with byte fallback */
  size_t maxsym = n * (m->byte_fallback ? (m->prefix_len + m->suffix_len + 4) : 1) + 1;
  LETHE_TRY(scratch_reserve(ctx, maxsym));
  tok_bpe_scratch *sc = ctx->bpe;
  sym_t *sym = sc->sym;
  size_t nsym = 0;
  int have_unk = 0;
  int32_t uid = -1;
  uint32_t ulen = 0;
  size_t i = 0;
  while (i < n) {
    size_t clen = tok_utf8_len((unsigned char)s[i]);
    int first = i == 0, last = i + clen >= n;
    const char *key = s + i;
    size_t klen = clen;
    int32_t id;
    int plain = (!m->prefix || first) && (!m->suffix || !last);
    if (plain && clen <= 3) {
      uint32_t cp;
      tok_utf8_decode(s + i, &cp);
      id = cp < CP_TABLE ? m->cp_id[cp] : tok_strmap_get(&m->vocab, key, klen);
    } else if (plain) {
      id = tok_strmap_get(&m->vocab, key, klen);
    } else {
      sc->key.n = 0;
      if (m->prefix && !first) LETHE_TRY(lethe_sbuf_put(&sc->key, m->prefix, m->prefix_len));
      LETHE_TRY(lethe_sbuf_put(&sc->key, s + i, clen));
      if (m->suffix && last) LETHE_TRY(lethe_sbuf_put(&sc->key, m->suffix, m->suffix_len));
      key = sc->key.p;
      klen = sc->key.n;
      id = tok_strmap_get(&m->vocab, key, klen);
    }
    if (id >= 0) {
      if (have_unk) {
        add_sym(sym, &nsym, uid, ulen);
        have_unk = 0;
      }
      add_sym(sym, &nsym, id, (uint32_t)clen);
      i += clen;
      continue;
    }
    if (m->byte_fallback) {
      int all = 1;
      for (size_t b = 0; b < klen; b++)
        if (m->byte_id[(unsigned char)key[b]] < 0) all = 0;
      if (all) {
        for (size_t b = 0; b < klen; b++) add_sym(sym, &nsym, m->byte_id[(unsigned char)key[b]], 1);
        i += clen;
        continue;
      }
    }
    if (m->unk) {
      if (have_unk && m->fuse_unk) {
        ulen += (uint32_t)clen;
      } else {
        if (have_unk) add_sym(sym, &nsym, uid, ulen);
        LETHE_TRY(unk_id(m, &uid));
        ulen = (uint32_t)clen;
        have_unk = 1;
      }
    }
    /* without unk_token or byte fallback the character is dropped, as tokenizers does */
    i += clen;
  }
  if (have_unk) add_sym(sym, &nsym, uid, ulen);
  if (nsym > 1 && m->merges.count) merge_all(m, sym, nsym, sc->heap);
  tok_ivec *out = ctx->out;
  LETHE_TRY(tok_ivec_reserve(out, nsym));
  for (size_t k = 0; k < nsym; k++)
    if (sym[k].len) out->p[out->n++] = sym[k].id;
  return LETHE_OK;
}

lethe_status tok_bpe_tokenize(const tok_bpe *m, tok_ctx *ctx, const char *s, size_t n) {
  if (m->ignore_merges) {
    int32_t id = tok_strmap_get(&m->vocab, s, n);
    if (id >= 0) return tok_ivec_push(ctx->out, id);
  }
  if (!m->prefix && !m->suffix && n <= 4 && tok_utf8_len((unsigned char)s[0]) == n) {
    /* a single character needs no merging and no cache */
    uint32_t cp;
    tok_utf8_decode(s, &cp);
    int32_t id = cp < CP_TABLE ? m->cp_id[cp] : tok_strmap_get(&m->vocab, s, n);
    if (id >= 0) return tok_ivec_push(ctx->out, id);
  }
  uint64_t h = tok_hash(s, n);
  if (tok_cache_get(m->cache, h, s, n, ctx->out)) return LETHE_OK;
  size_t start = ctx->out->n;
  LETHE_TRY(merge_word(m, ctx, s, n));
  if (ctx->out->n > start) tok_cache_put(m->cache, h, s, n, ctx->out->p + start, ctx->out->n - start);
  return LETHE_OK;
}
