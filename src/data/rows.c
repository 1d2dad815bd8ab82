/* data/rows.c: reading LUME rows and documents from JSONL or Parquet (chosen by the file's magic,
 * not its name) with file:line (file: row) messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "util/array.h"
#include "util/json.h"
#include "util/jsonl.h"
#include "data/parquet.h"
#include "lethe/util.h"
#include "util/error.h"
#include "util/str.h"

#define ROWS_MAX_BYTES ((size_t)1 << 34)

typedef struct {
  lethe_rowset *set;
  size_t cap;
  int docs;
} load_ctx;

static lethe_status id_field(const json_t *obj, const char *path, size_t line, int required, char **out) {
  const json_t *v = json_object_get(obj, "id");
  char buf[32];
  *out = NULL;
  if (!v || json_is_null(v)) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: missing field \"id\"", path, line);
    snprintf(buf, sizeof buf, "line%zu", line);
    *out = strdup(buf);
  } else if (json_is_string(v)) {
    *out = lethe_strndup(json_string_value(v), json_string_length(v));
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
  LETHE_TRY(LETHE_ARRAY_GROW(set->rows, c->cap, (size_t)set->n + 1, path));
  lethe_row row;
  memset(&row, 0, sizeof row);
  row.line = (int)line;
  const char *in = "", *out = NULL, *task = "";
  size_t in_len = 0, out_len = 0, task_len = 0;
  const lethe_json_at at = {path, line, NULL};
  if (c->docs) {
    const char *key = json_object_get(obj, "document") ? "document" : "text";
    LETHE_TRY(lethe_json_str_at(obj, key, 1, &at, &out, &out_len));
  } else {
    LETHE_TRY(lethe_json_str_at(obj, "input", 1, &at, &in, &in_len));
    LETHE_TRY(lethe_json_str_at(obj, "output", 1, &at, &out, &out_len));
    LETHE_TRY(lethe_json_str_at(obj, "task", 0, &at, &task, &task_len));
  }
  LETHE_TRY(id_field(obj, path, line, !c->docs, &row.id));
  row.input = lethe_strndup(in, in_len);
  row.output = lethe_strndup(out, out_len);
  row.task = lethe_strndup(task, task_len);
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

/* A string column's value of row r (NULL when null); an integer column's value as text in buf. */
static const char *pq_cell(const lethe_pq_column *c, int64_t r, char *buf, size_t bufn, size_t *len) {
  if (c->null[r]) return NULL;
  if (c->kind == LETHE_PQ_INT) {
    *len = (size_t)snprintf(buf, bufn, "%lld", (long long)c->i[r]);
    return buf;
  }
  *len = c->len[r];
  return c->str[r];
}

static lethe_status pq_col(const lethe_pq_table *t, const char *path, const char *name, int required, int int_ok,
    const lethe_pq_column **out) {
  const lethe_pq_column *c = lethe_pq_find(t, name);
  *out = NULL;
  if (!c) return required ? lethe_fail(LETHE_ERR_FORMAT, "%s: no column \"%s\"", path, name) : LETHE_OK;
  if (c->kind != LETHE_PQ_STRING && !(int_ok && c->kind == LETHE_PQ_INT))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: column \"%s\" must be %s", path, name, int_ok ? "a string or an integer" : "a string");
  *out = c;
  return LETHE_OK;
}

