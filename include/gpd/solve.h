/* Blind deblurring with generative priors (the paper's Section IV), written
 * once against the engine. Random restarts are the batch dimension. */
#ifndef GPD_SOLVE_H
#define GPD_SOLVE_H

#include "gpd/net.h"
#include "gpd/blur.h"
#include "gpd/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gpd_algorithm {
  GPD_ALG_NAIVE = 0, /* eq. 4: closest image to y in the range of G_I */
  GPD_ALG_1,         /* Algorithm 1: z_i, z_k by gradient descent */
  GPD_ALG_2,         /* Algorithm 2: free image i, range error, TV */
  GPD_ALG_3,         /* Algorithm 3: untrained G_I, its weights fitted too */
  GPD_ALG_RANGE      /* range projection: closest G_I(z) to a sharp image */
} gpd_algorithm;

/* How the step budget is spent over the restarts. */
typedef enum gpd_schedule {
  GPD_SCHEDULE_FULL = 0, /* every restart runs every step (the paper's) */
  GPD_SCHEDULE_HALVING   /* successive halving: at each point of halving_at the
                          * better half of each image's restarts (by the
                          * algorithm's measurement) goes on, the rest stop */
} gpd_schedule;

#define GPD_SOLVE_MAX_HALVINGS 16

/* Every weight of every algorithm, with the paper's defaults from
 * gpd_solve_defaults() (DESIGN.md, Tables II and III). Objectives per
 * restart, with data(x, k) = (1/C) sum |B(x (*) k) - y|^2 (gpd_data_term):
 *  naive: mean over pixels of (B'(G_I(z)) - y)^2, gradient descent;
 *  Alg 1: data(G_I(z_i), G_K(z_k)) + gamma |z_i|^2 + lambda |z_k|^2,
 *         gradient descent, both latents from gradients at the same point;
 *  Alg 2: free_weight data(i, G_K(z_k)) + tau mean((i - G_I(z_i))^2)
 *         + zeta data(G_I(z_i), G_K(z_k)) + rho TV(i), Adam on z_i, z_k, i;
 *  Alg 3: data(G_I(z_i, W), G_K(z_k)) + kappa |z_k|^2 + nu TV(G_I(z_i, W)),
 *         after fitting W to y (eq. 12); Adam on z_i, z_k and W;
 *  range: mean over pixels of (B'(G_I(z)) - i_sharp)^2, Adam.
 * B'(.) is the identity when the generator's image is y's size, else the
 * centred y-sized window (linear boundary: the pixels aligned with y, which
 * sit (K-1)/2 in from each side). Gradient descent steps are
 * lr * exp(-t / lr_decay) (t = 0, 1, ...). */
