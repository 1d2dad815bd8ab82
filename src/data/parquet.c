/* data/parquet.c: a whole Parquet file into per-column arrays: the file's frame (magic, footer),
 * the flat schema, then every column chunk page by page (dictionary page, data pages v1/v2,
 * definition levels, PLAIN and dictionary-index values). See parquet.h for the subset. */
#include "data/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/util.h"
#include "util/error.h"

#define MAX_PAGE_BYTES ((size_t)1 << 28)
#define MAX_FILE_BYTES ((size_t)1 << 34)

enum { P_INT32 = 1, P_INT64 = 2, P_BYTE_ARRAY = 6 };
enum { E_PLAIN = 0, E_PLAIN_DICT = 2, E_RLE = 3, E_RLE_DICT = 8 };

int lethe_is_parquet(const uint8_t *data, size_t n) { return n >= 4 && memcmp(data, "PAR1", 4) == 0; }

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *encoding_name(int e) {
  static const char *names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
      "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? names[e] : "unknown";
}

/* The RLE / bit-packed hybrid: exactly `count` values of `bw` bits from p[0..n). */
static lethe_status hybrid(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count, const char *where) {
  size_t pos = 0, k = 0;
  size_t vbytes = (size_t)(bw + 7) / 8;
  while (k < count) {
    uint64_t h = 0;
    int shift = 0;
    for (;;) {
      if (pos >= n) return lethe_fail(LETHE_ERR_FORMAT, "%s: RLE data ends after %zu of %zu values", where, k, count);
      uint8_t b = p[pos++];
      h |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      if ((shift += 7) > 35) return lethe_fail(LETHE_ERR_FORMAT, "%s: bad RLE run header", where);
    }
    if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */
      uint64_t groups = h >> 1;
      if (groups == 0) return lethe_fail(LETHE_ERR_FORMAT, "%s: empty bit-packed run", where);
      if (groups * (uint64_t)bw > n - pos)
        return lethe_fail(LETHE_ERR_FORMAT, "%s: bit-packed run longer than its page", where);
      uint64_t nv = groups * 8;
      for (uint64_t j = 0; j < nv && k < count; j++, k++) {
        uint32_t v = 0;
        for (int b = 0; b < bw; b++) {
          uint64_t bit = j * (uint64_t)bw + (uint64_t)b;
          v |= (uint32_t)((p[pos + bit / 8] >> (bit % 8)) & 1) << b;
        }
        out[k] = v;
      }
      pos += (size_t)(groups * (uint64_t)bw);
    } else { /* run: (h >> 1) copies of one value */
      uint64_t run = h >> 1;
      if (run == 0) return lethe_fail(LETHE_ERR_FORMAT, "%s: empty RLE run", where);
      if (vbytes > n - pos) return lethe_fail(LETHE_ERR_FORMAT, "%s: RLE run value past its page", where);
      uint32_t v = 0;
      for (size_t b = 0; b < vbytes; b++) v |= (uint32_t)p[pos + b] << (8 * b);
      pos += vbytes;
      if (bw < 32 && (v >> bw)) return lethe_fail(LETHE_ERR_FORMAT, "%s: RLE value wider than %d bits", where, bw);
      for (uint64_t j = 0; j < run && k < count; j++) out[k++] = v;
    }
  }
  return LETHE_OK;
}

/* A decoded dictionary: strings point into the dictionary page's buffer. */
typedef struct {
  uint8_t *buf;
  const uint8_t **s;
  uint32_t *len;
  int64_t *iv;
  size_t n;
} dict_t;

static void dict_free(dict_t *d) {
  free(d->buf);
  free(d->s);
  free(d->len);
  free(d->iv);
  memset(d, 0, sizeof *d);
}

static lethe_status set_str(lethe_pq_column *c, int64_t row, const uint8_t *s, size_t len, const char *where) {
  char *p = malloc(len + 1);
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", where);
  if (len) memcpy(p, s, len);
  p[len] = 0;
  free(c->str[row]);
  c->str[row] = p;
  c->len[row] = len;
  return LETHE_OK;
}

