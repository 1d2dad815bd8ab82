/* fuzz/fuzz_gen_config.c: generation_config.json and chat templates on arbitrary bytes. The input
 * is split at the first NUL byte: the part before it is parsed as generation_config.json and as a
 * chat_template; the template, when recognised, renders a conversation made of the part after it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/chat.h"
#include "lethe/generate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t n = nul ? (size_t)(nul - data) : size;
  lethe_gen_config g;
  (void)lethe_gen_config_parse((const char *)data, n, "fuzz/generation_config.json", &g);
  char *tmpl = malloc(n + 1), *rest = NULL;
  if (!tmpl) return 0;
  memcpy(tmpl, data, n);
  tmpl[n] = 0;
  size_t rn = nul ? size - n - 1 : 0;
  rest = malloc(rn + 1);
  if (rest) {
    if (rn) memcpy(rest, nul + 1, rn);
    rest[rn] = 0;
    lethe_chat_template t;
    if (lethe_chat_template_parse(tmpl, "<s>", "</s>", "fuzz/tokenizer_config.json", &t) == LETHE_OK) {
      lethe_chat_msg msgs[4] = {{"system", rest}, {"user", rest}, {"assistant", rest}, {"user", rest}};
      char *out = NULL;
      for (int k = 0; k < 4; k++) {
        if (lethe_chat_render(&t, msgs + (rn & 1), 4 - (int)(rn & 1) - k % 2, k & 1, &out) == LETHE_OK) free(out);
      }
      lethe_chat_template_free(&t);
    }
  }
  free(rest);
  free(tmpl);
  return 0;
}
