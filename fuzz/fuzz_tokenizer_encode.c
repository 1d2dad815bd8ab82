/* fuzz/fuzz_tokenizer_encode.c: libFuzzer harness for encoding and decoding. The first byte picks
 * a tokenizer (the built-in one always; gpt2, olmo-0724, llama3, mistral and llama2.c's tok512.bin
 * from ../shared when found: LETHE_SHARED, else the shared/ beside this repository) and whether
 * special tokens are added; the rest is the text. Invalid UTF-8 must be refused with
 * LETHE_ERR_INVALID; otherwise every id must be in the vocabulary, decoding must succeed, and for
 * the tokenizers that are lossless on any text (built-in, gpt2, llama3) decoding must give the
 * text back. The same bytes are also decoded as a list of ids. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/tokenizer.h"
#include "tokenizer/tok_internal.h"

typedef struct {
  lethe_tokenizer *t;
  int lossless;
} entry;

static entry g_tok[8];
static int g_n;

static void add(const char *dir, const char *rel, int lossless) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  lethe_tokenizer *t = NULL;
  if (lethe_tokenizer_load(path, &t) == LETHE_OK) {
    g_tok[g_n].t = t;
    g_tok[g_n++].lossless = lossless;
  } else {
    fprintf(stderr, "fuzz_tokenizer_encode: skipping %s: %s\n", path, lethe_last_error());
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  lethe_tokenizer *b = NULL;
  if (lethe_tokenizer_builtin(&b) != LETHE_OK) abort();
  g_tok[g_n].t = b;
  g_tok[g_n++].lossless = 1;
  char dir[4096];
  const char *env = getenv("LETHE_SHARED");
  if (env) {
    snprintf(dir, sizeof dir, "%s", env);
  } else { /* this file is REPO/fuzz/fuzz_tokenizer_encode.c; shared/ sits beside REPO */
    snprintf(dir, sizeof dir, "%s", __FILE__);
    for (int k = 0; k < 2; k++) {
      char *s = strrchr(dir, '/');
      if (s) *s = 0;
    }
    strncat(dir, "/../shared", sizeof dir - strlen(dir) - 1);
  }
  add(dir, "tokenizers/gpt2/tokenizer.json", 1);
  add(dir, "tokenizers/olmo-0724/tokenizer.json", 0);
  add(dir, "tokenizers/llama3/tokenizer.json", 1);
  add(dir, "tokenizers/mistral/tokenizer.json", 0);
  add(dir, "models/stories260K/tok512.bin", 0);
  fprintf(stderr, "fuzz_tokenizer_encode: %d tokenizers\n", g_n);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const entry *e = &g_tok[data[0] % g_n];
  int special = (data[0] >> 7) & 1;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  if (len > 1 << 16) return 0;
  int valid = tok_utf8_invalid_at(text, len) == len;
  int *ids = NULL, n = 0;
  lethe_status st = lethe_tokenizer_encode(e->t, text, len, special, &ids, &n);
  if (!valid) {
    if (st != LETHE_ERR_INVALID || ids || n) abort();
  } else if (st == LETHE_OK) {
    int vs = lethe_tokenizer_vocab_size(e->t);
    for (int i = 0; i < n; i++)
      if (ids[i] < 0 || ids[i] >= vs) abort();
    char *back = NULL;
    size_t blen = 0;
    if (lethe_tokenizer_decode(e->t, ids, n, 0, &back, &blen) != LETHE_OK) abort();
    if (tok_utf8_invalid_at(back, blen) != blen) abort();
    if (e->lossless && !special && (blen != len || memcmp(back, text, len))) abort();
    free(back);
    if (lethe_tokenizer_decode(e->t, ids, n, 1, &back, &blen) != LETHE_OK) abort();
    free(back);
  } else if (st != LETHE_ERR_INVALID) { /* e.g. a byte fallback beyond a small vocabulary */
    abort();
  }
  free(ids);
  /* the bytes as ids, in and out of range */
  int m = (int)(len / 4);
  if (m > 0) {
    int *v = malloc((size_t)m * sizeof *v);
    memcpy(v, text, (size_t)m * sizeof *v);
    int vs = lethe_tokenizer_vocab_size(e->t);
    int inrange = 1;
    for (int i = 0; i < m; i++) {
      if (data[0] & 0x40) v[i] = (int)((unsigned)v[i] % (unsigned)vs);
      if (v[i] < 0 || v[i] >= vs) inrange = 0;
    }
    char *s = NULL;
    size_t sl = 0;
    st = lethe_tokenizer_decode(e->t, v, m, data[0] & 0x20, &s, &sl);
    if ((st == LETHE_OK) != inrange) abort();
    if (st == LETHE_OK && tok_utf8_invalid_at(s, sl) != sl) abort();
    free(s);
    free(v);
  }
  return 0;
}
