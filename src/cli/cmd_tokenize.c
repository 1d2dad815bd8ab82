/* cli/cmd_tokenize.c: `lethe tokenize`: text on stdin to token ids on stdout (one line, separated
 * by spaces), or, with --decode, whitespace-separated ids on stdin to the text they decode to.
 * --special adds the special tokens the tokenizer's post-processor adds (e.g. BOS) when encoding
 * and keeps special tokens when decoding (by default decoding drops them). With --jsonl, stdin holds
 * one JSON object per line, {"text": ...} (or, with --decode, {"ids": [...]}), and each gets one
 * line out with "ids" (or "text") added, its other fields kept: many texts in one process. The
 * output is written only when every line is good. --tokenizer also takes a GGUF model file. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "util/array.h"
#include "util/sbuf.h"

#include <jansson.h>

static const char *CMD = "tokenize";

static int finish_stdout(void);

/* --jsonl: every line of `in` to one line of output, all in memory until every line succeeded. */
static int jsonl(const lethe_tokenizer *t, const char *in, size_t len, int dec, int special) {
  lethe_sbuf out = {0};
  int line = 0, rc = 0;
  for (const char *p = in; p < in + len && !rc;) {
    const char *nl = memchr(p, '\n', (size_t)(in + len - p));
    const char *end = nl ? nl : in + len;
    line++;
    const char *q = p;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    if (q == end) {
      p = end + 1;
      continue;
    }
    json_error_t je;
    json_t *j = json_loadb(p, (size_t)(end - p), JSON_REJECT_DUPLICATES, &je);
    char *s = NULL;
    if (!j || !json_is_object(j)) {
      fprintf(stderr, "lethe %s: stdin:%d: %s\n", CMD, line, j ? "expected a JSON object" : je.text);
      rc = 1;
    } else if (!dec) {
      const json_t *tx = json_object_get(j, "text");
      int *ids = NULL, k = 0;
      if (!json_is_string(tx)) {
        fprintf(stderr, "lethe %s: stdin:%d: field \"text\" must be a string\n", CMD, line);
        rc = 1;
      } else if (lethe_tokenizer_encode(t, json_string_value(tx), json_string_length(tx), special, &ids, &k) !=
                 LETHE_OK) {
        fprintf(stderr, "lethe %s: stdin:%d: %s\n", CMD, line, lethe_last_error());
        rc = 1;
      } else {
        json_t *a = json_array();
        for (int i = 0; i < k; i++) json_array_append_new(a, json_integer(ids[i]));
        json_object_set_new(j, "ids", a);
      }
      free(ids);
    } else {
      const json_t *a = json_object_get(j, "ids");
      size_t k = json_is_array(a) ? json_array_size(a) : 0;
      int *ids = malloc(sizeof(int) * (k + 1));
      char *text = NULL;
      size_t tl = 0;
      int ok = json_is_array(a) && ids;
      for (size_t i = 0; ok && i < k; i++) {
        const json_t *e = json_array_get(a, i);
        ok = json_is_integer(e) && json_integer_value(e) >= 0 && json_integer_value(e) <= INT_MAX;
        if (ok) ids[i] = (int)json_integer_value(e);
      }
      if (!ok) {
        fprintf(stderr, "lethe %s: stdin:%d: field \"ids\" must be a list of token ids\n", CMD, line);
        rc = 1;
      } else if (lethe_tokenizer_decode(t, ids, (int)k, !special, &text, &tl) != LETHE_OK) {
        fprintf(stderr, "lethe %s: stdin:%d: %s\n", CMD, line, lethe_last_error());
        rc = 1;
      } else {
        json_object_set_new(j, "text", json_stringn(text, tl));
      }
      free(text);
      free(ids);
    }
    if (!rc && !(s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
      fprintf(stderr, "lethe %s: stdin:%d: cannot write the line as JSON (invalid UTF-8 decoded?)\n", CMD, line);
      rc = 1;
    }
    json_decref(j);
    if (s) {
      if (lethe_sbuf_puts(&out, s) != LETHE_OK || lethe_sbuf_put(&out, "\n", 1) != LETHE_OK) {
        fprintf(stderr, "lethe %s: out of memory\n", CMD);
        rc = 1;
      }
      free(s);
    }
    p = end + 1;
  }
  if (!rc) {
    fwrite(out.p, 1, out.n, stdout);
    rc = finish_stdout();
  }
  lethe_sbuf_free(&out);
  return rc;
}

/* Reads all of stdin; NULL with a message on failure. */
static char *read_stdin(size_t *len) {
  lethe_sbuf b = {0};
  for (;;) {
    /* room for at least 64 KiB more, doubling */
    size_t chunk = b.cap > ((size_t)1 << 16) ? b.cap : (size_t)1 << 16;
    if (b.cap - b.n <= 1 && lethe_sbuf_reserve(&b, chunk) != LETHE_OK) {
      lethe_sbuf_free(&b);
      fprintf(stderr, "lethe %s: out of memory reading stdin\n", CMD);
      return NULL;
    }
    size_t r = fread(b.p + b.n, 1, b.cap - b.n - 1, stdin);
    b.n += r;
    if (r == 0) {
      if (ferror(stdin)) {
        fprintf(stderr, "lethe %s: stdin: %s\n", CMD, strerror(errno));
        lethe_sbuf_free(&b);
        return NULL;
      }
      break;
    }
  }
  b.p[b.n] = 0;
  *len = b.n;
  return b.p;
}

static int finish_stdout(void) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "lethe %s: writing stdout: %s\n", CMD, strerror(errno));
    return 1;
  }
  return 0;
}

