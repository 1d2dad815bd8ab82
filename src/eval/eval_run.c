/* eval/eval_run.c: the model side of the task's scorer. Greedy generations of the forget and
 * retain rows (batched, KV cache), then one pass over the model for the mean answer NLL of each row
 * and the per-document NLLs of the MIA sets, MMLU by next-token logits of " A".." D"; then the scorer of eval.h and the
 * outputs. Under data parallelism (o->comm) each rank computes its share of whole batches (eval_share.h) and the
 * results are gathered to every rank in the original order; rank 0 writes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/data.h"
#include "eval/attacks.h"
#include "eval/eval_scores.h"
#include "eval/eval_share.h"
#include "eval/mmlu_prompt.h"
#include "eval/official.h"
#include "eval/seq_nll.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_score.h"
#include "lethe/eval_mmlu.h"
#include "lethe/eval_print.h"
#include "lethe/evaluate.h"
#include "lethe/generate.h"
#include "lethe/lora.h"
#include "lethe/tokenizer.h"
#include "model/model.h"
#include "util/error.h"
#include "util/say.h"
#include "util/fileio.h"

void lethe_eval_opts_default(lethe_eval_opts *o) {
  memset(o, 0, sizeof *o);
  o->shots = 5;
  o->max_new = 256;
  o->batch = 16;
  o->progress = stderr;
  o->table = stdout;
}

#define say(o, ...) lethe_say((o)->progress, __VA_ARGS__)

/* One split of an evaluation: its rows, their greedy generations and the rows tokenised (input +
 * output, the prompt masked) for the answer NLLs, which the evaluation's one pass computes. */
typedef struct {
  const lethe_rowset *set;
  lethe_split split;
  int **outs, *out_lens; /* (set->n) the generated tokens of each row */
  lethe_tokset d;
} split_gen;

static void split_gen_free(split_gen *g) {
  for (int i = 0; g->outs && i < g->set->n; i++) free(g->outs[i]);
  free(g->outs);
  free(g->out_lens);
  lethe_tokset_free(&g->d);
  memset(g, 0, sizeof *g);
}

/* Generations of one row set (this rank's share, then everyone's), stopping where
 * generation_config.json (gc) says. */
