/* eval/sample.c: the next-token distribution when sampling, as transformers' generate builds it
 * from its logits processors in their order: TemperatureLogitsWarper (scores / T), TopKLogitsWarper
 * (scores below the k-th largest to -inf; ties with it stay), TopPLogitsWarper (ascending sort,
 * softmax, cumulative sum: tokens whose cumulative probability is <= 1 - top_p go, the most likely
 * one always stays), then softmax; and one draw from it. */
#include <math.h>
#include <stdlib.h>

#include "lethe/generate.h"
#include "eval/sample.h"

/* descending score, ties by ascending id */
static int by_score_desc(const void *a, const void *b, void *ctx) {
  const float *z = ctx;
  int i = *(const int *)a, j = *(const int *)b;
  if (z[i] > z[j]) return -1;
  if (z[i] < z[j]) return 1;
  return (i > j) - (i < j);
}

void lethe_sample_probs(const float *logits, int V, const lethe_sampler *s, float *probs, int *order) {
  /* probs first holds the processed scores (V), then the probabilities */
  float T = s->temperature > 0 ? (float)s->temperature : 1.0f;
  for (int v = 0; v < V; v++) probs[v] = T != 1.0f ? logits[v] / T : logits[v];
  for (int v = 0; v < V; v++) order[v] = v;
  qsort_r(order, (size_t)V, sizeof *order, by_score_desc, probs);
  if (s->top_k > 0 && s->top_k < V) {
    float kth = probs[order[s->top_k - 1]];
    for (int j = s->top_k; j < V; j++)
      if (probs[order[j]] < kth) probs[order[j]] = -INFINITY;
  }
  double mx = probs[order[0]], sum = 0;
  for (int v = 0; v < V; v++) sum += isinf(probs[v]) && probs[v] < 0 ? 0.0 : exp((double)probs[v] - mx);
  if (s->top_p < 1.0 && s->top_p >= 0) {
    /* ascending cumulative probability: from the least likely (order[V-1]) up */
    double cum = 0;
    for (int j = V - 1; j >= 1; j--) {
      int v = order[j];
      double p = isinf(probs[v]) && probs[v] < 0 ? 0.0 : exp((double)probs[v] - mx) / sum;
      cum += p;
      if (cum <= 1.0 - s->top_p) probs[v] = -INFINITY;
    }
    sum = 0;
    for (int v = 0; v < V; v++) sum += isinf(probs[v]) && probs[v] < 0 ? 0.0 : exp((double)probs[v] - mx);
  }
  for (int v = 0; v < V; v++)
    probs[v] = isinf(probs[v]) && probs[v] < 0 ? 0.0f : (float)(exp((double)probs[v] - mx) / sum);
}

int lethe_sample_draw(const float *probs, int V, lethe_rng *r) {
  double u = lethe_rng_uniform(r), cum = 0;
  int last = 0;
  for (int v = 0; v < V; v++) {
    if (probs[v] <= 0) continue;
    cum += probs[v];
    last = v;
    if (u < cum) return v;
  }
  return last; /* rounding: the sum fell just short of u */
}
