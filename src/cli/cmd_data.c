/* cli/cmd_data.c: `lethe data bios`: writes the synthetic biography data sets. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/data.h"

int cmd_data(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "bios") != 0) {
    fprintf(stderr, "usage: lethe data bios --out DIR [--n N] [--forget N] [--holdout N] [--seed S]\n");
    return (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) ? 0 : 2;
  }
  lethe_bios_opts o = {.n_people = 20, .n_forget = 5, .n_holdout = 5, .seed = 1};
  const char *out = NULL;
  int64_t seed = 1;
  int n_forget = -1;
  const cli_arg defs[] = {
      {"out", ARG_STR, &out, "output directory", 1, 0, 0, NULL},
      {"n", ARG_INT, &o.n_people, "people in the forget and retain sets (default 20)", 0, 2, 100000, NULL},
      {"forget", ARG_INT, &n_forget, "people in the forget set (default a quarter)", 0, 1, 100000, NULL},
      {"holdout", ARG_INT, &o.n_holdout, "people never trained on, for MIA non-members (default 5)", 0, 0, 100000,
          NULL},
      {"seed", ARG_I64, &seed, "seed (the data are a function of it)", 0, 0, 0, NULL},
  };
  int rc = cli_parse("data bios",
      "Synthetic biographies with personal data (subtask-2 style): forget.jsonl, retain.jsonl,\n"
      "mia_members.jsonl, mia_nonmembers.jsonl.",
      argc - 1, argv + 1, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  o.seed = (uint64_t)seed;
  o.n_forget = n_forget > 0 ? n_forget : (o.n_people / 4 > 0 ? o.n_people / 4 : 1);
  if (lethe_bios_generate(&o, out)) return cli_report("data bios");
  printf("wrote %s/forget.jsonl (%d people), retain.jsonl (%d), mia_members.jsonl, mia_nonmembers.jsonl (%d)\n", out,
      o.n_forget, o.n_people - o.n_forget, o.n_holdout);
  return 0;
}
