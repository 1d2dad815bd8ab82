/* cli/cmd_bench.c: `lethe bench step` (the Low-Rank NPO step), `lethe bench plan` (its memory, from
 * the config alone), `lethe bench gemm` (sgemm at the model's shapes) and `lethe bench gen`. Output
 * is one line of key=value pairs per measurement, for bench/run.sh. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/comm.h"
#include "cli/commands.h"
#include "cli/process.h"
#include "lethe/bench.h"

/* The shape and placement flags `bench step` and `bench plan` share. */
#define STEP_SHAPE_FLAGS(o)                                                                                            \
  {"config", ARG_STR, &(o).config, "HF config.json of the model shape", 1, 0, 0, NULL},                                \
      {"batch", ARG_INT, &(o).batch, "sequences per step (4)", 0, 1, 4096, NULL},                                      \
      {"seq", ARG_INT, &(o).seq, "tokens per sequence (256)", 0, 2, 1 << 20, NULL},                                    \
      {"threads", ARG_INT, &(o).threads, "threads (0: all cores)", 0, 0, 4096, NULL},                                  \
      CLI_ARG_DEVICE(&(o).device), /* one entry for every command */                                                   \
      {"recompute", ARG_FLAG, &(o).recompute, "recompute activations per block in the backward pass", 0, 0, 0, NULL},  \
      {"train-layers", ARG_STR, &(o).train_layers, "full parameters of these layers (A-B, -N) instead of LoRA", 0, 0,  \
          0, NULL},                                                                                                    \
  {                                                                                                                    \
    "train-modules", ARG_STR, &(o).train_modules, "with --train-layers: mlp, attn or all", 0, 0, 0, NULL               \
  }

