/* lethe/lora.h: LoRA adapters as users hold them: created for a model, loaded from and saved to
 * Hugging Face PEFT directories (adapter_config.json + adapter_model.safetensors with PEFT's key
 * names, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight), so that
 * PeftModel.from_pretrained loads what lethe writes and lethe loads what PEFT writes. */
#ifndef LETHE_LORA_H
#define LETHE_LORA_H

#include "lethe/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lethe_lora lethe_lora;

/* Loads a PEFT LoRA adapter directory for `model`. An adapter that does not fit the model (layer
 * count, target, shape, rank) or uses PEFT features lethe does not implement (DoRA, bias,
 * rank_pattern, modules_to_save, ...) is an error naming the file and the field or tensor. */
lethe_status lethe_lora_load(const char *dir, const lethe_model *model, lethe_lora **out);

/* Writes a PEFT adapter directory atomically. base_model may be NULL. */
lethe_status lethe_lora_save(const lethe_lora *lora, const char *base_model, const char *dir);

void lethe_lora_free(lethe_lora *lora);

/* Puts the adapter on the model's device (after lethe_model_to_device). */
lethe_status lethe_lora_to_device(lethe_lora *lora, const lethe_model *model);

/* Merges W += s B A into the model's weights for every adapted projection. */
lethe_status lethe_lora_merge(lethe_model *model, const lethe_lora *lora);

/* How several adapters combine into one update of each projection W (their deltas D_i = s_i B_i A_i):
 *   LINEAR  W += sum_i w_i D_i
 *   TIES    per tensor: trim each D_i to its round(density * numel) largest magnitudes (T_i), elect
 *           the sign of sum_i w_i T_i per entry, and add the weighted mean of the entries that agree
 *           with it: W += sum_{i agrees} w_i T_i / sum_{i agrees} w_i (0 where none does). */
typedef enum { LETHE_COMBINE_LINEAR = 0, LETHE_COMBINE_TIES = 1 } lethe_combine;

/* Adds the combination of n adapters to the model's (host fp32) weights, then refreshes the
 * backend copy. weights (n); density in (0, 1] (TIES only). */
lethe_status lethe_lora_combine(lethe_model *model, const lethe_lora *const *adapters, const double *weights, int n,
    lethe_combine how, double density);

/* The same combination as a rank-`rank` adapter (alpha = rank): per tensor the truncated SVD of the
 * combined delta (LAPACK sgesdd from OpenBLAS). *err_max: the largest relative Frobenius error
 * ||D - B A|| / ||D|| of a tensor; *err_all: over all tensors together. */
lethe_status lethe_lora_combine_to_adapter(const lethe_model *model, const lethe_lora *const *adapters,
    const double *weights, int n, lethe_combine how, double density, int rank, lethe_lora **out, double *err_max,
    double *err_all);

#ifdef __cplusplus
}
#endif
#endif
