/* io/gguf.h: the GGUF container (v2 and v3, little-endian) as lethe reads it: header, metadata
 * key/values of every type, tensor infos and data, every count, length and offset checked against
 * the file before use; dequantisation of the tensor types lethe supports to fp32; and the
 * metadata lookups the model and tokenizer readers share. */
#ifndef LETHE_IO_GGUF_H
#define LETHE_IO_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/model.h"
#include "lethe/status.h"
#include "util/fileio.h"

/* Metadata value types (the GGUF specification's numbering). */
typedef enum {
  GGUF_UINT8 = 0,
  GGUF_INT8 = 1,
  GGUF_UINT16 = 2,
  GGUF_INT16 = 3,
  GGUF_UINT32 = 4,
  GGUF_INT32 = 5,
  GGUF_FLOAT32 = 6,
  GGUF_BOOL = 7,
  GGUF_STRING = 8,
  GGUF_ARRAY = 9,
  GGUF_UINT64 = 10,
  GGUF_INT64 = 11,
  GGUF_FLOAT64 = 12,
  GGUF_NTYPES
} lethe_gguf_vtype;

/* Tensor types (ggml's numbering) that lethe dequantises; others are parsed (their sizes are
 * known, so the file layout is still checked) but refused on load. */
enum {
  GGML_F32 = 0,
  GGML_F16 = 1,
  GGML_Q4_0 = 2,
  GGML_Q4_1 = 3,
  GGML_Q8_0 = 8,
  GGML_Q4_K = 12,
  GGML_Q6_K = 14,
  GGML_BF16 = 30
};

#define LETHE_GGUF_MAX_DIMS 4
#define LETHE_GGUF_MAX_NAME 256

/* A GGUF string: bytes in the file, not NUL-terminated. */
typedef struct {
  const char *ptr;
  size_t len;
} lethe_gguf_str;

typedef struct {
  char *key; /* NUL-terminated copy */
  lethe_gguf_vtype type;
  lethe_gguf_vtype arr_type; /* element type when type == GGUF_ARRAY */
  uint64_t arr_n;            /* element count when type == GGUF_ARRAY */
  const uint8_t *data;       /* the value (scalar) or the first element (array), in the file */
  size_t nbytes;             /* bytes the value occupies (after the type field(s) and count) */
  lethe_gguf_str *strs;      /* arrays of strings: the arr_n strings (malloc'ed), else NULL */
} lethe_gguf_kv;

typedef struct {
  char *name; /* NUL-terminated copy */
  int n_dims;
  int64_t ne[LETHE_GGUF_MAX_DIMS]; /* ne[0] is the innermost (contiguous) dimension */
  uint32_t type;
  uint64_t offset;     /* from the start of the data section */
  const uint8_t *data; /* in the file */
  size_t nbytes;
  size_t numel;
} lethe_gguf_tensor;

typedef struct {
  const char *name; /* for messages (the path) */
  const uint8_t *base;
  size_t size;
  uint32_t version;
  lethe_gguf_kv *kv;
  size_t n_kv;
  lethe_gguf_tensor *tensors;
  size_t n_tensors;
  size_t alignment;
  size_t data_offset;    /* start of the data section in the file */
  lethe_mapped_file map; /* when opened from a path */
  char *name_copy;
} lethe_gguf;

/* Parses a GGUF image held in memory; `name` is used in messages. Tensors and values point into
 * `data`, which must outlive `g`. Every error names the file, the place and the problem. */
lethe_status lethe_gguf_parse(const uint8_t *data, size_t size, const char *name, lethe_gguf *g);
/* Maps and parses a file. */
lethe_status lethe_gguf_open(const char *path, lethe_gguf *g);
void lethe_gguf_close(lethe_gguf *g);

const lethe_gguf_kv *lethe_gguf_find_kv(const lethe_gguf *g, const char *key);
const lethe_gguf_tensor *lethe_gguf_find_tensor(const lethe_gguf *g, const char *name);

/* Typed metadata reads. A missing key: *present = 0 (when present != NULL; else an error when
 * required), out unchanged. A value of an unusable type or out of range is an error naming the key. */
lethe_status lethe_gguf_get_int(
    const lethe_gguf *g, const char *key, int required, int64_t lo, int64_t hi, int64_t *out, int *present);
lethe_status lethe_gguf_get_float(const lethe_gguf *g, const char *key, int required, double *out, int *present);
lethe_status lethe_gguf_get_bool(const lethe_gguf *g, const char *key, int *out, int *present);
/* A string value as a malloc'ed NUL-terminated copy (embedded NULs are an error). */
lethe_status lethe_gguf_get_str(const lethe_gguf *g, const char *key, int required, char **out);
/* The i-th element of a numeric array as double / int64 (element types checked by the caller's
 * use: integers and floats both convert). */
double lethe_gguf_arr_f64(const lethe_gguf_kv *kv, uint64_t i);
int64_t lethe_gguf_arr_i64(const lethe_gguf_kv *kv, uint64_t i);
int lethe_gguf_type_is_number(lethe_gguf_vtype t);
const char *lethe_gguf_vtype_name(lethe_gguf_vtype t);

/* ---- tensor types ---------------------------------------------------------------------------- */

/* Name of a ggml tensor type ("Q4_K"), or NULL for an unknown id. */
const char *lethe_ggml_type_name(uint32_t type);
/* Block size (elements) and bytes per block; 0 when the id is unknown. */
int lethe_ggml_block_size(uint32_t type);
size_t lethe_ggml_block_bytes(uint32_t type);
/* Whether lethe can dequantise the type. */
int lethe_ggml_type_supported(uint32_t type);
/* Dequantises n elements (a multiple of the block size) from src (exactly the bytes n elements
 * occupy) to fp32. The type must be supported. */
void lethe_ggml_dequantize(uint32_t type, const uint8_t *src, float *dst, size_t n);
/* Dequantises a whole tensor into dst (t->numel floats); an unsupported type is an error naming
 * the tensor and its type. */
lethe_status lethe_gguf_tensor_f32(const lethe_gguf *g, const lethe_gguf_tensor *t, float *dst);

/* ---- models and tokenizers ------------------------------------------------------------------ */

/* The model a parsed file holds (architectures llama and olmo), weights dequantised to fp32. */
lethe_status lethe_gguf_model(const lethe_gguf *g, lethe_model **out);
/* Llama-3 RoPE scaling recovered from the factors of rope_freqs.weight into c (rope_type LLAMA3,
 * factor, low/high frequency factors, original context), or an error when the factors do not follow
 * that rule. c's head_dim and rope_theta must be set. */
lethe_status lethe_gguf_llama3_rope(const lethe_gguf *g, const lethe_gguf_tensor *t, lethe_config *c);
/* The file's tokenizer (tokenizer.ggml.*) as Hugging Face tokenizer.json text (malloc'ed). */
lethe_status lethe_gguf_tokenizer_json_from(const lethe_gguf *g, char **json_out);

#endif
