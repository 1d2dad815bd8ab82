/* model/model.h: the library-internal view of a model: parameter layout (one allocation, HF tensor
 * names), LoRA adapters, the activation workspace (one arena), and forward / backward. */
#ifndef LETHE_MODEL_INTERNAL_H
#define LETHE_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ops.h"
#include "lethe/lora.h"
#include "lethe/model.h"

/* ---- parameters ---------------------------------------------------------------------------- */

typedef struct {
  char name[96]; /* Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight" */
  int ndim;      /* 1 or 2 */
  int64_t shape[2];
  size_t numel;
  size_t offset;  /* in floats, into the owner's parameter buffer (the host copy) */
  size_t dev_off; /* in elements, into the backend copy: dev.params (fp32) or dev.w16 (when bf16) */
  int bf16;       /* 1: the backend copy of this weight is bf16 */
} lethe_tensor;

typedef struct {
  float *attn_norm; /* (d) Llama only */
  float *wqkv;      /* (qdim + 2 kvdim, d): q_proj, k_proj, v_proj stacked */
  float *bqkv;      /* (qdim + 2 kvdim) or NULL */
  float *wo;        /* (d, qdim) */
  float *bo;        /* (d) or NULL */
  float *mlp_norm;  /* (d) Llama only */
  float *wgu;       /* (2F, d): gate_proj, up_proj stacked */
  float *wdown;     /* (d, F) */
  /* the same four weights when the backend stores them in bf16 (then the float pointers are NULL) */
  const uint16_t *wqkv16, *wo16, *wgu16, *wdown16;
} lethe_layer_weights;

struct lethe_model {
  lethe_config cfg;
  const lethe_ops *ops;
  float *params; /* (n_params) every weight, one host allocation (loading, saving) */
  size_t n_params;
  struct {
    float *params; /* (n_params) the fp32 copy the backend computes on (== the host params on
                      the CPU with fp32 weights) */
    uint16_t *w16; /* (n_w16) the block projections in bf16, when wbf16 */
    size_t n_params, n_w16;
  } dev;          /* the backend copy (a `d` prefix in the model means a derivative, never the device) */
  int wbf16;      /* 1: block projection weights are stored in bf16 on the backend */
  float *grads;   /* (n_grads, backend memory) full-parameter training only, else NULL */
  size_t n_grads; /* n_params, or the selected tensors' floats (lethe_model_enable_grads_subset) */
  struct lethe_grad_span *grad_spans; /* (n_grad_spans) where the selected tensors' gradients live, or NULL (all) */
  int n_grad_spans;
  int grad_lo_layer;     /* the lowest layer with a trained tensor: backward stops there */
  lethe_tensor *tensors; /* (n_tensors) names and places of the weights */
  int n_tensors;
  lethe_layer_weights *layers; /* (n_layers) pointers into dev.params */
  float *embed;                /* (V, d) */
  float *final_norm;           /* (d) Llama only */
  float *head;                 /* (V, d): lm_head, or embed when tied; NULL when head16 */
  const uint16_t *head16;      /* (V, d) the head in bf16 (in dev.w16): bf16 weights on a backend with
                                  classifier_bf16w; else NULL */
  const uint16_t *embed16;     /* (V, d) the embedding in bf16 when it is the (tied) bf16 head */
  float *rope_cos, *rope_sin;  /* (rope_len, hd/2) */
  int rope_len;
  int act_bf16; /* 1: computes as a torch bf16 model (lethe_model_set_dtype; weights rounded) */
};

/* Parameters of a config without allocating them: all, and those of the block projections (what
 * bf16 storage applies to). */
lethe_status lethe_config_count_params(const lethe_config *c, size_t *total, size_t *projections);
/* RoPE positions a model prepares when it is made (a workspace adds what it needs). */
#define LETHE_ROPE_INITIAL 4096

/* Builds the tensor table and allocates zeroed parameters for `cfg` (validated first). */
lethe_status lethe_model_alloc(const lethe_config *cfg, lethe_model **out);
/* Finds a tensor by HF name (NULL when absent). */
const lethe_tensor *lethe_model_find(const lethe_model *m, const char *name);
/* Extends the RoPE tables to at least `len` positions (done at setup, never inside a step). */
lethe_status lethe_model_rope_reserve(lethe_model *m, int len);
/* Allocates the (zeroed) gradient buffer for full-parameter training. */
lethe_status lethe_model_enable_grads(lethe_model *m);

