/* data/parquet_thrift.c: Parquet's footer (FileMetaData) and page headers in Thrift's compact
 * protocol, read field by field: the fields lethe needs are kept, every other one is skipped by
 * its wire type. Every read is bounds-checked; nesting is limited. */
#include <stdlib.h>
#include <string.h>

#include "data/parquet.h"
#include "util/error.h"
#include "util/str.h"

enum {
  T_STOP = 0,
  T_TRUE = 1,
  T_FALSE = 2,
  T_BYTE = 3,
  T_I16 = 4,
  T_I32 = 5,
  T_I64 = 6,
  T_DOUBLE = 7,
  T_BINARY = 8,
  T_LIST = 9,
  T_SET = 10,
  T_MAP = 11,
  T_STRUCT = 12
};
#define MAX_DEPTH 32

typedef struct {
  const uint8_t *p, *end;
  const char *where;
  int depth;
} tc;

static lethe_status bad(const tc *r, const char *what) {
  return lethe_fail(LETHE_ERR_FORMAT, "%s: bad Thrift metadata: %s", r->where, what);
}

static lethe_status uvarint(tc *r, uint64_t *v) {
  uint64_t x = 0;
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return bad(r, "truncated varint");
    uint8_t b = *r->p++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return LETHE_OK;
    }
  }
  return bad(r, "varint longer than 10 bytes");
}

static lethe_status zz(tc *r, int64_t *v) {
  uint64_t u = 0;
  *v = 0;
  LETHE_TRY(uvarint(r, &u));
  *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return LETHE_OK;
}

static lethe_status binary(tc *r, const uint8_t **s, size_t *n) {
  uint64_t len = 0;
  *s = NULL;
  *n = 0;
  LETHE_TRY(uvarint(r, &len));
  if (len > (uint64_t)(r->end - r->p)) return bad(r, "string longer than the metadata");
  *s = r->p;
  *n = (size_t)len;
  r->p += len;
  return LETHE_OK;
}

static lethe_status list_header(tc *r, int *etype, int64_t *n) {
  *etype = 0;
  *n = 0;
  if (r->p >= r->end) return bad(r, "truncated list");
  uint8_t b = *r->p++;
  *etype = b & 15;
  uint64_t size = b >> 4;
  if (size == 15) LETHE_TRY(uvarint(r, &size));
  if (size > (uint64_t)(r->end - r->p)) return bad(r, "list longer than the metadata");
  *n = (int64_t)size;
  return LETHE_OK;
}

/* Field header: *type T_STOP ends the struct; ids are deltas from *last. */
static lethe_status field(tc *r, int16_t *last, int *id, int *type) {
  *id = 0;
  *type = T_STOP;
  if (r->p >= r->end) return bad(r, "truncated struct");
  uint8_t b = *r->p++;
  *type = b & 15;
  if (*type == T_STOP) return LETHE_OK;
  int delta = b >> 4;
  if (delta) {
    *id = *last + delta;
  } else {
    int64_t x;
    LETHE_TRY(zz(r, &x));
    if (x < INT16_MIN || x > INT16_MAX) return bad(r, "field id out of range");
    *id = (int)x;
  }
  *last = (int16_t)*id;
  return LETHE_OK;
}

static lethe_status skip(tc *r, int type);

static lethe_status skip_struct(tc *r) {
  if (++r->depth > MAX_DEPTH) return bad(r, "nested too deeply");
  int16_t last = 0;
  for (;;) {
    int id, type;
    LETHE_TRY(field(r, &last, &id, &type));
    if (type == T_STOP) break;
    LETHE_TRY(skip(r, type));
  }
  r->depth--;
  return LETHE_OK;
}

