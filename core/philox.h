/* The shared counter-based noise generator (Philox4x32-10 + Box-Muller),
 * identical to training/dir7/noise.py. */
#ifndef DIR7_PHILOX_H
#define DIR7_PHILOX_H

#include <stdint.h>
#include <stddef.h>

/* One Philox4x32-10 block: ctr[4], key[2] -> out[4]. */
void d7_philox4x32_10 (const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* n standard normal floats for (seed, stream, batch):
 * key = (seed & 0xffffffff, seed >> 32); block b uses ctr = (b, stream, batch, 0);
 * its words w0..w3 give u_i = ((w_i >> 8) + 0.5) * 2^-24 (double), and
 * z0 = sqrt(-2 ln u0) cos(2 pi u1), z1 = sqrt(-2 ln u0) sin(2 pi u1),
 * z2, z3 likewise from u2, u3; out[4b + j] = (float) z_j. */
void d7_randn (uint64_t seed, uint32_t stream, uint32_t batch, float *out, size_t n);

#endif
