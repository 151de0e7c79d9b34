/* The oneDNN side of the `cpu` engine (private to host/cpu/).
 *
 * The `cpu` engine is the reference engine's table (host/cpu/cpu_*.c: plain
 * loops, OpenBLAS, FFTW) with its convolutions, transposed convolutions and
 * dense layers replaced by oneDNN primitives, the way the CUDA engine runs
 * them on cuDNN (and batch norms by the reference loops on the OpenMP pool:
 * dnnl_engine.c says why). A primitive is planned once per shape and
 * precision and cached in the engine (dnnl_plan): its descriptor, the
 * primitive, and for every argument the caller's plain fp32 NCHW tensor, the
 * layout and data type oneDNN prefers (format `any`: blocked layouts, bf16
 * in bf16 mode) and the reorder between them. Callers keep passing plain
 * fp32 tensors; blocked layouts live only inside a call, except for inputs
 * in memory the caller holds constant (gpd_engine.hold_constant: a
 * solver's generator weights), whose reordered form is kept from one call
 * to the next.
 *
 * bf16: sources, weights and output gradients of conv / transposed conv /
 * dense layers are bf16, accumulation and every output (dst, diff_src,
 * diff_weights, biases) fp32; dense layers' weight gradients, batch norm,
 * latents, the data term and optimisers stay fp32. */
#ifndef GPD_DNNL_INTERNAL_H
#define GPD_DNNL_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

#include "gpd/engine.h"

/* Every oneDNN call goes through this: a failure records the call, its
 * status and the op that made it, and returns -1 from the enclosing function. */
