/* cli/cmd_generate.c: `lethe generate`: greedy continuation of one prompt, printed with the prompt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/generate.h"
#include "lethe/lora.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"

int cmd_generate(int argc, char **argv) {
  const char *model_path = NULL, *tok_path = NULL, *adapter = NULL, *prompt = NULL, *device = NULL;
  int max_new = 256, no_cache = 0;
  const cli_arg defs[] = {
      {"model", ARG_STR, &model_path, "model: HF directory, llama2.c .bin or GGUF file", 1, 0, 0, NULL},
      {"tokenizer", ARG_STR, &tok_path, "tokenizer.json or llama2.c tokenizer (default: the model's)", 0, 0, 0, NULL},
      {"adapter", ARG_STR, &adapter, "PEFT LoRA adapter directory to apply", 0, 0, 0, NULL},
      {"prompt", ARG_STR, &prompt, "text to continue", 1, 0, 0, NULL},
      {"max-new", ARG_INT, &max_new, "at most this many new tokens (default 256)", 0, 0, 1 << 20, NULL},
      {"device", ARG_STR, &device, "compute device: cpu (default, fp32), cpu:bf16 (bf16 weights, AVX512_BF16), cuda (bf16 weights) or cuda:fp32", 0, 0, 0, NULL},
      {"no-cache", ARG_FLAG, &no_cache, "recompute the whole prefix at every step (checks the KV cache)", 0, 0, 0, NULL},
  };
  int rc = cli_parse("generate", "Greedy decoding: prints the prompt and its continuation.", argc, argv, defs,
                     (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  lethe_model *m = NULL;
  lethe_lora *lora = NULL;
  lethe_tokenizer *tok = NULL;
  int *ids = NULL, *out = NULL, n = 0, nout = 0;
  char *text = NULL;
  int status = 1;
  if (lethe_model_load(model_path, &m)) goto fail;
  if (device && lethe_model_to_device(m, device)) goto fail;
  if (lethe_model_tokenizer(model_path, tok_path, &tok)) goto fail;
  if (adapter && lethe_lora_load(adapter, m, &lora)) goto fail;
  if (lora && lethe_lora_to_device(lora, m)) goto fail;
  if (lethe_tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids, &n)) goto fail;
  lethe_gen_opts o;
  lethe_gen_opts_default(&o);
  o.max_new = max_new;
  o.no_cache = no_cache;
  const int *prompts[1] = {ids};
  if (lethe_generate(m, lora, prompts, &n, 1, &o, &out, &nout)) goto fail;
  int *all = malloc(sizeof(int) * (size_t)(n + nout));
  memcpy(all, ids, sizeof(int) * (size_t)n);
  if (nout) memcpy(all + n, out, sizeof(int) * (size_t)nout);
  size_t len;
  lethe_status s = lethe_tokenizer_decode(tok, all, n + nout, 1, &text, &len);
  free(all);
  if (s) goto fail;
  fwrite(text, 1, len, stdout);
  fputc('\n', stdout);
  status = 0;
  goto done;
fail:
  status = cli_report("generate");
done:
  free(text);
  free(ids);
  free(out);
  lethe_tokenizer_free(tok);
  lethe_lora_free(lora);
  lethe_model_free(m);
  return status;
}
