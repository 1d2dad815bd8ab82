/* io/io.h: the model formats lethe reads: Hugging Face directories, llama2.c checkpoints, GGUF. */
#ifndef LETHE_IO_IO_H
#define LETHE_IO_IO_H

#include "lethe/convert.h" /* lethe_gguf_tokenizer_json (and lethe_llama2c_tokenizer_json) */
#include "lethe/lora.h"
#include "lethe/model.h"
#include "io/safetensors.h" /* lethe_dtype */

lethe_status lethe_hf_load(const char *dir, lethe_model **out);
lethe_status lethe_llama2c_load(const char *path, lethe_model **out);
lethe_status lethe_gguf_load(const char *path, lethe_model **out);
/* 1 when `path` is a file that starts with GGUF's magic, else 0 (also when it cannot be read). */
int lethe_file_is_gguf(const char *path);
/* A GGUF file's tokenizer.chat_template and the text of its BOS / EOS tokens (NULL when unset),
 * malloc'ed; no template is an error naming the file. */
lethe_status lethe_gguf_chat_template(const char *path, char **tmpl, char **bos, char **eos);

/* Weight checks (io/finite.c): NaN/Inf in a loaded model (`source` names it) or adapter is an
 * error naming the tensor and the first bad index; a model is writable in `dt` only when every
 * value is finite and within the dtype's range. */
lethe_status lethe_model_check_finite(const lethe_model *m, const char *source);
lethe_status lethe_model_check_writable(const lethe_model *m, lethe_dtype dt);
lethe_status lethe_lora_check_finite(const lethe_lora *l, const char *source);

#endif
