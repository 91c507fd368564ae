/* The CPU kernels of core/ops.c against naive double-precision references on
 * random inputs (fixed-seed LCG), over many shapes, odd sizes included.
 *
 * Tolerances (float32 results vs the double reference), per element i:
 *   GEMM, linear, conv2d: |got - ref| <= 1e-6 * (1 + S_i), S_i = |C0_i| +
 *     |bias_i| + sum_k |a_ik b_kj|, the sum of the magnitudes of every term
 *     that went into element i. This scales with K like the classic fp32
 *     accumulation bound (K * 6e-8 * S_i in the worst case, ~sqrt(K) * 6e-8
 *     * S_i in practice) but, unlike 1e-5 * K * max|ref|, it still notices
 *     a single missing or doubled term.
 *   norms and element-wise ops: |got - ref| <= 1e-5 * (1 + |ref_i|), which is
 *     stricter than 1e-4 * (1 + max|ref|).
 *   token shift, transpose, upsampling: exact.
 * GEMMs also check that the padding between rows of C (ldc > N) is untouched.
 * Prints one line per check and then "N passed, M failed"; exits non-zero on
 * any failure. */
#include "../core/ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void
report (int ok, const char *what, double err, double tol)
{
  printf ("%s %s (max err %.3g, tol %.3g)\n", ok ? "PASS" : "FAIL", what, err, tol);
  ok ? passed++ : failed++;
}

/* Numerical Recipes' LCG; the top 24 bits give a float in [-1, 1) */
static uint32_t seed = 12345;

static float
frand (void)
{
  seed = seed * 1664525u + 1013904223u;
  return (float) (seed >> 8) / 8388608.f - 1.f;
}

static float *
rnd (size_t n, float scale, float offset)
{
  float *p = calloc (n ? n : 1, sizeof (float));
  for (size_t i = 0; i < n; i++)
    p[i] = frand () * scale + offset;
  return p;
}

static double *
dalloc (size_t n)
{
  return calloc (n ? n : 1, sizeof (double));
}

/* worst |got - ref| and whether every element is within rel * (1 + scale[i]);
 * NaN never passes */
static int
within (const float *got, const double *ref, const double *scale, size_t n, double rel,
        double *worst, double *worst_tol)
{
  int ok = 1;
  *worst = 0;
  *worst_tol = n ? rel * (1 + scale[0]) : rel;
  for (size_t i = 0; i < n; i++) {
    double e = fabs ((double) got[i] - ref[i]), tol = rel * (1 + scale[i]);
    if (!(e <= tol))
      ok = 0;
    if (!(e <= *worst)) {   /* also catches NaN */
      *worst = e;
      *worst_tol = tol;
    }
  }
  return ok;
}

static void
check (const char *what, const float *got, const double *ref, const double *scale, size_t n, double rel)
{
  double err, tol;
  int ok = within (got, ref, scale, n, rel, &err, &tol);
  report (ok, what, err, tol);
}

/* element-wise tolerance: 1e-5 * (1 + |ref_i|) */
static void
check_rel (const char *what, const float *got, const double *ref, size_t n)
{
  double *s = dalloc (n);
  for (size_t i = 0; i < n; i++)
    s[i] = fabs (ref[i]);
  check (what, got, ref, s, n, 1e-5);
  free (s);
}

/* ------------------------------------------------------------------ GEMM */

#define SENTINEL 12345.f

