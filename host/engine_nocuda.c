/* Without the CUDA engine in the build, asking for it is a clear error. */
#ifndef GPD_HAVE_CUDA
#include <stdio.h>

#include "gpd/common.h"
#include "gpd/engine.h"

int gpd_cuda_available(void) { return 0; }

void gpd_engine_cuda_libraries(char *buf, size_t size) {
  snprintf(buf, size, "not built (the CUDA toolkit or cuDNN was not found at configure time)");
}

gpd_engine *gpd_engine_cuda_create(int device, gpd_precision precision) {
  (void)device;
  (void)precision;
  gpd_error("this gpdeblur was built without the CUDA engine (CUDA toolkit or cuDNN not found at configure time); use --device cpu");
  return NULL;
}
#else
typedef int gpd_engine_nocuda_unused; /* ISO C forbids an empty translation unit */
#endif
