/* io/gguf_parse.c: the GGUF container parser. Layout (little-endian): "GGUF", u32 version (2 or 3),
 * u64 tensor count, u64 metadata count; the metadata (string key, u32 value type, value; strings
 * are u64 length + bytes, arrays are u32 element type + u64 count + elements); the tensor infos
 * (string name, u32 n_dims, u64 dims innermost first, u32 ggml type, u64 offset); padding to
 * `general.alignment` (default 32); the tensor data. Nothing is trusted: every length and count is
 * checked against the bytes that remain before it is used, allocations grow only with what has
 * actually been read, and the tensors must lie inside the file without overlapping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "util/array.h"
#include "util/error.h"

#define MAX_KEY_LEN 65535
#define MAX_ARRAY_DEPTH 4
#define MAX_ALIGNMENT (1u << 24)

typedef struct {
  const uint8_t *p;
  size_t size, pos;
  const char *name;
  char where[320]; /* the item being read, for messages */
} reader;

static lethe_status past_end(reader *r, const char *what, uint64_t need) {
  return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: %s at offset %zu needs %llu bytes, only %zu remain (truncated file?)",
      r->name, r->where, what, r->pos, (unsigned long long)need, r->size - r->pos);
}

static size_t left(const reader *r) { return r->size - r->pos; }

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static lethe_status rd_u32(reader *r, const char *what, uint32_t *v) {
  if (left(r) < 4) return past_end(r, what, 4);
  *v = le32(r->p + r->pos);
  r->pos += 4;
  return LETHE_OK;
}

static lethe_status rd_u64(reader *r, const char *what, uint64_t *v) {
  if (left(r) < 8) return past_end(r, what, 8);
  *v = le64(r->p + r->pos);
  r->pos += 8;
  return LETHE_OK;
}

static lethe_status rd_str(reader *r, const char *what, lethe_gguf_str *s) {
  uint64_t n = 0;
  LETHE_TRY(rd_u64(r, what, &n));
  if (n > left(r)) {
    r->pos -= 8;
    lethe_status st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: %s at offset %zu claims %llu bytes, only %zu remain",
        r->name, r->where, what, r->pos, (unsigned long long)n, left(r) - 8);
    r->pos += 8;
    return st;
  }
  s->ptr = (const char *)r->p + r->pos;
  s->len = (size_t)n;
  r->pos += (size_t)n;
  return LETHE_OK;
}

/* A NUL-terminated copy of a name-like string (non-empty, at most max bytes, no NUL inside). */
static lethe_status copy_name(reader *r, const lethe_gguf_str *s, size_t max, const char *what, char **out) {
  if (s->len == 0) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: empty %s", r->name, r->where, what);
  if (s->len > max)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: %s of %zu bytes (at most %zu)", r->name, r->where, what, s->len, max);
  if (memchr(s->ptr, 0, s->len))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: %s contains a NUL byte", r->name, r->where, what);
  char *c = malloc(s->len + 1);
  if (!c) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", r->name);
  memcpy(c, s->ptr, s->len);
  c[s->len] = 0;
  *out = c;
  return LETHE_OK;
}

