/* Choosing an engine by name, and engine-independent conveniences. */
#include <string.h>

#include "gpd/common.h"
#include "gpd/engine.h"

const char *gpd_precision_name(gpd_precision p) {
  return p == GPD_PRECISION_TF32 ? "tf32" : p == GPD_PRECISION_BF16 ? "bf16" : "fp32";
}

int gpd_precision_parse(const char *text, gpd_precision *out) {
  const gpd_precision all[] = {GPD_PRECISION_FP32, GPD_PRECISION_TF32, GPD_PRECISION_BF16};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (!strcmp(text, gpd_precision_name(all[i]))) {
      *out = all[i];
      return 0;
    }
  return -1;
}

gpd_engine *gpd_engine_create(const char *name, gpd_precision precision) {
  if (!name || !strcmp(name, "auto"))
    return gpd_cuda_available() ? gpd_engine_cuda_create(0, precision) : gpd_engine_cpu_create_precision(precision);
  if (!strcmp(name, "cpu")) return gpd_engine_cpu_create_precision(precision);
  if (!strcmp(name, "ref")) {
    if (precision != GPD_PRECISION_FP32) {
      gpd_error("the ref engine computes in fp32 only (use --device cpu for bf16)");
      return NULL;
    }
    return gpd_engine_ref_create();
  }
  if (!strcmp(name, "cuda")) return gpd_engine_cuda_create(0, precision);
  gpd_error("unknown device '%s' (expected ref, cpu, cuda or auto)", name);
  return NULL;
}

void gpd_engine_destroy(gpd_engine *e) {
  if (e && e->destroy) e->destroy(e);
}

int gpd_engine_download_items(gpd_engine *e, float *host, const float *src, int items) {
  return e->download(e, host, src, (size_t)items);
}

int gpd_engine_hold_constant(gpd_engine *e, const float *p, size_t count, int constant) {
  return e && e->hold_constant ? e->hold_constant(e, p, count, constant) : 0;
}
