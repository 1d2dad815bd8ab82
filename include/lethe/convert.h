/* lethe/convert.h: tokenizers carried over into Hugging Face tokenizer.json text, for model
 * conversion (`lethe convert`): from a GGUF file's metadata, or whichever applies to a model and an
 * optional tokenizer path. A llama2.c tokenizer file's is lethe_llama2c_tokenizer_json in
 * lethe/tokenizer.h (the tokenizer stage reads that format). */
#ifndef LETHE_CONVERT_H
#define LETHE_CONVERT_H

#include "lethe/status.h"
#include "lethe/tokenizer.h" /* lethe_llama2c_tokenizer_json */

#ifdef __cplusplus
extern "C" {
#endif

/* tokenizer.json text (malloc'ed) equivalent to a GGUF file's tokenizer.ggml.* metadata. */
lethe_status lethe_gguf_tokenizer_json(const char *gguf_path, char **json_out);
/* The tokenizer.json text to write beside a converted model: from `tok` when given (a
 * tokenizer.json, a directory holding one, a GGUF file, or a llama2.c tokenizer), else the model's
 * own (GGUF metadata, a directory's tokenizer.json). *json is NULL with *why saying why when the
 * model carries none (a llama2.c checkpoint). *model_is_gguf (may be NULL) tells whether the model
 * is a GGUF file. */
lethe_status lethe_tokenizer_json_for(
    const char *model, const char *tok, char **json, const char **why, int *model_is_gguf);

/* A note (malloc'ed) on what converting the GGUF file loses, or NULL when nothing is known to be
 * lost (also for a path that is not a GGUF file): a Mistral model (by general.name) stored without
 * its sliding window. */
lethe_status lethe_gguf_conversion_note(const char *gguf_path, char **note);

#ifdef __cplusplus
}
#endif
#endif