static const int SCALAR_SIZE[GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* Grows *arr (of *cap elements of `elem` bytes) to hold at least need elements. */
static lethe_status grow(void **arr, size_t *cap, size_t need, size_t elem, const char *name) {
  return lethe_array_grow(arr, cap, need, elem, name);
}

/* Reads a value of type t (array contents included). For an array of strings at depth 0 the
 * strings are recorded in kv->strs. */
static lethe_status rd_value(reader *r, uint32_t t, int depth, lethe_gguf_kv *kv) {
  if (t >= GGUF_NTYPES) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: unknown value type %u", r->name, r->where, t);
  if (t == GGUF_STRING) {
    lethe_gguf_str s;
    return rd_str(r, "string value", &s);
  }
  if (t != GGUF_ARRAY) {
    if (left(r) < (size_t)SCALAR_SIZE[t]) return past_end(r, lethe_gguf_vtype_name(t), SCALAR_SIZE[t]);
    r->pos += SCALAR_SIZE[t];
    return LETHE_OK;
  }
  if (depth >= MAX_ARRAY_DEPTH)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: arrays nested deeper than %d", r->name, r->where, MAX_ARRAY_DEPTH);
  uint32_t et = 0;
  uint64_t n = 0;
  LETHE_TRY(rd_u32(r, "array element type", &et));
  if (et >= GGUF_NTYPES)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: unknown array element type %u", r->name, r->where, et);
  LETHE_TRY(rd_u64(r, "array length", &n));
  size_t min_elem = et == GGUF_STRING ? 8 : et == GGUF_ARRAY ? 12 : (size_t)SCALAR_SIZE[et];
  if (n > left(r) / min_elem)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: array of %llu %s elements cannot fit in the %zu bytes that remain",
        r->name, r->where, (unsigned long long)n, lethe_gguf_vtype_name(et), left(r));
  if (depth == 0 && kv) {
    kv->arr_type = et;
    kv->arr_n = n;
    kv->data = r->p + r->pos;
  }
  if (et != GGUF_STRING && et != GGUF_ARRAY) {
    r->pos += (size_t)n * SCALAR_SIZE[et];
    return LETHE_OK;
  }
  size_t cap = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (et == GGUF_ARRAY) {
      LETHE_TRY(rd_value(r, GGUF_ARRAY, depth + 1, NULL));
      continue;
    }
    lethe_gguf_str s;
    LETHE_TRY(rd_str(r, "array string", &s));
    if (depth == 0 && kv) {
      LETHE_TRY(grow((void **)&kv->strs, &cap, (size_t)i + 1, sizeof *kv->strs, r->name));
      kv->strs[i] = s;
    }
  }
  return LETHE_OK;
}

static lethe_status rd_kv(reader *r, uint64_t idx, lethe_gguf_kv *kv) {
  snprintf(r->where, sizeof r->where, "metadata entry %llu", (unsigned long long)idx);
  lethe_gguf_str key;
  LETHE_TRY(rd_str(r, "key", &key));
  LETHE_TRY(copy_name(r, &key, MAX_KEY_LEN, "key", &kv->key));
  snprintf(r->where, sizeof r->where, "metadata entry %llu ('%.200s')", (unsigned long long)idx, kv->key);
  uint32_t t = 0;
  LETHE_TRY(rd_u32(r, "value type", &t));
  if (t >= GGUF_NTYPES) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: unknown value type %u", r->name, r->where, t);
  kv->type = (lethe_gguf_vtype)t;
  size_t start = r->pos;
  LETHE_TRY(rd_value(r, t, 0, kv));
  if (t != GGUF_ARRAY) kv->data = r->p + start + (t == GGUF_STRING ? 8 : 0);
  kv->nbytes = r->pos - start;
  return LETHE_OK;
}

static lethe_status rd_tensor_info(reader *r, uint64_t idx, lethe_gguf_tensor *t) {
  snprintf(r->where, sizeof r->where, "tensor info %llu", (unsigned long long)idx);
  lethe_gguf_str name;
  LETHE_TRY(rd_str(r, "name", &name));
  LETHE_TRY(copy_name(r, &name, LETHE_GGUF_MAX_NAME - 1, "tensor name", &t->name));
  snprintf(r->where, sizeof r->where, "tensor %llu ('%s')", (unsigned long long)idx, t->name);
  uint32_t nd = 0;
  LETHE_TRY(rd_u32(r, "n_dims", &nd));
  if (nd < 1 || nd > LETHE_GGUF_MAX_DIMS)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s: %u dimensions (1 to %d allowed)", r->name, r->where, nd, LETHE_GGUF_MAX_DIMS);
  t->n_dims = (int)nd;
  uint64_t numel = 1;
  for (uint32_t i = 0; i < nd; i++) {
    uint64_t d = 0;
    LETHE_TRY(rd_u64(r, "dimension", &d));
    if (d == 0 || d > (uint64_t)INT64_MAX)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: dimension %u is %llu", r->name, r->where, i, (unsigned long long)d);
    if (numel > (uint64_t)INT64_MAX / d || numel * d > (uint64_t)SIZE_MAX / sizeof(float))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: element count overflows", r->name, r->where);
    numel *= d;
    t->ne[i] = (int64_t)d;
  }
  for (int i = (int)nd; i < LETHE_GGUF_MAX_DIMS; i++) t->ne[i] = 1;
  t->numel = (size_t)numel;
  LETHE_TRY(rd_u32(r, "type", &t->type));
  int bs = lethe_ggml_block_size(t->type);
  if (!bs) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: unknown tensor type id %u", r->name, r->where, t->type);
  if ((uint64_t)t->ne[0] % (uint64_t)bs)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: first dimension %lld is not a multiple of %s's block size %d", r->name,
        r->where, (long long)t->ne[0], lethe_ggml_type_name(t->type), bs);
  uint64_t blocks = numel / (uint64_t)bs, bb = lethe_ggml_block_bytes(t->type);
  if (blocks > (uint64_t)SIZE_MAX / bb)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: byte size overflows", r->name, r->where);
  t->nbytes = (size_t)(blocks * bb);
  LETHE_TRY(rd_u64(r, "data offset", &t->offset));
  return LETHE_OK;
}

