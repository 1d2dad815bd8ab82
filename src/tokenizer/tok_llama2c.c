/* tokenizer/tok_llama2c.c: llama2.c tokenizer files (tokenizer.bin, tok512.bin): int32
 * max_token_length, then per token float32 score, int32 length, bytes; the vocabulary is every
 * entry up to the end of the file. tok_l2c_load is the one reader of the format: the tokenizer
 * (lethe_tokenizer_load) and the tokenizer.json importer (tok_llama2c_json.c) both use it.
 * Encoding follows llama2.c's encode(): optional BOS (1), the dummy-prefix " " token for non-empty
 * text, one token per UTF-8 character (bytes + 3 when the character is not in the vocabulary),
 * then repeatedly the adjacent pair whose concatenation is in the vocabulary with the highest score
 * is merged (leftmost on ties). The merging runs on a heap over a linked list, which picks the same
 * pair every step as llama2.c's full rescan, in O(n log n). Decoding follows llama2.c's decode():
 * the leading space of the piece after BOS is dropped, "<0xXX>" pieces are raw bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

struct tok_l2c {
  int n;
  int max_len;
  float *score;
  uint32_t *off, *len;
  char *blob;
  tok_strmap map; /* string -> lowest id with that string */
};

static int32_t rd_i32(const uint8_t *p) {
  uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  int32_t r;
  memcpy(&r, &v, 4);
  return r;
}

static float rd_f32(const uint8_t *p) {
  uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  float f;
  memcpy(&f, &v, 4);
  return f;
}

void tok_l2c_free(tok_l2c *l) {
  if (!l) return;
  free(l->score);
  free(l->off);
  free(l->len);
  free(l->blob);
  tok_strmap_free(&l->map);
  free(l);
}

lethe_status tok_l2c_load(const uint8_t *data, size_t size, const char *name, tok_l2c **out) {
  *out = NULL;
  if (size < 4) return lethe_fail(LETHE_ERR_FORMAT, "%s: too short for a llama2.c tokenizer (%zu bytes)", name, size);
  int32_t mtl = rd_i32(data);
  if (mtl <= 0 || mtl > (1 << 20))
    return lethe_fail(LETHE_ERR_FORMAT,
        "%s: offset 0: max_token_length %d is not in [1, 2^20] (not a llama2.c "
        "tokenizer?)",
        name, (int)mtl);
  /* count the entries first */
  size_t p = 4, n = 0;
  while (p < size) {
    if (size - p < 8)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: offset %zu: token %zu is truncated (%zu bytes left)", name, p, n, size - p);
    int32_t len = rd_i32(data + p + 4);
    if (len < 0 || len > mtl)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: offset %zu: token %zu has length %d, outside [0, max_token_length %d]",
          name, p + 4, n, (int)len, (int)mtl);
    if (size - p - 8 < (size_t)len)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: offset %zu: token %zu is truncated", name, p, n);
    p += 8 + (size_t)len;
    n++;
    if (n > (1u << 24)) return lethe_fail(LETHE_ERR_FORMAT, "%s: more than 2^24 tokens", name);
  }
  if (n < 3)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %zu tokens; a llama2.c vocabulary starts with <unk>, <s>, </s>", name, n);
  tok_l2c *l = calloc(1, sizeof *l);
  if (!l) return tok_nomem("llama2.c tokenizer");
  l->n = (int)n;
  l->max_len = mtl;
  l->score = malloc(n * sizeof *l->score);
  l->off = malloc(n * sizeof *l->off);
  l->len = malloc(n * sizeof *l->len);
  l->blob = malloc(size + n);
  lethe_status st = LETHE_OK;
  if (!l->score || !l->off || !l->len || !l->blob) st = tok_nomem("llama2.c tokenizer");
  if (st == LETHE_OK) st = tok_strmap_init(&l->map, n);
  size_t b = 0;
  p = 4;
  for (size_t i = 0; i < n && st == LETHE_OK; i++) {
    l->score[i] = rd_f32(data + p);
    size_t len = (size_t)rd_i32(data + p + 4);
    memcpy(l->blob + b, data + p + 8, len);
    l->blob[b + len] = 0;
    l->off[i] = (uint32_t)b;
    l->len[i] = (uint32_t)len;
    if (tok_strmap_get(&l->map, l->blob + b, len) < 0) st = tok_strmap_put(&l->map, l->blob + b, len, (int32_t)i, NULL);
    b += len + 1;
    p += 8 + len;
  }
  if (st != LETHE_OK) {
    tok_l2c_free(l);
    return st;
  }
  *out = l;
  return LETHE_OK;
}

int tok_l2c_vocab_size(const tok_l2c *l) { return l->n; }

int tok_l2c_token_to_id(const tok_l2c *l, const char *s, size_t n) { return tok_strmap_get(&l->map, s, n); }

const char *tok_l2c_piece(const tok_l2c *l, int id, size_t *len) {
  *len = l->len[id];
  return l->blob + l->off[id];
}

float tok_l2c_score(const tok_l2c *l, int id) { return l->score[id]; }

typedef struct {
  float score;
  uint32_t pos;
  int32_t left, right, id;
} cand;

/* higher score first, then further left */
static inline int better(const cand *a, const cand *b) {
  return a->score > b->score || (a->score == b->score && a->pos < b->pos);
}

static void push(cand *h, size_t *n, cand x) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!better(&x, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = x;
}

static cand pop(cand *h, size_t *n) {
  cand top = h[0], x = h[--(*n)];
  size_t i = 0, m = *n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= m) break;
    if (c + 1 < m && better(&h[c + 1], &h[c])) c++;
    if (!better(&h[c], &x)) break;
    h[i] = h[c];
    i = c;
  }
  if (m) h[i] = x;
  return top;
}