typedef struct gpd_solve_options {
  gpd_algorithm alg;
  gpd_boundary boundary;
  int restarts;        /* 10 (Alg 3 runs them one after another) */
  int steps;           /* Alg 1: 10000 (6000 for SVHN); Alg 2: 10000; Alg 3: 20000;
                        * naive: 10000; range: 3000 */
  uint64_t seed;       /* latents, i and Alg 3's weights are drawn from it */
  /* Algorithm 1 / naive: z <- z - lr * exp(-t / lr_decay) * grad */
  float gamma;         /* ||z_i||^2 weight, 0.01 (naive: 0) */
  float lambda;        /* ||z_k||^2 weight, 0.01 */
  float lr;            /* 0.01 */
  float lr_decay;      /* 1000 (also the decay of range's Adam step) */
  /* Algorithm 2 (range: adam_lr is its initial Adam step, 0.05) */
  float tau;           /* ||i - G_I(z_i)||^2 weight (mean over pixels), 100 */
  float zeta;          /* in-range data term weight, 1.0 (authors' code) */
  float free_weight;   /* free-image data term weight, 0.5 (authors' code) */
  float rho;           /* TV weight on i, 1e-3 */
  float adam_lr;       /* 0.005 */
  float init_mean, init_std; /* i ~ N(0.5, 0.1^2) */
  /* i starts at y + N(0, init_std^2) instead (circular boundary: y has the
   * image's size): the paper draws it around 0.5; 0 (default) or 1 */
  int alg2_init_blurry;
  float adam_lr_decay; /* Alg 2's step adam_lr * exp(-t / adam_lr_decay); 0 (default): constant */
  float adam_lr_kernel; /* Alg 2's Adam step for z_k alone; 0 (default): adam_lr, the paper's one step */
  /* Alg 2's final anneal: over the last adam_lr_anneal * steps iterations
   * every Adam step falls linearly towards 0, so each restart settles where
   * a constant step leaves it jittering; 0 (default): none, the paper's */
  float adam_lr_anneal;
  /* Which loss is Algorithm 2's measurement (it picks the best restart and
   * ranks them for halving): 0 (default), the free image's residual
   * data(i, G_K(z_k)) as the authors' code chooses (it can prefer a free
   * image that fits y with a wrong kernel); 1, the total objective L, which
   * also sees whether i stays near the range and G_I(z_i) explains y (and
   * so penalises a right answer that lies beyond the range). */
  int alg2_select_total;
  /* Algorithm 2's non-blind finish (host/solve/solve_polish.c): each
   * restart the solve returns (the chosen one, or those averaged or kept)
   * has its free image solved once more with its kernel k and range image
   * G_I(z_i) fixed, min_i data(i, k) + polish_tau mean((i - G_I(z_i))^2)
   * + polish_rho TV(i), by polish_steps Adam steps of polish_lr from where
   * the solve left it; the choice of restarts and their losses are the
   * blind solve's. 0 steps (default): none, the paper's. */
  int polish_steps;
  float polish_tau;    /* 30 */
  float polish_rho;    /* 5e-4 */
  float polish_lr;     /* 0.002 */
  /* naive, 1 and 2: the result is the mean of the average_best restarts with
   * the lowest measurement that ran to the end (images, range images and
   * kernels, each in the gauge sum(k) = 1 first: keep_kernel_scale must be 0;
   * solve_average.c); 1 (default): the best one alone, the paper's. At most
   * restarts. */
  int average_best;
  /* naive, 1 and 2: 1 keeps every restart that ran to the end (the halving
   * schedule's survivors) in the result's `ranked`, best first by the
   * measurement, each in the gauge sum(k) = 1 (keep_kernel_scale must be 0):
   * to look at what the restarts found, not only the one returned; 0
   * (default): none kept. */
  int keep_restarts;
  /* Algorithm 3 */
  float nu;            /* TV weight on G_I(z_i, W), 1e-3 */
  float kappa;         /* ||z_k||^2 weight, 1e-3 */
  int fit_steps;       /* eq. 12: 400 */
  float fit_lr;        /* 1e-3 */
  float lr_z;          /* 1e-3 (z_i, z_k) */
  float lr_w;          /* 1e-4 (W) */
  int untrained_width; /* DCGAN width for the untrained generator, 64 */
  int untrained_latent;/* 100 */
  /* Algorithm 3's restarts are long (400 + 20,000 steps: hours on a CPU).
   * With a checkpoint_dir each restart saves its state there (host/solve/
   * alg3_checkpoint.c) when its eq. 12 fit ends and then every
   * checkpoint_seconds (600), and a solve that finds the file of its
   * restart (the same blurry image, options, seed and generators) continues
   * from it, bit for bit what an uninterrupted run computes on the same
   * engine; the file goes when the restart ends. NULL (default): none. */
  const char *checkpoint_dir;
  double checkpoint_seconds;
  /* Logging: called every log_every steps (0 = never), and once for the
   * final point (step = steps), with per-restart measurement losses (host
   * array of `restarts`; NaN for a diverged restart) and total losses. The
   * measurement is the loss the best restart is chosen by: data(G_I(z_i),
   * G_K(z_k)) for Alg 1 and 3, the free-image residual data(i, G_K(z_k))
   * for Alg 2 (its total with alg2_select_total), the mean squared distance for naive and range. Alg 3's
   * restarts run one after another, so its log calls come after the last
   * restart (the main phase only; the eq. 12 fit is not logged). */
  int log_every;
  /* (With the halving schedule, a restart that has stopped is reported as
   * NaN from its point on: the rows always have o->restarts columns.) */
  void (*log)(void *ctx, int step, int restarts, const float *measurement, const float *total);
  void *log_ctx;
  /* Progress: called with (done, total) iterations (for a progress bar);
   * Alg 3 counts restarts x (fit_steps + steps). */
  void (*progress)(void *ctx, int step, int steps);
  void *progress_ctx;
  const char *untrained_arch; /* Alg 3: "dcgan_tf" (NULL = this) or "dcgan_torch" */
  /* Memory and concurrency (gpd_solve_plan_make). Restarts that do not fit
   * the engine's free memory run in groups, one after another; the result
   * is the same as one batch (restart r starts from row r of the seed's
   * streams whatever the grouping). */
  size_t memory_limit; /* bytes of engine memory to consider free at most;
                        * 0: $GPD_MEMORY_LIMIT_MB (MiB) when set, else no cap */
  int threads;         /* groups (Alg 3: restarts) run at once, each on its own
                        * forked engine (a CUDA stream) in a host thread;
                        * 0: $GPD_SOLVER_THREADS when set, else 1 on the CPU,
                        * on CUDA min(restarts, 8) for Alg 3 and 1 for the
                        * batched algorithms (one batch fills the GPU) */
  /* Schedule (naive, 1, 2, range; Alg 3 runs its restarts one after another
   * and takes only full). Halving: at step round(f * steps) for each
   * fraction f of halving_at (increasing, in (0, 1)) the restarts of each
   * image still running are ranked by their measurement at the step before
   * (the one the log shows; a diverged restart ranks last, ties to the lower
   * index) and the better floor(n / 2) of them (at least one) go on from
   * there, gathered into a smaller batch so that the work shrinks with
   * them; once one is left, later points change nothing. Restarts that
   * run in groups (memory) are halved within their group, and the best of
   * the groups' survivors is chosen. */
  gpd_schedule schedule;
  /* Algorithms 1-3: y = i * k is unchanged by (s i, k / s), and the blur
   * generator does not pin the sum of its kernels (weights/README.md), so a
   * solve may end with a kernel summing to 1.2 and an image 17% too dark.
   * 0 (default): the result is returned in the gauge sum(k) = 1 (a blur
   * conserves light): image and range image times sum(k), kernel over it;
   * the losses are the solve's. 1: as the solve ended. */
  int keep_kernel_scale;
  int n_halving;                          /* points used of halving_at */
  float halving_at[GPD_SOLVE_MAX_HALVINGS];
} gpd_solve_options;

