/* util/jsonl.c: JSONL walking with file:line messages. */
#include "util/jsonl.h"

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
