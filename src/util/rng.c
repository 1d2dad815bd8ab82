/* util/rng.c: xoshiro256** seeded by splitmix64, plus uniform, normal and shuffle helpers. */
#include "util/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void lethe_rng_seed(lethe_rng *r, uint64_t seed) {
  uint64_t x = seed;
  r->has_spare = 0;
  r->spare = 0;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lethe_rng_u64(lethe_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double lethe_rng_uniform(lethe_rng *r) { return (double)(lethe_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t lethe_rng_below(lethe_rng *r, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = lethe_rng_u64(r);
  while (x >= limit);
  return x % n;
}

double lethe_rng_normal(lethe_rng *r) {
  /* Box-Muller gives two normals per pair of uniforms: the second is kept for the next call. */
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u1 = lethe_rng_uniform(r), u2 = lethe_rng_uniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  double rad = sqrt(-2.0 * log(u1)), ang = 6.283185307179586 * u2;
  r->spare = rad * sin(ang);
  r->has_spare = 1;
  return rad * cos(ang);
}

void lethe_rng_shuffle(lethe_rng *r, int *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)lethe_rng_below(r, (uint64_t)i + 1);
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
