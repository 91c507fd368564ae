/* Tiled GEMM C = A * B^T (B stored [N,K], as PyTorch's Linear weights) with a
 * fused epilogue: y = act(acc + bias) * alpha, then C = y or C += y.
 * GT x GT tiles (gemm_nt 64, gemm_nt_32 32), 16x16 work-items with R x R
 * results each; batched over get_global_id(2) = z, split as
 * (z / zdiv, z % zdiv) with a stride each. The _h kernels read B (the
 * weights) stored as fp16; accumulation is fp32. Software-pipelined: the global
 * loads of slab s are in flight while slab s - 1 is multiplied from local
 * memory, so a work-group hides its own load latency (these problems are too
 * small to give a compute unit many work-groups to switch between). */

#define GEMM_KERNEL(NAME, GT, BT, LOADB) \
__kernel __attribute__((reqd_work_group_size(16, 16, 1))) \
void NAME (int M, int N, int K, \
           __global const float *A, int aoff, int lda, int sa1, int sa2, \
           __global const BT *B, int boff, int ldb, int sb1, int sb2, \
           __global float *C, int coff, int ldc, int sc1, int sc2, \
           int zdiv, __global const float *bias, int has_bias, int act, \
           float alpha, int accumulate) \
{ \
  enum { R = GT / 16 }; \
  int z = get_global_id (2), z1 = z / zdiv, z2 = z % zdiv; \
  A += aoff + z1 * sa1 + z2 * sa2; \
  B += boff + z1 * sb1 + z2 * sb2; \
  C += coff + z1 * sc1 + z2 * sc2; \
  int tx = get_local_id (0), ty = get_local_id (1), lid = ty * 16 + tx; \
  int m0 = get_group_id (1) * GT, n0 = get_group_id (0) * GT; \
  __local float As[GK][GT + 1], Bs[GK][GT + 1]; \
  enum { NL = GT * GK / 256 };   /* elements of each tile a work-item loads */ \
  float acc[R][R], pa[NL], pb[NL]; \
  for (int i = 0; i < R; i++) \
    for (int j = 0; j < R; j++) \
      acc[i][j] = 0.f; \
 \
  int nslab = (K + GK - 1) / GK; \
  for (int s = 0; s <= nslab; s++) { \
    if (s < nslab) \
      for (int u = 0; u < NL; u++) { \
        int e = lid + 256 * u, r = e / GK, kk = e % GK, gk = s * GK + kk; \
        int gm = m0 + r, gn = n0 + r; \
        pa[u] = (gm < M && gk < K) ? A[(size_t) gm * lda + gk] : 0.f; \
        pb[u] = (gn < N && gk < K) ? LOADB (B, (size_t) gn * ldb + gk) : 0.f; \
      } \
    if (s > 0) \
      SLAB_MAC (As, Bs, R, acc); \
    barrier (CLK_LOCAL_MEM_FENCE); \
    if (s < nslab) \
      for (int u = 0; u < NL; u++) { \
        int e = lid + 256 * u, r = e / GK, kk = e % GK; \
        As[kk][r] = pa[u]; \
        Bs[kk][r] = pb[u]; \
      } \
    barrier (CLK_LOCAL_MEM_FENCE); \
  } \
  for (int i = 0; i < R; i++) { \
    int m = m0 + ty + 16 * i; \
    if (m >= M) \
      continue; \
    for (int j = 0; j < R; j++) { \
      int n = n0 + tx + 16 * j; \
      if (n >= N) \
        continue; \
      float y = activate (acc[i][j] + (has_bias ? bias[n] : 0.f), act) * alpha; \
      __global float *c = C + (size_t) m * ldc + n; \
      *c = accumulate ? *c + y : y; \
    } \
  } \
}

GEMM_KERNEL (gemm_nt, 64, float, LOAD_F32)
GEMM_KERNEL (gemm_nt_32, 32, float, LOAD_F32)
GEMM_KERNEL (gemm_nt_h, 64, half, LOAD_F16)
GEMM_KERNEL (gemm_nt_32_h, 32, half, LOAD_F16)
