/* io/gguf_meta.c: typed lookups of GGUF metadata and tensors by name. Integer and float keys are
 * accepted in any numeric encoding a writer may have chosen (u32 or u64, f32 or f64), with the
 * range checked; a wrong type is an error naming the key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "util/error.h"

static const char *const VTYPE_NAMES[GGUF_NTYPES] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64"};

const char *lethe_gguf_vtype_name(lethe_gguf_vtype t) { return (unsigned)t < GGUF_NTYPES ? VTYPE_NAMES[t] : "unknown"; }

int lethe_gguf_type_is_number(lethe_gguf_vtype t) {
  return t != GGUF_STRING && t != GGUF_ARRAY && (unsigned)t < GGUF_NTYPES;
}

const lethe_gguf_kv *lethe_gguf_find_kv(const lethe_gguf *g, const char *key) {
  for (size_t i = 0; i < g->n_kv; i++)
    if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
  return NULL;
}

const lethe_gguf_tensor *lethe_gguf_find_tensor(const lethe_gguf *g, const char *name) {
  for (size_t i = 0; i < g->n_tensors; i++)
    if (!strcmp(g->tensors[i].name, name)) return &g->tensors[i];
  return NULL;
}

/* The float32 value as the shortest decimal that reads back to it (1e-5 rather than
 * 9.99999974737875e-06): the values writers store as float32 were decimals to begin with. */
static double f32_decimal(float f) {
  if (!isfinite(f)) return (double)f;
  char b[32];
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(b, sizeof b, "%.*g", prec, (double)f);
    if (strtof(b, NULL) == f) return strtod(b, NULL);
  }
  return (double)f;
}

static uint64_t rd(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* One numeric value of type t at p, as int64 (is_int) or double. */
static void number_at(lethe_gguf_vtype t, const uint8_t *p, int64_t *iv, double *dv, int *is_int) {
  *is_int = 1;
  switch (t) {
  case GGUF_UINT8: *iv = (int64_t)p[0]; break;
  case GGUF_INT8: *iv = (int8_t)p[0]; break; // NOLINT(bugprone-signed-char-misuse): sign-extends on purpose
  case GGUF_BOOL: *iv = p[0] != 0; break;
  case GGUF_UINT16: *iv = (int64_t)rd(p, 2); break;
  case GGUF_INT16: *iv = (int16_t)rd(p, 2); break;
  case GGUF_UINT32: *iv = (int64_t)rd(p, 4); break;
  case GGUF_INT32: *iv = (int32_t)(uint32_t)rd(p, 4); break;
  case GGUF_INT64: *iv = (int64_t)rd(p, 8); break;
  case GGUF_UINT64: {
    uint64_t u = rd(p, 8);
    if (u > (uint64_t)INT64_MAX) {
      *is_int = 0;
      *dv = (double)u;
    } else {
      *iv = (int64_t)u;
    }
    break;
  }
  case GGUF_FLOAT32: {
    uint32_t u = (uint32_t)rd(p, 4);
    float f;
    memcpy(&f, &u, 4);
    *dv = f32_decimal(f);
    *is_int = 0;
    break;
  }
  case GGUF_FLOAT64: {
    uint64_t u = rd(p, 8);
    double d;
    memcpy(&d, &u, 8);
    *dv = d;
    *is_int = 0;
    break;
  }
  default: *iv = 0; break;
  }
  if (*is_int) *dv = (double)*iv;
}

static size_t elem_size(lethe_gguf_vtype t) {
  static const size_t sz[GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return (unsigned)t < GGUF_NTYPES ? sz[t] : 0;
}

double lethe_gguf_arr_f64(const lethe_gguf_kv *kv, uint64_t i) {
  int64_t iv;
  double dv;
  int is_int;
  number_at(kv->arr_type, kv->data + i * elem_size(kv->arr_type), &iv, &dv, &is_int);
  return dv;
}

int64_t lethe_gguf_arr_i64(const lethe_gguf_kv *kv, uint64_t i) {
  int64_t iv;
  double dv;
  int is_int;
  number_at(kv->arr_type, kv->data + i * elem_size(kv->arr_type), &iv, &dv, &is_int);
  return is_int ? iv : (int64_t)dv;
}

static lethe_status missing(const lethe_gguf *g, const char *key, int required, int *present) {
  if (present) *present = 0;
  if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is missing", g->name, key);
  return LETHE_OK;
}

lethe_status lethe_gguf_get_int(
    const lethe_gguf *g, const char *key, int required, int64_t lo, int64_t hi, int64_t *out, int *present) {
  const lethe_gguf_kv *kv = lethe_gguf_find_kv(g, key);
  if (!kv) return missing(g, key, required, present);
  if (!lethe_gguf_type_is_number(kv->type) || kv->type == GGUF_FLOAT32 || kv->type == GGUF_FLOAT64 ||
      kv->type == GGUF_BOOL)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is a %s, an integer was expected", g->name, key,
        lethe_gguf_vtype_name(kv->type));
  int64_t iv;
  double dv;
  int is_int;
  number_at(kv->type, kv->data, &iv, &dv, &is_int);
  if (!is_int || iv < lo || iv > hi)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' = %.0f is out of range [%lld, %lld]", g->name, key,
        is_int ? (double)iv : dv, (long long)lo, (long long)hi);
  *out = iv;
  if (present) *present = 1;
  return LETHE_OK;
}

lethe_status lethe_gguf_get_float(const lethe_gguf *g, const char *key, int required, double *out, int *present) {
  const lethe_gguf_kv *kv = lethe_gguf_find_kv(g, key);
  if (!kv) return missing(g, key, required, present);
  if (!lethe_gguf_type_is_number(kv->type) || kv->type == GGUF_BOOL)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is a %s, a number was expected", g->name, key,
        lethe_gguf_vtype_name(kv->type));
  int64_t iv;
  double dv;
  int is_int;
  number_at(kv->type, kv->data, &iv, &dv, &is_int);
  if (!isfinite(dv)) return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is not a finite number", g->name, key);
  *out = dv;
  if (present) *present = 1;
  return LETHE_OK;
}

lethe_status lethe_gguf_get_bool(const lethe_gguf *g, const char *key, int *out, int *present) {
  const lethe_gguf_kv *kv = lethe_gguf_find_kv(g, key);
  if (!kv) return missing(g, key, 0, present);
  if (kv->type != GGUF_BOOL)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is a %s, a bool was expected", g->name, key,
        lethe_gguf_vtype_name(kv->type));
  *out = kv->data[0] != 0;
  if (present) *present = 1;
  return LETHE_OK;
}

lethe_status lethe_gguf_get_str(const lethe_gguf *g, const char *key, int required, char **out) {
  *out = NULL;
  const lethe_gguf_kv *kv = lethe_gguf_find_kv(g, key);
  if (!kv) return missing(g, key, required, NULL);
  if (kv->type != GGUF_STRING)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is a %s, a string was expected", g->name, key,
        lethe_gguf_vtype_name(kv->type));
  size_t n = kv->nbytes - 8;
  if (memchr(kv->data, 0, n))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s': string contains a NUL byte", g->name, key);
  char *s = malloc(n + 1);
  if (!s) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", g->name);
  memcpy(s, kv->data, n);
  s[n] = 0;
  *out = s;
  return LETHE_OK;
}
