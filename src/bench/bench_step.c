/* bench/bench_step.c: `lethe bench step` and `lethe bench gemm`. The step is the paper's Low-Rank
 * NPO step (NPO + retain NLL + gold-token KL, LoRA r 5 on q,v, Adam) on a random model of a given
 * shape and one fixed random batch; its FLOPs are counted as bench/FLOPS.md writes them down. */
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/profile_ops.h"
#include "kernels/attn_gemm.h"
#include "lethe/bench.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "unlearn/trainer.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"

/* Useful FLOPs of one step (bench/FLOPS.md): B sequences of T tokens, A answer rows. */
static double step_flops(
    const lethe_config *c, int B, int T, int A, int r, unsigned targets, double part[LETHE_PART_N]) {
  double N = (double)B * T, d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim, L = c->n_layers;
  double V = c->vocab_size, hd = c->head_dim, H = c->n_heads;
  double linear = 2 * N * L * (d * (q + 2 * kv) + q * d + 3 * d * F); /* forward; backward dX costs the same */
  double causal = (double)T * (T + 1) / 2;
  double attn = L * B * H * 2 * hd * causal; /* one of QK^T, PV, dP, dQ, dK, dV */
  const double in[LETHE_NPROJ] = {d, d, d, q, d, d, F}, out[LETHE_NPROJ] = {q, kv, kv, d, F, F, d};
  double lora = 0;
  for (int p = 0; p < LETHE_NPROJ; p++)
    if (targets & (1u << p)) lora += 2 * N * L * (in[p] * r + r * out[p]); /* forward: x A^T, u B^T */
  double head = 2.0 * A * d * V;
  /* forward: linear + 2 attn + lora + head; backward: linear (dX) + 5 attn (S, dP, dQ, dK, dV) +
   * 2 lora (dB, du, dA, dx) + head (dX = G W) */
  if (part) {
    for (int i = 0; i < LETHE_PART_N; i++) part[i] = 0;
    part[LETHE_PART_GEMM] = 2 * linear;
    part[LETHE_PART_ATTN] = 7 * attn;
    part[LETHE_PART_LORA] = 3 * lora;
    part[LETHE_PART_CLASSIFIER] = 2 * head;
  }
  return 2 * linear + 7 * attn + 3 * lora + 2 * head;
}

static lethe_status write_batch(const char *path, const lethe_tokset *d) {
  json_t *seqs = json_array();
  for (int i = 0; i < d->n; i++) {
    json_t *t = json_array();
    for (int k = d->offset[i]; k < d->offset[i + 1]; k++) json_array_append_new(t, json_integer(d->tokens[k]));
    json_array_append_new(seqs, json_pack("{s:o, s:i, s:s}", "tokens", t, "n_prompt", d->n_prompt[i], "split",
                                    d->split[i] == LETHE_SPLIT_FORGET ? "forget" : "retain"));
  }
  json_t *root = json_pack("{s:o, s:f, s:f, s:f, s:f, s:f, s:i, s:f}", "sequences", seqs, "beta", 0.5, "w_forget", 1.0,
      "w_retain", 1.0, "w_kl", 0.5, "lr", 1e-4, "rank", 5, "alpha", 5.0);
  char *text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  lethe_status s = lethe_write_file_atomic(path, text, strlen(text));
  free(text);
  return s;
}

/* A random model of config c (weights N(0, 0.02^2), norms 1), drawn in parallel: chunks of 2^20
 * values each from a stream seeded by (seed, tensor, chunk), so a 7B shape takes seconds and the
 * model does not depend on the thread count. (lethe_model_create draws one sequential stream.) */
static lethe_status random_model(const lethe_config *c, uint64_t seed, lethe_model **out) {
  LETHE_TRY(lethe_model_alloc(c, out));
  lethe_model *m = *out;
  enum { CHUNK = 1 << 20 };
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    float *p = m->params + t->offset;
    int is_norm = strstr(t->name, "norm.weight") != NULL;
    long chunks = (long)((t->numel + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(dynamic, 1)
    for (long k = 0; k < chunks; k++) {
      size_t lo = (size_t)k * CHUNK, hi = lo + CHUNK < t->numel ? lo + CHUNK : t->numel;
      lethe_rng r;
      lethe_rng_seed(
          &r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)) ^ (0xBF58476D1CE4E5B9ull * (uint64_t)(k + 1)));
      for (size_t j = lo; j < hi; j++) p[j] = is_norm ? 1.0f : (float)(0.02 * lethe_rng_normal(&r));
    }
  }
  return LETHE_OK;
}

