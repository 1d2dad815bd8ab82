/* cli/common.h: steps several subcommands share (finding a model's tokenizer, ...). */
#ifndef LETHE_CLI_COMMON_H
#define LETHE_CLI_COMMON_H

#include "lethe/status.h"
#include "lethe/tokenizer.h"

/* Loads `tok_path` when given, else MODEL_DIR/tokenizer.json for a model directory; a model file
 * without --tokenizer is an error saying so. */
lethe_status cli_load_tokenizer(const char *model_path, const char *tok_path, lethe_tokenizer **out);

#endif