static int bench_step(int argc, char **argv) {
  lethe_bench_step_opts o = {.batch = 4, .seq = 256, .steps = 5, .warmup = 2, .threads = 0, .seed = 1};
  int64_t seed = 1;
  const cli_arg defs[] = {
      STEP_SHAPE_FLAGS(o),
      {"steps", ARG_INT, &o.steps, "timed steps (5)", 0, 1, 100000, NULL},
      {"warmup", ARG_INT, &o.warmup, "untimed steps first (2)", 0, 0, 100000, NULL},
      {"seed", ARG_I64, &seed, "seed of the random model and batch", 0, 0, 0, NULL},
      {"save", ARG_STR, &o.save, "write the random model, adapter and batch here (for bench/peer_torch.py)", 0, 0, 0,
          NULL},
      {"profile", ARG_FLAG, &o.profile, "time the step's parts (attention, norms, GEMMs, ...; CPU only)", 0, 0, 0,
          NULL},
  };
  int rc = cli_parse("bench step", "Times the Low-Rank NPO step on a random model of the given shape.", argc, argv,
      defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  o.seed = (uint64_t)seed;
  lethe_bench_step_result r;
  cli_set_threads(o.threads, 1);
  o.comm = cli_comm(); /* under mpirun: the global batch over the ranks */
  if (lethe_bench_step(&o, &r)) return cli_report("bench step");
  if (o.comm->rank != 0) return 0; /* rank 0 reports */
  printf("blas_core=%s tokens_per_s=%.1f seconds_per_step=%.4f gflop_per_step=%.3f gflops=%.2f peak_rss_mb=%.1f "
         "design_mb=%.1f "
         "device_mem_mb=%.1f recompute=%d weights=%s bf16_engine=%s cpu_seconds_per_step=%.4f\n",
      r.blas_core ? r.blas_core : "?", r.tokens_per_s, r.seconds_per_step, r.gflop_per_step, r.gflops,
      r.peak_rss / 1048576.0, r.design_bytes / 1048576.0, r.device_bytes / 1048576.0, r.recompute,
      r.weights_bf16 ? "bf16" : "fp32",
      !r.weights_bf16 ? "none"
      : r.bf16_engine ? "avx512_bf16"
                      : "plain-loops",
      r.cpu_seconds_per_step);
  for (int i = 0; i < r.n_parts; i++)
    printf("part name=\"%s\" seconds_per_step=%.4f cpu_seconds_per_step=%.4f gflop=%.3f\n", r.part_names[i],
        r.part_wall[i], r.part_cpu[i], r.part_gflop[i]);
  if (r.world_size > 1) {
    printf("mpi world_size=%d total_tokens_per_s=%.1f allreduce_seconds_per_step=%.5f allreduce_bytes=%zu "
           "total_cpu_seconds_per_step=%.4f\n",
        r.world_size, r.tokens_per_s, r.allreduce_seconds_per_step, r.allreduce_bytes, r.total_cpu_seconds_per_step);
    for (int i = 0; i < r.world_size && i < 64; i++)
      printf("mpi rank=%d tokens_per_s=%.1f\n", i, r.rank_tokens_per_s[i]);
  }
  for (int i = 0; i < r.n_losses; i++)
    printf("loss step=%d total=%.7f forget=%.7f retain=%.7f kl=%.7f\n", i + 1, r.losses[i][0], r.losses[i][1],
        r.losses[i][2], r.losses[i][3]);
  return 0;
}

static int bench_plan(int argc, char **argv) {
  lethe_bench_step_opts o = {.batch = 4, .seq = 256, .steps = 1, .threads = 0};
  const cli_arg defs[] = {
      STEP_SHAPE_FLAGS(o), {"method", ARG_STR, &o.method,
                               "the method whose step is planned (npo; with --train-layers, undial, "
                               "kl and rmu add the frozen copy of the trained tensors)",
                               0, 0, 0, NULL}};
  int rc = cli_parse("bench plan",
      "The memory of the Low-Rank NPO step (as lethe bench step runs it), or of --method's, from the config alone.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  lethe_bench_plan_result r;
  cli_set_threads(o.threads, 0); /* the attention scratch is per thread */
  if (lethe_bench_plan(&o, &r)) return cli_report("bench plan");
  printf("params=%zu weights=%s recompute=%d weights_mb=%.1f activations_mb=%.1f adapter_mb=%.2f frozen_mb=%.2f "
         "other_mb=%.2f "
         "total_mb=%.1f\n",
      r.n_params, r.weights_bf16 ? "bf16" : "fp32", r.recompute, r.weights / 1048576.0, r.activations / 1048576.0,
      r.adapter / 1048576.0, r.frozen / 1048576.0, r.other / 1048576.0, r.total / 1048576.0);
  return 0;
}

static int bench_gemm(int argc, char **argv) {
  const char *config = NULL;
  int rows = 1024, threads = 0;
  const cli_arg defs[] = {
      {"config", ARG_STR, &config, "HF config.json of the model shape", 1, 0, 0, NULL},
      {"rows", ARG_INT, &rows, "rows of the activations (batch x seq, 1024)", 0, 1, 1 << 24, NULL},
      {"threads", ARG_INT, &threads, "threads (0: all cores)", 0, 0, 4096, NULL},
  };
  int rc = cli_parse("bench gemm", "sgemm GFLOP/s at the shapes of the model's training step.", argc, argv, defs,
      (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  lethe_bench_gemm_result r;
  cli_set_threads(threads, 1);
  if (lethe_bench_gemm(config, rows, &r)) return cli_report("bench gemm");
  for (int i = 0; i < r.n; i++)
    printf("gemm shape=\"%s\" gflops=%.2f bf16_gflops=%.2f\n", r.names[i], r.gflops[i], r.bf16_gflops[i]);
  printf("sgemm_peak_gflops=%.2f\n", r.peak_gflops);
  printf("bf16_peak_gflops=%.2f bf16_engine=%s\n", r.bf16_peak_gflops, r.bf16_engine ? "avx512_bf16" : "plain-loops");
  return 0;
}

static int bench_gen(int argc, char **argv) {
  lethe_bench_gen_opts o = {.batch = 8, .prompt_len = 128, .new_tokens = 128, .threads = 0, .reps = 3, .seed = 1};
  const cli_arg defs[] = {
      {"model", ARG_STR, &o.model, "a model to load (HF directory, llama2.c .bin, GGUF)", 0, 0, 0, NULL},
      {"config", ARG_STR, &o.config, "or the HF config.json of a random model", 0, 0, 0, NULL},
      {"batch", ARG_INT, &o.batch, "prompts decoded together (8)", 0, 1, 4096, NULL},
      {"prompt-len", ARG_INT, &o.prompt_len, "tokens per prompt (128)", 0, 1, 1 << 20, NULL},
      {"new", ARG_INT, &o.new_tokens, "new tokens per prompt (128)", 0, 1, 1 << 20, NULL},
      {"reps", ARG_INT, &o.reps, "repetitions; the first one warms up (3)", 0, 1, 1000, NULL},
      {"threads", ARG_INT, &o.threads, "threads (0: all cores)", 0, 0, 4096, NULL},
      CLI_ARG_DEVICE(&o.device),
  };
  int rc = cli_parse("bench gen", "Prompt and generation tokens/s of batched greedy decoding with the KV cache.", argc,
      argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  lethe_bench_gen_result r;
  cli_set_threads(o.threads, 1);
  if (lethe_bench_gen(&o, &r)) return cli_report("bench gen");
  printf("blas_core=%s prefill_tokens_per_s=%.1f decode_tokens_per_s=%.1f batch=%d prompt_len=%d new=%d\n",
      r.blas_core ? r.blas_core : "?", r.prefill_tokens_per_s, r.decode_tokens_per_s, o.batch, o.prompt_len,
      o.new_tokens);
  return 0;
}

int cmd_bench(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "gen")) return bench_gen(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "step")) return bench_step(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "gemm")) return bench_gemm(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "plan")) return bench_plan(argc - 1, argv + 1);
  fprintf(stderr, "usage: lethe bench step|plan|gemm|gen [options] (see lethe bench step --help)\n");
  return (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) ? 0 : 2;
}
