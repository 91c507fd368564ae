/* CPU kernels: row-major float32, OpenMP where the work is big enough to pay
 * for waking the threads. The GEMM is the usual Goto/BLIS scheme: B is packed
 * into K x NR column strips, A into MR x KC row panels, and an MR x NR
 * register-tile micro-kernel does all the flops. The micro-kernel is plain C
 * (the compiler vectorises it); on x86-64 an AVX2+FMA version is picked at
 * run time, so a default -O2 build still gets the fast path. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

#ifdef _OPENMP
#include <omp.h>
#define PRAGMA(x) _Pragma (#x)
#else
#define PRAGMA(x)   /* no -fopenmp: the pragmas vanish, no -Wunknown-pragmas */
#endif
/* threads only when there is enough work to amortise the fork/join */
#define PARALLEL_FOR(cond) PRAGMA (omp parallel for schedule (static) if (cond))

#if defined(__GNUC__) && defined(__x86_64__)
#define D7_X86 1
#include <immintrin.h>
#endif

static int
max_threads (void)
{
#ifdef _OPENMP
  return omp_get_max_threads ();
#else
  return 1;
#endif
}

static int imin (int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------------ GEMM */

#define MR 12     /* register tile rows: 12 x 16 is 12 AVX-512 accumulators (AVX2 and
                     the portable kernel do it as two 6-row halves) */
#define NR 16     /* register tile columns */
#define KC 256    /* depth of a block: a KC x NR piece of a B strip sits in L1 */
#define MC 96     /* rows of A packed per task: MC x KC (96 KiB) sits in L2 */
#define NC_BYTES ((size_t) 16 << 20)   /* packed B shared by all threads */

/* C[MR,NR] (=|+=) Ap[kc,MR]^T Bp[kc,NR]; both panels packed, zero-padded */
typedef void (*kernel_fn) (int kc, const float *a, const float *b, float *c,
                           int ldc, int add);

/* Portable tile, in 6-row x 8-column pieces: 6 x 8 accumulators fit in the
 * 16 SSE registers of baseline x86-64 (and NEON), where a whole tile would be
 * spilled; it also keeps GCC -O3 from vectorising along k instead of j. */
static void
kernel_c (int kc, const float *a0, const float *b0, float *c, int ldc, int add)
{
  for (int r0 = 0; r0 < MR; r0 += 6)
    for (int h = 0; h < NR; h += 8) {
      float acc[6][8] = { { 0 } };
      const float *a = a0 + r0, *b = b0 + h;
      for (int k = 0; k < kc; k++, a += MR, b += NR)
        for (int r = 0; r < 6; r++)
          for (int j = 0; j < 8; j++)
            acc[r][j] += a[r] * b[j];
      for (int r = 0; r < 6; r++) {
        float *cr = c + (size_t) (r0 + r) * ldc + h;
        for (int j = 0; j < 8; j++)
          cr[j] = add ? cr[j] + acc[r][j] : acc[r][j];
      }
    }
}

#ifdef D7_X86
/* six rows of the tile with the accumulators pinned in 12 ymm registers */
__attribute__ ((target ("avx2,fma"))) static inline void
avx2_6_rows (int kc, const float *a, const float *b, float *c, int ldc, int add)
{
  __m256 c00 = _mm256_setzero_ps (), c01 = c00, c10 = c00, c11 = c00,
         c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int k = 0; k < kc; k++, a += MR, b += NR) {
    __m256 b0 = _mm256_loadu_ps (b), b1 = _mm256_loadu_ps (b + 8), t;
#define ROW(r) t = _mm256_broadcast_ss (a + r);        \
               c##r##0 = _mm256_fmadd_ps (t, b0, c##r##0); \
               c##r##1 = _mm256_fmadd_ps (t, b1, c##r##1);
    ROW (0) ROW (1) ROW (2) ROW (3) ROW (4) ROW (5)
#undef ROW
  }