static lethe_status pq_rows(const char *path, const uint8_t *data, size_t n, int docs, lethe_rowset *set) {
  lethe_pq_table t;
  LETHE_TRY(lethe_pq_parse(data, n, path, &t));
  const lethe_pq_column *id = NULL, *in = NULL, *out = NULL, *task = NULL;
  lethe_status s = pq_col(&t, path, "id", !docs, 1, &id);
  if (!s && docs) s = pq_col(&t, path, lethe_pq_find(&t, "document") ? "document" : "text", 1, 0, &out);
  if (!s && !docs) s = pq_col(&t, path, "input", 1, 0, &in);
  if (!s && !docs) s = pq_col(&t, path, "output", 1, 0, &out);
  if (!s && !docs) s = pq_col(&t, path, "task", 0, 0, &task);
  if (!s && t.n_rows > 0 && !(set->rows = calloc((size_t)t.n_rows, sizeof *set->rows)))
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", path);
  for (int64_t r = 0; r < t.n_rows && !s; r++) {
    lethe_row *row = &set->rows[r];
    char ibuf[32];
    size_t il = 0, inl = 0, ol = 0, tl = 0;
    const char *ids = id ? pq_cell(id, r, ibuf, sizeof ibuf, &il) : NULL;
    const char *ins = in ? pq_cell(in, r, NULL, 0, &inl) : "";
    const char *outs = pq_cell(out, r, NULL, 0, &ol);
    const char *tasks = task ? pq_cell(task, r, NULL, 0, &tl) : NULL;
    row->line = (int)r + 1;
    if (!ids && !docs)
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: row %lld: \"id\" is null", path, (long long)r + 1);
    else if (!ins)
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: row %lld: \"input\" is null", path, (long long)r + 1);
    else if (!outs)
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: row %lld: \"%s\" is null", path, (long long)r + 1, out->name);
    if (s) break;
    if (!ids) {
      il = (size_t)snprintf(ibuf, sizeof ibuf, "line%lld", (long long)r + 1);
      ids = ibuf;
    }
    if (!tasks) tasks = "";
    row->id = lethe_strndup(ids, il);
    row->input = lethe_strndup(ins, inl);
    row->output = lethe_strndup(outs, ol);
    row->task = lethe_strndup(tasks, tl);
    row->input_len = inl;
    row->output_len = ol;
    set->n = (int)r + 1;
    if (!row->id || !row->input || !row->output || !row->task)
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", path);
  }
  lethe_pq_free(&t);
  return s;
}

static lethe_status load(const char *path, int docs, size_t max_line, lethe_rowset *out) {
  memset(out, 0, sizeof *out);
  load_ctx c = {out, 0, docs};
  char *text;
  size_t len;
  LETHE_TRY(lethe_read_file(path, ROWS_MAX_BYTES, &text, &len));
  lethe_status s = lethe_is_parquet((const uint8_t *)text, len)
                       ? pq_rows(path, (const uint8_t *)text, len, docs, out)
                       : lethe_jsonl_each_buf(text, len, path, max_line, on_object, &c, NULL);
  free(text);
  if (!s && out->n == 0) s = lethe_fail(LETHE_ERR_FORMAT, "%s: no rows (the file is empty)", path);
  if (!s && !(out->path = strdup(path))) s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", path);
  if (s) lethe_rowset_free(out);
  return s;
}

lethe_status lethe_rows_load(const char *path, lethe_rowset *out) { return load(path, 0, 0, out); }
lethe_status lethe_docs_load(const char *path, lethe_rowset *out) { return load(path, 1, 0, out); }
lethe_status lethe_rowset_load_max(const char *path, int docs, size_t max_line, lethe_rowset *out) {
  return load(path, docs, max_line, out);
}

lethe_status lethe_rowset_append(lethe_rowset *to, lethe_rowset *more) {
  if (more->n > 0x7fffffff - to->n) return lethe_fail(LETHE_ERR_INVALID, "%s: too many rows", more->path);
  size_t n = (size_t)to->n + (size_t)more->n;
  lethe_row *rows = realloc(to->rows, (n ? n : 1) * sizeof *rows);
  size_t pl = (to->path ? strlen(to->path) : 0) + (more->path ? strlen(more->path) : 0) + 4;
  char *path = malloc(pl);
  if (rows) to->rows = rows;
  if (!rows || !path) {
    free(path);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  snprintf(path, pl, "%s + %s", to->path ? to->path : "", more->path ? more->path : "");
  if (more->n) memcpy(rows + to->n, more->rows, (size_t)more->n * sizeof *rows);
  to->n = (int)n;
  free(to->path);
  to->path = path;
  free(more->rows);
  free(more->path);
  memset(more, 0, sizeof *more);
  return LETHE_OK;
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
