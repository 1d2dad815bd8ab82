/* cli/main.c: the `lethe` program: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/comm.h"
#include "cli/commands.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command COMMANDS[] = {
    {"generate", cmd_generate, "text generation from a model: greedy or sampled, plain or chat"},
    {"unlearn", cmd_unlearn, "train a LoRA adapter that forgets a forget set (Low-Rank NPO)"},
    {"train", cmd_train, "supervised training (full-parameter or LoRA) to make a model learn data"},
    {"eval", cmd_eval, "evaluate as SemEval-2025 Task 4 does (forget/retain scores, MIA, MMLU)"},
    {"convert", cmd_convert, "llama2.c or GGUF models into a Hugging Face model directory"},
    {"merge", cmd_merge, "merge a LoRA adapter into the base weights (HF model directory)"},
    {"sweep", cmd_sweep, "unlearn with comma lists of settings: every combination trained, evaluated, tabled"},
    {"recipe", cmd_recipe, "published recipes as lethe commands (zjuklab: two LoRA runs, TIES-merged)"},
    {"report", cmd_report, "one self-contained HTML report of an unlearning run"},
    {"demo", cmd_demo, "the whole story on a laptop: memorise, score, unlearn, score, report"},
    {"bench", cmd_bench, "benchmarks: the unlearning step, sgemm at the model's shapes"},
    {"data", cmd_data, "make data sets (data bios: synthetic biographies with personal data)"},
    {"score", cmd_score, "per-token log-probabilities of rows or documents, as JSONL"},
    {"tokenize", cmd_tokenize, "text to token ids (or back, with --decode)"},
};
static const int NCOMMANDS = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);

static void print_usage(FILE *fp) {
  fprintf(fp,
      "lethe %s: make a language model forget chosen content (Low-Rank NPO)\n\n"
      "usage: lethe COMMAND [options]   (lethe COMMAND --help for its options)\n\ncommands:\n",
      LETHE_VERSION);
  for (int i = 0; i < NCOMMANDS; i++) fprintf(fp, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    print_usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("lethe %s\n", LETHE_VERSION);
    return 0;
  }
  for (int i = 0; i < NCOMMANDS; i++) {
    if (strcmp(argv[1], COMMANDS[i].name) != 0) continue;
    /* under mpirun / srun every rank runs the command; a failing one aborts the job */
    if (cli_comm_init(&argc, &argv)) return 1;
    const lethe_comm *c = cli_comm();
    int parallel = !strcmp(argv[1], "unlearn") || !strcmp(argv[1], "train") || !strcmp(argv[1], "bench") ||
                   !strcmp(argv[1], "eval") || !strcmp(argv[1], "sweep");
    if (c->size > 1 && !parallel) { /* N ranks would each write the same outputs */
      if (c->rank == 0)
        fprintf(stderr,
            "lethe %s: runs as one process (data parallelism covers unlearn, train, eval, sweep and bench step): "
            "launch it "
            "without mpirun\n",
            argv[1]);
      return cli_comm_end(2);
    }
    return cli_comm_end(COMMANDS[i].run(argc - 2, argv + 2));
  }
  fprintf(stderr, "lethe: unknown command '%s' (see lethe --help)\n", argv[1]);
  return 2;
}
