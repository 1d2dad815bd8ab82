/* eval/sample.h: one draw from a next-token distribution (see eval/sample.c). */
#ifndef LETHE_EVAL_SAMPLE_H
#define LETHE_EVAL_SAMPLE_H

#include "util/rng.h"

/* The token whose cumulative probability (ids ascending) first exceeds one uniform draw. */
int lethe_sample_draw(const float *probs, int V, lethe_rng *r);

#endif
