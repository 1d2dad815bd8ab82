/* cli/cmd_tokenize.c: `lethe tokenize` (placeholder until the tokenizer lands). */
#include <stdio.h>

#include "cli/commands.h"

int cmd_tokenize(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "lethe tokenize: not built yet\n");
  return 1;
}
