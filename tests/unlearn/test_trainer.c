/* tests/unlearn/test_trainer.c: the trainer's own guarantees on the tiny OLMo fixture model:
 * the reference cache is exact (a run with cached r_t equals a run that recomputes r_t every
 * step, to fp32 rounding: the two differ only in how rows are batched), a checkpoint saved mid-run
 * and loaded into a fresh trainer continues to the very same weights bit for bit, accumulating K
 * micro-batches with weight 1/K gives the mean of their gradients, a non-finite loss stops a step
 * without touching the weights, and the schedules follow transformers' formulas. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "testutil.h"
#include "unlearn/trainer.h"
#include "util/fileio.h"
#include "util/rng.h"

static lethe_model *load_model(void) {
  char *mp = tu_src_path("tests/fixtures/models/olmo_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(mp, &m), LETHE_OK);
  free(mp);
  return m;
}

/* 12 random sequences (6 forget, 6 retain) of 5..12 tokens with prompts of 1..4 tokens. */
static void make_data(lethe_tokset *d, int vocab) {
  memset(d, 0, sizeof *d);
  lethe_rng r;
  lethe_rng_seed(&r, 77);
  d->n = 12;
  d->offset = malloc(sizeof(int) * 13);
  d->tokens = malloc(sizeof(int) * 12 * 12);
  d->n_prompt = malloc(sizeof(int) * 12);
  d->split = malloc(12);
  d->row = calloc(12, sizeof(int));
  d->offset[0] = 0;
  for (int i = 0; i < 12; i++) {
    int len = 5 + (int)lethe_rng_below(&r, 8);
    for (int k = 0; k < len; k++) d->tokens[d->offset[i] + k] = 3 + (int)lethe_rng_below(&r, (uint64_t)vocab - 3);
    d->offset[i + 1] = d->offset[i] + len;
    d->n_prompt[i] = 1 + (int)lethe_rng_below(&r, 4);
    d->split[i] = (unsigned char)(i % 2);
    d->max_len = len > d->max_len ? len : d->max_len;
    d->n_answer_tokens += lethe_tokset_answer_count(d, i);
  }
}

static lethe_trainer_cfg npo_cfg(void) {
  lethe_trainer_cfg c;
  memset(&c, 0, sizeof c);
  c.obj.forget = LETHE_FORGET_NPO;
  c.obj.beta = 0.5;
  c.obj.w_forget = 1;
  c.obj.w_retain = 1;
  c.obj.w_kl = 0.5;
  c.batch = 4;
  c.grad_accum = 1;
  c.epochs = 2;
  c.lr = 3e-3;
  c.beta1 = 0.9;
  c.beta2 = 0.999;
  c.eps = 1e-8;
  c.seed = 5;
  return c;
}

static lethe_lora *make_lora(const lethe_model *m) {
  lethe_lora_config lc = {.rank = 5, .alpha = 5, .targets = (1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V)};
  lethe_lora *l;
  assert_int_equal(lethe_lora_create(&m->cfg, &lc, 9, &l), LETHE_OK);
  return l;
}

/* Runs every step; returns the losses (malloc'ed, one per step) and leaves the weights in lora. */
static double *run_all(lethe_trainer *t, int *n) {
  double *loss = malloc(sizeof(double) * (size_t)t->total_steps);
  int finished = 0;
  *n = 0;
  while (!finished) {
    lethe_step_stats st;
    assert_int_equal(lethe_trainer_next(t, &st, &finished), LETHE_OK);
    loss[(*n)++] = st.loss.total;
  }
  return loss;
}

