/* WKV-7 in chunks of WKV_C tokens (the UT form of core/wkv7.c:chunk_head and
 * training/dir7/wkv.py:wkv7_chunked), split so that only a short state pass
 * is sequential:
 *   prep  (every sequence, head and chunk at once): the chunk's own terms.
 *         With sa_t = S0 P_t + Q_t (S0 the state entering the chunk),
 *           P_t = a_t e^{L_{t-1}} + sum_{s<t} Mab[t,s] P_s
 *           Q_t = sum_{s<t} (Mak[t,s] v_s + Mab[t,s] Q_s)
 *         and the state leaving the chunk is S0 G + F,
 *           G = diag(e^{L_C}) + sum_s P_s bd_s^T,  F = sum_s (Q_s bd_s^T + v_s kd_s^T)
 *         (bd_s = b_s e^{L_C - L_s}, kd_s likewise, L the cumulative log-decay).
 *  state (one work-group per sequence and head): S_{c+1} = S_c G_c + F_c,
 *         keeping every S_c.
 *  out   (every chunk at once): o_t = S_c (r_t e^{L_t}) + sum_{s<=t} (Mrb sa_s + Mrk v_s).
 * Every exponent is <= 0, as on the CPU. Work-groups of 256; local arrays use
 * a row stride of HEAD_N + 1 so that reads down a column miss no bank. Built
 * for 16 <= HEAD_N <= 64 (the state pass keeps S in local memory); other head
 * sizes use the recurrent kernel. */
#if HEAD_N >= 16 && HEAD_N <= 64

#define WKV_C 16
#define LDN (HEAD_N + 1)
#define CN (WKV_C * LDN)
#define CC (WKV_C * WKV_C)

/* tokens t0 .. t0+nt of one head into dst[t][n], zeros past the end (a zero
 * token changes nothing: no decay, no key, no value) */
inline void
load_chunk (__global const float *x, size_t base, int D, int nt, __local float *dst)
{
  for (int e = get_local_id (0); e < WKV_C * HEAD_N; e += 256) {
    int t = e / HEAD_N, n = e % HEAD_N;
    dst[t * LDN + n] = t < nt ? x[base + (size_t) t * D + n] : 0.f;
  }
}

/* the log-decays w[t][n] become their running sums L[t][n], in place */
inline void
cumulative (__local float *L)
{
  for (int n = get_local_id (0); n < HEAD_N; n += 256)
    for (int t = 1; t < WKV_C; t++)
      L[t * LDN + n] += L[(t - 1) * LDN + n];
}

/* M1[t,s] = sum_n x_t[n] e^{L_t'[n] - L_s[n]} y1_s[n], M2 the same with y2,
 * for s < t with t' = t - 1 (strict) or s <= t with t' = t; zero elsewhere */
inline void
pair_dots (__local const float *L, __local const float *x, int strict,
           __local const float *y1, __local const float *y2,
           __local float *M1, __local float *M2)
{
  for (int p = get_local_id (0); p < CC; p += 256) {
    int t = p / WKV_C, s = p % WKV_C;
    float d1 = 0.f, d2 = 0.f;
    if (strict ? s < t : s <= t) {
      __local const float *Lt = L + (t - strict) * LDN, *Ls = L + s * LDN;
      for (int n = 0; n < HEAD_N; n++) {
        float e = x[t * LDN + n] * exp (Lt[n] - Ls[n]);
        d1 = fma (e, y1[s * LDN + n], d1);
        d2 = fma (e, y2[s * LDN + n], d2);
      }
    }
    M1[p] = d1;
    M2[p] = d2;
  }
}

