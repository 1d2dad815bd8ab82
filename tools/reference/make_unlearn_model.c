/* tools/reference/make_unlearn_model.c: writes tests/fixtures/unlearn/tiny_llama, the from-scratch
 * model test_unlearn_cli memorises and then unlearns (so that its SIGKILL-resume, NPO and bad-data
 * cases run on committed files and never skip): Llama architecture, dim 64, 2 layers, 4 heads,
 * MLP 192, the built-in 259-id byte tokenizer, weights drawn by lethe_model_create (seed 7, std 0.02).
 * Build against a build of the library and run from the repository root:
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude tools/reference/make_unlearn_model.c build/src/liblethe.a \
 *      -fopenmp -lopenblas $(pkg-config --libs jansson libpcre2-8 libutf8proc) -lm -o /tmp/mk
 *   /tmp/mk tests/fixtures/unlearn/tiny_llama */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "lethe/util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  lethe_config c;
  memset(&c, 0, sizeof c);
  c.arch = LETHE_ARCH_LLAMA;
  snprintf(c.model_type, sizeof c.model_type, "llama");
  c.vocab_size = 259;
  c.dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 4;
  c.head_dim = c.dim / c.n_heads;
  c.hidden_dim = 3 * c.dim;
  c.max_seq_len = 512;
  c.norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.bos_id = -1;
  c.eos_ids[0] = 258;
  c.n_eos = 1;
  c.pad_id = 256;
  snprintf(c.dtype, sizeof c.dtype, "float32");
  lethe_model *m;
  lethe_status s = lethe_model_create(&c, 7, 0.02f, &m);
  if (!s) s = lethe_model_save(m, argv[1], "float32", 0);
  if (!s) {
    char *tj = lethe_tokenizer_builtin_json(), *tp = lethe_path_join(argv[1], "tokenizer.json");
    s = lethe_write_file_atomic(tp, tj, strlen(tj));
    free(tj);
    free(tp);
  }
  if (s) fprintf(stderr, "%s\n", lethe_last_error());
  return s ? 1 : 0;
}