/* The adapter of the benchmark: the paper's r 5, alpha 5 on q and v, xavier-normal A. */
static const lethe_lora_config BENCH_LORA = {
    .rank = 5, .alpha = 5, .targets = (1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V), .init = LETHE_LORA_INIT_XAVIER};

lethe_status lethe_bench_plan(const lethe_bench_step_opts *o, lethe_bench_plan_result *r) {
  memset(r, 0, sizeof *r);
  if (o->batch < 1 || o->seq < 2) return lethe_fail(LETHE_ERR_INVALID, "the plan needs batch >= 1, seq >= 2");
  lethe_config c;
  LETHE_TRY(lethe_config_load(o->config, &c));
  if (o->seq > c.max_seq_len)
    return lethe_fail(LETHE_ERR_INVALID, "seq %d exceeds the model's context %d", o->seq, c.max_seq_len);
  char name[32] = "cpu";
  int bf16 = 0;
  if (o->device) LETHE_TRY(lethe_device_parse(o->device, name, &bf16));
  size_t total, proj;
  LETHE_TRY(lethe_config_count_params(&c, &total, &proj));
  lethe_lora *lora;
  LETHE_TRY(lethe_lora_create(&c, &BENCH_LORA, 1, &lora));
  int B = o->batch, T = o->seq, N = B * T;
  lethe_objective obj;
  if (!lethe_objective_preset(o->method ? o->method : "npo", &obj)) {
    lethe_lora_free(lora);
    return lethe_fail(LETHE_ERR_INVALID, "--method '%s': not a method of lethe unlearn --help", o->method);
  }
  r->n_params = total;
  r->weights_bf16 = bf16;
  r->recompute = o->recompute;
  /* the CPU (bf16 classifier) stores the head, or the tied embedding, in bf16 as well */
  if (bf16 && !strcmp(name, "cpu")) proj += (size_t)c.vocab_size * c.dim;
  r->weights = bf16 ? proj * sizeof(uint16_t) + (total - proj) * sizeof(float) : total * sizeof(float);
  size_t trained = lora->n_params;
  if (o->train_layers) { /* full parameters of a subset: no adapter; the selected tensors train */
    int lo, hi;
    unsigned mods = lethe_train_modules_parse(o->train_modules);
    lethe_status s =
        mods ? lethe_train_layers_parse(o->train_layers, c.n_layers, &lo, &hi)
             : lethe_fail(LETHE_ERR_INVALID, "--train-modules '%s': expected mlp, attn or all", o->train_modules);
    if (!s) s = lethe_config_count_selected(&c, lo, hi, mods, &trained);
    if (s) {
      lethe_lora_free(lora);
      return s;
    }
    if (bf16) {
      lethe_lora_free(lora);
      return lethe_fail(LETHE_ERR_INVALID, "full-parameter training needs fp32 weights (use --device cuda:fp32)");
    }
  }
  const lethe_lora *plan_lora = o->train_layers ? NULL : lora;
  r->activations = lethe_workspace_plan(&c, plan_lora, N, o->recompute ? LETHE_WS_RECOMPUTE : LETHE_WS_TRAIN) +
                   (lethe_obj_needs_ref_hidden(&obj) ? lethe_workspace_plan(&c, NULL, N, LETHE_WS_INFER) : 0);
  r->adapter = trained * sizeof(float) * 4;
  if (o->train_layers && lethe_obj_needs_ref_hidden(&obj)) r->frozen = trained * sizeof(float);
  int rope = c.max_seq_len < LETHE_ROPE_INITIAL ? c.max_seq_len : LETHE_ROPE_INITIAL,
      max_pos = N < c.max_seq_len ? N : c.max_seq_len;
  if (max_pos > rope) rope = max_pos;
  r->other = (size_t)B * (T - T / 4) * sizeof(float) + (size_t)rope * c.head_dim * sizeof(float);
  if (!strcmp(name, "cuda")) {
    /* the CUDA backend's own scratch: attention scores (cuda_attn_gemm.cu) and the bf16 copy of a
     * GEMM's activation operand */
    r->other += sizeof(float) * lethe_attn_gemm_reserve(max_pos, c.n_kv_heads);
    if (bf16) r->other += sizeof(uint16_t) * lethe_workspace_bf16_operand(&c, N);
  }
  r->total = r->weights + r->activations + r->adapter + r->frozen + r->other;
  lethe_lora_free(lora);
  return LETHE_OK;
}

