/* util/rng.h: a small, fast, seedable generator (xoshiro256**) whose whole state can be saved in a
 * checkpoint, with uniform and normal draws. */
#ifndef LETHE_UTIL_RNG_H
#define LETHE_UTIL_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[4];
  double spare; /* the second normal of the last Box-Muller pair */
  int has_spare;
} lethe_rng;

void lethe_rng_seed(lethe_rng *r, uint64_t seed);
uint64_t lethe_rng_u64(lethe_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double lethe_rng_uniform(lethe_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t lethe_rng_below(lethe_rng *r, uint64_t n);
/* Standard normal (Box-Muller on two uniforms). */
double lethe_rng_normal(lethe_rng *r);
/* Fisher-Yates shuffle of an int array. */
void lethe_rng_shuffle(lethe_rng *r, int *a, int n);

#endif
