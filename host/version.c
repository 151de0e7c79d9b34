/* gpd_version (from the generated gpd_version.h, cmake/version.cmake) and
 * the engines' library versions gathered for `gpdeblur --version`. */
#include <stdio.h>

#include "gpd/engine.h"
#include "gpd/version.h"
#include "gpd_version.h"

const char *gpd_version(void) { return GPD_VERSION_STRING; }

void gpd_library_versions(char *buf, size_t size) {
  char ref[512], cpu[512], cuda[512];
  gpd_engine_ref_libraries(ref, sizeof ref);
  gpd_engine_cpu_libraries(cpu, sizeof cpu);
  gpd_engine_cuda_libraries(cuda, sizeof cuda);
  snprintf(buf, size, "ref:  %s\ncpu:  %s\ncuda: %s\n", ref, cpu, cuda);
}
