/* WKV-7, token by token and chunked. Heads are independent: one thread each. */
#include "wkv7.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
d7_wkv7_recurrent (int T, int H, int N, const float *r, const float *w,
                   const float *k, const float *v, const float *a,
                   const float *b, float *S, float *o)
{
  int D = H * N;
#pragma omp parallel for schedule(static)
  for (int h = 0; h < H; h++) {
    float *Sh = S + (size_t) h * N * N;
    float *dec = malloc (sizeof (float) * N);
    for (int t = 0; t < T; t++) {
      size_t off = (size_t) t * D + (size_t) h * N;
      const float *rt = r + off, *wt = w + off, *kt = k + off, *vt = v + off;
      const float *at = a + off, *bt = b + off;
      for (int j = 0; j < N; j++)
        dec[j] = expf (wt[j]);
      for (int i = 0; i < N; i++) {
        float *row = Sh + (size_t) i * N;
        float sa = 0.f, y = 0.f;
        for (int j = 0; j < N; j++)
          sa += row[j] * at[j];
        for (int j = 0; j < N; j++) {
          row[j] = row[j] * dec[j] + sa * bt[j] + vt[i] * kt[j];
          y += row[j] * rt[j];
        }
        o[off + i] = y;
      }
    }
    free (dec);
  }
}

/* One head, one chunk of C tokens starting at token t0. See
 * training/dir7/wkv.py:wkv7_chunked for the derivation; all exponents <= 0. */