/* Full-parameter training of a subset: the floats [off, off + len) of dev.params have their gradient
 * at grads + goff; spans are sorted by off and adjacent tensors merged. */
typedef struct lethe_grad_span {
  size_t off, len, goff;
} lethe_grad_span;
/* What a subset selects within each layer of [lo, hi] (the embedding, final norm and head are not
 * selected). attn: q, k, v, o (and their biases); mlp: gate, up, down; norms: the layer's norms. */
enum { LETHE_TRAIN_ATTN = 1, LETHE_TRAIN_MLP = 2, LETHE_TRAIN_NORMS = 4, LETHE_TRAIN_LAYER = 7 };
/* Allocates gradients for the selected tensors only (n_grads floats); lethe_model_grad_of gives
 * NULL for every other weight, and the backward pass stops at layer lo. */
lethe_status lethe_model_enable_grads_subset(lethe_model *m, int lo, int hi, unsigned modules);
/* Floats of the tensors such a subset selects, from the config alone. */
lethe_status lethe_config_count_selected(const lethe_config *c, int lo, int hi, unsigned modules, size_t *n);
/* "mlp", "attn", "all" (or NULL) -> LETHE_TRAIN_* (0: none of them). */
unsigned lethe_train_modules_parse(const char *s);
/* Parses "A-B" (also "A", "-N": the last N layers (all when there are fewer), "all") into a layer range of an n-layer
 * model. */
lethe_status lethe_train_layers_parse(const char *spec, int n_layers, int *lo, int *hi);
/* The gradient of weight w (a pointer into dev.params), or NULL when w does not train. */
static inline float *lethe_model_grad_of(const struct lethe_model *m, const float *w) {
  if (!m->grads || !w) return NULL;
  size_t off = (size_t)(w - m->dev.params);
  if (!m->grad_spans) return m->grads + off;
  for (int i = 0; i < m->n_grad_spans; i++)
    if (off >= m->grad_spans[i].off && off < m->grad_spans[i].off + m->grad_spans[i].len)
      return m->grads + m->grad_spans[i].goff + (off - m->grad_spans[i].off);
  return NULL;
}
/* Moves the model's compute copy to another backend (before gradients are enabled), choosing the
 * storage of the block projections (q, k, v, o, gate, up, down): bf16 == 0 keeps fp32, bf16 != 0
 * stores them in bf16 (the backend needs gemm_bf16w; so does the head, and the embedding when tied,
 * on a backend with classifier_bf16w (the CPU); norms and biases stay fp32;
 * the host copy stays fp32 and is what gets saved). Full-parameter training needs fp32. */
lethe_status lethe_model_use_backend_ex(lethe_model *m, const lethe_ops *ops, int bf16);
/* Splits a device string ("cpu", "cuda", "cuda:fp32", "cuda:bf16") into the backend name and the
 * storage of the projections. */
lethe_status lethe_device_parse(const char *device, char name[32], int *bf16);
/* Uploads the host copy again (after it changed, e.g. a merge into a bf16 model). */
lethe_status lethe_model_refresh_device(lethe_model *m);
/* The host copy of projection p (LETHE_PROJ_*) of a layer, (out_p, in_p). */
float *lethe_model_host_proj(lethe_model *m, int layer, int p);
/* Bytes of the backend copy (weights only). */
size_t lethe_model_device_bytes(const lethe_model *m);
/* Brings the host copy up to date with the compute copy (after full-parameter training on a
 * device backend); a no-op on the CPU. */
void lethe_model_sync_host(lethe_model *m);

/* Sizes shared by the model code. */
static inline int lethe_qdim(const lethe_config *c) { return c->n_heads * c->head_dim; }
static inline int lethe_kvdim(const lethe_config *c) { return c->n_kv_heads * c->head_dim; }
static inline int lethe_qkvdim(const lethe_config *c) { return lethe_qdim(c) + 2 * lethe_kvdim(c); }

/* C (M, N) = alpha * A op(W) + beta * C for a frozen weight stored in fp32 (w) or bf16 (w16);
 * op(W) = W^T for W (N, K) when trans_w, else W (K, N). */
