/* cli/cmd_tokenize.c: `lethe tokenize`: text on stdin to token ids on stdout (one line, separated
 * by spaces), or, with --decode, whitespace-separated ids on stdin to the text they decode to.
 * --special adds the special tokens the tokenizer's post-processor adds (e.g. BOS) when encoding
 * and keeps special tokens when decoding (by default decoding drops them). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/tokenizer.h"

static const char *CMD = "tokenize";

/* Reads all of stdin; NULL with a message on failure. */
static char *read_stdin(size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fprintf(stderr, "lethe %s: out of memory reading stdin\n", CMD);
    return NULL;
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *p = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2) : NULL;
      if (!p) {
        free(buf);
        fprintf(stderr, "lethe %s: out of memory reading stdin\n", CMD);
        return NULL;
      }
      buf = p;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n - 1, stdin);
    n += r;
    if (r == 0) {
      if (ferror(stdin)) {
        fprintf(stderr, "lethe %s: stdin: %s\n", CMD, strerror(errno));
        free(buf);
        return NULL;
      }
      break;
    }
  }
  buf[n] = 0;
  *len = n;
  return buf;
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
  size_t cap = 1024, n = 0;
  int *ids = malloc(cap * sizeof *ids);
  if (!ids) {
    fprintf(stderr, "lethe %s: out of memory\n", CMD);
    return 1;
  }
  const char *p = in;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f') p++;
    if (!*p) break;
    const char *q = p;
    while (*q && !(*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '\v' || *q == '\f'))
      q++;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end != q || errno != 0 || v < INT_MIN || v > INT_MAX) {
      fprintf(stderr, "lethe %s: stdin: item %zu, '%.*s', is not an integer id\n", CMD, n + 1,
              (int)(q - p > 40 ? 40 : q - p), p);
      free(ids);
      return 1;
    }
    if (n == cap) {
      int *np = realloc(ids, cap * 2 * sizeof *ids);
      if (!np) {
        free(ids);
        fprintf(stderr, "lethe %s: out of memory\n", CMD);
        return 1;
      }
      ids = np;
      cap *= 2;
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
  int special = 0, dec = 0, builtin_json = 0;
  const cli_arg defs[] = {
      {"tokenizer", ARG_STR, &path,
       "tokenizer.json, a directory holding one, a llama2.c tokenizer (.bin), or 'builtin' for the "
       "built-in byte-level tokenizer (a file named builtin: ./builtin)",
       0, 0, 0, NULL},
      {"special", ARG_FLAG, &special,
       "encoding: add the special tokens the tokenizer adds (e.g. BOS); decoding: keep special "
       "tokens (they are dropped by default)",
       0, 0, 0, NULL},
      {"decode", ARG_FLAG, &dec, "read whitespace-separated ids and print the text (no newline added)",
       0, 0, 0, NULL},
      {"builtin-json", ARG_FLAG, &builtin_json,
       "print the built-in tokenizer as Hugging Face tokenizer.json and exit", 0, 0, 0, NULL},
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
    fprintf(stderr, "lethe %s: missing required option --tokenizer (see lethe %s --help)\n", CMD,
            CMD);
    return 2;
  }
  lethe_tokenizer *t = NULL;
  lethe_status st = !strcmp(path, "builtin") ? lethe_tokenizer_builtin(&t)
                                             : lethe_tokenizer_load(path, &t);
  if (st != LETHE_OK) return cli_report(CMD);
  size_t len = 0;
  char *in = read_stdin(&len);
  if (!in) {
    lethe_tokenizer_free(t);
    return 1;
  }
  if (dec && memchr(in, 0, len)) {
    fprintf(stderr, "lethe %s: stdin: a NUL byte where ids were expected\n", CMD);
    rc = 1;
  } else {
    rc = dec ? decode(t, in, special) : encode(t, in, len, special);
  }
  free(in);
  lethe_tokenizer_free(t);
  return rc;
}
