/* eval/gen_config.c: a Hugging Face model directory's generation_config.json, the defaults
 * transformers' generate uses: where to stop (eos_token_id, one id or a list, e.g. Llama 3's
 * [128001, 128008, 128009]), how long (max_new_tokens, or max_length counting the prompt) and how
 * to sample when sampling (do_sample, temperature, top_k, top_p). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/generate.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

void lethe_gen_config_default(lethe_gen_config *g) {
  memset(g, 0, sizeof *g);
  g->max_new_tokens = -1;
  g->max_length = -1;
  g->do_sample = -1;
  g->temperature = NAN;
  g->top_k = -1;
  g->top_p = NAN;
}

lethe_status lethe_gen_config_parse(const char *text, size_t len, const char *path, lethe_gen_config *g) {
  lethe_gen_config_default(g);
  json_t *root;
  LETHE_TRY(lethe_json_parse(text, len, path, &root));
  lethe_status s = LETHE_OK;
  if (!json_is_object(root)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: not a JSON object", path);
    goto done;
  }
  g->present = 1;
  const json_t *e = json_object_get(root, "eos_token_id");
  if (json_is_integer(e)) {
    g->eos_ids[g->n_eos++] = (int)json_integer_value(e);
  } else if (json_is_array(e)) {
    size_t i;
    const json_t *x;
    json_array_foreach(e, i, x) {
      if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > (1 << 24)) {
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: eos_token_id[%zu] is not a token id", path, i);
        goto done;
      }
      if (g->n_eos == LETHE_GEN_MAX_EOS) {
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: eos_token_id lists more than %d ids", path, LETHE_GEN_MAX_EOS);
        goto done;
      }
      g->eos_ids[g->n_eos++] = (int)json_integer_value(x);
    }
  } else if (e && !json_is_null(e)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: eos_token_id must be an integer or a list of integers", path);
    goto done;
  }
  if (g->n_eos == 1 && (g->eos_ids[0] < 0 || g->eos_ids[0] > (1 << 24))) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: eos_token_id %d is not a token id", path, g->eos_ids[0]);
    goto done;
  }
  int64_t v;
  int have = 0;
  const json_t *x;
  if ((x = json_object_get(root, "max_new_tokens")) && !json_is_null(x)) {
    if ((s = lethe_json_int(root, "max_new_tokens", 1, 0, 1 << 24, path, &v, NULL))) goto done;
    g->max_new_tokens = (int)v;
  }
  if ((x = json_object_get(root, "max_length")) && !json_is_null(x)) {
    if ((s = lethe_json_int(root, "max_length", 1, 0, 1 << 24, path, &v, NULL))) goto done;
    g->max_length = (int)v;
  }
  if ((x = json_object_get(root, "top_k")) && !json_is_null(x)) {
    if ((s = lethe_json_int(root, "top_k", 1, 0, 1 << 24, path, &v, NULL))) goto done;
    g->top_k = (int)v;
  }
  if ((x = json_object_get(root, "do_sample")) && !json_is_null(x)) {
    if ((s = lethe_json_bool(root, "do_sample", path, &have))) goto done;
    g->do_sample = have;
  }
  if ((x = json_object_get(root, "temperature")) && !json_is_null(x)) {
    if ((s = lethe_json_num(root, "temperature", 1, path, &g->temperature, NULL))) goto done;
    if (!(g->temperature > 0)) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: temperature must be positive", path);
      goto done;
    }
  }
  if ((x = json_object_get(root, "top_p")) && !json_is_null(x)) {
    if ((s = lethe_json_num(root, "top_p", 1, path, &g->top_p, NULL))) goto done;
    if (!(g->top_p >= 0 && g->top_p <= 1)) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: top_p must be in [0, 1]", path);
      goto done;
    }
  }
done:
  json_decref(root);
  return s;
}

lethe_status lethe_gen_config_load(const char *model_path, lethe_gen_config *g) {
  lethe_gen_config_default(g);
  /* no path (a model made in memory), .bin and GGUF models: none */
  if (!model_path || !lethe_is_dir(model_path)) return LETHE_OK;
  char *p = lethe_path_join(model_path, "generation_config.json");
  lethe_status s = LETHE_OK;
  if (lethe_file_exists(p)) {
    char *text = NULL;
    size_t len = 0;
    s = lethe_read_file(p, 1 << 20, &text, &len);
    if (!s) s = lethe_gen_config_parse(text, len, p, g);
    free(text);
  }
  free(p);
  return s;
}