#define STORE(r) {                                                        \
    float *p = c + (size_t) r * ldc;                                      \
    if (add) {                                                            \
      c##r##0 = _mm256_add_ps (c##r##0, _mm256_loadu_ps (p));             \
      c##r##1 = _mm256_add_ps (c##r##1, _mm256_loadu_ps (p + 8));         \
    }                                                                     \
    _mm256_storeu_ps (p, c##r##0);                                        \
    _mm256_storeu_ps (p + 8, c##r##1);                                    \
  }
  STORE (0) STORE (1) STORE (2) STORE (3) STORE (4) STORE (5)
#undef STORE
}

__attribute__ ((target ("avx2,fma"))) static void
kernel_avx2 (int kc, const float *a, const float *b, float *c, int ldc, int add)
{
  avx2_6_rows (kc, a, b, c, ldc, add);
  avx2_6_rows (kc, a + 6, b, c + (size_t) 6 * ldc, ldc, add);
}

/* the whole tile in 12 zmm accumulators, one 16-wide row of B per k; the
 * broadcasts of A fold into the FMAs as memory operands */
__attribute__ ((target ("avx512f"))) static void
kernel_avx512 (int kc, const float *a, const float *b, float *c, int ldc, int add)
{
  __m512 acc[MR];
  for (int r = 0; r < MR; r++)
    acc[r] = _mm512_setzero_ps ();
  for (int k = 0; k < kc; k++, a += MR, b += NR) {
    __m512 bk = _mm512_loadu_ps (b);
    for (int r = 0; r < MR; r++)
      acc[r] = _mm512_fmadd_ps (_mm512_set1_ps (a[r]), bk, acc[r]);
  }
  for (int r = 0; r < MR; r++) {
    float *p = c + (size_t) r * ldc;
    _mm512_storeu_ps (p, add ? _mm512_add_ps (acc[r], _mm512_loadu_ps (p)) : acc[r]);
  }
}
#endif

static int use_simd = 2;

void
d7_gemm_use_simd (int level)
{
  use_simd = level;
}