static void test_reference_cache_is_exact(void **state) {
  (void)state;
  lethe_model *m = load_model();
  lethe_tokset d;
  make_data(&d, m->cfg.vocab_size);
  lethe_trainer_cfg c = npo_cfg();
  lethe_lora *a = make_lora(m), *b = make_lora(m);
  lethe_trainer *ta, *tb;
  assert_int_equal(lethe_trainer_create(m, a, &d, &c, &ta), LETHE_OK);
  assert_non_null(ta->ref_cache);
  c.no_ref_cache = 1;
  assert_int_equal(lethe_trainer_create(m, b, &d, &c, &tb), LETHE_OK);
  assert_null(tb->ref_cache);
  int na, nb;
  double *la = run_all(ta, &na), *lb = run_all(tb, &nb);
  assert_int_equal(na, nb);
  assert_int_equal(na, 6);
  for (int i = 0; i < na; i++) {
    print_message("step %d: loss with cache %.9f, recomputed %.9f\n", i + 1, la[i], lb[i]);
    assert_true(fabs(la[i] - lb[i]) <= 1e-6 * fabs(lb[i]));
  }
  double e = tu_rel_err(a->params, b->params, a->n_params);
  print_message("adapter after %d steps: relative difference %.3e\n", na, e);
  assert_true(e <= 1e-6);
  /* The adapter moved: the comparison is not of two untouched adapters. */
  lethe_lora *fresh = make_lora(m);
  assert_true(tu_rel_err(a->params, fresh->params, a->n_params) > 1e-3);
  lethe_lora_free(fresh);
  free(la);
  free(lb);
  lethe_trainer_free(ta);
  lethe_trainer_free(tb);
  lethe_lora_free(a);
  lethe_lora_free(b);
  lethe_tokset_free(&d);
  lethe_model_free(m);
}

static void test_checkpoint_resume_is_exact(void **state) {
  (void)state;
  lethe_model *m = load_model();
  lethe_tokset d;
  make_data(&d, m->cfg.vocab_size);
  lethe_trainer_cfg c = npo_cfg();
  c.epochs = 3;
  c.schedule = LETHE_SCHED_COSINE;
  c.warmup_steps = 2;
  c.adamw = 1;
  c.weight_decay = 0.01;
  char *dir = tu_fresh_dir("ckpt");
  /* Uninterrupted. */
  lethe_lora *a = make_lora(m);
  lethe_trainer *ta;
  assert_int_equal(lethe_trainer_create(m, a, &d, &c, &ta), LETHE_OK);
  int n;
  free(run_all(ta, &n));
  /* Four steps, checkpoint, a fresh trainer loads it and finishes. */
  lethe_lora *b = make_lora(m);
  lethe_trainer *tb;
  assert_int_equal(lethe_trainer_create(m, b, &d, &c, &tb), LETHE_OK);
  for (int i = 0; i < 4; i++) {
    lethe_step_stats st;
    int fin;
    assert_int_equal(lethe_trainer_next(tb, &st, &fin), LETHE_OK);
  }
  assert_int_equal(lethe_checkpoint_save(tb, dir, "{\"k\": 1}", 1.5), LETHE_OK);
  lethe_trainer_free(tb);
  lethe_lora_free(b);
  lethe_lora *c2 = make_lora(m);
  lethe_trainer *tc;
  assert_int_equal(lethe_trainer_create(m, c2, &d, &c, &tc), LETHE_OK);
  /* A changed option is refused with a message naming it. */
  assert_int_equal(lethe_checkpoint_load(tc, dir, "{\"k\": 2}", NULL), LETHE_ERR_INVALID);
  assert_non_null(strstr(lethe_last_error(), "option k"));
  double el = 0;
  assert_int_equal(lethe_checkpoint_load(tc, dir, "{\"k\": 1}", &el), LETHE_OK);
  assert_true(el == 1.5);
  assert_int_equal((int)tc->step, 4);
  free(run_all(tc, &n));
  assert_int_equal((int)tc->step, (int)ta->step);
  assert_memory_equal(a->params, c2->params, sizeof(float) * a->n_params);
  print_message(
      "resumed run equals the uninterrupted one bit for bit (%zu parameters, %d steps)\n", a->n_params, (int)ta->step);
  lethe_trainer_free(ta);
  lethe_trainer_free(tc);
  lethe_lora_free(a);
  lethe_lora_free(c2);
  lethe_remove_tree(dir);
  free(dir);
  lethe_tokset_free(&d);
  lethe_model_free(m);
}

