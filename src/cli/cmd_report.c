/* cli/cmd_report.c: `lethe report`: the HTML report of an unlearning run. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/report.h"
#include "lethe/util.h"

int cmd_report(int argc, char **argv) {
  lethe_report_opts o = {0};
  const char *out = NULL;
  const cli_arg defs[] = {
      {"run", ARG_STR, &o.run, "the lethe unlearn output directory", 1, 0, 0, NULL},
      {"eval", ARG_STR, &o.eval, "lethe eval output with the adapter (default RUN/eval when present)", 0, 0, 0, NULL},
      {"base-eval", ARG_STR, &o.base_eval, "lethe eval output of the base model (default EVAL/base when present)", 0, 0,
          0, NULL},
      {"compare-run", ARG_STR, &o.compare_run, "a second unlearn run to show beside it", 0, 0, 0, NULL},
      {"compare-eval", ARG_STR, &o.compare_eval, "its lethe eval output", 0, 0, 0, NULL},
      {"compare-label", ARG_STR, &o.compare_label, "its name in the report", 0, 0, 0, NULL},
      {"train-run", ARG_STR, &o.train_run, "a lethe train output whose loss curve to include", 0, 0, 0, NULL},
      {"out", ARG_STR, &out, "the HTML file (default RUN/report.html)", 0, 0, 0, NULL},
  };
  int rc = cli_parse("report",
      "One self-contained HTML file: loss curves, before/after scores, most and least forgotten rows.", argc, argv,
      defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  char *eval = NULL, *base = NULL, *outp = NULL;
  if (!o.eval) {
    eval = lethe_path_join(o.run, "eval");
    if (lethe_is_dir(eval)) o.eval = eval;
  }
  if (!o.base_eval && o.eval) {
    base = lethe_path_join(o.eval, "base");
    if (lethe_is_dir(base)) o.base_eval = base;
  }
  o.out = out ? out : (outp = lethe_path_join(o.run, "report.html"));
  /* the report never replaces what it reads */
  const char *dirs[] = {o.run, o.compare_run, o.train_run};
  char *in[8] = {0};
  int ni = 0;
  for (int i = 0; i < 3; i++)
    if (dirs[i]) {
      in[ni++] = lethe_path_join(dirs[i], "run.json");
      in[ni++] = lethe_path_join(dirs[i], "train_log.jsonl");
    }
  const char *inputs[11] = {o.eval, o.base_eval, o.compare_eval};
  for (int i = 0; i < ni; i++) inputs[3 + i] = in[i];
  int status = 0;
  if (lethe_out_apart(o.out, "--out", inputs, 3 + ni) || lethe_report_write(&o))
    status = cli_report("report");
  else
    printf("%s\n", o.out);
  for (int i = 0; i < ni; i++) free(in[i]);
  free(eval);
  free(base);
  free(outp);
  return status;
}
