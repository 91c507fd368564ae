/* CPU kernels. The GEMM packs B into panels and runs a 4x16 register-tile
 * micro-kernel that the compiler vectorises; on x86-64 an AVX2+FMA clone is
 * picked at run time. Everything else is plain loops. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MR 4     /* rows of the register tile */
#define NR 16    /* columns of the register tile */
#define KC 256   /* K block: a packed B panel of KC x NC stays in L2 */
#define NC 512

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define D7_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define D7_CLONES
#endif

/* acc[MR][NR] += A[MR rows, kc] * Bp[kc][NR] (Bp row stride NR) */
D7_CLONES static void
micro_kernel (int kc, const float *A, int lda, const float *Bp, float *C, int ldc,
              int mr, int nr)
{
  float acc[MR][NR] = { { 0 } };
  for (int k = 0; k < kc; k++) {
    const float *b = Bp + (size_t) k * NR;
    for (int r = 0; r < MR; r++) {
      float a = r < mr ? A[(size_t) r * lda + k] : 0.f;
      for (int c = 0; c < NR; c++)
        acc[r][c] += a * b[c];
    }
  }
  for (int r = 0; r < mr; r++)
    for (int c = 0; c < nr; c++)
      C[(size_t) r * ldc + c] += acc[r][c];
}

/* Packs op(B)[k0:k0+kc, j0:j0+nc] into NR-wide column strips, zero-padded. */
static void
pack_b (const float *B, int ldb, int trans_b, int k0, int kc, int j0, int nc, float *Bp)
{
  for (int js = 0; js < nc; js += NR) {
    float *dst = Bp + (size_t) js * kc;
    int w = nc - js < NR ? nc - js : NR;
    for (int k = 0; k < kc; k++) {
      for (int c = 0; c < w; c++) {
        int j = j0 + js + c, kk = k0 + k;
        dst[(size_t) k * NR + c] = trans_b ? B[(size_t) j * ldb + kk] : B[(size_t) kk * ldb + j];
      }
      for (int c = w; c < NR; c++)
        dst[(size_t) k * NR + c] = 0.f;
    }
  }
}

void
d7_gemm (int M, int N, int K, const float *A, int lda, const float *B, int ldb,
         int trans_b, float *C, int ldc, int accumulate)
{
  if (M <= 0 || N <= 0)
    return;
  if (!accumulate)
    for (int i = 0; i < M; i++)
      memset (C + (size_t) i * ldc, 0, sizeof (float) * N);
  if (K <= 0)
    return;
  int n_jb = (N + NC - 1) / NC;
  int m_tiles = (M + MR - 1) / MR;
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    for (int jb = 0; jb < n_jb; jb++) {
      int j0 = jb * NC, nc = N - j0 < NC ? N - j0 : NC;
      int strips = (nc + NR - 1) / NR;
      float *Bp = malloc (sizeof (float) * (size_t) strips * NR * kc);
      if (!Bp) {   /* no room to pack: the plain triple loop still works */
        for (int i = 0; i < M; i++)
          for (int k = 0; k < kc; k++) {
            float a = A[(size_t) i * lda + k0 + k];
            for (int j = j0; j < j0 + nc; j++)
              C[(size_t) i * ldc + j] += a * (trans_b ? B[(size_t) j * ldb + k0 + k] : B[(size_t) (k0 + k) * ldb + j]);
          }
        continue;
      }
      pack_b (B, ldb, trans_b, k0, kc, j0, nc, Bp);
      /* tiles are independent: split them over the threads */
#pragma omp parallel for schedule(static) if ((double) M * nc * kc > 1e5)
      for (int t = 0; t < m_tiles * strips; t++) {
        int it = t / strips, s = t % strips;
        int i = it * MR, js = s * NR;
        int mr = M - i < MR ? M - i : MR, nr = nc - js < NR ? nc - js : NR;
        micro_kernel (kc, A + (size_t) i * lda + k0, lda, Bp + (size_t) js * kc,
                      C + (size_t) i * ldc + j0 + js, ldc, mr, nr);
      }
      free (Bp);
    }
  }
}

void
d7_linear (const float *x, int T, int in, const float *W, const float *bias, int out, float *y)
{
  if (bias) {
    for (int t = 0; t < T; t++)
      memcpy (y + (size_t) t * out, bias, sizeof (float) * out);
  }
  d7_gemm (T, out, in, x, in, W, in, 1, y, out, bias != NULL);
}

void
d7_conv2d (const float *x, int cin, int h, int w, const float *W, const float *bias,
           int cout, int k, int stride, int pad, float *y)
{
  int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  size_t npix = (size_t) oh * ow;
  for (int c = 0; c < cout; c++) {
    float b = bias ? bias[c] : 0.f;
    for (size_t i = 0; i < npix; i++)
      y[c * npix + i] = b;
  }
  if (k == 1 && stride == 1 && pad == 0) {
    d7_gemm (cout, (int) npix, cin, W, cin, x, (int) npix, 0, y, (int) npix, 1);
    return;
  }
  /* im2col: rows (ci, ky, kx), columns output pixels; then W[cout, cin*k*k] x cols */
  int rows = cin * k * k;
  float *cols = malloc (sizeof (float) * (size_t) rows * npix);
  if (!cols) {   /* direct convolution: slow, but no large buffer */
    for (int co = 0; co < cout; co++)
      for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            float wt = W[(((size_t) co * cin + ci) * k + ky) * k + kx];
            for (int oy = 0; oy < oh; oy++) {
              int iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= h)
                continue;
              for (int ox = 0; ox < ow; ox++) {
                int ix = ox * stride - pad + kx;
                if (ix >= 0 && ix < w)
                  y[(size_t) co * npix + (size_t) oy * ow + ox] += wt * x[((size_t) ci * h + iy) * w + ix];
              }
            }
          }
    return;
  }
