/* fuzz/fuzz_parquet.c: the Parquet reader on arbitrary bytes: footer (Thrift compact protocol),
 * page headers, decompression, levels and values; then every decoded cell is read. */
#include <stdint.h>
#include <stdlib.h>

#include "data/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lethe_pq_table t;
  if (lethe_pq_parse(data, size, "fuzz", &t) != LETHE_OK) return 0;
  volatile size_t sum = 0;
  for (int c = 0; c < t.n_cols; c++)
    for (int64_t r = 0; r < t.n_rows; r++) {
      const lethe_pq_column *col = &t.cols[c];
      if (col->kind == LETHE_PQ_STRING && col->str[r]) sum += col->len[r] + (uint8_t)col->str[r][0];
      if (col->kind == LETHE_PQ_INT) sum += (size_t)col->i[r];
    }
  lethe_pq_free(&t);
  return 0;
}
