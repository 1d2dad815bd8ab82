/* lethe/tokenizer.h: text <-> token ids. Hugging Face tokenizer.json (BPE: byte-level as GPT-2,
 * OLMo and Llama-3 use it, and SentencePiece-style with byte fallback as Llama-2 and Mistral use
 * it), llama2.c tokenizer files, and a built-in byte-level tokenizer that needs no file.
 *
 * tokenizer.json is encoded exactly as the Rust `tokenizers` library (0.23) does it: added tokens
 * are found in the raw text (special, lstrip, rstrip, single_word, normalized honoured), then the
 * normalizer, then added tokens in the normalized text, the pre-tokenizers, the BPE model and, with
 * add_special, the post-processor. Supported components:
 *   model           BPE (vocab; merges as "a b" or ["a", "b"]; unk_token, fuse_unk, byte_fallback,
 *                   continuing_subword_prefix, end_of_word_suffix, ignore_merges)
 *   normalizer      NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, ByteLevel, Sequence
 *   pre_tokenizer   ByteLevel (with or without its regex, add_prefix_space), Split (String or
 *                   Regex pattern, every behavior, invert), Digits, Metaspace, WhitespaceSplit,
 *                   CharDelimiterSplit, Sequence
 *   post_processor  TemplateProcessing (its "single" template), BertProcessing,
 *                   RobertaProcessing, ByteLevel (adds nothing), Sequence
 *   decoder         ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence
 * Anything else (WordPiece or Unigram models, BPE dropout, BertNormalizer, Precompiled, Whitespace,
 * ...) is refused at load time with LETHE_ERR_UNSUPPORTED and a message naming the component and
 * the file; a malformed file is LETHE_ERR_FORMAT with the place (JSON line and column, or the field
 * path such as "model.merges[12]"). "truncation" and "padding" are ignored (lethe truncates rows
 * itself). Regexes are Oniguruma patterns as tokenizers writes them; lethe runs them on PCRE2 and
 * translates \s, \w, \d, \h, \p{L}, \p{N} so that both match the same characters.
 *
 * Thread safety: a loaded tokenizer is read-only except for its BPE word cache, which is split
 * into shards behind mutexes that are only try-locked (a busy shard is a cache miss, never a wait).
 * encode and decode may therefore run on several threads at once on one tokenizer; load and free
 * may not overlap with them. */
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
 * DIR/tokenizer.json. The format: a name ending in ".json" is tokenizer.json, one ending in ".bin"
 * is llama2.c, anything else is tokenizer.json when its first non-blank byte is '{'.
 * BOS and EOS of a tokenizer.json come from tokenizer_config.json beside it when present
 * (bos_token / eos_token, a string or {"content": ...}; a token it names that the tokenizer lacks
 * is an error), else from the post-processor's template (a single special token before / after
 * the sequence), else from well-known names (<|begin_of_text|>, <s>, <|bos|>, <bos>,
 * <|startoftext|>; <|end_of_text|>, </s>, <|endoftext|>, <|eos|>, <eos>), else -1. */
lethe_status lethe_tokenizer_load(const char *path, lethe_tokenizer **out);

/* Loads a Hugging Face tokenizer.json held in memory; `name` is used in error messages. BOS / EOS
 * as above without the tokenizer_config.json step. */
lethe_status lethe_tokenizer_load_json(const char *json, size_t len, const char *name, lethe_tokenizer **out);

/* The built-in byte-level tokenizer: ids 0..255 are the bytes, 256 "<|pad|>", 257 "<|bos|>",
 * 258 "<|endoftext|>" (eos); the three are special tokens, matched in the text, and nothing is
 * added by add_special. It is exactly lethe_tokenizer_builtin_json() loaded. */
lethe_status lethe_tokenizer_builtin(lethe_tokenizer **out);
/* The built-in tokenizer as Hugging Face tokenizer.json text (malloc'ed, NUL-terminated): a BPE
 * model whose vocabulary is GPT-2's 256 byte-level characters with ids equal to the byte values
 * and no merges, the ByteLevel pre-tokenizer without regex, the ByteLevel decoder and the three
 * special tokens, so that a model directory made with it loads in transformers too (and
 * tokenizers.Tokenizer.from_str gives the same ids, which the tests check). */
char *lethe_tokenizer_builtin_json(void);
/* tokenizer.json text (malloc'ed) for a llama2.c tokenizer file (.bin), read as
 * lethe_tokenizer_load reads it, encoding as llama2.c's encode() does where BPE merges can express
 * it (SentencePiece-style BPE with byte fallback, merges ranked by the merged piece's score). */
lethe_status lethe_llama2c_tokenizer_json(const char *tok_bin_path, char **json_out);

void lethe_tokenizer_free(lethe_tokenizer *t);

/* Encodes `len` bytes of UTF-8 `text` (NUL bytes included). Text that is not valid UTF-8 (as Rust's
 * str defines it: no overlong forms, no surrogates, nothing above U+10FFFF) is refused with
 * LETHE_ERR_INVALID and a message giving the byte offset of the first bad byte, since tokenizers
 * only accepts valid strings. add_special != 0 applies the post-processor as Hugging Face does with
 * add_special_tokens=True, and only that: a tokenizer.json whose post-processor adds nothing (the
 * Llama-3 file in ../shared has a ByteLevel one) gets no BOS; prepend lethe_tokenizer_bos_id() if
 * the model needs it. For a llama2.c tokenizer add_special adds BOS (1), as llama2.c's encode(bos=1)
 * does; all of the text is encoded (llama2.c would stop at a NUL byte). *ids is malloc'ed (NULL
 * when *n == 0). Safe to call from several threads at once on the same tokenizer. */
lethe_status lethe_tokenizer_encode(
    const lethe_tokenizer *t, const char *text, size_t len, int add_special, int **ids, int *n);

/* Decodes ids to UTF-8 text (malloc'ed, NUL-terminated; *len, when len is not NULL, excludes the
 * NUL). skip_special != 0 drops special tokens as Hugging Face does with skip_special_tokens=True.
 * An id outside [0, vocab_size) is an error (LETHE_ERR_INVALID naming the id and its position); an
 * id inside the range that no token has is dropped, as tokenizers drops it. Bytes that do not form
 * UTF-8 become U+FFFD (one per maximal invalid sequence, as Rust's from_utf8_lossy). llama2.c
 * tokenizers decode as llama2.c's decode(): the leading space of the piece after BOS is dropped,
 * "<0xXX>" pieces are raw bytes; ids 0, 1, 2 (<unk>, <s>, </s>) are its special tokens. */
lethe_status lethe_tokenizer_decode(
    const lethe_tokenizer *t, const int *ids, int n, int skip_special, char **text, size_t *len);

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