static lethe_status skip(tc *r, int type) {
  uint64_t u = 0;
  const uint8_t *s = NULL;
  size_t n = 0;
  switch (type) {
  case T_TRUE:
  case T_FALSE: return LETHE_OK;
  case T_BYTE:
    if (r->p >= r->end) return bad(r, "truncated byte");
    r->p++;
    return LETHE_OK;
  case T_I16:
  case T_I32:
  case T_I64: return uvarint(r, &u);
  case T_DOUBLE:
    if (r->end - r->p < 8) return bad(r, "truncated double");
    r->p += 8;
    return LETHE_OK;
  case T_BINARY: return binary(r, &s, &n);
  case T_LIST:
  case T_SET: {
    int et;
    int64_t cnt;
    LETHE_TRY(list_header(r, &et, &cnt));
    if (++r->depth > MAX_DEPTH) return bad(r, "nested too deeply");
    for (int64_t i = 0; i < cnt; i++) {
      if (et == T_TRUE || et == T_FALSE) { /* list booleans are one byte each */
        if (r->p >= r->end) return bad(r, "truncated list");
        r->p++;
      } else {
        LETHE_TRY(skip(r, et));
      }
    }
    r->depth--;
    return LETHE_OK;
  }
  case T_MAP: {
    LETHE_TRY(uvarint(r, &u));
    if (u == 0) return LETHE_OK;
    if (u > (uint64_t)(r->end - r->p)) return bad(r, "map longer than the metadata");
    if (r->p >= r->end) return bad(r, "truncated map");
    uint8_t kv = *r->p++;
    if (++r->depth > MAX_DEPTH) return bad(r, "nested too deeply");
    for (uint64_t i = 0; i < u; i++) {
      LETHE_TRY(skip(r, kv >> 4));
      LETHE_TRY(skip(r, kv & 15));
    }
    r->depth--;
    return LETHE_OK;
  }
  case T_STRUCT: return skip_struct(r);
  default: return bad(r, "unknown wire type");
  }
}

/* Reads an integer field of any integer wire type into *v. */
static lethe_status int_field(tc *r, int type, int64_t *v) {
  if (type != T_I16 && type != T_I32 && type != T_I64 && type != T_BYTE) return bad(r, "expected an integer field");
  if (type == T_BYTE) {
    if (r->p >= r->end) return bad(r, "truncated byte");
    unsigned b = *r->p++; /* a Thrift byte is signed */
    *v = b < 128 ? (int64_t)b : (int64_t)b - 256;
    return LETHE_OK;
  }
  return zz(r, v);
}

static lethe_status i32_field(tc *r, int type, int32_t *v) {
  int64_t x = 0;
  LETHE_TRY(int_field(r, type, &x));
  if (x < INT32_MIN || x > INT32_MAX) return bad(r, "i32 field out of range");
  *v = (int32_t)x;
  return LETHE_OK;
}

/* ---- FileMetaData ---- */

static lethe_status schema_el(tc *r, lethe_pq_schema_el *e) {
  int16_t last = 0;
  e->type = -1;
  for (;;) {
    int id, type;
    LETHE_TRY(field(r, &last, &id, &type));
    if (type == T_STOP) break;
    if (id == 1)
      LETHE_TRY(i32_field(r, type, &e->type));
    else if (id == 3)
      LETHE_TRY(i32_field(r, type, &e->repetition));
    else if (id == 5)
      LETHE_TRY(i32_field(r, type, &e->num_children));
    else if (id == 4 && type == T_BINARY) {
      const uint8_t *s;
      size_t n;
      LETHE_TRY(binary(r, &s, &n));
      free(e->name);
      if (!(e->name = lethe_strndup(s, n))) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", r->where);
    } else
      LETHE_TRY(skip(r, type));
  }
  if (!e->name) return bad(r, "schema element without a name");
  return LETHE_OK;
}

