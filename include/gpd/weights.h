/* safetensors read and write, and loading / saving networks with them.
 *
 * Format: 8-byte little-endian header length L, a JSON header of L bytes
 * mapping tensor name -> {"dtype": "F32", "shape": [...], "data_offsets":
 * [begin, end]} plus an optional "__metadata__" object of string -> string,
 * then the raw little-endian data. gpdeblur writes F32 and reads F32, F16 and
 * BF16 (converted to F32), and I64 for num_batches_tracked (ignored).
 *
 * The architecture goes in __metadata__: "arch", "latent", "channels",
 * "size", "width", and for VAEs both roles in one file. */
#ifndef GPD_WEIGHTS_H
#define GPD_WEIGHTS_H

#include "gpd/net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GPD_ST_MAX_DIMS 8

typedef struct gpd_st_tensor {
  char name[128];
  char dtype[8];           /* "F32", "F16", "BF16", "I64", ... */
  int ndim;
  int64_t shape[GPD_ST_MAX_DIMS];
  uint64_t begin, end;     /* byte offsets into the data section */
} gpd_st_tensor;

typedef struct gpd_st_meta {
  char key[64];
  char value[256];
} gpd_st_meta;

typedef struct gpd_safetensors {
  char path[512];
  int n_tensors;
  gpd_st_tensor *tensors;
  int n_meta;
  gpd_st_meta *meta;
  uint8_t *file;           /* the whole file, as read */
  uint8_t *data;           /* the data section (inside file) */
  uint64_t data_size;
} gpd_safetensors;

/* Reads and validates a whole file (a regular file; header length, JSON,
 * offsets inside the data, dtype sizes matching shapes, the tensors tiling
 * the data section exactly). Errors are one line naming the file. */
int gpd_st_read(gpd_safetensors *st, const char *path);
/* gpd_st_read where a missing file is no error: 1 read, 0 no such file,
 * -1 an error (a file that cannot be read or is not safetensors). */
int gpd_st_read_if_exists(gpd_safetensors *st, const char *path);
/* The same from the file's bytes in memory (copied); `name` is what errors
 * call it. */
int gpd_st_read_memory(gpd_safetensors *st, const char *name, const uint8_t *bytes, size_t size);
void gpd_st_free(gpd_safetensors *st);
const gpd_st_tensor *gpd_st_find(const gpd_safetensors *st, const char *name);
const char *gpd_st_meta_get(const gpd_safetensors *st, const char *key); /* NULL if absent */
/* Converts a tensor to float32 into out[count]; error if count differs. */
int gpd_st_tensor_to_f32(const gpd_safetensors *st, const gpd_st_tensor *t, float *out, size_t count);
/* The same, refusing a NaN or infinity (naming the file, tensor and element):
 * what every reader of network weights uses. */
int gpd_st_tensor_to_finite_f32(const gpd_safetensors *st, const gpd_st_tensor *t, float *out, size_t count);

/* Writer: tensors are F32 with the given shapes. */
typedef struct gpd_st_writer gpd_st_writer;
gpd_st_writer *gpd_st_writer_create(void);
int gpd_st_writer_add(gpd_st_writer *w, const char *name, int ndim, const int64_t *shape, const float *host_data);
int gpd_st_writer_meta(gpd_st_writer *w, const char *key, const char *value);
/* Writes atomically (temporary file then rename). */
int gpd_st_writer_save(gpd_st_writer *w, const char *path);
void gpd_st_writer_free(gpd_st_writer *w);

/* The architecture stored in a file's metadata. */
int gpd_weights_arch(const gpd_safetensors *st, gpd_arch *arch);
/* Builds, allocates and loads one role of the network in `path` on engine e.
 * Refuses (naming the tensor) a missing tensor or a shape that does not match
 * the architecture. */
int gpd_weights_load_net(gpd_net *net, gpd_engine *e, const char *path, const char *role);
/* Loads into an already built and allocated net from an open file. */
int gpd_weights_fill_net(gpd_net *net, const gpd_safetensors *st);
/* Adds every tensor of net (params and buffers) to a writer. */
int gpd_weights_add_net(gpd_st_writer *w, const gpd_net *net);
/* Writes the arch metadata. */
int gpd_weights_add_arch(gpd_st_writer *w, const gpd_arch *arch);

#ifdef __cplusplus
}
#endif
#endif