static kernel_fn
pick_kernel (void)
{
#ifdef D7_X86
  if (use_simd >= 2 && __builtin_cpu_supports ("avx512f"))
    return kernel_avx512;
  if (use_simd >= 1 && __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return kernel_avx2;
#endif
  return kernel_c;
}

/* Packs op(B)[k0:k0+kc, j0:j0+w] (w <= NR) as dst[k][NR], zero-padded. */
static void
pack_b_strip (const float *B, int ldb, int trans_b, int k0, int kc, int j0, int w, float *dst)
{
  if (!trans_b) {
    for (int k = 0; k < kc; k++) {
      const float *src = B + (size_t) (k0 + k) * ldb + j0;
      float *d = dst + (size_t) k * NR;
      for (int c = 0; c < w; c++)
        d[c] = src[c];
      for (int c = w; c < NR; c++)
        d[c] = 0.f;
    }
  } else {   /* B is [N,K]: each column of op(B) is a contiguous row of B */
    for (int c = 0; c < w; c++) {
      const float *src = B + (size_t) (j0 + c) * ldb + k0;
      for (int k = 0; k < kc; k++)
        dst[(size_t) k * NR + c] = src[k];
    }
    for (int c = w; c < NR; c++)
      for (int k = 0; k < kc; k++)
        dst[(size_t) k * NR + c] = 0.f;
  }
}

/* Packs A[i0:i0+mc, k0:k0+kc] as MR-row panels dst[panel][k][MR], zero-padded. */
static void
pack_a_block (const float *A, int lda, int i0, int mc, int k0, int kc, float *dst)
{
  for (int i = 0; i < mc; i += MR, dst += (size_t) MR * kc) {
    int h = imin (MR, mc - i);
    for (int r = 0; r < h; r++) {
      const float *src = A + (size_t) (i0 + i + r) * lda + k0;
      for (int k = 0; k < kc; k++)
        dst[(size_t) k * MR + r] = src[k];
    }
    for (int r = h; r < MR; r++)
      for (int k = 0; k < kc; k++)
        dst[(size_t) k * MR + r] = 0.f;
  }
}

/* M == 1: a matrix-vector product; packing would cost as much as the flops */
static void
gemv (int N, int K, const float *a, const float *B, int ldb, int trans_b, float *c, int accumulate)
{
  if (trans_b) {
    PARALLEL_FOR ((size_t) N * K > 65536)
    for (int j = 0; j < N; j++) {
      const float *b = B + (size_t) j * ldb;
      float s[8] = { 0 };   /* 8 partial sums: lets the dot product vectorise */
      int k = 0;
      for (; k + 8 <= K; k += 8)
        for (int u = 0; u < 8; u++)
          s[u] += a[k + u] * b[k + u];
      for (; k < K; k++)
        s[0] += a[k] * b[k];
      float sum = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
      c[j] = accumulate ? c[j] + sum : sum;
    }
  } else {
    /* columns in chunks so each thread streams its own slice of every row */
    int chunks = (N + 255) / 256;
    PARALLEL_FOR ((size_t) N * K > 65536)
    for (int ch = 0; ch < chunks; ch++) {
      int j0 = ch * 256, j1 = imin (N, j0 + 256);
      if (!accumulate)
        for (int j = j0; j < j1; j++)
          c[j] = 0.f;
      for (int k = 0; k < K; k++) {
        const float *b = B + (size_t) k * ldb;
        float ak = a[k];
        for (int j = j0; j < j1; j++)
          c[j] += ak * b[j];
      }
    }
  }
}

/* Last resort when the packing buffers cannot be allocated. */
static void
gemm_naive (int M, int N, int K, const float *A, int lda, const float *B, int ldb,
            int trans_b, float *C, int ldc, int accumulate)
{
  PARALLEL_FOR ((size_t) M * N * K > 65536)
  for (int i = 0; i < M; i++) {
    float *c = C + (size_t) i * ldc;
    if (!accumulate)
      for (int j = 0; j < N; j++)
        c[j] = 0.f;
    for (int k = 0; k < K; k++) {
      float a = A[(size_t) i * lda + k];
      for (int j = 0; j < N; j++)
        c[j] += a * (trans_b ? B[(size_t) j * ldb + k] : B[(size_t) k * ldb + j]);
    }
  }
}

static float *
alloc_floats (size_t n)
{
  /* 64-byte aligned panels; aligned_alloc wants a multiple of the alignment */
  size_t bytes = (n * sizeof (float) + 63) & ~(size_t) 63;
  return aligned_alloc (64, bytes ? bytes : 64);
}

/* A packed once for all tasks: block (ib, kb) of MC x KC at
 * Ap[(ib * nkb + kb) * mcb * kcb] as MR-row panels */
static void
pack_a_all (const float *A, int lda, int M, int K, float *Ap, int big)
{
  int n_ic = (M + MC - 1) / MC, nkb = (K + KC - 1) / KC;
  int kcb = imin (K, KC), mcb = imin ((M + MR - 1) / MR * MR, MC);
  (void) big;
  PARALLEL_FOR (big)
  for (int b = 0; b < n_ic * nkb; b++) {
    int i0 = b / nkb * MC, k0 = b % nkb * KC;
    pack_a_block (A, lda, i0, imin (MC, M - i0), k0, imin (KC, K - k0),
                  Ap + (size_t) b * mcb * kcb);
  }
}

static float *
alloc_a_panels (int M, int K)
{
  size_t blocks = (size_t) ((M + MC - 1) / MC) * ((K + KC - 1) / KC);
  return alloc_floats (blocks * imin ((M + MR - 1) / MR * MR, MC) * imin (K, KC));
}

/* C[:, 0:nc] (=|+=) A * Bp for one column block whose strips are packed
 * (Bp[s][K][NR]), A packed by pack_a_all. */
static void
gemm_block (kernel_fn kern, int M, int nc, int K, const float *Ap, const float *Bp,
            float *C, int ldc, int accumulate, int nt, int big)
{
  int strips = (nc + NR - 1) / NR, n_ic = (M + MC - 1) / MC, nkb = (K + KC - 1) / KC;
  int kcb = imin (K, KC), mcb = imin ((M + MR - 1) / MR * MR, MC);
  (void) big;   /* unused without OpenMP */
  /* a task is a block of MC rows x a group of strips. Few row blocks
   * (small M): split the columns too, so every thread gets work, but keep
   * >= 4 strips a task. Dynamic schedule: a thread that gets the CPU to
   * itself takes the tasks of one that does not. */
  int groups = imin ((4 * nt + n_ic - 1) / n_ic, (strips + 3) / 4);
  if (groups < 1)
    groups = 1;
  int per_group = (strips + groups - 1) / groups;
  PRAGMA (omp parallel for schedule (dynamic) if (big))
  for (int t = 0; t < n_ic * groups; t++) {
    int ib = t / groups, i0 = ib * MC, mc = imin (MC, M - i0);
    int s0 = t % groups * per_group, s1 = imin (strips, s0 + per_group);
    for (int kb = 0; kb < nkb; kb++) {
      int k0 = kb * KC, kc = imin (KC, K - k0), add = accumulate || k0 > 0;
      const float *ap = Ap + (size_t) (ib * nkb + kb) * mcb * kcb;   /* in L2 */
      for (int s = s0; s < s1; s++) {
        int jj = s * NR, nr = imin (NR, nc - jj);
        const float *bp = Bp + (size_t) s * NR * K + (size_t) k0 * NR;   /* in L1 */
        for (int i = 0; i < mc; i += MR) {
          int mr = imin (MR, mc - i);
          float *c = C + (size_t) (i0 + i) * ldc + jj;
          const float *a = ap + (size_t) i * kc;
          if (mr == MR && nr == NR) {
            kern (kc, a, bp, c, ldc, add);
          } else {   /* edge tile: compute in full, write back the part */
            float tile[MR * NR];
            kern (kc, a, bp, tile, NR, 0);
            for (int r = 0; r < mr; r++)
              for (int j = 0; j < nr; j++)
                c[(size_t) r * ldc + j] = add ? c[(size_t) r * ldc + j] + tile[r * NR + j]
                                              : tile[r * NR + j];
          }
        }
      }
    }
  }
}

void
d7_gemm (int M, int N, int K, const float *A, int lda, const float *B, int ldb,
         int trans_b, float *C, int ldc, int accumulate)
{
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {   /* empty sum */
    if (!accumulate)
      for (int i = 0; i < M; i++)
        memset (C + (size_t) i * ldc, 0, sizeof (float) * N);
    return;
  }
  if (M == 1) {
    gemv (N, K, A, B, ldb, trans_b, C, accumulate);
    return;
  }

  kernel_fn kern = pick_kernel ();
  int nt = max_threads ();
  /* B is packed whole (all K) for as many columns as fit in NC_BYTES, so
   * the threads meet at a barrier only twice per column block, not twice
   * per K block: on a busy machine every barrier can wait a time slice */
  size_t fit = NC_BYTES / sizeof (float) / (size_t) K / NR * NR;
  int ncb = fit < NR ? NR : fit < (size_t) N ? (int) fit : N;
  float *Bp = alloc_floats ((size_t) (ncb + NR - 1) / NR * NR * K);
  float *Ap = alloc_a_panels (M, K);
  if (!Bp || !Ap) {
    free (Bp);
    free (Ap);
    gemm_naive (M, N, K, A, lda, B, ldb, trans_b, C, ldc, accumulate);
    return;
  }
  int big = (double) M * N * K >= 64.0 * 64 * 64;   /* else one thread */
  pack_a_all (A, lda, M, K, Ap, big);
  for (int j0 = 0; j0 < N; j0 += ncb) {
    int nc = imin (ncb, N - j0), strips = (nc + NR - 1) / NR;
    PARALLEL_FOR (big)
    for (int s = 0; s < strips; s++)
      pack_b_strip (B, ldb, trans_b, 0, K, j0 + s * NR, imin (NR, nc - s * NR),
                    Bp + (size_t) s * NR * K);
    gemm_block (kern, M, nc, K, Ap, Bp, C + j0, ldc, accumulate, nt, big);
  }
  free (Bp);
  free (Ap);
}

void
d7_linear (const float *x, int T, int in, const float *W, const float *bias, int out, float *y)
{
  d7_gemm (T, out, in, x, in, W, in, 1, y, out, 0);
  if (!bias)
    return;
  PARALLEL_FOR ((size_t) T * out > 65536)
  for (int t = 0; t < T; t++)
    for (int o = 0; o < out; o++)
      y[(size_t) t * out + o] += bias[o];
}

/* ------------------------------------------------------------ convolution */

/* y += W * x without any scratch: slow, only when malloc fails */
static void
conv2d_direct (const float *x, int cin, int h, int w, const float *W, int cout, int k,
               int stride, int pad, int oh, int ow, float *y)
{
  size_t npix = (size_t) oh * ow;
  PARALLEL_FOR (cout > 1)
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
}

/* The im2col matrix of output pixels p0 .. p0+np, rows (ci, ky, kx), written
 * straight in the GEMM's packed strip layout Bp[np / NR][rows][NR] (no
 * separate packing pass), one strip of NR pixels at a time so the writes are
 * sequential; the last strip's columns past np are zeros. */
static void
im2col_packed (const float *x, int cin, int h, int w, int k, int stride, int pad, int ow,
               size_t p0, int np, float *Bp)
{
  int rows = cin * k * k, strips = (np + NR - 1) / NR;
  PARALLEL_FOR ((size_t) rows * np > 65536)
  for (int s = 0; s < strips; s++) {
    int n = imin (NR, np - s * NR), iy0[NR], ix0[NR];
    for (int c = 0; c < n; c++) {
      size_t p = p0 + (size_t) s * NR + c;
      iy0[c] = (int) (p / ow) * stride - pad;
      ix0[c] = (int) (p % ow) * stride - pad;
    }
    /* the usual case: a full strip inside one output row, stride 1, so each
     * (ci, ky, kx) row is one input row's run of NR values or zeros */
    int one_row = n == NR && stride == 1 && iy0[0] == iy0[NR - 1];
    float *d = Bp + (size_t) s * rows * NR;
    for (int ci = 0; ci < cin; ci++) {
      const float *xc = x + (size_t) ci * h * w;
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++, d += NR) {
          int iy = iy0[0] + ky, ix = ix0[0] + kx;
          if (one_row && (iy < 0 || iy >= h)) {
            memset (d, 0, sizeof (float) * NR);
            continue;
          }
          if (one_row && ix >= 0 && ix + NR <= w) {
            memcpy (d, xc + (size_t) iy * w + ix, sizeof (float) * NR);
            continue;
          }
          for (int c = 0; c < n; c++) {
            int iy = iy0[c] + ky, ix = ix0[c] + kx;
            d[c] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? xc[(size_t) iy * w + ix] : 0.f;
          }
          for (int c = n; c < NR; c++)
            d[c] = 0.f;
        }
    }
  }
}