static void
test_gemm (int M, int N, int K, int trans_b, int acc, int pad, const char *tag)
{
  int lda = K + pad, ldb = (trans_b ? K : N) + pad, ldc = N + pad;
  size_t nc = (size_t) M * ldc;
  float *A = rnd ((size_t) M * lda, 1, 0), *B = rnd ((size_t) (trans_b ? N : K) * ldb, 1, 0);
  float *C = rnd (nc, 1, 0), *got = calloc ((size_t) M * N + 1, sizeof (float));
  for (int i = 0; i < M; i++)
    for (int j = N; j < ldc; j++)
      C[(size_t) i * ldc + j] = SENTINEL;
  double *ref = dalloc ((size_t) M * N), *sc = dalloc ((size_t) M * N);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = acc ? C[(size_t) i * ldc + j] : 0, a = fabs (s);
      for (int k = 0; k < K; k++) {
        double t = (double) A[(size_t) i * lda + k]
                   * (trans_b ? B[(size_t) j * ldb + k] : B[(size_t) k * ldb + j]);
        s += t;
        a += fabs (t);
      }
      ref[(size_t) i * N + j] = s;
      sc[(size_t) i * N + j] = a;
    }
  d7_gemm (M, N, K, A, lda, B, ldb, trans_b, C, ldc, acc);
  int pad_ok = 1;
  for (int i = 0; i < M; i++) {
    memcpy (got + (size_t) i * N, C + (size_t) i * ldc, sizeof (float) * N);
    for (int j = N; j < ldc; j++)
      pad_ok &= C[(size_t) i * ldc + j] == SENTINEL;
  }
  double err, tol;
  int ok = within (got, ref, sc, (size_t) M * N, 1e-6, &err, &tol) && pad_ok;
  char what[128];
  snprintf (what, sizeof what, "gemm%s M=%d N=%d K=%d trans_b=%d acc=%d pad=%d%s", tag, M, N, K,
            trans_b, acc, pad, pad_ok ? "" : " [wrote into ldc padding]");
  report (ok, what, err, tol);
  free (A); free (B); free (C); free (got); free (ref); free (sc);
}

/* M, N or K of 0: nothing happens, except that K = 0 without accumulate
 * clears C (an empty sum) */
static void
test_gemm_empty (void)
{
  float A[4] = { 1, 2, 3, 4 }, B[4] = { 5, 6, 7, 8 }, C[4] = { 9, 9, 9, 9 };
  d7_gemm (0, 2, 2, A, 2, B, 2, 0, C, 2, 0);
  d7_gemm (2, 0, 2, A, 2, B, 2, 1, C, 2, 0);
  int ok = C[0] == 9 && C[1] == 9 && C[2] == 9 && C[3] == 9;
  report (ok, "gemm M=0 / N=0 leave C alone", 0, 0);
  d7_gemm (2, 2, 0, A, 2, B, 2, 0, C, 2, 1);
  ok = C[0] == 9 && C[3] == 9;
  report (ok, "gemm K=0 accumulate leaves C alone", 0, 0);
  d7_gemm (2, 1, 0, A, 2, B, 2, 0, C, 2, 0);
  ok = C[0] == 0 && C[1] == 9 && C[2] == 0 && C[3] == 9;
  report (ok, "gemm K=0 overwrite clears C[M,N] only", 0, 0);
}

/* the comparison itself must be able to fail: one element off by 1e-3 */
static void
test_checker (void)
{
  int M = 17, N = 19, K = 64;
  float *A = rnd ((size_t) M * K, 1, 0), *B = rnd ((size_t) K * N, 1, 0), *C = malloc (sizeof (float) * M * N);
  double *ref = dalloc ((size_t) M * N), *sc = dalloc ((size_t) M * N);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++)
      for (int k = 0; k < K; k++) {
        double t = (double) A[i * K + k] * B[k * N + j];
        ref[i * N + j] += t;
        sc[i * N + j] += fabs (t);
      }
  d7_gemm (M, N, K, A, K, B, N, 0, C, N, 0);
  double err, tol;
  int good = within (C, ref, sc, (size_t) M * N, 1e-6, &err, &tol);
  C[5 * N + 7] += 1e-3f;
  int bad = within (C, ref, sc, (size_t) M * N, 1e-6, &err, &tol);
  report (good && !bad, "checker passes the GEMM and rejects it with one element off by 1e-3", err, tol);
  free (A); free (B); free (C); free (ref); free (sc);
}