static void test_grad_accumulation(void **state) {
  (void)state;
  lethe_model *m = load_model();
  lethe_tokset d;
  make_data(&d, m->cfg.vocab_size);
  /* Two micro-batches accumulated with weight 1/2 against the mean of their separate gradients. */
  lethe_trainer_cfg c = npo_cfg();
  lethe_lora *a = make_lora(m);
  for (size_t i = 0; i < a->n_params; i++) a->params[i] += 0.01f * (float)((i * 7919) % 13) / 13.0f;
  lethe_trainer *t;
  c.grad_accum = 2;
  assert_int_equal(lethe_trainer_create(m, a, &d, &c, &t), LETHE_OK);
  int idx1[4] = {0, 1, 2, 3}, idx2[4] = {4, 5, 6, 7};
  lethe_loss_terms l;
  float *g1 = malloc(sizeof(float) * a->n_params), *g2 = malloc(sizeof(float) * a->n_params);
  assert_int_equal(lethe_trainer_micro(t, idx1, 4, 1.0f, &l), LETHE_OK);
  memcpy(g1, a->grads, sizeof(float) * a->n_params);
  memset(a->grads, 0, sizeof(float) * a->n_params);
  assert_int_equal(lethe_trainer_micro(t, idx2, 4, 1.0f, &l), LETHE_OK);
  memcpy(g2, a->grads, sizeof(float) * a->n_params);
  memset(a->grads, 0, sizeof(float) * a->n_params);
  assert_int_equal(lethe_trainer_micro(t, idx1, 4, 0.5f, &l), LETHE_OK);
  assert_int_equal(lethe_trainer_micro(t, idx2, 4, 0.5f, &l), LETHE_OK);
  for (size_t i = 0; i < a->n_params; i++) g1[i] = 0.5f * (g1[i] + g2[i]);
  tu_assert_close("accumulated gradient", a->grads, g1, a->n_params, 1e-6);
  free(g1);
  free(g2);
  lethe_trainer_free(t);
  lethe_lora_free(a);
  lethe_tokset_free(&d);
  lethe_model_free(m);
}

static void test_nan_stops_without_update(void **state) {
  (void)state;
  lethe_model *m = load_model();
  lethe_tokset d;
  make_data(&d, m->cfg.vocab_size);
  lethe_trainer_cfg c = npo_cfg();
  lethe_lora *a = make_lora(m);
  lethe_trainer *t;
  assert_int_equal(lethe_trainer_create(m, a, &d, &c, &t), LETHE_OK);
  /* Poison one weight of the base model: every loss becomes NaN. */
  float keep = m->layers[0].wqkv[0];
  m->layers[0].wqkv[0] = NAN;
  float *before = malloc(sizeof(float) * a->n_params);
  memcpy(before, a->params, sizeof(float) * a->n_params);
  lethe_step_stats st;
  int fin;
  assert_int_equal(lethe_trainer_next(t, &st, &fin), LETHE_ERR_NUMERIC);
  assert_non_null(strstr(lethe_last_error(), "not finite"));
  assert_memory_equal(before, a->params, sizeof(float) * a->n_params);
  assert_int_equal((int)t->step, 0);
  m->layers[0].wqkv[0] = keep;
  free(before);
  lethe_trainer_free(t);
  lethe_lora_free(a);
  lethe_tokset_free(&d);
  lethe_model_free(m);
}

static void test_schedules(void **state) {
  (void)state;
  lethe_trainer t;
  memset(&t, 0, sizeof t);
  t.cfg.lr = 1.0;
  t.total_steps = 10;
  t.cfg.warmup_steps = 2;
  t.cfg.schedule = LETHE_SCHED_LINEAR;
  /* transformers' get_linear_schedule_with_warmup: 0, 0.5, then (10 - s) / 8 */
  assert_true(fabs(lethe_trainer_lr(&t, 0) - 0.0) < 1e-12);
  assert_true(fabs(lethe_trainer_lr(&t, 1) - 0.5) < 1e-12);
  assert_true(fabs(lethe_trainer_lr(&t, 2) - 1.0) < 1e-12);
  assert_true(fabs(lethe_trainer_lr(&t, 6) - 0.5) < 1e-12);
  t.cfg.schedule = LETHE_SCHED_COSINE;
  /* get_cosine_schedule_with_warmup: 0.5 (1 + cos(pi (s - 2) / 8)) */
  assert_true(fabs(lethe_trainer_lr(&t, 6) - 0.5) < 1e-12);
  assert_true(fabs(lethe_trainer_lr(&t, 4) - 0.5 * (1 + cos(M_PI * 0.25))) < 1e-12);
  t.cfg.schedule = LETHE_SCHED_CONSTANT;
  assert_true(fabs(lethe_trainer_lr(&t, 7) - 1.0) < 1e-12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_cache_is_exact),
      cmocka_unit_test(test_checkpoint_resume_is_exact),
      cmocka_unit_test(test_grad_accumulation),
      cmocka_unit_test(test_nan_stops_without_update),
      cmocka_unit_test(test_schedules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
