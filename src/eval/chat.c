/* eval/chat.c: the chat templates of lethe/chat.h. The family is recognised from markers in the
 * template text; features of a family lethe does not render (tools, Llama 3.1's dated system
 * header, Mistral v0.3's system-in-last-message) are refused rather than rendered differently. */
#include "lethe/chat.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/sbuf.h"

/* Jinja's trim / Python's strip: ASCII whitespace off both ends. */
static void put_stripped(lethe_sbuf *b, const char *s) {
  const char *e = s + strlen(s);
  while (*s && isspace((unsigned char)*s)) s++;
  while (e > s && isspace((unsigned char)e[-1])) e--;
  lethe_sbuf_put(b, s, (size_t)(e - s));
}

/* ChatML's default system message: the literal '<|im_start|>system\n...<|im_end|>' of the template. */
static char *default_system(const char *tmpl) {
  const char *k = "<|im_start|>system";
  for (const char *p = strstr(tmpl, k); p; p = strstr(p + 1, k)) {
    const char *q = p + strlen(k);
    if (*q == '\n')
      q++;
    else if (q[0] == '\\' && q[1] == 'n')
      q += 2;
    else
      continue;
    const char *end = strstr(q, "<|im_end|>");
    if (!end || memchr(q, '\'', (size_t)(end - q)) || memchr(q, '"', (size_t)(end - q)) ||
        memchr(q, '{', (size_t)(end - q)))
      continue; /* "system\n' + messages[0]['content']": not a literal */
    lethe_sbuf b = {0};
    for (const char *c = q; c < end; c++) {
      if (c[0] == '\\' && c + 1 < end && c[1] == 'n') {
        lethe_sbuf_put(&b, "\n", 1);
        c++;
      } else {
        lethe_sbuf_put(&b, c, 1);
      }
    }
    if (b.oom) return NULL;
    return b.p ? b.p : calloc(1, 1);
  }
  return NULL;
}

lethe_status lethe_chat_template_parse(
    const char *tmpl, const char *bos, const char *eos, const char *name, lethe_chat_template *t) {
  memset(t, 0, sizeof *t);
  if (strstr(tmpl, "<|im_start|>"))
    t->family = LETHE_CHAT_CHATML;
  else if (strstr(tmpl, "<|start_header_id|>"))
    t->family = LETHE_CHAT_LLAMA3;
  else if (strstr(tmpl, "[INST]"))
    t->family = strstr(tmpl, "<<SYS>>") ? LETHE_CHAT_LLAMA2 : LETHE_CHAT_MISTRAL;
  else
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: chat_template is of no family lethe renders (ChatML, Llama 3, Mistral/Llama-2); "
        "apply it with transformers and pass the text",
        name);
  if (t->family == LETHE_CHAT_LLAMA3 && strstr(tmpl, "Cutting Knowledge Date"))
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: a Llama 3.1+ chat_template (dated system header, tools) is not rendered by lethe; only the Llama 3 one is",
        name);
  if ((t->family == LETHE_CHAT_MISTRAL || t->family == LETHE_CHAT_LLAMA2) &&
      (strstr(tmpl, "[AVAILABLE_TOOLS]") || strstr(tmpl, "[SYSTEM_PROMPT]")))
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: a Mistral v0.3+ chat_template (tools, system prompt) is not rendered by lethe; only the v0.1/v0.2 one is",
        name);
  if (t->family == LETHE_CHAT_CHATML && strstr(tmpl, "<think>"))
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: a ChatML chat_template with reasoning (<think>) handling (Qwen3-style) is not rendered by lethe", name);
  t->guarded_gen_prompt = strstr(tmpl, "add_generation_prompt") != NULL;
  /* an early Mistral-7B-Instruct-v0.1 revision put a space after each answer's eos */
  t->eos_space = t->family == LETHE_CHAT_MISTRAL && strstr(tmpl, "eos_token + ' '") != NULL;
  t->bos = strdup(bos ? bos : "");
  t->eos = strdup(eos ? eos : "");
  if (t->family == LETHE_CHAT_CHATML) t->default_system = default_system(tmpl);
  if (!t->bos || !t->eos) {
    lethe_chat_template_free(t);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  return LETHE_OK;
}

void lethe_chat_template_free(lethe_chat_template *t) {
  free(t->bos);
  free(t->eos);
  free(t->default_system);
  memset(t, 0, sizeof *t);
}

/* bos_token / eos_token: a string or an AddedToken object {"content": ...}. */
static const char *token_text(const json_t *root, const char *key) {
  const json_t *v = json_object_get(root, key);
  if (json_is_object(v)) v = json_object_get(v, "content");
  return json_is_string(v) ? json_string_value(v) : NULL;
}