typedef struct {
  const char *key;
  uint64_t off;
  size_t idx;
} sort_item;

static int cmp_key(const void *a, const void *b) {
  return strcmp(((const sort_item *)a)->key, ((const sort_item *)b)->key);
}
static int cmp_off(const void *a, const void *b) {
  uint64_t x = ((const sort_item *)a)->off, y = ((const sort_item *)b)->off;
  return x < y ? -1 : x > y;
}

/* Duplicate keys and tensor names, and tensors that overlap. */
static lethe_status check_unique(lethe_gguf *g) {
  size_t n = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
  if (!n) return LETHE_OK;
  sort_item *it = malloc(n * sizeof *it);
  if (!it) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", g->name);
  lethe_status s = LETHE_OK;
  for (size_t i = 0; i < g->n_kv; i++) it[i] = (sort_item){g->kv[i].key, 0, i};
  qsort(it, g->n_kv, sizeof *it, cmp_key);
  for (size_t i = 1; i < g->n_kv && !s; i++)
    if (!strcmp(it[i].key, it[i - 1].key))
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%.200s' appears twice", g->name, it[i].key);
  for (size_t i = 0; i < g->n_tensors; i++) it[i] = (sort_item){g->tensors[i].name, g->tensors[i].offset, i};
  if (!s) qsort(it, g->n_tensors, sizeof *it, cmp_key);
  for (size_t i = 1; i < g->n_tensors && !s; i++)
    if (!strcmp(it[i].key, it[i - 1].key))
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' appears twice", g->name, it[i].key);
  if (!s) qsort(it, g->n_tensors, sizeof *it, cmp_off);
  for (size_t i = 1; i < g->n_tensors && !s; i++) {
    const lethe_gguf_tensor *a = &g->tensors[it[i - 1].idx], *b = &g->tensors[it[i].idx];
    if (a->offset + a->nbytes > b->offset)
      s = lethe_fail(LETHE_ERR_FORMAT,
          "%s: tensors '%s' (bytes %llu..%llu of the data section) and '%s' (from byte %llu) overlap", g->name, a->name,
          (unsigned long long)a->offset, (unsigned long long)a->offset + a->nbytes, b->name,
          (unsigned long long)b->offset);
  }
  free(it);
  return s;
}

