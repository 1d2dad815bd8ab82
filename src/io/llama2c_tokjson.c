/* io/llama2c_tokjson.c: a llama2.c tokenizer file as a SentencePiece-style BPE tokenizer.json.
 * The file is an int32 max token length, then per token a float32 score, an int32 byte length and
 * the bytes, to the end of the file. llama2.c's export wrote spaces as ' ' (SentencePiece's "▁"),
 * kept byte tokens as "<0xXX>", and spelled BOS and EOS "\n<s>\n" and "\n</s>\n"; here they become
 * "▁", "<0xXX>", "<s>" and "</s>" again. llama2.c's encode() prepends the " " token, maps each UTF-8
 * character to its token (or to byte tokens), then repeatedly merges the adjacent pair whose
 * concatenation has the highest score: the same as BPE with Prepend("▁") + Replace(" ", "▁"), byte
 * fallback, and merges ranked by the score of the merged piece (derived from the scores). BOS (id 1)
 * is added as llama2.c's generate does; EOS is id 2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf_tokjson.h"
#include "io/io.h"
#include "util/error.h"
#include "util/fileio.h"

static int is_byte_token(const uint8_t *s, size_t n) {
  static const char HEX[] = "0123456789ABCDEF";
  return n == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' && strchr(HEX, s[3]) && strchr(HEX, s[4]) && s[3] && s[4];
}

lethe_status lethe_llama2c_tokenizer_json(const char *tok_bin_path, char **json_out) {
  *json_out = NULL;
  lethe_mapped_file f;
  LETHE_TRY(lethe_map_file(tok_bin_path, &f));
  lethe_status s = LETHE_OK;
  char **tok = NULL;
  size_t *len = NULL, cap = 0;
  float *scores = NULL;
  int *type = NULL, n = 0;
  if (f.size < 4) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: too short for a llama2.c tokenizer (%zu bytes)", tok_bin_path, f.size);
    goto done;
  }
  size_t pos = 4;
  while (pos < f.size) {
    if (f.size - pos < 8) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: token %d: truncated entry at offset %zu", tok_bin_path, n, pos);
      goto done;
    }
    float sc;
    int32_t l;
    memcpy(&sc, f.data + pos, 4);
    memcpy(&l, f.data + pos + 4, 4);
    pos += 8;
    if (l < 0 || (size_t)l > f.size - pos) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: token %d: length %d at offset %zu runs past the end of the file",
          tok_bin_path, n, l, pos - 4);
      goto done;
    }
    if (n == INT32_MAX / 2) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: too many tokens", tok_bin_path);
      goto done;
    }
    if ((size_t)n == cap) {
      cap = cap ? 2 * cap : 1024;
      char **t2 = realloc(tok, cap * sizeof *tok);
      if (t2) tok = t2;
      size_t *l2 = realloc(len, cap * sizeof *len);
      if (l2) len = l2;
      float *s2 = realloc(scores, cap * sizeof *scores);
      if (s2) scores = s2;
      int *y2 = realloc(type, cap * sizeof *type);
      if (y2) type = y2;
      if (!t2 || !l2 || !s2 || !y2) {
        s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", tok_bin_path);
        goto done;
      }
    }
    const uint8_t *b = f.data + pos;
    pos += (size_t)l;
    /* Hugging Face spelling: "▁" (3 bytes) for each space */
    size_t spaces = 0;
    for (int32_t i = 0; i < l; i++) spaces += b[i] == ' ';
    char *t = malloc((size_t)l + 2 * spaces + 1);
    if (!t) {
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", tok_bin_path);
      goto done;
    }
    tok[n] = t;
    scores[n] = sc;
    type[n] = TOKTYPE_NORMAL;
    size_t k = 0;
    if ((l == 5 && !memcmp(b, "\n<s>\n", 5)) || (l == 6 && !memcmp(b, "\n</s>\n", 6))) {
      memcpy(t, b + 1, (size_t)l - 2);
      k = (size_t)l - 2;
      type[n] = TOKTYPE_CONTROL;
    } else if (l == 5 && !memcmp(b, "<unk>", 5)) {
      memcpy(t, b, 5);
      k = 5;
      type[n] = TOKTYPE_UNKNOWN;
    } else {
      if (is_byte_token(b, (size_t)l)) type[n] = TOKTYPE_BYTE;
      for (int32_t i = 0; i < l; i++) {
        if (b[i] == ' ') {
          memcpy(t + k, "\xe2\x96\x81", 3);
          k += 3;
        } else {
          t[k++] = (char)b[i];
        }
      }
    }
    t[k] = 0;
    len[n] = k;
    n++;
  }
  if (n < 3) {
    s = lethe_fail(
        LETHE_ERR_FORMAT, "%s: %d tokens; a llama2.c tokenizer has at least <unk>, <s> and </s>", tok_bin_path, n);
    goto done;
  }
  lethe_tokjson_spec sp = {.name = tok_bin_path,
      .kind = TOKJSON_SPM,
      .n = n,
      .tok = (const char *const *)tok,
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
  s = lethe_tokjson_build(&sp, json_out);
done:
  for (int i = 0; i < n; i++) free(tok[i]);
  free(tok);
  free(len);
  free(scores);
  free(type);
  lethe_unmap_file(&f);
  return s;
}