static lethe_status col_meta(tc *r, lethe_pq_chunk_meta *c) {
  int16_t last = 0;
  for (;;) {
    int id, type;
    LETHE_TRY(field(r, &last, &id, &type));
    if (type == T_STOP) break;
    if (id == 1)
      LETHE_TRY(i32_field(r, type, &c->type));
    else if (id == 4)
      LETHE_TRY(i32_field(r, type, &c->codec));
    else if (id == 5)
      LETHE_TRY(int_field(r, type, &c->num_values));
    else if (id == 7)
      LETHE_TRY(int_field(r, type, &c->total_compressed));
    else if (id == 9)
      LETHE_TRY(int_field(r, type, &c->data_page_offset));
    else if (id == 11)
      LETHE_TRY(int_field(r, type, &c->dict_page_offset));
    else if (id == 3 && type == T_LIST) {
      int et;
      int64_t n;
      LETHE_TRY(list_header(r, &et, &n));
      if (et != T_BINARY) return bad(r, "path_in_schema is not a list of strings");
      for (int64_t i = 0; i < n; i++) {
        const uint8_t *s;
        size_t len;
        LETHE_TRY(binary(r, &s, &len));
        if (i == 0) {
          free(c->path);
          if (!(c->path = lethe_strndup(s, len))) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", r->where);
        }
      }
      c->path_depth = (int)n;
    } else
      LETHE_TRY(skip(r, type));
  }
  return LETHE_OK;
}

static lethe_status col_chunk(tc *r, lethe_pq_chunk_meta *c) {
  int16_t last = 0;
  int seen = 0;
  for (;;) {
    int id, type;
    LETHE_TRY(field(r, &last, &id, &type));
    if (type == T_STOP) break;
    if (id == 3 && type == T_STRUCT) {
      LETHE_TRY(col_meta(r, c));
      seen = 1;
    } else if (id == 1 && type == T_BINARY) {
      const uint8_t *s;
      size_t n;
      LETHE_TRY(binary(r, &s, &n));
      return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: a column chunk lives in another file (%.*s): not supported",
          r->where, (int)(n > 200 ? 200 : n), (const char *)s);
    } else
      LETHE_TRY(skip(r, type));
  }
  if (!seen) return bad(r, "column chunk without metadata");
  return LETHE_OK;
}

static lethe_status row_group(tc *r, lethe_pq_row_group *g) {
  int16_t last = 0;
  for (;;) {
    int id, type;
    LETHE_TRY(field(r, &last, &id, &type));
    if (type == T_STOP) break;
    if (id == 1 && type == T_LIST) {
      int et;
      int64_t n;
      LETHE_TRY(list_header(r, &et, &n));
      if (et != T_STRUCT) return bad(r, "row group columns are not structs");
      if (g->cols) return bad(r, "row group columns given twice");
      g->cols = calloc((size_t)(n ? n : 1), sizeof *g->cols);
      if (!g->cols) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", r->where);
      for (int64_t i = 0; i < n; i++) {
        g->cols[i].dict_page_offset = -1;
        g->n_cols = (int)i + 1;
        LETHE_TRY(col_chunk(r, &g->cols[i]));
      }
    } else if (id == 3)
      LETHE_TRY(int_field(r, type, &g->num_rows));
    else
      LETHE_TRY(skip(r, type));
  }
  return LETHE_OK;
}

lethe_status lethe_pq_meta_parse(const uint8_t *p, size_t n, const char *name, lethe_pq_meta *m) {
  memset(m, 0, sizeof *m);
  tc r = {p, p + n, name, 0};
  int16_t last = 0;
  lethe_status s = LETHE_OK;
  int has_rows = 0;
  for (;;) {
    int id, type;
    if ((s = field(&r, &last, &id, &type))) break;
    if (type == T_STOP) break;
    if (id == 2 && type == T_LIST) {
      int et;
      int64_t cnt;
      if ((s = list_header(&r, &et, &cnt))) break;
      if (et != T_STRUCT || m->schema) {
        s = bad(&r, "schema is not a list of structs");
        break;
      }
      m->schema = calloc((size_t)(cnt ? cnt : 1), sizeof *m->schema);
      if (!m->schema) {
        s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
        break;
      }
      for (int64_t i = 0; i < cnt && !s; i++) {
        m->n_schema = (int)i + 1;
        s = schema_el(&r, &m->schema[i]);
      }
    } else if (id == 3) {
      s = int_field(&r, type, &m->num_rows);
      has_rows = 1;
    } else if (id == 4 && type == T_LIST) {
      int et;
      int64_t cnt;
      if ((s = list_header(&r, &et, &cnt))) break;
      if (et != T_STRUCT || m->groups) {
        s = bad(&r, "row_groups is not a list of structs");
        break;
      }
      m->groups = calloc((size_t)(cnt ? cnt : 1), sizeof *m->groups);
      if (!m->groups) {
        s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
        break;
      }
      for (int64_t i = 0; i < cnt && !s; i++) {
        m->n_groups = (int)i + 1;
        s = row_group(&r, &m->groups[i]);
      }
    } else {
      s = skip(&r, type);
    }
    if (s) break;
  }
  if (!s && (!m->schema || m->n_schema < 1)) s = bad(&r, "no schema");
  if (!s && !has_rows) s = bad(&r, "no num_rows");
  if (s) lethe_pq_meta_free(m);
  return s;
}

