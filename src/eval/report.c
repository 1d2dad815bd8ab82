/* eval/report.c: the HTML report of an unlearning run: one self-contained file with inline SVG
 * charts (loss curves, before/after score bars) and tables of the most and least forgotten rows.
 * It reads what lethe wrote: train_log.jsonl, run.json, evaluation_results.json, rows.jsonl. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/attacks.h"
#include "eval/eval_log.h"
#include "eval/train_log.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_score.h"
#include "lethe/report.h"
#include "util/error.h"
#include "util/fileio.h"

/* ---- inputs -------------------------------------------------------------------------------- */

typedef struct {
  int n;
  double *step, *v[4]; /* loss, forget, retain, kl */
} curve;

static void curve_free(curve *c) {
  free(c->step);
  for (int k = 0; k < 4; k++) free(c->v[k]);
  memset(c, 0, sizeof *c);
}

static lethe_status read_curve(const char *dir, curve *c) {
  memset(c, 0, sizeof *c);
  if (!dir) return LETHE_OK;
  char *p = lethe_path_join(dir, "train_log.jsonl");
  lethe_train_log log = {0};
  lethe_status s = LETHE_OK;
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!lethe_file_exists(p) || (s = lethe_train_log_read(p, &log))) goto done;
  size_t cap = log.n ? log.n : 1;
  c->step = malloc(sizeof(double) * cap);
  for (int k = 0; k < 4; k++) c->v[k] = malloc(sizeof(double) * cap);
  if (!c->step || !c->v[0] || !c->v[1] || !c->v[2] || !c->v[3]) {
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory for %zu records", p, log.n);
    goto done;
  }
  for (size_t i = 0; i < log.n; i++) {
    const lethe_train_log_rec *r = &log.r[i];
    c->step[c->n] = (double)r->step;
    c->v[0][c->n] = r->loss;
    c->v[1][c->n] = r->forget;
    c->v[2][c->n] = r->retain;
    c->v[3][c->n] = r->kl;
    c->n++;
  }
done:
  lethe_train_log_free(&log);
  free(p);
  if (s) curve_free(c);
  return s;
}

typedef struct {
  int has;
  json_t *json;         /* evaluation_results.json */
  lethe_eval_rows rows; /* rows.jsonl, scored */
  lethe_eval_results res;
  int has_res;
} evalset;

static void evalset_free(evalset *e) {
  json_decref(e->json);
  lethe_eval_rows_free(&e->rows);
  if (e->has_res) lethe_eval_results_free(&e->res);
  memset(e, 0, sizeof *e);
}

static lethe_status read_eval(const char *dir, evalset *e) {
  memset(e, 0, sizeof *e);
  if (!dir) return LETHE_OK;
  char *jp = lethe_path_join(dir, "evaluation_results.json"), *rp = lethe_path_join(dir, "rows.jsonl");
  lethe_status s = LETHE_OK;
  json_error_t je;
  e->json = json_load_file(jp, 0, &je);
  if (!e->json) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: %s", jp, lethe_file_exists(jp) ? je.text : "missing (run lethe eval first)");
    goto done;
  }
  if (!json_is_object(e->json) || !json_object_size(e->json)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: not a JSON object of results (is it lethe eval's output?)", jp);
    goto done;
  }
  if ((s = lethe_eval_rows_read_jsonl(rp, &e->rows))) goto done;
  if (e->rows.n && !(s = lethe_eval_compute(&e->rows, NULL, NULL, NULL, &e->res))) e->has_res = 1;
  e->has = !s;
done:
  free(jp);
  free(rp);
  if (s) evalset_free(e);
  return s;
}

/* ---- HTML helpers ------------------------------------------------------------------------------ */

static void esc(FILE *f, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case 0: fputs("\\0", f); break;
    default: fputc(c, f);
    }
  }
}

static void escs(FILE *f, const char *s) { esc(f, s, strlen(s)); }

static const char *const COLORS[] = {"#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"};

