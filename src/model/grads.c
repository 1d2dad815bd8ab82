/* model/grads.c: the gradient buffer of full-parameter training, of every weight or of a subset
 * (layers and modules, --train-layers / --train-modules: spans of dev.params with a compact gradient
 * buffer), and the parsing of those flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/layout.h"
#include "model/model.h"
#include "util/error.h"

lethe_status lethe_model_enable_grads(lethe_model *m) {
  if (m->grads) return LETHE_OK;
  if (m->wbf16)
    return lethe_fail(LETHE_ERR_INVALID, "full-parameter training needs fp32 weights (use --device cuda:fp32)");
  m->grads = m->ops->alloc(m->n_params * sizeof(float));
  if (!m->grads)
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for gradients", m->n_params * sizeof(float));
  m->n_grads = m->n_params;
  m->grad_lo_layer = 0;
  return LETHE_OK;
}

/* The selection group of a layer tensor's name after "model.layers.L." (0: none). */
static unsigned tensor_group(const char *rest) {
  if (!strncmp(rest, "self_attn.", 10)) return strstr(rest, "norm") ? LETHE_TRAIN_NORMS : LETHE_TRAIN_ATTN;
  if (!strncmp(rest, "mlp.", 4)) return LETHE_TRAIN_MLP;
  if (strstr(rest, "norm")) return LETHE_TRAIN_NORMS;
  return 0;
}

/* Is tensor `name` in layers [lo, hi] and one of the modules? */
static int tensor_selected(const char *name, int lo, int hi, unsigned modules) {
  int layer, used = 0;
  if (sscanf(name, "model.layers.%d.%n", &layer, &used) != 1 || used == 0) return 0;
  return layer >= lo && layer <= hi && (tensor_group(name + used) & modules);
}

lethe_status lethe_config_count_selected(const lethe_config *c, int lo, int hi, unsigned modules, size_t *n) {
  LETHE_TRY(lethe_config_validate(c, "model config"));
  lethe_tensor_table tb;
  int bad = lethe_tensor_table_build(c, &tb);
  *n = 0;
  for (int i = 0; i < tb.n && !bad; i++)
    if (tensor_selected(tb.t[i].name, lo, hi, modules)) *n += tb.t[i].numel;
  free(tb.t);
  return bad ? lethe_fail(LETHE_ERR_NOMEM, "out of memory building the tensor table") : LETHE_OK;
}

static int span_cmp(const void *a, const void *b) {
  size_t x = ((const lethe_grad_span *)a)->off, y = ((const lethe_grad_span *)b)->off;
  return x < y ? -1 : x > y;
}

lethe_status lethe_model_enable_grads_subset(lethe_model *m, int lo, int hi, unsigned modules) {
  if (m->grads) return lethe_fail(LETHE_ERR_INVALID, "the model already has gradients");
  if (m->wbf16)
    return lethe_fail(LETHE_ERR_INVALID, "full-parameter training needs fp32 weights (use --device cuda:fp32)");
  if (lo < 0 || hi >= m->cfg.n_layers || lo > hi)
    return lethe_fail(
        LETHE_ERR_INVALID, "trained layers %d-%d are outside the model's %d layers", lo, hi, m->cfg.n_layers);
  if (!(modules & LETHE_TRAIN_LAYER)) return lethe_fail(LETHE_ERR_INVALID, "no modules selected for training");
  lethe_grad_span *sp = calloc((size_t)m->n_tensors + 1, sizeof *sp);
  if (!sp) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  int n = 0;
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    if (!tensor_selected(t->name, lo, hi, modules)) continue;
    sp[n++] = (lethe_grad_span){.off = t->dev_off, .len = t->numel};
  }
  if (n == 0) {
    free(sp);
    return lethe_fail(LETHE_ERR_INVALID, "layers %d-%d have no tensor of the selected modules", lo, hi);
  }
  qsort(sp, (size_t)n, sizeof *sp, span_cmp);
  int k = 0;
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    if (k > 0 && sp[k - 1].off + sp[k - 1].len == sp[i].off) {
      sp[k - 1].len += sp[i].len;
    } else {
      sp[k] = sp[i];
      sp[k].goff = total;
      k++;
    }
    total += sp[i].len;
  }
  m->grads = m->ops->alloc(total * sizeof(float));
  if (!m->grads) {
    free(sp);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for gradients", total * sizeof(float));
  }
  m->grad_spans = sp;
  m->n_grad_spans = k;
  m->n_grads = total;
  m->grad_lo_layer = lo;
  return LETHE_OK;
}

unsigned lethe_train_modules_parse(const char *s) {
  return !s || !strcmp(s, "all") ? LETHE_TRAIN_LAYER
         : !strcmp(s, "mlp")     ? LETHE_TRAIN_MLP
         : !strcmp(s, "attn")    ? LETHE_TRAIN_ATTN
                                 : 0;
}

lethe_status lethe_train_layers_parse(const char *spec, int n_layers, int *lo, int *hi) {
  int a, b, used = 0;
  if (!spec || !strcmp(spec, "all")) {
    *lo = 0;
    *hi = n_layers - 1;
    return LETHE_OK;
  }
  if (sscanf(spec, "-%d%n", &a, &used) == 1 && spec[used] == 0 && a >= 1) {
    *lo = a < n_layers ? n_layers - a : 0; /* the last N: all of them when the model has fewer */
    *hi = n_layers - 1;
    return LETHE_OK;
  }
  used = 0;
  if (sscanf(spec, "%d-%d%n", &a, &b, &used) == 2 && spec[used] == 0) {
  } else if ((used = 0, sscanf(spec, "%d%n", &a, &used) == 1) && spec[used] == 0) {
    b = a;
  } else {
    return lethe_fail(LETHE_ERR_INVALID, "--train-layers '%s': expected A-B, A, -N (the last N) or all", spec);
  }
  if (a < 0 || b >= n_layers || a > b)
    return lethe_fail(LETHE_ERR_INVALID, "--train-layers '%s': the model has layers 0-%d", spec, n_layers - 1);
  *lo = a;
  *hi = b;
  return LETHE_OK;
}