static void
test_linear (int T, int in, int out, int with_bias)
{
  float *x = rnd ((size_t) T * in, 1, 0), *W = rnd ((size_t) out * in, 1, 0);
  float *b = with_bias ? rnd (out, 1, 0) : NULL, *y = malloc (sizeof (float) * T * out);
  double *ref = dalloc ((size_t) T * out), *sc = dalloc ((size_t) T * out);
  for (int t = 0; t < T; t++)
    for (int o = 0; o < out; o++) {
      double s = b ? b[o] : 0, a = fabs (s);
      for (int i = 0; i < in; i++) {
        double v = (double) x[(size_t) t * in + i] * W[(size_t) o * in + i];
        s += v;
        a += fabs (v);
      }
      ref[(size_t) t * out + o] = s;
      sc[(size_t) t * out + o] = a;
    }
  d7_linear (x, T, in, W, b, out, y);
  char what[96];
  snprintf (what, sizeof what, "linear T=%d in=%d out=%d bias=%d", T, in, out, with_bias);
  check (what, y, ref, sc, (size_t) T * out, 1e-6);
  free (x); free (W); free (b); free (y); free (ref); free (sc);
}

/* ------------------------------------------------------------ convolution */

static void
test_conv (int cin, int cout, int h, int w, int k, int stride, int pad, int with_bias)
{
  int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  size_t n = (size_t) cout * oh * ow;
  float *x = rnd ((size_t) cin * h * w, 1, 0), *W = rnd ((size_t) cout * cin * k * k, 1, 0);
  float *b = with_bias ? rnd (cout, 1, 0) : NULL, *y = malloc (sizeof (float) * n);
  double *ref = dalloc (n), *sc = dalloc (n);
  for (int co = 0; co < cout; co++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double s = b ? b[co] : 0, a = fabs (s);
        for (int ci = 0; ci < cin; ci++)
          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
              int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              double t = (double) W[(((size_t) co * cin + ci) * k + ky) * k + kx]
                         * x[((size_t) ci * h + iy) * w + ix];
              s += t;
              a += fabs (t);
            }
        size_t i = ((size_t) co * oh + oy) * ow + ox;
        ref[i] = s;
        sc[i] = a;
      }
  d7_conv2d (x, cin, h, w, W, b, cout, k, stride, pad, y);
  char what[128];
  snprintf (what, sizeof what, "conv2d %dx%dx%d -> %dx%dx%d k=%d stride=%d pad=%d bias=%d",
            cin, h, w, cout, oh, ow, k, stride, pad, with_bias);
  check (what, y, ref, sc, n, 1e-6);
  free (x); free (W); free (b); free (y); free (ref); free (sc);
}

/* ------------------------------------------------------------------ norms */

/* (x - mean) / sqrt(var + eps) over n values, biased variance, in double */
static void
ref_norm (const float *x, size_t n, double eps, double *out)
{
  double m = 0, v = 0;
  for (size_t i = 0; i < n; i++)
    m += x[i];
  m /= (double) n;
  for (size_t i = 0; i < n; i++)
    v += (x[i] - m) * (x[i] - m);
  v /= (double) n;
  for (size_t i = 0; i < n; i++)
    out[i] = (x[i] - m) / sqrt (v + eps);
}

static void
test_group_norm (int C, int HW, int G, int affine)
{
  size_t n = (size_t) C * HW;
  /* offset mean: a one-pass E[x^2] - E[x]^2 in float would lose it */
  float *x = rnd (n, 3, 100), *g = affine ? rnd (C, 1, 0) : NULL, *b = affine ? rnd (C, 1, 0) : NULL;
  double *ref = dalloc (n);
  size_t gs = (size_t) (C / G) * HW;
  for (int q = 0; q < G; q++)
    ref_norm (x + q * gs, gs, 1e-5, ref + q * gs);
  for (int c = 0; c < C; c++)
    for (int i = 0; i < HW; i++)
      ref[(size_t) c * HW + i] = ref[(size_t) c * HW + i] * (g ? g[c] : 1) + (b ? b[c] : 0);
  d7_group_norm (x, C, HW, G, 1e-5f, g, b);
  char what[96];
  snprintf (what, sizeof what, "group_norm C=%d HW=%d groups=%d affine=%d", C, HW, G, affine);
  check_rel (what, x, ref, n);
  free (x); free (g); free (b); free (ref);
}

