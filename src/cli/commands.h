/* cli/commands.h: one entry point per `lethe` subcommand, each in its own cmd_*.c file. */
#ifndef LETHE_CLI_COMMANDS_H
#define LETHE_CLI_COMMANDS_H

int cmd_generate(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
struct lethe_train_shared;
int cmd_unlearn(int argc, char **argv);
/* lethe unlearn reusing sh's model and reference cache (lethe sweep). */
int cmd_unlearn_shared(int argc, char **argv, struct lethe_train_shared *sh);
int cmd_train(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_recipe(int argc, char **argv);

#endif