void lethe_pq_meta_free(lethe_pq_meta *m) {
  for (int i = 0; i < m->n_schema; i++) free(m->schema[i].name);
  free(m->schema);
  for (int g = 0; g < m->n_groups; g++) {
    for (int c = 0; c < m->groups[g].n_cols; c++) free(m->groups[g].cols[c].path);
    free(m->groups[g].cols);
  }
  free(m->groups);
  memset(m, 0, sizeof *m);
}

/* ---- PageHeader ---- */

static lethe_status data_header(tc *r, lethe_pq_page_header *h, int v2) {
  int16_t last = 0;
  for (;;) {
    int id, type;
    LETHE_TRY(field(r, &last, &id, &type));
    if (type == T_STOP) break;
    if (id == 1)
      LETHE_TRY(i32_field(r, type, &h->num_values));
    else if (!v2 && id == 2)
      LETHE_TRY(i32_field(r, type, &h->encoding));
    else if (!v2 && id == 3 && type != T_TRUE && type != T_FALSE)
      LETHE_TRY(i32_field(r, type, &h->def_encoding));
    else if (v2 && id == 2)
      LETHE_TRY(i32_field(r, type, &h->num_nulls));
    else if (v2 && id == 4)
      LETHE_TRY(i32_field(r, type, &h->encoding));
    else if (v2 && id == 5)
      LETHE_TRY(i32_field(r, type, &h->def_len));
    else if (v2 && id == 6)
      LETHE_TRY(i32_field(r, type, &h->rep_len));
    else if (v2 && id == 7 && (type == T_TRUE || type == T_FALSE))
      h->is_compressed = type == T_TRUE;
    else
      LETHE_TRY(skip(r, type));
  }
  return LETHE_OK;
}

lethe_status lethe_pq_page_header_parse(
    const uint8_t *p, size_t n, const char *where, lethe_pq_page_header *h, size_t *used) {
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->is_compressed = 1;
  tc r = {p, p + n, where, 0};
  int16_t last = 0;
  int sub = 0;
  for (;;) {
    int id, type;
    LETHE_TRY(field(&r, &last, &id, &type));
    if (type == T_STOP) break;
    if (id == 1)
      LETHE_TRY(i32_field(&r, type, &h->type));
    else if (id == 2)
      LETHE_TRY(i32_field(&r, type, &h->uncompressed_size));
    else if (id == 3)
      LETHE_TRY(i32_field(&r, type, &h->compressed_size));
    else if ((id == 5 || id == 7 || id == 8) && type == T_STRUCT) {
      LETHE_TRY(data_header(&r, h, id == 8));
      sub = id;
    } else
      LETHE_TRY(skip(&r, type));
  }
  if (h->type < 0) return bad(&r, "page header without a type");
  if (h->compressed_size < 0 || h->uncompressed_size < 0) return bad(&r, "negative page size");
  if ((h->type == LETHE_PQ_PAGE_DATA && sub != 5) || (h->type == LETHE_PQ_PAGE_DICT && sub != 7) ||
      (h->type == LETHE_PQ_PAGE_DATA_V2 && sub != 8))
    return bad(&r, "page header without its data/dictionary header");
  *used = (size_t)(r.p - p);
  return LETHE_OK;
}