typedef struct {
  int32_t id, prev, next;
} node;

/* Pushes the pair (a, next(a)) when its concatenation is a token llama2.c could pick. */
static lethe_status consider(const tok_l2c *l, const node *nd, int32_t a, lethe_sbuf *cat, cand *h, size_t *nh) {
  int32_t b = nd[a].next;
  if (b < 0) return LETHE_OK;
  int32_t ia = nd[a].id, ib = nd[b].id;
  cat->n = 0;
  LETHE_TRY(lethe_sbuf_put(cat, l->blob + l->off[ia], l->len[ia]));
  LETHE_TRY(lethe_sbuf_put(cat, l->blob + l->off[ib], l->len[ib]));
  int32_t id = tok_strmap_get(&l->map, cat->p, cat->n);
  if (id < 0) return LETHE_OK;
  float s = l->score[id];
  if (!(s > -1e10f)) return LETHE_OK; /* llama2.c starts its search at -1e10 */
  push(h, nh, (cand){s, (uint32_t)a, ia, ib, id});
  return LETHE_OK;
}

lethe_status tok_l2c_encode(const tok_l2c *l, const char *text, size_t len, int bos, tok_ivec *out) {
  size_t start = out->n;
  if (bos) LETHE_TRY(tok_ivec_push(out, 1));
  /* as in llama2.c, BOS takes part in the merging (its string never forms a merge in practice) */
  if (len > 0) {
    int32_t sp = tok_strmap_get(&l->map, " ", 1);
    if (sp >= 0) LETHE_TRY(tok_ivec_push(out, sp));
  }
  for (size_t i = 0; i < len;) {
    size_t k = tok_utf8_len((unsigned char)text[i]);
    int32_t id = tok_strmap_get(&l->map, text + i, k);
    if (id >= 0) {
      LETHE_TRY(tok_ivec_push(out, id));
    } else {
      for (size_t b = 0; b < k; b++) {
        int fb = (unsigned char)text[i + b] + 3;
        if (fb >= l->n)
          return lethe_fail(LETHE_ERR_INVALID,
              "tokenizer: byte fallback for byte 0x%02X at offset %zu needs id %d, "
              "beyond the vocabulary (%d)",
              (unsigned char)text[i + b], i + b, fb, l->n);
        LETHE_TRY(tok_ivec_push(out, fb));
      }
    }
    i += k;
  }
  size_t n = out->n - start;
  if (n < 2) return LETHE_OK;
  node *nd = malloc(n * sizeof *nd);
  cand *h = malloc((3 * n + 4) * sizeof *h);
  lethe_sbuf cat = {0};
  lethe_status st = (nd && h) ? LETHE_OK : tok_nomem("encode");
  size_t nh = 0;
  int *ids = out->p + start;
  for (size_t i = 0; i < n && st == LETHE_OK; i++) {
    nd[i].id = ids[i];
    nd[i].prev = (int32_t)i - 1;
    nd[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
  }
  for (size_t i = 0; i + 1 < n && st == LETHE_OK; i++) st = consider(l, nd, (int32_t)i, &cat, h, &nh);
  while (nh && st == LETHE_OK) {
    cand c = pop(h, &nh);
    node *a = &nd[c.pos];
    if (a->id != c.left || a->next < 0 || nd[a->next].id != c.right) continue; /* outdated */
    node *b = &nd[a->next];
    a->id = c.id;
    b->id = -1;
    a->next = b->next;
    if (b->next >= 0) nd[b->next].prev = (int32_t)c.pos;
    if (a->prev >= 0) st = consider(l, nd, a->prev, &cat, h, &nh);
    if (st == LETHE_OK) st = consider(l, nd, (int32_t)c.pos, &cat, h, &nh);
  }
  if (st == LETHE_OK) {
    size_t w = 0;
    for (int32_t i = 0; i >= 0; i = nd[i].next) ids[w++] = nd[i].id;
    out->n = start + w;
  }
  free(nd);
  free(h);
  lethe_sbuf_free(&cat);
  return st;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

lethe_status tok_l2c_decode(const tok_l2c *l, const int *ids, int n, int skip_special, lethe_sbuf *out) {
  lethe_sbuf raw = {0};
  lethe_status st = LETHE_OK;
  for (int i = 0; i < n && st == LETHE_OK; i++) {
    int id = ids[i];
    if (id < 0 || id >= l->n) {
      st = lethe_fail(LETHE_ERR_INVALID,
          "tokenizer: decode: id %d at position %d is outside the "
          "vocabulary [0, %d)",
          id, i, l->n);
      break;
    }
    if (skip_special && id <= 2) continue;
    const char *piece = l->blob + l->off[id];
    size_t plen = l->len[id];
    if (i > 0 && ids[i - 1] == 1 && plen > 0 && piece[0] == ' ') {
      piece++;
      plen--;
    }
    /* sscanf(piece, "<0x%02hhX>") succeeds on "<0x" and one or two hex digits */
    if (plen >= 4 && !memcmp(piece, "<0x", 3) && hexval(piece[3]) >= 0) {
      int v = hexval(piece[3]);
      if (plen >= 5 && hexval(piece[4]) >= 0) v = v * 16 + hexval(piece[4]);
      char c = (char)v;
      st = lethe_sbuf_put(&raw, &c, 1);
      continue;
    }
    st = lethe_sbuf_put(&raw, piece, plen);
  }
  /* raw bytes may not be UTF-8; the text handed back always is */
  if (st == LETHE_OK) st = tok_utf8_lossy(raw.p ? raw.p : "", raw.n, out);
  lethe_sbuf_free(&raw);
  return st;
}
