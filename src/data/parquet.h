/* data/parquet.h: a reader for the Parquet files Hugging Face datasets publish: flat schemas whose
 * columns are strings (BYTE_ARRAY) or integers (INT32, INT64), required or optional; PLAIN and
 * dictionary (PLAIN_DICTIONARY / RLE_DICTIONARY, RLE/bit-packed hybrid indices) encodings; data
 * pages v1 and v2; UNCOMPRESSED, SNAPPY, GZIP and ZSTD pages. The footer is Thrift's compact
 * protocol (parquet_thrift.c). The whole table is decoded into memory. Columns of other physical
 * types are listed but not decoded (LETHE_PQ_OTHER); nested schemas are rejected. Every error
 * names the file and the place (column, row group, page). */
#ifndef LETHE_DATA_PARQUET_H
#define LETHE_DATA_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"

/* The most rows a file may declare (a guard against lying footers; LUME has ~1k rows a split). */
#define LETHE_PQ_MAX_ROWS ((int64_t)1 << 22)

typedef enum { LETHE_PQ_OTHER = 0, LETHE_PQ_STRING = 1, LETHE_PQ_INT = 2 } lethe_pq_kind;

typedef struct {
  char *name;
  lethe_pq_kind kind;
  int physical; /* Parquet Type (0 BOOLEAN .. 7 FIXED_LEN_BYTE_ARRAY) */
  int optional; /* repetition OPTIONAL: values may be null */
  /* Per row (n_rows of the table), for STRING and INT columns: */
  char **str;          /* (n_rows) NUL-terminated copies (may hold NUL bytes); NULL when null */
  size_t *len;         /* (n_rows) byte lengths of str */
  int64_t *i;          /* (n_rows) integer values */
  unsigned char *null; /* (n_rows) 1 where the value is null */
} lethe_pq_column;

typedef struct {
  lethe_pq_column *cols; /* (n_cols) in schema order */
  int n_cols;
  int64_t n_rows;
} lethe_pq_table;

/* Non-zero when the first bytes are Parquet's magic "PAR1". */
int lethe_is_parquet(const uint8_t *data, size_t n);

/* Decodes a whole Parquet file held in memory; `name` (the path) is used in messages. */
lethe_status lethe_pq_parse(const uint8_t *data, size_t n, const char *name, lethe_pq_table *out);
/* Reads and decodes the file at `path`. */
lethe_status lethe_pq_read(const char *path, lethe_pq_table *out);
/* The column named `name`, or NULL. */
const lethe_pq_column *lethe_pq_find(const lethe_pq_table *t, const char *name);
void lethe_pq_free(lethe_pq_table *t);

/* ---- internals shared by the parquet_*.c files ---- */

/* Parquet's FieldRepetitionType values. */
enum { LETHE_PQ_REQUIRED = 0, LETHE_PQ_OPTIONAL = 1, LETHE_PQ_REPEATED = 2 };

typedef struct {
  char *name;
  int type;       /* physical type, -1 when absent (a group) */
  int repetition; /* LETHE_PQ_REQUIRED, _OPTIONAL, _REPEATED (int: as read from the file) */
  int num_children;
} lethe_pq_schema_el;

typedef struct {
  int type;
  int codec;
  int64_t num_values;
  int64_t data_page_offset;
  int64_t dict_page_offset; /* -1 when absent */
  int64_t total_compressed;
  char *path; /* path_in_schema joined by '.' */
  int path_depth;
} lethe_pq_chunk_meta;

typedef struct {
  lethe_pq_chunk_meta *cols;
  int n_cols;
  int64_t num_rows;
} lethe_pq_row_group;

typedef struct {
  lethe_pq_schema_el *schema;
  int n_schema;
  int64_t num_rows;
  lethe_pq_row_group *groups;
  int n_groups;
} lethe_pq_meta;

/* Parquet's PageType values (a page header's type; others are skipped). */
enum { LETHE_PQ_PAGE_DATA = 0, LETHE_PQ_PAGE_DICT = 2, LETHE_PQ_PAGE_DATA_V2 = 3 };

typedef struct {
  int type; /* LETHE_PQ_PAGE_* (int: as read from the file, -1 while absent) */
  int32_t uncompressed_size, compressed_size;
  int32_t num_values; /* of the data/dictionary page header */
  int encoding;
  int def_encoding;         /* v1 */
  int32_t num_nulls;        /* v2 */
  int32_t def_len, rep_len; /* v2: level byte lengths */
  int is_compressed;        /* v2 (default 1) */
} lethe_pq_page_header;

/* The footer's FileMetaData (compact protocol). */
lethe_status lethe_pq_meta_parse(const uint8_t *p, size_t n, const char *name, lethe_pq_meta *out);
void lethe_pq_meta_free(lethe_pq_meta *m);
/* A PageHeader starting at p (at most n bytes); *used receives its length. */
lethe_status lethe_pq_page_header_parse(
    const uint8_t *p, size_t n, const char *where, lethe_pq_page_header *out, size_t *used);
/* Decompresses `n` bytes of codec `codec` into exactly dst_n bytes of dst. */
lethe_status lethe_pq_decompress(
    int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_n, const char *where);
/* A codec's name ("SNAPPY") or NULL for an unknown number. */
const char *lethe_pq_codec_name(int codec);

#endif