static void
test_layer_norm (int T, int D, int affine, int in_place)
{
  size_t n = (size_t) T * D;
  float *x = rnd (n, 2, -50), *g = affine ? rnd (D, 1, 0) : NULL, *b = affine ? rnd (D, 1, 0) : NULL;
  float *y = in_place ? x : malloc (sizeof (float) * n);
  double *ref = dalloc (n);
  for (int t = 0; t < T; t++) {
    ref_norm (x + (size_t) t * D, D, 1e-5, ref + (size_t) t * D);
    for (int d = 0; d < D; d++)
      ref[(size_t) t * D + d] = ref[(size_t) t * D + d] * (g ? g[d] : 1) + (b ? b[d] : 0);
  }
  d7_layer_norm (x, T, D, 1e-5f, g, b, y);
  char what[96];
  snprintf (what, sizeof what, "layer_norm T=%d D=%d affine=%d in_place=%d", T, D, affine, in_place);
  check_rel (what, y, ref, n);
  if (!in_place)
    free (y);
  free (x); free (g); free (b); free (ref);
}

static void
test_head_norm (int T, int H, int N, int affine)
{
  size_t n = (size_t) T * H * N;
  float *x = rnd (n, 1, 0.5f), *g = affine ? rnd (H * N, 1, 0) : NULL, *b = affine ? rnd (H * N, 1, 0) : NULL;
  double *ref = dalloc (n);
  for (int s = 0; s < T * H; s++) {
    ref_norm (x + (size_t) s * N, N, 64e-5, ref + (size_t) s * N);
    for (int j = 0; j < N; j++) {
      int c = (s % H) * N + j;
      ref[(size_t) s * N + j] = ref[(size_t) s * N + j] * (g ? g[c] : 1) + (b ? b[c] : 0);
    }
  }
  d7_head_norm (x, T, H, N, 64e-5f, g, b);
  char what[96];
  snprintf (what, sizeof what, "head_norm T=%d H=%d N=%d affine=%d", T, H, N, affine);
  check_rel (what, x, ref, n);
  free (x); free (g); free (b); free (ref);
}

/* scale: magnitude of the inputs; 1e-20 puts the norm under the 1e-12 clamp */
static void
test_head_l2norm (int T, int H, int N, float scale)
{
  size_t n = (size_t) T * H * N;
  float *x = rnd (n, scale, 0);
  double *ref = dalloc (n);
  for (int s = 0; s < T * H; s++) {
    double q = 0;
    for (int j = 0; j < N; j++)
      q += (double) x[(size_t) s * N + j] * x[(size_t) s * N + j];
    for (int j = 0; j < N; j++)
      ref[(size_t) s * N + j] = x[(size_t) s * N + j] / fmax (sqrt (q), 1e-12);
  }
  d7_head_l2norm (x, T, H, N);
  char what[96];
  snprintf (what, sizeof what, "head_l2norm T=%d H=%d N=%d scale=%g", T, H, N, scale);
  check_rel (what, x, ref, n);
  free (x); free (ref);
}

static void
test_l2norm_zero (void)
{
  float z[16] = { 0 };
  d7_head_l2norm (z, 2, 2, 4);
  int ok = 1;
  for (int j = 0; j < 16; j++)
    ok &= z[j] == 0.f;   /* 0 / 1e-12, not 0 / 0 */
  report (ok, "head_l2norm of zero vectors stays zero", 0, 0);
}

/* ------------------------------------------------------------ element-wise */

enum { SILU, SIGMOID, TANH };

static void
test_activation (int op, size_t n)
{
  static const char *names[] = { "silu", "sigmoid", "tanh" };
  static const float special[] = { 0.f, -0.f, 100.f, -100.f, 88.f, -88.f, 1e-30f, -20.f, 20.f };
  float *x = rnd (n, 12, 0);
  for (size_t i = 0; i < n && i < sizeof special / sizeof *special; i++)
    x[i] = special[i];
  double *ref = dalloc (n);
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    ref[i] = op == SILU ? v / (1 + exp (-v)) : op == SIGMOID ? 1 / (1 + exp (-v)) : tanh (v);
  }
  (op == SILU ? d7_silu : op == SIGMOID ? d7_sigmoid : d7_tanh) (x, n);
  char what[64];
  snprintf (what, sizeof what, "%s n=%zu", names[op], n);
  check_rel (what, x, ref, n);
  free (x); free (ref);
}

