/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3")
 * and Box-Muller normals; training/dir7/noise.py is its twin. */
#include "philox.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void
d7_philox4x32_10 (const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t) PHILOX_M0 * c0, p1 = (uint64_t) PHILOX_M1 * c2;
    uint32_t hi0 = (uint32_t) (p0 >> 32), lo0 = (uint32_t) p0;
    uint32_t hi1 = (uint32_t) (p1 >> 32), lo1 = (uint32_t) p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static double
uniform (uint32_t w)
{
  return ((double) (w >> 8) + 0.5) * (1.0 / 16777216.0);  /* (0, 1), never 0 */
}

void
d7_randn (uint64_t seed, uint32_t stream, uint32_t batch, float *out, size_t n)
{
  const uint32_t key[2] = { (uint32_t) seed, (uint32_t) (seed >> 32) };
  for (size_t b = 0; 4 * b < n; b++) {
    uint32_t ctr[4] = { (uint32_t) b, stream, batch, 0 }, w[4];
    d7_philox4x32_10 (ctr, key, w);
    float z[4];
    for (int p = 0; p < 2; p++) {
      double rad = sqrt (-2.0 * log (uniform (w[2 * p])));
      double th = 6.283185307179586 * uniform (w[2 * p + 1]);
      z[2 * p] = (float) (rad * cos (th));
      z[2 * p + 1] = (float) (rad * sin (th));
    }
    for (int j = 0; j < 4 && 4 * b + j < n; j++)
      out[4 * b + j] = z[j];
  }
}
