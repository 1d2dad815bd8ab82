/* bench/tokenizer_bench.c: single-thread encode throughput of a tokenizer on JSONL text (the
 * "input" and "output" of every row, each encoded on its own, without special tokens): the first
 * pass after loading (cold word cache) and the best of --reps further passes, in MB/s and tokens/s,
 * with a hash of all ids so that the Python peer (bench/tokenizer_peer.py) can be checked to give
 * the same tokens. Usage: tokenizer_bench [--reps N] TOKENIZER FILE.jsonl... */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe/tokenizer.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
  char **s;
  size_t *len;
  size_t n, cap, bytes;
} texts;

static void add_text(texts *t, const json_t *v) {
  if (!json_is_string(v)) return;
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 1024;
    t->s = realloc(t->s, t->cap * sizeof *t->s);
    t->len = realloc(t->len, t->cap * sizeof *t->len);
    if (!t->s || !t->len) exit(1);
  }
  size_t n = json_string_length(v);
  t->s[t->n] = malloc(n + 1);
  memcpy(t->s[t->n], json_string_value(v), n + 1);
  t->len[t->n++] = n;
  t->bytes += n;
}

static int read_jsonl(const char *path, texts *t) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "tokenizer_bench: cannot open %s\n", path);
    return 1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, fp)) > 0) {
    json_t *row = json_loadb(line, (size_t)n, 0, NULL);
    if (!row) continue;
    add_text(t, json_object_get(row, "input"));
    add_text(t, json_object_get(row, "output"));
    json_decref(row);
  }
  free(line);
  fclose(fp);
  return 0;
}

/* One pass over all texts; returns seconds, sets the token count and the ids' hash. */
static double pass(const lethe_tokenizer *tok, const texts *t, size_t *ntok, uint64_t *hash) {
  uint64_t h = 0xCBF29CE484222325ull;
  size_t total = 0;
  double t0 = now();
  for (size_t i = 0; i < t->n; i++) {
    int *ids = NULL, n = 0;
    if (lethe_tokenizer_encode(tok, t->s[i], t->len[i], 0, &ids, &n) != LETHE_OK) {
      fprintf(stderr, "tokenizer_bench: %s\n", lethe_last_error());
      exit(1);
    }
    total += (size_t)n;
    for (int k = 0; k < n; k++) { /* FNV-1a over the ids as little-endian int32 */
      uint32_t v = (uint32_t)ids[k];
      for (int b = 0; b < 4; b++) {
        h ^= (v >> (8 * b)) & 0xFF;
        h *= 0x100000001B3ull;
      }
    }
    free(ids);
  }
  double dt = now() - t0;
  *ntok = total;
  *hash = h;
  return dt;
}

int main(int argc, char **argv) {
  int reps = 5, a = 1;
  if (a + 1 < argc && !strcmp(argv[a], "--reps")) {
    reps = atoi(argv[a + 1]);
    a += 2;
  }
  if (argc - a < 2 || reps < 1) {
    fprintf(stderr, "usage: tokenizer_bench [--reps N] TOKENIZER FILE.jsonl...\n");
    return 2;
  }
  texts t = {0};
  for (int i = a + 1; i < argc; i++)
    if (read_jsonl(argv[i], &t)) return 1;
  lethe_tokenizer *tok = NULL;
  double l0 = now();
  if (lethe_tokenizer_load(argv[a], &tok) != LETHE_OK) {
    fprintf(stderr, "tokenizer_bench: %s\n", lethe_last_error());
    return 1;
  }
  double load = now() - l0;
  size_t ntok;
  uint64_t h;
  double cold = pass(tok, &t, &ntok, &h), best = 1e30;
  for (int r = 0; r < reps; r++) {
    size_t n2;
    uint64_t h2;
    double dt = pass(tok, &t, &n2, &h2);
    if (n2 != ntok || h2 != h) {
      fprintf(stderr, "tokenizer_bench: passes disagree\n");
      return 1;
    }
    if (dt < best) best = dt;
  }
  printf("# lethe: %zu texts, %zu bytes, %zu tokens, ids hash %016llx, load %.3f s\n", t.n, t.bytes, ntok,
      (unsigned long long)h, load);
  printf("%-28s %10s %12s %14s\n", "side", "seconds", "MB/s", "tokens/s");
  printf("%-28s %10.4f %12.2f %14.0f\n", "lethe (first pass)", cold, (double)t.bytes / cold / 1e6, (double)ntok / cold);
  printf(
      "%-28s %10.4f %12.2f %14.0f\n", "lethe (best of reps)", best, (double)t.bytes / best / 1e6, (double)ntok / best);
  for (size_t i = 0; i < t.n; i++) free(t.s[i]);
  free(t.s);
  free(t.len);
  lethe_tokenizer_free(tok);
  return 0;
}
