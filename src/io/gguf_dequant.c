/* io/gguf_dequant.c: ggml tensor types: names, block sizes, and dequantisation to fp32 of the
 * types lethe reads (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K), following ggml's block layouts:
 *   Q8_0  32 values: f16 d, int8 q[32]                      x = q * d
 *   Q4_0  32 values: f16 d, u8 q[16]                         x[j] = (lo(q[j]) - 8) * d, x[j+16] = (hi(q[j]) - 8) * d
 *   Q4_1  32 values: f16 d, f16 m, u8 q[16]                  x[j] = lo(q[j]) * d + m, x[j+16] = hi(q[j]) * d + m
 *   Q4_K  256 values: f16 d, f16 dmin, u8 scales[12] (eight 6-bit scales and mins), u8 q[128];
 *         sub-block s of 32: x = (d * sc[s]) * q - (dmin * mn[s]); pairs of sub-blocks share 32
 *         bytes of q, the first taking low nibbles, the second high nibbles
 *   Q6_K  256 values: u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits), int8 scales[16], f16 d;
 *         x = (d * scales[i / 16]) * (q - 32)
 * Products are formed in the order ggml and gguf-py form them, one rounding each (no fused
 * multiply-add: each product is its own statement), so results match gguf-py bit for bit. */
#include <string.h>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "util/error.h"

typedef struct {
  const char *name;
  int block;
  int bytes;
} type_info;