void
d7_conv2d (const float *x, int cin, int h, int w, const float *W, const float *bias,
           int cout, int k, int stride, int pad, float *y)
{
  int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  if (oh <= 0 || ow <= 0 || cout <= 0)
    return;
  size_t npix = (size_t) oh * ow;
  /* y starts as the bias; every GEMM below accumulates onto it */
  PARALLEL_FOR ((size_t) cout * npix > 65536)
  for (int c = 0; c < cout; c++) {
    float b = bias ? bias[c] : 0.f;
    for (size_t i = 0; i < npix; i++)
      y[c * npix + i] = b;
  }
  if (k == 1 && stride == 1 && pad == 0) {   /* x already is the column matrix */
    d7_gemm (cout, (int) npix, cin, W, cin, x, (int) npix, 0, y, (int) npix, 1);
    return;
  }
  /* im2col a band of output pixels at a time, packed for the GEMM: bounds
   * the scratch to ~8 MiB and keeps it in cache while the GEMM reads it */
  int rows = cin * k * k;
  size_t band = ((size_t) 8 << 20) / sizeof (float) / (size_t) rows;
  band = band < 256 ? 256 : band / 64 * 64;
  if (band > npix)
    band = npix;
  int nt = max_threads ();
  float *Bp = alloc_floats ((size_t) rows * ((band + NR - 1) / NR * NR));
  float *Ap = alloc_a_panels (cout, rows);
  if (!Bp || !Ap) {
    free (Bp);
    free (Ap);
    conv2d_direct (x, cin, h, w, W, cout, k, stride, pad, oh, ow, y);
    return;
  }
  kernel_fn kern = pick_kernel ();
  pack_a_all (W, rows, cout, rows, Ap, (double) cout * rows >= 64.0 * 64);
  for (size_t p0 = 0; p0 < npix; p0 += band) {
    int np = (int) (npix - p0 < band ? npix - p0 : band);
    im2col_packed (x, cin, h, w, k, stride, pad, ow, p0, np, Bp);
    gemm_block (kern, cout, np, rows, Ap, Bp, y + p0, (int) npix, 1, nt,
                (double) cout * np * rows >= 64.0 * 64 * 64);
  }
  free (Bp);
  free (Ap);
}