#define DNNL_CHECK(call, op)                                                                                  \
  do {                                                                                                        \
    dnnl_status_t dnnl_status_ = (call);                                                                      \
    if (dnnl_status_ != dnnl_success) return dnnl_report(dnnl_status_, #call, (op), __FILE__, __LINE__);   \
  } while (0)

int dnnl_report(dnnl_status_t status, const char *call, const char *op, const char *file, int line);

enum { DNNL_PLAN_MAX_ARGS = 4, /* src, weights, dst, bias (or their gradients) */ DNNL_PLAN_KEY_INTS = 12 };

typedef enum dnnl_plan_kind {
  PLAN_CONV_FORWARD = 1,
  PLAN_CONV_BACKWARD_DATA,
  PLAN_CONV_BACKWARD_WEIGHTS,
  PLAN_DECONV_FORWARD,
  PLAN_DECONV_BACKWARD_DATA,
  PLAN_DECONV_BACKWARD_WEIGHTS,
  PLAN_LINEAR_FORWARD,
  PLAN_LINEAR_BACKWARD_DATA,
  PLAN_LINEAR_BACKWARD_WEIGHTS,
  PLAN_DECONV_PHASES, /* a transposed convolution's forward by phases (dnnl_deconv_phases.c) */
  PLAN_DECONV_PHASE   /* one phase's convolution */
} dnnl_plan_kind;

/* What identifies a plan: compared bytewise, so built from a zeroed struct. */
typedef struct dnnl_plan_key {
  int kind;
  int precision;
  int ints[DNNL_PLAN_KEY_INTS]; /* shapes, flags */
  float eps;
} dnnl_plan_key;

/* One argument of a planned primitive. */
typedef struct dnnl_plan_arg {
  int arg;                  /* DNNL_ARG_* */
  int output, accumulate;   /* written by the primitive; added (+=) into the caller's tensor */
  size_t count;             /* floats in the caller's tensor */
  dnnl_memory_t user;       /* the caller's plain fp32 tensor (handle set at each call) */
  dnnl_memory_t inner;      /* oneDNN's layout and type; NULL when it is the caller's */
  dnnl_primitive_t reorder; /* user -> inner (inputs) or inner -> staging / user (outputs) */
  dnnl_memory_t staging;    /* accumulated outputs in a blocked layout: plain fp32 before the add */
  const void *kept;         /* input whose reordered form `inner` holds, in held memory; NULL: none */
  unsigned long kept_epoch; /* the state's hold epoch when it was reordered */
} dnnl_plan_arg;

typedef struct dnnl_plan {
  dnnl_plan_key key;
  dnnl_primitive_t primitive;
  char impl[64]; /* oneDNN's implementation name, e.g. "jit:avx512_core" */
  int nargs;
  dnnl_plan_arg args[DNNL_PLAN_MAX_ARGS];
  struct dnnl_plan *next;
} dnnl_plan;

enum { DNNL_MAX_HELD = 16 };

struct dnnl_phases; /* dnnl_deconv_phases.c */

typedef struct dnnl_state {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  dnnl_plan *plans;
  struct dnnl_phases *phases;
  /* memory held constant (gpd_engine.hold_constant), and a count of
   * releases: a kept input reordered before the last release is stale */
  const float *held[DNNL_MAX_HELD];
  size_t held_count[DNNL_MAX_HELD];
  int n_held;
  unsigned long hold_epoch;
} dnnl_state;

/* The engine's state (e->impl). */
static inline dnnl_state *dnnl_state_of(gpd_engine *e) { return (dnnl_state *)e->impl; }

/* The cached plan for key, or NULL (no error) when there is none yet. */
dnnl_plan *dnnl_plan_find(dnnl_state *s, const dnnl_plan_key *key);

/* Makes a plan for the operation described by op_desc (any oneDNN op
 * descriptor; hint: the forward primitive descriptor a backward one needs,
 * or NULL) and caches it. Arguments follow, one dnnl_plan_arg_spec each. */
typedef struct dnnl_plan_arg_spec {
  int arg;
  int output, accumulate;
  dnnl_memory_desc_t user_md; /* layout of the caller's tensor: plain fp32, a strided view, or
                                 all zero for the primitive's own layout (no reorder) */
} dnnl_plan_arg_spec;

dnnl_plan *dnnl_plan_create(dnnl_state *s, const dnnl_plan_key *key, const_dnnl_op_desc_t op_desc,
                            const_dnnl_primitive_desc_t hint, int nargs, const dnnl_plan_arg_spec *specs,
                            const char *op);

/* Runs the plan on the caller's tensors, given in the order of its specs:
 * inputs reordered in, the primitive, outputs reordered (or added) out. */
int dnnl_plan_run(dnnl_state *s, dnnl_plan *p, const float *const *tensors, const char *op);

void dnnl_plans_free(dnnl_state *s);

/* A transposed convolution's forward as one convolution per output phase
 * (dnnl_deconv_phases.c): whether geometry g allows it, and the pass. */
int dnnl_deconv_phases_apply(const gpd_conv_geom *g);
int dnnl_deconv_phases_forward(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b,
                               float *y, const char *op);
void dnnl_phases_free_all(dnnl_state *s);

/* gpd_engine.hold_constant of the cpu engine. */
int dnnl_hold_constant(gpd_engine *e, const float *p, size_t count, int constant);
/* 1 when [p, p + count) lies inside memory held constant. */
int dnnl_is_held(const dnnl_state *s, const float *p, size_t count);

/* A reorder primitive between two layouts, and running one (then waiting
 * is the caller's: dnnl_plan_run waits at its end). */
int dnnl_make_reorder(dnnl_state *s, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                      dnnl_primitive_t *out, const char *op);
int dnnl_run_reorder(dnnl_state *s, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to, const char *op);

/* A plain fp32 memory descriptor of the given dims and tag. */
int dnnl_plain_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag, const char *op);
/* The same dims, format `any`, in the engine's compute type for inputs
 * (bf16 in bf16 mode) or fp32. */
int dnnl_any_md(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, int bf16, const char *op);

/* im2col + oneDNN sgemm on the OpenMP pool (dnnl_gemm.c): the convolution
 * passes oneDNN's direct kernels run slowly (dnnl_conv.c). */
struct cpu_gemm_backend;
extern const struct cpu_gemm_backend dnnl_gemm_backend;

/* 1 when the engine computes its conv / dense layers in bf16. */
static inline int dnnl_is_bf16(const gpd_engine *e) { return e->precision == GPD_PRECISION_BF16; }

#endif
