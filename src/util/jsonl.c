/* util/jsonl.c: JSONL walking with file:line messages. */
#include "util/jsonl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fileio.h"

#define LETHE_JSONL_MAX_BYTES ((size_t)1 << 32)

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
  return 1;
}

lethe_status lethe_jsonl_each(const char *path, lethe_jsonl_fn fn, void *ctx, size_t *n_objects) {
  return lethe_jsonl_each_max(path, 0, fn, ctx, n_objects);
}

lethe_status lethe_jsonl_each_max(const char *path, size_t max_line, lethe_jsonl_fn fn, void *ctx, size_t *n_objects) {
  if (n_objects) *n_objects = 0;
  if (max_line == 0) max_line = LETHE_JSONL_MAX_LINE;
  char *text;
  size_t len;
  LETHE_TRY(lethe_read_file(path, LETHE_JSONL_MAX_BYTES, &text, &len));
  lethe_status st = lethe_jsonl_each_buf(text, len, path, max_line, fn, ctx, n_objects);
  free(text);
  return st;
}

lethe_status lethe_jsonl_each_buf(
    const char *text, size_t len, const char *path, size_t max_line, lethe_jsonl_fn fn, void *ctx, size_t *n_objects) {
  if (n_objects) *n_objects = 0;
  if (max_line == 0) max_line = LETHE_JSONL_MAX_LINE;
  lethe_status st = LETHE_OK;
  size_t line = 0, count = 0, pos = 0;
  while (pos < len && st == LETHE_OK) {
    line++;
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    if (n > max_line) {
      st = lethe_fail(LETHE_ERR_FORMAT,
          "%s:%zu: the line is %zu bytes, longer than the %zu allowed (raise it with --max-line-bytes)", path, line, n,
          max_line);
      break;
    }
    if (blank(s, n)) continue;
    json_error_t err;
    json_t *obj = json_loadb(s, n, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
    if (!obj) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: invalid JSON: %s (column %d)", path, line, err.text, err.column);
      break;
    }
    if (!json_is_object(obj)) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: expected a JSON object", path, line);
    } else {
      count++;
      st = fn(obj, path, line, ctx);
    }
    json_decref(obj);
  }
  if (n_objects) *n_objects = count;
  return st;
}

/* The record's "step" (the writer puts it first): -1 when the line is not a record. */
static long long line_step(const char *line, size_t n) {
  json_error_t je;
  json_t *o = json_loadb(line, n, 0, &je);
  const json_t *st = json_object_get(o, "step");
  long long step = json_is_integer(st) ? (long long)json_integer_value(st) : -1;
  json_decref(o);
  return step;
}

lethe_status lethe_jsonl_keep_steps(const char *path, int64_t upto) {
  char *text;
  size_t len;
  if (!lethe_file_exists(path)) return LETHE_OK;
  LETHE_TRY(lethe_read_file(path, (size_t)1 << 31, &text, &len));
  lethe_atomic_file f;
  lethe_status s = lethe_atomic_open(&f, path);
  if (s) {
    free(text);
    return s;
  }
  for (char *line = text; line < text + len;) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
    long long step = n ? line_step(line, n) : -1;
    if (step >= 0 && step <= upto) {
      fwrite(line, 1, n, f.fp);
      fputc('\n', f.fp);
    }
    line += n + 1;
  }
  free(text);
  return lethe_atomic_commit(&f);
}
