/* io/io.h: the model formats lethe reads: Hugging Face directories, llama2.c checkpoints, GGUF. */
#ifndef LETHE_IO_IO_H
#define LETHE_IO_IO_H

#include "lethe/model.h"

lethe_status lethe_hf_load(const char *dir, lethe_model **out);
lethe_status lethe_llama2c_load(const char *path, lethe_model **out);
lethe_status lethe_gguf_load(const char *path, lethe_model **out);

/* The tokenizer a GGUF file carries (tokenizer.ggml.*: gpt2 byte-level BPE or llama SentencePiece
 * BPE) as Hugging Face tokenizer.json text (malloc'ed, NUL-terminated). */
lethe_status lethe_gguf_tokenizer_json(const char *gguf_path, char **json_out);
/* A llama2.c tokenizer file (e.g. tok512.bin) as a SentencePiece-style BPE tokenizer.json (byte
 * fallback, merges derived from the scores, BOS added) that encodes as llama2.c's encode() does. */
lethe_status lethe_llama2c_tokenizer_json(const char *tok_bin_path, char **json_out);

#endif