lethe_status lethe_bench_step(const lethe_bench_step_opts *o, lethe_bench_step_result *r) {
  memset(r, 0, sizeof *r);
  if (o->batch < 1 || o->seq < 2 || o->steps < 1 || o->warmup < 0)
    return lethe_fail(LETHE_ERR_INVALID, "bench needs batch >= 1, seq >= 2, steps >= 1");
  r->blas_core = openblas_get_corename();
  lethe_config c;
  LETHE_TRY(lethe_config_load(o->config, &c));
  if (o->seq > c.max_seq_len)
    return lethe_fail(LETHE_ERR_INVALID, "seq %d exceeds the model's context %d", o->seq, c.max_seq_len);
  lethe_model *m = NULL;
  lethe_lora *lora = NULL;
  lethe_trainer *tr = NULL;
  lethe_tokset d;
  memset(&d, 0, sizeof d);
  lethe_status s = random_model(&c, o->seed, &m);
  lethe_lora_config lc = BENCH_LORA;
  if (!s && o->device) s = lethe_model_to_device(m, o->device);
  if (!s && o->profile) {
    if (m->ops != lethe_cpu_ops())
      s = lethe_fail(LETHE_ERR_UNSUPPORTED, "--profile times the CPU backend only");
    else
      s = lethe_model_use_backend_ex(m, lethe_profile_ops(m->ops), m->wbf16);
  }
  if (!s && o->train_layers && o->save)
    s = lethe_fail(LETHE_ERR_INVALID, "--save writes a LoRA step's peer inputs; not with --train-layers");
  if (!s && !o->train_layers) s = lethe_lora_create(&c, &lc, o->seed + 1, &lora);
  if (!s && lora) s = lethe_lora_to_device(lora, m);
  if (s) goto done;
  /* The batch: B random sequences of T tokens, a quarter of each is prompt, half are forget rows. */
  int B = o->batch, T = o->seq;
  lethe_rng rng;
  lethe_rng_seed(&rng, o->seed + 2);
  d.n = B;
  d.offset = malloc(sizeof(int) * (size_t)(B + 1));
  d.tokens = malloc(sizeof(int) * (size_t)B * T);
  d.n_prompt = malloc(sizeof(int) * (size_t)B);
  d.split = malloc((size_t)B);
  d.row = calloc((size_t)B, sizeof(int));
  if (!d.offset || !d.tokens || !d.n_prompt || !d.split || !d.row) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory for the batch");
    goto done;
  }
  d.offset[0] = 0;
  for (int i = 0; i < B; i++) {
    for (int k = 0; k < T; k++) d.tokens[i * T + k] = (int)lethe_rng_below(&rng, (uint64_t)c.vocab_size);
    d.offset[i + 1] = (i + 1) * T;
    d.n_prompt[i] = T / 4;
    d.split[i] = (unsigned char)(i < (B + 1) / 2 ? LETHE_SPLIT_FORGET : LETHE_SPLIT_RETAIN);
    d.n_answer_tokens += lethe_tokset_answer_count(&d, i);
  }
  d.max_len = T;
  lethe_trainer_cfg tc = {.batch = B,
      .grad_accum = 1,
      .epochs = 1 << 20,
      .lr = 1e-4,
      .beta1 = 0.9,
      .beta2 = 0.999,
      .eps = 1e-8,
      .seed = o->seed,
      .recompute = o->recompute,
      .comm = o->comm};
  lethe_objective_preset("npo", &tc.obj);
  if (o->train_layers) {
    tc.train_modules = lethe_train_modules_parse(o->train_modules);
    if (!tc.train_modules)
      s = lethe_fail(LETHE_ERR_INVALID, "--train-modules '%s': expected mlp, attn or all", o->train_modules);
    if (!s) s = lethe_train_layers_parse(o->train_layers, c.n_layers, &tc.train_lo, &tc.train_hi);
    if (s) goto done;
  }
  if ((s = lethe_trainer_create(m, lora, &d, &tc, &tr))) goto done;
  if (o->save) {
    char *md = lethe_path_join(o->save, "model"), *ad = lethe_path_join(o->save, "adapter"),
         *bp = lethe_path_join(o->save, "batch.json");
    s = lethe_make_dirs(o->save);
    if (!s) s = lethe_model_save(m, md, "float32", 0);
    if (!s) s = lethe_lora_save(lora, NULL, ad);
    if (!s) s = write_batch(bp, &d);
    free(md);
    free(ad);
    free(bp);
    if (s) goto done;
  }
  int *idx = malloc(sizeof(int) * (size_t)B);
  if (!idx) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < B; i++) idx[i] = i;
  double t0 = 0, c0 = 0, comm_s = 0;
  for (int k = 0; k < o->warmup + o->steps && !s; k++) {
    if (k == o->warmup) {
      t0 = lethe_now_s();
      c0 = lethe_process_cpu_s();
      if (o->profile) lethe_profile_reset();
    }
    lethe_loss_terms l;
    lethe_step_stats st;
    s = lethe_trainer_micro(tr, idx, B, 1.0f, &l);
    if (!s) s = lethe_trainer_update(tr, &st);
    if (!s && k >= o->warmup) comm_s += st.comm_s;
    if (!s && r->n_losses < 8) {
      r->losses[r->n_losses][0] = l.total;
      r->losses[r->n_losses][1] = l.forget;
      r->losses[r->n_losses][2] = l.retain;
      r->losses[r->n_losses][3] = l.kl;
      r->n_losses++;
    }
  }
  free(idx);
  if (s) goto done;
  double el = lethe_now_s() - t0;
  r->seconds_per_step = el / o->steps;
  r->cpu_seconds_per_step = (lethe_process_cpu_s() - c0) / o->steps;
  r->bf16_engine = m->wbf16 && m->ops->host_visible && lethe_cpu_bf16_engine();
  if (o->profile) {
    double w[LETHE_PART_N], cp[LETHE_PART_N];
    lethe_profile_read(w, cp);
    r->n_parts = LETHE_PART_N;
    for (int i = 0; i < LETHE_PART_N; i++) {
      r->part_names[i] = LETHE_PART_NAMES[i];
      r->part_wall[i] = w[i] / o->steps;
      r->part_cpu[i] = cp[i] / o->steps;
    }
  }
  r->tokens_per_s = (double)B * T / r->seconds_per_step;
  {
    int W = lethe_comm_size(o->comm), lo, hi;
    lethe_comm_slice(o->comm, B, &lo, &hi);
    r->world_size = W;
    r->allreduce_seconds_per_step = comm_s / o->steps;
    r->allreduce_bytes = tr->n_params * sizeof(float);
    double per[65] = {0}; /* each rank's tokens per second, then its CPU seconds per step */
    int slot = lethe_comm_rank(o->comm) < 64 ? lethe_comm_rank(o->comm) : -1;
    if (slot >= 0) per[slot] = (double)(hi - lo) * T / r->seconds_per_step;
    per[64] = r->cpu_seconds_per_step;
    if ((s = lethe_comm_allreduce_f64(o->comm, per, 65))) goto done;
    for (int i = 0; i < 64; i++) r->rank_tokens_per_s[i] = per[i];
    r->total_cpu_seconds_per_step = per[64];
  }
  /* the LoRA step's count; a partial full-parameter step is not counted (0) */
  double pf[LETHE_PART_N] = {0};
  r->gflop_per_step = lora ? step_flops(&c, B, T, d.n_answer_tokens, lc.rank, lc.targets, pf) * 1e-9 : 0;
  for (int i = 0; i < r->n_parts; i++) r->part_gflop[i] = pf[i] * 1e-9;
  r->gflops = r->gflop_per_step / r->seconds_per_step;
  r->design_bytes = lethe_model_device_bytes(m) + tr->ws->arena_bytes + (tr->ws_ref ? tr->ws_ref->arena_bytes : 0) +
                    tr->n_params * sizeof(float) * 4 /* weights, gradients, two Adam moments */ +
                    (size_t)tr->ref_off[d.n] * sizeof(float) + (size_t)m->rope_len * c.head_dim * sizeof(float);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  r->peak_rss = (size_t)ru.ru_maxrss * 1024;
  /* nothing is allocated inside a step, so the memory in use after the steps is their peak */
  r->device_bytes = m->ops->mem_in_use();
  r->recompute = o->recompute;
  r->weights_bf16 = m->wbf16;
