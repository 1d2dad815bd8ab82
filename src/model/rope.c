/* model/rope.c: the RoPE tables (cos and sin of every position and frequency, on the model's
 * backend), with the rope_scaling variants as transformers computes them; extended at setup. */
#include <math.h>
#include <stdlib.h>

#include "model/model.h"
#include "util/error.h"

/* Inverse frequencies as transformers computes them in fp32, with rope_scaling applied. */
static void inv_freqs(const lethe_config *c, float *inv) {
  int half = c->head_dim / 2;
  for (int i = 0; i < half; i++) {
    float expo = (float)(2 * i) / (float)c->head_dim;
    inv[i] = 1.0f / powf((float)c->rope_theta, expo);
  }
  if (c->rope_type == LETHE_ROPE_LINEAR) {
    for (int i = 0; i < half; i++) inv[i] = inv[i] / (float)c->rope_factor;
  } else if (c->rope_type == LETHE_ROPE_LLAMA3) {
    double factor = c->rope_factor, lo = c->rope_low_freq_factor, hi = c->rope_high_freq_factor;
    double old = c->rope_original_max_pos;
    double low_wl = old / lo, high_wl = old / hi;
    for (int i = 0; i < half; i++) {
      float f = inv[i];
      float wl = (float)(2.0 * M_PI) / f;
      float scaled = wl > low_wl ? f / (float)factor : f;
      if (!(wl < high_wl) && !(wl > low_wl)) {
        float smooth = (float)((old / wl - lo) / (hi - lo));
        scaled = (1.0f - smooth) * scaled / (float)factor + smooth * scaled;
      }
      inv[i] = scaled;
    }
  }
}

lethe_status lethe_model_rope_reserve(lethe_model *m, int len) {
  if (len <= m->rope_len) return LETHE_OK;
  if (len > m->cfg.max_seq_len)
    return lethe_fail(LETHE_ERR_INVALID, "%d positions requested, the model supports %d", len, m->cfg.max_seq_len);
  int half = m->cfg.head_dim / 2;
  float *cs = malloc(sizeof(float) * (size_t)len * half), *sn = malloc(sizeof(float) * (size_t)len * half);
  float *inv = malloc(sizeof(float) * half);
  if (!cs || !sn || !inv) {
    free(cs);
    free(sn);
    free(inv);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate RoPE tables for %d positions", len);
  }
  inv_freqs(&m->cfg, inv);
  for (int p = 0; p < len; p++)
    for (int i = 0; i < half; i++) {
      float angle = (float)p * inv[i];
      cs[(size_t)p * half + i] = (float)cos((double)angle);
      sn[(size_t)p * half + i] = (float)sin((double)angle);
    }
  free(inv);
  size_t bytes = sizeof(float) * (size_t)len * half;
  float *dev_cos = m->ops->alloc(bytes), *dev_sin = m->ops->alloc(bytes);
  if (!dev_cos || !dev_sin) {
    if (dev_cos) m->ops->release(dev_cos);
    if (dev_sin) m->ops->release(dev_sin);
    free(cs);
    free(sn);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate RoPE tables for %d positions", len);
  }
  m->ops->upload(dev_cos, cs, bytes);
  m->ops->upload(dev_sin, sn, bytes);
  free(cs);
  free(sn);
  if (m->rope_cos) m->ops->release(m->rope_cos);
  if (m->rope_sin) m->ops->release(m->rope_sin);
  m->rope_cos = dev_cos;
  m->rope_sin = dev_sin;
  m->rope_len = len;
  return LETHE_OK;
}