static inline void lethe_wgemm(const lethe_ops *o, int trans_w, int M, int N, int K, float alpha, const float *A,
    int lda, const float *w, const uint16_t *w16, int ldw, float beta, float *C, int ldc) {
  if (w16)
    o->gemm_bf16w(trans_w, M, N, K, alpha, A, lda, w16, ldw, beta, C, ldc);
  else
    o->gemm(0, trans_w, M, N, K, alpha, A, lda, w, ldw, beta, C, ldc);
}

/* ---- LoRA ---------------------------------------------------------------------------------- */

typedef enum {
  LETHE_PROJ_Q = 0,
  LETHE_PROJ_K,
  LETHE_PROJ_V,
  LETHE_PROJ_O,
  LETHE_PROJ_GATE,
  LETHE_PROJ_UP,
  LETHE_PROJ_DOWN,
  LETHE_NPROJ
} lethe_proj;

extern const char *const LETHE_PROJ_NAMES[LETHE_NPROJ]; /* "q_proj", ... "down_proj" */

typedef enum { LETHE_LORA_INIT_XAVIER = 0, LETHE_LORA_INIT_KAIMING = 1 } lethe_lora_init;

typedef struct {
  int rank;
  double alpha;
  int rslora;                    /* scale alpha / sqrt(r) instead of alpha / r */
  unsigned targets;              /* bit p set: projection p adapted (in some layer) */
  const unsigned *layer_targets; /* (n_layers) projections adapted in each layer; NULL: targets in all */
  lethe_lora_init init;
  double dropout; /* recorded in adapter_config.json; training supports only 0 */
} lethe_lora_config;

typedef struct lethe_lora {
  lethe_lora_config cfg;
  float scale; /* alpha / r or alpha / sqrt(r) */
  int n_layers;
  const lethe_ops *ops; /* the backend params and grads live on */
  float *params;        /* (n_params) every A and B, one allocation (backend memory) */
  float *grads;         /* (n_params, backend memory) */
  float *host;          /* (n_params) host copy for loading and saving (== params on the CPU) */
  size_t n_params;
  float *A[LETHE_NPROJ]; /* per projection: layer l's A at A[p] + l * r * in_p, (r, in_p) */
  float *B[LETHE_NPROJ]; /* layer l's B at B[p] + l * out_p * r, (out_p, r) */
  int in_dim[LETHE_NPROJ], out_dim[LETHE_NPROJ];
  unsigned *layer_targets; /* (n_layers) bit p set: layer's projection p adapted. A projection in
                              cfg.targets but not in a layer's set has A = B = 0 there: it adds
                              nothing, and gradient steps (zero gradients) keep it zero */
} lethe_lora;

/* Projection p (LETHE_PROJ_*) is among the adapter's targets (0 without an adapter). */
static inline int lethe_lora_adapted(const lethe_lora *lora, int p) { return lora && (lora->cfg.targets & (1u << p)); }

/* target_modules and its companions from adapter_config.json (or --lora-targets), as PEFT reads
 * them; see model/lora_targets.c. */
typedef struct {
  const char *regex;        /* target_modules as a string (re.fullmatch; "all-linear"), or NULL */
  const char *const *names; /* target_modules as a list: full names or "."-suffixes */
  int n_names;
  const char *exclude_regex;  /* exclude_modules as a string, or NULL */
  const char *const *exclude; /* exclude_modules as a list */
  int n_exclude;
  const long *layers_sel;            /* layers_to_transform */
  int n_layers_sel;                  /* -1: not given */
  const char *const *layers_pattern; /* layers_pattern */
  int n_layers_pattern;
} lethe_lora_target_spec;

/* Fills layer_targets (n_layers) with the projections the spec selects in each layer, as PEFT
 * would; where names the file or flag in messages. */
lethe_status lethe_lora_resolve_targets(
    const lethe_config *mc, const lethe_lora_target_spec *t, const char *where, unsigned *layer_targets);
/* --lora-targets: "all" / "all-linear", or a comma list of PEFT names or suffixes (q/k/v/o/gate/up/
 * down abbreviate the projections). */
lethe_status lethe_lora_targets_from_list(const char *list, const lethe_config *mc, unsigned *layer_targets);
/* "q_proj,v_proj" when every layer has the same set, else the full module names; malloc'ed. */
char *lethe_lora_targets_describe(const unsigned *layer_targets, int n_layers);
/* "model.layers.L.self_attn.q_proj" etc. */
void lethe_lora_module_name(int layer, int proj, char *buf, size_t n);

