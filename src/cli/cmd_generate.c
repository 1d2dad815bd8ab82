/* cli/cmd_generate.c: `lethe generate`: greedy or sampled continuation of one prompt (text, a chat
 * turn through the model's chat template, or token ids), printed as text with the prompt, or with
 * --ids / --logprobs as one JSON object. generation_config.json beside the model supplies what
 * transformers takes from it: the eos ids that stop, the max_new_tokens default and, when
 * sampling, the temperature / top-k / top-p defaults (else transformers' 1.0 / 50 / 1.0). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/chat.h"
#include "lethe/generate.h"
#include "lethe/lora.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "util/error.h"

static const char *CMD = "generate";

/* "1 2 3" (or "1,2,3") to ids; an error naming --prompt-ids otherwise. */
static lethe_status parse_ids(const char *s, int **ids, int *n) {
  size_t cap = strlen(s) / 2 + 2;
  *ids = malloc(sizeof(int) * cap);
  *n = 0;
  if (!*ids) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  const char *p = s;
  for (;;) {
    while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
    if (!*p) break;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT_MAX ||
        (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n'))
      return lethe_fail(LETHE_ERR_INVALID, "--prompt-ids: '%.20s' is not a token id", p);
    (*ids)[(*n)++] = (int)v;
    p = end;
  }
  if (!*n) return lethe_fail(LETHE_ERR_INVALID, "--prompt-ids: no ids");
  return LETHE_OK;
}

int cmd_generate(int argc, char **argv) {
  const char *model_path = NULL, *tok_path = NULL, *adapter = NULL, *prompt = NULL, *device = NULL, *dtype = NULL,
             *prompt_ids = NULL, *system = NULL;
  int max_new = -1, no_cache = 0, sample = 0, top_k = -1, want_ids = 0, want_lp = 0, chat = 0;
  double temperature = NAN, top_p = NAN;
  int64_t seed = 0;
  const cli_arg defs[] = {
      {"model", ARG_STR, &model_path, "model: HF directory, llama2.c .bin or GGUF file", 1, 0, 0, NULL},
      {"tokenizer", ARG_STR, &tok_path, "tokenizer.json or llama2.c tokenizer (default: the model's)", 0, 0, 0, NULL},
      {"adapter", ARG_STR, &adapter, "PEFT LoRA adapter directory to apply", 0, 0, 0, NULL},
      {"prompt", ARG_STR, &prompt, "text to continue (with --chat: the user's message)", 0, 0, 0, NULL},
      {"prompt-ids", ARG_STR, &prompt_ids, "the prompt as token ids (\"1 2 3\"), instead of --prompt", 0, 0, 0, NULL},
      {"chat", ARG_FLAG, &chat,
          "apply the model's chat template (tokenizer_config.json: ChatML, Llama 3, Mistral/Llama-2) to --prompt as a "
          "user turn, with the assistant header",
          0, 0, 0, NULL},
      {"system", ARG_STR, &system, "with --chat: a system message before the user's", 0, 0, 0, NULL},
      {"max-new", ARG_INT, &max_new,
          "at most this many new tokens (default: generation_config.json's max_new_tokens, else 256)", 0, 0, 1 << 20,
          NULL},
      {"sample", ARG_FLAG, &sample,
          "sample instead of greedy decoding (temperature, then top-k, then top-p, as transformers)", 0, 0, 0, NULL},
      {"temperature", ARG_FLOAT, &temperature, "sampling temperature (default: generation_config.json's, else 1)", 0,
          1e-6, 1e6, NULL},
      {"top-k", ARG_INT, &top_k, "keep the k most likely tokens, 0: all (default: generation_config.json's, else 50)",
          0, 0, 1 << 24, NULL},
      {"top-p", ARG_FLOAT, &top_p,
          "nucleus: keep the most likely tokens holding this probability (default: generation_config.json's, else 1)",
          0, 0, 1, NULL},
      {"seed", ARG_I64, &seed, "sampling seed (default 0); the same seed gives the same tokens", 0, 0, 0, NULL},
      {"ids", ARG_FLAG, &want_ids, "print one JSON object: prompt_ids, ids (the new tokens), text", 0, 0, 0, NULL},
      {"logprobs", ARG_FLAG, &want_lp, "as --ids, with logprobs: each new token's log-probability under the model", 0,
          0, 0, NULL},
      CLI_ARG_DEVICE(&device),
      {"dtype", ARG_STR, &dtype,
          "compute dtype: fp32 (default, exact) or bf16 (as transformers with torch_dtype=torch.bfloat16 on the CPU)",
          0, 0, 0, NULL},
      {"no-cache", ARG_FLAG, &no_cache, "recompute the whole prefix at every step (checks the KV cache)", 0, 0, 0,
          NULL},
  };
  int rc = cli_parse(CMD, "Greedy decoding or sampling: prints the prompt and its continuation.", argc, argv, defs,
      (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  if (!prompt == !prompt_ids) {
    fprintf(stderr, "lethe %s: give one of --prompt and --prompt-ids\n", CMD);
    return 2;
  }
  if (chat && !prompt) {
    fprintf(stderr, "lethe %s: --chat needs --prompt (the user's message)\n", CMD);
    return 2;
  }
  if (system && !chat) {
    fprintf(stderr, "lethe %s: --system needs --chat\n", CMD);
    return 2;
  }
  lethe_model *m = NULL;
  lethe_lora *lora = NULL;
  lethe_tokenizer *tok = NULL;
  lethe_chat_template ct = {0};
  int *ids = NULL, *out = NULL, n = 0, nout = 0;
  float *lp = NULL;
  char *text = NULL, *rendered = NULL;
  int status = 1;
  lethe_gen_config gc;
  if (lethe_gen_config_load(model_path, &gc)) goto fail;
  if (lethe_model_load(model_path, &m)) goto fail;
  if (device && lethe_model_to_device(m, device)) goto fail;
  if (dtype && lethe_model_set_dtype(m, dtype)) goto fail;
  if ((prompt || !(want_ids || want_lp) || tok_path) && lethe_model_tokenizer(model_path, tok_path, &tok)) goto fail;
  if (adapter && lethe_lora_load(adapter, m, &lora)) goto fail;
  if (lora && lethe_lora_to_device(lora, m)) goto fail;
  if (prompt_ids) {
    if (parse_ids(prompt_ids, &ids, &n)) goto fail;
    for (int i = 0; i < n; i++)
      if (ids[i] >= lethe_model_config(m)->vocab_size) {
        lethe_fail(LETHE_ERR_INVALID, "--prompt-ids: id %d is outside the model's vocabulary of %d", ids[i],
            lethe_model_config(m)->vocab_size);
        goto fail;
      }
  } else if (chat) {
    if (lethe_chat_template_load(tok_path ? tok_path : model_path, &ct)) goto fail;
    lethe_chat_msg msgs[2] = {{"system", system}, {"user", prompt}};
    if (lethe_chat_render(&ct, system ? msgs : msgs + 1, system ? 2 : 1, 1, &rendered)) goto fail;
    if (lethe_tokenizer_encode(tok, rendered, strlen(rendered), 0, &ids, &n)) goto fail;
  } else if (lethe_tokenizer_encode(tok, prompt, strlen(prompt), 1, &ids, &n))
    goto fail;
  lethe_gen_opts o;
  lethe_gen_opts_default(&o);
  o.max_new = max_new >= 0             ? max_new
              : gc.max_new_tokens >= 0 ? gc.max_new_tokens
              : gc.max_length >= 0     ? (gc.max_length > n ? gc.max_length - n : 0)
                                       : 256;
  o.no_cache = no_cache;
  if (gc.n_eos) {
    o.stop_ids = gc.eos_ids;
    o.n_stop = gc.n_eos;
  }
  o.sample = sample;
  if (gc.do_sample == 1 && !sample)
    fprintf(stderr,
        "lethe %s: note: generation_config.json has do_sample true, as transformers would sample; lethe decodes "
        "greedily unless --sample is given\n",
        CMD);
  o.sampler.temperature = !isnan(temperature) ? temperature : !isnan(gc.temperature) ? gc.temperature : 1.0;
  o.sampler.top_k = top_k >= 0 ? top_k : gc.top_k >= 0 ? gc.top_k : 50;
  o.sampler.top_p = !isnan(top_p) ? top_p : !isnan(gc.top_p) ? gc.top_p : 1.0;
  o.seed = (uint64_t)seed;
  if (want_lp) o.logprobs = &lp;
  const int *prompts[1] = {ids};
  if (lethe_generate(m, lora, prompts, &n, 1, &o, &out, &nout)) goto fail;
  if (want_ids || want_lp) {
    json_t *j = json_object(), *pa = json_array(), *na = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(pa, json_integer(ids[i]));
    for (int i = 0; i < nout; i++) json_array_append_new(na, json_integer(out[i]));
    json_object_set_new(j, "prompt_ids", pa);
    json_object_set_new(j, "ids", na);
    if (want_lp) {
      json_t *la = json_array();
      for (int i = 0; i < nout; i++) json_array_append_new(la, json_real(lp[i]));
      json_object_set_new(j, "logprobs", la);
    }
    if (tok) {
      size_t len;
      if (lethe_tokenizer_decode(tok, out, nout, 1, &text, &len)) {
        json_decref(j);
        goto fail;
      }
      json_object_set_new(j, "text", json_stringn(text, len));
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (!s) {
      lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      goto fail;
    }
    puts(s);
    free(s);
  } else {
    int *all = malloc(sizeof(int) * (size_t)(n + nout));
    if (!all) {
      lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      goto fail;
    }
    memcpy(all, ids, sizeof(int) * (size_t)n);
    if (nout) memcpy(all + n, out, sizeof(int) * (size_t)nout);
    size_t len;
    lethe_status s = lethe_tokenizer_decode(tok, all, n + nout, 1, &text, &len);
    free(all);
    if (s) goto fail;
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
  }
  if (fflush(stdout) || ferror(stdout)) {
    lethe_fail(LETHE_ERR_IO, "writing stdout: %s", strerror(errno));
    goto fail;
  }
  status = 0;
  goto done;
fail:
  status = cli_report(CMD);
done:
  free(text);
  free(rendered);
  free(ids);
  free(out);
  free(lp);
  lethe_chat_template_free(&ct);
  lethe_tokenizer_free(tok);
  lethe_lora_free(lora);
  lethe_model_free(m);
  return status;
}
