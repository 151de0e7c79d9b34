/* The engine: every operation on tensor data, behind one table.
 *
 * The solvers and training loops in host/ are written once against this
 * table; host/cpu/ (OpenBLAS + FFTW, the reference) and cuda/ (cuDNN, cuFFT,
 * cuBLAS and kernels/) implement it. Pointers passed to an engine's ops are
 * that engine's memory (host memory for the CPU engine, device memory for
 * CUDA); only alloc/upload/download cross between host and engine.
 *
 * Conventions for every op:
 *  - float32, NCHW, contiguous. N is images x restarts.
 *  - "forward" writes (overwrites) its output.
 *  - "backward_data" overwrites the input gradient dx.
 *  - "backward_weights" ACCUMULATES into dw / db (+=), as PyTorch does, so
 *    callers zero the gradient buffer once per step.
 *  - Ops return 0, or -1 with gpd_error() set (a library call that failed,
 *    naming the call).
 *  - Complex tensors are interleaved (re, im) float pairs; the half spectrum
 *    of a real H x W plane has H x (W/2 + 1) complex values.
 *  - Reductions "per item" reduce over everything but the leading dimension
 *    and write one float per item into engine memory.
 */
#ifndef GPD_ENGINE_H
#define GPD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Geometry of a 2-D convolution, PyTorch semantics, square kernel.
 * conv2d:           y[n,co,oy,ox] = b[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] *
 *                   x[n,ci, oy*stride - pad + ky, ox*stride - pad + kx]
 *                   (x is zero outside the input); w is (C_out, C_in, K, K).
 * conv_transpose2d: the adjoint of conv2d with input and output swapped:
 *                   y[n,co, iy*stride - pad + ky, ix*stride - pad + kx] +=
 *                   x[n,ci,iy,ix] * w[ci,co,ky,kx]; w is (C_in, C_out, K, K)
 *                   as in PyTorch; contributions falling outside the output
 *                   are dropped. PyTorch's output_padding is expressed by the
 *                   output size: h_out = (h_in-1)*stride - 2*pad + k + out_pad.
 * The output size is explicit in both, so any PyTorch layer maps onto it. */
typedef struct gpd_conv_geom {
  int n;
  int c_in, h_in, w_in;    /* x: (N, C_in, H_in, W_in) */
  int c_out, h_out, w_out; /* y: (N, C_out, H_out, W_out) */
  int k, stride, pad;
} gpd_conv_geom;

typedef enum gpd_activation {
  GPD_ACT_RELU = 0,
  GPD_ACT_LEAKY_RELU, /* slope given by the caller */
  GPD_ACT_TANH,
  GPD_ACT_SIGMOID
} gpd_activation;

/* Precision of the generator math (conv / linear). fp32 everywhere; bf16 on
 * the cpu engine (oneDNN, fp32 accumulation) and CUDA; tf32 on CUDA only.
 * Latents, the data term and optimisers are fp32 in every mode. */
typedef enum gpd_precision {
  GPD_PRECISION_FP32 = 0,
  GPD_PRECISION_TF32,
  GPD_PRECISION_BF16
} gpd_precision;

/* "fp32", "tf32" or "bf16": the word --precision takes (manifests, metadata). */
const char *gpd_precision_name(gpd_precision p);
/* The inverse: 0, or -1 (nothing recorded: callers name the option) when
 * text is none of the three. */
int gpd_precision_parse(const char *text, gpd_precision *out);

/* The per-item parameters of diffaugment_forward / _backward, in order. */
typedef enum gpd_augment_param {
  GPD_AUG_FLIP = 0,      /* 0 or 1 */
  GPD_AUG_BRIGHTNESS,    /* added */
  GPD_AUG_SATURATION,    /* factor */
  GPD_AUG_CONTRAST,      /* factor */
  GPD_AUG_SHIFT_Y,       /* integer */
  GPD_AUG_SHIFT_X,       /* integer */
  GPD_AUG_CUT_TOP,       /* integer, may be negative */
  GPD_AUG_CUT_LEFT,      /* integer, may be negative */
  GPD_AUG_CUT_SIZE,      /* integer >= 0 */
  GPD_AUGMENT_PARAMS     /* floats per item */
} gpd_augment_param;

