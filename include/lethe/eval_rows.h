/* lethe/eval_rows.h: the evaluated rows: which metric an id selects, a row and a row set, and the
 * per-row JSONL that `lethe eval` writes and `--score-only` reads. */
#ifndef LETHE_EVAL_ROWS_H
#define LETHE_EVAL_ROWS_H

#include <stddef.h>

#include "lethe/split.h"
#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which metric a row gets (lethe_row_kind, in lethe/split.h), from its id as the official script
 * decides it: id[:-1] (the id without its last character) ending in "sc" is regurgitation, in "qa"
 * knowledge; anything else is scored by neither (counted in the results, not an error). */
lethe_row_kind lethe_eval_row_kind(const char *id, size_t len);

/* "forget" / "retain" (lethe_split is in lethe/split.h) */
const char *lethe_split_name(lethe_split s);

/* One evaluated row. The per-row JSONL holds one object per line with these fields:
 *   "id"        string, the LUME id (may contain '"')                          required
 *   "task"      string, e.g. "Task1"                                           required
 *   "split"     "forget" or "retain"                                           required
 *   "expected"  string, the reference output                                   required
 *   "generated" string, the model's greedy generation                          required
 *   "score"     number or null: ROUGE-L recall (sc), exact match 0/1 (qa),
 *               null (neither); written by lethe, ignored when read           optional
 *   "nll"       number or null: mean NLL of the expected output given the
 *               input (informational)                                          optional
 * Other fields are ignored (a key given twice in one object is an error). Blank lines are
 * skipped; any other bad line (invalid JSON, not an object, a missing field, a wrong type, an
 * unknown split) is an error naming the file and the line. */
typedef struct {
  char *id;
  char *task;
  lethe_split split;
  char *expected; /* NUL-terminated, expected_len bytes (may hold NULs) */
  size_t expected_len;
  char *generated;
  size_t generated_len;
  double nll;   /* NAN when absent */
  double score; /* set by lethe_eval_compute; NAN for rows of kind LETHE_ROW_OTHER */
  lethe_row_kind kind;
} lethe_eval_row;

typedef struct {
  lethe_eval_row *rows;
  size_t n;
  size_t cap_;
} lethe_eval_rows;

/* Appends a copy of a row (nll may be NAN); score is NAN until lethe_eval_compute. */
lethe_status lethe_eval_rows_add(lethe_eval_rows *set, const char *id, const char *task, lethe_split split,
    const char *expected, size_t expected_len, const char *generated, size_t generated_len, double nll);
/* Appends the rows of a per-row JSONL file. */
lethe_status lethe_eval_rows_read_jsonl(const char *path, lethe_eval_rows *set);
/* Writes the rows as per-row JSONL (atomically: temporary name, then rename). */
lethe_status lethe_eval_rows_write_jsonl(const lethe_eval_rows *set, const char *path);
void lethe_eval_rows_free(lethe_eval_rows *set);

#ifdef __cplusplus
}
#endif
#endif
