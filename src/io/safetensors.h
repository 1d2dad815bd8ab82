/* io/safetensors.h: reading (mmap, every header field validated) and writing (atomically) the
 * safetensors format: 8-byte little-endian header length, a JSON header mapping tensor names to
 * {dtype, shape, data_offsets}, then the data. */
#ifndef LETHE_IO_SAFETENSORS_H
#define LETHE_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"
#include "util/fileio.h"

typedef enum {
  LETHE_DT_F32 = 0,
  LETHE_DT_F16,
  LETHE_DT_BF16,
  LETHE_DT_F64,
  LETHE_DT_I64,
  LETHE_DT_I32,
  LETHE_DT_I16,
  LETHE_DT_I8,
  LETHE_DT_U8,
  LETHE_DT_BOOL,
  LETHE_DT_COUNT
} lethe_dtype;

const char *lethe_dtype_name(lethe_dtype dt); /* "F32", ... */
size_t lethe_dtype_size(lethe_dtype dt);
/* "F32"/"float32" -> dtype; -1 when unknown. */
int lethe_dtype_parse(const char *s);

#define LETHE_ST_MAX_DIMS 8

typedef struct {
  char *name;
  lethe_dtype dtype;
  int ndim;
  int64_t shape[LETHE_ST_MAX_DIMS];
  size_t numel;
  const uint8_t *data; /* into the mapping */
  size_t nbytes;
} lethe_st_tensor;

typedef struct {
  lethe_mapped_file map;
  lethe_st_tensor *tensors;
  int n;
  char *path;
} lethe_safetensors;

/* Maps and validates a file: header length within the file, valid JSON object, known dtypes,
 * shapes of non-negative sizes, data_offsets inside the data area with end - begin equal to
 * numel x dtype size, no two tensors overlapping. Errors name the file and the tensor. */
lethe_status lethe_st_open(const char *path, lethe_safetensors *st);
/* Validates a safetensors image held in memory (used by open and by the fuzzer). The tensors
 * point into `data`, which must outlive `st`. */
lethe_status lethe_st_parse(const uint8_t *data, size_t size, const char *name, lethe_safetensors *st);
void lethe_st_close(lethe_safetensors *st);
const lethe_st_tensor *lethe_st_find(const lethe_safetensors *st, const char *name);

/* Converts a tensor to fp32 (from F32, F16, BF16, F64). n must equal its element count. */
lethe_status lethe_st_to_f32(const lethe_safetensors *st, const lethe_st_tensor *t, float *dst, size_t n);
/* Converts an integer tensor (I32, I64, I16, I8, U8) to int32 (values must fit). */
lethe_status lethe_st_to_i32(const lethe_safetensors *st, const lethe_st_tensor *t, int32_t *dst, size_t n);

/* Writer: collect tensors (data is copied only when the file is written), then write. */
typedef struct {
  const char *name;
  lethe_dtype dtype; /* F32, F16, BF16 (converted from the fp32 source), I32 (from int32) */
  int ndim;
  int64_t shape[LETHE_ST_MAX_DIMS];
  const void *src; /* fp32 for float dtypes, int32 for I32 */
} lethe_st_entry;

/* Writes entries in the given order to `path` atomically; metadata_json (may be NULL) is a JSON
 * object of string values stored under "__metadata__". */
lethe_status lethe_st_write(const char *path, const lethe_st_entry *e, int n, const char *metadata_json);

/* fp32 <-> bf16 / f16 conversions (round to nearest even). */
float lethe_bf16_to_f32(uint16_t h);
uint16_t lethe_f32_to_bf16(float f);
float lethe_f16_to_f32(uint16_t h);
uint16_t lethe_f32_to_f16(float f);

#endif
