/* xoshiro256** with splitmix64 seeding, Box-Muller normals (gpd/rng.h). */
#include "gpd/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void gpd_rng_seed(gpd_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->has_spare = 0;
  r->spare = 0.0;
}

uint64_t gpd_rng_u64(gpd_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double gpd_rng_uniform(gpd_rng *r) { return (double)(gpd_rng_u64(r) >> 11) * 0x1.0p-53; }

double gpd_rng_normal(gpd_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u1, u2;
  do u1 = gpd_rng_uniform(r); while (u1 <= 0.0);
  u2 = gpd_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  r->spare = rad * sin(2.0 * M_PI * u2);
  r->has_spare = 1;
  return rad * cos(2.0 * M_PI * u2);
}

void gpd_rng_fill_normal(gpd_rng *r, float *x, size_t n, float mean, float std) {
  for (size_t i = 0; i < n; i++) x[i] = mean + std * (float)gpd_rng_normal(r);
}

int gpd_rng_int(gpd_rng *r, int lo, int hi) {
  uint64_t span = (uint64_t)(hi - lo) + 1;
  return lo + (int)(gpd_rng_u64(r) % span);
}
