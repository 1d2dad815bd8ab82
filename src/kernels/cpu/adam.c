/* kernels/cpu/adam.c: the Adam / AdamW update (fp32 state), as torch.optim.Adam(W) computes it:
 * m = lerp(m, g, 1-b1); v = b2 v + (1-b2) g^2; p -= lr * (m / b1c) / (sqrt(v / b2c) + eps),
 * with weight decay as torch applies it: g += wd p (Adam) or p -= lr wd p first (AdamW). */
#include <math.h>

#include "kernels/cpu/cpu.h"

void cpu_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2, float eps,
    float wd, int decoupled, float b1c, float b2c) {
  float sb2 = sqrtf(b2c);
  float step = lr / b1c;
#pragma omp parallel for simd if (n > LETHE_CPU_PAR_MIN)
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    if (wd != 0.0f) {
      if (decoupled)
        p[i] *= 1.0f - lr * wd;
      else
        gi += wd * p[i];
    }
    m[i] += (1.0f - beta1) * (gi - m[i]);
    v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    p[i] -= step * m[i] / (sqrtf(v[i]) / sb2 + eps);
  }
}
