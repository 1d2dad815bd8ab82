/* tokenizer/tok_cache.c: the BPE word cache: pre-token -> ids, shared by all threads that encode
 * with one tokenizer. It is split into shards, each behind its own mutex that is only ever
 * try-locked: a thread that finds a shard busy treats the lookup as a miss (and skips the store)
 * instead of waiting, so the cache never serialises encoders. A full shard is emptied and refilled.
 * Results never depend on it: a word merges the same way with or without the cache. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

#define SHARDS 16
#define SLOTS 4096           /* per shard, power of two */
#define MAX_WORD 256         /* longer words are not cached */
#define ARENA_MAX (1u << 20) /* bytes of keys + ids per shard before it is emptied */

typedef struct {
  uint64_t h; /* 0: empty */
  uint32_t off, klen, nids;
} cslot;

typedef struct {
  pthread_mutex_t mu;
  cslot *slots;
  size_t count;
  lethe_sbuf arena;
} shard;

struct tok_cache {
  shard sh[SHARDS];
};

tok_cache *tok_cache_new(void) {
  tok_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  for (int i = 0; i < SHARDS; i++) {
    pthread_mutex_init(&c->sh[i].mu, NULL);
    c->sh[i].slots = calloc(SLOTS, sizeof(cslot));
    if (!c->sh[i].slots) {
      for (int j = 0; j <= i; j++) {
        free(c->sh[j].slots);
        pthread_mutex_destroy(&c->sh[j].mu);
      }
      free(c);
      return NULL;
    }
  }
  return c;
}

void tok_cache_free(tok_cache *c) {
  if (!c) return;
  for (int i = 0; i < SHARDS; i++) {
    free(c->sh[i].slots);
    lethe_sbuf_free(&c->sh[i].arena);
    pthread_mutex_destroy(&c->sh[i].mu);
  }
  free(c);
}

static inline uint64_t nz(uint64_t h) { return h ? h : 1; }

int tok_cache_get(tok_cache *c, uint64_t h, const char *s, size_t n, tok_ivec *out) {
  if (!c || n > MAX_WORD) return 0;
  h = nz(h);
  shard *sh = &c->sh[h >> 60];
  if (pthread_mutex_trylock(&sh->mu) != 0) return 0;
  size_t i = h & (SLOTS - 1);
  int hit = 0;
  for (;;) {
    cslot *sl = &sh->slots[i];
    if (!sl->h) break;
    if (sl->h == h && sl->klen == n && !memcmp(sh->arena.p + sl->off, s, n)) {
      if (sl->nids == 0) {
        hit = 1; /* a word whose characters were all dropped */
      } else if (tok_ivec_reserve(out, sl->nids) == LETHE_OK) {
        memcpy(out->p + out->n, sh->arena.p + sl->off + sl->klen, sl->nids * sizeof(int));
        out->n += sl->nids;
        hit = 1;
      }
      break;
    }
    i = (i + 1) & (SLOTS - 1);
  }
  pthread_mutex_unlock(&sh->mu);
  return hit;
}

void tok_cache_put(tok_cache *c, uint64_t h, const char *s, size_t n, const int *ids, size_t nids) {
  if (!c || n > MAX_WORD || nids > MAX_WORD) return;
  h = nz(h);
  shard *sh = &c->sh[h >> 60];
  if (pthread_mutex_trylock(&sh->mu) != 0) return;
  if ((sh->count + 1) * 4 > (size_t)SLOTS * 3 || sh->arena.n + n + nids * sizeof(int) > ARENA_MAX) {
    memset(sh->slots, 0, SLOTS * sizeof(cslot));
    sh->count = 0;
    sh->arena.n = 0;
  }
  size_t i = h & (SLOTS - 1);
  for (;;) {
    cslot *sl = &sh->slots[i];
    if (!sl->h) break;
    if (sl->h == h && sl->klen == n && !memcmp(sh->arena.p + sl->off, s, n)) goto done;
    i = (i + 1) & (SLOTS - 1);
  }
  /* keys and ids are stored unaligned and read back with memcpy */
  size_t off = sh->arena.n;
  if (lethe_sbuf_put(&sh->arena, s, n) != LETHE_OK || lethe_sbuf_put(&sh->arena, ids, nids * sizeof(int)) != LETHE_OK) {
    sh->arena.n = off;
    goto done;
  }
  cslot *sl = &sh->slots[i];
  sl->h = h;
  sl->off = (uint32_t)off;
  sl->klen = (uint32_t)n;
  sl->nids = (uint32_t)nids;
  sh->count++;
done:
  pthread_mutex_unlock(&sh->mu);
}
