/* data/rows.c: reading LUME rows and documents from JSONL with file:line messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "util/jsonl.h"
#include "util/error.h"

typedef struct {
  lethe_rowset *set;
  int cap;
  int docs;
} load_ctx;

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static lethe_status id_field(const json_t *obj, const char *path, size_t line, int required, char **out) {
  const json_t *v = json_object_get(obj, "id");
  char buf[32];
  *out = NULL;
  if (!v || json_is_null(v)) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: missing field \"id\"", path, line);
    snprintf(buf, sizeof buf, "line%zu", line);
    *out = strdup(buf);
  } else if (json_is_string(v)) {
    *out = dup_n(json_string_value(v), json_string_length(v));
  } else if (json_is_integer(v)) {
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    *out = strdup(buf);
  } else {
    return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"id\" must be a string or an integer", path, line);
  }
  return *out ? LETHE_OK : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
}

static lethe_status on_object(const json_t *obj, const char *path, size_t line, void *vctx) {
  load_ctx *c = vctx;
  lethe_rowset *set = c->set;
  if (set->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 256;
    lethe_row *r = realloc(set->rows, sizeof *r * (size_t)cap);
    if (!r) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    set->rows = r;
    c->cap = cap;
  }
  lethe_row row;
  memset(&row, 0, sizeof row);
  row.line = (int)line;
  const char *in = "", *out = NULL, *task = "";
  size_t in_len = 0, out_len = 0, task_len = 0;
  if (c->docs) {
    const char *key = json_object_get(obj, "document") ? "document" : "text";
    LETHE_TRY(lethe_jsonl_str(obj, key, path, line, &out, &out_len));
  } else {
    LETHE_TRY(lethe_jsonl_str(obj, "input", path, line, &in, &in_len));
    LETHE_TRY(lethe_jsonl_str(obj, "output", path, line, &out, &out_len));
    const json_t *t = json_object_get(obj, "task");
    if (t && !json_is_null(t)) LETHE_TRY(lethe_jsonl_str(obj, "task", path, line, &task, &task_len));
  }
  LETHE_TRY(id_field(obj, path, line, !c->docs, &row.id));
  row.input = dup_n(in, in_len);
  row.output = dup_n(out, out_len);
  row.task = dup_n(task, task_len);
  row.input_len = in_len;
  row.output_len = out_len;
  if (!row.input || !row.output || !row.task) {
    free(row.id);
    free(row.input);
    free(row.output);
    free(row.task);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  set->rows[set->n++] = row;
  return LETHE_OK;
}

static lethe_status load(const char *path, int docs, size_t max_line, lethe_rowset *out) {
  memset(out, 0, sizeof *out);
  load_ctx c = {out, 0, docs};
  lethe_status s = lethe_jsonl_each_max(path, max_line, on_object, &c, NULL);
  if (!s && out->n == 0) s = lethe_fail(LETHE_ERR_FORMAT, "%s: no rows (the file is empty)", path);
  if (!s) {
    out->path = strdup(path);
  } else {
    lethe_rowset_free(out);
  }
  return s;
}

lethe_status lethe_rows_load(const char *path, lethe_rowset *out) { return load(path, 0, 0, out); }
lethe_status lethe_docs_load(const char *path, lethe_rowset *out) { return load(path, 1, 0, out); }
lethe_status lethe_rowset_load_max(const char *path, int docs, size_t max_line, lethe_rowset *out) {
  return load(path, docs, max_line, out);
}

void lethe_rowset_free(lethe_rowset *r) {
  for (int i = 0; i < r->n; i++) {
    free(r->rows[i].id);
    free(r->rows[i].task);
    free(r->rows[i].input);
    free(r->rows[i].output);
  }
  free(r->rows);
  free(r->path);
  memset(r, 0, sizeof *r);
}