static lethe_status gen_split(const lethe_eval_opts *o, lethe_model *m, const lethe_lora *lora,
    const lethe_tokenizer *tok, const lethe_gen_config *gc, const lethe_rowset *set, lethe_split split,
    split_gen *out) {
  const lethe_config *c = lethe_model_config(m);
  int n = set->n;
  memset(out, 0, sizeof *out);
  out->set = set;
  out->split = split;
  int **prompts = calloc((size_t)n, sizeof *prompts), *lens = calloc((size_t)n, sizeof *lens);
  out->outs = calloc((size_t)n, sizeof *out->outs);
  out->out_lens = calloc((size_t)n, sizeof *out->out_lens);
  int **outs = out->outs, *out_lens = out->out_lens;
  lethe_status s = LETHE_OK;
  int cut = 0;
  if (!prompts || !lens || !outs || !out_lens) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  int room = c->max_seq_len - 1;
  for (int i = 0; i < n && !s; i++) {
    s = lethe_tokenizer_encode(tok, set->rows[i].input, set->rows[i].input_len, 1, &prompts[i], &lens[i]);
    if (s)
      lethe_fail_context(s, "%s:%d", set->path, set->rows[i].line);
    else if (lens[i] > room) { /* keep the end of a too-long prompt */
      memmove(prompts[i], prompts[i] + (lens[i] - room), sizeof(int) * (size_t)room);
      lens[i] = room;
      cut++;
    } else if (lens[i] == 0) {
      s = lethe_fail(LETHE_ERR_INVALID, "%s:%d: the input encodes to no token (the model needs a prompt)", set->path,
          set->rows[i].line);
    }
  }
  if (s) goto done;
  if (cut)
    say(o, "warning: %d %s prompts were longer than the model's context and were cut to their last %d tokens\n", cut,
        lethe_split_name(split), room);
  lethe_gen_opts g;
  lethe_gen_opts_default(&g);
  g.max_new = o->max_new;
  g.max_batch = o->batch;
  /* generation stops where transformers' would: generation_config.json's eos ids (e.g. Llama 3
   * instruct's end-of-turn), when the model directory has them */
  if (gc->n_eos) {
    g.stop_ids = gc->eos_ids;
    g.n_stop = gc->n_eos;
  }
  double t0 = lethe_now_s();
  long new_tokens = 0;
  int tty = o->progress && isatty(fileno(o->progress));
  const lethe_comm *cm = o->comm;
  int lo, hi; /* this rank's rows (all of them in one process) */
  lethe_eval_share(cm, lethe_comm_rank(cm), n, o->batch, &lo, &hi);
  char share[64] = "";
  if (lethe_comm_size(cm) > 1) snprintf(share, sizeof share, " of rank 0's share (%d ranks, %d rows)", cm->size, n);
  for (int first = lo; first < hi && !s; first += o->batch) {
    int k = hi - first < o->batch ? hi - first : o->batch;
    s = lethe_generate(
        m, lora, (const int *const *)prompts + first, lens + first, k, &g, outs + first, out_lens + first);
    for (int i = first; i < first + k && !s; i++) new_tokens += out_lens[i];
    if (tty || first + k >= hi)
      say(o, "%s%s: generated %d/%d rows%s (%.0f new tokens/s)%s", tty ? "\r" : "", lethe_split_name(split),
          first + k - lo, hi - lo, share, new_tokens / (lethe_now_s() - t0 + 1e-9), tty ? "" : "\n");
  }
  if (tty) say(o, "\n");
  if (!s) s = lethe_eval_gather_ids(cm, n, o->batch, outs, out_lens);
  /* for the answer NLLs (informational): input + output with the prompt masked */
  if (!s) s = lethe_tokset_build(tok, NULL, set, c->max_seq_len, -1, &out->d);
done:
  for (int i = 0; i < n; i++)
    if (prompts) free(prompts[i]);
  free(prompts);
  free(lens);
  if (s) split_gen_free(out);
  return s;
}

/* The split's rows with their generations and answer NLLs (from ts, the token statistics of this
 * rank's share [lo, ..) of g->d, gathered from every rank), appended to `rows`; its memorisation
 * means into atk. */
static lethe_status add_split(const lethe_eval_opts *o, const lethe_tokenizer *tok, const split_gen *g,
    const lethe_tok_stats *ts, int lo, lethe_eval_rows *rows, lethe_attack_results *atk) {
  const lethe_comm *cm = o->comm;
  int n = g->set->n;
  const lethe_tokset *d = &g->d;
  size_t dn = (size_t)(d->n ? d->n : 1);
  double *nll = malloc(sizeof(double) * (size_t)(n ? n : 1));
  double *per = malloc(sizeof(double) * dn), *em = malloc(sizeof(double) * dn), *es = malloc(sizeof(double) * dn);
  lethe_status s = nll && per && em && es ? LETHE_OK : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!s) lethe_seq_nll_mem(ts, per + lo, em + lo, es + lo);
  if (!s) s = lethe_eval_gather(cm, d->n, o->batch, per, sizeof *per);
  if (!s) s = lethe_eval_gather(cm, d->n, o->batch, em, sizeof *em);
  if (!s) s = lethe_eval_gather(cm, d->n, o->batch, es, sizeof *es);
  if (!s) {
    for (int i = 0; i < n; i++) nll[i] = NAN;
    for (int i = 0; i < d->n; i++) nll[d->row[i]] = per[i];
    lethe_attack_mem_means(atk, g->split, em, es, d->n);
  }
  for (int i = 0; i < n && !s; i++) {
    char *text = NULL;
    size_t len = 0;
    if ((s = lethe_tokenizer_decode(tok, g->outs[i], g->out_lens[i], 1, &text, &len))) break;
    const lethe_row *r = &g->set->rows[i];
    s = lethe_eval_rows_add(rows, r->id, r->task, g->split, r->output, r->output_len, text, len, nll[i]);
    free(text);
  }
  free(nll);
  free(per);
  free(em);
  free(es);
  return s;
}

