/* eval/train_log.c: OUT/train_log.jsonl's writer, trimmer and reader (see train_log.h). */
#include "eval/train_log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/jsonl.h"

static void fmt_term(char *buf, size_t n, double v) {
  if (isfinite(v))
    snprintf(buf, n, "%.9g", v);
  else
    snprintf(buf, n, "null");
}

lethe_status lethe_train_log_write(FILE *f, const char *path, const lethe_train_log_rec *r) {
  char lb[32], fb[32], rb[32], kb[32];
  fmt_term(lb, sizeof lb, r->loss);
  fmt_term(fb, sizeof fb, r->forget);
  fmt_term(rb, sizeof rb, r->retain);
  fmt_term(kb, sizeof kb, r->kl);
  fprintf(f,
      "{\"step\": %lld, \"epoch\": %d, \"loss\": %s, \"forget\": %s, \"retain\": %s, \"kl\": %s, "
      "\"grad_norm\": %.9g, \"lr\": %.9g, \"tokens\": %d, \"tokens_per_s\": %.6g, \"elapsed_s\": %.3f}\n",
      (long long)r->step, r->epoch, lb, fb, rb, kb, r->grad_norm, r->lr, r->tokens, r->tokens_per_s, r->elapsed_s);
  if (fflush(f) != 0 || ferror(f))
    return lethe_fail(LETHE_ERR_IO, "%s: cannot write the training log: %s", path, strerror(errno));
  return LETHE_OK;
}

lethe_status lethe_train_log_trim(const char *path, int64_t upto) { return lethe_jsonl_keep_steps(path, upto); }

static double num_or_nan(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

lethe_status lethe_train_log_read(const char *path, lethe_train_log *out) {
  memset(out, 0, sizeof *out);
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
      else if (!(s = LETHE_ARRAY_GROW(out->r, out->cap, out->n + 1, path))) {
        prev = json_integer_value(st);
        lethe_train_log_rec *r = &out->r[out->n++];
        const json_t *ep = json_object_get(o, "epoch"), *tk = json_object_get(o, "tokens");
        *r = (lethe_train_log_rec){.step = prev,
            .epoch = json_is_integer(ep) ? (int)json_integer_value(ep) : 0,
            .loss = num_or_nan(o, "loss"),
            .forget = num_or_nan(o, "forget"),
            .retain = num_or_nan(o, "retain"),
            .kl = num_or_nan(o, "kl"),
            .grad_norm = num_or_nan(o, "grad_norm"),
            .lr = num_or_nan(o, "lr"),
            .tokens = json_is_integer(tk) ? (int)json_integer_value(tk) : 0,
            .tokens_per_s = num_or_nan(o, "tokens_per_s"),
            .elapsed_s = num_or_nan(o, "elapsed_s")};
      }
      json_decref(o);
    }
    line += n + 1;
  }
  free(text);
  if (s) lethe_train_log_free(out);
  return s;
}

void lethe_train_log_free(lethe_train_log *l) {
  free(l->r);
  memset(l, 0, sizeof *l);
}