/* ggml's numbering; gaps are ids that ggml removed. */
static const type_info TYPES[] = {
    [0] = {"F32", 1, 4},
    [1] = {"F16", 1, 2},
    [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},
    [6] = {"Q5_0", 32, 22},
    [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},
    [9] = {"Q8_1", 32, 36},
    [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110},
    [12] = {"Q4_K", 256, 144},
    [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},
    [15] = {"Q8_K", 256, 292},
    [16] = {"IQ2_XXS", 256, 66},
    [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98},
    [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},
    [21] = {"IQ3_S", 256, 110},
    [22] = {"IQ2_S", 256, 82},
    [23] = {"IQ4_XS", 256, 136},
    [24] = {"I8", 1, 1},
    [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},
    [27] = {"I64", 1, 8},
    [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},
    [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},
    [39] = {"MXFP4", 32, 17},
    [40] = {"NVFP4", 64, 36},
    [41] = {"Q1_0", 128, 18},
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

const char *lethe_ggml_type_name(uint32_t type) { return type < NTYPES ? TYPES[type].name : NULL; }
int lethe_ggml_block_size(uint32_t type) { return type < NTYPES ? TYPES[type].block : 0; }
size_t lethe_ggml_block_bytes(uint32_t type) { return type < NTYPES ? (size_t)TYPES[type].bytes : 0; }

int lethe_ggml_type_supported(uint32_t type) {
  switch (type) {
  case GGML_F32:
  case GGML_F16:
  case GGML_BF16:
  case GGML_Q8_0:
  case GGML_Q4_0:
  case GGML_Q4_1:
  case GGML_Q4_K:
  case GGML_Q6_K: return 1;
  default: return 0;
  }
}

static float h2f(const uint8_t *p) { return lethe_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static void deq_q8_0(const uint8_t *b, float *y) {
  float d = h2f(b);
  for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

static void deq_q4_0(const uint8_t *b, float *y) {
  float d = h2f(b);
  const uint8_t *q = b + 2;
  for (int j = 0; j < 16; j++) {
    y[j] = (float)((q[j] & 0x0F) - 8) * d;
    y[j + 16] = (float)((q[j] >> 4) - 8) * d;
  }
}

static void deq_q4_1(const uint8_t *b, float *y) {
  float d = h2f(b), m = h2f(b + 2);
  const uint8_t *q = b + 4;
  for (int j = 0; j < 16; j++) {
    float lo = (float)(q[j] & 0x0F) * d;
    float hi = (float)(q[j] >> 4) * d;
    y[j] = lo + m;
    y[j + 16] = hi + m;
  }
}

/* Scale and min of sub-block j (0..7) from the 12 packed bytes: j < 4 keeps them in the low six
 * bits of bytes j and j + 4; j >= 4 puts the low four bits in byte j + 4 (scale: low nibble, min:
 * high nibble) and the top two bits in the high bits of bytes j - 4 (scale) and j (min). */
static void scale_min_k4(int j, const uint8_t *s, int *sc, int *mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

static void deq_q4_k(const uint8_t *b, float *y) {
  float d = h2f(b), dmin = h2f(b + 2);
  const uint8_t *scales = b + 4, *q = b + 16;
  for (int s = 0; s < 8; s += 2) {
    int sc0, m0, sc1, m1;
    scale_min_k4(s, scales, &sc0, &m0);
    scale_min_k4(s + 1, scales, &sc1, &m1);
    float d0 = d * (float)sc0, dm0 = dmin * (float)m0;
    float d1 = d * (float)sc1, dm1 = dmin * (float)m1;
    for (int l = 0; l < 32; l++) {
      float p = d0 * (float)(q[l] & 0x0F);
      y[l] = p - dm0;
    }
    for (int l = 0; l < 32; l++) {
      float p = d1 * (float)(q[l] >> 4);
      y[32 + l] = p - dm1;
    }
    y += 64;
    q += 32;
  }
}

static void deq_q6_k(const uint8_t *b, float *y) {
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = (const int8_t *)(b + 192);
  float d = h2f(b + 208);
  for (int half = 0; half < 2; half++) {
    for (int l = 0; l < 32; l++) {
      int is = l / 16;
      int q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      float s1 = d * (float)sc[is], s2 = d * (float)sc[is + 2], s3 = d * (float)sc[is + 4], s4 = d * (float)sc[is + 6];
      y[l] = s1 * (float)q1;
      y[l + 32] = s2 * (float)q2;
      y[l + 64] = s3 * (float)q3;
      y[l + 96] = s4 * (float)q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

/* Large tensors are split over OpenMP threads (each value depends on its own block only). */
#define PAR_MIN ((long)1 << 18)

void lethe_ggml_dequantize(uint32_t type, const uint8_t *src, float *dst, size_t n) {
  long ln = (long)n;
  switch (type) {
  case GGML_F32: memcpy(dst, src, n * sizeof(float)); return;
  case GGML_F16: // NOLINT(bugprone-branch-clone): the F16 and BF16 loops differ inside OpenMP
#pragma omp parallel for if (ln >= PAR_MIN) schedule(static)
    for (long i = 0; i < ln; i++) dst[i] = h2f(src + 2 * i);
    return;
  case GGML_BF16:
#pragma omp parallel for if (ln >= PAR_MIN) schedule(static)
    for (long i = 0; i < ln; i++) dst[i] = lethe_bf16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
    return;
  default: break;
  }
  size_t bs = (size_t)lethe_ggml_block_size(type), bb = lethe_ggml_block_bytes(type);
  void (*f)(const uint8_t *, float *) = type == GGML_Q8_0   ? deq_q8_0
                                        : type == GGML_Q4_0 ? deq_q4_0
                                        : type == GGML_Q4_1 ? deq_q4_1
                                        : type == GGML_Q4_K ? deq_q4_k
                                        : type == GGML_Q6_K ? deq_q6_k
                                                            : NULL;
  if (!f || !bs) return;
  long nb = (long)(n / bs);
#pragma omp parallel for if (ln >= PAR_MIN) schedule(static)
  for (long i = 0; i < nb; i++) f(src + (size_t)i * bb, dst + (size_t)i * bs);
}

lethe_status lethe_gguf_tensor_f32(const lethe_gguf *g, const lethe_gguf_tensor *t, float *dst) {
  if (!lethe_ggml_type_supported(t->type)) {
    const char *tn = lethe_ggml_type_name(t->type);
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: tensor '%s': unsupported tensor type %s (lethe reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)",
        g->name, t->name, tn ? tn : "?");
  }
  lethe_ggml_dequantize(t->type, t->data, dst, t->numel);
  return LETHE_OK;
}
