/* WKV-7, token by token: one work-group of HEAD_N work-items per (sequence,
 * head); work-item i keeps row i of the state S[i][0..N) in registers.
 *   S = S diag(exp(w)) + (S a) b^T + v k^T,   o = S r
 * Inputs are [b][T][H*N]; S [b][H][N][N] is read and written when has_state,
 * else the state starts at zero. The inputs of WKV_TB tokens are staged in
 * local memory at once, so there are two barriers per WKV_TB tokens rather
 * than per token, and their loads overlap. */
#define WKV_TB 16

__kernel __attribute__((reqd_work_group_size(HEAD_N, 1, 1)))
void wkv7_recurrent (int T, int H, __global const float *r, __global const float *w,
                     __global const float *k, __global const float *v,
                     __global const float *a, __global const float *b,
                     __global float *S, int has_state, __global float *o)
{
  __local float lr[WKV_TB][HEAD_N], ld[WKV_TB][HEAD_N], lk[WKV_TB][HEAD_N];
  __local float la[WKV_TB][HEAD_N], lb[WKV_TB][HEAD_N];
  int i = get_local_id (0), seq = get_group_id (0) / H, h = get_group_id (0) % H;
  int D = H * HEAD_N;
  float s[HEAD_N], vv[WKV_TB];
  __global float *Srow = S + ((size_t) get_group_id (0) * HEAD_N + i) * HEAD_N;
#pragma unroll
  for (int j = 0; j < HEAD_N; j++)
    s[j] = has_state ? Srow[j] : 0.f;
  size_t base = (size_t) seq * T * D + (size_t) h * HEAD_N + i;
  for (int t0 = 0; t0 < T; t0 += WKV_TB) {
    int nb = min (WKV_TB, T - t0);
    for (int u = 0; u < nb; u++) {
      size_t off = base + (size_t) (t0 + u) * D;
      lr[u][i] = r[off];
      ld[u][i] = exp (w[off]);
      lk[u][i] = k[off];
      la[u][i] = a[off];
      lb[u][i] = b[off];
      vv[u] = v[off];
    }
    barrier (CLK_LOCAL_MEM_FENCE);
    for (int u = 0; u < nb; u++) {
      float sa = 0.f, y = 0.f, vi = vv[u];
#pragma unroll
      for (int j = 0; j < HEAD_N; j++)
        sa = fma (s[j], la[u][j], sa);
#pragma unroll
      for (int j = 0; j < HEAD_N; j++) {
        s[j] = fma (s[j], ld[u][j], fma (sa, lb[u][j], vi * lk[u][j]));
        y = fma (s[j], lr[u][j], y);
      }
      o[base + (size_t) (t0 + u) * D] = y;
    }
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  if (has_state)
#pragma unroll
    for (int j = 0; j < HEAD_N; j++)
      Srow[j] = s[j];
}
