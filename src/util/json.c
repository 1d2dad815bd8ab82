/* util/json.c: jansson parsing and typed field access with file/field error messages. */
#include "util/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fileio.h"

lethe_status lethe_json_parse(const char *text, size_t len, const char *name, json_t **out) {
  json_error_t e;
  *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
  if (!*out)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: line %d, column %d: invalid JSON: %s", name, e.line, e.column, e.text);
  return LETHE_OK;
}

lethe_status lethe_json_load(const char *path, size_t max_bytes, json_t **out) {
  char *buf;
  size_t n;
  *out = NULL;
  LETHE_TRY(lethe_read_file(path, max_bytes, &buf, &n));
  lethe_status s = lethe_json_parse(buf, n, path, out);
  free(buf);
  return s;
}

static const json_t *field(const json_t *obj, const char *key) {
  const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return (v && !json_is_null(v)) ? v : NULL;
}

lethe_status lethe_json_int(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi, const char *name,
    int64_t *out, int *present) {
  const json_t *v = field(obj, key);
  if (present) *present = v != NULL;
  if (!v) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s: missing required field '%s'", name, key);
    return LETHE_OK;
  }
  int64_t x;
  if (json_is_integer(v)) {
    x = (int64_t)json_integer_value(v);
  } else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) && fabs(json_real_value(v)) < 9e15) {
    x = (int64_t)json_real_value(v);
  } else {
    return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be an integer", name, key);
  }
  if (x < lo || x > hi)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' is %lld, outside [%lld, %lld]", name, key, (long long)x,
        (long long)lo, (long long)hi);
  *out = x;
  return LETHE_OK;
}

lethe_status lethe_json_num(
    const json_t *obj, const char *key, int required, const char *name, double *out, int *present) {
  const json_t *v = field(obj, key);
  if (present) *present = v != NULL;
  if (!v) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s: missing required field '%s'", name, key);
    return LETHE_OK;
  }
  if (!json_is_number(v)) return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be a number", name, key);
  double x = json_number_value(v);
  if (!isfinite(x)) return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' is not finite", name, key);
  *out = x;
  return LETHE_OK;
}

lethe_status lethe_json_bool(const json_t *obj, const char *key, const char *name, int *out) {
  const json_t *v = field(obj, key);
  if (!v) return LETHE_OK;
  if (!json_is_boolean(v)) return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be true or false", name, key);
  *out = json_is_true(v);
  return LETHE_OK;
}

lethe_status lethe_json_str(const json_t *obj, const char *key, int required, const char *name, const char **out) {
  const json_t *v = field(obj, key);
  if (!v) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s: missing required field '%s'", name, key);
    return LETHE_OK;
  }
  if (!json_is_string(v)) return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be a string", name, key);
  *out = json_string_value(v);
  return LETHE_OK;
}