/* Every attack's scores of the n documents from this rank's share, which starts at lo (part is
 * consumed; one process: moved). */
static lethe_status doc_scores_gather(
    const lethe_comm *cm, lethe_doc_scores *part, int n, int lo, int batch, lethe_doc_scores *sc) {
  if (lethe_comm_size(cm) <= 1) {
    *sc = *part;
    return LETHE_OK;
  }
  memset(sc, 0, sizeof *sc);
  sc->n = (size_t)n;
  lethe_status s = LETHE_OK;
  for (int a = 0; a < LETHE_ATK_COUNT && !s; a++) {
    if (!part->score[a]) continue;
    if (!(sc->score[a] = malloc(sizeof(double) * (size_t)(n ? n : 1)))) {
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      break;
    }
    memcpy(sc->score[a] + lo, part->score[a], sizeof(double) * part->n);
    s = lethe_eval_gather(cm, n, batch, sc->score[a], sizeof(double));
  }
  lethe_doc_scores_free(part);
  if (s) lethe_doc_scores_free(sc);
  return s;
}

/* A MIA file's documents, tokenised with every token scored. */
typedef struct {
  lethe_rowset docs;
  lethe_tokset d;
} mia_set;

static void mia_set_free(mia_set *ms) {
  lethe_tokset_free(&ms->d);
  lethe_rowset_free(&ms->docs);
}

static lethe_status mia_load(
    const lethe_eval_opts *o, lethe_model *m, const lethe_tokenizer *tok, const char *path, mia_set *ms) {
  memset(ms, 0, sizeof *ms);
  LETHE_TRY(lethe_docs_load(path, &ms->docs));
  lethe_status s = lethe_tokset_build(tok, NULL, &ms->docs, lethe_model_config(m)->max_seq_len, -1, &ms->d);
  if (!s && ms->d.n_skipped)
    s = lethe_fail(LETHE_ERR_INVALID, "%s: %d documents have fewer than two tokens", path, ms->d.n_skipped);
  if (!s && ms->d.n_truncated)
    say(o, "warning: %s: %d documents longer than the model's context were cut\n", path, ms->d.n_truncated);
  if (!s) {
    const char *what[] = {"documents"};
    double nd = ms->d.n;
    s = lethe_eval_same_inputs(o->comm, &nd, what, 1);
  }
  if (s) mia_set_free(ms);
  return s;
}

/* Every attack's score of each document (from ts, the statistics of this rank's share [lo, ..) of
 * ms->d, as view v; base_*: the Reference attack's adapter-off NLLs of the share, or NULL), gathered
 * into sc, and mo's rows; *out: their mean token NLLs (LOSS), malloc'ed. */
static lethe_status mia_scores(const lethe_eval_opts *o, const mia_set *ms, const lethe_tokset *v, int lo,
    const lethe_tok_stats *ts, const double *base_sum, const int *base_cnt, int member, double **out, size_t *n_out,
    lethe_doc_scores *sc, lethe_mia_out *mo) {
  *out = NULL;
  *n_out = 0;
  lethe_doc_scores part;
  LETHE_TRY(lethe_doc_scores_from(ts, v, &ms->docs, o->mink_k > 0 ? o->mink_k : 0.2, base_sum, base_cnt, &part));
  LETHE_TRY(doc_scores_gather(o->comm, &part, ms->d.n, lo, o->batch, sc));
  double *nll = malloc(sizeof(double) * (size_t)(ms->d.n ? ms->d.n : 1));
  if (!nll) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  for (int i = 0; i < ms->d.n; i++) nll[i] = sc->score[LETHE_ATK_LOSS][i];
  lethe_mia_out_add(mo, member, &ms->docs, &ms->d, sc);
  *out = nll;
  *n_out = (size_t)ms->d.n;
  return LETHE_OK;
}