static int encode(const lethe_tokenizer *t, const char *text, size_t len, int special) {
  int *ids = NULL, n = 0;
  if (lethe_tokenizer_encode(t, text, len, special, &ids, &n) != LETHE_OK) return cli_report(CMD);
  for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
  putchar('\n');
  free(ids);
  return finish_stdout();
}

static int decode(const lethe_tokenizer *t, const char *in, int special) {
  size_t cap = 0, n = 0;
  int *ids = NULL;
  if (LETHE_ARRAY_GROW(ids, cap, 1024, "stdin ids") != LETHE_OK) {
    fprintf(stderr, "lethe %s: out of memory\n", CMD);
    return 1;
  }
  const char *p = in;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f') p++;
    if (!*p) break;
    const char *q = p;
    while (*q && !(*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '\v' || *q == '\f')) q++;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end != q || errno != 0 || v < INT_MIN || v > INT_MAX) {
      fprintf(stderr, "lethe %s: stdin: item %zu, '%.*s', is not an integer id\n", CMD, n + 1,
          (int)(q - p > 40 ? 40 : q - p), p);
      free(ids);
      return 1;
    }
    if (LETHE_ARRAY_RESERVE1(ids, n, cap, "stdin ids") != LETHE_OK) {
      free(ids);
      fprintf(stderr, "lethe %s: out of memory\n", CMD);
      return 1;
    }
    if (n >= INT_MAX) {
      free(ids);
      fprintf(stderr, "lethe %s: stdin: too many ids\n", CMD);
      return 1;
    }
    ids[n++] = (int)v;
    p = q;
  }
  char *text = NULL;
  size_t len = 0;
  if (lethe_tokenizer_decode(t, ids, (int)n, !special, &text, &len) != LETHE_OK) {
    free(ids);
    return cli_report(CMD);
  }
  fwrite(text, 1, len, stdout);
  free(text);
  free(ids);
  return finish_stdout();
}

int cmd_tokenize(int argc, char **argv) {
  const char *path = NULL;
  int special = 0, dec = 0, builtin_json = 0, as_jsonl = 0;
  const cli_arg defs[] = {
      {"tokenizer", ARG_STR, &path,
          "tokenizer.json, a directory holding one, a llama2.c tokenizer (.bin), a GGUF model (its "
          "tokenizer), or 'builtin' for the built-in byte-level tokenizer (a file named builtin: ./builtin)",
          0, 0, 0, NULL},
      {"special", ARG_FLAG, &special,
          "encoding: add the special tokens the tokenizer adds (e.g. BOS); decoding: keep special "
          "tokens (they are dropped by default)",
          0, 0, 0, NULL},
      {"decode", ARG_FLAG, &dec, "read whitespace-separated ids and print the text (no newline added)", 0, 0, 0, NULL},
      {"jsonl", ARG_FLAG, &as_jsonl,
          "stdin is JSONL, {\"text\": ...} per line ({\"ids\": [...]} with --decode); each line gets "
          "\"ids\" (\"text\") added, other fields kept",
          0, 0, 0, NULL},
      {"builtin-json", ARG_FLAG, &builtin_json, "print the built-in tokenizer as Hugging Face tokenizer.json and exit",
          0, 0, 0, NULL},
  };
  int rc = cli_parse(CMD,
      "Reads UTF-8 text from stdin (all of it, one text) and prints its token ids on "
      "one line; with --decode, reads ids and prints the text.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc == 1) return 0;
  if (rc != 0) return rc;
  if (builtin_json) {
    char *j = lethe_tokenizer_builtin_json();
    if (!j) {
      fprintf(stderr, "lethe %s: out of memory\n", CMD);
      return 1;
    }
    fputs(j, stdout);
    free(j);
    return finish_stdout();
  }
  if (!path) {
    fprintf(stderr, "lethe %s: missing required option --tokenizer (see lethe %s --help)\n", CMD, CMD);
    return 2;
  }
  lethe_tokenizer *t = NULL;
  lethe_status st = !strcmp(path, "builtin") ? lethe_tokenizer_builtin(&t) : lethe_model_tokenizer(NULL, path, &t);
  if (st != LETHE_OK) return cli_report(CMD);
  size_t len = 0;
  char *in = read_stdin(&len);
  if (!in) {
    lethe_tokenizer_free(t);
    return 1;
  }
  if (as_jsonl) {
    rc = jsonl(t, in, len, dec, special);
  } else if (dec && memchr(in, 0, len)) {
    fprintf(stderr, "lethe %s: stdin: a NUL byte where ids were expected\n", CMD);
    rc = 1;
  } else {
    rc = dec ? decode(t, in, special) : encode(t, in, len, special);
  }
  free(in);
  lethe_tokenizer_free(t);
  return rc;
}