/* Parses "q_proj,v_proj" (also "q,v" and "all") into a target mask. */
lethe_status lethe_lora_parse_targets(const char *list, unsigned *targets);
/* A new adapter: A initialised (xavier-normal or kaiming-uniform) from `seed`, B zero. */
lethe_status lethe_lora_create(const lethe_config *mc, const lethe_lora_config *lc, uint64_t seed, lethe_lora **out);
void lethe_lora_free(lethe_lora *l);
/* Moves params and grads to another backend, or back to the host one (the host copy stays). */
lethe_status lethe_lora_use_backend(lethe_lora *l, const lethe_ops *ops);
/* Refreshes the host copy from the backend (a no-op on the CPU). */
void lethe_lora_sync_host(lethe_lora *l);
/* The host copy of a place in params. */
static inline float *lethe_lora_host_of(const lethe_lora *l, const float *p) { return l->host + (p - l->params); }

static inline float *lethe_lora_A(const lethe_lora *l, int p, int layer) {
  return l->A[p] + (size_t)layer * l->cfg.rank * l->in_dim[p];
}
static inline float *lethe_lora_B(const lethe_lora *l, int p, int layer) {
  return l->B[p] + (size_t)layer * l->out_dim[p] * l->cfg.rank;
}
/* The same places in the gradient buffer. */
static inline float *lethe_lora_gA(const lethe_lora *l, int p, int layer) {
  return l->grads + (lethe_lora_A(l, p, layer) - l->params);
}
static inline float *lethe_lora_gB(const lethe_lora *l, int p, int layer) {
  return l->grads + (lethe_lora_B(l, p, layer) - l->params);
}

/* ---- a batch: sequences packed end to end (no padding) -------------------------------------- */

typedef struct {
  int n_seq;
  int n_tokens;       /* N = start[n_seq] */
  const int *tokens;  /* (N) input ids */
  const int *targets; /* (N) the next token where it is scored, -1 elsewhere (may be NULL) */
  const int *start;   /* (n_seq + 1) first row of each sequence */
} lethe_batch;

/* ---- activations ---------------------------------------------------------------------------- */

typedef struct {
  float *x_in;           /* (N, d) residual entering the block */
  float *ln1;            /* (N, d) */
  float *rstd1;          /* (N) */
  float *qkv;            /* (N, qkvdim): q and k after clip and RoPE, v after clip */
  uint8_t *clip_mask;    /* (N, qkvdim) when clip_qkv, else NULL */
  float *att;            /* (N, qdim) attention output before o_proj */
  float *lse;            /* (N, H) */
  float *x_mid;          /* (N, d) residual after attention */
  float *ln2;            /* (N, d) */
  float *rstd2;          /* (N) */
  float *gu;             /* (N, 2F) gate and up projections */
  float *u[LETHE_NPROJ]; /* (N, r) LoRA intermediates x A^T, per adapted projection */
} lethe_layer_acts;

/* The kind of a workspace: what it keeps between the forward and the backward pass. */
typedef enum {
  LETHE_WS_INFER = 0,    /* forward only: every block shares one set of buffers */
  LETHE_WS_TRAIN = 1,    /* every block's activations kept for the backward pass */
  LETHE_WS_RECOMPUTE = 2 /* only each block's input kept; the backward pass recomputes the block's
                            activations into one shared set (one more forward, far less memory) */
} lethe_ws_kind;

/* A workspace's index arrays and per-row values on the backend, uploaded from / downloaded to its
 * host arrays (a `d` prefix in the workspace means a derivative, never the device). */
typedef struct {
  int *tokens, *pos, *slot, *rows, *row_target; /* (N) */
  int *start;                                   /* (N + 1) */
  float *logp, *lse, *kl;                       /* (N) */
  float *fixed, *sig, *ref, *klw, *pw;          /* (N) classifier coefficients */
  int *tgt;                                     /* (N) target kinds (LETHE_TGT_*) */
} lethe_ws_dev;

