/* tokenizer/tok_import.h: the tokenizer importers' one builder: a Hugging Face tokenizer.json
 * from a vocabulary handed over as plain arrays (token strings, scores, token types, merges, special
 * ids), whatever file it came from. io/gguf_tokenizer.c fills it from GGUF's tokenizer.ggml.*
 * metadata; tok_llama2c_json.c from a llama2.c tokenizer file. Two kinds: byte-level BPE (GPT-2
 * style, with the pre-tokenizer named by GGUF's tokenizer.ggml.pre) or SentencePiece-style BPE with
 * byte fallback (merges taken from the file, or derived from the scores as Hugging Face's
 * LlamaConverter does). */
#ifndef LETHE_TOKENIZER_TOK_IMPORT_H
#define LETHE_TOKENIZER_TOK_IMPORT_H

#include <stddef.h>

#include "lethe/status.h"

typedef enum { TOK_IMPORT_BYTELEVEL = 0, TOK_IMPORT_SPM = 1 } tok_import_kind;

/* Token types, GGUF's (and SentencePiece's) numbering. */
enum {
  TOKTYPE_NORMAL = 1,
  TOKTYPE_UNKNOWN = 2,
  TOKTYPE_CONTROL = 3,
  TOKTYPE_USER = 4,
  TOKTYPE_UNUSED = 5,
  TOKTYPE_BYTE = 6
};

typedef struct {
  const char *name; /* for messages */
  tok_import_kind kind;
  int n;                  /* vocabulary size */
  const char *const *tok; /* (n) token strings as Hugging Face spells them ("▁" for a space in
                             SentencePiece vocabularies, "<0x0A>" for byte tokens) */
  const size_t *len;      /* (n) their byte lengths */
  const float *scores;    /* (n) or NULL; SentencePiece merges are derived from these when
                             merges == NULL */
  const int *type;        /* (n) TOKTYPE_*, or NULL (all normal) */
  int n_merges;
  const char *const *merge; /* (n_merges) "left right" strings, or NULL */
  const size_t *merge_len;
  const char *pre;        /* byte-level: GGUF's tokenizer.ggml.pre (NULL: "default") */
  int bos, eos, unk, pad; /* -1 when absent */
  int add_bos, add_eos;   /* the post-processor adds them */
  int add_space_prefix;   /* SentencePiece: a "▁" is prepended to the text */
} tok_import_spec;

/* The tokenizer.json text (malloc'ed, NUL-terminated). */
lethe_status tok_import_json(const tok_import_spec *sp, char **json_out);

/* 1 when llama.cpp adds BOS by default for a byte-level vocabulary with this pre-tokenizer name
 * (the llama3 family), else 0 (also for NULL). */
int tok_import_pre_adds_bos(const char *pre);

#endif
