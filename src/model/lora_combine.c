/* model/lora_combine.c: several LoRA adapters merged into one model: a weighted sum of their
 * deltas s B A, or TIES-merging (trim each delta to its largest entries, elect a sign per entry by
 * summed weighted mass, average the entries that agree), tensor by tensor on the host copy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/lora.h"
#include "model/model.h"
#include "util/error.h"

static int cmp_desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? 1 : (x > y ? -1 : 0);
}

/* Zeroes the entries of d (n) below its k-th largest magnitude (k >= 1); ties at it are kept. */
static void trim(float *d, size_t n, size_t k, float *scratch) {
  for (size_t i = 0; i < n; i++) scratch[i] = fabsf(d[i]);
  qsort(scratch, n, sizeof *scratch, cmp_desc);
  float thr = scratch[k - 1];
  for (size_t i = 0; i < n; i++)
    if (fabsf(d[i]) < thr) d[i] = 0.0f;
}

/* Fortran LAPACK in OpenBLAS (no LAPACKE header there): the SVD by divide and conquer. */
void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda, float *s, float *u, const int *ldu,
    float *vt, const int *ldvt, float *work, const int *lwork, int *iwork, int *info, size_t jobz_len);

static lethe_status check_args(
    const lethe_model *m, const lethe_lora *const *ad, int n, lethe_combine how, double density) {
  if (n < 1) return lethe_fail(LETHE_ERR_INVALID, "no adapters to combine");
  if (how == LETHE_COMBINE_TIES && !(density > 0 && density <= 1))
    return lethe_fail(LETHE_ERR_INVALID, "TIES density %g must be in (0, 1]", density);
  if (m->wbf16) return lethe_fail(LETHE_ERR_UNSUPPORTED, "combining adapters needs the model's fp32 weights");
  for (int i = 0; i < n; i++)
    if (ad[i]->n_layers != m->cfg.n_layers)
      return lethe_fail(
          LETHE_ERR_INVALID, "adapter %d has %d layers, the model %d", i + 1, ad[i]->n_layers, m->cfg.n_layers);
  return LETHE_OK;
}

/* The combined delta (out, in) of projection p of a layer into merged; delta holds (n + 1) tensors
 * of scratch. Returns 0 when no adapter adapts it. */
static int combined_delta(const lethe_lora *const *ad, const double *w, int n, lethe_combine how, double density,
    int lay, int p, float *delta, float *merged) {
  int any = 0;
  for (int i = 0; i < n; i++) any |= (ad[i]->cfg.targets >> p) & 1u;
  if (!any) return 0;
  const lethe_ops *cpu = lethe_cpu_ops();
  int out = ad[0]->out_dim[p], in = ad[0]->in_dim[p];
  size_t sz = (size_t)out * in;
  float *scratch = delta + sz * (size_t)n;
  for (int i = 0; i < n; i++) {
    float *D = delta + sz * (size_t)i; /* (out, in) */
    const lethe_lora *l = ad[i];
    if (!((l->cfg.targets >> p) & 1u)) {
      memset(D, 0, sizeof(float) * sz);
      continue;
    }
    lethe_lora_sync_host((lethe_lora *)l);
    cpu->gemm(0, 0, out, in, l->cfg.rank, l->scale, lethe_lora_host_of(l, lethe_lora_B(l, p, lay)), l->cfg.rank,
        lethe_lora_host_of(l, lethe_lora_A(l, p, lay)), in, 0.0f, D, in);
    if (how == LETHE_COMBINE_TIES) {
      size_t k = (size_t)llround(density * (double)sz);
      if (k == 0)
        memset(D, 0, sizeof(float) * sz);
      else if (k < sz)
        trim(D, sz, k, scratch);
    }
  }
  for (size_t e = 0; e < sz; e++) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += w[i] * delta[sz * (size_t)i + e];
    merged[e] = 0.0f;
    if (how == LETHE_COMBINE_LINEAR) {
      merged[e] = (float)sum;
      continue;
    }
    if (sum == 0) continue;
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
      float d = delta[sz * (size_t)i + e];
      if (d != 0 && (d > 0) == (sum > 0)) {
        num += w[i] * d;
        den += w[i];
      }
    }
    if (den != 0) merged[e] = (float)(num / den);
  }
  return 1;
}

static size_t largest_tensor(const lethe_lora *l) {
  size_t most = 0;
  for (int p = 0; p < LETHE_NPROJ; p++) {
    size_t sz = (size_t)l->out_dim[p] * l->in_dim[p];
    if (sz > most) most = sz;
  }
  return most;
}

lethe_status lethe_lora_combine(
    lethe_model *m, const lethe_lora *const *ad, const double *w, int n, lethe_combine how, double density) {
  LETHE_TRY(check_args(m, ad, n, how, density));
  size_t most = largest_tensor(ad[0]);
  float *delta = malloc(sizeof(float) * most * (size_t)(n + 2)); /* n deltas, sort scratch, the result */
  if (!delta) return lethe_fail(LETHE_ERR_NOMEM, "out of memory for %d deltas of %zu values", n, most);
  float *merged = delta + most * (size_t)(n + 1);
  for (int lay = 0; lay < m->cfg.n_layers; lay++)
    for (int p = 0; p < LETHE_NPROJ; p++) {
      if (!combined_delta(ad, w, n, how, density, lay, p, delta, merged)) continue;
      float *W = lethe_model_host_proj(m, lay, p); /* (out, in) */
      size_t sz = (size_t)ad[0]->out_dim[p] * ad[0]->in_dim[p];
      for (size_t e = 0; e < sz; e++) W[e] += merged[e];
    }
  free(delta);
  return lethe_model_refresh_device(m);
}