static lethe_status parse(reader *r, lethe_gguf *g) {
  snprintf(r->where, sizeof r->where, "header");
  if (r->size < 4 || memcmp(r->p, "GGUF", 4))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: not a GGUF file (no \"GGUF\" magic at the start)", r->name);
  r->pos = 4;
  LETHE_TRY(rd_u32(r, "version", &g->version));
  uint32_t v = g->version, swapped = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
  if (v == 1)
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (versions 2 and 3 are)", r->name);
  if (v != 2 && v != 3) {
    if (swapped == 2 || swapped == 3)
      return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: big-endian GGUF files are not supported", r->name);
    return lethe_fail(LETHE_ERR_FORMAT, "%s: unknown GGUF version %u (versions 2 and 3 are supported)", r->name, v);
  }
  uint64_t nt = 0, nkv = 0;
  LETHE_TRY(rd_u64(r, "tensor count", &nt));
  LETHE_TRY(rd_u64(r, "metadata count", &nkv));
  /* smallest possible entries: a key/value 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8 */
  if (nkv > left(r) / 14)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: header: metadata count %llu cannot fit in a file of %zu bytes", r->name,
        (unsigned long long)nkv, r->size);
  if (nt > left(r) / 33)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: header: tensor count %llu cannot fit in a file of %zu bytes", r->name,
        (unsigned long long)nt, r->size);
  size_t cap = 0;
  for (uint64_t i = 0; i < nkv; i++) {
    LETHE_TRY(grow((void **)&g->kv, &cap, g->n_kv + 1, sizeof *g->kv, r->name));
    memset(&g->kv[g->n_kv], 0, sizeof *g->kv);
    g->n_kv++;
    LETHE_TRY(rd_kv(r, i, &g->kv[g->n_kv - 1]));
  }
  g->alignment = 32;
  const lethe_gguf_kv *al = lethe_gguf_find_kv(g, "general.alignment");
  if (al) {
    int64_t a;
    LETHE_TRY(lethe_gguf_get_int(g, "general.alignment", 1, 1, MAX_ALIGNMENT, &a, NULL));
    if (a & (a - 1))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: general.alignment %lld is not a power of two", r->name, (long long)a);
    g->alignment = (size_t)a;
  }
  cap = 0;
  for (uint64_t i = 0; i < nt; i++) {
    LETHE_TRY(grow((void **)&g->tensors, &cap, g->n_tensors + 1, sizeof *g->tensors, r->name));
    memset(&g->tensors[g->n_tensors], 0, sizeof *g->tensors);
    g->n_tensors++;
    LETHE_TRY(rd_tensor_info(r, i, &g->tensors[g->n_tensors - 1]));
  }
  size_t pad = (g->alignment - r->pos % g->alignment) % g->alignment;
  g->data_offset = r->pos + pad;
  for (size_t i = 0; i < g->n_tensors; i++) {
    lethe_gguf_tensor *t = &g->tensors[i];
    if (t->offset % g->alignment)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s': data offset %llu is not a multiple of the alignment %zu",
          r->name, t->name, (unsigned long long)t->offset, g->alignment);
    if (g->data_offset > r->size || t->offset > r->size - g->data_offset ||
        t->nbytes > r->size - g->data_offset - t->offset)
      return lethe_fail(LETHE_ERR_FORMAT,
          "%s: tensor '%s': data (%zu bytes at offset %llu of the data section, which starts at %zu) "
          "runs past the end of the file (%zu bytes)",
          r->name, t->name, t->nbytes, (unsigned long long)t->offset, g->data_offset, r->size);
    t->data = r->p + g->data_offset + t->offset;
  }
  return check_unique(g);
}

lethe_status lethe_gguf_parse(const uint8_t *data, size_t size, const char *name, lethe_gguf *g) {
  memset(g, 0, sizeof *g);
  g->name = name ? name : "gguf";
  g->base = data;
  g->size = size;
  reader r = {.p = data, .size = size, .pos = 0, .name = g->name};
  lethe_status s = parse(&r, g);
  if (s) lethe_gguf_close(g);
  return s;
}

lethe_status lethe_gguf_open(const char *path, lethe_gguf *g) {
  memset(g, 0, sizeof *g);
  lethe_mapped_file m;
  LETHE_TRY(lethe_map_file(path, &m));
  char *nm = strdup(path);
  if (!nm) {
    lethe_unmap_file(&m);
    return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", path);
  }
  lethe_status s = lethe_gguf_parse(m.data, m.size, nm, g);
  if (s) {
    free(nm);
    lethe_unmap_file(&m);
    return s;
  }
  g->map = m;
  g->name_copy = nm;
  return LETHE_OK;
}

void lethe_gguf_close(lethe_gguf *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_kv; i++) {
    free(g->kv[i].key);
    free(g->kv[i].strs);
  }
  free(g->kv);
  for (size_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
  free(g->tensors);
  if (g->map.path || g->map.data) lethe_unmap_file(&g->map);
  free(g->name_copy);
  memset(g, 0, sizeof *g);
}
