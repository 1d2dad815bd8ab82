/* io/gguf_chat.c: the chat template a GGUF file carries (tokenizer.chat_template) and the text of
 * its BOS and EOS tokens, for `lethe generate --chat` on a GGUF model. */
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/io.h"
#include "util/error.h"

static lethe_status token_text(const lethe_gguf *g, const char *key, const lethe_gguf_kv *tokens, char **out) {
  *out = NULL;
  int64_t id = -1;
  int pr = 0;
  LETHE_TRY(lethe_gguf_get_int(g, key, 0, 0, INT32_MAX, &id, &pr));
  if (!pr || !tokens || (uint64_t)id >= tokens->arr_n) return LETHE_OK;
  *out = strndup(tokens->strs[id].ptr, tokens->strs[id].len);
  return *out ? LETHE_OK : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
}

lethe_status lethe_gguf_chat_template(const char *path, char **tmpl, char **bos, char **eos) {
  *tmpl = *bos = *eos = NULL;
  lethe_gguf g;
  LETHE_TRY(lethe_gguf_open(path, &g));
  const lethe_gguf_kv *tk = lethe_gguf_find_kv(&g, "tokenizer.ggml.tokens");
  if (tk && (tk->type != GGUF_ARRAY || tk->arr_type != GGUF_STRING)) tk = NULL;
  lethe_status s = lethe_gguf_get_str(&g, "tokenizer.chat_template", 0, tmpl);
  if (!s && !*tmpl)
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: no tokenizer.chat_template in the GGUF metadata (a base model?)", path);
  if (!s) s = token_text(&g, "tokenizer.ggml.bos_token_id", tk, bos);
  if (!s) s = token_text(&g, "tokenizer.ggml.eos_token_id", tk, eos);
  if (s) {
    free(*tmpl);
    free(*bos);
    free(*eos);
    *tmpl = *bos = *eos = NULL;
  }
  lethe_gguf_close(&g);
  return s;
}