void gpd_solve_defaults(gpd_solve_options *o, gpd_algorithm alg);
/* The options' own checks of gpd_solve (ranges, weights, the schedule for
 * the algorithm), one-line errors; for commands to refuse bad options
 * before any work. */
int gpd_solve_check_options(const gpd_solve_options *o);

/* One restart's outputs (gpd_solve_options.keep_restarts), in the gauge
 * sum(k) = 1. */
typedef struct gpd_solve_restart {
  int restart;         /* its index among the image's restarts */
  float measurement;   /* the loss restarts are ranked by (see log above) */
  float total;         /* its total objective */
  gpd_image image;     /* as gpd_solve_result's */
  gpd_image range_image;
  float *kernel;       /* K x K, malloc'd (NULL for naive) */
  int ksize;
} gpd_solve_restart;

typedef struct gpd_solve_result {
  gpd_image image;     /* the deblurred image (Alg 2: the free image i; range:
                        * the range image). The generator's size: y's, or
                        * (H+K-1) x (W+K-1) for the linear boundary */
  gpd_image range_image; /* G_I(z_i) of the chosen restart (Alg 3: G_I(z_i, W));
                        * the same as image except for Alg 2 */
  float *kernel;       /* K x K, malloc'd (NULL for naive / range) */
  int ksize;
  int chosen;          /* index of the chosen restart (the best one) */
  int averaged;        /* restarts averaged into image, range_image and kernel
                        * (gpd_solve_options.average_best, or fewer where
                        * fewer ran to the end); 1: the chosen one alone */
  int diverged;        /* number of restarts dropped for NaN / inf loss */
  float measurement;   /* chosen restart's measurement loss (see log above) */
  float total;         /* chosen restart's total objective */
  float *restart_measurement; /* per restart (NaN for diverged), malloc'd */
  double seconds;
  int restarts;        /* length of the per-restart arrays */
  int *diverged_at;    /* per restart: step whose loss was NaN / inf, -1 when
                        * it stayed finite (Alg 3: -(s+2) when it diverged at
                        * step s of the eq. 12 fit); malloc'd */
  double range_psnr;   /* range projection: PSNR (dB) of the range image
                        * (its y-sized window) to the sharp image; NaN otherwise */
  int *dropped_at;     /* per restart: the step at which the halving schedule
                        * stopped it (its measurement above is the one it was
                        * ranked by), -1 when it ran to the end; malloc'd */
  long restart_iterations; /* iterations run, summed over the restarts (full:
                        * restarts x steps; Alg 3: x (fit_steps + steps)) */
  int groups;          /* batches the restarts ran in (Alg 3: restarts) */
  int threads;         /* of them at once */
  long graph_launches; /* iterations replayed from CUDA graphs (0 on the CPU) */
  long graph_capture_failures; /* captures that failed: their iterations ran eagerly */
  char graph_failure[256];     /* the first failed capture's cause ("" when none) */
  gpd_solve_restart *ranked;   /* keep_restarts: the restarts that ran to the end
                                * with a finite measurement, best first; malloc'd */
  int n_ranked;
} gpd_solve_result;