#pragma omp parallel for schedule(static) if (rows * npix > 65536)
  for (int r = 0; r < rows; r++) {
    int ci = r / (k * k), ky = (r / k) % k, kx = r % k;
    float *dst = cols + (size_t) r * npix;
    for (int oy = 0; oy < oh; oy++) {
      int iy = oy * stride - pad + ky;
      for (int ox = 0; ox < ow; ox++) {
        int ix = ox * stride - pad + kx;
        dst[(size_t) oy * ow + ox] = (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                     ? x[((size_t) ci * h + iy) * w + ix] : 0.f;
      }
    }
  }
  d7_gemm (cout, (int) npix, rows, W, rows, cols, (int) npix, 0, y, (int) npix, 1);
  free (cols);
}

/* mean and 1/sqrt(var + eps) of n values, two passes in double */
static void
moments (const float *x, size_t n, size_t stride, double eps, float *mean, float *rstd)
{
  double s = 0, q = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i * stride];
  double m = s / (double) n;
  for (size_t i = 0; i < n; i++) {
    double d = x[i * stride] - m;
    q += d * d;
  }
  *mean = (float) m;
  *rstd = (float) (1.0 / sqrt (q / (double) n + eps));
}

void
d7_group_norm (float *x, int C, int HW, int groups, float eps, const float *gamma, const float *beta)
{
  int cpg = C / groups;
#pragma omp parallel for schedule(static) if ((size_t) C * HW > 65536)
  for (int g = 0; g < groups; g++) {
    float *p = x + (size_t) g * cpg * HW, mean, rstd;
    moments (p, (size_t) cpg * HW, 1, eps, &mean, &rstd);
    for (int c = 0; c < cpg; c++) {
      int ch = g * cpg + c;
      float ga = gamma ? gamma[ch] : 1.f, be = beta ? beta[ch] : 0.f;
      float *q = p + (size_t) c * HW;
      for (int i = 0; i < HW; i++)
        q[i] = (q[i] - mean) * rstd * ga + be;
    }
  }
}

void
d7_layer_norm (const float *x, int T, int D, float eps, const float *gamma, const float *beta, float *y)
{
#pragma omp parallel for schedule(static) if ((size_t) T * D > 65536)
  for (int t = 0; t < T; t++) {
    const float *p = x + (size_t) t * D;
    float *q = y + (size_t) t * D, mean, rstd;
    moments (p, D, 1, eps, &mean, &rstd);
    for (int d = 0; d < D; d++)
      q[d] = (p[d] - mean) * rstd * (gamma ? gamma[d] : 1.f) + (beta ? beta[d] : 0.f);
  }
}

void
d7_head_norm (float *x, int T, int H, int N, float eps, const float *gamma, const float *beta)
{
  for (int t = 0; t < T; t++)
    for (int h = 0; h < H; h++) {
      float *p = x + (size_t) t * H * N + (size_t) h * N, mean, rstd;
      moments (p, N, 1, eps, &mean, &rstd);
      for (int j = 0; j < N; j++) {
        int c = h * N + j;
        p[j] = (p[j] - mean) * rstd * (gamma ? gamma[c] : 1.f) + (beta ? beta[c] : 0.f);
      }
    }
}

void
d7_head_l2norm (float *x, int T, int H, int N)
{
  for (size_t s = 0; s < (size_t) T * H; s++) {
    float *p = x + s * N;
    double q = 0;
    for (int j = 0; j < N; j++)
      q += (double) p[j] * p[j];
    float inv = (float) (1.0 / fmax (sqrt (q), 1e-12));
    for (int j = 0; j < N; j++)
      p[j] *= inv;
  }
}

void
d7_silu (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] / (1.f + expf (-x[i]));
}

void
d7_sigmoid (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = 1.f / (1.f + expf (-x[i]));
}

void
d7_tanh (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = tanhf (x[i]);
}

void
d7_upsample_nearest2x (const float *x, int C, int H, int W, float *y)
{
  for (int c = 0; c < C; c++)
    for (int i = 0; i < 2 * H; i++) {
      const float *src = x + ((size_t) c * H + i / 2) * W;
      float *dst = y + ((size_t) c * 2 * H + i) * 2 * W;
      for (int j = 0; j < 2 * W; j++)
        dst[j] = src[j / 2];
    }
}

void
d7_token_shift_delta (const float *x, int T, int D, float *delta)
{
  /* backwards, so delta may alias nothing but still reads x[t-1] intact */
  for (int t = T - 1; t >= 0; t--)
    for (int d = 0; d < D; d++) {
      float prev = t > 0 ? x[(size_t) (t - 1) * D + d] : 0.f;
      delta[(size_t) t * D + d] = prev - x[(size_t) t * D + d];
    }
}

void
d7_transpose (const float *x, int rows, int cols, float *y)
{
  const int B = 32;
  for (int r0 = 0; r0 < rows; r0 += B)
    for (int c0 = 0; c0 < cols; c0 += B)
      for (int r = r0; r < rows && r < r0 + B; r++)
        for (int c = c0; c < cols && c < c0 + B; c++)
          y[(size_t) c * rows + r] = x[(size_t) r * cols + c];
}
