/* unlearn/run_steps.c: the step loop of a run (lethe_run_steps, see run.h): one trainer step at a
 * time, its train_log.jsonl line and progress line, the evaluation points and early stop, the
 * checkpoints, and stopping on the caller's stop flag (after a checkpoint) or on a NaN. */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "eval/train_log.h"
#include "unlearn/run.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/say.h"

static void fmt_time(double s, char *buf, size_t n) {
  if (!isfinite(s) || s < 0) s = 0;
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(buf, n, "%lds", t);
}

/* Data parallelism: has any rank been asked to stop (a signal reaches ranks at different steps)? */
static lethe_status agree_stop(const lethe_comm *c, int *stop) {
  if (lethe_comm_size(c) <= 1) return LETHE_OK;
  double v = *stop;
  LETHE_TRY(lethe_comm_allreduce_f64(c, &v, 1));
  *stop = v > 0;
  return LETHE_OK;
}

#define say(o, ...) lethe_say((o)->progress, __VA_ARGS__)

/* The caller's stop flag (the CLI's SIGINT/SIGTERM trap sets it) is up. */
static int stop_asked(const lethe_train_opts *o) { return o->stop && *o->stop; }

lethe_status lethe_run_steps(lethe_run_state *r) {
  const lethe_train_opts *o = &r->o;
  const int rank0 = r->rank0;
  const double elapsed0 = r->elapsed0;
  lethe_status s = LETHE_OK;
  int tty = o->progress && isatty(fileno(o->progress));
  double train_t0 = lethe_now_s(), last_ckpt = lethe_now_s();
  int64_t step0 = r->tr->step;
  int finished = r->tr->step >= r->tr->total_steps;
  long report_every = r->tr->total_steps > 200 ? r->tr->total_steps / 100 : 1;
  int early_stopped = 0;
  double eval_s0 = 0;
  if (r->ev.on && !r->resumed) { /* the starting point, before the first step */
    double te = lethe_now_s();
    int stop = 0;
    s = lethe_run_eval_now(&r->ev, r->tr, r->tok, o->progress, &stop);
    eval_s0 = lethe_now_s() - te;
    train_t0 += eval_s0;
  }
  while (!finished && !s) {
    double ts = lethe_now_s();
    lethe_step_stats st;
    s = lethe_trainer_next(r->tr, &st, &finished);
    if (s) {
      if (s == LETHE_ERR_NUMERIC) {
        char *ck = lethe_path_join(o->out, "checkpoint");
        if (ck && lethe_is_dir(ck))
          lethe_fail_context(s, "training stopped; the last good checkpoint is kept in %s", ck);
        else
          lethe_fail_context(s, "training stopped before any checkpoint was written");
        free(ck);
      }
      break;
    }
    double dt = lethe_now_s() - ts, el = lethe_now_s() - train_t0;
    double eta = (double)(r->tr->total_steps - r->tr->step) * el / (double)(r->tr->step - step0);
    /* A term with no rows in the step is logged as null (it is 0 in the loss). */
    if (r->log) {
      const lethe_train_log_rec rec = {.step = r->tr->step,
          .epoch = r->tr->step_in_epoch == 0 ? r->tr->epoch : r->tr->epoch + 1,
          .loss = st.loss.total,
          .forget = st.loss.n_forget > 0 ? st.loss.forget : NAN,
          .retain = st.loss.n_retain > 0 ? st.loss.retain : NAN,
          .kl = st.loss.n_retain > 0 && o->obj.w_kl != 0 ? st.loss.kl : NAN,
          .grad_norm = st.grad_norm,
          .lr = st.lr,
          .tokens = st.tokens,
          .tokens_per_s = st.tokens / (dt > 0 ? dt : 1e-9),
          .elapsed_s = elapsed0 + el};
      if ((s = lethe_train_log_write(r->log, r->log_path, &rec))) break;
    }
    if (o->progress && (tty || finished || r->tr->step % report_every == 0)) {
      char etab[32];
      fmt_time(eta, etab, sizeof etab);
      int ep = r->tr->step_in_epoch == 0 ? r->tr->epoch : r->tr->epoch + 1;
      fprintf(o->progress, "%sepoch %d/%d step %lld/%lld | loss %.4f", tty ? "\r" : "", ep, o->epochs,
          (long long)r->tr->step, (long long)r->tr->total_steps, st.loss.total);
      if (o->forget)
        fprintf(o->progress, " (forget %.4f retain %.4f kl %.4f)", st.loss.forget, st.loss.retain, st.loss.kl);
      fprintf(o->progress, " | |g| %.3g | %.0f tok/s | ETA %s%s", st.grad_norm, st.tokens / (dt > 0 ? dt : 1e-9), etab,
          tty ? "   " : "\n");
      fflush(o->progress);
    }
    if (lethe_run_eval_due(&r->ev, r->tr, finished)) {
      int stop = 0;
      if ((s = lethe_run_eval_now(&r->ev, r->tr, r->tok, o->progress, &stop))) break;
      if (stop && !finished) {
        say(o, "early stop: %d evaluations without improvement (best: epoch %.4g, step %lld)\n", r->ev.since_best,
            r->ev.best.epoch, (long long)r->ev.best.step);
        early_stopped = finished = 1;
      }
    }
    int stop_now = stop_asked(o);
    if ((s = agree_stop(o->comm, &stop_now))) break;
    int want_ckpt =
        rank0 && ((o->checkpoint_steps > 0 && r->tr->step % o->checkpoint_steps == 0) ||
                     (o->checkpoint_minutes > 0 && lethe_now_s() - last_ckpt >= o->checkpoint_minutes * 60.0) ||
                     (stop_now && !finished));
    if (want_ckpt && !finished) {
      /* the selection's state first: a crash before the checkpoint is in place leaves the old one's */
      if ((s = lethe_run_eval_save(&r->ev, o->out, r->tr->step))) break;
      if ((s = lethe_checkpoint_save(r->tr, o->out, r->fp, elapsed0 + lethe_now_s() - train_t0))) break;
      if (r->ev.on) lethe_run_eval_prune(o->out, r->tr->step);
      last_ckpt = lethe_now_s();
    }
    if (stop_now && !finished) {
      s = lethe_fail(LETHE_ERR_INTERRUPTED, "interrupted at step %lld; checkpoint saved; continue with --resume %s",
          (long long)r->tr->step, o->out);
      break;
    }
  }
  if (tty) fputc('\n', o->progress);
  if (s) return s;
  r->train_s = lethe_now_s() - train_t0 - r->ev.seconds + eval_s0;
  r->early_stopped = early_stopped;
  return LETHE_OK;
}
