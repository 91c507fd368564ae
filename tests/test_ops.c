/* CPU kernels against naive double-precision references on random data.
 * Tolerance (fp32): max|got - ref| <= 1e-5 * (1 + sum of |terms|) for the
 * GEMM-like ops (a bound on fp32 accumulation error), 1e-5 * (1 + max|ref|)
 * for the element-wise ones and the norms. */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;
static unsigned long long rng = 88172645463325252ull;

static float
frand (void)
{
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (float) ((rng >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

static float *
rnd (size_t n)
{
  float *p = malloc (sizeof (float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++)
    p[i] = frand ();
  return p;
}

/* err must be within tol[i] at every i */
static void
check (const char *what, const float *got, const double *ref, const double *scale, size_t n, double rel)
{
  double worst = 0;
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    double e = fabs (got[i] - ref[i]), tol = rel * (1 + scale[i]);
    if (!(e <= tol))
      ok = 0;
    if (e > worst || isnan (e))
      worst = e;
  }
  printf ("%s %-50s max err %.3g\n", ok ? "PASS" : "FAIL", what, worst);
  ok ? passed++ : failed++;
}

static void
test_gemm (int M, int N, int K, int trans_b, int acc, int pad)
{
  int lda = K + pad, ldb = (trans_b ? K : N) + pad, ldc = N + pad;
  float *A = rnd ((size_t) M * lda), *B = rnd ((size_t) (trans_b ? N : K) * ldb), *C = rnd ((size_t) M * ldc);
  double *ref = malloc (sizeof (double) * M * N + 8), *sc = malloc (sizeof (double) * M * N + 8);
  float *got = malloc (sizeof (float) * M * N + 8);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = acc ? C[(size_t) i * ldc + j] : 0, a = fabs (s);
      for (int k = 0; k < K; k++) {
        double b = trans_b ? B[(size_t) j * ldb + k] : B[(size_t) k * ldb + j];
        s += (double) A[(size_t) i * lda + k] * b;
        a += fabs ((double) A[(size_t) i * lda + k] * b);
      }
      ref[(size_t) i * N + j] = s;
      sc[(size_t) i * N + j] = a;
    }
  d7_gemm (M, N, K, A, lda, B, ldb, trans_b, C, ldc, acc);
  for (int i = 0; i < M; i++)
    memcpy (got + (size_t) i * N, C + (size_t) i * ldc, sizeof (float) * N);
  char what[96];
  snprintf (what, sizeof what, "gemm M=%d N=%d K=%d trans_b=%d acc=%d pad=%d", M, N, K, trans_b, acc, pad);
  check (what, got, ref, sc, (size_t) M * N, 1e-5);
  free (A); free (B); free (C); free (ref); free (sc); free (got);
}

static void
test_conv (int cin, int cout, int h, int w, int k, int stride, int pad)
{
  int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  float *x = rnd ((size_t) cin * h * w), *W = rnd ((size_t) cout * cin * k * k), *b = rnd (cout);
  size_t n = (size_t) cout * oh * ow;
  float *y = malloc (sizeof (float) * n);
  double *ref = malloc (sizeof (double) * n), *sc = malloc (sizeof (double) * n);
  for (int co = 0; co < cout; co++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double s = b[co], a = fabs (s);
        for (int ci = 0; ci < cin; ci++)
          for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
              int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              double t = (double) W[((co * cin + ci) * k + ky) * k + kx] * x[(ci * h + iy) * w + ix];
              s += t;
              a += fabs (t);
            }
        size_t i = ((size_t) co * oh + oy) * ow + ox;
        ref[i] = s;
        sc[i] = a;
      }
  d7_conv2d (x, cin, h, w, W, b, cout, k, stride, pad, y);
  char what[96];
  snprintf (what, sizeof what, "conv2d %dx%dx%d -> %d, k=%d stride=%d pad=%d", cin, h, w, cout, k, stride, pad);
  check (what, y, ref, sc, n, 1e-5);
  free (x); free (W); free (b); free (y); free (ref); free (sc);
}

static double *
maxscale (const double *ref, size_t n)
{
  double m = 0, *s = malloc (sizeof (double) * n);
  for (size_t i = 0; i < n; i++)
    m = fmax (m, fabs (ref[i]));
  for (size_t i = 0; i < n; i++)
    s[i] = m;
  return s;
}

/* normalise groups of `len` values with stride 1 at offsets base(g) */
static void
ref_norm (const float *x, size_t len, double eps, double *out)
{
  double m = 0, v = 0;
  for (size_t i = 0; i < len; i++)
    m += x[i];
  m /= len;
  for (size_t i = 0; i < len; i++)
    v += (x[i] - m) * (x[i] - m);
  v /= len;
  for (size_t i = 0; i < len; i++)
    out[i] = (x[i] - m) / sqrt (v + eps);
}

static void
test_norms (void)
{
  int C = 24, HW = 37, G = 6, T = 19, D = 40, H = 3, N = 16;
  float *x = rnd ((size_t) C * HW), *g = rnd (C), *b = rnd (C);
  for (int i = 0; i < C * HW; i++)
    x[i] = x[i] * 3 + 1.5f;     /* an offset mean makes one-pass variance fail */
  double *ref = malloc (sizeof (double) * C * HW);
  int cpg = C / G;
  for (int q = 0; q < G; q++)
    ref_norm (x + (size_t) q * cpg * HW, (size_t) cpg * HW, 1e-5, ref + (size_t) q * cpg * HW);
  for (int c = 0; c < C; c++)
    for (int i = 0; i < HW; i++)
      ref[c * HW + i] = ref[c * HW + i] * g[c] + b[c];
  d7_group_norm (x, C, HW, G, 1e-5f, g, b);
  double *s = maxscale (ref, (size_t) C * HW);
  check ("group_norm 24 channels, 6 groups", x, ref, s, (size_t) C * HW, 1e-5);
  free (x); free (g); free (b); free (ref); free (s);

  x = rnd ((size_t) T * D); g = rnd (D); b = rnd (D);
  float *y = malloc (sizeof (float) * T * D);
  ref = malloc (sizeof (double) * T * D);
  for (int t = 0; t < T; t++) {
    ref_norm (x + (size_t) t * D, D, 1e-5, ref + (size_t) t * D);
    for (int d = 0; d < D; d++)
      ref[t * D + d] = ref[t * D + d] * g[d] + b[d];
  }
  d7_layer_norm (x, T, D, 1e-5f, g, b, y);
  s = maxscale (ref, (size_t) T * D);
  check ("layer_norm 19 x 40", y, ref, s, (size_t) T * D, 1e-5);
  free (x); free (g); free (b); free (y); free (ref); free (s);

  x = rnd ((size_t) T * H * N); g = rnd (H * N); b = rnd (H * N);
  ref = malloc (sizeof (double) * T * H * N);
  double *ref2 = malloc (sizeof (double) * T * H * N);
  float *x2 = malloc (sizeof (float) * T * H * N);
  memcpy (x2, x, sizeof (float) * T * H * N);
  for (int i = 0; i < T * H; i++) {
    ref_norm (x + (size_t) i * N, N, 64e-5, ref + (size_t) i * N);
    double q = 0;
    for (int j = 0; j < N; j++)
      q += (double) x[i * N + j] * x[i * N + j];
    for (int j = 0; j < N; j++) {
      int c = (i % H) * N + j;
      ref[i * N + j] = ref[i * N + j] * g[c] + b[c];
      ref2[i * N + j] = x[i * N + j] / fmax (sqrt (q), 1e-12);
    }
  }
  d7_head_norm (x, T, H, N, 64e-5f, g, b);
  s = maxscale (ref, (size_t) T * H * N);
  check ("head_norm 3 heads of 16", x, ref, s, (size_t) T * H * N, 1e-5);
  free (s);
  d7_head_l2norm (x2, T, H, N);
  s = maxscale (ref2, (size_t) T * H * N);
  check ("head_l2norm", x2, ref2, s, (size_t) T * H * N, 1e-5);
  float zero[16] = { 0 };
  d7_head_l2norm (zero, 1, 1, 16);
  int finite = 1;
  for (int j = 0; j < 16; j++)
    finite &= zero[j] == 0.f;
  printf ("%s head_l2norm of a zero vector stays zero\n", finite ? "PASS" : "FAIL");
  finite ? passed++ : failed++;
  free (x); free (x2); free (g); free (b); free (ref); free (ref2); free (s);
}

static void
test_elementwise (void)
{
  size_t n = 1001;
  float *x = rnd (n), *y = malloc (sizeof (float) * n);
  double *ref = malloc (sizeof (double) * n), *s;
  for (size_t i = 0; i < n; i++)
    x[i] *= 8;
  memcpy (y, x, sizeof (float) * n);
  for (size_t i = 0; i < n; i++)
    ref[i] = x[i] / (1 + exp (-(double) x[i]));
  d7_silu (y, n);
  s = maxscale (ref, n);
  check ("silu", y, ref, s, n, 1e-5);
  free (s);
  memcpy (y, x, sizeof (float) * n);
  for (size_t i = 0; i < n; i++)
    ref[i] = 1 / (1 + exp (-(double) x[i]));
  d7_sigmoid (y, n);
  s = maxscale (ref, n);
  check ("sigmoid", y, ref, s, n, 1e-5);
  free (s);
  memcpy (y, x, sizeof (float) * n);
  for (size_t i = 0; i < n; i++)
    ref[i] = tanh ((double) x[i]);
  d7_tanh (y, n);
  s = maxscale (ref, n);
  check ("tanh", y, ref, s, n, 1e-5);
  free (s); free (x); free (y); free (ref);

  /* token shift, transpose, upsample: exact */
  int T = 7, D = 5, C = 3, Hh = 4, Ww = 5;
  x = rnd ((size_t) T * D);
  float *d = malloc (sizeof (float) * T * D);
  d7_token_shift_delta (x, T, D, d);
  int ok = 1;
  for (int t = 0; t < T; t++)
    for (int j = 0; j < D; j++)
      ok &= d[t * D + j] == (t ? x[(t - 1) * D + j] : 0.f) - x[t * D + j];
  printf ("%s token_shift_delta (delta[0] = -x[0])\n", ok ? "PASS" : "FAIL");
  ok ? passed++ : failed++;
  d7_transpose (x, T, D, d);
  ok = 1;
  for (int t = 0; t < T; t++)
    for (int j = 0; j < D; j++)
      ok &= d[j * T + t] == x[t * D + j];
  printf ("%s transpose 7 x 5\n", ok ? "PASS" : "FAIL");
  ok ? passed++ : failed++;
  free (x); free (d);
  x = rnd ((size_t) C * Hh * Ww);
  y = malloc (sizeof (float) * C * 4 * Hh * Ww);
  d7_upsample_nearest2x (x, C, Hh, Ww, y);
  ok = 1;
  for (int c = 0; c < C; c++)
    for (int i = 0; i < 2 * Hh; i++)
      for (int j = 0; j < 2 * Ww; j++)
        ok &= y[(c * 2 * Hh + i) * 2 * Ww + j] == x[(c * Hh + i / 2) * Ww + j / 2];
  printf ("%s upsample_nearest2x\n", ok ? "PASS" : "FAIL");
  ok ? passed++ : failed++;
  free (x); free (y);
}

int
main (void)
{
  static const int sizes[] = { 1, 3, 17, 64, 129 };
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 5; b++)
      for (int c = 0; c < 5; c += 2)
        test_gemm (sizes[a], sizes[b], sizes[c], (a + b) & 1, (a + c) & 1, b == 2 ? 3 : 0);
  test_gemm (300, 600, 520, 1, 0, 0);   /* several K and N blocks */
  test_gemm (300, 600, 520, 0, 1, 5);
  test_gemm (5, 7, 0, 0, 1, 0);
  for (int k = 1; k <= 3; k += 2)
    for (int stride = 1; stride <= 2; stride++)
      for (int pad = 0; pad <= 1; pad++)
        test_conv (3, 5, 9, 7, k, stride, pad);
  test_conv (64, 32, 16, 16, 3, 1, 1);
  test_norms ();
  test_elementwise ();
  printf ("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
