/* tokenizer/tok_hash.c: a fast byte-string hash and the two open-addressing maps the tokenizer
 * needs: token string -> id, and (left id, right id) -> (merge rank, merged id). */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

static inline uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t tok_hash(const void *p, size_t n) {
  const unsigned char *s = p;
  const uint64_t k0 = 0xA0761D6478BD642Full, k1 = 0xE7037ED1A0B428DBull, k2 = 0x8EBC6AF09C88C6E3ull;
  uint64_t h = k0 ^ (uint64_t)n;
  while (n >= 16) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + 8, 8);
    h = mix(a ^ k1, b ^ h);
    s += 16;
    n -= 16;
  }
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    memcpy(&a, s, 8);
    if (n > 8) memcpy(&b, s + n - 8, 8);
  } else if (n >= 4) {
    uint32_t x, y;
    memcpy(&x, s, 4);
    memcpy(&y, s + n - 4, 4);
    a = x;
    b = y;
  } else if (n > 0) {
    a = ((uint64_t)s[0] << 16) | ((uint64_t)s[n >> 1] << 8) | s[n - 1];
  }
  return mix(a ^ k2 ^ h, b ^ k1);
}

static size_t pow2_at_least(size_t n) {
  size_t c = 16;
  while (c < n) c <<= 1;
  return c;
}

lethe_status tok_strmap_init(tok_strmap *m, size_t expect) {
  memset(m, 0, sizeof *m);
  size_t cap = pow2_at_least(expect * 2 + 1);
  m->slots = calloc(cap, sizeof *m->slots);
  if (!m->slots) return tok_nomem("vocabulary map");
  m->mask = cap - 1;
  return LETHE_OK;
}

static lethe_status strmap_grow(tok_strmap *m) {
  size_t cap = (m->mask + 1) * 2;
  tok_strmap_slot *s = calloc(cap, sizeof *s);
  if (!s) return tok_nomem("vocabulary map");
  for (size_t i = 0; i <= m->mask; i++) {
    tok_strmap_slot *o = &m->slots[i];
    if (!o->hash) continue;
    size_t j = o->hash & (cap - 1);
    while (s[j].hash) j = (j + 1) & (cap - 1);
    s[j] = *o;
  }
  free(m->slots);
  m->slots = s;
  m->mask = cap - 1;
  return LETHE_OK;
}

static inline uint32_t key_hash(const char *s, size_t n) {
  uint32_t h = (uint32_t)(tok_hash(s, n) >> 17);
  return h ? h : 1;
}

lethe_status tok_strmap_put(tok_strmap *m, const char *s, size_t n, int32_t val, int *was_new) {
  if (n > UINT32_MAX / 2 || m->keys.n > UINT32_MAX / 2) return tok_nomem("vocabulary map");
  if ((m->count + 1) * 2 > m->mask + 1) LETHE_TRY(strmap_grow(m));
  uint32_t h = key_hash(s, n);
  size_t i = h & m->mask;
  for (;;) {
    tok_strmap_slot *sl = &m->slots[i];
    if (!sl->hash) break;
    if (sl->hash == h && sl->len == n && !memcmp(m->keys.p + sl->off, s, n)) {
      sl->val = val;
      if (was_new) *was_new = 0;
      return LETHE_OK;
    }
    i = (i + 1) & m->mask;
  }
  size_t off = m->keys.n;
  LETHE_TRY(lethe_sbuf_put(&m->keys, s, n));
  tok_strmap_slot *sl = &m->slots[i];
  sl->hash = h;
  sl->off = (uint32_t)off;
  sl->len = (uint32_t)n;
  sl->val = val;
  m->count++;
  if (was_new) *was_new = 1;
  return LETHE_OK;
}

const tok_strmap_slot *tok_strmap_find(const tok_strmap *m, const char *s, size_t n) {
  if (!m->slots) return NULL;
  uint32_t h = key_hash(s, n);
  size_t i = h & m->mask;
  for (;;) {
    const tok_strmap_slot *sl = &m->slots[i];
    if (!sl->hash) return NULL;
    if (sl->hash == h && sl->len == n && !memcmp(m->keys.p + sl->off, s, n)) return sl;
    i = (i + 1) & m->mask;
  }
}

int32_t tok_strmap_get(const tok_strmap *m, const char *s, size_t n) {
  const tok_strmap_slot *sl = tok_strmap_find(m, s, n);
  return sl ? sl->val : -1;
}

void tok_strmap_free(tok_strmap *m) {
  free(m->slots);
  lethe_sbuf_free(&m->keys);
  memset(m, 0, sizeof *m);
}

lethe_status tok_pairmap_init(tok_pairmap *m, size_t expect) {
  size_t cap = pow2_at_least(expect * 2 + 1);
  m->slots = malloc(cap * sizeof *m->slots);
  if (!m->slots) return tok_nomem("merge map");
  for (size_t i = 0; i < cap; i++) m->slots[i].key = UINT64_MAX;
  m->mask = cap - 1;
  m->count = 0;
  return LETHE_OK;
}

lethe_status tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t id) {
  if ((m->count + 1) * 2 > m->mask + 1) {
    tok_pairmap bigger;
    LETHE_TRY(tok_pairmap_init(&bigger, (m->mask + 1)));
    for (size_t i = 0; i <= m->mask; i++) {
      tok_pair_slot *o = &m->slots[i];
      if (o->key == UINT64_MAX) continue;
      LETHE_TRY(tok_pairmap_put(&bigger, (int32_t)(o->key >> 32), (int32_t)(uint32_t)o->key, o->rank, o->id));
    }
    free(m->slots);
    *m = bigger;
  }
  uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  size_t i = (size_t)(h >> 32) & m->mask;
  for (;;) {
    tok_pair_slot *s = &m->slots[i];
    if (s->key == key) {
      s->rank = rank; /* a repeated merge keeps the later rank, as a HashMap collect does */
      s->id = id;
      return LETHE_OK;
    }
    if (s->key == UINT64_MAX) {
      s->key = key;
      s->rank = rank;
      s->id = id;
      m->count++;
      return LETHE_OK;
    }
    i = (i + 1) & m->mask;
  }
}

void tok_pairmap_free(tok_pairmap *m) {
  free(m->slots);
  memset(m, 0, sizeof *m);
}
