/* tokenizer/tok_builtin.c: the built-in byte-level tokenizer, written as Hugging Face
 * tokenizer.json text: a BPE model whose vocabulary is GPT-2's 256 byte-level characters with ids
 * equal to the byte values and no merges, the ByteLevel pre-tokenizer without its regex, the
 * ByteLevel decoder, and three special tokens: 256 <|pad|>, 257 <|bos|>, 258 <|endoftext|>.
 * lethe_tokenizer_builtin() loads this very text, so lethe and tokenizers read the same thing. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lethe/tokenizer.h"
#include "tokenizer/tok_internal.h"

static json_t *added(int id, const char *content) {
  return json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id, "content", content, "single_word", 0, "lstrip", 0,
      "rstrip", 0, "normalized", 0, "special", 1);
}

static json_t *bytelevel(void) {
  return json_pack(
      "{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 0);
}

char *lethe_tokenizer_builtin_json(void) {
  json_t *vocab = json_object();
  if (!vocab) return NULL;
  for (int b = 0; b < 256; b++) {
    char key[3];
    memcpy(key, tok_bl_char[b], 3);
    json_object_set_new(vocab, key, json_integer(b));
  }
  json_t *model = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:[]}", "type", "BPE", "dropout",
      "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
      "ignore_merges", 0, "vocab", vocab, "merges");
  json_t *root = json_pack("{s:s, s:n, s:n, s:[o,o,o], s:n, s:o, s:n, s:o, s:o}", "version", "1.0", "truncation",
      "padding", "added_tokens", added(256, "<|pad|>"), added(257, "<|bos|>"), added(258, "<|endoftext|>"),
      "normalizer", "pre_tokenizer", bytelevel(), "post_processor", "decoder", bytelevel(), "model", model);
  if (!root) return NULL;
  char *s = json_dumps(root, JSON_INDENT(2));
  json_decref(root);
  if (!s) return NULL;
  /* json_dumps allocates with jansson's allocator (malloc by default); hand back plain malloc */
  size_t n = strlen(s);
  char *r = malloc(n + 2);
  if (r) {
    memcpy(r, s, n);
    r[n] = '\n';
    r[n + 1] = 0;
  }
  free(s);
  return r;
}