static void
test_token_shift (int T, int D, int in_place)
{
  size_t n = (size_t) T * D;
  float *x = rnd (n, 1, 0), *ref = malloc (sizeof (float) * (n + 1));
  float *d = in_place ? x : malloc (sizeof (float) * (n + 1));
  for (int t = 0; t < T; t++)
    for (int j = 0; j < D; j++)
      ref[(size_t) t * D + j] = (t ? x[(size_t) (t - 1) * D + j] : 0.f) - x[(size_t) t * D + j];
  d7_token_shift_delta (x, T, D, d);
  int ok = memcmp (d, ref, sizeof (float) * n) == 0;
  char what[96];
  snprintf (what, sizeof what, "token_shift_delta T=%d D=%d in_place=%d (exact)", T, D, in_place);
  report (ok, what, 0, 0);
  if (!in_place)
    free (d);
  free (x); free (ref);
}

static void
test_transpose (int rows, int cols)
{
  size_t n = (size_t) rows * cols;
  float *x = rnd (n, 1, 0), *y = malloc (sizeof (float) * (n + 1));
  d7_transpose (x, rows, cols, y);
  int ok = 1;
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      ok &= y[(size_t) c * rows + r] == x[(size_t) r * cols + c];
  char what[64];
  snprintf (what, sizeof what, "transpose %d x %d (exact)", rows, cols);
  report (ok, what, 0, 0);
  free (x); free (y);
}

static void
test_upsample (int C, int H, int W)
{
  float *x = rnd ((size_t) C * H * W, 1, 0), *y = malloc (sizeof (float) * C * 4 * H * W);
  d7_upsample_nearest2x (x, C, H, W, y);
  int ok = 1;
  for (int c = 0; c < C; c++)
    for (int i = 0; i < 2 * H; i++)
      for (int j = 0; j < 2 * W; j++)
        ok &= y[((size_t) c * 2 * H + i) * 2 * W + j] == x[((size_t) c * H + i / 2) * W + j / 2];
  char what[64];
  snprintf (what, sizeof what, "upsample_nearest2x %dx%dx%d (exact)", C, H, W);
  report (ok, what, 0, 0);
  free (x); free (y);
}

