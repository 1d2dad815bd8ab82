/* kernels/cpu/backend.c: the CPU backend's operation table. */
#include "kernels/cpu/cpu.h"

static const lethe_ops CPU_OPS = {
    .name = "cpu",
    .gemm = cpu_gemm,
    .embed = cpu_embed,
    .embed_backward = cpu_embed_backward,
    .layernorm = cpu_layernorm,
    .layernorm_backward = cpu_layernorm_backward,
    .rmsnorm = cpu_rmsnorm,
    .rmsnorm_backward = cpu_rmsnorm_backward,
    .add_bias = cpu_add_bias,
    .bias_backward = cpu_bias_backward,
    .clip = cpu_clip,
    .clip_backward = cpu_clip_backward,
    .rope = cpu_rope,
    .attention = cpu_attention,
    .attention_backward = cpu_attention_backward,
    .attention_cached = cpu_attention_cached,
    .swiglu = cpu_swiglu,
    .swiglu_backward = cpu_swiglu_backward,
    .add = cpu_add,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .gather_rows = cpu_gather_rows,
    .scatter_rows = cpu_scatter_rows,
    .kv_store = cpu_kv_store,
    .classifier = cpu_classifier,
    .logits = cpu_logits,
    .adam = cpu_adam,
};

const lethe_ops *lethe_cpu_ops(void) { return &CPU_OPS; }
