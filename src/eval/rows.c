/* eval/rows.c: the evaluated rows and their per-row JSONL (what `lethe eval` writes and
 * `--score-only` reads), and the official rule that tells sc rows from qa rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/json.h"
#include "util/jsonl.h"
#include "eval/pyjson.h"
#include "eval/pytext.h"
#include "lethe/eval_rows.h"
#include "util/error.h"

lethe_row_kind lethe_eval_row_kind(const char *id, size_t len) {
  /* id[:-1]: drop the last code point (not byte), then test the suffix. */
  size_t i = 0, last = 0;
  while (i < len) {
    size_t adv;
    last = i;
    lethe_py_decode((const uint8_t *)id + i, len - i, &adv);
    i += adv;
  }
  if (last < 2) return LETHE_ROW_OTHER;
  if (id[last - 2] == 's' && id[last - 1] == 'c') return LETHE_ROW_SC;
  if (id[last - 2] == 'q' && id[last - 1] == 'a') return LETHE_ROW_QA;
  return LETHE_ROW_OTHER;
}

const char *lethe_split_name(lethe_split s) {
  return s == LETHE_SPLIT_FORGET ? "forget" : s == LETHE_SPLIT_RETAIN ? "retain" : "?";
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

static void row_free(lethe_eval_row *r) {
  free(r->id);
  free(r->task);
  free(r->expected);
  free(r->generated);
}

lethe_status lethe_eval_rows_add(lethe_eval_rows *set, const char *id, const char *task, lethe_split split,
    const char *expected, size_t expected_len, const char *generated, size_t generated_len, double nll) {
  if (split != LETHE_SPLIT_FORGET && split != LETHE_SPLIT_RETAIN)
    return lethe_fail(LETHE_ERR_INVALID, "row %s: bad split %d", id, (int)split);
  LETHE_TRY(LETHE_ARRAY_RESERVE1(set->rows, set->n, set->cap_, "evaluation rows"));
  lethe_eval_row *r = &set->rows[set->n];
  memset(r, 0, sizeof *r);
  r->id = strdup(id);
  r->task = strdup(task);
  r->expected = dup_n(expected, expected_len);
  r->generated = dup_n(generated, generated_len);
  if (!r->id || !r->task || !r->expected || !r->generated) {
    row_free(r);
    return lethe_fail(LETHE_ERR_NOMEM, "adding row %zu: out of memory", set->n + 1);
  }
  r->split = split;
  r->expected_len = expected_len;
  r->generated_len = generated_len;
  r->nll = nll;
  r->score = NAN;
  r->kind = lethe_eval_row_kind(id, strlen(id));
  set->n++;
  return LETHE_OK;
}

void lethe_eval_rows_free(lethe_eval_rows *set) {
  for (size_t i = 0; i < set->n; i++) row_free(&set->rows[i]);
  free(set->rows);
  memset(set, 0, sizeof *set);
}

/* id, task and split are names: they may not hold NUL bytes. */
static lethe_status name_field(const json_t *obj, const char *key, const char *path, size_t line, const char **s) {
  size_t n = 0;
  LETHE_TRY(lethe_json_str_at(obj, key, 1, &(lethe_json_at){path, line, NULL}, s, &n));
  if (strlen(*s) != n)
    return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"%s\" contains a NUL character", path, line, key);
  return LETHE_OK;
}

static lethe_status read_row(const json_t *obj, const char *path, size_t line, void *ctx) {
  lethe_eval_rows *set = ctx;
  const char *id, *task, *split_s, *expected, *generated;
  size_t expected_len, generated_len;
  LETHE_TRY(name_field(obj, "id", path, line, &id));
  LETHE_TRY(name_field(obj, "task", path, line, &task));
  LETHE_TRY(name_field(obj, "split", path, line, &split_s));
  const lethe_json_at at = {path, line, NULL};
  LETHE_TRY(lethe_json_str_at(obj, "expected", 1, &at, &expected, &expected_len));
  LETHE_TRY(lethe_json_str_at(obj, "generated", 1, &at, &generated, &generated_len));
  lethe_split split;
  if (strcmp(split_s, "forget") == 0)
    split = LETHE_SPLIT_FORGET;
  else if (strcmp(split_s, "retain") == 0)
    split = LETHE_SPLIT_RETAIN;
  else
    return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"split\" must be \"forget\" or \"retain\", not \"%.40s\"", path,
        line, split_s);
  double nll = NAN, score = NAN;
  LETHE_TRY(lethe_json_num_at(obj, "nll", 0, &at, &nll, NULL));
  LETHE_TRY(lethe_json_num_at(obj, "score", 0, &at, &score, NULL)); /* checked, unused */
  return lethe_eval_rows_add(set, id, task, split, expected, expected_len, generated, generated_len, nll);
}

lethe_status lethe_eval_rows_read_jsonl(const char *path, lethe_eval_rows *set) {
  return lethe_jsonl_each(path, read_row, set, NULL);
}

lethe_status lethe_eval_rows_write_jsonl(const lethe_eval_rows *set, const char *path) {
  lethe_sbuf b = {0};
  for (size_t i = 0; i < set->n && !b.oom; i++) {
    const lethe_eval_row *r = &set->rows[i];
    lethe_sbuf_puts(&b, "{\"id\": ");
    lethe_pyjson_string(&b, r->id, strlen(r->id));
    lethe_sbuf_puts(&b, ", \"task\": ");
    lethe_pyjson_string(&b, r->task, strlen(r->task));
    lethe_sbuf_puts(&b, ", \"split\": \"");
    lethe_sbuf_puts(&b, lethe_split_name(r->split));
    lethe_sbuf_puts(&b, "\", \"expected\": ");
    lethe_pyjson_string(&b, r->expected, r->expected_len);
    lethe_sbuf_puts(&b, ", \"generated\": ");
    lethe_pyjson_string(&b, r->generated, r->generated_len);
    lethe_sbuf_puts(&b, ", \"score\": ");
    lethe_pyjson_float(&b, r->score);
    lethe_sbuf_puts(&b, ", \"nll\": ");
    lethe_pyjson_float(&b, r->nll);
    lethe_sbuf_puts(&b, "}\n");
  }
  lethe_status st = lethe_sbuf_write_file(&b, path);
  lethe_sbuf_free(&b);
  return st;
}