done:
  lethe_trainer_free(tr);
  lethe_tokset_free(&d);
  lethe_lora_free(lora);
  lethe_model_free(m);
  return s;
}

/* Seconds of the threads' CPU time since c0, per thread: what a product costs on a machine shared
 * with other jobs, which stretch the wall clock but not this. */
static double cpu_time_rate(double c0) { return (lethe_process_cpu_s() - c0) / omp_get_max_threads(); }

/* One product of the GEMM bench: C = op(A) op(B), fp32 weights (B) or bf16 ones (B16). */
typedef struct {
  int ta, tb, M, N, K;
  const float *A, *B;
  const uint16_t *B16;
  float *C;
} gemm_case;

static void run_gemm(const gemm_case *g) {
  if (g->B16)
    lethe_cpu_ops()->gemm_bf16w(
        g->tb, g->M, g->N, g->K, 1.0f, g->A, g->K, g->B16, g->tb ? g->K : g->N, 0.0f, g->C, g->N);
  else
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, g->M, g->N, g->K,
        1.0f, g->A, g->ta ? g->M : g->K, g->B, g->tb ? g->K : g->N, 0.0f, g->C, g->N);
}

/* GFLOP/s per thread of CPU time: the best of 3 repetitions of at least 0.25 s each. */
static double time_gemm(const gemm_case *g) {
  double best = 0;
  double flop = 2.0 * g->M * g->N * g->K;
  for (int rep = 0; rep < 3; rep++) {
    int iters = 0;
    double t0 = lethe_now_s(), c0 = lethe_process_cpu_s(), t;
    do {
      run_gemm(g);
      iters++;
      t = lethe_now_s() - t0;
    } while (t < 0.25);
    double gf = flop * iters / cpu_time_rate(c0) * 1e-9;
    best = gf > best ? gf : best;
  }
  return best;
}

