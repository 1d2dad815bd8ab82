/* bench/profile_ops.h: a backend that times another backend's operations by part of the step
 * (lethe bench step --profile). */
#ifndef LETHE_BENCH_PROFILE_OPS_H
#define LETHE_BENCH_PROFILE_OPS_H

#include "kernels/ops.h"

enum {
  LETHE_PART_GEMM,
  LETHE_PART_LORA,
  LETHE_PART_ATTN,
  LETHE_PART_NORM,
  LETHE_PART_ROPE,
  LETHE_PART_CLASSIFIER,
  LETHE_PART_SWIGLU,
  LETHE_PART_ADAM,
  LETHE_PART_EMBED,
  LETHE_PART_N
};
extern const char *const LETHE_PART_NAMES[LETHE_PART_N];

/* The timing table over base (one at a time; it lives until the next call), timers zeroed. */
const lethe_ops *lethe_profile_ops(const lethe_ops *base);
void lethe_profile_reset(void);
/* Seconds per part since the last reset: wall clock and process CPU time. */
void lethe_profile_read(double wall[LETHE_PART_N], double cpu[LETHE_PART_N]);
/* CPU seconds of the whole process so far (every thread). */
double lethe_process_cpu_s(void);

#endif