/* ------------------------------------------------------------------ norms */

/* mean and 1/sqrt(var + eps) of n values, two passes in double (biased var) */
static void
moments (const float *x, size_t n, double eps, float *mean, float *rstd)
{
  double s = 0, q = 0;
  for (size_t i = 0; i < n; i++)
    s += x[i];
  double m = s / (double) n;
  for (size_t i = 0; i < n; i++) {
    double d = x[i] - m;
    q += d * d;
  }
  *mean = (float) m;
  *rstd = (float) (1.0 / sqrt (q / (double) n + eps));
}

void
d7_group_norm (float *x, int C, int HW, int groups, float eps, const float *gamma, const float *beta)
{
  int cpg = C / groups;   /* channels c of group g: g*cpg <= c < (g+1)*cpg */
  PARALLEL_FOR ((size_t) C * HW > 32768)
  for (int g = 0; g < groups; g++) {
    float *p = x + (size_t) g * cpg * HW, mean, rstd;
    moments (p, (size_t) cpg * HW, eps, &mean, &rstd);
    for (int c = 0; c < cpg; c++) {
      int ch = g * cpg + c;
      /* gamma folded into the scale; the mean is subtracted first rather
       * than folded into the shift, which would cancel when |mean| >> std */
      float sc = rstd * (gamma ? gamma[ch] : 1.f), sh = beta ? beta[ch] : 0.f;
      float *q = p + (size_t) c * HW;
      for (int i = 0; i < HW; i++)
        q[i] = (q[i] - mean) * sc + sh;
    }
  }
}