/* P, Q: [seq*H][chunk][WKV_C][HEAD_N]; G, F: [seq*H][chunk][HEAD_N][HEAD_N] */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void wkv7_chunk_prep (int T, int H, __global const float *w, __global const float *k,
                      __global const float *v, __global const float *a,
                      __global const float *b, __global float *P, __global float *Q,
                      __global float *G, __global float *F)
{
  __local float L[CN], lk[CN], lv[CN], la[CN], lb[CN], lP[CN], lQ[CN], Mab[CC], Mak[CC];
  int nch = (T + WKV_C - 1) / WKV_C, c = get_group_id (0) % nch, sh = get_group_id (0) / nch;
  int h = sh % H, D = H * HEAD_N, t0 = c * WKV_C, nt = min (WKV_C, T - t0);
  int lid = get_local_id (0);
  size_t base = ((size_t) (sh / H) * T + t0) * D + (size_t) h * HEAD_N;
  size_t cidx = (size_t) sh * nch + c;
  load_chunk (w, base, D, nt, L);
  load_chunk (k, base, D, nt, lk);
  load_chunk (v, base, D, nt, lv);
  load_chunk (a, base, D, nt, la);
  load_chunk (b, base, D, nt, lb);
  barrier (CLK_LOCAL_MEM_FENCE);
  cumulative (L);
  barrier (CLK_LOCAL_MEM_FENCE);
  pair_dots (L, la, 1, lb, lk, Mab, Mak);
  barrier (CLK_LOCAL_MEM_FENCE);
  /* forward substitution, one token at a time */
  for (int t = 0; t < WKV_C; t++) {
    for (int e = lid; e < 2 * HEAD_N; e += 256) {
      int j = e % HEAD_N;
      if (e < HEAD_N) {
        float p = la[t * LDN + j] * (t > 0 ? exp (L[(t - 1) * LDN + j]) : 1.f);
        for (int s = 0; s < t; s++)
          p = fma (Mab[t * WKV_C + s], lP[s * LDN + j], p);
        lP[t * LDN + j] = p;
      } else {
        float q = 0.f;
        for (int s = 0; s < t; s++)
          q = fma (Mak[t * WKV_C + s], lv[s * LDN + j], fma (Mab[t * WKV_C + s], lQ[s * LDN + j], q));
        lQ[t * LDN + j] = q;
      }
    }
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  /* b and k decayed to the chunk's end, in place */
  __local const float *Lc = L + (WKV_C - 1) * LDN;
  for (int e = lid; e < WKV_C * HEAD_N; e += 256) {
    int s = e / HEAD_N, j = e % HEAD_N;
    float d = exp (Lc[j] - L[s * LDN + j]);
    lb[s * LDN + j] *= d;
    lk[s * LDN + j] *= d;
    P[cidx * WKV_C * HEAD_N + e] = lP[s * LDN + j];
    Q[cidx * WKV_C * HEAD_N + e] = lQ[s * LDN + j];
  }
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int e = lid; e < HEAD_N * HEAD_N; e += 256) {
    int i = e / HEAD_N, j = e % HEAD_N;
    float g = i == j ? exp (Lc[j]) : 0.f, f = 0.f;
    for (int s = 0; s < WKV_C; s++) {
      float bd = lb[s * LDN + j];
      g = fma (lP[s * LDN + i], bd, g);
      f = fma (lQ[s * LDN + i], bd, fma (lv[s * LDN + i], lk[s * LDN + j], f));
    }
    G[cidx * HEAD_N * HEAD_N + e] = g;
    F[cidx * HEAD_N * HEAD_N + e] = f;
  }
}

/* The sequential part: S_{c+1} = S_c G_c + F_c. Rows of S are independent
 * (row i' = row i G + F row i), so each work-group takes WKV_SR rows of one
 * sequence and head: HEAD_N / WKV_SR groups per head run side by side.
 * Work-item (i0, j) owns entries (i0 + RP q, j), G's column j in registers;
 * the rows sit in local memory for the broadcast reads of S[i][m], four at a
 * time. Sc[c] is the state entering chunk c; S is read (has_state) and gets
 * the final state. */
#define WKV_SR 16                        /* rows per work-group */
#define RP (256 / HEAD_N)                /* rows in one pass of the work-group */
#define QN (WKV_SR / RP)                 /* entries per work-item */
#define LDS (HEAD_N + 4)                 /* keeps rows 16-byte aligned */

