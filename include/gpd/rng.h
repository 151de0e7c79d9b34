/* Reproducible random numbers, identical on every machine and engine.
 *
 * All randomness (latent initialisation, noise, motion trajectories, weight
 * initialisation, data shuffling) is drawn on the host from this generator
 * and uploaded, so the CPU and CUDA engines see the same numbers for the same
 * seed. xoshiro256** seeded through splitmix64; normals by Box-Muller. */
#ifndef GPD_RNG_H
#define GPD_RNG_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gpd_rng {
  uint64_t s[4];
  int has_spare;     /* Box-Muller makes normals in pairs */
  double spare;
} gpd_rng;

void gpd_rng_seed(gpd_rng *r, uint64_t seed);
uint64_t gpd_rng_u64(gpd_rng *r);
double gpd_rng_uniform(gpd_rng *r);              /* [0, 1) */
double gpd_rng_normal(gpd_rng *r);               /* N(0, 1) */
/* Fills x[0..n) with mean + std * N(0, 1). */
void gpd_rng_fill_normal(gpd_rng *r, float *x, size_t n, float mean, float std);
/* Uniform integer in [lo, hi] inclusive. */
int gpd_rng_int(gpd_rng *r, int lo, int hi);

#ifdef __cplusplus
}
#endif
#endif