/* normalises n values (y may equal x), then gamma/beta[n] or 1/0 */
static void
norm_row (const float *x, int n, float eps, const float *gamma, const float *beta, float *y)
{
  float mean, rstd;
  moments (x, (size_t) n, eps, &mean, &rstd);
  for (int i = 0; i < n; i++) {
    float v = (x[i] - mean) * rstd;
    y[i] = v * (gamma ? gamma[i] : 1.f) + (beta ? beta[i] : 0.f);
  }
}

void
d7_layer_norm (const float *x, int T, int D, float eps, const float *gamma, const float *beta, float *y)
{
  PARALLEL_FOR ((size_t) T * D > 32768)
  for (int t = 0; t < T; t++)
    norm_row (x + (size_t) t * D, D, eps, gamma, beta, y + (size_t) t * D);
}

void
d7_head_norm (float *x, int T, int H, int N, float eps, const float *gamma, const float *beta)
{
  PARALLEL_FOR ((size_t) T * H * N > 32768)
  for (int s = 0; s < T * H; s++) {
    size_t off = (size_t) (s % H) * N;   /* gamma/beta are per channel h*N+j */
    norm_row (x + (size_t) s * N, N, eps, gamma ? gamma + off : NULL,
              beta ? beta + off : NULL, x + (size_t) s * N);
  }
}