/* A line chart of several series over the same x values. */
static void line_chart(FILE *f, const char *title, const double *x, const double *const *ys, const char *const *names,
    int nser, int n, const char *id, const char *xlabel, double mark_x) {
  const double W = 680, H = 260, L = 56, R = 150, T = 28, B = 36;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < n; i++) {
    x0 = fmin(x0, x[i]);
    x1 = fmax(x1, x[i]);
    for (int s = 0; s < nser; s++)
      if (isfinite(ys[s][i])) {
        y0 = fmin(y0, ys[s][i]);
        y1 = fmax(y1, ys[s][i]);
      }
  }
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!isfinite(y0)) y0 = 0, y1 = 1;
  if (!(y1 > y0)) y1 = y0 + 1;
  double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  fprintf(f, "<svg class=\"chart\" id=\"%s\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\">\n",
      id, W, H, W, H);
  fprintf(f, "<text x=\"%.0f\" y=\"18\" class=\"ct\">", L);
  escs(f, title);
  fputs("</text>\n", f);
  fprintf(
      f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" class=\"frame\"/>\n", L, T, W - L - R, H - T - B);
  for (int k = 0; k <= 4; k++) {
    double yv = y0 + (y1 - y0) * k / 4, py = H - B - (H - T - B) * k / 4;
    fprintf(f,
        "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/><text x=\"%.0f\" y=\"%.1f\" "
        "class=\"tick\" text-anchor=\"end\">%.3g</text>\n",
        L, W - R, py, py, L - 4, py + 4, yv);
    double xv = x0 + (x1 - x0) * k / 4, px = L + (W - L - R) * k / 4;
    fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">%.0f</text>\n", px, H - B + 16, xv);
  }
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n", L + (W - L - R) / 2,
      H - 4, xlabel);
  if (isfinite(mark_x)) { /* the chosen point */
    double px = L + (W - L - R) * (mark_x - x0) / (x1 - x0);
    fprintf(f,
        "<line class=\"chosen\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#333\" "
        "stroke-dasharray=\"4 3\"/>"
        "<text x=\"%.1f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">chosen</text>\n",
        px, px, T, H - B, px, T - 2);
  }
  for (int s = 0; s < nser; s++) {
    fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"", COLORS[s % 6]);
    for (int i = 0; i < n; i++) {
      if (!isfinite(ys[s][i])) continue;
      double px = L + (W - L - R) * (x[i] - x0) / (x1 - x0), py = H - B - (H - T - B) * (ys[s][i] - y0) / (y1 - y0);
      fprintf(f, "%.1f,%.1f ", px, py);
    }
    fputs("\"/>\n", f);
    fprintf(f,
        "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"3\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" "
        "class=\"tick\">",
        W - R + 10, T + 10 + 18.0 * s, COLORS[s % 6], W - R + 26, T + 14 + 18.0 * s);
    escs(f, names[s]);
    fputs("</text>\n", f);
  }
  fputs("</svg>\n", f);
}

/* Grouped bars: nmet metrics x nser series, values in [0, 1] (NAN: no bar). */
static void bar_chart(
    FILE *f, const char *const *metrics, int nmet, const double *vals, const char *const *names, int nser) {
  const double W = 720, H = 300, L = 40, T = 20, B = 92, R = 10;
  double gw = (W - L - R) / nmet, bw = (gw - 12) / nser;
  fprintf(f,
      "<svg class=\"chart\" id=\"scores-chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
      "role=\"img\">\n",
      W, H, W, H);
  for (int k = 0; k <= 4; k++) {
    double py = H - B - (H - T - B) * k / 4;
    fprintf(f,
        "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/><text x=\"%.0f\" y=\"%.1f\" "
        "class=\"tick\" text-anchor=\"end\">%.2f</text>\n",
        L, W - R, py, py, L - 4, py + 4, k / 4.0);
  }
  for (int m = 0; m < nmet; m++) {
    for (int s = 0; s < nser; s++) {
      double v = vals[m * nser + s];
      if (!isfinite(v)) continue;
      double h = (H - T - B) * fmax(0, fmin(1, v)), x = L + gw * m + 6 + bw * s;
      fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x,
          H - B - h, bw - 2, h, COLORS[s % 6]);
      escs(f, names[s]);
      fprintf(f, ": %.4f</title></rect>\n", v);
    }
    double cx = L + gw * m + gw / 2;
    fprintf(
        f, "<text class=\"tick\" text-anchor=\"end\" transform=\"translate(%.1f,%.0f) rotate(-30)\">", cx, H - B + 14);
    escs(f, metrics[m]);
    fputs("</text>\n", f);
  }
  for (int s = 0; s < nser; s++) {
    fprintf(f,
        "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"10\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" "
        "class=\"tick\">",
        L + 160.0 * s, H - 14, COLORS[s % 6], L + 160.0 * s + 16, H - 5);
    escs(f, names[s]);
    fputs("</text>\n", f);
  }
  fputs("</svg>\n", f);
}

