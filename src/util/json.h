/* util/json.h: parsing JSON and reading typed fields of jansson objects, with messages that name
 * the file, the place and the field. The one typed-field helper of the tree: configuration files,
 * JSONL records and tokenizer.json all read their fields through it. */
#ifndef LETHE_UTIL_JSON_H
#define LETHE_UTIL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"

/* Parses JSON text; a syntax error names file, line and column. */
lethe_status lethe_json_parse(const char *text, size_t len, const char *name, json_t **out);
/* Reads and parses a JSON file (at most max_bytes). */
lethe_status lethe_json_load(const char *path, size_t max_bytes, json_t **out);

/* "an object", "a string", "an integer", "a number", "a boolean", "null"; "nothing" for NULL. */
const char *lethe_json_type_name(const json_t *v);

/* Where the object being read sits, for messages. Three places, three wordings:
 *   {file}             a whole file:       "config.json: field 'k' must be a string"
 *   {file, line}       a JSONL record:     "rows.jsonl:3: field \"k\" must be a string"
 *   {file, 0, path}    a nested object:    "tokenizer.json: model.k: expected a string, found an integer" */
typedef struct lethe_json_at {
  const char *file; /* the file (or other source) name */
  size_t line;      /* a JSONL record's 1-based line; 0: not a record */
  const char *path; /* the object's path inside the document ("model", "added_tokens[2]"); NULL: none */
} lethe_json_at;

/* Field getters. A key that is missing or null is absent: `present` (may be NULL) is set to
 * whether the field is there, and an absent optional field leaves *out unchanged (so set the
 * default first). An absent required field or a value of the wrong type is an error naming the
 * place and the key. Integers must lie in [lo, hi]; a real with an integral value counts as an
 * integer (Python writes 4.0). Numbers must be finite. Strings point into obj (*len, which may
 * be NULL, receives the length: strings may hold NUL bytes). */
lethe_status lethe_json_int_at(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi,
    const lethe_json_at *at, int64_t *out, int *present);
lethe_status lethe_json_num_at(
    const json_t *obj, const char *key, int required, const lethe_json_at *at, double *out, int *present);
lethe_status lethe_json_bool_at(
    const json_t *obj, const char *key, int required, const lethe_json_at *at, int *out, int *present);
lethe_status lethe_json_str_at(
    const json_t *obj, const char *key, int required, const lethe_json_at *at, const char **out, size_t *len);

/* The same for a field of a whole file named `name` (the {file} place above). */
lethe_status lethe_json_int(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi, const char *name,
    int64_t *out, int *present);
lethe_status lethe_json_num(
    const json_t *obj, const char *key, int required, const char *name, double *out, int *present);
lethe_status lethe_json_bool(const json_t *obj, const char *key, const char *name, int *out);
lethe_status lethe_json_str(const json_t *obj, const char *key, int required, const char *name, const char **out);

#endif
