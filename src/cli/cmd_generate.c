/* cli/cmd_generate.c: `lethe generate` (placeholder until the model lands). */
#include <stdio.h>

#include "cli/commands.h"

int cmd_generate(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "lethe generate: not built yet\n");
  return 1;
}
