/* fuzz/fuzz_safetensors.c: the safetensors reader on arbitrary bytes: parse, then convert every
 * tensor it accepted (the conversions must stay inside the data the parser validated). */
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lethe_safetensors st;
  if (lethe_st_parse(data, size, "fuzz", &st) != LETHE_OK) return 0;
  for (int i = 0; i < st.n; i++) {
    const lethe_st_tensor *t = &st.tensors[i];
    if (t->numel > (1u << 20)) continue;
    float *f = malloc(sizeof(float) * (t->numel ? t->numel : 1));
    int32_t *x = malloc(sizeof(int32_t) * (t->numel ? t->numel : 1));
    lethe_st_to_f32(&st, t, f, t->numel);
    lethe_st_to_i32(&st, t, x, t->numel);
    free(f);
    free(x);
  }
  lethe_st_close(&st);
  return 0;
}
