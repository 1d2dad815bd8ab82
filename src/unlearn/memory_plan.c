/* unlearn/memory_plan.c: before a run allocates anything per step, its memory plan (the numbers
 * `lethe bench plan` gives) is compared with the machine's physical memory, so that a batch that
 * cannot fit is one clear error instead of a kill by the kernel. */
#include <stdint.h>
#include <unistd.h>

#include "unlearn/trainer.h"
#include "util/error.h"

size_t lethe_machine_memory_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return (size_t)pages * (size_t)page;
}

lethe_status lethe_train_memory_check(const lethe_model *m, const lethe_lora *lora, size_t n_subset,
    const lethe_tokset *d, int batch, int recompute, int needs_ref, size_t machine_bytes) {
  if (machine_bytes == 0) return LETHE_OK; /* unknown: nothing to compare with */
  int B = batch < d->n ? batch : d->n;
  int64_t tokens = (int64_t)B * d->max_len;
  if (B < 1 || tokens < 1) return LETHE_OK;
  if (tokens > INT32_MAX)
    return lethe_fail(LETHE_ERR_NOMEM,
        "a step of batch %d x %d tokens (%lld tokens) is beyond what lethe can plan; lower --batch or --max-len", B,
        d->max_len, (long long)tokens);
  const lethe_config *c = &m->cfg;
  size_t acts = lethe_workspace_plan(c, lora, (int)tokens, recompute ? LETHE_WS_RECOMPUTE : LETHE_WS_TRAIN);
  if (needs_ref) acts += lethe_workspace_plan(c, NULL, (int)tokens, LETHE_WS_INFER);
  size_t weights = m->n_params * sizeof(float);
  /* the trained parameters, their gradient and both Adam moments; a trained subset with a
   * reference pass also keeps its frozen copy */
  size_t n_tr = lora ? lora->n_params : n_subset ? n_subset : m->n_params;
  size_t trained = n_tr * sizeof(float) * (lora || !n_subset ? 4 : needs_ref ? 5 : 4);
  size_t need = weights + acts + trained;
  if (need <= machine_bytes) return LETHE_OK;
  const double G = 1024.0 * 1024.0 * 1024.0;
  return lethe_fail(LETHE_ERR_NOMEM,
      "the training step needs %zu bytes (%.1f GiB: weights %.2f GiB, activations of batch %d x %d tokens %.1f GiB, "
      "trained parameters with gradient, Adam moments and any frozen copy %.2f GiB) but this machine has %zu bytes "
      "(%.1f GiB) of "
      "memory; lower --batch or --max-len, or add --recompute",
      need, need / G, weights / G, B, d->max_len, acts / G, trained / G, machine_bytes, machine_bytes / G);
}
