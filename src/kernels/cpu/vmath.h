/* kernels/cpu/vmath.h: an exp that compilers vectorise. glibc only offers vector expf under
 * -ffast-math, which lethe does not use; this one is plain arithmetic (Cody-Waite range reduction
 * and a degree-6 polynomial, within 2 ulp of expf on [-87.3, 88]; larger inputs give exp(88)), and it
 * keeps NaN a NaN so that a poisoned value still stops training. */
#ifndef LETHE_KERNELS_CPU_VMATH_H
#define LETHE_KERNELS_CPU_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float lethe_expf(float x) {
  /* Comparisons leave a NaN untouched. */
  x = x < -87.33654f ? -87.33654f : x;
  x = x > 88.0f ? 88.0f : x;       /* keeps 2^n finite; exp(88) = 1.65e38 */
  const float shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer in the low bits */
  float t = x * 1.44269504088896341f + shift;
  float n = t - shift;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  uint32_t bits;
  memcpy(&bits, &t, 4);
  /* The low bits of t hold n (two's complement); 2^n has exponent field n + 127. */
  uint32_t e = (bits - 0x4B400000u + 127u) << 23;
  float scale;
  memcpy(&scale, &e, 4);
  return p * scale;
}

#endif
