/* kernels/cuda/cuda_backend.cu: the CUDA backend's table, its memory (cudaMalloc, synchronous
 * copies on the default stream) and its sticky error. Frozen block weights are stored in bf16 (or
 * fp32 on request, see lethe_model_use_backend_ex); activations, the adapter and its optimizer state
 * are fp32. GEMMs go through cuBLAS (cuda_gemm.cu), the rest through the kernels of this folder. */
#include <stdio.h>
#include <string.h>

#include "kernels/cuda/cuda_common.cuh"

extern "C" {
#include "util/error.h"
}

static char g_err[1024];
static int g_failed;

void lethe_cuda_fail(const char *where, const char *what) {
  if (g_failed) return;
  g_failed = 1;
  snprintf(g_err, sizeof g_err, "%s: %s", where, what);
}

static lethe_status cu_check(void) {
  cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess) lethe_cuda_fail("a kernel", cudaGetErrorString(e));
  if (!g_failed) return LETHE_OK;
  g_failed = 0;
  return lethe_fail(LETHE_ERR_DEVICE, "CUDA: %s", g_err);
}

lethe_status lethe_cuda_reserve(void **buf, size_t *have, size_t bytes, const char *what) {
  if (bytes <= *have) return LETHE_OK;
  if (*buf) cudaFree(*buf);
  *buf = NULL;
  *have = 0;
  if (cudaMalloc(buf, bytes) != cudaSuccess) return lethe_fail(LETHE_ERR_NOMEM, "CUDA: cannot allocate %zu bytes of %s", bytes, what);
  *have = bytes;
  return LETHE_OK;
}

static void *cu_alloc(size_t bytes) {
  void *p = NULL;
  size_t n = bytes ? bytes : 4;
  if (cudaMalloc(&p, n) != cudaSuccess) return NULL;
  CK(cudaMemset(p, 0, n));
  return p;
}

static void cu_release(void *p) { CK(cudaFree(p)); }

static void cu_upload(void *dst, const void *src, size_t bytes) {
  if (bytes) CK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void cu_download(void *dst, const void *src, size_t bytes) {
  if (bytes) CK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

static size_t cu_mem_in_use(void) {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return 0;
  return total_b - free_b;
}

static const lethe_ops CUDA_OPS = {
    /* .name = */ "cuda",
    /* .host_visible = */ 0,
    /* .alloc = */ cu_alloc,
    /* .release = */ cu_release,
    /* .upload = */ cu_upload,
    /* .download = */ cu_download,
    /* .check = */ cu_check,
    /* .sumsq = */ cu_sumsq,
    /* .scale = */ cu_scale,
    /* .gemm = */ cu_gemm,
    /* .embed = */ cu_embed,
    /* .embed_backward = */ cu_embed_backward,
    /* .layernorm = */ cu_layernorm,
    /* .layernorm_backward = */ cu_layernorm_backward,
    /* .rmsnorm = */ cu_rmsnorm,
    /* .rmsnorm_backward = */ cu_rmsnorm_backward,
    /* .add_bias = */ cu_add_bias,
    /* .bias_backward = */ cu_bias_backward,
    /* .clip = */ cu_clip,
    /* .clip_backward = */ cu_clip_backward,
    /* .rope = */ cu_rope,
    /* .attention = */ cu_attention,
    /* .attention_backward = */ cu_attention_backward,
    /* .attention_cached = */ cu_attention_cached,
    /* .swiglu = */ cu_swiglu,
    /* .swiglu_backward = */ cu_swiglu_backward,
    /* .add = */ cu_add,
    /* .copy = */ cu_copy,
    /* .zero = */ cu_zero,
    /* .gather_rows = */ cu_gather_rows,
    /* .scatter_rows = */ cu_scatter_rows,
    /* .kv_store = */ cu_kv_store,
    /* .classifier = */ cu_classifier,
    /* .logits = */ cu_logits,
    /* .adam = */ cu_adam,
    /* .mem_in_use = */ cu_mem_in_use,
    /* .gemm_bf16w = */ cu_gemm_bf16w,
    /* .upload_bf16 = */ cu_upload_bf16,
    /* .reserve_bf16 = */ cu_reserve_bf16,
    /* .classifier_bf16w = */ NULL, /* bf16 head: CPU only; the CUDA head stays fp32 */
    /* .logits_bf16w = */ NULL,
    /* .embed_bf16 = */ NULL,
    /* .reserve_attention = */ cu_reserve_attention,
};

extern "C" const lethe_ops *lethe_cuda_ops(void) { return &CUDA_OPS; }

extern "C" lethe_status lethe_cuda_available(void) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return lethe_fail(LETHE_ERR_DEVICE, "CUDA: no usable GPU (%s)", cudaGetErrorString(e));
  if (n < 1) return lethe_fail(LETHE_ERR_DEVICE, "CUDA: no GPU found");
  return LETHE_OK;
}
