/* fuzz/fuzz_tokenizer_load.c: libFuzzer harness for the tokenizer loaders: arbitrary bytes as a
 * tokenizer.json (or, when the first byte is 'L', as a llama2.c tokenizer file, which is also
 * converted to tokenizer.json by the importer and loaded). Whatever loads is exercised: a few
 * encodes (fixed texts and the input itself), decoding of every id up to 300, the vocabulary
 * queries. A malformed file must give an error, never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/tokenizer.h"
#include "tokenizer/tok_internal.h"

static void exercise(const lethe_tokenizer *t, const uint8_t *data, size_t size) {
  static const char *const texts[] = {
      "", "a", "Hello world, it's 2024!", "  x\n\ty  ", "\xC3\xA9\xE2\x96\x81\xF0\x9F\x98\x80 <s> <|endoftext|>"};
  int vs = lethe_tokenizer_vocab_size(t);
  for (size_t k = 0; k < sizeof texts / sizeof *texts + 1; k++) {
    const char *s = k < 5 ? texts[k] : (const char *)data;
    size_t n = k < 5 ? strlen(s) : (size < 512 ? size : 512);
    for (int sp = 0; sp < 2; sp++) {
      int *ids = NULL, m = 0;
      if (lethe_tokenizer_encode(t, s, n, sp, &ids, &m) == LETHE_OK) {
        for (int i = 0; i < m; i++)
          if (ids[i] < 0 || ids[i] >= vs) abort();
        char *d = NULL;
        if (lethe_tokenizer_decode(t, ids, m, sp, &d, NULL) != LETHE_OK) abort();
        free(d);
      }
      free(ids);
    }
  }
  int lim = vs < 300 ? vs : 300;
  int *all = malloc(((size_t)lim + 1) * sizeof *all);
  for (int i = 0; i < lim; i++) all[i] = i;
  char *d = NULL;
  if (lethe_tokenizer_decode(t, all, lim, 0, &d, NULL) != LETHE_OK) abort();
  free(d);
  free(all);
  (void)lethe_tokenizer_bos_id(t);
  (void)lethe_tokenizer_eos_id(t);
  (void)lethe_tokenizer_is_special(t, vs - 1);
  (void)lethe_tokenizer_token_to_id(t, "<s>");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 20)) return 0;
  if (size > 0 && data[0] == 'L') {
    tok_l2c *l = NULL;
    if (tok_l2c_load(data + 1, size - 1, "fuzz.bin", &l) == LETHE_OK) {
      tok_ivec out = {0};
      (void)tok_l2c_encode(l, "Once upon a time", 16, 1, &out);
      lethe_sbuf b = {0};
      (void)tok_l2c_decode(l, out.p, (int)out.n, 0, &b);
      lethe_sbuf_free(&b);
      tok_ivec_free(&out);
      char *json = NULL;
      lethe_tokenizer *t = NULL;
      if (tok_l2c_import_json(l, "fuzz.bin", &json) == LETHE_OK &&
          lethe_tokenizer_load_json(json, strlen(json), "fuzz.bin", &t) == LETHE_OK) {
        exercise(t, data, size);
        lethe_tokenizer_free(t);
      }
      free(json);
      tok_l2c_free(l);
    }
    return 0;
  }
  lethe_tokenizer *t = NULL;
  if (lethe_tokenizer_load_json((const char *)data, size, "fuzz.json", &t) == LETHE_OK) {
    exercise(t, data, size);
    lethe_tokenizer_free(t);
  } else if (t) {
    abort();
  }
  return 0;
}