/* Reads `count` PLAIN values; into the dictionary (d) or the rows (rows[k]) of column c. */
static lethe_status plain(const uint8_t *p, size_t n, int type, size_t count, dict_t *d, lethe_pq_column *c,
    const int64_t *rows, const char *where) {
  size_t pos = 0;
  size_t w = type == P_INT32 ? 4 : 8;
  if (type != P_BYTE_ARRAY && count > n / w)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: page holds %zu bytes, %zu values need %zu", where, n, count, count * w);
  for (size_t k = 0; k < count; k++) {
    if (type == P_BYTE_ARRAY) {
      if (n - pos < 4) return lethe_fail(LETHE_ERR_FORMAT, "%s: page ends inside value %zu of %zu", where, k, count);
      uint32_t len = le32(p + pos);
      pos += 4;
      if (len > n - pos)
        return lethe_fail(
            LETHE_ERR_FORMAT, "%s: value %zu says %u bytes, the page has %zu left", where, k, len, n - pos);
      if (d) {
        d->s[k] = p + pos;
        d->len[k] = len;
      } else {
        LETHE_TRY(set_str(c, rows[k], p + pos, len, where));
      }
      pos += len;
    } else {
      int64_t v;
      if (type == P_INT32) {
        v = (int32_t)le32(p + pos);
      } else {
        v = (int64_t)((uint64_t)le32(p + pos) | (uint64_t)le32(p + pos + 4) << 32);
      }
      pos += w;
      if (d)
        d->iv[k] = v;
      else
        c->i[rows[k]] = v;
    }
  }
  return LETHE_OK;
}

typedef struct {
  const uint8_t *file;
  size_t end; /* end of the column data region (start of the footer) */
  int codec;
  int type;
  lethe_pq_column *col;
  dict_t dict;
  int has_dict;
  int64_t row_base, group_rows, done;
  char where[512];
  uint32_t *levels; /* (group_rows) scratch */
  int64_t *rows;    /* (group_rows) scratch */
} chunk_ctx;

static lethe_status read_dict(chunk_ctx *x, const lethe_pq_page_header *h, const uint8_t *payload) {
  if (x->has_dict) return lethe_fail(LETHE_ERR_FORMAT, "%s: a second dictionary page", x->where);
  if (h->encoding != E_PLAIN && h->encoding != E_PLAIN_DICT)
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: dictionary page encoding %s (%d) is not supported", x->where,
        encoding_name(h->encoding), h->encoding);
  if (h->num_values < 0) return lethe_fail(LETHE_ERR_FORMAT, "%s: negative dictionary size", x->where);
  size_t un = (size_t)h->uncompressed_size, nv = (size_t)h->num_values;
  if (x->type == P_BYTE_ARRAY ? nv > un / 4 : nv > un / (x->type == P_INT32 ? 4 : 8))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: dictionary of %zu values in %zu bytes", x->where, nv, un);
  dict_t *d = &x->dict;
  d->buf = malloc(un ? un : 1);
  d->s = malloc(sizeof *d->s * (nv ? nv : 1));
  d->len = malloc(sizeof *d->len * (nv ? nv : 1));
  d->iv = malloc(sizeof *d->iv * (nv ? nv : 1));
  if (!d->buf || !d->s || !d->len || !d->iv) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", x->where);
  LETHE_TRY(lethe_pq_decompress(x->codec, payload, (size_t)h->compressed_size, d->buf, un, x->where));
  d->n = nv;
  x->has_dict = 1;
  return plain(d->buf, un, x->type, nv, d, NULL, NULL, x->where);
}

static lethe_status read_values(chunk_ctx *x, int encoding, const uint8_t *p, size_t n, size_t count) {
  lethe_pq_column *c = x->col;
  if (encoding == E_PLAIN) return plain(p, n, x->type, count, NULL, c, x->rows, x->where);
  if (encoding != E_PLAIN_DICT && encoding != E_RLE_DICT)
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: encoding %s (%d) is not supported (PLAIN and dictionary are)",
        x->where, encoding_name(encoding), encoding);
  if (!x->has_dict)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: dictionary-encoded page without a dictionary page", x->where);
  if (count == 0) return LETHE_OK;
  if (n < 1) return lethe_fail(LETHE_ERR_FORMAT, "%s: dictionary page data is empty", x->where);
  int bw = p[0];
  if (bw > 32) return lethe_fail(LETHE_ERR_FORMAT, "%s: dictionary index width %d bits", x->where, bw);
  LETHE_TRY(hybrid(p + 1, n - 1, bw, x->levels, count, x->where));
  for (size_t k = 0; k < count; k++) {
    uint32_t ix = x->levels[k];
    if (ix >= x->dict.n)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: dictionary index %u, the dictionary has %zu values", x->where, ix, x->dict.n);
    if (x->type == P_BYTE_ARRAY)
      LETHE_TRY(set_str(c, x->rows[k], x->dict.s[ix], x->dict.len[ix], x->where));
    else
      c->i[x->rows[k]] = x->dict.iv[ix];
  }
  return LETHE_OK;
}