/* Last token id of encode(text) without special tokens. */
static lethe_status choice_id(const lethe_tokenizer *tok, const char *text, int *id) {
  int *ids = NULL, n = 0;
  LETHE_TRY(lethe_tokenizer_encode(tok, text, strlen(text), 0, &ids, &n));
  if (n < 1) {
    free(ids);
    return lethe_fail(LETHE_ERR_INVALID, "MMLU choice '%s' encodes to no token", text);
  }
  *id = ids[n - 1];
  free(ids);
  return LETHE_OK;
}

/* MMLU as open-instruct's run_eval.py: k-shot prompts (k lowered while a prompt is longer than 2048
 * tokens; one still longer than the model's context keeps its end), the answer is the choice
 * whose token has the highest next-token logit (= probability), micro-averaged. Under data
 * parallelism every rank forms the same batches and runs batch b when b % size == rank; the
 * tallies (counts) are summed. */
static lethe_status run_mmlu(const lethe_eval_opts *o, lethe_model *m, const lethe_lora *lora,
    const lethe_tokenizer *tok, const lethe_mmlu_set *set, lethe_mmlu_tally *tally) {
  const lethe_config *c = lethe_model_config(m);
  int choices[4];
  const char *letters[4] = {" A", " B", " C", " D"};
  for (int i = 0; i < 4; i++) LETHE_TRY(choice_id(tok, letters[i], &choices[i]));
  int cap = c->max_seq_len < 4096 ? c->max_seq_len : 4096;
  int seq_cap = 16;
  lethe_workspace *ws = NULL;
  lethe_status s = lethe_workspace_create(m, lora, cap > seq_cap ? cap * 2 : seq_cap, seq_cap, 0, &ws);
  if (s) return s;
  int tok_cap = ws->max_tokens;
  int *tokens = malloc(sizeof(int) * (size_t)tok_cap), *start = malloc(sizeof(int) * (size_t)(seq_cap + 1));
  int *last = malloc(sizeof(int) * (size_t)seq_cap), *gold = malloc(sizeof(int) * (size_t)seq_cap);
  size_t *subj = malloc(sizeof(size_t) * (size_t)seq_cap);
  float *lg = malloc(sizeof(float) * (size_t)seq_cap * c->vocab_size);
  if (!tokens || !start || !last || !gold || !subj || !lg)
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory (MMLU batch of %d questions)", seq_cap);
  size_t total = 0, done_q = 0;
  for (size_t si = 0; si < set->n_subjects; si++) total += set->subjects[si].n_test;
  double t0 = lethe_now_s();
  int tty = o->progress && isatty(fileno(o->progress));
  int nb = 0, N = 0, W = lethe_comm_size(o->comm), me = lethe_comm_rank(o->comm);
  long bi = 0; /* batches formed so far */
  if (!s) start[0] = 0;
  for (size_t si = 0; si <= set->n_subjects && !s; si++) {
    size_t nq = si < set->n_subjects ? set->subjects[si].n_test : 1;
    for (size_t qi = 0; qi < nq && !s; qi++) {
      int *ids = NULL, n = 0;
      int flush = si == set->n_subjects;
      if (!flush) {
        const lethe_mmlu_subject *sub = &set->subjects[si];
        int k_used;
        s = lethe_mmlu_encode(tok, sub, qi, o->shots, LETHE_MMLU_TOKEN_LIMIT, &ids, &n, &k_used);
        if (!s && n > cap) { /* even zero-shot is too long: keep the end */
          memmove(ids, ids + (n - cap), sizeof(int) * (size_t)cap);
          n = cap;
        }
        if (s) {
          free(ids);
          break;
        }
        flush = nb == seq_cap || N + n > tok_cap;
      }
      if (flush && nb > 0 && bi++ % W != me) { /* another rank's batch */
        done_q += (size_t)nb;
        nb = 0;
        N = 0;
      } else if (flush && nb > 0) {
        lethe_batch b = {.n_seq = nb, .n_tokens = N, .tokens = tokens, .targets = NULL, .start = start};
        if ((s = lethe_forward(m, lora, ws, &b))) {
          free(ids);
          break;
        }
        if ((s = lethe_logits_rows(m, ws, last, nb, lg))) {
          free(ids);
          break;
        }
        for (int i = 0; i < nb; i++) {
          const float *z = lg + (size_t)i * c->vocab_size;
          int best = 0;
          for (int k = 1; k < 4; k++)
            if (z[choices[k]] > z[choices[best]]) best = k;
          lethe_mmlu_tally_add(tally, subj[i], best == gold[i]);
        }
        done_q += (size_t)nb;
        if (tty) say(o, "\rmmlu: %zu/%zu questions (%.1f/s)", done_q, total, done_q / (lethe_now_s() - t0 + 1e-9));
        nb = 0;
        N = 0;
      }
      if (si == set->n_subjects) break;
      memcpy(tokens + N, ids, sizeof(int) * (size_t)n);
      N += n;
      start[++nb] = N;
      last[nb - 1] = N - 1;
      gold[nb - 1] = set->subjects[si].test[qi].answer;
      subj[nb - 1] = si;
      free(ids);
    }
  }
  if (!s && W > 1) { /* every rank's answers */
    size_t ns = set->n_subjects;
    double *v = malloc(sizeof(double) * (2 * ns + 1));
    s = v ? LETHE_OK : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < ns && !s; i++) {
      v[i] = (double)tally->n_correct[i];
      v[ns + i] = (double)tally->n_total[i];
    }
    if (!s) s = lethe_comm_allreduce_f64(o->comm, v, 2 * ns);
    for (size_t i = 0; i < ns && !s; i++) {
      tally->n_correct[i] = (size_t)v[i];
      tally->n_total[i] = (size_t)v[ns + i];
    }
    free(v);
  }
  say(o, "%smmlu: %zu questions in %.0f s\n", tty ? "\r" : "", done_q, lethe_now_s() - t0);
  free(tokens);
  free(start);
  free(last);
  free(gold);
  free(subj);
  free(lg);
  lethe_workspace_free(ws);
  return s;
}

