/* cli/cmd_recipe.c: `lethe recipe zjuklab`: ZJUKLAB's recipe for SemEval-2025 Task 4 (2nd on the
 * 7B model) as the three lethe commands it is made of: two LoRA unlearning runs (r 32, alpha 32,
 * every linear layer, lr 1e-4, 5 epochs, max length 256) of 0.4 sequence-NPO (beta 0.1) + 0.4
 * full-vocabulary retain KL + 0.2 retain NLL and of 0.3 / 0.3 / 0.4, then their TIES merge
 * (density 0.8, weights 1, 1). OUT/run-a and OUT/run-b are `lethe unlearn` run directories,
 * OUT/model the merged Hugging Face model. The commands are printed before they run, so that the
 * recipe can be rerun or changed by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/util.h"

/* The two runs' (forget, KL, retain) weights. */
static const char *const WEIGHTS[2][3] = {{"0.4", "0.4", "0.2"}, {"0.3", "0.3", "0.4"}};

static void print_argv(const char *cmd, char **argv, int n) {
  printf("lethe %s", cmd);
  for (int i = 0; i < n; i++) printf(" %s", argv[i]);
  printf("\n");
  fflush(stdout);
}

static int zjuklab(int argc, char **argv) {
  const char *model = NULL, *tok = NULL, *forget = NULL, *retain = NULL, *out = NULL, *device = NULL;
  int epochs = 5, max_len = 256, batch = 0, threads = 0, quiet = 0;
  double lr = 1e-4;
  const cli_arg defs[] = {
      {"model", ARG_STR, &model, "the base model (a Hugging Face directory: the merge writes one)", 1, 0, 0, NULL},
      {"tokenizer", ARG_STR, &tok, "tokenizer (default: the model's)", 0, 0, 0, NULL},
      {"forget", ARG_STR, &forget, "forget rows (JSONL)", 1, 0, 0, NULL},
      {"retain", ARG_STR, &retain, "retain rows (JSONL)", 1, 0, 0, NULL},
      {"out", ARG_STR, &out, "output directory: run-a/, run-b/ (the two runs), model/ (the merged model)", 1, 0, 0,
          NULL},
      {"epochs", ARG_INT, &epochs, "epochs of each run (5)", 0, 1, 100000, NULL},
      {"lr", ARG_FLOAT, &lr, "learning rate of each run (1e-4)", 0, 0, 1, NULL},
      {"max-len", ARG_INT, &max_len, "tokens per row at most (256)", 0, 2, 1 << 20, NULL},
      {"batch", ARG_INT, &batch, "sequences per micro-batch (0: lethe unlearn's default)", 0, 0, 4096, NULL},
      {"threads", ARG_INT, &threads, "threads (0: all cores)", 0, 0, 4096, NULL},
      CLI_ARG_DEVICE(&device),
      {"quiet", ARG_FLAG, &quiet, "no progress messages from the runs", 0, 0, 0, NULL},
  };
  int rc = cli_parse("recipe zjuklab",
      "ZJUKLAB's SemEval-2025 Task 4 recipe: two LoRA runs (r 32, alpha 32, all linear layers) of npo-seq "
      "(beta 0.1) with full-vocabulary retain KL and retain NLL, weights 0.4/0.4/0.2 and 0.3/0.3/0.4, then a TIES "
      "merge (density 0.8, weights 1,1). Each command is printed before it runs.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  if (lethe_make_dirs(out)) return cli_report("recipe zjuklab");
  char *run[2] = {lethe_path_join(out, "run-a"), lethe_path_join(out, "run-b")};
  char *adapter[2] = {
      run[0] ? lethe_path_join(run[0], "adapter") : NULL, run[1] ? lethe_path_join(run[1], "adapter") : NULL};
  char *merged = lethe_path_join(out, "model");
  char s_epochs[32], s_lr[32], s_len[32], s_batch[32], s_threads[32];
  snprintf(s_epochs, sizeof s_epochs, "%d", epochs);
  snprintf(s_lr, sizeof s_lr, "%.17g", lr);
  snprintf(s_len, sizeof s_len, "%d", max_len);
  snprintf(s_batch, sizeof s_batch, "%d", batch);
  snprintf(s_threads, sizeof s_threads, "%d", threads);
  rc = !run[0] || !run[1] || !adapter[0] || !adapter[1] || !merged;
  if (rc) fprintf(stderr, "lethe recipe zjuklab: out of memory\n");
  for (int k = 0; k < 2 && !rc; k++) {
    char *a[64];
    int n = 0;
    const char *fixed[] = {"--model", model, "--forget", forget, "--retain", retain, "--out", run[k], "--method",
        "npo-seq", "--beta", "0.1", "--forget-weight", WEIGHTS[k][0], "--kl-weight", WEIGHTS[k][1], "--kl", "full",
        "--retain-weight", WEIGHTS[k][2], "--lora-rank", "32", "--lora-alpha", "32", "--lora-targets", "all-linear",
        "--lr", s_lr, "--epochs", s_epochs, "--max-len", s_len, "--threads", s_threads};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) a[n++] = (char *)fixed[i];
    if (tok) a[n++] = "--tokenizer", a[n++] = (char *)tok;
    if (batch > 0) a[n++] = "--batch", a[n++] = s_batch;
    if (device) a[n++] = "--device", a[n++] = (char *)device;
    if (quiet) a[n++] = "--quiet";
    a[n] = NULL;
    print_argv("unlearn", a, n);
    rc = cmd_unlearn(n, a);
    if (rc)
      fprintf(stderr, "lethe recipe zjuklab: run %c failed (exit %d); its directory %s is kept\n", 'a' + k, rc, run[k]);
  }
  if (!rc) {
    char *a[] = {"--model", (char *)model, "--adapter", adapter[0], "--adapter", adapter[1], "--combine", "ties",
        "--density", "0.8", "--weights", "1,1", "--out", merged, NULL};
    int n = (int)(sizeof a / sizeof *a) - 1;
    print_argv("merge", a, n);
    rc = cmd_merge(n, a);
    if (!rc) printf("merged model: %s\n", merged);
  }
  free(run[0]);
  free(run[1]);
  free(adapter[0]);
  free(adapter[1]);
  free(merged);
  return rc;
}

int cmd_recipe(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "zjuklab")) return zjuklab(argc - 1, argv + 1);
  if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
    printf("usage: lethe recipe zjuklab [options]   (lethe recipe zjuklab --help)\n\n"
           "recipes:\n  zjuklab  ZJUKLAB at SemEval-2025 Task 4 (2nd on 7B): two npo-seq + KL + NLL LoRA runs, "
           "TIES-merged\n");
    return 0;
  }
  fprintf(stderr, "usage: lethe recipe zjuklab [options] (see lethe recipe zjuklab --help)\n");
  return 2;
}
