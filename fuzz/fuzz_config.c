/* fuzz/fuzz_config.c: config.json parsing and validation on arbitrary bytes; an accepted config
 * must also survive a write-and-reparse round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lethe_config c;
  if (lethe_config_parse((const char *)data, size, "fuzz", &c) != LETHE_OK) return 0;
  char *j = lethe_config_to_json(&c);
  if (j) {
    lethe_config c2;
    if (lethe_config_parse(j, strlen(j), "roundtrip", &c2) != LETHE_OK) abort();
    if (c2.dim != c.dim || c2.n_layers != c.n_layers || c2.vocab_size != c.vocab_size || c2.n_kv_heads != c.n_kv_heads)
      abort();
    free(j);
  }
  return 0;
}
