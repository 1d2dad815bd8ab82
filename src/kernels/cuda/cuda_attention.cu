/* kernels/cuda/cuda_attention.cu: causal multi-head attention (GQA, sliding window) over packed
 * sequences and against a KV cache, forward and backward. This first version is the correct, plain
 * one: a block per (row, head) with the row's scores in shared memory; the backward recomputes the
 * probabilities from the forward's log-sum-exp, a block per (query row, head) for dQ and per
 * (key row, kv head) for dK and dV, so that nothing is written twice and no atomics are needed.
 * Training batches normally take the cuBLAS path of cuda_attn_gemm.cu instead; these kernels serve
 * the KV cache, sequences too long for its scratch, and LETHE_CUDA_ATTENTION=plain (a check). */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

#define T 128

__device__ static inline int seq_of(const int *start, int n_seq, int t) {
  int lo = 0, hi = n_seq - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (start[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

__device__ static inline float dotv(const float *a, const float *b, int n) {
  float s = 0.0f;
  for (int c = 0; c < n; c++) s += a[c] * b[c];
  return s;
}

/* Scores of one query row against keys k0 + j * ld for j in [0, L), softmax in place; returns
 * the log-sum-exp; then out[c] = sum_j p_j v_j[c]. */
__device__ static void attend(float *out, float *lse_out, const float *q, const float *k0, const float *v0, size_t ld, int L,
                              int hd, float scale, float *sc, float *sh) {
  float m = -INFINITY;
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    float s = dotv(q, k0 + (size_t)j * ld, hd) * scale;
    sc[j] = s;
    m = fmaxf(m, s);
  }
  m = block_max(m, sh);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    float p = expf(sc[j] - m);
    sc[j] = p;
    sum += p;
  }
  sum = block_sum(sum, sh);
  float inv = 1.0f / sum;
  for (int c = threadIdx.x; c < hd; c += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < L; j++) acc += sc[j] * v0[(size_t)j * ld + c];
    out[c] = acc * inv;
  }
  if (lse_out && threadIdx.x == 0) *lse_out = m + logf(sum);
}

__global__ static void k_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
                                   const int *start, int n_seq, int H, int KV, int hd, int window) {
  extern __shared__ float sc[];
  __shared__ float sh[32];
  int t = blockIdx.x, h = blockIdx.y, kvh = h / (H / KV);
  int s0 = start[seq_of(start, n_seq, t)];
  int j0 = (window > 0 && t - window + 1 > s0) ? t - window + 1 : s0;
  attend(out + (size_t)t * H * hd + (size_t)h * hd, lse + (size_t)t * H + h, q + (size_t)t * ldq + (size_t)h * hd,
         k + (size_t)j0 * ldkv + (size_t)kvh * hd, v + (size_t)j0 * ldkv + (size_t)kvh * hd, (size_t)ldkv, t - j0 + 1, hd,
         rsqrtf((float)hd), sc, sh);
}

/* The longest sequence the workspace was sized for: its attention scratch holds
 * 2 * LETHE_ATTN_BLOCK * longest floats per thread. */
static int longest_of(const lethe_scratch *s) { return (int)(s->per_thread / (2 * LETHE_ATTN_BLOCK)); }

static int smem_ok(size_t bytes) {
  if (bytes <= 48 * 1024) return 1;
  lethe_cuda_fail("attention", "a sequence is too long for the plain attention kernel's shared memory");
  return 0;
}

extern "C" void cu_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
                             const int *start, int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *scratch) {
  if (N <= 0) return;
  if (cu_attention_gemm(out, lse, q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window)) return;
  size_t smem = sizeof(float) * (size_t)longest_of(scratch);
  if (!smem_ok(smem)) return;
  k_attention<<<dim3(N, H), T, smem>>>(out, lse, q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window);
  CK_LAUNCH();
}

/* dQ: a block per (query row i, head h). ds_j = p_ij (dO_i . v_j - D_i), D_i = dO_i . O_i. */
__global__ static void k_attention_dq(float *dq, const float *dout, const float *out, const float *lse, const float *q,
                                      const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq, int H,
                                      int KV, int hd, int window) {
  extern __shared__ float ds[];
  __shared__ float sh[32];
  int i = blockIdx.x, h = blockIdx.y, kvh = h / (H / KV), ldo = H * hd;
  int s0 = start[seq_of(start, n_seq, i)];
  int j0 = (window > 0 && i - window + 1 > s0) ? i - window + 1 : s0, L = i - j0 + 1;
  const float *qi = q + (size_t)i * ldq + (size_t)h * hd, *doi = dout + (size_t)i * ldo + (size_t)h * hd,
              *oi = out + (size_t)i * ldo + (size_t)h * hd;
  float part = 0.0f;
  for (int c = threadIdx.x; c < hd; c += blockDim.x) part += doi[c] * oi[c];
  float D = block_sum(part, sh), li = lse[(size_t)i * H + h], scale = rsqrtf((float)hd);
  const float *K = k + (size_t)j0 * ldkv + (size_t)kvh * hd, *Vv = v + (size_t)j0 * ldkv + (size_t)kvh * hd;
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    float p = expf(dotv(qi, K + (size_t)j * ldkv, hd) * scale - li);
    ds[j] = p * (dotv(doi, Vv + (size_t)j * ldkv, hd) - D);
  }
  __syncthreads();
  for (int c = threadIdx.x; c < hd; c += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < L; j++) acc += ds[j] * K[(size_t)j * ldkv + c];
    dq[(size_t)i * ldq + (size_t)h * hd + c] = acc * scale;
  }
}