lethe_status lethe_chat_template_load(const char *dir, lethe_chat_template *t) {
  memset(t, 0, sizeof *t);
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISREG(st.st_mode) && lethe_file_is_gguf(dir)) {
    char *tmpl, *bos, *eos;
    LETHE_TRY(lethe_gguf_chat_template(dir, &tmpl, &bos, &eos));
    lethe_status s = lethe_chat_template_parse(tmpl, bos, eos, dir, t);
    free(tmpl);
    free(bos);
    free(eos);
    return s;
  }
  char *d = NULL;
  if (lethe_is_dir(dir))
    d = strdup(dir);
  else {
    const char *slash = strrchr(dir, '/');
    d = slash ? strndup(dir, (size_t)(slash - dir)) : strdup(".");
  }
  if (!d) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  char *p = lethe_path_join(d, "tokenizer_config.json");
  free(d);
  char *text = NULL;
  size_t len = 0;
  json_t *root = NULL;
  lethe_status s = lethe_read_file(p, 16 << 20, &text, &len);
  json_error_t je;
  /* model_max_length is often 1e30 written as an integer: read integers as reals */
  if (!s && !(root = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &je)))
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: line %d, column %d: invalid JSON: %s", p, je.line, je.column, je.text);
  if (!s && !json_is_object(root)) s = lethe_fail(LETHE_ERR_FORMAT, "%s: not a JSON object", p);
  if (!s) {
    const json_t *ct = json_object_get(root, "chat_template");
    if (json_is_array(ct)) /* named templates: [{"name": "default", "template": ...}, ...] */ {
      size_t i;
      const json_t *e, *found = NULL;
      json_array_foreach(ct, i, e) if (json_is_object(e) && json_is_string(json_object_get(e, "name")) &&
                                       !strcmp(json_string_value(json_object_get(e, "name")), "default")) found =
          json_object_get(e, "template");
      ct = found;
    }
    if (!json_is_string(ct))
      s = lethe_fail(
          LETHE_ERR_FORMAT, "%s: no chat_template (a base model? --chat needs an instruct model's template)", p);
    else
      s = lethe_chat_template_parse(
          json_string_value(ct), token_text(root, "bos_token"), token_text(root, "eos_token"), p, t);
  }
  json_decref(root);
  free(text);
  free(p);
  return s;
}

lethe_status lethe_chat_render(
    const lethe_chat_template *t, const lethe_chat_msg *msgs, int n, int add_gen, char **out) {
  *out = NULL;
  lethe_sbuf b = {0};
  lethe_sbuf_puts(&b, "");
  for (int i = 0; i < n; i++)
    if (strcmp(msgs[i].role, "system") && strcmp(msgs[i].role, "user") && strcmp(msgs[i].role, "assistant")) {
      free(b.p);
      return lethe_fail(
          LETHE_ERR_INVALID, "chat message %d has role '%s' (system, user, assistant are known)", i, msgs[i].role);
    }
  switch (t->family) {
  case LETHE_CHAT_CHATML:
    for (int i = 0; i < n; i++) {
      if (i == 0 && strcmp(msgs[0].role, "system") && t->default_system) {
        lethe_sbuf_puts(&b, "<|im_start|>system\n");
        lethe_sbuf_puts(&b, t->default_system);
        lethe_sbuf_puts(&b, "<|im_end|>\n");
      }
      lethe_sbuf_puts(&b, "<|im_start|>");
      lethe_sbuf_puts(&b, msgs[i].role);
      lethe_sbuf_puts(&b, "\n");
      lethe_sbuf_puts(&b, msgs[i].content);
      lethe_sbuf_puts(&b, "<|im_end|>\n");
    }
    if (add_gen || !t->guarded_gen_prompt) lethe_sbuf_puts(&b, "<|im_start|>assistant\n");
    break;
  case LETHE_CHAT_LLAMA3:
    lethe_sbuf_puts(&b, t->bos);
    for (int i = 0; i < n; i++) {
      lethe_sbuf_puts(&b, "<|start_header_id|>");
      lethe_sbuf_puts(&b, msgs[i].role);
      lethe_sbuf_puts(&b, "<|end_header_id|>\n\n");
      put_stripped(&b, msgs[i].content);
      lethe_sbuf_puts(&b, "<|eot_id|>");
    }
    if (add_gen || !t->guarded_gen_prompt) lethe_sbuf_puts(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    break;
  case LETHE_CHAT_MISTRAL:
  case LETHE_CHAT_LLAMA2: {
    int first = 0;
    const char *sys = NULL;
    if (n > 0 && !strcmp(msgs[0].role, "system")) {
      if (t->family == LETHE_CHAT_MISTRAL) {
        free(b.p);
        return lethe_fail(LETHE_ERR_INVALID, "this Mistral chat template has no system role");
      }
      sys = msgs[0].content;
      first = 1;
    }
    if (t->family == LETHE_CHAT_MISTRAL) lethe_sbuf_puts(&b, t->bos);
    for (int i = first; i < n; i++) {
      int want_user = (i - first) % 2 == 0;
      if (want_user != !strcmp(msgs[i].role, "user") || !strcmp(msgs[i].role, "system")) {
        free(b.p);
        return lethe_fail(LETHE_ERR_INVALID, "Conversation roles must alternate user/assistant/user/assistant/...");
      }
      if (t->family == LETHE_CHAT_MISTRAL) {
        if (want_user) {
          lethe_sbuf_puts(&b, "[INST] ");
          lethe_sbuf_puts(&b, msgs[i].content);
          lethe_sbuf_puts(&b, " [/INST]");
        } else {
          lethe_sbuf_puts(&b, msgs[i].content);
          lethe_sbuf_puts(&b, t->eos);
          if (t->eos_space) lethe_sbuf_puts(&b, " ");
        }
      } else {
        lethe_sbuf c = {0};
        if (i == first && sys) {
          lethe_sbuf_puts(&c, "<<SYS>>\n");
          lethe_sbuf_puts(&c, sys);
          lethe_sbuf_puts(&c, "\n<</SYS>>\n\n");
        }
        lethe_sbuf_puts(&c, msgs[i].content);
        if (want_user) {
          lethe_sbuf_puts(&b, t->bos);
          lethe_sbuf_puts(&b, "[INST] ");
          if (c.p) put_stripped(&b, c.p);
          lethe_sbuf_puts(&b, " [/INST]");
        } else {
          lethe_sbuf_puts(&b, " ");
          if (c.p) put_stripped(&b, c.p);
          lethe_sbuf_puts(&b, " ");
          lethe_sbuf_puts(&b, t->eos);
        }
        b.oom |= c.oom;
        free(c.p);
      }
    }
    break;
  }
  }
  if (b.oom) {
    free(b.p);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  *out = b.p;
  return LETHE_OK;
}
