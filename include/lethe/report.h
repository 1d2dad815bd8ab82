/* lethe/report.h: `lethe report`: one self-contained HTML file (inline SVG, no network) that shows
 * what an unlearning run did: loss curves from the training log, before/after bars for every score,
 * and the most and least forgotten rows. */
#ifndef LETHE_REPORT_H
#define LETHE_REPORT_H

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *run;         /* an unlearn output directory (train_log.jsonl, run.json) */
  const char *base_eval;   /* `lethe eval` output of the model before unlearning (may be NULL) */
  const char *eval;        /* `lethe eval` output with the run's adapter (may be NULL) */
  const char *compare_run; /* a second unlearn run shown beside it, e.g. gradient ascent (may be NULL) */
  const char *compare_eval;
  const char *compare_label; /* its name in the report ("gradient ascent") */
  const char *train_run;     /* a `lethe train` output whose loss curve is shown too (may be NULL) */
  const char *out;           /* the HTML file (written atomically) */
} lethe_report_opts;

lethe_status lethe_report_write(const lethe_report_opts *o);
/* Checks a run directory the report reads: run.json (the record of a lethe unlearn/train run) and
 * train_log.jsonl (step records, steps increasing), each when present (run.json required beside a
 * log when need_run_json); one error naming the file and line. */
lethe_status lethe_report_check_run(const char *dir, int need_run_json);

#ifdef __cplusplus
}
#endif
#endif
