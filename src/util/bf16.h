/* util/bf16.h: bfloat16 <-> fp32 on the host. A bf16 is the upper 16 bits of an fp32; rounding is to
 * nearest, ties to even, and a NaN stays a (quiet) NaN. Shared by the safetensors reader and writer
 * and by the backends that store frozen weights in bf16. */
#ifndef LETHE_UTIL_BF16_H
#define LETHE_UTIL_BF16_H

#include <stdint.h>
#include <string.h>

static inline float lethe_bf16_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline uint16_t lethe_f32_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* f rounded to the nearest bf16, as an fp32 */
static inline float lethe_bf16_round(float f) { return lethe_bf16_f32(lethe_f32_bf16(f)); }

#endif