typedef struct gpd_engine gpd_engine;

/* What an engine is and holds, for the code that plans around it (the
 * solver's memory plan and threads, messages): each engine fills these, so
 * that no code outside the engines asks which engine it is. */
typedef struct gpd_engine_caps {
  const char *memory_name;    /* its memory in messages: "GPU memory", "memory" */
  int graphs;                 /* 1: the graph slots capture and replay; 0: they
                               * run calls eagerly (gpd_engine_fill_eager_graphs) */
  int concurrent_forks;       /* 1: forks run at once on their own hardware queues
                               * (CUDA streams), so host threads driving forks
                               * overlap their work; 0: forks share the cores the
                               * engine already uses (threads would only fight) */
  size_t max_tensor_elements; /* most elements one tensor of an op may have
                               * (cuDNN's descriptors: 2^31 - 1); 0: no limit */
  size_t instance_reserve;    /* bytes an engine, and each of its forks, may take
                               * from the same memory outside alloc(): library
                               * handles and workspaces, the unused end of the
                               * allocator's last chunk */
} gpd_engine_caps;

struct gpd_engine {
  const char *name; /* "ref", "cpu" or "cuda": for people (messages, logs); code asks caps */
  void *impl;       /* engine-private state (plan caches, handles, arena) */
  gpd_precision precision;
  gpd_engine_caps caps;

  /* ---- memory ---------------------------------------------------------- */
  /* Returns zeroed engine memory for count floats, or NULL with an error
   * naming `what` (and, for CUDA, how much was free). */
  float *(*alloc)(gpd_engine *e, size_t count, const char *what);
  void (*free)(gpd_engine *e, void *p);
  int (*upload)(gpd_engine *e, float *dst, const float *host_src, size_t count);
  int (*download)(gpd_engine *e, float *host_dst, const float *src, size_t count);
  int (*copy)(gpd_engine *e, float *dst, const float *src, size_t count);
  int (*fill)(gpd_engine *e, float *x, float value, size_t count);
  int (*sync)(gpd_engine *e);
  void (*destroy)(gpd_engine *e);
  /* Bytes of engine memory free now (host: available RAM). */
  size_t (*memory_free)(gpd_engine *e);
  /* Bytes the engine keeps outside alloc() once it has run fft_r2c and
   * fft_c2r on b planes of h x w: the plans' work areas, its copy of the
   * c2r input. Planners take it as growing linearly with b. */
  size_t (*fft_scratch_bytes)(gpd_engine *e, int b, int h, int w);

  /* ---- graphs (gpd/engine_graph.h says how they are used) ------------------ */
  /* With caps.graphs: graph_begin starts recording the engine's calls;
   * graph_end stops and makes *graph (failing if a recorded call failed or
   * the capture was invalidated); graph_launch replays it on the engine's
   * queue; graph_free frees it (NULL is fine). Without: the eager slots of
   * gpd_engine_fill_eager_graphs (begin / end do nothing, no graph). */
  int (*graph_begin)(gpd_engine *e);
  int (*graph_end)(gpd_engine *e, void **graph);
  int (*graph_launch)(gpd_engine *e, void *graph);
  void (*graph_free)(gpd_engine *e, void *graph);