void gpd_solve_result_free(gpd_solve_result *r);

/* Deblurs y (host image) with image generator gi (NULL for Alg 3, which
 * builds its own untrained DCGAN with y's channels, sized to the image and
 * centre-cropped when its natural size is larger) and blur generator gk
 * (the decoder of the blur VAE: 1 x K x K; NULL for naive / range). For
 * range, y is the sharp image. For linear boundaries the generator's image
 * is (H+K-1, W+K-1) and y is H x W. Trained generators run with batch norm
 * in inference mode (their bn_train is set to 0 during the call and
 * restored). Restarts run as gpd_solve_plan_make plans them (groups that
 * fit the memory, threads); one iteration is a CUDA graph launch on engines
 * with graphs (GPD_SOLVER_GRAPHS=0: eager). Errors (one line): an image
 * size or channel count the generator cannot produce, a kernel that does
 * not fit, not even one restart fits the memory, all restarts diverged, an
 * engine failure. res is zeroed first and owns its arrays on
 * success (free with gpd_solve_result_free). */
int gpd_solve(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk,
              const gpd_solve_options *o, gpd_solve_result *res);

/* Several images in one solve: image j's o->restarts restarts start from
 * the streams of seeds[j] (o->seed is not used), so each image's result is
 * what gpd_solve with seed seeds[j] gives (up to the engine's rounding at
 * another batch size). The images must have one size; they share the
 * generators and run as one batch of images x restarts (the memory plan
 * counts them all: gpd_solve_plan_make with restarts = images x
 * o->restarts), Alg 3 image after image. res[0 .. images) are zeroed
 * first; an image whose restarts all diverged is a result, not an error:
 * its chosen is -1, it has no image (gpd_solve_divergence_note says why).
 * Errors: gpd_solve's, and images of different sizes. Free each result. */
int gpd_solve_batch(gpd_engine *e, int images, const gpd_image *ys, const uint64_t *seeds, gpd_net *gi, gpd_net *gk,
                    const gpd_solve_options *o, gpd_solve_result *res);
/* "all 10 restarts diverged (NaN loss at step 12); try a smaller step
 * size" for a result whose restarts all diverged (chosen -1), into buf. */
void gpd_solve_divergence_note(const gpd_solve_result *res, gpd_algorithm alg, char *buf, size_t size);
/* Parses "0.1,0.25,0.5" into o->halving_at / n_halving (fractions in
 * (0, 1), increasing); errors name `opt`. */
int gpd_solve_parse_halving(const char *opt, const char *text, gpd_solve_options *o);
/* o's schedule as text: "full", or "halving:0.1,0.25,0.5". */
void gpd_solve_schedule_text(const gpd_solve_options *o, char *buf, size_t size);

