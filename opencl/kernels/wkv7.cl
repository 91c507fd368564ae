/* WKV-7, token by token: one work-group of HEAD_N work-items per (sequence,
 * head); work-item i keeps row i of the state S[i][0..N) in registers.
 *   S = S diag(exp(w)) + (S a) b^T + v k^T,   o = S r
 * Inputs are [b][T][H*N]; S [b][H][N][N] is read and written when has_state,
 * else the state starts at zero. */
__kernel __attribute__((reqd_work_group_size(HEAD_N, 1, 1)))
void wkv7_recurrent (int T, int H, __global const float *r, __global const float *w,
                     __global const float *k, __global const float *v,
                     __global const float *a, __global const float *b,
                     __global float *S, int has_state, __global float *o)
{
  __local float lr[HEAD_N], ld[HEAD_N], lk[HEAD_N], la[HEAD_N], lb[HEAD_N];
  int i = get_local_id (0), seq = get_group_id (0) / H, h = get_group_id (0) % H;
  int D = H * HEAD_N;
  float s[HEAD_N];
  __global float *Srow = S + ((size_t) get_group_id (0) * HEAD_N + i) * HEAD_N;
#pragma unroll
  for (int j = 0; j < HEAD_N; j++)
    s[j] = has_state ? Srow[j] : 0.f;
  size_t off = (size_t) seq * T * D + (size_t) h * HEAD_N + i;
  for (int t = 0; t < T; t++, off += D) {
    lr[i] = r[off];
    ld[i] = exp (w[off]);
    lk[i] = k[off];
    la[i] = a[off];
    lb[i] = b[off];
    float vi = v[off];
    barrier (CLK_LOCAL_MEM_FENCE);
    float sa = 0.f, y = 0.f;
#pragma unroll
    for (int j = 0; j < HEAD_N; j++)
      sa = fma (s[j], la[j], sa);
#pragma unroll
    for (int j = 0; j < HEAD_N; j++) {
      s[j] = fma (s[j], ld[j], fma (sa, lb[j], vi * lk[j]));
      y = fma (s[j], lr[j], y);
    }
    o[off] = y;
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  if (has_state)
#pragma unroll
    for (int j = 0; j < HEAD_N; j++)
      Srow[j] = s[j];
}