/* Definition levels of `nv` values -> rows of the present ones (x->rows), nulls marked. */
static lethe_status levels(chunk_ctx *x, const uint8_t *p, size_t n, size_t nv, size_t *present) {
  size_t k = 0;
  if (x->col->optional) {
    LETHE_TRY(hybrid(p, n, 1, x->levels, nv, x->where));
    for (size_t j = 0; j < nv; j++) {
      int64_t row = x->row_base + x->done + (int64_t)j;
      if (x->levels[j])
        x->rows[k++] = row;
      else
        x->col->null[row] = 1;
    }
  } else {
    for (size_t j = 0; j < nv; j++) x->rows[k++] = x->row_base + x->done + (int64_t)j;
  }
  *present = k;
  return LETHE_OK;
}

static lethe_status read_data(chunk_ctx *x, const lethe_pq_page_header *h, const uint8_t *payload) {
  if (h->num_values < 0) return lethe_fail(LETHE_ERR_FORMAT, "%s: negative value count", x->where);
  size_t nv = (size_t)h->num_values;
  if ((int64_t)nv > x->group_rows - x->done)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: pages hold more values than the row group's %lld rows", x->where,
        (long long)x->group_rows);
  size_t cn = (size_t)h->compressed_size, un = (size_t)h->uncompressed_size;
  uint8_t *buf = NULL;
  lethe_status s = LETHE_OK;
  size_t present = 0;
  if (h->type == LETHE_PQ_PAGE_DATA) { /* v1: levels and values compressed together */
    if (!(buf = malloc(un ? un : 1))) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", x->where);
    s = lethe_pq_decompress(x->codec, payload, cn, buf, un, x->where);
    const uint8_t *q = buf;
    size_t qn = un;
    if (!s && x->col->optional) {
      if (h->def_encoding != E_RLE)
        s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: definition level encoding %s (%d) is not supported", x->where,
            encoding_name(h->def_encoding), h->def_encoding);
      else if (qn < 4)
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: page too short for its definition levels", x->where);
      else {
        uint32_t l = le32(q);
        if (l > qn - 4)
          s = lethe_fail(LETHE_ERR_FORMAT, "%s: definition levels say %u bytes, the page has %zu", x->where, l, qn - 4);
        else {
          s = levels(x, q + 4, l, nv, &present);
          q += 4 + l;
          qn -= 4 + (size_t)l;
        }
      }
    } else if (!s) {
      s = levels(x, NULL, 0, nv, &present);
    }
    if (!s) s = read_values(x, h->encoding, q, qn, present);
  } else { /* v2: levels uncompressed in front, values maybe compressed */
    if (h->def_len < 0 || h->rep_len < 0 || (size_t)h->def_len + (size_t)h->rep_len > cn ||
        (size_t)h->def_len + (size_t)h->rep_len > un)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: level lengths %d + %d exceed the page", x->where, h->def_len, h->rep_len);
    if (h->rep_len) return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: repetition levels (a nested column)", x->where);
    if (!x->col->optional && h->def_len)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: definition levels in a required column", x->where);
    size_t lv = (size_t)h->def_len;
    LETHE_TRY(levels(x, payload, lv, nv, &present));
    if (h->num_nulls >= 0 && (size_t)h->num_nulls != nv - present)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: header says %d nulls, the levels %zu", x->where, h->num_nulls, nv - present);
    size_t vn = un - lv, vc = cn - lv;
    if (!(buf = malloc(vn ? vn : 1))) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", x->where);
    s = lethe_pq_decompress(h->is_compressed ? x->codec : 0, payload + lv, vc, buf, vn, x->where);
    if (!s) s = read_values(x, h->encoding, buf, vn, present);
  }
  free(buf);
  if (!s) x->done += (int64_t)nv;
  return s;
}