typedef struct {
  lethe_eval_results res;
  int has_res;
  lethe_attack_results atk;
} eval_out;

void lethe_eval_attacks_init(lethe_eval_attacks *x, double k) {
  memset(x, 0, sizeof *x);
  lethe_attack_results_init(&x->atk, k);
}

void lethe_eval_attacks_free(lethe_eval_attacks *x) {
  lethe_doc_scores_free(&x->mem);
  lethe_doc_scores_free(&x->non);
  lethe_mia_out_free(&x->mia);
}

lethe_status lethe_eval_scores(const lethe_eval_opts *o, lethe_model *m, const lethe_lora *lora,
    const lethe_tokenizer *tok, const lethe_rowset *forget, const lethe_rowset *retain, const lethe_mmlu_set *mmlu,
    lethe_eval_rows *rows, lethe_mmlu_tally *tally, lethe_eval_results *res, lethe_eval_attacks *x) {
  memset(rows, 0, sizeof *rows);
  memset(tally, 0, sizeof *tally);
  lethe_eval_attacks own;
  if (!x) lethe_eval_attacks_init(&own, o->mink_k > 0 ? o->mink_k : 0.2);
  lethe_eval_attacks *ax = x ? x : &own;
  double *mem = NULL, *non = NULL;
  size_t nm = 0, nn = 0;
  const char *what[] = {"forget rows", "retain rows", "MMLU subjects", "MMLU questions"};
  double have[4] = {forget ? forget->n : -1, retain ? retain->n : -1, mmlu ? (double)mmlu->n_subjects : -1, 0};
  for (size_t si = 0; mmlu && si < mmlu->n_subjects; si++) have[3] += (double)mmlu->subjects[si].n_test;
  lethe_status s = lethe_eval_same_inputs(o->comm, have, what, 4);
  split_gen g[2];
  mia_set ms[2];
  int ng = 0, nd = 0, mia_of[2] = {0, 0}; /* mia_of[j]: ms[j] are the members (1) or not (0) */
  lethe_tok_stats ts[4];
  int n_ts = 0;
  double *base_sum[2] = {NULL, NULL};
  int *base_cnt[2] = {NULL, NULL};
  /* generation_config.json: read once for the evaluation */
  lethe_gen_config gc;
  if (!s) s = lethe_gen_config_load(o->model, &gc);
  if (!s && forget && !(s = gen_split(o, m, lora, tok, &gc, forget, LETHE_SPLIT_FORGET, &g[ng]))) ng++;
  if (!s && retain && !(s = gen_split(o, m, lora, tok, &gc, retain, LETHE_SPLIT_RETAIN, &g[ng]))) ng++;
  if (!s && o->mia_members && !(s = mia_load(o, m, tok, o->mia_members, &ms[nd]))) mia_of[nd++] = 1;
  if (!s && o->mia_nonmembers && !(s = mia_load(o, m, tok, o->mia_nonmembers, &ms[nd]))) mia_of[nd++] = 0;
  /* one pass over the model for the answer NLLs of every split and the MIA documents' statistics,
   * each set this rank's share of it (lethe_seq_pass: each set's batches as its own pass would
   * make them, so the same numbers) */
  lethe_tokset views[4];
  memset(views, 0, sizeof views);
  const lethe_tokset *sets[4];
  int lo[4];
  for (int j = 0; j < ng + nd; j++) {
    const lethe_tokset *d = j < ng ? &g[j].d : &ms[j - ng].d;
    int hi;
    lethe_eval_share(o->comm, lethe_comm_rank(o->comm), d->n, o->batch, &lo[j], &hi);
    lethe_tokset_view(d, lo[j], hi, &views[j]);
    sets[j] = &views[j];
  }
  if (!s && ng + nd > 0 && !(s = lethe_tok_stats_compute_sets(m, lora, sets, ng + nd, o->batch, ts))) n_ts = ng + nd;
  /* the Reference attack's base-model pass (one, over both MIA sets) only where the attacks are
   * kept (lethe eval): the evaluations during training read the LOSS AUC alone */
  int ref = x != NULL && lora != NULL && nd > 0;
  for (int j = 0; j < nd && ref && !s; j++) {
    size_t n = (size_t)(views[ng + j].n ? views[ng + j].n : 1);
    base_sum[j] = malloc(sizeof(double) * n);
    base_cnt[j] = malloc(sizeof(int) * n);
    if (!base_sum[j] || !base_cnt[j]) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  if (!s && ref) s = lethe_seq_nll_sets(m, NULL, sets + ng, nd, o->batch, base_sum, base_cnt);
  for (int j = 0; j < ng && !s; j++) s = add_split(o, tok, &g[j], &ts[j], lo[j], rows, &ax->atk);
  for (int j = 0; j < nd && !s; j++) {
    const lethe_tokset *v = &views[ng + j];
    s = mia_of[j] ? mia_scores(o, &ms[j], v, lo[ng + j], &ts[ng + j], base_sum[j], base_cnt[j], 1, &mem, &nm, &ax->mem,
                        &ax->mia)
                  : mia_scores(o, &ms[j], v, lo[ng + j], &ts[ng + j], base_sum[j], base_cnt[j], 0, &non, &nn, &ax->non,
                        &ax->mia);
  }
  for (int j = 0; j < n_ts; j++) lethe_tok_stats_free(&ts[j]);
  for (int j = 0; j < ng; j++) split_gen_free(&g[j]);
  for (int j = 0; j < nd; j++) {
    mia_set_free(&ms[j]);
    free(base_sum[j]);
    free(base_cnt[j]);
  }
  if (!s && mem && non) s = lethe_attack_aucs(&ax->mem, &ax->non, &ax->atk);
  ax->has_mia = mem && non;
  double mmlu_acc = NAN;
  if (!s && mmlu) {
    s = lethe_mmlu_tally_init(tally, mmlu->n_subjects);
    if (!s) s = run_mmlu(o, m, lora, tok, mmlu, tally);
    if (!s) mmlu_acc = lethe_mmlu_micro_average(tally);
  }
  if (!s && rows->n == 0) s = lethe_fail(LETHE_ERR_INVALID, "nothing to score: give --forget and/or --retain rows");
  lethe_eval_mia_input mia = {mem, nm, non, nn};
  lethe_eval_compute_opts eo = {.literal_text = o->literal_text};
  if (!s) s = lethe_eval_compute(rows, &eo, (mem && non) ? &mia : NULL, mmlu ? &mmlu_acc : NULL, res);
  free(mem);
  free(non);
  if (!x) lethe_eval_attacks_free(&own);
  if (s) {
    lethe_mmlu_tally_free(tally);
    lethe_eval_rows_free(rows);
  }
  return s;
}

/* One full evaluation of (model, lora); writes its files into `dir`. */
static lethe_status evaluate(const lethe_eval_opts *o, lethe_model *m, const lethe_lora *lora,
    const lethe_tokenizer *tok, const lethe_rowset *forget, const lethe_rowset *retain, const lethe_mmlu_set *mmlu,
    const char *dir, const char *label, eval_out *out) {
  lethe_eval_rows rows;
  lethe_mmlu_tally tally;
  char *p = NULL;
  lethe_eval_attacks ax;
  lethe_eval_attacks_init(&ax, o->mink_k > 0 ? o->mink_k : 0.2);
  memset(&rows, 0, sizeof rows);
  memset(&tally, 0, sizeof tally);
  say(o, "== evaluating %s\n", label);
  /* all or nothing: a previous result goes first, and evaluation_results.json is written last, only
   * when every other output was; under data parallelism every rank scores, rank 0 writes */
  int rank0 = lethe_comm_rank(o->comm) == 0;
  lethe_status s = rank0 ? lethe_out_dir_prepare(dir, "eval") : LETHE_OK;
  p = rank0 ? lethe_path_join(dir, "evaluation_results.json") : NULL;
  if (!s && p) unlink(p);
  free(p);
  p = NULL;
  if (!s) s = lethe_eval_scores(o, m, lora, tok, forget, retain, mmlu, &rows, &tally, &out->res, &ax);
  if (s) goto done;
  out->atk = ax.atk;
  out->has_res = 1;
  if (!rank0) goto done;
  if (mmlu) {
    p = lethe_path_join(dir, "mmlu_metrics.json");
    s = lethe_mmlu_write_metrics(mmlu, &tally, p);
    free(p);
    p = NULL;
    if (!s && o->progress) lethe_mmlu_print_table(o->progress, mmlu, &tally);
  }
  if (s) goto done;
  if (out->res.n_unclassified)
    say(o, "warning: %zu rows have ids that are neither sc nor qa; they are not scored\n", out->res.n_unclassified);
  p = lethe_path_join(dir, "rows.jsonl");
  s = lethe_eval_rows_write_jsonl(&rows, p);
  free(p);
  p = lethe_path_join(dir, "mia_attacks.json");
  if (!s) s = lethe_attack_results_write_json(&out->atk, p);
  free(p);
  p = lethe_path_join(dir, "mia.jsonl");
  if (!s && ax.has_mia) s = lethe_sbuf_write_file(&ax.mia.jsonl, p);
  if (!s && o->layout_official) s = lethe_eval_write_official(dir, &rows, forget, retain, &out->res, &ax.mia);
  free(p);
  p = lethe_path_join(dir, "evaluation_results.json");
  if (!s) s = lethe_eval_results_write_json(&out->res, p);
done:
  lethe_eval_attacks_free(&ax);
  free(p);
  lethe_mmlu_tally_free(&tally);
  lethe_eval_rows_free(&rows);
  return s;
}

lethe_status lethe_eval_run(const lethe_eval_opts *o_in) {
  /* under data parallelism only rank 0 prints (and writes) */
  int rank0 = lethe_comm_rank(o_in->comm) == 0;
  lethe_eval_opts oq = *o_in;
  if (!rank0) oq.progress = oq.table = NULL;
  const lethe_eval_opts *o = &oq;
  if (!o->model) return lethe_fail(LETHE_ERR_INVALID, "no model given");
  if (!o->out) return lethe_fail(LETHE_ERR_INVALID, "no output directory given");
  if (!o->forget && !o->retain) return lethe_fail(LETHE_ERR_INVALID, "give --forget and/or --retain rows to evaluate");
  if ((o->mia_members == NULL) != (o->mia_nonmembers == NULL))
    return lethe_fail(LETHE_ERR_INVALID, "MIA needs both --mia-members and --mia-nonmembers");
  if (o->compare && !o->adapter) return lethe_fail(LETHE_ERR_INVALID, "--compare needs an --adapter");
  if (o->max_new < 1 || o->batch < 1 || o->shots < 0)
    return lethe_fail(LETHE_ERR_INVALID, "max-new and batch must be >= 1, shots >= 0");
  lethe_model *m = NULL;
  lethe_lora *lora = NULL;
  lethe_tokenizer *tok = NULL;
  lethe_rowset forget, retain;
  memset(&forget, 0, sizeof forget);
  memset(&retain, 0, sizeof retain);
  lethe_mmlu_set mmlu;
  memset(&mmlu, 0, sizeof mmlu);
  int has_mmlu = 0;
  eval_out base, after;
  memset(&base, 0, sizeof base);
  memset(&after, 0, sizeof after);
  char *base_dir = NULL;
  lethe_status s = lethe_model_load(o->model, &m);
  if (!s && o->device) s = lethe_model_to_device(m, o->device);
  if (!s && o->dtype) s = lethe_model_set_dtype(m, o->dtype);
  if (!s) s = lethe_model_tokenizer(o->model, o->tokenizer, &tok);
  if (!s && o->adapter) s = lethe_lora_load(o->adapter, m, &lora);
  if (!s && lora) s = lethe_lora_to_device(lora, m);
  if (!s && o->forget) s = lethe_rows_load(o->forget, &forget);
  if (!s && o->retain) s = lethe_rows_load(o->retain, &retain);
  if (!s && o->mmlu_dir) {
    lethe_mmlu_opts mo = {.limit = (size_t)(o->mmlu_limit > 0 ? o->mmlu_limit : 0), .literal_text = o->literal_text};
    s = lethe_mmlu_load(o->mmlu_dir, &mo, &mmlu);
    has_mmlu = !s;
  }
  if (!s && rank0) s = lethe_out_dir_prepare(o->out, "eval"); /* before OUT/base is made inside it */
  if (s) goto done;
  if (o->compare) {
    base_dir = lethe_path_join(o->out, "base");
    s = evaluate(o, m, NULL, tok, o->forget ? &forget : NULL, o->retain ? &retain : NULL, has_mmlu ? &mmlu : NULL,
        base_dir, "the base model", &base);
    if (s) goto done;
  }
  s = evaluate(o, m, lora, tok, o->forget ? &forget : NULL, o->retain ? &retain : NULL, has_mmlu ? &mmlu : NULL, o->out,
      lora ? "the model with the adapter" : "the model", &after);
  if (s) goto done;
  if (o->table) lethe_eval_print_table(o->table, base.has_res ? &base.res : NULL, &after.res);
  if (o->table) lethe_attack_print(o->table, base.has_res ? &base.atk : NULL, &after.atk);
  if (rank0 && after.res.has_mmlu && after.res.has_mia && after.res.mmlu < 0.371)
    lethe_eval_print_mmlu_warning(o->table ? o->table : stdout);
done:
  if (base.has_res) lethe_eval_results_free(&base.res);
  if (after.has_res) lethe_eval_results_free(&after.res);
  free(base_dir);
  if (has_mmlu) lethe_mmlu_free(&mmlu);
  lethe_rowset_free(&forget);
  lethe_rowset_free(&retain);
  lethe_tokenizer_free(tok);
  lethe_lora_free(lora);
  lethe_model_free(m);
  return s;
}