static void
chunk_head (int C, int N, int D, const float *r, const float *w, const float *k,
            const float *v, const float *a, const float *b, float *S, float *o,
            float *ws)
{
  float *L = ws;                      /* [C][N] inclusive cumulative log-decay */
  float *M_ab = L + C * N;            /* [C][C] */
  float *M_ak = M_ab + C * C;
  float *M_rb = M_ak + C * C;
  float *M_rk = M_rb + C * C;
  float *sa = M_rk + C * C;           /* [C][N] */
  float *tmp = sa + C * N;            /* [N] */
#define AT(p, t) ((p) + (size_t) (t) * D)
  for (int n = 0; n < N; n++) {
    float acc = 0.f;
    for (int t = 0; t < C; t++) {
      acc += AT (w, t)[n];
      L[t * N + n] = acc;
    }
  }
  for (int t = 0; t < C; t++) {
    const float *Lt = L + t * N;
    for (int s = 0; s < C; s++) {
      const float *Ls = L + s * N;
      float ab = 0.f, ak = 0.f, rb = 0.f, rk = 0.f;
      if (s < t) {
        const float *Lp = L + (t - 1) * N;
        for (int n = 0; n < N; n++) {
          float e = expf (Lp[n] - Ls[n]);
          ab += AT (a, t)[n] * e * AT (b, s)[n];
          ak += AT (a, t)[n] * e * AT (k, s)[n];
        }
      }
      if (s <= t) {
        for (int n = 0; n < N; n++) {
          float e = expf (Lt[n] - Ls[n]);
          rb += AT (r, t)[n] * e * AT (b, s)[n];
          rk += AT (r, t)[n] * e * AT (k, s)[n];
        }
      }
      M_ab[t * C + s] = ab; M_ak[t * C + s] = ak;
      M_rb[t * C + s] = rb; M_rk[t * C + s] = rk;
    }
  }
  /* sa_t = S0 (a_t e^{L_{t-1}}) + sum_{s<t} (M_ak v_s + M_ab sa_s): forward substitution */
  for (int t = 0; t < C; t++) {
    for (int j = 0; j < N; j++)
      tmp[j] = AT (a, t)[j] * (t > 0 ? expf (L[(t - 1) * N + j]) : 1.f);
    float *sat = sa + t * N;
    for (int i = 0; i < N; i++) {
      const float *row = S + (size_t) i * N;
      float acc = 0.f;
      for (int j = 0; j < N; j++)
        acc += row[j] * tmp[j];
      sat[i] = acc;
    }
    for (int s = 0; s < t; s++) {
      float cab = M_ab[t * C + s], cak = M_ak[t * C + s];
      const float *vs = AT (v, s), *sas = sa + s * N;
      for (int i = 0; i < N; i++)
        sat[i] += cak * vs[i] + cab * sas[i];
    }
  }
  /* o_t = S0 (r_t e^{L_t}) + sum_{s<=t} (M_rb sa_s + M_rk v_s) */
  for (int t = 0; t < C; t++) {
    for (int j = 0; j < N; j++)
      tmp[j] = AT (r, t)[j] * expf (L[t * N + j]);
    float *ot = AT (o, t);
    for (int i = 0; i < N; i++) {
      const float *row = S + (size_t) i * N;
      float acc = 0.f;
      for (int j = 0; j < N; j++)
        acc += row[j] * tmp[j];
      ot[i] = acc;
    }
    for (int s = 0; s <= t; s++) {
      float crb = M_rb[t * C + s], crk = M_rk[t * C + s];
      const float *vs = AT (v, s), *sas = sa + s * N;
      for (int i = 0; i < N; i++)
        ot[i] += crb * sas[i] + crk * vs[i];
    }
  }
  /* S = S0 diag(e^{L_C}) + sum_s (sa_s (b_s e^{L_C - L_s})^T + v_s (k_s e^{L_C - L_s})^T) */
  const float *Lc = L + (C - 1) * N;
  for (int j = 0; j < N; j++)
    tmp[j] = expf (Lc[j]);
  for (int i = 0; i < N; i++) {
    float *row = S + (size_t) i * N;
    for (int j = 0; j < N; j++)
      row[j] *= tmp[j];
  }
  for (int s = 0; s < C; s++) {
    const float *Ls = L + s * N, *bs = AT (b, s), *ks = AT (k, s), *vs = AT (v, s);
    float *bd = tmp;                  /* tmp has room for 2N */
    float *kd = bd + N;
    for (int j = 0; j < N; j++) {
      float e = expf (Lc[j] - Ls[j]);
      bd[j] = bs[j] * e;
      kd[j] = ks[j] * e;
    }
    const float *sas = sa + s * N;
    for (int i = 0; i < N; i++) {
      float *row = S + (size_t) i * N;
      float si = sas[i], vi = vs[i];
      for (int j = 0; j < N; j++)
        row[j] += si * bd[j] + vi * kd[j];
    }
  }
#undef AT
}

void
d7_wkv7_chunked (int T, int H, int N, int chunk, const float *r, const float *w,
                 const float *k, const float *v, const float *a, const float *b,
                 float *S, float *o)
{
  int D = H * N;
#pragma omp parallel for schedule(static)
  for (int h = 0; h < H; h++) {
    /* L, sa: C*N each; four C*C matrices; 2N scratch for the decayed b, k */
    float *ws = malloc (sizeof (float) * ((size_t) 2 * chunk * N + 4 * chunk * chunk + 2 * N));
    float *Sh = S + (size_t) h * N * N;
    for (int t0 = 0; t0 < T; t0 += chunk) {
      int C = T - t0 < chunk ? T - t0 : chunk;
      size_t off = (size_t) t0 * D + (size_t) h * N;
      chunk_head (C, N, D, r + off, w + off, k + off, v + off, a + off, b + off,
                  Sh, o + off, ws);
    }
    free (ws);
  }
}

void
d7_wkv7 (int T, int H, int N, const float *r, const float *w, const float *k,
         const float *v, const float *a, const float *b, float *S, float *o)
{
  if (T <= 64)
    d7_wkv7_recurrent (T, H, N, r, w, k, v, a, b, S, o);
  else
    d7_wkv7_chunked (T, H, N, 16, r, w, k, v, a, b, S, o);
}