/* ---- rows ---------------------------------------------------------------------------------- */

typedef struct {
  const lethe_eval_row *before, *after;
  double drop;
} row_pair;

static int cmp_drop(const void *a, const void *b) {
  const row_pair *x = a, *y = b;
  return x->drop < y->drop ? 1 : x->drop > y->drop ? -1 : 0;
}

static int cmp_after(const void *a, const void *b) {
  const row_pair *x = a, *y = b;
  return x->after->score < y->after->score ? 1 : x->after->score > y->after->score ? -1 : 0;
}

static void row_table(FILE *f, const char *id, const char *title, const char *note, row_pair *p, int n) {
  fprintf(f,
      "<h3>%s</h3>\n<p class=\"note\">%s</p>\n<table class=\"rows\" "
      "id=\"%s\">\n<tr><th>id</th><th>expected</th><th>before</th><th>after</th><th>score</th></tr>\n",
      title, note, id);
  for (int i = 0; i < n; i++) {
    fputs("<tr><td class=\"id\">", f);
    escs(f, p[i].after->id);
    fputs("</td><td>", f);
    esc(f, p[i].after->expected, p[i].after->expected_len);
    fputs("</td><td>", f);
    esc(f, p[i].before->generated, p[i].before->generated_len);
    fputs("</td><td>", f);
    esc(f, p[i].after->generated, p[i].after->generated_len);
    fprintf(f, "</td><td class=\"num\">%.3f &rarr; %.3f</td></tr>\n", p[i].before->score, p[i].after->score);
  }
  fputs("</table>\n", f);
}

/* Pairs the scored rows of one split before and after by id. */
static int pair_rows(const evalset *b, const evalset *a, lethe_split split, row_pair *out) {
  int n = 0;
  for (size_t i = 0; i < a->rows.n; i++) {
    const lethe_eval_row *ra = &a->rows.rows[i];
    if (ra->split != split || ra->kind == LETHE_ROW_OTHER || !isfinite(ra->score)) continue;
    for (size_t j = 0; j < b->rows.n; j++) {
      const lethe_eval_row *rb = &b->rows.rows[j];
      if (rb->split == split && !strcmp(rb->id, ra->id) && isfinite(rb->score)) {
        out[n].before = rb;
        out[n].after = ra;
        out[n].drop = rb->score - ra->score;
        n++;
        break;
      }
    }
  }
  return n;
}

/* ---- the page ---------------------------------------------------------------------------- */

static const char *CSS =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px "
    "auto;max-width:1100px;color:#222;padding:0 16px}"
    "h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid "
    "#ddd;padding-bottom:4px}"
    "h3{font-size:15px;margin-bottom:2px}.note{color:#666;margin-top:0}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px "
    "8px;vertical-align:top;text-align:left}"
    "th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "table.rows td{max-width:320px;word-wrap:break-word;font-size:12.5px}td.id{font-family:monospace;font-size:11px}"
    ".chart{display:block;margin:8px 0}.chart .ct{font-weight:600;font-size:13px}.chart .tick{font-size:11px;fill:#444}"
    ".chart .grid{stroke:#e5e5e5}.chart .frame{fill:none;stroke:#ccc}.better{color:#2a7a2a}.worse{color:#b33}";

