/* io/safetensors.c: the safetensors reader and writer. The reader trusts nothing in the file:
 * every length, offset, dtype and shape is checked before a byte of tensor data is touched. */
#include "io/safetensors.h"

#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bf16.h"
#include "util/error.h"

static const struct {
  const char *name, *torch;
  size_t size;
} DT[LETHE_DT_COUNT] = {
    [LETHE_DT_F32] = {"F32", "float32", 4},
    [LETHE_DT_F16] = {"F16", "float16", 2},
    [LETHE_DT_BF16] = {"BF16", "bfloat16", 2},
    [LETHE_DT_F64] = {"F64", "float64", 8},
    [LETHE_DT_I64] = {"I64", "int64", 8},
    [LETHE_DT_I32] = {"I32", "int32", 4},
    [LETHE_DT_I16] = {"I16", "int16", 2},
    [LETHE_DT_I8] = {"I8", "int8", 1},
    [LETHE_DT_U8] = {"U8", "uint8", 1},
    [LETHE_DT_BOOL] = {"BOOL", "bool", 1},
};

const char *lethe_dtype_name(lethe_dtype dt) { return dt < LETHE_DT_COUNT ? DT[dt].name : "?"; }
size_t lethe_dtype_size(lethe_dtype dt) { return dt < LETHE_DT_COUNT ? DT[dt].size : 0; }

int lethe_dtype_parse(const char *s) {
  for (int i = 0; i < LETHE_DT_COUNT; i++)
    if (!strcmp(s, DT[i].name) || !strcmp(s, DT[i].torch)) return i;
  return -1;
}

float lethe_bf16_to_f32(uint16_t h) { return lethe_bf16_f32(h); }

uint16_t lethe_f32_to_bf16(float f) { return lethe_f32_bf16(f); }

float lethe_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, u;
  if (exp == 0) {
    if (man == 0)
      u = sign;
    else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400u));
      u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

uint16_t lethe_f32_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow -> inf */
  if (a < 0x38800000u) {                                   /* subnormal or zero */
    if (a < 0x33000000u) return (uint16_t)sign;
    uint32_t e = a >> 23, man = (a & 0x7fffffu) | 0x800000u;
    int shift = 126 - (int)e; /* 14..24 */
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
  return (uint16_t)(sign | (r >> 13));
}

void lethe_st_close(lethe_safetensors *st) {
  for (int i = 0; i < st->n; i++) free(st->tensors[i].name);
  free(st->tensors);
  free(st->path);
  lethe_unmap_file(&st->map);
  memset(st, 0, sizeof *st);
}

typedef struct {
  size_t begin, end;
  int idx;
} span;

static int cmp_span(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

static lethe_status parse_entry(
    const char *name, const char *key, const json_t *v, size_t data_size, lethe_st_tensor *t, span *sp) {
  if (!json_is_object(v)) return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': entry is not an object", name, key);
  const json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
               *off = json_object_get(v, "data_offsets");
  if (!json_is_string(dt))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': missing or non-string dtype", name, key);
  int d = -1;
  for (int i = 0; i < LETHE_DT_COUNT; i++)
    if (!strcmp(json_string_value(dt), DT[i].name)) d = i;
  if (d < 0)
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype '%s'", name, key, json_string_value(dt));
  if (!json_is_array(sh)) return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': missing or non-array shape", name, key);
  if (json_array_size(sh) > LETHE_ST_MAX_DIMS)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': more than %d dimensions", name, key, LETHE_ST_MAX_DIMS);
  t->dtype = (lethe_dtype)d;
  t->ndim = (int)json_array_size(sh);
  size_t numel = 1;
  for (int i = 0; i < t->ndim; i++) {
    const json_t *e = json_array_get(sh, (size_t)i);
    if (!json_is_integer(e) || json_integer_value(e) < 0)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer", name, key, i);
    json_int_t x = json_integer_value(e);
    t->shape[i] = (int64_t)x;
    if (x != 0 && numel > SIZE_MAX / 16 / (size_t)x)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': shape is too large", name, key);
    numel *= (size_t)x;
  }
  t->numel = numel;
  if (!json_is_array(off) || json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
      !json_is_integer(json_array_get(off, 1)))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': data_offsets must be two integers", name, key);
  json_int_t b = json_integer_value(json_array_get(off, 0)), e = json_integer_value(json_array_get(off, 1));
  if (b < 0 || e < b)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] are not ordered", name, key,
        (long long)b, (long long)e);
  if ((uint64_t)e > data_size)
    return lethe_fail(LETHE_ERR_FORMAT,
        "%s: tensor '%s': data_offsets end %lld is past the end of the data (%zu bytes)", name, key, (long long)e,
        data_size);
  size_t want = numel * DT[d].size;
  if ((size_t)(e - b) != want)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': holds %lld bytes but shape x dtype needs %zu", name, key,
        (long long)(e - b), want);
  t->nbytes = want;
  sp->begin = (size_t)b;
  sp->end = (size_t)e;
  return LETHE_OK;
}