int
main (void)
{
  static const int sz[] = { 1, 3, 17, 64, 129 };
  int idx = 0;
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 5; b++)
      for (int c = 0; c < 5; c++)
        for (int f = 0; f < 4; f++, idx++)   /* pad lda/ldb/ldc on every other case */
          test_gemm (sz[a], sz[b], sz[c], f & 1, f >> 1, (idx & 1) * 3, "");
  /* several row blocks and K blocks, and odd shapes */
  test_gemm (300, 2100, 520, 0, 1, 5, "");
  test_gemm (300, 2100, 520, 1, 0, 0, "");
  test_gemm (37, 2100, 4100, 1, 1, 2, "");   /* packed B in 3 column blocks */
  test_gemm (2, 700, 300, 1, 1, 1, "");
  test_gemm (1000, 40, 33, 0, 0, 2, "");
  test_gemm (1, 1000, 700, 0, 1, 0, "");
  test_gemm (1, 1000, 700, 1, 0, 3, "");
  /* the portable micro-kernel too, where a SIMD one would be picked */
  d7_gemm_use_simd (0);
  static const int sz2[] = { 1, 17, 129 };
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 3; c++)
        for (int f = 0; f < 4; f++, idx++)
          test_gemm (sz2[a], sz2[b], sz2[c], f & 1, f >> 1, (idx & 1) * 3, " portable");
  test_gemm (300, 2100, 520, 1, 1, 5, " portable");
  /* and AVX2 where AVX-512 would be picked */
  d7_gemm_use_simd (1);
  for (int a = 0; a < 3; a++)
    for (int f = 0; f < 4; f++, idx++)
      test_gemm (sz2[a], sz2[2 - a], 129, f & 1, f >> 1, (idx & 1) * 3, " avx2");
  test_gemm (300, 2100, 520, 1, 1, 5, " avx2");
  d7_gemm_use_simd (2);
  test_gemm_empty ();
  test_checker ();

  static const int T[] = { 1, 3, 17, 64 }, IN[] = { 1, 17, 130 }, OUT[] = { 1, 5, 33 };
  for (int t = 0; t < 4; t++)
    for (int i = 0; i < 3; i++)
      for (int o = 0; o < 3; o++)
        test_linear (T[t], IN[i], OUT[o], (t + i + o) & 1);
  test_linear (77, 512, 1536, 1);

  for (int k = 1; k <= 3; k += 2)
    for (int stride = 1; stride <= 2; stride++)
      for (int pad = 0; pad <= 1; pad++) {
        test_conv (3, 5, 9, 7, k, stride, pad, 1);
        test_conv (5, 7, 8, 11, k, stride, pad, 0);
      }
  test_conv (4, 3, 6, 6, 2, 2, 0, 1);      /* even k */
  test_conv (3, 2, 7, 9, 5, 1, 2, 1);
  test_conv (8, 6, 9, 9, 4, 2, 1, 0);
  test_conv (3, 3, 1, 1, 3, 2, 1, 1);      /* 1x1 image: all padding but the centre */
  test_conv (1, 1, 1, 1, 1, 1, 0, 0);
  test_conv (33, 17, 24, 20, 1, 1, 0, 1);  /* the no-im2col path */
  test_conv (64, 9, 64, 64, 3, 1, 1, 1);   /* im2col in several pixel bands */
  test_conv (32, 40, 31, 33, 3, 2, 1, 0);
  /* packed im2col: 16-pixel strips that straddle output rows, and runs
   * clipped at both edges, beside the whole-row fast path */
  test_conv (5, 6, 10, 24, 3, 1, 1, 1);
  test_conv (3, 4, 9, 40, 5, 1, 2, 0);

  test_group_norm (24, 37, 6, 1);
  test_group_norm (32, 64, 32, 1);
  test_group_norm (3, 5, 1, 0);
  test_group_norm (64, 1, 4, 1);
  test_group_norm (96, 4096, 32, 1);
  test_layer_norm (1, 1, 1, 0);
  test_layer_norm (19, 40, 1, 0);
  test_layer_norm (19, 40, 1, 1);
  test_layer_norm (7, 1023, 0, 1);
  test_layer_norm (300, 512, 1, 0);
  test_head_norm (19, 3, 16, 1);
  test_head_norm (5, 4, 64, 0);
  test_head_norm (1, 1, 1, 1);
  test_head_norm (512, 8, 64, 1);
  test_head_l2norm (19, 3, 16, 1);
  test_head_l2norm (1, 1, 1, 1);
  test_head_l2norm (512, 8, 64, 1);
  test_head_l2norm (3, 2, 8, 1e-20f);
  test_head_l2norm (3, 2, 8, 2e-13f);     /* norms just under the clamp */
  test_l2norm_zero ();

  static const size_t NS[] = { 0, 1, 9, 1001, 70001 };
  for (int op = SILU; op <= TANH; op++)
    for (int i = 0; i < 5; i++)
      test_activation (op, NS[i]);

  test_token_shift (1, 1, 0);
  test_token_shift (1, 5, 0);
  test_token_shift (7, 5, 0);
  test_token_shift (64, 130, 0);
  test_token_shift (64, 130, 1);
  test_transpose (1, 1);
  test_transpose (7, 5);
  test_transpose (33, 65);
  test_transpose (100, 1);
  test_transpose (1, 100);
  test_transpose (300, 517);
  test_upsample (1, 1, 1);
  test_upsample (3, 4, 5);
  test_upsample (16, 33, 17);

  printf ("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
