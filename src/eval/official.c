/* eval/official.c: the official script's output files (see official.h) and lethe's mia.jsonl. */
#include "eval/official.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/util.h"
#include "util/error.h"

void lethe_mia_out_free(lethe_mia_out *mo) {
  lethe_sbuf_free(&mo->jsonl);
  lethe_sbuf_free(&mo->csv[0]);
  lethe_sbuf_free(&mo->csv[1]);
  memset(mo, 0, sizeof *mo);
}

void lethe_csv_field(lethe_sbuf *b, const char *s, size_t n) {
  int quote = 0;
  /* Python's csv (QUOTE_MINIMAL, lineterminator "\n" as pandas passes on Linux) quotes a field with
   * the delimiter, the quote character or a character of the line terminator: not '\r' (3.11). */
  for (size_t i = 0; i < n && !quote; i++) quote = s[i] == ',' || s[i] == '"' || s[i] == '\n';
  if (!quote) {
    lethe_sbuf_put(b, s, n);
    return;
  }
  lethe_sbuf_puts(b, "\"");
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"')
      lethe_sbuf_puts(b, "\"\"");
    else
      lethe_sbuf_put(b, s + i, 1);
  }
  lethe_sbuf_puts(b, "\"");
}

/* pandas writes a float column's NaN as an empty field, other values as repr. */
static void csv_float(lethe_sbuf *b, double x) {
  if (!isnan(x)) lethe_pyjson_float(b, x);
}

void lethe_mia_out_add(
    lethe_mia_out *mo, int member, const lethe_rowset *docs, const lethe_tokset *d, const lethe_doc_scores *sc) {
  lethe_sbuf *csv = &mo->csv[member ? 0 : 1];
  if (csv->n == 0) lethe_sbuf_puts(csv, "id,nll\n");
  for (int i = 0; i < d->n; i++) {
    const lethe_row *r = &docs->rows[d->row[i]];
    lethe_sbuf_puts(&mo->jsonl, "{\"id\": ");
    lethe_pyjson_string(&mo->jsonl, r->id, strlen(r->id));
    lethe_sbuf_puts(&mo->jsonl, member ? ", \"set\": \"member\", \"nll\": " : ", \"set\": \"nonmember\", \"nll\": ");
    lethe_pyjson_float(&mo->jsonl, sc->score[LETHE_ATK_LOSS][i]);
    for (int a = 1; a < LETHE_ATK_COUNT; a++) {
      if (!sc->score[a]) continue;
      lethe_sbuf_puts(&mo->jsonl, ", \"");
      lethe_sbuf_puts(&mo->jsonl, lethe_attack_name((lethe_attack)a));
      lethe_sbuf_puts(&mo->jsonl, "\": ");
      lethe_pyjson_float(&mo->jsonl, sc->score[a][i]);
    }
    lethe_sbuf_puts(&mo->jsonl, "}\n");
    lethe_csv_field(csv, r->id, strlen(r->id));
    lethe_sbuf_puts(csv, ",");
    csv_float(csv, sc->score[LETHE_ATK_LOSS][i]);
    lethe_sbuf_puts(csv, "\n");
  }
}

lethe_status lethe_json_one_line(const char *in, size_t n, lethe_sbuf *out) {
  int str = 0, esc = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (str) {
      lethe_sbuf_put(out, &c, 1);
      if (esc)
        esc = 0;
      else if (c == '\\')
        esc = 1;
      else if (c == '"')
        str = 0;
      continue;
    }
    if (c == '\n') { /* the newline and the indent go; after ',' Python's separator is ", " */
      while (i + 1 < n && in[i + 1] == ' ') i++;
      if (out->n && out->p[out->n - 1] == ',') lethe_sbuf_puts(out, " ");
      continue;
    }
    if (c == '"') str = 1;
    lethe_sbuf_put(out, &c, 1);
  }
  return out->oom ? lethe_fail(LETHE_ERR_NOMEM, "out of memory") : LETHE_OK;
}

static lethe_status split_csv(
    const char *dir, const char *name, lethe_split split, const lethe_eval_rows *rows, const lethe_rowset *set) {
  lethe_sbuf b = {0};
  lethe_sbuf_puts(&b, "id,task,input,expected_output,model_output,nll\n");
  int j = 0;
  for (size_t i = 0; i < rows->n; i++) {
    const lethe_eval_row *r = &rows->rows[i];
    if (r->split != split) continue;
    if (!set || j >= set->n) {
      lethe_sbuf_free(&b);
      return lethe_fail(LETHE_ERR_INVALID, "internal: %s rows and their inputs differ in number", name);
    }
    const lethe_row *in = &set->rows[j++];
    lethe_csv_field(&b, r->id, strlen(r->id));
    lethe_sbuf_puts(&b, ",");
    lethe_csv_field(&b, r->task, strlen(r->task));
    lethe_sbuf_puts(&b, ",");
    lethe_csv_field(&b, in->input, in->input_len);
    lethe_sbuf_puts(&b, ",");
    lethe_csv_field(&b, r->expected, r->expected_len);
    lethe_sbuf_puts(&b, ",");
    lethe_csv_field(&b, r->generated, r->generated_len);
    lethe_sbuf_puts(&b, ",");
    csv_float(&b, r->nll);
    lethe_sbuf_puts(&b, "\n");
  }
  char file[64];
  snprintf(file, sizeof file, "%s_0.csv", name);
  char *p = lethe_path_join(dir, file);
  lethe_status s = p ? lethe_sbuf_write_file(&b, p) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  free(p);
  lethe_sbuf_free(&b);
  return s;
}

lethe_status lethe_eval_write_official(const char *dir, const lethe_eval_rows *rows, const lethe_rowset *forget,
    const lethe_rowset *retain, const lethe_eval_results *res, const lethe_mia_out *mo) {
  if (forget) LETHE_TRY(split_csv(dir, "forget", LETHE_SPLIT_FORGET, rows, forget));
  if (retain) LETHE_TRY(split_csv(dir, "retain", LETHE_SPLIT_RETAIN, rows, retain));
  lethe_status s = LETHE_OK;
  if (mo && mo->csv[0].n && mo->csv[1].n) {
    char *md = lethe_path_join(dir, "mia_results");
    s = md ? lethe_make_dirs(md) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    const char *names[2] = {"member_0.csv", "nonmember_0.csv"};
    for (int k = 0; k < 2 && !s; k++) {
      char *p = lethe_path_join(md, names[k]);
      s = p ? lethe_sbuf_write_file(&mo->csv[k], p) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      free(p);
    }
    free(md);
  }
  if (s) return s;
  char *json = NULL;
  size_t len = 0;
  LETHE_TRY(lethe_eval_results_to_json(res, &json, &len));
  lethe_sbuf b = {0};
  s = lethe_json_one_line(json, len, &b);
  free(json); /* the script writes json.dumps(results) with no newline after it */
  char *p = lethe_path_join(dir, "evaluation_results.jsonl");
  if (!s) s = p ? lethe_sbuf_write_file(&b, p) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  free(p);
  lethe_sbuf_free(&b);
  return s;
}

void lethe_eval_print_mmlu_warning(FILE *fp) {
  fprintf(fp, "[WARNING] The MMLU average for the provided checkpoint is below threshold. If this happens your model "
              "may not be considered in final challenge ranking.\n");
}