__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void wkv7_chunk_state (int nch, __global const float *G, __global const float *F,
                       __global float *S, int has_state, __global float *Sc)
{
  __local float lS[WKV_SR * LDS];
  int nblk = HEAD_N / WKV_SR, sh = get_group_id (0) / nblk, r0 = get_group_id (0) % nblk * WKV_SR;
  int lid = get_local_id (0), i0 = lid / HEAD_N, j = lid % HEAD_N;
  __global float *Sh = S + (size_t) sh * HEAD_N * HEAD_N;
  float s[QN], g[HEAD_N];
  for (int q = 0; q < QN; q++) {
    int i = i0 + RP * q;
    s[q] = has_state ? Sh[(r0 + i) * HEAD_N + j] : 0.f;
    lS[i * LDS + j] = s[q];
  }
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int c = 0; c < nch; c++) {
    size_t cidx = (size_t) sh * nch + c;
    __global const float *Gc = G + cidx * HEAD_N * HEAD_N, *Fc = F + cidx * HEAD_N * HEAD_N;
    __global float *Scc = Sc + cidx * HEAD_N * HEAD_N;
    for (int m = 0; m < HEAD_N; m++)
      g[m] = Gc[m * HEAD_N + j];
    for (int q = 0; q < QN; q++) {
      int i = i0 + RP * q;
      Scc[(r0 + i) * HEAD_N + j] = s[q];
      float acc = Fc[(r0 + i) * HEAD_N + j];
      for (int m = 0; m < HEAD_N; m += 4) {
        float4 x = vload4 (0, lS + i * LDS + m);
        acc = fma (x.s0, g[m], fma (x.s1, g[m + 1], fma (x.s2, g[m + 2], fma (x.s3, g[m + 3], acc))));
      }
      s[q] = acc;
    }
    barrier (CLK_LOCAL_MEM_FENCE);
    for (int q = 0; q < QN; q++)
      lS[(i0 + RP * q) * LDS + j] = s[q];
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  if (has_state)
    for (int q = 0; q < QN; q++)
      Sh[(r0 + i0 + RP * q) * HEAD_N + j] = s[q];
}

/* Outputs of every chunk from the state entering it. Work-item (t0, i) owns
 * row i of S_c in registers and tokens t0 + RP q. */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void wkv7_chunk_out (int T, int H, __global const float *r, __global const float *w,
                     __global const float *k, __global const float *v,
                     __global const float *b, __global const float *P,
                     __global const float *Q, __global const float *Sc, __global float *o)
{
  __local float L[CN], lr[CN], lrd[CN], lk[CN], lv[CN], lb[CN], lP[CN], lsa[CN];
  __local float Mrb[CC], Mrk[CC];
  int nch = (T + WKV_C - 1) / WKV_C, c = get_group_id (0) % nch, sh = get_group_id (0) / nch;
  int h = sh % H, D = H * HEAD_N, t0 = c * WKV_C, nt = min (WKV_C, T - t0);
  int lid = get_local_id (0), tq = lid / HEAD_N, i = lid % HEAD_N;
  size_t base = ((size_t) (sh / H) * T + t0) * D + (size_t) h * HEAD_N;
  size_t cidx = (size_t) sh * nch + c;
  load_chunk (w, base, D, nt, L);
  load_chunk (r, base, D, nt, lr);
  load_chunk (k, base, D, nt, lk);
  load_chunk (v, base, D, nt, lv);
  load_chunk (b, base, D, nt, lb);
  for (int e = lid; e < WKV_C * HEAD_N; e += 256)
    lP[(e / HEAD_N) * LDN + e % HEAD_N] = P[cidx * WKV_C * HEAD_N + e];
  barrier (CLK_LOCAL_MEM_FENCE);
  cumulative (L);
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int e = lid; e < WKV_C * HEAD_N; e += 256) {
    int t = e / HEAD_N, j = e % HEAD_N;
    lrd[t * LDN + j] = lr[t * LDN + j] * exp (L[t * LDN + j]);
  }
  pair_dots (L, lr, 0, lb, lk, Mrb, Mrk);
  barrier (CLK_LOCAL_MEM_FENCE);
  float srow[HEAD_N], ro[WKV_C / RP + 1];
  __global const float *Sci = Sc + cidx * HEAD_N * HEAD_N + (size_t) i * HEAD_N;
  for (int j = 0; j < HEAD_N; j++)
    srow[j] = Sci[j];
  for (int q = 0; tq + RP * q < WKV_C; q++) {
    int t = tq + RP * q;
    float sa = Q[cidx * WKV_C * HEAD_N + t * HEAD_N + i], y = 0.f;
    for (int j = 0; j < HEAD_N; j++) {
      sa = fma (srow[j], lP[t * LDN + j], sa);
      y = fma (srow[j], lrd[t * LDN + j], y);
    }
    lsa[t * LDN + i] = sa;
    ro[q] = y;
  }
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int q = 0; tq + RP * q < WKV_C; q++) {
    int t = tq + RP * q;
    if (t >= nt)
      break;
    float y = ro[q];
    for (int s = 0; s <= t; s++)
      y = fma (Mrb[t * WKV_C + s], lsa[s * LDN + i], fma (Mrk[t * WKV_C + s], lv[s * LDN + i], y));
    o[base + (size_t) t * D + i] = y;
  }
}

#endif
