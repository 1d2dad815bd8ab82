/* cli/cmd_convert.c: `lethe convert`: a model lethe can read (a llama2.c checkpoint, a GGUF file, a
 * Hugging Face directory) to a complete Hugging Face model directory: config.json, safetensors in
 * the chosen dtype, and tokenizer.json. The tokenizer comes from --tokenizer (a tokenizer.json, a
 * directory holding one, a GGUF file, or a llama2.c tokenizer .bin), else from the model itself (a
 * GGUF file's metadata, a directory's tokenizer.json). Everything is written into a temporary
 * directory that replaces --out only when complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/convert.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "lethe/util.h"

static const char *CMD = "convert";

int cmd_convert(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *tok = NULL;
  int dtype = 0, no_tok = 0, force = 0;
  static const char *const DTYPES[] = {"float32", "bfloat16", "float16"};
  const cli_arg defs[] = {
      {"model", ARG_STR, &model, "the model: a llama2.c checkpoint (.bin), a GGUF file, or a Hugging Face directory", 1,
          0, 0, NULL},
      {"out", ARG_STR, &out, "the Hugging Face model directory to write (replaced when complete)", 1, 0, 0, NULL},
      {"dtype", ARG_CHOICE, &dtype, "dtype of the written weights (default float32: GGUF weights dequantised exactly)",
          0, 0, 0, "float32|bfloat16|float16"},
      {"tokenizer", ARG_STR, &tok,
          "tokenizer to write as tokenizer.json: a llama2.c tokenizer (.bin), a tokenizer.json, a directory holding "
          "one, "
          "or a GGUF "
          "file (default: the model's own, when it has one)",
          0, 0, 0, NULL},
      {"no-tokenizer", ARG_FLAG, &no_tok, "write no tokenizer.json", 0, 0, 0, NULL},
      {"force", ARG_FLAG, &force,
          "replace --out even when it is not a model directory lethe wrote (a link itself, never its target)", 0, 0, 0,
          NULL},
  };
  int rc = cli_parse(CMD, "convert a model (llama2.c, GGUF, Hugging Face) to a Hugging Face model directory", argc,
      argv, defs, (int)(sizeof defs / sizeof defs[0]));
  if (rc) return rc == 1 ? 0 : rc;
  if (no_tok && tok) {
    fprintf(stderr, "lethe %s: --tokenizer and --no-tokenizer exclude each other\n", CMD);
    return 2;
  }
  /* never replace what lethe did not write (a file, a home directory, a link), nor an input */
  const char *inputs[] = {model, tok};
  if (lethe_out_apart(out, "--out", inputs, 2)) return cli_report(CMD);
  if (!force && lethe_out_check(out, "model")) return cli_report(CMD);
  lethe_model *m = NULL;
  if (lethe_model_load(model, &m)) return cli_report(CMD);
  if (!lethe_is_dir(model)) {
    /* what the GGUF file could not carry over from the model it was made from */
    char *note = NULL;
    if (lethe_gguf_conversion_note(model, &note)) {
      lethe_model_free(m);
      return cli_report(CMD);
    }
    if (note) fprintf(stderr, "lethe %s: warning: %s\n", CMD, note);
    free(note);
  }

  /* the tokenizer first: a bad one stops the conversion before anything is written */
  char *json = NULL;
  const char *why = NULL;
  if (!no_tok) {
    int model_is_gguf = 0;
    lethe_status s = lethe_tokenizer_json_for(model, tok, &json, &why, &model_is_gguf);
    if (s && !tok && model_is_gguf) {
      /* a GGUF file without (usable) tokenizer metadata: say so, and go on without one */
      fprintf(stderr, "lethe %s: note: no tokenizer.json written: %s\n", CMD, lethe_last_error());
      s = LETHE_OK;
    }
    if (s) {
      lethe_model_free(m);
      return cli_report(CMD);
    }
    if (json) {
      lethe_tokenizer *t = NULL;
      if (lethe_tokenizer_load_json(json, strlen(json), tok ? tok : model, &t)) {
        fprintf(stderr, "lethe %s: the tokenizer does not load: %s\n", CMD, lethe_last_error());
        free(json);
        lethe_model_free(m);
        return 1;
      }
      int tv = lethe_tokenizer_vocab_size(t);
      lethe_tokenizer_free(t);
      if (tv > lethe_model_config(m)->vocab_size)
        fprintf(stderr, "lethe %s: warning: the tokenizer has %d ids, the model's vocabulary %d\n", CMD, tv,
            lethe_model_config(m)->vocab_size);
    } else if (why) {
      fprintf(stderr, "lethe %s: note: no tokenizer.json written: %s\n", CMD, why);
    }
  }

  /* the temporary directory sits beside --out (same filesystem) */
  char *tmp = NULL;
  lethe_status s = lethe_dir_begin(out, &tmp);
  if (s) {
    free(json);
    lethe_model_free(m);
    return cli_report(CMD);
  }
  s = lethe_model_save(m, tmp, DTYPES[dtype], 0);
  if (!s && json) {
    char *p = lethe_path_join(tmp, "tokenizer.json");
    s = p ? lethe_write_file_atomic(p, json, strlen(json)) : LETHE_ERR_NOMEM;
    free(p);
  }
  if (!s && force) s = lethe_out_clear(out); /* only now that the new one is complete */
  if (!s) s = lethe_dir_publish(tmp, out, "model");
  if (s) {
    lethe_remove_tree(tmp);
    free(tmp);
    free(json);
    lethe_model_free(m);
    return cli_report(CMD);
  }
  const lethe_config *c = lethe_model_config(m);
  printf("%s: %s model, %lld parameters, %d layers, vocabulary %d, %s weights%s\n", out, c->model_type,
      (long long)lethe_config_param_count(c), c->n_layers, c->vocab_size, DTYPES[dtype],
      json ? ", tokenizer.json" : ", no tokenizer");
  free(tmp);
  free(json);
  lethe_model_free(m);
  return 0;
}
