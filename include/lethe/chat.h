/* lethe/chat.h: chat templates (tokenizer_config.json's chat_template) for the families lethe
 * renders as transformers' apply_chat_template does: ChatML (<|im_start|>, with the template's
 * default system message), Llama 3 (<|start_header_id|>) and Mistral / Llama-2 ([INST], with or
 * without <<SYS>>). Another template is an error naming its file; lethe has no Jinja engine. */
#ifndef LETHE_CHAT_H
#define LETHE_CHAT_H

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LETHE_CHAT_CHATML = 1,
  LETHE_CHAT_LLAMA3 = 2,
  LETHE_CHAT_MISTRAL = 3,
  LETHE_CHAT_LLAMA2 = 4
} lethe_chat_family;

typedef struct {
  const char *role; /* "system", "user", "assistant" */
  const char *content;
} lethe_chat_msg;

typedef struct {
  lethe_chat_family family;
  char *bos, *eos;        /* bos_token, eos_token of tokenizer_config.json ("" when unset) */
  char *default_system;   /* ChatML: the system message the template adds when none is given, or NULL */
  int guarded_gen_prompt; /* the template adds the assistant header only with add_generation_prompt */
  int eos_space;          /* Mistral: a space follows each answer's eos (an early v0.1 revision) */
} lethe_chat_template;

/* Reads chat_template, bos_token and eos_token from tokenizer_config.json in `dir` (a model or
 * tokenizer directory; a file path means its directory), or from a GGUF file's metadata
 * (tokenizer.chat_template, the BOS / EOS tokens). */
lethe_status lethe_chat_template_load(const char *dir, lethe_chat_template *t);
/* The same from the template text (name for messages). */
lethe_status lethe_chat_template_parse(
    const char *tmpl, const char *bos, const char *eos, const char *name, lethe_chat_template *t);
void lethe_chat_template_free(lethe_chat_template *t);
/* Renders messages as apply_chat_template(messages, tokenize=False, add_generation_prompt) does;
 * *out is malloc'ed. Encode it without adding special tokens (the text holds them). */
lethe_status lethe_chat_render(
    const lethe_chat_template *t, const lethe_chat_msg *msgs, int n, int add_generation_prompt, char **out);

#ifdef __cplusplus
}
#endif
#endif
