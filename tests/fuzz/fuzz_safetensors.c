/* Fuzz target: any bytes as a safetensors weights file: the reader, every
 * tensor's conversion to float, the architecture in the metadata, and each
 * network role loaded for real, as `gpdeblur info` does (on the
 * reference engine: the reader is the target, not the engines). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpd/engine.h"
#include "gpd/net.h"
#include "gpd/weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gpd_engine *engine(void) {
  static gpd_engine *e;
  if (!e) e = gpd_engine_create("ref", GPD_PRECISION_FP32);
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gpd_safetensors st;
  if (gpd_st_read_memory(&st, "fuzz.safetensors", data, size) != 0) return 0;
  for (int i = 0; i < st.n_tensors; i++) {
    const gpd_st_tensor *t = &st.tensors[i];
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    /* the reader checked the bytes: n elements of the dtype fit the file */
    float *out = malloc((n ? n : 1) * sizeof(float));
    if (out) {
      gpd_st_tensor_to_f32(&st, t, out, n);
      gpd_st_tensor_to_finite_f32(&st, t, out, n);
    }
    free(out);
  }
  gpd_arch arch;
  static const char *const roles[] = {"encoder", "decoder", "generator", "discriminator"};
  if (gpd_weights_arch(&st, &arch) == 0 && engine()) {
    for (int r = 0; r < 4; r++) {
      gpd_net net;
      memset(&net, 0, sizeof net);
      /* small networks only: the fuzzer is after the reader, not calloc */
      if (gpd_net_build(&net, &arch, roles[r]) == 0 && net.n_params < (1 << 20) && gpd_net_alloc(&net, engine()) == 0)
        gpd_weights_fill_net(&net, &st);
      gpd_net_free(&net);
    }
  }
  gpd_st_free(&st);
  return 0;
}
