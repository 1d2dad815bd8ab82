/* cli/cmd_merge.c: `lethe merge`: W + s B A written as a complete Hugging Face model directory:
 * config.json, safetensors in the base's dtype (sharded like the base when it was sharded), the
 * tokenizer files copied, all written atomically. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/lora.h"
#include "lethe/model.h"
#include "lethe/util.h"

/* The largest model-*.safetensors shard of a sharded base (0 when not sharded). */
static size_t base_shard_bytes(const char *dir) {
  char *idx = lethe_path_join(dir, "model.safetensors.index.json");
  int sharded = idx && lethe_file_exists(idx);
  free(idx);
  if (!sharded) return 0;
  size_t best = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 12 || strcmp(e->d_name + n - 12, ".safetensors") != 0) continue;
    char *p = lethe_path_join(dir, e->d_name);
    struct stat st;
    if (p && stat(p, &st) == 0 && (size_t)st.st_size > best) best = (size_t)st.st_size;
    free(p);
  }
  if (d) closedir(d);
  return best;
}

int cmd_merge(int argc, char **argv) {
  const char *model = NULL, *adapter = NULL, *out = NULL, *dtype = NULL;
  int force = 0;
  const cli_arg defs[] = {
      {"model", ARG_STR, &model, "base model: HF directory (or llama2.c / GGUF file)", 1, 0, 0, NULL},
      {"adapter", ARG_STR, &adapter, "PEFT LoRA adapter directory", 1, 0, 0, NULL},
      {"out", ARG_STR, &out, "the merged HF model directory", 1, 0, 0, NULL},
      {"dtype", ARG_STR, &dtype, "weights dtype: float32, bfloat16, float16 (default: the base's)", 0, 0, 0, NULL},
      {"force", ARG_FLAG, &force, "replace --out even when it is not a model directory lethe wrote (a link itself, never its target)", 0, 0, 0, NULL},
  };
  int rc = cli_parse("merge", "Merges a LoRA adapter into the base weights (W + s B A) and writes a complete HF model directory.",
                     argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  /* never over an input, nor over what lethe did not write (checked before the work) */
  const char *inputs[] = {model, adapter};
  if (lethe_out_apart(out, "--out", inputs, 2) || (!force && lethe_out_check(out, "model"))) return cli_report("merge");
  lethe_model *m = NULL;
  lethe_lora *lora = NULL;
  int status = 1;
  if (lethe_model_load(model, &m) || lethe_lora_load(adapter, m, &lora) || lethe_lora_merge(m, lora)) {
    status = cli_report("merge");
    goto done;
  }
  const char *dt = dtype ? dtype : lethe_model_config(m)->dtype;
  if (!strcmp(dt, "auto") || !*dt) dt = "float32";
  static const char *const names[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                      "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model"};
  enum { NN = sizeof names / sizeof *names };
  char *files[NN] = {0};
  int nf = 0;
  if (lethe_is_dir(model))
    for (int i = 0; i < NN; i++) files[nf++] = lethe_path_join(model, names[i]);
  size_t shard = lethe_is_dir(model) ? base_shard_bytes(model) : 0;
  /* --force: what was there goes only once the merge itself succeeded (a link itself, never its target) */
  if ((force && lethe_out_clear(out)) || lethe_model_save_with(m, out, dt, shard, (const char *const *)files, nf))
    status = cli_report("merge");
  else {
    printf("%s: merged %s into %s (%s%s)\n", out, adapter, model, dt, shard ? ", sharded like the base" : "");
    status = 0;
  }
  for (int i = 0; i < nf; i++) free(files[i]);
done:
  lethe_lora_free(lora);
  lethe_model_free(m);
  return status;
}
