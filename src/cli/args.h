/* cli/args.h: a strict flag parser for the subcommands. Unknown flags, missing values, numbers that
 * do not parse or are out of range: each is one clear message and exit status 2. */
#ifndef LETHE_CLI_ARGS_H
#define LETHE_CLI_ARGS_H

#include <stdint.h>

typedef enum { ARG_STR, ARG_INT, ARG_I64, ARG_FLOAT, ARG_FLAG, ARG_CHOICE } cli_arg_type;

typedef struct {
  const char *name; /* without the leading "--" */
  cli_arg_type type;
  void *dst; /* const char **, int *, int64_t *, double *, int * (flag: set to 1), int * (choice index) */
  const char *help;
  int required;
  double min, max;     /* inclusive range for numbers when min < max */
  const char *choices; /* ARG_CHOICE: "a|b|c"; dst receives the index */
} cli_arg;

/* The --device flag of every command that runs a model: one entry, one help text. dst: const char **. */
#define CLI_ARG_DEVICE(dst)                                                                                            \
  {                                                                                                                    \
    "device", ARG_STR, (dst),                                                                                          \
        "compute device: cpu (default, fp32), cpu:bf16 (bf16 weights, AVX512_BF16), cuda (bf16 weights) or cuda:fp32", \
        0, 0, 0, NULL                                                                                                  \
  }

/* Parses argv[0..argc) (argv[0] is the first flag, not the command). Positional arguments are not
 * accepted. Returns 0 on success, 1 when --help was printed, 2 on a usage error (printed). */
int cli_parse(const char *cmd, const char *summary, int argc, char **argv, const cli_arg *defs, int ndefs);

/* Prints "lethe CMD: <lethe_last_error()>" to stderr and returns 1: the CLI's one way to report a
 * failed library call. */
int cli_report(const char *cmd);

#endif