lethe_status lethe_st_parse(const uint8_t *data, size_t size, const char *name, lethe_safetensors *st) {
  memset(st, 0, sizeof *st);
  if (size < 8)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: file too short for a safetensors header (%zu bytes)", name, size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
  if (hlen > size - 8)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", name,
        (unsigned long long)hlen, size);
  if (hlen > (100u << 20))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: header length %llu is implausibly large", name, (unsigned long long)hlen);
  if (hlen < 2 || data[8] != '{') return lethe_fail(LETHE_ERR_FORMAT, "%s: header is not a JSON object", name);
  json_error_t je;
  json_t *root = json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
  if (!root) return lethe_fail(LETHE_ERR_FORMAT, "%s: header JSON: %s (column %d)", name, je.text, je.column);
  lethe_status s = LETHE_OK;
  span *spans = NULL;
  if (!json_is_object(root)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: header is not a JSON object", name);
    goto done;
  }
  const uint8_t *base = data + 8 + hlen;
  size_t data_size = size - 8 - (size_t)hlen;
  size_t cap = json_object_size(root);
  st->tensors = calloc(cap ? cap : 1, sizeof *st->tensors);
  spans = calloc(cap ? cap : 1, sizeof *spans);
  if (!st->tensors || !spans) {
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
    goto done;
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (!strcmp(key, "__metadata__")) {
      if (!json_is_object(v)) {
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: __metadata__ is not an object", name);
        goto done;
      }
      continue;
    }
    lethe_st_tensor *t = &st->tensors[st->n];
    if ((s = parse_entry(name, key, v, data_size, t, &spans[st->n]))) goto done;
    t->name = strdup(key);
    if (!t->name) {
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
      goto done;
    }
    t->data = base + spans[st->n].begin;
    spans[st->n].idx = st->n;
    st->n++;
  }
  qsort(spans, (size_t)st->n, sizeof *spans, cmp_span);
  for (int i = 1; i < st->n; i++)
    if (spans[i].begin < spans[i - 1].end && spans[i].end > spans[i].begin) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", name, st->tensors[spans[i - 1].idx].name,
          st->tensors[spans[i].idx].name);
      goto done;
    }
done:
  free(spans);
  json_decref(root);
  if (!s && name && !(st->path = strdup(name))) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (s) lethe_st_close(st);
  return s;
}

lethe_status lethe_st_open(const char *path, lethe_safetensors *st) {
  lethe_mapped_file m;
  memset(st, 0, sizeof *st);
  LETHE_TRY(lethe_map_file(path, &m));
  lethe_status s = lethe_st_parse(m.data, m.size, path, st);
  if (s) {
    lethe_unmap_file(&m);
    return s;
  }
  st->map = m;
  return LETHE_OK;
}

const lethe_st_tensor *lethe_st_find(const lethe_safetensors *st, const char *name) {
  for (int i = 0; i < st->n; i++)
    if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
  return NULL;
}

static const char *st_name(const lethe_safetensors *st) { return st->path ? st->path : "safetensors"; }

lethe_status lethe_st_to_f32(const lethe_safetensors *st, const lethe_st_tensor *t, float *dst, size_t n) {
  if (n != t->numel)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: tensor '%s' has %zu elements, %zu expected", st_name(st), t->name, t->numel, n);
  const uint8_t *p = t->data;
  switch (t->dtype) {
  case LETHE_DT_F32: memcpy(dst, p, n * 4); break;
  case LETHE_DT_BF16:
    for (size_t i = 0; i < n; i++) dst[i] = lethe_bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    break;
  case LETHE_DT_F16:
    for (size_t i = 0; i < n; i++) dst[i] = lethe_f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    break;
  case LETHE_DT_F64:
    for (size_t i = 0; i < n; i++) {
      double x;
      memcpy(&x, p + 8 * i, 8);
      dst[i] = (float)x;
    }
    break;
  default:
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; F32, F16, BF16 or F64 expected",
        st_name(st), t->name, DT[t->dtype].name);
  }
  return LETHE_OK;
}

