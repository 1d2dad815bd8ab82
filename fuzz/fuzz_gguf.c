/* fuzz/fuzz_gguf.c: libFuzzer harness for the GGUF reader: arbitrary bytes through the container
 * parser (lethe_gguf_parse, from memory), then, for what parses, every metadata lookup, the
 * dequantisation of every tensor of a supported type, the model mapping (lethe_gguf_model) and the
 * tokenizer.json derivation (lethe_gguf_tokenizer_json_from). Any crash, sanitizer report or
 * out-of-memory is a finding. */
#include <stdint.h>
#include <stdlib.h>

#include "io/gguf.h"
#include "lethe/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lethe_gguf g;
  if (lethe_gguf_parse(data, size, "fuzz", &g) != LETHE_OK) return 0;
  for (size_t i = 0; i < g.n_kv; i++) {
    int64_t iv;
    double dv;
    int b;
    char *str = NULL;
    lethe_gguf_get_int(&g, g.kv[i].key, 0, INT64_MIN, INT64_MAX, &iv, NULL);
    lethe_gguf_get_float(&g, g.kv[i].key, 0, &dv, NULL);
    lethe_gguf_get_bool(&g, g.kv[i].key, &b, NULL);
    lethe_gguf_get_str(&g, g.kv[i].key, 0, &str);
    free(str);
    if (g.kv[i].type == GGUF_ARRAY && lethe_gguf_type_is_number(g.kv[i].arr_type) && g.kv[i].arr_n)
      (void)(lethe_gguf_arr_f64(&g.kv[i], g.kv[i].arr_n - 1) + (double)lethe_gguf_arr_i64(&g.kv[i], 0));
  }
  for (size_t i = 0; i < g.n_tensors; i++) {
    const lethe_gguf_tensor *t = &g.tensors[i];
    if (!lethe_ggml_type_supported(t->type) || t->numel > ((size_t)1 << 26)) continue;
    float *x = malloc(sizeof(float) * t->numel);
    if (x) lethe_gguf_tensor_f32(&g, t, x);
    free(x);
  }
  lethe_model *m = NULL;
  if (lethe_gguf_model(&g, &m) == LETHE_OK) lethe_model_free(m);
  char *json = NULL;
  if (lethe_gguf_tokenizer_json_from(&g, &json) == LETHE_OK) free(json);
  lethe_gguf_close(&g);
  return 0;
}