typedef struct lethe_workspace {
  int max_tokens, max_seqs;
  lethe_ws_kind kind;       /* what it keeps for the backward pass */
  const lethe_ops *ops;     /* the backend the arena lives on */
  lethe_layer_acts *layers; /* (n_layers); LETHE_WS_INFER: all entries share one set of buffers;
                               LETHE_WS_RECOMPUTE: all but x_in */
  float *x_final;           /* (N, d) residual after the last block */
  float *lnf;               /* (N, d) final norm output: the head's input */
  float *rstdf;             /* (N) */
  float *h;                 /* (N, F) SwiGLU output (recomputed in backward) */
  /* backward */
  float *dx;   /* (N, d) gradient of the residual stream */
  float *dln;  /* (N, d) */
  float *dqkv; /* (N, qkvdim) */
  float *datt; /* (N, qdim) */
  float *dgu;  /* (N, 2F) */
  float *dh;   /* (N, F) */
  float *du;   /* (N, r) */
  float *dlnf; /* (N, d) gradient at the head's input */
  /* classifier over answer rows */
  float *xrows;        /* (N, d) gathered head inputs */
  float *dxrows;       /* (N, d) */
  float *head_scratch; /* (chunk, V) x 2 */
  lethe_scratch attn;  /* per-thread attention tiles */
  int head_chunk;
  lethe_ws_dev dev; /* index arrays and per-row values on the backend */
  /* host arrays */
  int *pos;        /* (N) position of each row within its sequence */
  int *seq_start;  /* (N + 1) sequence starts of a cached prefill run as packed sequences */
  int *rows;       /* (N) rows that carry a target */
  int *row_target; /* (N) their gold ids */
  float *logp;     /* (N) gold log-probs of the gathered rows */
  float *lse_rows; /* (N) */
  float *kl_rows;  /* (N) */
  int n_rows;      /* rows gathered by the last head pass */
  void *arena;     /* every backend buffer above lives in this one allocation */
  size_t arena_bytes;
  void *host; /* every host array above lives in this one allocation */
} lethe_workspace;

/* Sizes and allocates the arena once for batches of up to `max_tokens` rows in `max_seqs`
 * sequences, of the given kind. */
lethe_status lethe_workspace_create(
    lethe_model *m, const lethe_lora *lora, int max_tokens, int max_seqs, lethe_ws_kind kind, lethe_workspace **out);
void lethe_workspace_free(lethe_workspace *ws);
/* Bytes the arena needs for this model, adapter and sizes (the design's number for memory); the
 * number of sequences does not change it (their starts are at most N + 1). */
size_t lethe_workspace_bytes(
    const lethe_config *c, const lethe_lora *lora, int max_tokens, lethe_ws_kind kind, int head_chunk, int threads);
/* Values of the largest activation operand of a bf16 weight GEMM for max_tokens rows: what a
 * workspace makes the backend reserve (ops.reserve_bf16) when the projections are bf16. */
size_t lethe_workspace_bf16_operand(const lethe_config *c, int max_tokens);
/* The arena lethe_workspace_create would allocate (its head chunk, this process's threads). */
size_t lethe_workspace_plan(const lethe_config *c, const lethe_lora *lora, int max_tokens, lethe_ws_kind kind);

/* Checks a batch against the model and workspace (token ids, targets, sizes, positions). */
lethe_status lethe_batch_check(const lethe_model *m, const lethe_workspace *ws, const lethe_batch *b);

/* Forward through the final norm: ws->lnf holds the head inputs. lora == NULL runs the base model
 * (the adapter switched off). */
lethe_status lethe_forward(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, const lethe_batch *b);
/* Recomputes block l's activations from its kept input for the batch of the last lethe_forward
 * (a LETHE_WS_RECOMPUTE workspace, called by the backward pass). */
void lethe_block_recompute(
    const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, int l, const lethe_batch *b);

/* The batch's scored rows (the tokens with a target) in batch order: their positions into rows and
 * their targets into targets (room for b->n_tokens each); returns their number. */
int lethe_batch_scored_rows(const lethe_batch *b, int *rows, int *targets);

/* Gathers the rows with targets and runs the fused classifier on them. Fills the host arrays
 * ws->logp, ws->lse_rows (and ws->kl_rows) for ws->n_rows rows in batch order. With grad != 0 it
 * also leaves dL/d(lnf) in ws->dlnf (zero on rows without targets) and, when the model has grads,
 * accumulates the head's weight gradient. coef indexes rows in gathered order; its fixed, sig, ref, pw,
 * kl and tgt arrays are host arrays (uploaded here), ref_hidden is backend memory. */