lethe_status lethe_bench_gemm(const char *config, int rows, lethe_bench_gemm_result *r) {
  memset(r, 0, sizeof *r);
  lethe_config c;
  LETHE_TRY(lethe_config_load(config, &c));
  int d = c.dim, qkv = lethe_qkvdim(&c), F = c.hidden_dim, q = lethe_qdim(&c);
  int chunk = (int)((16L << 20) / c.vocab_size);
  if (chunk > rows) chunk = rows;
  struct {
    const char *name;
    int ta, tb, M, N, K;
  } shapes[] = {
      {"x W_qkv^T", 0, 1, rows, qkv, d},
      {"x W_o^T", 0, 1, rows, d, q},
      {"x W_gu^T", 0, 1, rows, 2 * F, d},
      {"h W_down^T", 0, 1, rows, d, F},
      {"dy W_gu (dX)", 0, 0, rows, d, 2 * F},
      {"head logits", 0, 1, chunk, c.vocab_size, d},
      {"head dX = G W", 0, 0, chunk, d, c.vocab_size},
  };
  int n = (int)(sizeof shapes / sizeof *shapes);
  size_t maxa = 0, maxb = 0, maxc = 0;
  for (int i = 0; i < n; i++) {
    size_t a = (size_t)shapes[i].M * shapes[i].K, b = (size_t)shapes[i].K * shapes[i].N,
           cc = (size_t)shapes[i].M * shapes[i].N;
    maxa = a > maxa ? a : maxa;
    maxb = b > maxb ? b : maxb;
    maxc = cc > maxc ? cc : maxc;
  }
  float *A = malloc(sizeof(float) * maxa), *B = malloc(sizeof(float) * maxb), *C = malloc(sizeof(float) * maxc);
  if (!A || !B || !C) {
    free(A);
    free(B);
    free(C);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  lethe_rng rng;
  lethe_rng_seed(&rng, 1);
  for (size_t i = 0; i < maxa; i++) A[i] = (float)lethe_rng_uniform(&rng) - 0.5f;
  for (size_t i = 0; i < maxb; i++) B[i] = (float)lethe_rng_uniform(&rng) - 0.5f;
  uint16_t *B16 = malloc(sizeof(uint16_t) * maxb);
  lethe_status s = B16 ? lethe_cpu_ops()->reserve_bf16(maxa) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (s) {
    free(A), free(B), free(C), free(B16);
    return s;
  }
  lethe_cpu_ops()->upload_bf16(B16, B, maxb);
  r->bf16_engine = lethe_cpu_bf16_engine();
  for (int i = 0; i < n; i++) {
    gemm_case g = {shapes[i].ta, shapes[i].tb, shapes[i].M, shapes[i].N, shapes[i].K, A, B, NULL, C};
    r->gflops[i] = time_gemm(&g);
    g.B16 = B16;
    r->bf16_gflops[i] = time_gemm(&g);
    if (r->bf16_gflops[i] > r->bf16_peak_gflops) r->bf16_peak_gflops = r->bf16_gflops[i];
    snprintf(r->names[i], sizeof r->names[i], "%s [%dx%dx%d]", shapes[i].name, shapes[i].M, shapes[i].N, shapes[i].K);
    if (r->gflops[i] > r->peak_gflops) r->peak_gflops = r->gflops[i];
  }
  r->n = n;
  free(B16);
  free(A);
  free(B);
  free(C);
  return LETHE_OK;
}
