/* tokenizer/tok_json.c: typed field access on tokenizer.json objects, each failure one message
 * naming the file, the place and the problem. */
#include <stdio.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

const char *tok_json_type_name(const json_t *j) {
  if (!j) return "nothing";
  switch (json_typeof(j)) {
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

lethe_status tok_json_get_string(const json_t *obj, const char *key, int required, const char *name, const char *where,
    const char **s, size_t *len) {
  json_t *v = json_object_get(obj, key);
  *s = NULL;
  if (len) *len = 0;
  if (!v || json_is_null(v)) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: missing string field \"%s\"", name, where, key);
    return LETHE_OK;
  }
  if (!json_is_string(v))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s.%s: expected a string, found %s", name, where, key, tok_json_type_name(v));
  *s = json_string_value(v);
  if (len) *len = json_string_length(v);
  return LETHE_OK;
}

lethe_status tok_json_get_bool(
    const json_t *obj, const char *key, int dflt, const char *name, const char *where, int *out) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    *out = dflt;
    return LETHE_OK;
  }
  if (!json_is_boolean(v))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s.%s: expected true or false, found %s", name, where, key, tok_json_type_name(v));
  *out = json_is_true(v);
  return LETHE_OK;
}

lethe_status tok_json_get_int(const json_t *obj, const char *key, long long dflt, long long lo, long long hi,
    const char *name, const char *where, long long *out) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    *out = dflt;
    return LETHE_OK;
  }
  if (!json_is_integer(v))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s.%s: expected an integer, found %s", name, where, key, tok_json_type_name(v));
  long long x = json_integer_value(v);
  if (x < lo || x > hi)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.%s: %lld is out of range [%lld, %lld]", name, where, key, x, lo, hi);
  *out = x;
  return LETHE_OK;
}

lethe_status tok_json_type(const json_t *obj, const char *name, const char *where, const char **type) {
  if (!json_is_object(obj))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: expected an object, found %s", name, where, tok_json_type_name(obj));
  return tok_json_get_string(obj, "type", 1, name, where, type, NULL);
}

lethe_status tok_json_get_char(
    const json_t *obj, const char *key, uint32_t dflt, const char *name, const char *where, uint32_t *out) {
  const char *s;
  size_t n;
  LETHE_TRY(tok_json_get_string(obj, key, 0, name, where, &s, &n));
  if (!s) {
    *out = dflt;
    return LETHE_OK;
  }
  if (n == 0 || tok_utf8_invalid_at(s, n) != n || tok_utf8_len((unsigned char)s[0]) != n)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.%s: expected exactly one character", name, where, key);
  tok_utf8_decode(s, out);
  return LETHE_OK;
}

lethe_status tok_json_pattern(const json_t *obj, const char *key, const char *name, const char *where, tok_regex **re) {
  char w[256];
  *re = NULL;
  json_t *p = json_object_get(obj, key);
  if (!p) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: missing \"%s\"", name, where, key);
  if (!json_is_object(p) || json_object_size(p) != 1)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.%s: expected {\"String\": ...} or {\"Regex\": ...}, found %s", name,
        where, key, tok_json_type_name(p));
  json_t *s = json_object_get(p, "String");
  json_t *r = json_object_get(p, "Regex");
  json_t *v = s ? s : r;
  if (!v || !json_is_string(v))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s.%s: expected {\"String\": ...} or {\"Regex\": ...} with a string", name, where, key);
  snprintf(w, sizeof w, "%s: %s.%s", name, where, key);
  return tok_regex_compile(json_string_value(v), json_string_length(v), s != NULL, w, re);
}
