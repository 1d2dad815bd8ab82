/* util/jsonl.h: reading a JSONL file object by object, with messages that name the file, the
 * line and the field (shared by the data rows, the per-row and the MIA NLL readers). */
#ifndef LETHE_UTIL_JSONL_H
#define LETHE_UTIL_JSONL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"

/* Called for each object; `line` is 1-based. A non-OK status stops the walk and is returned. */
typedef lethe_status (*lethe_jsonl_fn)(const json_t *obj, const char *path, size_t line, void *ctx);

/* Walks every non-blank line of `path`: each must be one JSON object (strings may hold \u0000).
 * *n_objects (may be NULL) receives the number of objects seen. */
lethe_status lethe_jsonl_each(const char *path, lethe_jsonl_fn fn, void *ctx, size_t *n_objects);
/* The same with a bound on a line's length (0: LETHE_JSONL_MAX_LINE): a longer line is one error
 * naming the file, the line and both sizes, before any parse. */
#define LETHE_JSONL_MAX_LINE ((size_t)64 << 20)
lethe_status lethe_jsonl_each_max(const char *path, size_t max_line, lethe_jsonl_fn fn, void *ctx, size_t *n_objects);
/* The same walk over a file already in memory (text[0..len), named `path` in messages). */
lethe_status lethe_jsonl_each_buf(
    const char *text, size_t len, const char *path, size_t max_line, lethe_jsonl_fn fn, void *ctx, size_t *n_objects);

/* Keeps the lines of a JSONL log whose object has an integer "step" <= upto (a resumed run redoes
 * the later steps), replacing the file atomically; a missing file is left missing. The logs of a
 * run (train_log.jsonl, eval_log.jsonl) trim through it. */
lethe_status lethe_jsonl_keep_steps(const char *path, int64_t upto);

/* Fields of a record: util/json.h's getters with the place {path, line}. */

#endif
