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

const char *lethe_json_type_name(const json_t *v) {
  if (!v) return "nothing";
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "something else";
}

static const json_t *field(const json_t *obj, const char *key) {
  const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return (v && !json_is_null(v)) ? v : NULL;
}

/* The messages, in the wording of each kind of place (see lethe_json_at). `kind` is the bare
 * type word ("string"), `want` the same with its article ("a string"). */
static lethe_status missing(const lethe_json_at *at, const char *key, const char *kind) {
  if (at->path) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: missing %s field \"%s\"", at->file, at->path, kind, key);
  if (at->line) return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: missing field \"%s\"", at->file, at->line, key);
  return lethe_fail(LETHE_ERR_FORMAT, "%s: missing required field '%s'", at->file, key);
}

static lethe_status wrong(const lethe_json_at *at, const char *key, const char *want, const json_t *v) {
  if (at->path)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s.%s: expected %s, found %s", at->file, at->path, key, want, lethe_json_type_name(v));
  if (at->line) return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"%s\" must be %s", at->file, at->line, key, want);
  return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be %s", at->file, key, want);
}

static lethe_status out_of_range(const lethe_json_at *at, const char *key, int64_t x, int64_t lo, int64_t hi) {
  if (at->path)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.%s: %lld is out of range [%lld, %lld]", at->file, at->path, key,
        (long long)x, (long long)lo, (long long)hi);
  if (at->line)
    return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"%s\" is %lld, outside [%lld, %lld]", at->file, at->line, key,
        (long long)x, (long long)lo, (long long)hi);
  return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' is %lld, outside [%lld, %lld]", at->file, key, (long long)x,
      (long long)lo, (long long)hi);
}

static lethe_status not_finite(const lethe_json_at *at, const char *key) {
  if (at->path) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.%s: expected a finite number", at->file, at->path, key);
  if (at->line) return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"%s\" is not finite", at->file, at->line, key);
  return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' is not finite", at->file, key);
}

/* The field's value, or NULL when absent (then an error if required: *st says which). */
static const json_t *get(const json_t *obj, const char *key, int required, const lethe_json_at *at, const char *kind,
    int *present, lethe_status *st) {
  const json_t *v = field(obj, key);
  if (present) *present = v != NULL;
  *st = (!v && required) ? missing(at, key, kind) : LETHE_OK;
  return v;
}

lethe_status lethe_json_int_at(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi,
    const lethe_json_at *at, int64_t *out, int *present) {
  lethe_status st;
  const json_t *v = get(obj, key, required, at, "integer", present, &st);
  if (!v) return st;
  int64_t x;
  if (json_is_integer(v)) {
    x = (int64_t)json_integer_value(v);
  } else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) && fabs(json_real_value(v)) < 9e15) {
    x = (int64_t)json_real_value(v);
  } else {
    return wrong(at, key, "an integer", v);
  }
  if (x < lo || x > hi) return out_of_range(at, key, x, lo, hi);
  *out = x;
  return LETHE_OK;
}

lethe_status lethe_json_num_at(
    const json_t *obj, const char *key, int required, const lethe_json_at *at, double *out, int *present) {
  lethe_status st;
  const json_t *v = get(obj, key, required, at, "number", present, &st);
  if (!v) return st;
  if (!json_is_number(v)) return wrong(at, key, "a number", v);
  double x = json_number_value(v);
  if (!isfinite(x)) return not_finite(at, key);
  *out = x;
  return LETHE_OK;
}

lethe_status lethe_json_bool_at(
    const json_t *obj, const char *key, int required, const lethe_json_at *at, int *out, int *present) {
  lethe_status st;
  const json_t *v = get(obj, key, required, at, "boolean", present, &st);
  if (!v) return st;
  if (!json_is_boolean(v)) return wrong(at, key, "true or false", v);
  *out = json_is_true(v);
  return LETHE_OK;
}

lethe_status lethe_json_str_at(
    const json_t *obj, const char *key, int required, const lethe_json_at *at, const char **out, size_t *len) {
  lethe_status st;
  const json_t *v = get(obj, key, required, at, "string", NULL, &st);
  if (!v) return st;
  if (!json_is_string(v)) return wrong(at, key, "a string", v);
  *out = json_string_value(v);
  if (len) *len = json_string_length(v);
  return LETHE_OK;
}

lethe_status lethe_json_int(const json_t *obj, const char *key, int required, int64_t lo, int64_t hi, const char *name,
    int64_t *out, int *present) {
  const lethe_json_at at = {name, 0, NULL};
  return lethe_json_int_at(obj, key, required, lo, hi, &at, out, present);
}

lethe_status lethe_json_num(
    const json_t *obj, const char *key, int required, const char *name, double *out, int *present) {
  const lethe_json_at at = {name, 0, NULL};
  return lethe_json_num_at(obj, key, required, &at, out, present);
}

lethe_status lethe_json_bool(const json_t *obj, const char *key, const char *name, int *out) {
  const lethe_json_at at = {name, 0, NULL};
  return lethe_json_bool_at(obj, key, 0, &at, out, NULL);
}

lethe_status lethe_json_str(const json_t *obj, const char *key, int required, const char *name, const char **out) {
  const lethe_json_at at = {name, 0, NULL};
  return lethe_json_str_at(obj, key, required, &at, out, NULL);
}