/* ---- memory ----------------------------------------------------------------
 * Engine memory a solve needs on engine e, estimated by building its problem
 * (networks' workspaces at the batch, data term scratch, variables,
 * gradients, optimiser moments, the replicated y) for one and for two
 * restarts with host memory standing in for the engine's and counting the
 * bytes, plus what e's FFTs keep outside alloc() (e->fft_scratch_bytes: a
 * copy of the c2r input, the plans' work areas), 10% on top, and e's
 * reserve for what it takes outside alloc() (e->caps.instance_reserve:
 * library handles and workspaces, allocator slack), once per engine. A
 * batch of n restarts needs fixed + n * per_restart bytes (the plan sizes
 * groups with the FFT part counted twice: an engine keeps the plans of
 * every batch size it ran); for Alg 3, which runs restarts one at a time,
 * fixed + per_restart is one restart's need (its untrained network
 * included). The trained generators' parameters are not counted: they are
 * allocated already. tensor_per_restart is the number of elements the
 * largest batched tensor grows by per restart (0 for Alg 3), what groups
 * are capped by on an engine with a tensor-size limit. */
typedef struct gpd_solve_memory {
  size_t fixed, per_restart;
  size_t tensor_per_restart;
} gpd_solve_memory;
/* Errors: those of gpd_solve's validation (sizes, options). */
int gpd_solve_memory_estimate(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk,
                              const gpd_solve_options *o, gpd_solve_memory *m);

/* How gpd_solve will run o->restarts restarts on e: the largest batch that
 * fits min(e->memory_free(e), the memory limit) and whose largest tensor
 * stays within e->caps.max_tensor_elements is group_size, and the
 * restarts run as `groups` batches of at most group_size (sizes balanced),
 * `threads` at a time (each group on its forked engine; groups at once
 * must fit together). Alg 3: groups = restarts of size 1, `threads` of them
 * at once. Fails with "GPU memory: one restart needs X MiB, Y MiB free"
 * ("memory" on the CPU) when even one restart does not fit, and with
 * gpd_solve's validation errors. */
typedef struct gpd_solve_plan {
  gpd_solve_memory memory;
  size_t need;          /* fixed + restarts * per_restart (Alg 3: one restart) */
  size_t free;          /* memory considered free */
  int limited;          /* free is the memory limit (below the engine's) */
  int groups, group_size, threads;
  int one_by_one;       /* restarts are separate problems (Alg 3) */
} gpd_solve_plan;
int gpd_solve_plan_make(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk, const gpd_solve_options *o,
                        gpd_solve_plan *plan);
/* One line for the user when the plan splits or parallelises the restarts
 * ("GPU memory: 10000 restarts need 23.1 GiB, 9.8 GiB free: running 3
 * groups of 3334"), into buf; returns 1 then, 0 (buf empty) otherwise. */
int gpd_solve_plan_describe(const gpd_solve_plan *plan, const gpd_engine *e, int restarts, char *buf, size_t size);

/* The h x w window of a generator-sized image that the solvers align with
 * y: offset ((H - h) / 2, (W - w) / 2) rounded DOWN, which for the linear
 * boundary is (K-1)/2, the pixels under the kernel's centre (K/2). Note
 * gpd_image_center_crop rounds odd margins up (the CelebA recipe); use this
 * one to compare a linear-boundary result with a y-sized image. */
int gpd_solve_window(const gpd_image *src, int h, int w, gpd_image *dst);

/* The data term and its gradients, shared by every algorithm (eq. 7-9):
 * per item n, loss[n] = (1/C) sum_{c,p} r[n,c,p]^2 with
 * r = B(x[n] (*) k[n]) - y[n mod y_items], which equals the mean over
 * channels and frequencies of |F y - F x . F k|^2 with unnormalised FFTs.
 * B is the identity (circular) or the valid crop (linear). Gradients
 * (overwritten when non-NULL): dx = dL/dx (N,C,Hx,Wx), dk = dL/dk (N,K,K),
 * scaled by `weight`; loss (engine memory, N floats) is unweighted. */
typedef struct gpd_data_term gpd_data_term;
gpd_data_term *gpd_data_term_create(gpd_engine *e, int n, int c, int hx, int wx, int ksize, gpd_boundary boundary);
void gpd_data_term_free(gpd_data_term *d);
/* From now on the data term works on its first n items (n <= the batch it
 * was created for): the halving schedule's smaller batches. */
int gpd_data_term_set_batch(gpd_data_term *d, int n);
/* y: engine memory, (y_items, C, Hy, Wy) with Hy = Hx (circular) or Hx-K+1. */
int gpd_data_term_eval(gpd_data_term *d, const float *x, const float *k, const float *y, int y_items,
                       float weight, float *loss, float *dx, float *dk);

#ifdef __cplusplus
}
#endif
#endif
