/* lethe/bench.h: benchmarks behind `lethe bench`: the Low-Rank NPO training step on a random model
 * of a given config (with its FLOP count, see bench/FLOPS.md), the sgemm rate at that model's
 * shapes, and generation speed. */
#ifndef LETHE_BENCH_H
#define LETHE_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/comm.h"
#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *config; /* HF config.json of the model shape */
  int batch, seq;     /* sequences per step and tokens per sequence */
  int steps, warmup;  /* timed steps, untimed steps before them */
  int threads;        /* the thread count the caller set (the CLI sets it; the library never does) */
  uint64_t seed;
  const char *save;          /* when set: write the random model, adapter and batch here for the peer */
  const char *device;        /* "cpu" (default) or "cuda" */
  int recompute;             /* activation recomputation per block */
  int profile;               /* time the step's parts (CPU only; adds a timer call per operation) */
  const char *train_layers;  /* instead of the LoRA adapter: full parameters of these layers ("A-B",
                                "-N"), */
  const char *train_modules; /* of these modules ("mlp", "attn", "all"; NULL: all) */
  const char *method;        /* plan only: the method whose step is planned (NULL: npo) */
  const lethe_comm *comm;    /* under mpirun: batch is the global batch, each rank steps its slice
                                and the gradients are all-reduced (NULL: one process) */
} lethe_bench_step_opts;

typedef struct {
  double seconds_per_step, tokens_per_s, gflop_per_step, gflops;
  double losses[8][4]; /* first steps' (total, forget, retain, kl) */
  int n_losses;
  size_t design_bytes; /* weights + activations + adapter, gradients and Adam state + caches */
  size_t peak_rss;
  size_t device_bytes; /* device memory in use after the timed steps (0 on the CPU) */
  int recompute;
  int weights_bf16;            /* the block projections were stored in bf16 */
  const char *blas_core;       /* the kernel OpenBLAS chose */
  double cpu_seconds_per_step; /* process CPU time (all threads) per timed step: less load-sensitive */
  int bf16_engine;             /* bf16 products ran on AVX512_BF16 */
  int n_parts;                 /* with profile: seconds per step of each part (bench/profile_ops.h names) */
  const char *part_names[12];
  double part_wall[12], part_cpu[12], part_gflop[12]; /* part_gflop: useful work (bench/FLOPS.md) */
  /* data parallelism (world_size 1 without it): tokens_per_s is the whole global batch's */
  int world_size;
  double rank_tokens_per_s[64];      /* each rank's slice per second (the first 64 ranks) */
  double allreduce_seconds_per_step; /* rank 0's wait in the gradient all-reduce */
  size_t allreduce_bytes;            /* the gradient all-reduced per step (fp32) */
  double total_cpu_seconds_per_step; /* every rank's process CPU time per step, summed */
} lethe_bench_step_result;

lethe_status lethe_bench_step(const lethe_bench_step_opts *o, lethe_bench_step_result *r);

/* The memory plan of that step, computed from the config alone (nothing allocated, no device
 * needed): what lethe bench step allocates on o->device, part by part. */
typedef struct {
  size_t weights;     /* the backend copy of the model (bf16 projections on cuda) */
  size_t activations; /* the workspace arena(s) */
  size_t adapter;     /* what trains (the LoRA adapter, or the selected tensors' copy), its
                         gradients and two Adam moments, fp32 */
  size_t other;       /* reference log-prob cache, RoPE tables */
  size_t frozen;      /* a trained subset whose method needs the reference's fresh distribution
                         (UNDIAL, full-vocabulary KL, RMU): the frozen copy of the trained
                         tensors, fp32 (0 otherwise) */
  size_t total;
  size_t n_params;
  int weights_bf16, recompute;
} lethe_bench_plan_result;
lethe_status lethe_bench_plan(const lethe_bench_step_opts *o, lethe_bench_plan_result *r);

/* sgemm GFLOP/s at the shapes of the model's step (rows = batch * seq), per thread's CPU second
 * times the threads (so that other jobs on the machine do not lower it): the best of the shapes
 * (the peak) and each shape's rate; beside each, the CPU backend's product with the weight stored in
 * bf16 (bf16_*, timed right after the sgemm of the same shape); bf16_engine says whether that ran on
 * the AVX512_BF16 engine (1) or the plain loops (0). */
typedef struct {
  double peak_gflops;
  double gflops[8];
  char names[8][48];
  int n;
  double bf16_peak_gflops;
  double bf16_gflops[8];
  int bf16_engine;
} lethe_bench_gemm_result;

lethe_status lethe_bench_gemm(const char *config, int rows, lethe_bench_gemm_result *r);

/* Generation speed: prefill of `batch` prompts of `prompt_len` tokens into a KV cache, then
 * `new_tokens` greedy decoding steps for all of them. The model comes from `model` (a path) or is
 * random with the shape of `config`. */
typedef struct {
  const char *model, *config;
  int batch, prompt_len, new_tokens, reps;
  int threads; /* the thread count the caller set (the CLI sets it; the library never does) */
  const char *device;
  uint64_t seed;
} lethe_bench_gen_opts;

typedef struct {
  double prefill_tokens_per_s, decode_tokens_per_s;
  const char *blas_core;
} lethe_bench_gen_result;

lethe_status lethe_bench_gen(const lethe_bench_gen_opts *o, lethe_bench_gen_result *r);

#ifdef __cplusplus
}
#endif
#endif