lethe_status lethe_st_to_i32(const lethe_safetensors *st, const lethe_st_tensor *t, int32_t *dst, size_t n) {
  if (n != t->numel)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: tensor '%s' has %zu elements, %zu expected", st_name(st), t->name, t->numel, n);
  const uint8_t *p = t->data;
  for (size_t i = 0; i < n; i++) {
    int64_t x;
    switch (t->dtype) {
    case LETHE_DT_I32: {
      int32_t v;
      memcpy(&v, p + 4 * i, 4);
      x = v;
      break;
    }
    case LETHE_DT_I64: memcpy(&x, p + 8 * i, 8); break;
    case LETHE_DT_I16: {
      int16_t v;
      memcpy(&v, p + 2 * i, 2);
      x = v;
      break;
    }
    case LETHE_DT_I8: x = (int8_t)p[i]; break; // NOLINT(bugprone-signed-char-misuse): sign-extends on purpose
    case LETHE_DT_U8: x = p[i]; break;
    default:
      return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; an integer dtype expected", st_name(st),
          t->name, DT[t->dtype].name);
    }
    if (x < INT32_MIN || x > INT32_MAX)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: tensor '%s' value %lld does not fit 32 bits", st_name(st), t->name, (long long)x);
    dst[i] = (int32_t)x;
  }
  return LETHE_OK;
}

lethe_status lethe_st_write(const char *path, const lethe_st_entry *e, int n, const char *metadata_json) {
  json_t *h = json_object();
  size_t off = 0;
  lethe_status s = LETHE_OK;
  if (metadata_json) {
    json_error_t je;
    json_t *meta = json_loads(metadata_json, 0, &je);
    if (!json_is_object(meta)) {
      json_decref(meta);
      json_decref(h);
      return lethe_fail(LETHE_ERR_INVALID, "%s: metadata is not a JSON object", path);
    }
    json_object_set_new(h, "__metadata__", meta);
  }
  for (int i = 0; i < n; i++) {
    size_t numel = 1;
    json_t *shape = json_array();
    for (int k = 0; k < e[i].ndim; k++) {
      numel *= (size_t)e[i].shape[k];
      json_array_append_new(shape, json_integer(e[i].shape[k]));
    }
    size_t nb = numel * DT[e[i].dtype].size;
    json_object_set_new(h, e[i].name,
        json_pack("{s:s, s:o, s:[I, I]}", "dtype", DT[e[i].dtype].name, "shape", shape, "data_offsets", (json_int_t)off,
            (json_int_t)off + (json_int_t)nb));
    off += nb;
  }
  char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(h);
  if (!hs) return lethe_fail(LETHE_ERR_NOMEM, "%s: cannot build the header", path);
  size_t hlen = strlen(hs), padded = (hlen + 7) / 8 * 8;
  lethe_atomic_file f;
  if ((s = lethe_atomic_open(&f, path))) {
    free(hs);
    return s;
  }
  uint8_t len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
  int bad = fwrite(len8, 1, 8, f.fp) != 8 || fwrite(hs, 1, hlen, f.fp) != hlen;
  for (size_t i = hlen; i < padded && !bad; i++) bad = fputc(' ', f.fp) == EOF;
  free(hs);
  enum { CH = 4096 };
  uint16_t buf16[CH];
  for (int i = 0; i < n && !bad; i++) {
    size_t numel = 1;
    for (int k = 0; k < e[i].ndim; k++) numel *= (size_t)e[i].shape[k];
    if (e[i].dtype == LETHE_DT_F32 || e[i].dtype == LETHE_DT_I32) {
      bad = numel && fwrite(e[i].src, 4, numel, f.fp) != numel;
    } else if (e[i].dtype == LETHE_DT_BF16 || e[i].dtype == LETHE_DT_F16) {
      const float *src = e[i].src;
      for (size_t j = 0; j < numel && !bad; j += CH) {
        size_t c = numel - j < CH ? numel - j : CH;
        for (size_t k = 0; k < c; k++)
          buf16[k] = e[i].dtype == LETHE_DT_BF16 ? lethe_f32_to_bf16(src[j + k]) : lethe_f32_to_f16(src[j + k]);
        bad = fwrite(buf16, 2, c, f.fp) != c;
      }
    } else {
      lethe_atomic_abort(&f);
      return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: cannot write dtype %s", path, DT[e[i].dtype].name);
    }
  }
  if (bad) {
    lethe_status s2 = lethe_fail(LETHE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    lethe_atomic_abort(&f);
    return s2;
  }
  return lethe_atomic_commit(&f);
}
