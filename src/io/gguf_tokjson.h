/* io/gguf_tokjson.h: building a Hugging Face tokenizer.json from a vocabulary given as lists, as
 * GGUF metadata and llama2.c tokenizer files give it: byte-level BPE (GPT-2 style, with the
 * pre-tokenizer named by GGUF's tokenizer.ggml.pre) or SentencePiece-style BPE with byte fallback
 * (merges taken from the file, or derived from the scores as Hugging Face's LlamaConverter does). */
#ifndef LETHE_IO_GGUF_TOKJSON_H
#define LETHE_IO_GGUF_TOKJSON_H

#include <stddef.h>

#include "lethe/status.h"

typedef enum { TOKJSON_BYTELEVEL = 0, TOKJSON_SPM = 1 } lethe_tokjson_kind;

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
  lethe_tokjson_kind kind;
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
} lethe_tokjson_spec;

/* The tokenizer.json text (malloc'ed, NUL-terminated). */
lethe_status lethe_tokjson_build(const lethe_tokjson_spec *sp, char **json_out);

#endif