  /* ---- elementwise ------------------------------------------------------- */
  /* y = alpha * x + beta * y */
  int (*axpby)(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
  /* y = alpha * x + beta (elementwise affine, in place allowed: y == x) */
  int (*affine)(gpd_engine *e, size_t count, float alpha, const float *x, float beta, float *y);
  /* y = x * s[item] where x, y are (items, per_item); in place allowed */
  int (*scale_per_item)(gpd_engine *e, int items, size_t per_item, const float *s, const float *x, float *y);
  /* y = a .* b (elementwise product), in place allowed */
  int (*multiply)(gpd_engine *e, size_t count, const float *a, const float *b, float *y);

  /* ---- activations ------------------------------------------------------- */
  /* y = f(x); in place allowed (y == x). */
  int (*activation_forward)(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, float *y);
  /* dx = f'(.) * dy, given the forward input x and output y (each op uses the
   * one it needs: relu/leaky x, tanh/sigmoid y); in place allowed (dx == dy). */
  int (*activation_backward)(gpd_engine *e, gpd_activation act, float slope, size_t count, const float *x, const float *y, const float *dy, float *dx);

  /* ---- linear: y = x W^T + b; x (N, In), W (Out, In), b (Out) or NULL ---- */
  int (*linear_forward)(gpd_engine *e, int n, int in, int out, const float *x, const float *w, const float *b, float *y);
  int (*linear_backward_data)(gpd_engine *e, int n, int in, int out, const float *dy, const float *w, float *dx);
  int (*linear_backward_weights)(gpd_engine *e, int n, int in, int out, const float *x, const float *dy, float *dw, float *db);

  /* ---- convolutions (see gpd_conv_geom); b (C_out) or NULL --------------- */
  int (*conv2d_forward)(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y);
  int (*conv2d_backward_data)(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx);
  int (*conv2d_backward_weights)(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db);
  int (*conv_transpose2d_forward)(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *w, const float *b, float *y);
  int (*conv_transpose2d_backward_data)(gpd_engine *e, const gpd_conv_geom *g, const float *dy, const float *w, float *dx);
  int (*conv_transpose2d_backward_weights)(gpd_engine *e, const gpd_conv_geom *g, const float *x, const float *dy, float *dw, float *db);

  /* ---- batch norm over (N, C, HW), per channel -------------------------- */
  /* Training statistics: mean/var over N and HW (biased var for the
   * normalisation); saves mean and invstd (C each) for the backward; updates
   * running_mean/running_var (unbiased var) with momentum as PyTorch does
   * when they are non-NULL. */
  int (*batchnorm_forward_train)(gpd_engine *e, int n, int c, int hw, float eps, float momentum, const float *x, const float *gamma, const float *beta, float *y, float *save_mean, float *save_invstd, float *running_mean, float *running_var);
  int (*batchnorm_backward_train)(gpd_engine *e, int n, int c, int hw, const float *x, const float *dy, const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
  /* Inference statistics (running mean and var). */
  int (*batchnorm_forward_infer)(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, float *y);
  int (*batchnorm_backward_infer)(gpd_engine *e, int n, int c, int hw, float eps, const float *x, const float *dy, const float *gamma, const float *running_mean, const float *running_var, float *dx, float *dgamma, float *dbeta);

  /* ---- pooling and resampling ------------------------------------------- */
  /* Max-pool, window = stride = `size`, no padding, floor output size:
   * x (N,C,H,W) -> y (N,C,H/size,W/size); argmax (int32, one per output)
   * saved for the backward. */
  int (*maxpool2d_forward)(gpd_engine *e, int n, int c, int h, int w, int size, const float *x, float *y, int32_t *argmax);
  int (*maxpool2d_backward)(gpd_engine *e, int n, int c, int h, int w, int size, const float *dy, const int32_t *argmax, float *dx);
  /* Nearest upsample by an integer factor: (N,C,H,W) -> (N,C,H*f,W*f). */
  int (*upsample_nearest_forward)(gpd_engine *e, int n, int c, int h, int w, int factor, const float *x, float *y);
  int (*upsample_nearest_backward)(gpd_engine *e, int n, int c, int h, int w, int factor, const float *dy, float *dx);

  /* ---- Fourier domain ------------------------------------------------------ */
  /* Unnormalised batched 2-D real FFT: x (B, H, W) -> X (B, H, W/2+1) complex,
   * and its inverse (also unnormalised: c2r(r2c(x)) = H*W*x). Plans are
   * cached by (B, H, W). */
  int (*fft_r2c)(gpd_engine *e, int b, int h, int w, const float *x, float *X);
  int (*fft_c2r)(gpd_engine *e, int b, int h, int w, const float *X, float *x);
  /* out[n,c,m] = a[n,c,m] * (conj?)b[n,m]: b is broadcast over the C planes.
   * a, out: (N, C, M) complex; b: (N, M) complex. */
  int (*complex_multiply_broadcast)(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out);
  /* out[n,m] = sum_c a[n,c,m] * (conj?)b[n,c,m]. */
  int (*complex_multiply_sum_channels)(gpd_engine *e, int n, int c, size_t m, int conjugate_b, const float *a, const float *b, float *out);

  /* ---- blur geometry --------------------------------------------------------- */
  /* Places each K x K kernel on an H x W canvas (zero elsewhere).
   * centered=1 (circular model): kernel centre (K/2, K/2) goes to (0, 0),
   *   wrapping around, so convolving does not shift the image.
   * centered=0 (linear model): kernel at rows/cols [0, K).
   * k: (N, K, K) -> canvas: (N, H, W). The adjoint takes a canvas gradient
   * back to a kernel gradient (overwrites dk). */
  int (*kernel_to_canvas)(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *k, float *canvas);
  int (*kernel_from_canvas)(gpd_engine *e, int n, int ksize, int h, int w, int centered, const float *canvas, float *dk);
  /* Valid window of a linear-boundary convolution: the (H-K+1) x (W-K+1)
   * block at offset (K-1, K-1) of each (H, W) plane.
   * crop: full (N,C,H,W) -> valid (N,C,H-K+1,W-K+1);
   * pad:  valid -> full with zeros outside the window (the adjoint). */
  int (*valid_crop)(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *full, float *valid);
  int (*valid_pad)(gpd_engine *e, int n, int c, int h, int w, int ksize, const float *valid, float *full);

  /* General crop of each (H, W) plane: dst (N,C,out_h,out_w) =
   * src[..., top:top+out_h, left:left+out_w]; crop2d_backward is the adjoint
   * (zero outside the window, overwrites dsrc (N,C,H,W)). Lets a generator
   * whose output is larger than the image (Algorithm 3) be cropped to it. */
  int (*crop2d)(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *src, float *dst);
  int (*crop2d_backward)(gpd_engine *e, int n, int c, int h, int w, int top, int left, int out_h, int out_w, const float *ddst, float *dsrc);

  /* ---- reductions per item, out[i] for i < items ------------------------ */
  int (*sum_squares_per_item)(gpd_engine *e, int items, size_t per_item, const float *x, float *out);
  /* out[i] = sum (a - b)^2 over item i */
  int (*squared_distance_per_item)(gpd_engine *e, int items, size_t per_item, const float *a, const float *b, float *out);
  int (*sum_per_item)(gpd_engine *e, int items, size_t per_item, const float *x, float *out);

  /* ---- total variation (anisotropic) ------------------------------------ */
  /* out[n] = sum_{c,y,x} |x[y+1,x]-x[y,x]| + |x[y,x+1]-x[y,x]| over the
   * differences inside each (H, W) plane (no wrap-around). */
  int (*tv_forward)(gpd_engine *e, int n, int c, int h, int w, const float *x, float *out);
  /* dx += weight * d(tv)/dx, using sign(0) = 0. */
  int (*tv_backward)(gpd_engine *e, int n, int c, int h, int w, float weight, const float *x, float *dx);

  /* ---- optimisers over a flat parameter buffer -------------------------- */
  /* p -= lr * g */
  int (*sgd_step)(gpd_engine *e, size_t count, float lr, const float *g, float *p);
  /* PyTorch Adam (no weight decay); step t >= 1 for bias correction. */
  int (*adam_step)(gpd_engine *e, size_t count, float lr, float beta1, float beta2, float eps, int t, const float *g, float *m, float *v, float *p);

  /* ---- training losses ---------------------------------------------------- */
  /* VAE reparameterisation: stats (N, 2L) holds the mean (first L) and the
   * log-variance (last L) of each item; z = mean + exp(logvar / 2) * eps. */
  int (*vae_sample)(gpd_engine *e, int n, int latent, const float *stats, const float *eps, float *z);
  /* dstats (overwritten) = d/dstats of [ <dz, z> + kl_weight * KL ], with
   * KL = -1/2 sum (1 + logvar - mean^2 - exp(logvar)) per item. */
  int (*vae_sample_backward)(gpd_engine *e, int n, int latent, const float *stats, const float *eps, const float *dz, float kl_weight, float *dstats);
  /* out[i] = KL of item i (as above). */
  int (*vae_kl_per_item)(gpd_engine *e, int n, int latent, const float *stats, float *out);
  /* Binary cross-entropy with logits against a constant target (1 real,
   * 0 fake), numerically stable: loss[i] = max(x,0) - x*t + log(1+exp(-|x|));
   * dlogits[i] = scale * (sigmoid(x) - t) (overwritten). */
  int (*bce_with_logits)(gpd_engine *e, int n, const float *logits, float target, float scale, float *loss, float *dlogits);

  /* ---- gather ------------------------------------------------------------ */
  /* dst[j] = src[index[j]] for j < count, items of item_size floats each;
   * index is a HOST array. dst may overlap src when the items are copied
   * in order without harm (increasing indices, each source after its
   * destination: the solver gathers surviving restarts in place). */
  int (*gather_items)(gpd_engine *e, int count, size_t item_size, const int *index, const float *src, float *dst);

  /* ---- data augmentation --------------------------------------------------- */
  /* DiffAugment (Zhao et al. 2020) with a horizontal flip in front, per item
   * of x (N, C, H, W), with the random draws made on the host and uploaded as
   * params (N, GPD_AUGMENT_PARAMS) in engine memory (integers stored as
   * floats; gpd_augment_param names the slots). In this order:
   *   flip:        x[.., q] -> x[.., W-1-q] when flip != 0
   *   brightness:  + b
   *   saturation:  (v - mean over channels at the pixel) * s + that mean
   *   contrast:    (v - mean over C, H, W) * k + that mean
   *   translation: y[.., r, q] = v[.., r + shift_y, q + shift_x], 0 outside
   *   cutout:      0 in rows [cut_top, cut_top + cut_size) x columns
   *                [cut_left, cut_left + cut_size) (clipped to the image)
   * Flip 0, b 0, s 1, k 1, shifts 0 and cut_size 0 leave x as it is. The
   * map is affine in x, so the backward needs only the params:
   * diffaugment_backward overwrites dx (N, C, H, W) with the adjoint of the
   * linear part applied to dy. */
  int (*diffaugment_forward)(gpd_engine *e, int n, int c, int h, int w, const float *params, const float *x, float *y);
  int (*diffaugment_backward)(gpd_engine *e, int n, int c, int h, int w, const float *params, const float *dy, float *dx);

  /* ---- optimisers whose per-iteration scalars live in engine memory ------ */
  /* The same updates as sgd_step / adam_step (bit for bit on the CPU), but
   * the step size and Adam's step count are read from engine memory when the
   * op runs, not passed by value: a CUDA graph (gpd/engine_graph.h) replays
   * its calls with the arguments they were captured with, so a schedule
   * that changes every iteration must travel this way. */
  /* p -= lr[0] * g; lr: one float in engine memory. */
  int (*sgd_step_device_lr)(gpd_engine *e, size_t count, const float *lr, const float *g, float *p);
  /* Adam with lr = sched[0] and t = sched[1] (an integer stored as a float,
   * exact up to 2^24; t < 1 counts as 1): sched is two floats in engine
   * memory. */
  int (*adam_step_device_t)(gpd_engine *e, size_t count, const float *sched, float beta1, float beta2, float eps, const float *g, float *m, float *v, float *p);

  /* ---- concurrency ---------------------------------------------------------- */
  /* A sibling engine of the same kind and precision that shares e's memory
   * space but has its own queue, so that two host threads can drive e and
   * the fork at the same time: CUDA makes a new engine on the same device
   * (own stream, cuDNN / cuBLAS handles, plan caches and arena; device
   * pointers from either engine are valid in both), the CPU a new CPU
   * engine. Memory must be freed through the engine that allocated it; a
   * fork is destroyed with gpd_engine_destroy, before or after e. Work
   * queued on one engine is not ordered with the other's: data written
   * through e is safe to read from the fork once e's upload / download /
   * sync has returned. The CUDA fork's ops must be called from threads
   * whose current CUDA device is the engine's (device 0 unless set). NULL
   * with an error on failure. */
  gpd_engine *(*fork)(gpd_engine *e);

  /* ---- hints --------------------------------------------------------------- */
  /* constant = 1: the caller promises that engine memory [p, p + count) is
   * not written until it calls again with constant = 0 (same p and count),
   * so an engine may keep forms derived from it across calls: the cpu
   * engine keeps weights there in oneDNN's blocked layouts (and bf16)
   * instead of reordering them at every call. A solver holds its
   * generators' parameters for the solve. Release memory before freeing
   * it. 0, or -1 with an error; NULL
   * where an engine has no use for it (call gpd_engine_hold_constant). */
  int (*hold_constant)(gpd_engine *e, const float *p, size_t count, int constant);
};

/* The reference engine: plain loops + OpenBLAS + FFTW, the oracle. */
gpd_engine *gpd_engine_ref_create(void);
/* The CPU engine: oneDNN for conv / dense, FFTW, in fp32
 * (gpd_engine_cpu_create) or bf16; NULL with an error for tf32. */
gpd_engine *gpd_engine_cpu_create(void);
gpd_engine *gpd_engine_cpu_create_precision(gpd_precision precision);
/* Threads of the cpu engine's oneDNN (OpenMP) pool; <= 0 leaves
 * OMP_NUM_THREADS (or all cores) in charge. */
void gpd_cpu_set_threads(int threads);
/* Threads of the ref engine's OpenBLAS; <= 0 leaves OPENBLAS_NUM_THREADS (or
 * all cores) in charge. A cpu engine keeps OpenBLAS at one thread while it
 * exists (its oneDNN pool has the cores), so set this before creating a ref
 * engine. */
void gpd_ref_set_threads(int threads);
/* The CUDA engine on device `device`; NULL with an error when built without
 * CUDA or no GPU is present. */
gpd_engine *gpd_engine_cuda_create(int device, gpd_precision precision);
/* 1 when the build has the CUDA engine and a GPU is visible. */
int gpd_cuda_available(void);
/* The libraries each engine runs on, one line of text for people
 * (`gpdeblur --version`): ref OpenBLAS; cpu oneDNN and FFTW; cuda the
 * runtime, cuDNN, cuFFT and cuBLAS with the GPU it sees or why none ("not
 * built" without the CUDA engine). */
void gpd_engine_ref_libraries(char *buf, size_t size);
void gpd_engine_cpu_libraries(char *buf, size_t size);
void gpd_engine_cuda_libraries(char *buf, size_t size);
/* "ref", "cpu", "cuda" or "auto" (cuda when available, else cpu). */
gpd_engine *gpd_engine_create(const char *name, gpd_precision precision);
void gpd_engine_destroy(gpd_engine *e);

/* e->hold_constant when the engine has it, else nothing to do (0). */
int gpd_engine_hold_constant(gpd_engine *e, const float *p, size_t count, int constant);

/* Convenience: one float per item copied down to the host. */
int gpd_engine_download_items(gpd_engine *e, float *host, const float *src, int items);

#ifdef __cplusplus
}
#endif
#endif
