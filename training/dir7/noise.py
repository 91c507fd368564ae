"""The shared counter-based noise generator; core/philox.c is its twin.

Philox4x32-10 with key = (seed & 0xffffffff, seed >> 32). Block b of a
(seed, stream, batch) sequence uses counter (b, stream, batch, 0); its four
words w give uniforms u = ((w >> 8) + 0.5) * 2^-24 and, by Box-Muller in
double, z0 = sqrt(-2 ln u0) cos(2 pi u1), z1 = sqrt(-2 ln u0) sin(2 pi u1),
z2, z3 likewise from (u2, u3); value 4b + j is (float32) z_j.
"""
import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr, key):
    """ctr: uint32 [n, 4]; key: two uint32. Returns uint32 [n, 4]."""
    c = np.asarray(ctr, dtype=np.uint64).reshape(-1, 4)
    c0, c1, c2, c3 = (c[:, i].copy() for i in range(4))
    k0, k1 = int(key[0]), int(key[1])
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def randn(seed, stream, batch, n):
    """n standard normal float32 values of the (seed, stream, batch) sequence."""
    blocks = (n + 3) // 4
    ctr = np.zeros((blocks, 4), dtype=np.uint64)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint64)
    ctr[:, 1] = stream
    ctr[:, 2] = batch
    w = philox4x32_10(ctr, (seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF))
    u = ((w >> 8).astype(np.float64) + 0.5) * (1.0 / 16777216.0)
    rad = np.sqrt(-2.0 * np.log(u[:, 0::2]))
    th = 2.0 * np.pi * u[:, 1::2]
    z = np.empty((blocks, 4), dtype=np.float64)
    z[:, 0::2] = rad * np.cos(th)
    z[:, 1::2] = rad * np.sin(th)
    return z.reshape(-1)[:n].astype(np.float32)


def randn_torch(seed, stream, batch, shape):
    import torch
    n = 1
    for s in shape:
        n *= int(s)
    return torch.from_numpy(randn(seed, stream, batch, n).reshape(tuple(shape)))