static lethe_status read_chunk(chunk_ctx *x, const lethe_pq_chunk_meta *m) {
  int64_t start =
      m->dict_page_offset >= 4 && m->dict_page_offset < m->data_page_offset ? m->dict_page_offset : m->data_page_offset;
  if (start < 4 || (uint64_t)start >= x->end)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: page offset %lld is outside the file's data", x->where, (long long)start);
  size_t pos = (size_t)start;
  int page = 0;
  size_t base_len = strlen(x->where);
  while (x->done < x->group_rows) {
    x->where[base_len] = 0;
    if (pos >= x->end)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: the pages end after %lld of %lld values (truncated?)", x->where,
          (long long)x->done, (long long)x->group_rows);
    snprintf(x->where + base_len, sizeof x->where - base_len, ", page %d at byte %zu", page, pos);
    lethe_pq_page_header h;
    size_t used;
    LETHE_TRY(lethe_pq_page_header_parse(x->file + pos, x->end - pos, x->where, &h, &used));
    size_t payload = pos + used;
    if ((size_t)h.compressed_size > x->end - payload)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: page says %d bytes, the file has %zu left", x->where, h.compressed_size,
          x->end - payload);
    if ((size_t)h.uncompressed_size > MAX_PAGE_BYTES)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: page of %d bytes uncompressed (the limit is %zu)", x->where,
          h.uncompressed_size, MAX_PAGE_BYTES);
    if (h.type == LETHE_PQ_PAGE_DICT)
      LETHE_TRY(read_dict(x, &h, x->file + payload));
    else if (h.type == LETHE_PQ_PAGE_DATA || h.type == LETHE_PQ_PAGE_DATA_V2)
      LETHE_TRY(read_data(x, &h, x->file + payload));
    pos = payload + (size_t)h.compressed_size;
    page++;
  }
  x->where[base_len] = 0;
  return LETHE_OK;
}

static lethe_status decode(const uint8_t *data, size_t n, const char *name, const lethe_pq_meta *m, lethe_pq_table *t) {
  const lethe_pq_schema_el *root = &m->schema[0];
  int nc = m->n_schema - 1;
  if (root->num_children != nc)
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: nested schema (the root has %d children among %d columns): only flat "
        "tables are supported",
        name, root->num_children, nc);
  if (m->num_rows < 0 || m->num_rows > LETHE_PQ_MAX_ROWS)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %lld rows (lethe reads at most %lld)", name, (long long)m->num_rows,
        (long long)LETHE_PQ_MAX_ROWS);
  int64_t sum = 0;
  for (int g = 0; g < m->n_groups; g++) {
    if (m->groups[g].num_rows < 0 || m->groups[g].num_rows > m->num_rows - sum)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: row group %d's %lld rows exceed the file's %lld", name, g,
          (long long)m->groups[g].num_rows, (long long)m->num_rows);
    sum += m->groups[g].num_rows;
    if (m->groups[g].n_cols != nc)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: row group %d has %d columns, the schema %d", name, g, m->groups[g].n_cols, nc);
  }
  if (sum != m->num_rows)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: row groups hold %lld rows, the footer says %lld", name, (long long)sum,
        (long long)m->num_rows);
  t->cols = calloc((size_t)(nc ? nc : 1), sizeof *t->cols);
  if (!t->cols) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
  t->n_cols = nc;
  t->n_rows = m->num_rows;
  size_t nr = (size_t)(m->num_rows ? m->num_rows : 1);
  for (int c = 0; c < nc; c++) {
    const lethe_pq_schema_el *e = &m->schema[c + 1];
    lethe_pq_column *col = &t->cols[c];
    if (!(col->name = strdup(e->name))) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
    if (e->num_children > 0 || e->type < 0 || e->repetition == LETHE_PQ_REPEATED)
      return lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: column \"%s\" is nested or repeated: only flat tables are supported", name, e->name);
    col->physical = e->type;
    col->optional = e->repetition == LETHE_PQ_OPTIONAL;
    col->kind = e->type == P_BYTE_ARRAY                    ? LETHE_PQ_STRING
                : e->type == P_INT32 || e->type == P_INT64 ? LETHE_PQ_INT
                                                           : LETHE_PQ_OTHER;
    if (col->kind == LETHE_PQ_OTHER) continue;
    col->null = calloc(nr, 1);
    if (col->kind == LETHE_PQ_STRING) {
      col->str = calloc(nr, sizeof *col->str);
      col->len = calloc(nr, sizeof *col->len);
    } else {
      col->i = calloc(nr, sizeof *col->i);
    }
    if (!col->null || (col->kind == LETHE_PQ_STRING ? !col->str || !col->len : !col->i))
      return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
  }
  uint32_t footer = le32(data + n - 8);
  chunk_ctx x;
  memset(&x, 0, sizeof x);
  x.file = data;
  x.end = n - 8 - footer;
  x.levels = malloc(sizeof *x.levels * nr);
  x.rows = malloc(sizeof *x.rows * nr);
  if (!x.levels || !x.rows) {
    free(x.levels);
    free(x.rows);
    return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", name);
  }
  lethe_status s = LETHE_OK;
  int64_t base = 0;
  for (int g = 0; g < m->n_groups && !s; g++) {
    for (int c = 0; c < nc && !s; c++) {
      const lethe_pq_chunk_meta *cm = &m->groups[g].cols[c];
      lethe_pq_column *col = &t->cols[c];
      if (col->kind == LETHE_PQ_OTHER) continue;
      snprintf(x.where, sizeof x.where, "%s: column \"%.100s\", row group %d", name, col->name, g);
      if (!cm->path || cm->path_depth != 1 || strcmp(cm->path, col->name) != 0)
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: the chunk is for column \"%.100s\"", x.where, cm->path ? cm->path : "?");
      else if (cm->type != col->physical)
        s = lethe_fail(
            LETHE_ERR_FORMAT, "%s: the chunk's type %d differs from the schema's %d", x.where, cm->type, col->physical);
      else if (cm->num_values != m->groups[g].num_rows)
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: %lld values for %lld rows", x.where, (long long)cm->num_values,
            (long long)m->groups[g].num_rows);
      if (s) break;
      x.codec = cm->codec;
      x.type = cm->type;
      x.col = col;
      x.row_base = base;
      x.group_rows = m->groups[g].num_rows;
      x.done = 0;
      x.has_dict = 0;
      s = read_chunk(&x, cm);
      dict_free(&x.dict);
    }
    base += m->groups[g].num_rows;
  }
  dict_free(&x.dict);
  free(x.levels);
  free(x.rows);
  return s;
}

