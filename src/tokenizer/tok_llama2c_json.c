/* tokenizer/tok_llama2c_json.c: a llama2.c tokenizer file as a SentencePiece-style BPE
 * tokenizer.json. The file is read by tok_l2c_load (tok_llama2c.c), the one reader of the format;
 * this file respells its vocabulary and hands it to the importers' builder (tok_import.h).
 * llama2.c's export wrote spaces as ' ' (SentencePiece's "▁"), kept byte tokens as "<0xXX>", and
 * spelled BOS and EOS "\n<s>\n" and "\n</s>\n"; here they become "▁", "<0xXX>", "<s>" and "</s>"
 * again. llama2.c's encode() prepends the " " token, maps each UTF-8 character to its token (or to
 * byte tokens), then repeatedly merges the adjacent pair whose concatenation has the highest score:
 * the same as BPE with Prepend("▁") + Replace(" ", "▁"), byte fallback, and merges ranked by the
 * score of the merged piece (derived from the scores). BOS (id 1) is added as llama2.c's generate
 * does; EOS is id 2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/tokenizer.h"
#include "tokenizer/tok_import.h"
#include "tokenizer/tok_internal.h"
#include "util/error.h"
#include "util/fileio.h"

static int is_byte_token(const char *s, size_t n) {
  static const char HEX[] = "0123456789ABCDEF";
  return n == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' && s[3] && s[4] && strchr(HEX, s[3]) && strchr(HEX, s[4]);
}

/* Piece i in Hugging Face's spelling, written at t (room for 3 bytes per input byte + NUL); its
 * token type goes to *type; returns its byte length. */
static size_t respell(const char *b, size_t l, char *t, int *type) {
  size_t k = 0;
  *type = TOKTYPE_NORMAL;
  if ((l == 5 && !memcmp(b, "\n<s>\n", 5)) || (l == 6 && !memcmp(b, "\n</s>\n", 6))) {
    memcpy(t, b + 1, l - 2);
    k = l - 2;
    *type = TOKTYPE_CONTROL;
  } else if (l == 5 && !memcmp(b, "<unk>", 5)) {
    memcpy(t, b, 5);
    k = 5;
    *type = TOKTYPE_UNKNOWN;
  } else {
    if (is_byte_token(b, l)) *type = TOKTYPE_BYTE;
    for (size_t i = 0; i < l; i++) {
      if (b[i] == ' ') {
        memcpy(t + k, "\xe2\x96\x81", 3);
        k += 3;
      } else {
        t[k++] = b[i];
      }
    }
  }
  t[k] = 0;
  return k;
}

lethe_status tok_l2c_import_json(const tok_l2c *l, const char *name, char **json_out) {
  *json_out = NULL;
  int n = tok_l2c_vocab_size(l);
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    size_t pl;
    (void)tok_l2c_piece(l, i, &pl);
    total += 3 * pl + 1;
  }
  const char **tok = malloc(sizeof *tok * (size_t)n);
  size_t *len = malloc(sizeof *len * (size_t)n);
  float *scores = malloc(sizeof *scores * (size_t)n);
  int *type = malloc(sizeof *type * (size_t)n);
  char *blob = malloc(total);
  lethe_status s = LETHE_OK;
  if (!tok || !len || !scores || !type || !blob) {
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
    goto done;
  }
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    size_t pl;
    const char *p = tok_l2c_piece(l, i, &pl);
    tok[i] = blob + at;
    len[i] = respell(p, pl, blob + at, &type[i]);
    scores[i] = tok_l2c_score(l, i);
    at += len[i] + 1;
  }
  tok_import_spec sp = {.name = name,
      .kind = TOK_IMPORT_SPM,
      .n = n,
      .tok = tok,
      .len = len,
      .scores = scores,
      .type = type,
      .bos = 1,
      .eos = 2,
      .unk = 0,
      .pad = -1,
      .add_bos = 1,
      .add_eos = 0,
      .add_space_prefix = 1};
  s = tok_import_json(&sp, json_out);
done:
  free(tok);
  free(len);
  free(scores);
  free(type);
  free(blob);
  return s;
}

lethe_status lethe_llama2c_tokenizer_json(const char *tok_bin_path, char **json_out) {
  *json_out = NULL;
  lethe_mapped_file f;
  LETHE_TRY(lethe_map_file(tok_bin_path, &f));
  tok_l2c *l = NULL;
  lethe_status s = tok_l2c_load(f.data, f.size, tok_bin_path, &l);
  lethe_unmap_file(&f);
  if (s == LETHE_OK) s = tok_l2c_import_json(l, tok_bin_path, json_out);
  tok_l2c_free(l);
  return s;
}