void
d7_head_l2norm (float *x, int T, int H, int N)
{
  PARALLEL_FOR ((size_t) T * H * N > 32768)
  for (int s = 0; s < T * H; s++) {
    float *p = x + (size_t) s * N;
    double q = 0;
    for (int j = 0; j < N; j++)
      q += (double) p[j] * p[j];
    double nrm = sqrt (q);
    /* F.normalize divides by the clamped norm; dividing in double keeps it
     * exact-ish even when the clamp makes 1/norm huge */
    if (nrm < 1e-12)
      nrm = 1e-12;
    for (int j = 0; j < N; j++)
      p[j] = (float) (p[j] / nrm);
  }
}

/* ------------------------------------------------------------ element-wise */

#define EW_PAR ((n) > 16384)

void
d7_silu (float *x, size_t n)
{
  PARALLEL_FOR (EW_PAR)
  for (size_t i = 0; i < n; i++)
    x[i] = x[i] / (1.f + expf (-x[i]));   /* -> -0 (not NaN) as x -> -inf */
}

void
d7_sigmoid (float *x, size_t n)
{
  PARALLEL_FOR (EW_PAR)
  for (size_t i = 0; i < n; i++)
    x[i] = 1.f / (1.f + expf (-x[i]));
}

void
d7_tanh (float *x, size_t n)
{
  PARALLEL_FOR (EW_PAR)
  for (size_t i = 0; i < n; i++)
    x[i] = tanhf (x[i]);
}

void
d7_upsample_nearest2x (const float *x, int C, int H, int W, float *y)
{
  PARALLEL_FOR ((size_t) C * H * W > 16384)
  for (int c = 0; c < C; c++)
    for (int i = 0; i < H; i++) {
      const float *src = x + ((size_t) c * H + i) * W;
      float *d0 = y + ((size_t) c * 2 * H + 2 * i) * 2 * W, *d1 = d0 + 2 * W;
      for (int j = 0; j < W; j++)
        d0[2 * j] = d0[2 * j + 1] = src[j];
      memcpy (d1, d0, sizeof (float) * 2 * W);   /* the odd row repeats it */
    }
}

void
d7_token_shift_delta (const float *x, int T, int D, float *delta)
{
  /* last row first: x[t-1] is still intact when row t is written, so this
   * also works in place (delta == x) */
  for (int t = T - 1; t >= 0; t--) {
    const float *cur = x + (size_t) t * D, *prev = cur - D;
    float *d = delta + (size_t) t * D;
    if (t > 0)
      for (int j = 0; j < D; j++)
        d[j] = prev[j] - cur[j];
    else
      for (int j = 0; j < D; j++)
        d[j] = -cur[j];
  }
}

void
d7_transpose (const float *x, int rows, int cols, float *y)
{
  /* 32 x 32 tiles: both the reads of x and the writes of y stay in a few
   * cache lines per tile; tiles of output rows go to different threads */
  enum { TB = 32 };
  int cblocks = (cols + TB - 1) / TB;
  PARALLEL_FOR ((size_t) rows * cols > 65536)
  for (int cb = 0; cb < cblocks; cb++) {
    int c0 = cb * TB, c1 = imin (cols, c0 + TB);
    for (int r0 = 0; r0 < rows; r0 += TB) {
      int r1 = imin (rows, r0 + TB);
      for (int c = c0; c < c1; c++)
        for (int r = r0; r < r1; r++)
          y[(size_t) c * rows + r] = x[(size_t) r * cols + c];
    }
  }
}
