/* 2-D convolution as an implicit GEMM: out[co, p] = sum_r W[co, r] * X[r, p]
 * with r = (ci, ky, kx) and X gathered from the image on the fly (no im2col
 * buffer). Zero padding pad, stride 1 or 2; with upsample the input is read
 * as its nearest-neighbour 2x enlargement (the U-Net's up path). Images are
 * batched over get_global_id(2); in_bstride 0 reads one image for all.
 * Epilogue: + bias, and out += result when accumulate. Same tiling and
 * software pipelining as gemm (GT 64 or 32); the _h kernels read the weights
 * stored as fp16. */

#define CONV2D_KERNEL(NAME, KSIZE, GT, WT, LOADW) \
__kernel __attribute__((reqd_work_group_size(16, 16, 1))) \
void NAME (__global const float *x, int in_bstride, int cin, int h, int w, int upsample, \
             __global const WT *W, __global const float *bias, int has_bias, \
             int cout, int k_, int stride, int pad, int oh, int ow, \
             __global float *y, int accumulate) \
{ \
  enum { R = GT / 16, RP = 256 / GT };   /* results per row; rows per pass */ \
  const int k = KSIZE; int b = get_global_id (2); \
  int lh = upsample ? 2 * h : h, lw = upsample ? 2 * w : w;   /* logical input */ \
  int npix = oh * ow, K = cin * k * k; \
  x += (size_t) b * in_bstride; \
  y += (size_t) b * cout * npix; \
  int tx = get_local_id (0), ty = get_local_id (1), lid = ty * 16 + tx; \
  int m0 = get_group_id (1) * GT, n0 = get_group_id (0) * GT; \
  __local float As[GK][GT + 1], Bs[GK][GT + 1]; \
  int my_c = lid % GT, my_p = n0 + my_c; \
  int iy0 = (my_p / ow) * stride - pad, ix0 = (my_p % ow) * stride - pad; \
  enum { NL = GT * GK / 256, NG = GK / RP };   /* weights, gathered pixels a work-item loads */ \
  float acc[R][R], pa[NL], pg[NG]; \
  for (int i = 0; i < R; i++) \
    for (int j = 0; j < R; j++) \
      acc[i][j] = 0.f; \
 \
  int nslab = (K + GK - 1) / GK; \
  for (int s = 0; s <= nslab; s++) { \
    if (s < nslab) { \
      for (int u = 0; u < NL; u++) { \
        int e = lid + 256 * u, r = e / GK, kk = e % GK, gk = s * GK + kk; \
        int gm = m0 + r; \
        pa[u] = (gm < cout && gk < K) ? LOADW (W, (size_t) gm * K + gk) : 0.f; \
      } \
      /* the gathered tile: each work-item keeps its pixel (column lid % GT) \
       * and takes rows lid / GT + RP q; divisions by the constant k are cheap */ \
      for (int q = 0; q < NG; q++) { \
        int gk = s * GK + lid / GT + RP * q; \
        float v = 0.f; \
        if (gk < K && my_p < npix) { \
          int ci = gk / (k * k), rem = gk - ci * (k * k), ky = rem / k, kx = rem - ky * k; \
          int iy = iy0 + ky, ix = ix0 + kx; \
          if (iy >= 0 && iy < lh && ix >= 0 && ix < lw) { \
            if (upsample) { iy >>= 1; ix >>= 1; } \
            v = x[((size_t) ci * h + iy) * w + ix]; \
          } \
        } \
        pg[q] = v; \
      } \
    } \
    if (s > 0) \
      SLAB_MAC (As, Bs, R, acc); \
    barrier (CLK_LOCAL_MEM_FENCE); \
    if (s < nslab) { \
      for (int u = 0; u < NL; u++) { \
        int e = lid + 256 * u; \
        As[e % GK][e / GK] = pa[u]; \
      } \
      for (int q = 0; q < NG; q++) \
        Bs[lid / GT + RP * q][my_c] = pg[q]; \
    } \
    barrier (CLK_LOCAL_MEM_FENCE); \
  } \
  for (int i = 0; i < R; i++) { \
    int m = m0 + ty + 16 * i; \
    if (m >= cout) \
      continue; \
    for (int j = 0; j < R; j++) { \
      int p = n0 + tx + 16 * j; \
      if (p >= npix) \
        continue; \
      float v = acc[i][j] + (has_bias ? bias[m] : 0.f); \
      __global float *o = y + (size_t) m * npix + p; \
      *o = accumulate ? *o + v : v; \
    } \
  } \
}

CONV2D_KERNEL (conv2d_k3, 3, 64, float, LOAD_F32)
CONV2D_KERNEL (conv2d_k1, 1, 64, float, LOAD_F32)
CONV2D_KERNEL (conv2d_k3_32, 3, 32, float, LOAD_F32)
CONV2D_KERNEL (conv2d_k1_32, 1, 32, float, LOAD_F32)
CONV2D_KERNEL (conv2d_k3_h, 3, 64, half, LOAD_F16)
CONV2D_KERNEL (conv2d_k1_h, 1, 64, half, LOAD_F16)
CONV2D_KERNEL (conv2d_k3_32_h, 3, 32, half, LOAD_F16)
CONV2D_KERNEL (conv2d_k1_32_h, 1, 32, half, LOAD_F16)
