/* fuzz/fuzz_adapter.c: the PEFT adapter loader on arbitrary bytes. The input is split at the
 * first NUL byte into adapter_config.json text and an adapter_model.safetensors image, loaded
 * against a tiny random OLMo-shaped model (2 layers, d 16). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/lora.h"
#include "model/model.h"

static lethe_model *model(void) {
  static lethe_model *m;
  if (!m) {
    lethe_config c;
    memset(&c, 0, sizeof c);
    c.arch = LETHE_ARCH_OLMO;
    strcpy(c.model_type, "olmo");
    c.vocab_size = 32;
    c.dim = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    c.hidden_dim = 24;
    c.max_seq_len = 16;
    c.norm_eps = 1e-5;
    c.rope_theta = 10000;
    c.bos_id = c.pad_id = -1;
    if (lethe_model_create(&c, 1, 0.02f, &m) != LETHE_OK) abort();
  }
  return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  if (!nul) return 0;
  size_t cfg_len = (size_t)(nul - data);
  lethe_lora *l = NULL;
  if (lethe_lora_load_parts((const char *)data, cfg_len, "fuzz/adapter_config.json", nul + 1, size - cfg_len - 1,
          "fuzz/adapter_model.safetensors", model(), &l) == LETHE_OK)
    lethe_lora_free(l);
  return 0;
}
