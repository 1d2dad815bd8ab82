/* kernels/cpu/backend.c: the CPU backend's operation table. */
#include "kernels/cpu/cpu.h"

static lethe_status cpu_check(void) { return LETHE_OK; }
static size_t cpu_mem_in_use(void) { return 0; }
static lethe_status cpu_reserve_attention(int longest, int kv_heads) {
  (void)longest, (void)kv_heads; /* the CPU's attention tiles live in the workspace */
  return LETHE_OK;
}

static const lethe_ops CPU_OPS = {
    .name = "cpu",
    .host_visible = 1,
    .check = cpu_check,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_upload,
    .download = cpu_download,
    .sumsq = cpu_sumsq,
    .scale = cpu_scale,
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
    .mem_in_use = cpu_mem_in_use,
    .gemm_bf16w = cpu_gemm_bf16w,
    .upload_bf16 = cpu_upload_bf16,
    .reserve_bf16 = cpu_reserve_bf16,
    .classifier_bf16w = cpu_classifier_bf16w,
    .logits_bf16w = cpu_logits_bf16w,
    .embed_bf16 = cpu_embed_bf16,
    .reserve_attention = cpu_reserve_attention,
};

const lethe_ops *lethe_cpu_ops(void) { return &CPU_OPS; }

int lethe_cpu_bf16_engine(void) { return cpu_bf16_native(); }
