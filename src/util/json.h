/* util/json.h: typed field access on jansson objects with messages that name the file and field. */
#ifndef LETHE_UTIL_JSON_H
#define LETHE_UTIL_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "lethe/status.h"

/* Parses JSON text; a syntax error names file, line and column. */
lethe_status lethe_json_parse(const char *text, size_t len, const char *name, json_t **out);
/* Reads and parses a JSON file (at most max_bytes). */
lethe_status lethe_json_load(const char *path, size_t max_bytes, json_t **out);

/* Field getters. `present` (may be NULL) is set to whether the key exists and is not null;
 * a missing optional field leaves *out unchanged. A required missing field or a value of the
 * wrong type is an error naming `name` and `key`. */
lethe_status lethe_json_int(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi, const char *name,
    int64_t *out, int *present);
lethe_status lethe_json_num(
    const json_t *obj, const char *key, int required, const char *name, double *out, int *present);
lethe_status lethe_json_bool(const json_t *obj, const char *key, const char *name, int *out);
lethe_status lethe_json_str(const json_t *obj, const char *key, int required, const char *name, const char **out);

#endif
