/* model/device.c: device strings ("cpu", "cpu:bf16", "cuda", "cuda:fp32") into a backend and the
 * storage of the projections, and moving a model to the device one names. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/say.h"

lethe_status lethe_device_parse(const char *device, char name[32], int *bf16) {
  /* "NAME" or "NAME:fp32" / "NAME:bf16"; CUDA stores the projections in bf16 unless told fp32, the
   * CPU keeps fp32 (exact) unless told bf16 */
  const char *colon = strchr(device, ':');
  size_t n = colon ? (size_t)(colon - device) : strlen(device);
  if (n == 0 || n >= 32)
    return lethe_fail(LETHE_ERR_INVALID, "unknown device '%s' (cpu, cpu:bf16, cuda, cuda:fp32)", device);
  memcpy(name, device, n);
  name[n] = 0;
  *bf16 = !strcmp(name, "cuda");
  if (colon) {
    if (!strcmp(colon + 1, "fp32"))
      *bf16 = 0;
    else if (!strcmp(colon + 1, "bf16") && (!strcmp(name, "cuda") || !strcmp(name, "cpu")))
      *bf16 = 1;
    else
      return lethe_fail(LETHE_ERR_INVALID, "unknown device '%s' (cpu, cpu:bf16, cuda, cuda:fp32)", device);
  }
  return LETHE_OK;
}

lethe_status lethe_model_to_device(lethe_model *m, const char *device) {
  char name[32];
  int bf16 = 0;
  LETHE_TRY(lethe_device_parse(device, name, &bf16));
  const lethe_ops *ops;
  LETHE_TRY(lethe_backend(name, &ops));
  if (bf16 && ops == lethe_cpu_ops() && !lethe_cpu_bf16_engine()) {
    /* bf16 weights without the instructions would run on plain loops: slower than fp32 */
    static int told;
    if (!told++) lethe_say(stderr, "notice: this CPU has no AVX512_BF16; --device %s runs with fp32 weights\n", device);
    bf16 = 0;
  }
  return lethe_model_use_backend_ex(m, ops, bf16);
}
