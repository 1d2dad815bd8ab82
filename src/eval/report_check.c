/* eval/report_check.c: what `lethe report` reads is checked before it writes anything: run.json
 * must be the record an unlearn/train run writes, and every line of train_log.jsonl a step record
 * with increasing steps; a bad one is one error naming the file (and line). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/train_log.h"
#include "lethe/report.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

static lethe_status check_run_json(const char *path) {
  json_t *r;
  LETHE_TRY(lethe_json_load(path, 64u << 20, &r));
  lethe_status s = LETHE_OK;
  const char *cmd = json_string_value(json_object_get(r, "command"));
  const json_t *tr = json_object_get(r, "training");
  int64_t steps;
  double secs;
  if (!json_is_object(r))
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: not a JSON object", path);
  else if (!cmd || (strcmp(cmd, "unlearn") && strcmp(cmd, "train")))
    s = lethe_fail(
        LETHE_ERR_FORMAT, "%s: field 'command' must be \"unlearn\" or \"train\" (is it a lethe run.json?)", path);
  else if (!json_is_object(tr))
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: field 'training' must be an object", path);
  else if (!(s = lethe_json_int(tr, "steps", 1, 0, INT64_MAX / 2, path, &steps, NULL)) &&
           !(s = lethe_json_num(tr, "seconds", 1, path, &secs, NULL)) && !(isfinite(secs) && secs >= 0))
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: training.seconds must be a finite number >= 0", path);
  json_decref(r);
  return s;
}

static lethe_status check_log(const char *path) {
  lethe_train_log log;
  LETHE_TRY(lethe_train_log_read(path, &log));
  lethe_train_log_free(&log);
  return LETHE_OK;
}

lethe_status lethe_report_check_run(const char *dir, int need_run_json) {
  if (!dir) return LETHE_OK;
  char *rp = lethe_path_join(dir, "run.json"), *lp = lethe_path_join(dir, "train_log.jsonl");
  lethe_status s = !rp || !lp ? lethe_fail(LETHE_ERR_NOMEM, "out of memory") : LETHE_OK;
  if (!s && need_run_json && lethe_file_exists(lp) && !lethe_file_exists(rp))
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: missing (is %s a finished lethe run?)", rp, dir);
  if (!s && lethe_file_exists(rp)) s = check_run_json(rp);
  if (!s && lethe_file_exists(lp)) s = check_log(lp);
  free(rp);
  free(lp);
  return s;
}