static double score_of(json_t *r, const char *a, const char *b) {
  if (!r) return NAN;
  json_t *v = json_object_get(r, a);
  if (b) v = json_object_get(v, b);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The scores after each evaluation of the run, over epochs, with the point --select chose. */
static lethe_status eval_section(FILE *h, const char *run_dir, json_t *runj) {
  char *p = lethe_path_join(run_dir, "eval_log.jsonl");
  lethe_eval_point *pt = NULL;
  int n = 0;
  lethe_status s = lethe_eval_log_read(p, &pt, &n);
  free(p);
  if (s || n == 0) return s;
  double *x = malloc(sizeof(double) * (size_t)n * 5);
  if (!x) {
    free(pt);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  double *y[4] = {x + n, x + (ptrdiff_t)2 * n, x + (ptrdiff_t)3 * n, x + (ptrdiff_t)4 * n};
  int has_mmlu = 0;
  for (int i = 0; i < n; i++) {
    x[i] = pt[i].epoch;
    y[0][i] = pt[i].task_aggregate;
    y[1][i] = pt[i].mia_score;
    y[2][i] = pt[i].mmlu;
    y[3][i] = pt[i].final;
    has_mmlu |= isfinite(pt[i].mmlu);
  }
  json_t *ev = json_object_get(runj, "evaluation"), *ch = json_object_get(ev, "chosen");
  double mark = json_is_object(ch) ? json_number_value(json_object_get(ch, "epoch")) : NAN;
  fputs("<section id=\"evaluation\"><h2>Evaluation during training</h2>\n", h);
  const char *names[4] = {"task aggregate", "MIA score", "MMLU", "final"};
  const double *ys[4] = {y[0], y[1], y[2], y[3]};
  const double *ys3[3] = {y[0], y[1], y[3]};
  const char *names3[3] = {"task aggregate", "MIA score", "final"};
  if (has_mmlu)
    line_chart(h, "scores after each evaluation", x, ys, names, 4, n, "eval-chart", "epoch", mark);
  else
    line_chart(h, "scores after each evaluation", x, ys3, names3, 3, n, "eval-chart", "epoch", mark);
  double tsec = 0;
  for (int i = 0; i < n; i++) tsec += pt[i].seconds;
  json_t *tr = json_object_get(runj, "training");
  double train_s = json_number_value(json_object_get(tr, "seconds"));
  fprintf(h, "<p class=\"note\">%d evaluations in %.1f s", n, tsec);
  if (train_s > 0) fprintf(h, " (%.0f%% of the %.1f s of training)", 100 * tsec / train_s, train_s);
  if (json_is_object(ch))
    fprintf(h, "; chosen (--select %s): epoch %.4g, step %lld, final %.4f",
        json_string_value(json_object_get(ev, "select")), mark,
        (long long)json_number_value(json_object_get(ch, "step")), json_number_value(json_object_get(ch, "final")));
  fputs(". The final score is the mean of what was measured among the task aggregate, the MIA score and "
        "MMLU.</p>\n</section>\n",
      h);
  free(x);
  free(pt);
  return LETHE_OK;
}

lethe_status lethe_report_write(const lethe_report_opts *o) {
  if (!o->run || !o->out) return lethe_fail(LETHE_ERR_INVALID, "the report needs a run directory and an output file");
  if (!lethe_is_dir(o->run)) return lethe_fail(LETHE_ERR_IO, "%s: not a directory", o->run);
  LETHE_TRY(lethe_report_check_run(o->run, 1));
  LETHE_TRY(lethe_report_check_run(o->compare_run, 0));
  LETHE_TRY(lethe_report_check_run(o->train_run, 0));
  curve run, cmp, train;
  evalset before, after, cafter;
  memset(&cmp, 0, sizeof cmp);
  memset(&train, 0, sizeof train);
  memset(&before, 0, sizeof before);
  memset(&after, 0, sizeof after);
  memset(&cafter, 0, sizeof cafter);
  json_t *runj = NULL;
  lethe_atomic_file f;
  int f_open = 0;
  row_pair *pairs = NULL;
  lethe_status s = read_curve(o->run, &run);
  if (!s && run.n == 0)
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: no train_log.jsonl (is it an unlearn output directory?)", o->run);
  if (!s) s = read_curve(o->compare_run, &cmp);
  if (!s) s = read_curve(o->train_run, &train);
  if (!s) s = read_eval(o->base_eval, &before);
  if (!s) s = read_eval(o->eval, &after);
  if (!s) s = read_eval(o->compare_eval, &cafter);
  if (s) goto done;
  char *rp = lethe_path_join(o->run, "run.json");
  json_error_t je;
  runj = json_load_file(rp, 0, &je);
  free(rp);
  if ((s = lethe_atomic_open(&f, o->out))) goto done;
  f_open = 1;
  FILE *h = f.fp;
  const char *method = runj ? json_string_value(json_object_get(runj, "method")) : NULL;
  const char *model = runj ? json_string_value(json_object_get(runj, "model")) : NULL;
  fprintf(h,
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lethe "
      "report</title><style>%s</style></head>\n<body>\n",
      CSS);
  fputs("<h1>lethe: unlearning report</h1>\n<p class=\"note\">", h);
  if (model) {
    fputs("model <code>", h);
    escs(h, model);
    fputs("</code>, ", h);
  }
  fputs("method <b>", h);
  escs(h, method ? method : "?");
  fputs("</b>", h);
  if (runj) {
    json_t *tr = json_object_get(runj, "training");
    fprintf(h, ", %lld steps in %.1f s", (long long)json_integer_value(json_object_get(tr, "steps")),
        json_number_value(json_object_get(tr, "seconds")));
  }
  fputs("</p>\n", h);

  /* Scores. */
  fputs("<section id=\"scores\"><h2>Scores before and after</h2>\n", h);
  const char *metrics[] = {"forget regurgitation", "forget knowledge", "retain regurgitation", "retain knowledge",
      "task aggregate", "MIA AUC", "MIA score", "MMLU", "final score"};
  const char *keys[][2] = {{"forget-set", "overall-regurgitation-score"}, {"forget-set", "overall-knowledge-score"},
      {"retain-set", "overall-regurgitation-score"}, {"retain-set", "overall-knowledge-score"},
      {"harmonic-mean-task-aggregate", NULL}, {"mia_loss_acc", NULL}, {"mia_final_score", NULL}, {"mmlu_average", NULL},
      {"aggregate-score", NULL}};
  enum { NMET = sizeof metrics / sizeof *metrics };
  json_t *cols[3] = {before.json, after.json, cafter.json};
  char after_name[96];
  snprintf(after_name, sizeof after_name, "after %s", method ? method : "unlearning");
  char cmp_name[96];
  snprintf(cmp_name, sizeof cmp_name, "after %s", o->compare_label ? o->compare_label : "comparison");
  const char *names[3] = {"before", after_name, cmp_name};
  int nser = 0, which[3] = {0, 0, 0};
  for (int c = 0; c < 3; c++)
    if (cols[c]) which[nser++] = c;
  int nmet = 0;
  double vals[NMET * 3];
  const char *mnames[NMET];
  const char *snames[3];
  for (int i = 0; i < nser; i++) snames[i] = names[which[i]];
  for (int m = 0; m < NMET; m++) {
    int any = 0;
    /* The official aggregate-score is -1 when MIA or MMLU is missing: not a score to plot. */
    for (int i = 0; i < nser; i++) {
      double v = score_of(cols[which[i]], keys[m][0], keys[m][1]);
      any |= isfinite(v) && v >= 0;
    }
    if (!any) continue;
    for (int i = 0; i < nser; i++) {
      double v = score_of(cols[which[i]], keys[m][0], keys[m][1]);
      vals[nmet * nser + i] = v >= 0 ? v : NAN;
    }
    mnames[nmet++] = metrics[m];
  }
  if (nser > 0 && nmet > 0) {
    fputs("<table id=\"scores-table\"><tr><th>metric</th>", h);
    for (int i = 0; i < nser; i++) {
      fputs("<th>", h);
      escs(h, snames[i]);
      fputs("</th>", h);
    }
    fputs("</tr>\n", h);
    for (int m = 0; m < nmet; m++) {
      fprintf(h, "<tr><td>%s</td>", mnames[m]);
      for (int i = 0; i < nser; i++) {
        double v = vals[m * nser + i];
        if (isfinite(v))
          fprintf(h, "<td class=\"num\">%.4f</td>", v);
        else
          fputs("<td class=\"num\">-</td>", h);
      }
      fputs("</tr>\n", h);
    }
    fputs("</table>\n<p class=\"note\">Forget scores should fall (the model no longer reproduces or answers from the "
          "forget set), retain scores should stay; the MIA score is 1 when members and non-members look alike.</p>\n",
        h);
    bar_chart(h, mnames, nmet, vals, snames, nser);
  } else {
    fputs("<p class=\"note\">No evaluation results were given (run lethe eval).</p>\n", h);
  }
  fputs("</section>\n", h);
  {
    const char *adirs[3] = {o->base_eval, o->eval, o->compare_eval};
    lethe_attack_html(h, adirs, names, 3);
  }

  /* Evaluations during training (eval_log.jsonl) and the chosen point. */
  if ((s = eval_section(h, o->run, runj))) goto done;

  /* Training curves. */
  fputs("<section id=\"training\"><h2>Training</h2>\n", h);
  const double *ys[4] = {run.v[0], run.v[1], run.v[2], run.v[3]};
  const char *ln[4] = {"total", "forget term", "retain NLL", "KL"};
  line_chart(h, "unlearning loss terms per step", run.step, ys, ln, 4, run.n, "loss-chart", "step", NAN);
  if (cmp.n) {
    char t[128];
    snprintf(t, sizeof t, "%s: loss terms per step", o->compare_label ? o->compare_label : "comparison");
    const double *cy[4] = {cmp.v[0], cmp.v[1], cmp.v[2], cmp.v[3]};
    line_chart(h, t, cmp.step, cy, ln, 4, cmp.n, "compare-loss-chart", "step", NAN);
  }
  if (train.n) {
    const double *ty[1] = {train.v[2]};
    const char *tn[1] = {"NLL"};
    line_chart(h, "memorisation training: NLL per step", train.step, ty, tn, 1, train.n, "train-chart", "step", NAN);
  }
  fputs("</section>\n", h);

  /* Rows. */
  fputs("<section id=\"rows\"><h2>Rows</h2>\n", h);
  if (before.has && after.has) {
    pairs = malloc(sizeof(row_pair) * (after.rows.n ? after.rows.n : 1));
    if (!pairs) {
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory for %zu row pairs", after.rows.n);
      goto done;
    }
    int n = pair_rows(&before, &after, LETHE_SPLIT_FORGET, pairs);
    qsort(pairs, (size_t)n, sizeof *pairs, cmp_drop);
    row_table(h, "most-forgotten", "Most forgotten forget rows",
        "largest fall in score (ROUGE-L recall or exact match)", pairs, n < 5 ? n : 5);
    qsort(pairs, (size_t)n, sizeof *pairs, cmp_after);
    row_table(h, "least-forgotten", "Least forgotten forget rows", "highest score left after unlearning", pairs,
        n < 5 ? n : 5);
    n = pair_rows(&before, &after, LETHE_SPLIT_RETAIN, pairs);
    qsort(pairs, (size_t)n, sizeof *pairs, cmp_drop);
    row_table(h, "retain-damage", "Retain rows that suffered most", "largest fall in score on rows that should be kept",
        pairs, n < 5 ? n : 5);
  } else {
    fputs("<p class=\"note\">Row tables need evaluations before and after.</p>\n", h);
  }
  fputs("</section>\n", h);
  fputs("<p class=\"note\">Written by lethe " LETHE_VERSION ".</p>\n", h);
  /* Marks the page as rendered: the browser test checks this attribute. */
  fputs("<script>document.body.setAttribute('data-ready', "
        "String(document.querySelectorAll('svg.chart').length));</script>\n</body></html>\n",
      h);
  s = lethe_atomic_commit(&f);
  f_open = 0;
done:
  if (f_open) lethe_atomic_abort(&f);
  free(pairs);
  json_decref(runj);
  curve_free(&run);
  curve_free(&cmp);
  curve_free(&train);
  evalset_free(&before);
  evalset_free(&after);
  evalset_free(&cafter);
  return s;
}
