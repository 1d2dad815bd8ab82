/* eval/report_check.c: what `lethe report` reads is checked before it writes anything: run.json
 * must be the record an unlearn/train run writes, and every line of train_log.jsonl a step record
 * with increasing steps; a bad one is one error naming the file (and line). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
  char *text;
  size_t len;
  LETHE_TRY(lethe_read_file(path, (size_t)1 << 30, &text, &len));
  lethe_status s = LETHE_OK;
  long long prev = 0, line_no = 0;
  for (char *line = text; line < text + len && !s;) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
    line_no++;
    if (n > 0) {
      json_error_t je;
      json_t *o = json_loadb(line, n, 0, &je);
      const json_t *st = json_object_get(o, "step"), *loss = json_object_get(o, "loss");
      if (!json_is_object(o))
        s = lethe_fail(LETHE_ERR_FORMAT, "%s:%lld: not a JSON object", path, line_no);
      else if (!json_is_integer(st) || json_integer_value(st) <= prev)
        s = lethe_fail(
            LETHE_ERR_FORMAT, "%s:%lld: 'step' must be an integer above the previous line's %lld", path, line_no, prev);
      else if (!json_is_number(loss) && !json_is_null(loss))
        s = lethe_fail(LETHE_ERR_FORMAT, "%s:%lld: 'loss' must be a number", path, line_no);
      else
        prev = json_integer_value(st);
      json_decref(o);
    }
    line += n + 1;
  }
  free(text);
  return s;
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