/* dK and dV: a block per (key row j, kv head g), over the query rows i >= j of its sequence (within
 * the window) and the heads of the group. */
__global__ static void k_attention_dkv(float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                       const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start,
                                       int n_seq, int H, int KV, int hd, int window) {
  extern __shared__ float buf[];
  int j = blockIdx.x, g = blockIdx.y, group = H / KV, ldo = H * hd;
  int s = seq_of(start, n_seq, j), end = start[s + 1];
  int i1 = end; /* exclusive */
  if (window > 0 && j + window < i1) i1 = j + window;
  int L = i1 - j;
  float *P = buf, *dS = buf + L;
  const float *kj = k + (size_t)j * ldkv + (size_t)g * hd, *vj = v + (size_t)j * ldkv + (size_t)g * hd;
  float scale = rsqrtf((float)hd);
  for (int c = threadIdx.x; c < hd; c += blockDim.x) {
    dk[(size_t)j * ldkv + (size_t)g * hd + c] = 0.0f;
    dv[(size_t)j * ldkv + (size_t)g * hd + c] = 0.0f;
  }
  for (int h = g * group; h < (g + 1) * group; h++) {
    __syncthreads();
    for (int r = threadIdx.x; r < L; r += blockDim.x) {
      int i = j + r;
      const float *qi = q + (size_t)i * ldq + (size_t)h * hd, *doi = dout + (size_t)i * ldo + (size_t)h * hd,
                  *oi = out + (size_t)i * ldo + (size_t)h * hd;
      float p = expf(dotv(qi, kj, hd) * scale - lse[(size_t)i * H + h]);
      P[r] = p;
      dS[r] = p * (dotv(doi, vj, hd) - dotv(doi, oi, hd));
    }
    __syncthreads();
    for (int c = threadIdx.x; c < hd; c += blockDim.x) {
      float ak = 0.0f, av = 0.0f;
      for (int r = 0; r < L; r++) {
        int i = j + r;
        ak += dS[r] * q[(size_t)i * ldq + (size_t)h * hd + c];
        av += P[r] * dout[(size_t)i * ldo + (size_t)h * hd + c];
      }
      dk[(size_t)j * ldkv + (size_t)g * hd + c] += ak * scale;
      dv[(size_t)j * ldkv + (size_t)g * hd + c] += av;
    }
  }
}

extern "C" void cu_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                      const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start,
                                      int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *scratch) {
  if (N <= 0) return;
  if (cu_attention_gemm_backward(dq, dk, dv, dout, out, lse, q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window)) return;
  size_t smem = sizeof(float) * (size_t)longest_of(scratch);
  if (!smem_ok(2 * smem)) return;
  k_attention_dq<<<dim3(N, H), T, smem>>>(dq, dout, out, lse, q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window);
  CK_LAUNCH();
  k_attention_dkv<<<dim3(N, KV), T, 2 * smem>>>(dk, dv, dout, out, lse, q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window);
  CK_LAUNCH();
}

__global__ static void k_attention_cached(float *out, const float *q, int ldq, const float *kc, const float *vc, const int *slot,
                                          const int *pos, int max_pos, int H, int KV, int hd, int window) {
  extern __shared__ float sc[];
  __shared__ float sh[32];
  int t = blockIdx.x, h = blockIdx.y, kvh = h / (H / KV);
  int p = pos[t], j0 = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
  size_t ld = (size_t)KV * hd, base = (size_t)slot[t] * max_pos * ld + (size_t)kvh * hd;
  attend(out + (size_t)t * H * hd + (size_t)h * hd, NULL, q + (size_t)t * ldq + (size_t)h * hd, kc + base + (size_t)j0 * ld,
         vc + base + (size_t)j0 * ld, ld, p - j0 + 1, hd, rsqrtf((float)hd), sc, sh);
}

extern "C" void cu_attention_cached(float *out, const float *q, int ldq, const float *kc, const float *vc, const int *slot,
                                    const int *pos, int N, int max_pos, int H, int KV, int hd, int window) {
  if (N <= 0) return;
  size_t smem = sizeof(float) * (size_t)max_pos;
  if (!smem_ok(smem)) return;
  k_attention_cached<<<dim3(N, H), T, smem>>>(out, q, ldq, kc, vc, slot, pos, max_pos, H, KV, hd, window);
  CK_LAUNCH();
}
