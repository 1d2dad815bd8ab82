/* lethe/tokenizer.h: text <-> token ids. Hugging Face tokenizer.json (BPE: byte-level as GPT-2,
 * OLMo and Llama-3 use it, and SentencePiece-style with byte fallback as Llama-2 and Mistral use
 * it), llama2.c tokenizer files, and a built-in byte-level tokenizer that needs no file. */
#ifndef LETHE_TOKENIZER_H
#define LETHE_TOKENIZER_H

#include <stddef.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lethe_tokenizer lethe_tokenizer;

/* Loads a tokenizer from a file: a Hugging Face tokenizer.json, or a llama2.c tokenizer (.bin,
 * e.g. tok512.bin; its vocabulary size is the number of entries in the file). A directory means
 * DIR/tokenizer.json. */
lethe_status lethe_tokenizer_load(const char *path, lethe_tokenizer **out);

/* Loads a Hugging Face tokenizer.json held in memory; `name` is used in error messages. */
lethe_status lethe_tokenizer_load_json(const char *json, size_t len, const char *name,
                                       lethe_tokenizer **out);

/* The built-in byte-level tokenizer: ids 0..255 are the bytes, 256 "<|pad|>", 257 "<|bos|>",
 * 258 "<|endoftext|>" (eos). Expressible as tokenizer.json: see lethe_tokenizer_builtin_json. */
lethe_status lethe_tokenizer_builtin(lethe_tokenizer **out);
/* The built-in tokenizer as Hugging Face tokenizer.json text (malloc'ed, NUL-terminated), so that a
 * model directory made with it loads in transformers too. */
char *lethe_tokenizer_builtin_json(void);

void lethe_tokenizer_free(lethe_tokenizer *t);

/* Encodes `len` bytes of UTF-8 `text`. add_special != 0 applies the post-processor as Hugging Face
 * does with add_special_tokens=True (e.g. a BOS id). *ids is malloc'ed (may be NULL when *n == 0).
 * Safe to call from several threads at once on the same tokenizer. */
lethe_status lethe_tokenizer_encode(const lethe_tokenizer *t, const char *text, size_t len,
                                    int add_special, int **ids, int *n);

/* Decodes ids to UTF-8 text (malloc'ed, NUL-terminated). skip_special != 0 drops special tokens
 * as Hugging Face does with skip_special_tokens=True. An id outside the vocabulary is an error. */
lethe_status lethe_tokenizer_decode(const lethe_tokenizer *t, const int *ids, int n,
                                    int skip_special, char **text, size_t *len);

/* Number of ids (the largest id + 1, added tokens included). */
int lethe_tokenizer_vocab_size(const lethe_tokenizer *t);
/* Id of a token string in the vocabulary or the added tokens, -1 when absent. */
int lethe_tokenizer_token_to_id(const lethe_tokenizer *t, const char *token);
/* Ids of BOS and EOS as the tokenizer declares them, -1 when it has none. */
int lethe_tokenizer_bos_id(const lethe_tokenizer *t);
int lethe_tokenizer_eos_id(const lethe_tokenizer *t);
/* Non-zero when `id` is a special token (skipped by decode with skip_special). */
int lethe_tokenizer_is_special(const lethe_tokenizer *t, int id);

#ifdef __cplusplus
}
#endif
#endif
