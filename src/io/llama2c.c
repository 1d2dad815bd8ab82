/* io/llama2c.c: llama2.c checkpoints (the legacy "version 0" export: seven int32 header fields,
 * then fp32 weights; a negative vocab_size means an untied classifier follows). llama2.c rotates
 * interleaved pairs (2i, 2i+1) where Hugging Face rotates halves (i, i + hd/2), so the rows of
 * wq and wk are permuted within each head on load; attention scores are unchanged. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "model/model.h"
#include "util/error.h"
#include "util/fileio.h"

/* Copies `rows` rows of `cols` floats from src into dst, permuting rows within each head from
 * interleaved pairs to halves: new row c * hd/2 + i <- old row 2 i + c. */
static void permute_rope_rows(float *dst, const float *src, int n_heads, int hd, int cols) {
  int half = hd / 2;
  for (int h = 0; h < n_heads; h++)
    for (int c = 0; c < 2; c++)
      for (int i = 0; i < half; i++)
        memcpy(dst + ((size_t)h * hd + (size_t)c * half + i) * cols, src + ((size_t)h * hd + 2 * (size_t)i + c) * cols,
            sizeof(float) * cols);
}

lethe_status lethe_llama2c_load(const char *path, lethe_model **out) {
  *out = NULL;
  lethe_mapped_file f;
  LETHE_TRY(lethe_map_file(path, &f));
  lethe_status s = LETHE_OK;
  lethe_model *m = NULL;
  if (f.size < 28) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: too short for a llama2.c checkpoint (%zu bytes)", path, f.size);
    goto done;
  }
  if (!memcmp(f.data, "ak42", 4)) {
    s = lethe_fail(
        LETHE_ERR_UNSUPPORTED, "%s: llama2.c export versions 1 and 2 are not supported (use the legacy export)", path);
    goto done;
  }
  int32_t h[7];
  memcpy(h, f.data, sizeof h);
  int dim = h[0], hidden = h[1], nl = h[2], nh = h[3], nkv = h[4], vocab = h[5], seq = h[6];
  int shared = vocab > 0;
  if (vocab < 0) vocab = vocab == INT_MIN ? 0 : -vocab; /* INT_MIN has no negation: invalid below */
  if (dim <= 0 || hidden <= 0 || nl <= 0 || nh <= 0 || nkv <= 0 || vocab <= 0 || seq <= 0 || dim > (1 << 16) ||
      hidden > (1 << 18) || nl > 1024 || nh > 1024 || nkv > nh || vocab > (1 << 22) || seq > (1 << 20) || dim % nh ||
      nh % nkv || (dim / nh) % 2) {
    s = lethe_fail(LETHE_ERR_FORMAT,
        "%s: header [dim %d, hidden %d, layers %d, heads %d, kv heads %d, vocab %d, seq %d] is not a valid "
        "llama2.c checkpoint",
        path, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    goto done;
  }
  int hd = dim / nh, kv = nkv * hd;
  size_t n = (size_t)vocab * dim + (size_t)nl * dim + (size_t)nl * dim * dim + 2 * (size_t)nl * kv * dim +
             (size_t)nl * dim * dim + (size_t)nl * dim + 3 * (size_t)nl * hidden * dim + dim + (size_t)seq * hd;
  if (!shared) n += (size_t)vocab * dim;
  if (f.size != 28 + 4 * n) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: file is %zu bytes, the header implies %zu", path, f.size, 28 + 4 * n);
    goto done;
  }
  lethe_config c;
  memset(&c, 0, sizeof c);
  c.arch = LETHE_ARCH_LLAMA;
  snprintf(c.model_type, sizeof c.model_type, "llama");
  c.vocab_size = vocab;
  c.dim = dim;
  c.n_layers = nl;
  c.n_heads = nh;
  c.n_kv_heads = nkv;
  c.head_dim = hd;
  c.hidden_dim = hidden;
  c.max_seq_len = seq;
  c.norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_embeddings = shared;
  c.bos_id = 1;
  /* eos 2 as in the Llama-2 vocabulary; llama2.c's own sampler also stops at BOS (1), which its
   * training data uses to delimit documents. */
  c.eos_ids[0] = 2;
  c.eos_ids[1] = 1;
  c.n_eos = 2;
  c.pad_id = -1;
  snprintf(c.dtype, sizeof c.dtype, "float32");
  if ((s = lethe_model_alloc(&c, &m))) goto done;
  // cppcheck-suppress invalidPointerCast ; mapped file (page-aligned), 28 is a multiple of 4
  const float *p = (const float *)(f.data + 28);
  memcpy(m->embed, p, sizeof(float) * (size_t)vocab * dim);
  p += (size_t)vocab * dim;
  for (int l = 0; l < nl; l++) memcpy(m->layers[l].attn_norm, p + (size_t)l * dim, sizeof(float) * dim);
  p += (size_t)nl * dim;
  for (int l = 0; l < nl; l++) permute_rope_rows(m->layers[l].wqkv, p + (size_t)l * dim * dim, nh, hd, dim);
  p += (size_t)nl * dim * dim;
  for (int l = 0; l < nl; l++)
    permute_rope_rows(m->layers[l].wqkv + (size_t)dim * dim, p + (size_t)l * kv * dim, nkv, hd, dim);
  p += (size_t)nl * kv * dim;
  for (int l = 0; l < nl; l++)
    memcpy(m->layers[l].wqkv + (size_t)(dim + kv) * dim, p + (size_t)l * kv * dim, sizeof(float) * kv * dim);
  p += (size_t)nl * kv * dim;
  for (int l = 0; l < nl; l++) memcpy(m->layers[l].wo, p + (size_t)l * dim * dim, sizeof(float) * dim * dim);
  p += (size_t)nl * dim * dim;
  for (int l = 0; l < nl; l++) memcpy(m->layers[l].mlp_norm, p + (size_t)l * dim, sizeof(float) * dim);
  p += (size_t)nl * dim;
  /* w1 = gate, w2 = down, w3 = up */
  for (int l = 0; l < nl; l++) memcpy(m->layers[l].wgu, p + (size_t)l * hidden * dim, sizeof(float) * hidden * dim);
  p += (size_t)nl * hidden * dim;
  for (int l = 0; l < nl; l++) memcpy(m->layers[l].wdown, p + (size_t)l * dim * hidden, sizeof(float) * dim * hidden);
  p += (size_t)nl * dim * hidden;
  for (int l = 0; l < nl; l++)
    memcpy(m->layers[l].wgu + (size_t)hidden * dim, p + (size_t)l * hidden * dim, sizeof(float) * hidden * dim);
  p += (size_t)nl * hidden * dim;
  memcpy(m->final_norm, p, sizeof(float) * dim);
  p += dim;
  p += (size_t)seq * hd; /* freq_cis_real and freq_cis_imag: recomputed */
  if (!shared) memcpy(m->head, p, sizeof(float) * (size_t)vocab * dim);
done:
  lethe_unmap_file(&f);
  if (s)
    lethe_model_free(m);
  else
    *out = m;
  return s;
}