lethe_status lethe_pq_parse(const uint8_t *data, size_t n, const char *name, lethe_pq_table *t) {
  memset(t, 0, sizeof *t);
  if (n < 12)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %zu bytes: too short to be a Parquet file (truncated?)", name, n);
  if (!lethe_is_parquet(data, n)) return lethe_fail(LETHE_ERR_FORMAT, "%s: not a Parquet file (no PAR1 magic)", name);
  if (memcmp(data + n - 4, "PAR1", 4) != 0)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: no PAR1 magic at the end (truncated file?)", name);
  uint32_t footer = le32(data + n - 8);
  if (footer > n - 12)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: footer length %u exceeds the file's %zu bytes (truncated?)", name, footer, n);
  lethe_pq_meta m;
  char where[300];
  snprintf(where, sizeof where, "%s: footer", name);
  LETHE_TRY(lethe_pq_meta_parse(data + n - 8 - footer, footer, where, &m));
  lethe_status s = decode(data, n, name, &m, t);
  lethe_pq_meta_free(&m);
  if (s) lethe_pq_free(t);
  return s;
}

lethe_status lethe_pq_read(const char *path, lethe_pq_table *out) {
  char *buf;
  size_t len;
  memset(out, 0, sizeof *out);
  LETHE_TRY(lethe_read_file(path, MAX_FILE_BYTES, &buf, &len));
  lethe_status s = lethe_pq_parse((const uint8_t *)buf, len, path, out);
  free(buf);
  return s;
}

const lethe_pq_column *lethe_pq_find(const lethe_pq_table *t, const char *name) {
  for (int c = 0; c < t->n_cols; c++)
    if (t->cols[c].name && strcmp(t->cols[c].name, name) == 0) return &t->cols[c];
  return NULL;
}

void lethe_pq_free(lethe_pq_table *t) {
  for (int c = 0; c < t->n_cols; c++) {
    lethe_pq_column *col = &t->cols[c];
    if (col->str)
      for (int64_t r = 0; r < t->n_rows; r++) free(col->str[r]);
    free(col->str);
    free(col->len);
    free(col->i);
    free(col->null);
    free(col->name);
  }
  free(t->cols);
  memset(t, 0, sizeof *t);
}