lethe_status lethe_lora_combine_to_adapter(const lethe_model *m, const lethe_lora *const *ad, const double *w, int n,
    lethe_combine how, double density, int rank, lethe_lora **out, double *err_max, double *err_all) {
  *out = NULL;
  LETHE_TRY(check_args(m, ad, n, how, density));
  unsigned targets = 0;
  for (int i = 0; i < n; i++) targets |= ad[i]->cfg.targets;
  int kmax = 0;
  for (int p = 0; p < LETHE_NPROJ; p++)
    if ((targets >> p) & 1u) {
      int k = ad[0]->out_dim[p] < ad[0]->in_dim[p] ? ad[0]->out_dim[p] : ad[0]->in_dim[p];
      if (k > kmax) kmax = k;
    }
  if (rank < 1 || rank > kmax)
    return lethe_fail(LETHE_ERR_INVALID, "--as-adapter rank %d must be in [1, %d]", rank, kmax);
  /* scale alpha / r = 1: B = U_R sqrt(S_R), A = sqrt(S_R) V_R^T */
  /* the result adapts what some input adapts, layer by layer (adapters may cover some layers only) */
  unsigned *lt = calloc((size_t)m->cfg.n_layers, sizeof *lt);
  if (!lt) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n; i++)
    for (int lay = 0; lay < m->cfg.n_layers; lay++) lt[lay] |= ad[i]->layer_targets[lay];
  lethe_lora_config lc = {
      .rank = rank, .alpha = rank, .targets = targets, .layer_targets = lt, .init = LETHE_LORA_INIT_XAVIER};
  lethe_lora *l;
  lethe_status cs = lethe_lora_create(&m->cfg, &lc, 1, &l);
  free(lt);
  if (cs) return cs;
  size_t most = largest_tensor(ad[0]);
  float *delta = malloc(sizeof(float) * most * (size_t)(n + 2));
  float *sv = malloc(sizeof(float) * (size_t)kmax), *U = malloc(sizeof(float) * most),
        *VT = malloc(sizeof(float) * most);
  int *iwork = malloc(sizeof(int) * 8 * (size_t)kmax);
  float *work = NULL;
  lethe_status s = LETHE_OK;
  if (!delta || !sv || !U || !VT || !iwork) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory for the SVD");
  float *merged = delta ? delta + most * (size_t)(n + 1) : NULL;
  double tail_all = 0, total_all = 0;
  *err_max = 0;
  for (int lay = 0; lay < m->cfg.n_layers && !s; lay++)
    for (int p = 0; p < LETHE_NPROJ && !s; p++) {
      if (!combined_delta(ad, w, n, how, density, lay, p, delta, merged)) continue;
      /* merged (out, in) row-major is M = merged^T (in, out) column-major: M = U' S V'^T, so
       * merged = V' S U'^T: B[o][r] = V'^T(r, o) sqrt(s_r), A[r][i] = U'(i, r) sqrt(s_r) */
      int outd = ad[0]->out_dim[p], in = ad[0]->in_dim[p], k = outd < in ? outd : in, lwork = -1, info = 0;
      float wq;
      sgesdd_("S", &in, &outd, merged, &in, sv, U, &in, VT, &k, &wq, &lwork, iwork, &info, 1);
      lwork = (int)wq + 1;
      float *nw = realloc(work, sizeof(float) * (size_t)lwork);
      if (!nw) {
        s = lethe_fail(LETHE_ERR_NOMEM, "out of memory for the SVD workspace");
        break;
      }
      work = nw;
      sgesdd_("S", &in, &outd, merged, &in, sv, U, &in, VT, &k, work, &lwork, iwork, &info, 1);
      if (info != 0) {
        s = lethe_fail(LETHE_ERR_NUMERIC, "layer %d %s: the SVD did not converge (sgesdd info %d)", lay,
            LETHE_PROJ_NAMES[p], info);
        break;
      }
      double tail = 0, total = 0;
      for (int r = 0; r < k; r++) {
        total += (double)sv[r] * sv[r];
        if (r >= rank) tail += (double)sv[r] * sv[r];
      }
      if (total > 0 && sqrt(tail / total) > *err_max) *err_max = sqrt(tail / total);
      tail_all += tail;
      total_all += total;
      float *A = lethe_lora_A(l, p, lay), *B = lethe_lora_B(l, p, lay);
      for (int r = 0; r < rank; r++) {
        float q = r < k ? sqrtf(sv[r]) : 0.0f;
        for (int i = 0; i < in; i++) A[(size_t)r * in + i] = r < k ? U[(size_t)r * in + i] * q : 0.0f;
        for (int o = 0; o < outd; o++) B[(size_t)o * rank + r] = r < k ? VT[(size_t)o * k + r] * q : 0.0f;
      }
    }
  *err_all = total_all > 0 ? sqrt(tail_all / total_all) : 0;
  free(delta);
  free(sv);
  free(U);
  free(VT);
  free(iwork);
  free(work);
  if (s) {
    lethe_lora_free(l);
    return s;
  }
  *out = l;
  return LETHE_OK;
}
