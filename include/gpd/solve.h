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

/* Every weight of every algorithm, with the paper's defaults from
 * gpd_solve_defaults() (DESIGN.md, Tables II and III). */
typedef struct gpd_solve_options {
  gpd_algorithm alg;
  gpd_boundary boundary;
  int restarts;        /* 10 */
  int steps;           /* Alg 1: 10000 (6000 for SVHN); Alg 2: 10000; Alg 3: 20000 */
  uint64_t seed;
  /* Algorithm 1 / naive / range: z <- z - lr * exp(-t / lr_decay) * grad */
  float gamma;         /* ||z_i||^2 weight, 0.01 */
  float lambda;        /* ||z_k||^2 weight, 0.01 */
  float lr;            /* 0.01 */
  float lr_decay;      /* 1000 */
  /* Algorithm 2 */
  float tau;           /* ||i - G_I(z_i)||^2 weight (mean over pixels), 100 */
  float zeta;          /* in-range data term weight, 1.0 (authors' code) */
  float free_weight;   /* free-image data term weight, 0.5 (authors' code) */
  float rho;           /* TV weight on i, 1e-3 */
  float adam_lr;       /* 0.005 */
  float init_mean, init_std; /* i ~ N(0.5, 0.1^2) */
  /* Algorithm 3 */
  float nu;            /* TV weight on G_I(z_i, W), 1e-3 */
  float kappa;         /* ||z_k||^2 weight, 1e-3 */
  int fit_steps;       /* eq. 12: 400 */
  float fit_lr;        /* 1e-3 */
  float lr_z;          /* 1e-3 (z_i, z_k) */
  float lr_w;          /* 1e-4 (W) */
  int untrained_width; /* DCGAN width for the untrained generator, 64 */
  int untrained_latent;/* 100 */
  /* Logging: called every log_every steps (0 = never) with per-restart
   * measurement losses (host array of `restarts`) and total losses. */
  int log_every;
  void (*log)(void *ctx, int step, int restarts, const float *measurement, const float *total);
  void *log_ctx;
  /* Progress: called with step, steps (for a progress bar). */
  void (*progress)(void *ctx, int step, int steps);
  void *progress_ctx;
} gpd_solve_options;

void gpd_solve_defaults(gpd_solve_options *o, gpd_algorithm alg);

typedef struct gpd_solve_result {
  gpd_image image;     /* the deblurred image (Alg 2: the free image i) */
  gpd_image range_image; /* G_I(z_i) of the chosen restart (Alg 2, range) */
  float *kernel;       /* K x K, malloc'd (NULL for naive / range) */
  int ksize;
  int chosen;          /* index of the chosen restart */
  int diverged;        /* restarts dropped for NaN / inf loss */
  float measurement;   /* chosen restart's measurement loss */
  float total;         /* chosen restart's total objective */
  float *restart_measurement; /* per restart (NaN for diverged), malloc'd */
  double seconds;
} gpd_solve_result;

void gpd_solve_result_free(gpd_solve_result *r);

/* Deblurs y (host image) with image generator gi (NULL for Alg 3, which
 * builds its own untrained DCGAN) and blur generator gk (the decoder of the
 * blur VAE; NULL for naive / range). For linear boundaries the generator's
 * image is (H+K-1, W+K-1) and y is H x W. Errors: an image size the
 * generator cannot produce, a kernel that does not fit, all restarts
 * diverged. */
int gpd_solve(gpd_engine *e, const gpd_image *y, gpd_net *gi, gpd_net *gk,
              const gpd_solve_options *o, gpd_solve_result *res);

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
/* y: engine memory, (y_items, C, Hy, Wy) with Hy = Hx (circular) or Hx-K+1. */
int gpd_data_term_eval(gpd_data_term *d, const float *x, const float *k, const float *y, int y_items,
                       float weight, float *loss, float *dx, float *dk);

#ifdef __cplusplus
}
#endif
#endif
