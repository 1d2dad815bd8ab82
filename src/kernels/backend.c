/* kernels/backend.c: choosing a backend by name ("cpu", "cuda"). */
#include <string.h>

#include "kernels/ops.h"
#include "util/error.h"

#ifdef LETHE_WITH_CUDA
const lethe_ops *lethe_cuda_ops(void);
lethe_status lethe_cuda_available(void);
#endif

lethe_status lethe_backend(const char *name, const lethe_ops **out) {
  *out = NULL;
  if (!name || !strcmp(name, "cpu")) {
    *out = lethe_cpu_ops();
    return LETHE_OK;
  }
  if (!strcmp(name, "cuda")) {
#ifdef LETHE_WITH_CUDA
    LETHE_TRY(lethe_cuda_available());
    *out = lethe_cuda_ops();
    return LETHE_OK;
#else
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "this lethe was built without CUDA (nvcc was not found at build time)");
#endif
  }
  return lethe_fail(LETHE_ERR_INVALID, "unknown device '%s' (cpu, cuda)", name);
}
