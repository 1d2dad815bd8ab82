/* tokenizer/tok_json.c: the tokenizer.json field shapes util/json.h does not know (a component's
 * "type", a {"String"|"Regex"} pattern, a one-character string), each failure one message naming
 * the file, the place and the problem. */
#include <stdio.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

lethe_status tok_json_type(const json_t *obj, const char *name, const char *where, const char **type) {
  if (!json_is_object(obj))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: expected an object, found %s", name, where, lethe_json_type_name(obj));
  const lethe_json_at at = {name, 0, where};
  *type = NULL;
  return lethe_json_str_at(obj, "type", 1, &at, type, NULL);
}

lethe_status tok_json_get_char(
    const json_t *obj, const char *key, uint32_t dflt, const char *name, const char *where, uint32_t *out) {
  const lethe_json_at at = {name, 0, where};
  const char *s = NULL;
  size_t n = 0;
  LETHE_TRY(lethe_json_str_at(obj, key, 0, &at, &s, &n));
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
        where, key, lethe_json_type_name(p));
  json_t *s = json_object_get(p, "String");
  json_t *r = json_object_get(p, "Regex");
  json_t *v = s ? s : r;
  if (!v || !json_is_string(v))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s.%s: expected {\"String\": ...} or {\"Regex\": ...} with a string", name, where, key);
  snprintf(w, sizeof w, "%s: %s.%s", name, where, key);
  return tok_regex_compile(json_string_value(v), json_string_length(v), s != NULL, w, re);
}
