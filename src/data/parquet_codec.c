/* data/parquet_codec.c: page decompression through the codec libraries (Snappy, zlib for GZIP,
 * zstd); each is optional at build time (LETHE_WITH_SNAPPY / _ZLIB / _ZSTD), a page in a codec
 * that was not built in is an error that says so. */
#include <stdio.h>
#include <string.h>

#include "data/parquet.h"
#include "util/error.h"

#ifdef LETHE_WITH_SNAPPY
#include <snappy-c.h>
#endif
#ifdef LETHE_WITH_ZLIB
#include <zlib.h>
#endif
#ifdef LETHE_WITH_ZSTD
#include <zstd.h>
#endif

const char *lethe_pq_codec_name(int codec) {
  static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return codec >= 0 && codec < 8 ? names[codec] : NULL;
}

static lethe_status short_page(const char *where, const char *codec, size_t got, size_t want) {
  return lethe_fail(
      LETHE_ERR_FORMAT, "%s: %s page decompresses to %zu bytes, its header says %zu", where, codec, got, want);
}

lethe_status lethe_pq_decompress(
    int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dst_n, const char *where) {
  switch (codec) {
  case 0:
    if (n != dst_n) return short_page(where, "UNCOMPRESSED", n, dst_n);
    if (n) memcpy(dst, src, n);
    return LETHE_OK;
#ifdef LETHE_WITH_SNAPPY
  case 1: {
    size_t len = 0;
    if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: corrupt SNAPPY page", where);
    if (len != dst_n) return short_page(where, "SNAPPY", len, dst_n);
    if (snappy_validate_compressed_buffer((const char *)src, n) != SNAPPY_OK ||
        snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: corrupt SNAPPY page", where);
    if (len != dst_n) return short_page(where, "SNAPPY", len, dst_n);
    return LETHE_OK;
  }
#endif
#ifdef LETHE_WITH_ZLIB
  case 2: {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return lethe_fail(LETHE_ERR_NOMEM, "%s: zlib: out of memory", where);
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)dst_n;
    int rc = n > 0xffffffffu || dst_n > 0xffffffffu ? Z_BUF_ERROR : inflate(&z, Z_FINISH);
    size_t got = dst_n - z.avail_out;
    inflateEnd(&z);
    if (rc == Z_STREAM_END && got == dst_n) return LETHE_OK;
    if (rc == Z_STREAM_END || rc == Z_BUF_ERROR) return short_page(where, "GZIP", got, dst_n);
    return lethe_fail(LETHE_ERR_FORMAT, "%s: corrupt GZIP page (zlib: %s)", where, z.msg ? z.msg : "error");
  }
#endif
#ifdef LETHE_WITH_ZSTD
  case 6: {
    size_t got = ZSTD_decompress(dst, dst_n, src, n);
    if (ZSTD_isError(got))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: corrupt ZSTD page (%s)", where, ZSTD_getErrorName(got));
    if (got != dst_n) return short_page(where, "ZSTD", got, dst_n);
    return LETHE_OK;
  }
#endif
  default: {
    const char *name = lethe_pq_codec_name(codec);
    if (name && (codec == 1 || codec == 2 || codec == 6))
      return lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: codec %s: this lethe was built without it (install its -dev package)", where, name);
    if (name) return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: codec %s is not supported", where, name);
    return lethe_fail(LETHE_ERR_FORMAT, "%s: unknown codec %d", where, codec);
  }
  }
}
