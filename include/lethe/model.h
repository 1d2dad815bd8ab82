/* lethe/model.h: decoder-only transformers of the two families in DESIGN.md (OLMo v1 and Llama:
 * llama, mistral, qwen2): configuration, loading from the formats users have, saving, and greedy
 * generation. Training-level access (forward, backward) lives in the library's internal headers. */
#ifndef LETHE_MODEL_H
#define LETHE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LETHE_ARCH_OLMO = 0, LETHE_ARCH_LLAMA = 1 } lethe_arch;
typedef enum { LETHE_ROPE_DEFAULT = 0, LETHE_ROPE_LINEAR = 1, LETHE_ROPE_LLAMA3 = 2 } lethe_rope_type;

#define LETHE_MAX_EOS 4

typedef struct {
  lethe_arch arch;
  char model_type[16]; /* "olmo", "llama", "mistral", "qwen2" */
  int vocab_size;
  int dim;         /* hidden_size */
  int n_layers;    /* num_hidden_layers */
  int n_heads;     /* num_attention_heads */
  int n_kv_heads;  /* num_key_value_heads (== n_heads for MHA) */
  int head_dim;    /* head_dim, default dim / n_heads */
  int hidden_dim;  /* intermediate_size */
  int max_seq_len; /* max_position_embeddings */
  double norm_eps; /* OLMo: LayerNorm eps 1e-5; Llama: rms_norm_eps */
  double rope_theta;
  lethe_rope_type rope_type; /* rope_scaling */
  double rope_factor;
  double rope_low_freq_factor;
  double rope_high_freq_factor;
  int rope_original_max_pos;
  double clip_qkv;    /* OLMo clip_qkv; 0 when unset */
  int tie_embeddings; /* tie_word_embeddings */
  int qkv_bias;       /* q, k, v projections have a bias (qwen2; llama attention_bias) */
  int o_bias;         /* o projection has a bias (llama attention_bias) */
  int sliding_window; /* 0 when none */
  int bos_id;         /* -1 when none */
  int eos_ids[LETHE_MAX_EOS];
  int n_eos;
  int pad_id;     /* -1 when none */
  char dtype[16]; /* torch_dtype of the checkpoint: "float32", "bfloat16", "float16" */
} lethe_config;

/* Reads a Hugging Face config.json. An unknown model_type, a missing required field or an
 * inconsistent value (hidden_size not divisible by heads, ...) is an error naming the file and
 * the field. */
lethe_status lethe_config_load(const char *path, lethe_config *cfg);
lethe_status lethe_config_parse(const char *json, size_t len, const char *name, lethe_config *cfg);
/* Checks the values of a filled-in config (also used for configs built in code). */
lethe_status lethe_config_validate(const lethe_config *cfg, const char *name);
/* The config as Hugging Face config.json text (malloc'ed), loadable by transformers. */
char *lethe_config_to_json(const lethe_config *cfg);
/* Number of parameters of the model the config describes. */
int64_t lethe_config_param_count(const lethe_config *cfg);

typedef struct lethe_model lethe_model;

/* Loads a model from `path`: a Hugging Face directory (config.json + model.safetensors or a
 * sharded model.safetensors.index.json), a llama2.c checkpoint (.bin), or a GGUF file. All
 * weights are held as fp32 in one allocation. */
lethe_status lethe_model_load(const char *path, lethe_model **out);
/* A model with the given config and random weights (normal with std `init_std`, norm weights 1). */
lethe_status lethe_model_create(const lethe_config *cfg, uint64_t seed, float init_std, lethe_model **out);
void lethe_model_free(lethe_model *m);
const lethe_config *lethe_model_config(const lethe_model *m);

/* Writes a complete Hugging Face model directory (config.json + model.safetensors, or shards of
 * at most `shard_bytes` with an index when larger; 0 = never shard) in `dtype` ("float32",
 * "bfloat16", "float16"), atomically (a temporary directory renamed into place). */
lethe_status lethe_model_save(const lethe_model *m, const char *dir, const char *dtype, size_t shard_bytes);

/* Moves the model to a compute device: "cpu" (where every model starts) or "cuda" (in a build with
 * CUDA and a GPU present). On "cuda" the frozen block projections are stored in bf16 (products on
 * the tensor cores, sums in fp32); "cuda:fp32" keeps every weight in fp32 (needed for full-parameter
 * training, and the exact mode). Errors say why a device is unavailable. */
lethe_status lethe_model_to_device(lethe_model *m, const char *device);

/* "bf16": compute as transformers does with torch_dtype=torch.bfloat16 on the CPU (every weight
 * rounded to bf16, nearest-even, and activations rounded where the torch model holds bf16), for
 * evaluation and generation: the host weights are rounded in place, and training is refused.
 * "fp32" (the default) is the exact mode. Call after lethe_model_to_device (CPU only). */
lethe_status lethe_model_set_dtype(lethe_model *m, const char *dtype);

/* lethe_model_save plus copies of `n_files` files (full paths; tokenizer.json, ...) into the new
 * directory under their own names; the whole directory appears at once or not at all. Missing
 * files in the list are skipped. */
lethe_status lethe_model_save_with(const lethe_model *m, const char *dir, const char *dtype, size_t shard_bytes,
    const char *const *files, int n_files);

/* The tokenizer that goes with a model: `tok_path` when given (tokenizer.json, a llama2.c
 * tokenizer), else the model directory's tokenizer.json, else a GGUF file's own tokenizer. Any
 * other model file without tok_path is an error saying so. */
struct lethe_tokenizer;
lethe_status lethe_model_tokenizer(const char *model_path, const char *tok_path, struct lethe_tokenizer **out);

#ifdef __cplusplus
}
#endif
#endif