lethe_status lethe_head(
    const lethe_model *m, lethe_workspace *ws, const lethe_batch *b, const lethe_head_coef *coef, int grad);

/* Backward from ws->dlnf: accumulates LoRA gradients into lora->grads (lora != NULL) and, when
 * the model has a gradient buffer, every parameter's gradient. Needs a LETHE_WS_TRAIN or LETHE_WS_RECOMPUTE
 * forward of the same batch with the same lora. */
lethe_status lethe_backward(lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, const lethe_batch *b);

/* Backward from a gradient at the output of block `layer` (the residual stream after it), which the
 * caller leaves in ws->dx (N, d): blocks layer .. 0 only (representation losses such as RMU). */
lethe_status lethe_backward_from_layer(
    lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, const lethe_batch *b, int layer);
/* The residual stream after block `layer` of the last lethe_forward (N, d): kept by a training
 * workspace (the next block's input, or the last block's output). */
static inline const float *lethe_ws_layer_output(const struct lethe_model *m, const lethe_workspace *ws, int layer) {
  return layer + 1 < m->cfg.n_layers ? ws->layers[layer + 1].x_in : ws->x_final;
}

/* Logits of n rows of ws->lnf (host row indices) into a host array (n, V), chunk by chunk. */
lethe_status lethe_logits_rows(const lethe_model *m, lethe_workspace *ws, const int *rows, int n, float *logits);

/* ---- inference with a KV cache ---------------------------------------------------------------- */

typedef struct {
  int slots, max_pos, kvdim, n_layers;
  const lethe_ops *ops;
  float *k, *v; /* (n_layers, slots, max_pos, kvdim) each, one backend allocation */
} lethe_kv_cache;

lethe_status lethe_kv_cache_create(const lethe_model *m, int slots, int max_pos, lethe_kv_cache **out);
void lethe_kv_cache_free(lethe_kv_cache *c);

/* Forward of N new rows against the cache: row t is token tokens[t] at position pos[t] of cache
 * slot slot[t]; rows of one slot must be in increasing position order with no gaps after what the
 * cache already holds. Leaves the head inputs in ws->lnf (N, d). ws must be a LETHE_WS_INFER workspace
 * with room for N rows. */
lethe_status lethe_forward_cached(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws,
    lethe_kv_cache *cache, const int *tokens, const int *slot, const int *pos, int N);

/* ---- bf16 compute as transformers' torch_dtype=torch.bfloat16 on the CPU (model/forward_bf16.c) -- */

/* x (n) rounded to bf16 in place (host memory) */
void lethe_round_bf16(float *x, size_t n);
/* Block l's forward when m->act_bf16 (the arguments of the fp32 block: packed sequences start/n_seq,
 * or a KV cache with its slots and whether the rows are a fresh prefill). */
void lethe_block_forward_bf16(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, int l,
    const lethe_layer_acts *a, float *xout, const int *pos, int N, const int *start, int n_seq, lethe_kv_cache *cache,
    const int *slot, int fresh);
/* ws->lnf (N, d) from ws->x_final when m->act_bf16 */
void lethe_final_norm_bf16(const lethe_model *m, lethe_workspace *ws, int N);
/* lethe_head without gradients or coefficients when m->act_bf16: the gold log-probs and log-sum-exps
 * of the bf16 logits, read in fp32 */
lethe_status lethe_head_bf16(const lethe_model *m, lethe_workspace *ws, const lethe_batch *b);

/* lethe_lora_load from memory: the adapter_config.json text and the adapter_model.safetensors
 * image (used by the loader and its fuzzer). */
lethe_status lethe_lora_load_parts(const char *cfg_text, size_t cfg_len, const char *cfg_name, const uint8_t *st_data,
    size_t st_size, const char *st_name, const lethe_model *model, struct lethe_lora **out);
/* Maps a PEFT adapter key (base_model.model.model.layers.L.self_attn.q_proj.lora_A.weight) to the
 * adapter's storage. Errors (not a LoRA key, unknown module, layer out of range, not a target)
 * name the key. */
lethe_status lethe_lora_peft_slot(const lethe_lora *l, const char *key, float **dst, int *is_b, int *proj, int *layer);

#endif
