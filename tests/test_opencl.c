/* The OpenCL backend against the CPU core, on whatever OpenCL device there
 * is (PoCL in CI): every kernel, the layers, the whole denoiser, full
 * generations, and the fallbacks. Tolerances (fp32 on both sides; the
 * device sums in another order and uses its own exp/tanh):
 *   kernels and layers   max |a - b| <= 1e-4 * (1 + max |b|)
 *   denoiser output      max |a - b| <= 5e-4
 *   generated images     max |a - b| <= 5e-3 (values in [0, 1])
 * Exit 77 (skip) when no OpenCL device exists, unless DIR7_REQUIRE_OPENCL=1. */
#include "cl_ops.h"
#include "cl_unet.h"
#include "d7cl.h"
#include "ops.h"
#include "wkv7.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;
static GRand *rng;

static void
expect (gboolean ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  ok ? passed++ : failed++;
}

static float *
randv (size_t n, float lo, float hi)
{
  float *v = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
  return v;
}

static double
max_abs (const float *x, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = MAX (m, fabs (x[i]));
  return m;
}

/* compares and reports; tol is relative to the reference's scale */
static void
close_to (const float *got, const float *want, size_t n, double tol, const char *what)
{
  double err = 0, scale = 1.0 + max_abs (want, n);
  gboolean finite = TRUE;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite (got[i]))
      finite = FALSE;
    err = MAX (err, fabs ((double) got[i] - want[i]));
  }
  char buf[128];
  snprintf (buf, sizeof buf, "max err %.3g (tolerance %.3g)", err, tol * scale);
  expect (finite && err <= tol * scale, what, buf);
}

static float *
readback (D7Cl *cl, cl_mem m, size_t n)
{
  float *h = g_new0 (float, n);
  d7cl_read (cl, m, h, n);
  return h;
}

#define TOL 1e-4

static void
test_gemm (D7Cl *cl)
{
  static const int sizes[][3] = { { 1, 1, 1 }, { 37, 70, 53 }, { 64, 64, 16 }, { 130, 17, 200 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
    float *A = randv ((size_t) M * K, -1, 1), *Bm = randv ((size_t) N * K, -1, 1);
    float *bias = randv (N, -1, 1), *C0 = randv ((size_t) M * N, -1, 1);
    for (int act = D7CL_ACT_NONE; act <= D7CL_ACT_RELU2; act++) {
      float *want = g_memdup2 (C0, sizeof (float) * M * N), *y = g_new (float, (size_t) M * N);
      d7_linear (A, M, K, Bm, bias, N, y);
      for (size_t i = 0; i < (size_t) M * N; i++) {
        float v = y[i];
        switch (act) {
        case D7CL_ACT_TANH: v = tanhf (v); break;
        case D7CL_ACT_SIGMOID: v = 1.f / (1.f + expf (-v)); break;
        case D7CL_ACT_SILU: v = v / (1.f + expf (-v)); break;
        case D7CL_ACT_RELU2: v = v > 0 ? v * v : 0; break;
        }
        want[i] += 0.5f * v;                   /* alpha 0.5, accumulate */
      }
      cl_mem a = d7cl_upload (cl, A, (size_t) M * K), b = d7cl_upload (cl, Bm, (size_t) N * K);
      cl_mem bi = d7cl_upload (cl, bias, N), c = d7cl_upload (cl, C0, (size_t) M * N);
      d7cl_gemm (cl, M, N, K, a, 0, K, b, 0, K, c, 0, N, bi, act, 0.5f, TRUE);
      float *got = readback (cl, c, (size_t) M * N);
      char what[96];
      snprintf (what, sizeof what, "gemm %dx%dx%d act %d tile %d", M, N, K, act, cl->tile);
      close_to (got, want, (size_t) M * N, TOL, what);
      d7cl_mem_free (cl, a); d7cl_mem_free (cl, b); d7cl_mem_free (cl, bi); d7cl_mem_free (cl, c);
      g_free (got); g_free (want); g_free (y);
    }
    g_free (A); g_free (Bm); g_free (bias); g_free (C0);
  }
  /* batched: CrossWKV's read, o[b,t,h] = r[b,t,h] S[b,h]^T */
  int B = 2, T = 19, H = 3, N = 8, D = H * N;
  float *r = randv ((size_t) B * T * D, -1, 1), *S = randv ((size_t) B * H * N * N, -1, 1);
  float *want = g_new0 (float, (size_t) B * T * D);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      d7_gemm (T, N, N, r + (size_t) b * T * D + h * N, D, S + ((size_t) b * H + h) * N * N, N, 1,
               want + (size_t) b * T * D + h * N, D, 0);
  cl_mem rd = d7cl_upload (cl, r, (size_t) B * T * D), Sd = d7cl_upload (cl, S, (size_t) B * H * N * N);
  cl_mem od = d7cl_tmp (cl, (size_t) B * T * D);
  d7cl_gemm_batched (cl, T, N, N, B * H, H, rd, D, T * D, N, Sd, N, H * N * N, N * N, od, D, T * D, N);
  float *got = readback (cl, od, (size_t) B * T * D);
  char what[96];
  snprintf (what, sizeof what, "gemm batched over (image, head) tile %d", cl->tile);
  close_to (got, want, (size_t) B * T * D, TOL, what);
  d7cl_mem_free (cl, rd); d7cl_mem_free (cl, Sd); d7cl_release (cl, od);
  g_free (r); g_free (S); g_free (want); g_free (got);
}

static void
test_conv (D7Cl *cl, double tol)
{
  static const int cases[][7] = {   /* cin, cout, h, w, k, stride, upsample */
    { 3, 5, 7, 9, 3, 1, 0 }, { 16, 70, 8, 8, 3, 2, 0 }, { 8, 12, 5, 6, 1, 1, 0 },
    { 6, 4, 4, 5, 3, 1, 1 }, { 4, 64, 13, 11, 3, 2, 0 },
  };
  int B = 2;
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    int cin = cases[c][0], cout = cases[c][1], h = cases[c][2], w = cases[c][3];
    int k = cases[c][4], stride = cases[c][5], up = cases[c][6];
    int lh = up ? 2 * h : h, lw = up ? 2 * w : w, pad = k / 2;
    int oh = (lh + 2 * pad - k) / stride + 1, ow = (lw + 2 * pad - k) / stride + 1;
    size_t nin = (size_t) cin * h * w, nout = (size_t) cout * oh * ow;
    float *x = randv (B * nin, -1, 1), *W = randv ((size_t) cout * cin * k * k, -0.5, 0.5);
    float *bias = randv (cout, -1, 1), *prior = randv (B * nout, -1, 1);
    float *want = g_new (float, B * nout), *xu = g_new (float, (size_t) cin * lh * lw);
    for (int b = 0; b < B; b++) {
      const float *xb = x + b * nin;
      if (up) {
        d7_upsample_nearest2x (xb, cin, h, w, xu);
        xb = xu;
      }
      d7_conv2d (xb, cin, lh, lw, W, bias, cout, k, stride, pad, want + b * nout);
      for (size_t i = 0; i < nout; i++)
        want[b * nout + i] += prior[b * nout + i];
    }
    D7Conv conv = { W, bias, cin, cout, k };
    cl_mem xd = d7cl_upload (cl, x, B * nin), yd = d7cl_upload (cl, prior, B * nout);
    d7cl_conv (cl, &conv, xd, (int) nin, B, h, w, up, stride, yd, TRUE);
    float *got = readback (cl, yd, B * nout);
    char what[96];
    snprintf (what, sizeof what, "conv %d->%d %dx%d k%d s%d%s (+=) tile %d%s", cin, cout, h, w, k,
              stride, up ? " upsampled" : "", cl->tile, cl->fp16 ? " fp16 weights" : "");
    close_to (got, want, B * nout, tol, what);
    d7cl_mem_free (cl, xd); d7cl_mem_free (cl, yd);
    /* the device copies are keyed by host address, and the next case's
     * weights may be allocated where these were: its conv would read these */
    d7cl_forget_weights (cl);
    g_free (x); g_free (W); g_free (bias); g_free (prior); g_free (want); g_free (xu); g_free (got);
  }
}

static void
test_norms (D7Cl *cl)
{
  int B = 2, C = 12, HW = 37, G = 4;
  size_t n = (size_t) C * HW;
  float *x = randv (B * n, -3, 5), *gm = randv (C, 0.5, 1.5), *bt = randv (C, -1, 1);
  float *ss = randv (2 * C, -0.5, 0.5), *want = g_memdup2 (x, sizeof (float) * B * n);
  for (int b = 0; b < B; b++) {
    float *p = want + b * n;
    d7_group_norm (p, C, HW, G, 1e-5f, gm, bt);
    for (int c = 0; c < C; c++)
      for (int i = 0; i < HW; i++)
        p[c * HW + i] = p[c * HW + i] * (1.f + ss[c]) + ss[C + c];
    d7_silu (p, n);
  }
  D7Norm nm = { gm, bt, 1e-5f };
  cl_mem xd = d7cl_upload (cl, x, B * n), sd = d7cl_upload (cl, ss, 2 * C), yd = d7cl_tmp (cl, B * n);
  d7cl_group_norm (cl, &nm, xd, yd, B, C, HW, G, sd, FALSE, TRUE);
  float *got = readback (cl, yd, B * n);
  close_to (got, want, B * n, TOL, "group norm + scale/shift + SiLU");
  g_free (got);

  int T = 9, D = 96;
  float *lx = randv ((size_t) T * D, -2, 3), *lg = randv (D, 0.5, 1.5), *lb = randv (D, -1, 1);
  float *lw = g_new (float, (size_t) T * D);
  d7_layer_norm (lx, T, D, 1e-5f, lg, lb, lw);
  D7Norm ln = { lg, lb, 1e-5f };
  cl_mem ld = d7cl_upload (cl, lx, (size_t) T * D);
  d7cl_layer_norm (cl, &ln, ld, ld, T, D);
  got = readback (cl, ld, (size_t) T * D);
  close_to (got, lw, (size_t) T * D, TOL, "layer norm in place");
  d7cl_mem_free (cl, xd); d7cl_mem_free (cl, sd); d7cl_release (cl, yd); d7cl_mem_free (cl, ld);
  g_free (x); g_free (gm); g_free (bt); g_free (ss); g_free (want); g_free (got);
  g_free (lx); g_free (lg); g_free (lb); g_free (lw);
}

static void
test_wkv (D7Cl *cl, int T)
{
  int N = cl->head_n, H = 2, nseq = 2, D = H * N;
  size_t n = (size_t) nseq * T * D, ns = (size_t) nseq * H * N * N;
  float *r = randv (n, -1, 1), *w = randv (n, -2.5, -0.01), *k = randv (n, -1, 1);
  float *v = randv (n, -1, 1), *kk = randv (n, -1, 1), *lr = randv (n, 0, 1);
  /* a = -kk, b = kk*lr with kk unit per head, as RWKV-7 makes them */
  float *a = g_new (float, n), *b = g_new (float, n);
  for (size_t s = 0; s < n / N; s++) {
    double q = 0;
    for (int j = 0; j < N; j++)
      q += kk[s * N + j] * kk[s * N + j];
    for (int j = 0; j < N; j++) {
      float u = (float) (kk[s * N + j] / sqrt (q));
      a[s * N + j] = -u;
      b[s * N + j] = u * lr[s * N + j];
    }
  }
  float *S0 = randv (ns, -0.5, 0.5), *S = g_memdup2 (S0, sizeof (float) * ns);
  float *want = g_new (float, n);
  for (int q = 0; q < nseq; q++) {
    size_t o = (size_t) q * T * D;
    d7_wkv7_recurrent (T, H, N, r + o, w + o, k + o, v + o, a + o, b + o,
                       S + (size_t) q * H * N * N, want + o);
  }
  cl_mem d[6];
  const float *h[6] = { r, w, k, v, a, b };
  for (int i = 0; i < 6; i++)
    d[i] = d7cl_upload (cl, h[i], n);
  for (int form = 0; form < 2; form++) {
    const char *name = form ? "chunked" : "recurrent";
    cl_mem Sd = d7cl_upload (cl, S0, ns), od = d7cl_tmp (cl, n);
    if (form == 0)
      d7cl_wkv7_recurrent (cl, nseq, T, H, d[0], d[1], d[2], d[3], d[4], d[5], Sd, od);
    else
      expect (d7cl_wkv7_chunked (cl, nseq, T, H, d[0], d[1], d[2], d[3], d[4], d[5], Sd, od),
              "wkv7 chunked: built for this head size", NULL);
    float *got = readback (cl, od, n), *gotS = readback (cl, Sd, ns);
    char what[96];
    snprintf (what, sizeof what, "wkv7 %s: outputs (2 sequences x 2 heads, T %d)", name, T);
    close_to (got, want, n, TOL, what);
    snprintf (what, sizeof what, "wkv7 %s: final state", name);
    close_to (gotS, S, ns, TOL, what);
    d7cl_mem_free (cl, Sd); d7cl_release (cl, od);
    g_free (got); g_free (gotS);
  }
  for (int i = 0; i < 6; i++)
    d7cl_mem_free (cl, d[i]);
  g_free (r); g_free (w); g_free (k); g_free (v); g_free (kk); g_free (lr); g_free (a); g_free (b);
  g_free (S0); g_free (S); g_free (want);
}

/* the text-free layers of the tiny model: time-mix (its key update, WKV,
 * head output and bonus), a DIR-7 block with CrossWKV, a ResBlock */
static void
test_layers (D7Cl *cl, Dir7Model *m)
{
  const D7Stage *st = &m->unet.mid;
  const D7Block *blk = &st->dir7[0];
  int D = blk->attn.dim, T = 24, B = 2;
  size_t n = (size_t) T * D;
  float *x = randv (B * n, -2, 2), *want = g_memdup2 (x, sizeof (float) * B * n);
  float *vf = randv (B * n, -1, 1);
  for (int b = 0; b < B; b++)
    d7_timemix_forward (&blk->attn, x + b * n, T, NULL, vf + b * n, want + b * n);
  for (size_t i = 0; i < B * n; i++)
    want[i] += x[i];
  cl_mem xd = d7cl_upload (cl, x, B * n), rd = d7cl_upload (cl, x, B * n);
  cl_mem vd = d7cl_upload (cl, vf, B * n);
  d7cl_timemix_forward (cl, &blk->attn, xd, B, T, NULL, vd, rd);
  float *got = readback (cl, rd, B * n);
  char what[96];
  snprintf (what, sizeof what, "time-mix (%s, T %d, 2 sequences) + residual",
            blk->attn.first ? "first" : "value residual", T);
  close_to (got, want, B * n, TOL, what);
  g_free (got);

  /* a whole block, each image with its own prompt */
  D7TextCond *tc[2] = { d7_text_cond_new (m, "a red apple"), d7_text_cond_new (m, "") };
  memcpy (want, x, sizeof (float) * B * n);
  float *vf2 = g_memdup2 (vf, sizeof (float) * B * n);
  for (int b = 0; b < B; b++)
    d7_block_forward (blk, want + b * n, T, vf2 + b * n, tc[b]);
  D7ClCond dc;
  d7cl_cond_init (cl, m, tc, B, &dc);
  d7cl_write (cl, xd, x, B * n);
  d7cl_write (cl, vd, vf, B * n);
  d7cl_block_forward (cl, blk, xd, B, T, vd, &dc);
  got = readback (cl, xd, B * n);
  close_to (got, want, B * n, TOL, "DIR-7 block (time-mix, CrossWKV, channel-mix), 2 prompts");
  g_free (got);
  d7cl_cond_clear (cl, m, &dc);
  d7_text_cond_free (tc[0], m);
  d7_text_cond_free (tc[1], m);

  /* a ResBlock with a skip convolution (the first of the up path) */
  const D7ResBlock *rb = &m->unet.up[0].res[0];
  int cin = rb->conv1.cin, cout = rb->conv1.cout, h = 5, w = 7, td = m->config.unet.time_dim;
  float *img = randv ((size_t) B * cin * h * w, -2, 2), *emb = randv ((size_t) B * td, -1, 1);
  float *rw = g_new (float, (size_t) B * cout * h * w), *se = g_memdup2 (emb, sizeof (float) * B * td);
  d7_silu (se, (size_t) B * td);
  cl_mem id = d7cl_upload (cl, img, (size_t) B * cin * h * w), sed = d7cl_upload (cl, se, (size_t) B * td);
  /* one time embedding for the batch, then one per item (a model with a text embedding) */
  for (int rows = 1; rows <= B; rows += B - 1) {
    for (int b = 0; b < B; b++)
      d7_resblock_forward (rb, &m->config, img + (size_t) b * cin * h * w, h, w,
                           emb + (size_t) (rows > 1 ? b : 0) * td, rw + (size_t) b * cout * h * w);
    cl_mem od = d7cl_tmp (cl, (size_t) B * cout * h * w);
    d7cl_resblock_forward (cl, rb, &m->config, id, B, h, w, sed, rows, od);
    got = readback (cl, od, (size_t) B * cout * h * w);
    snprintf (what, sizeof what, "ResBlock %d->%d%s, %s", cin, cout, rb->skip.w ? " with skip conv" : "",
              rows > 1 ? "an embedding per item" : "one embedding");
    close_to (got, rw, (size_t) B * cout * h * w, TOL, what);
    d7cl_release (cl, od);
    g_free (got);
  }
  d7cl_mem_free (cl, xd); d7cl_mem_free (cl, rd); d7cl_mem_free (cl, vd);
  d7cl_mem_free (cl, id); d7cl_mem_free (cl, sed);
  g_free (x); g_free (want); g_free (vf); g_free (vf2);
  g_free (img); g_free (emb); g_free (rw); g_free (se);
}

/* generations: the device's image equals the CPU's for the same seed */
static void
test_generate (Dir7Model *m, const char *name, gboolean f16_file)
{
  static const struct { Dir7Sampler s; float g; int mode; } cases[] = {
    { DIR7_SAMPLER_DPMPP_2M, 5.f, 0 }, { DIR7_SAMPLER_DDIM, 1.f, 0 },
    { DIR7_SAMPLER_DDPM, 3.f, 0 }, { DIR7_SAMPLER_DPMPP_2M, 4.f, 1 },
    { DIR7_SAMPLER_DDIM, 2.f, 2 },
  };
  static const char *const modes[] = { "text to image", "img2img", "inpaint" };
  int S = dir7_model_native_size (m), HW = S * S;
  float *init = randv ((size_t) HW * 4, 0, 1), *mask = g_new (float, HW);
  for (int i = 0; i < HW; i++)
    mask[i] = (i % S) < S / 2 ? 1.f : 0.f;
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    Dir7GenerateParams p;
    dir7_generate_params_init (&p);
    p.prompt = "a blue star";
    p.negative_prompt = c == 2 ? "red" : NULL;
    p.width = p.height = S;
    p.steps = 4;
    p.seed = 1234 + c;
    p.sampler = cases[c].s;
    p.guidance = cases[c].g;
    if (cases[c].mode >= 1) {
      p.init_image = init;
      p.strength = cases[c].mode == 1 ? 0.6f : 1.f;
    }
    if (cases[c].mode == 2)
      p.mask = mask;
    GError *e1 = NULL, *e2 = NULL;
    char *rep = NULL;
    float *cpu = dir7_generate (m, &p, &e1);
    p.device = "opencl";
    float *gpu = dir7_generate_ex (m, &p, &rep, &e2);
    char what[160];
    snprintf (what, sizeof what, "%s %s, %s, guidance %.0f: ran on OpenCL", name,
              modes[cases[c].mode], dir7_sampler_name (cases[c].s), cases[c].g);
    expect (cpu && gpu && rep && g_str_has_prefix (rep, "OpenCL"), what, rep);
    if (c == 0)   /* fp16 matrices on the device exactly when the file stores F16 (lossless) */
      expect (m->cl && ((D7Cl *) m->cl)->fp16 == f16_file,
              f16_file ? "F16 model file: fp16 weight storage on the device"
                       : "BF16 or I8 model file: fp32 weight storage on the device", NULL);
    if (cpu && gpu) {
      snprintf (what, sizeof what, "%s %s, %s: image equals the CPU's", name,
                modes[cases[c].mode], dir7_sampler_name (cases[c].s));
      close_to (gpu, cpu, (size_t) HW * 4, 5e-3 / 2, what);
    }
    g_clear_error (&e1); g_clear_error (&e2);
    g_free (cpu); g_free (gpu); g_free (rep);
  }
  g_free (init); g_free (mask);
}

/* the denoiser alone, B = 1: the tightest check on the whole network */
static void
test_unet (D7Cl *cl, Dir7Model *m, const char *name, double tol)
{
  int S = dir7_model_native_size (m), C = m->config.unet.image_channels, C0 = m->config.unet.base_channels;
  size_t n = (size_t) C * S * S;
  float *x = randv (n, -1.5, 1.5), *want = g_new (float, n), *te = g_new (float, C0);
  D7TextCond *tc = d7_text_cond_new (m, "green leaf");
  d7_unet_forward (m, x, S, S, 500, tc, want);   /* also fills tc's states */
  d7_timestep_embedding (500, C0, te);
  D7ClCond dc;
  d7cl_cond_init (cl, m, &tc, 1, &dc);
  cl_mem xd = d7cl_upload (cl, x, n), ted = d7cl_upload (cl, te, C0), ed = d7cl_tmp (cl, n);
  d7cl_unet_forward (cl, m, xd, S, S, ted, 0, &dc, ed);
  float *got = readback (cl, ed, n);
  char what[96];
  snprintf (what, sizeof what, "%s: whole denoiser, t 500%s", name, cl->fp16 ? ", fp16 weights" : "");
  close_to (got, want, n, tol, what);
  d7cl_cond_clear (cl, m, &dc);
  d7cl_mem_free (cl, xd); d7cl_mem_free (cl, ted); d7cl_release (cl, ed);
  d7_text_cond_free (tc, m);
  g_free (x); g_free (want); g_free (te); g_free (got);
}

/* fp16 weight matrices (DIR7_CL_WEIGHTS=fp16): the same checks with
 * tolerances for weights rounded to 11 significant bits (relative error
 * 2^-11 each, accumulated in fp32) */
#define TOL_FP16 1e-3
static void
test_fp16 (D7Cl *cl, Dir7Model *m)
{
  cl->fp16 = TRUE;
  d7cl_forget_weights (cl);
  int rows = 37, in = 130, out = 70;
  float *x = randv ((size_t) rows * in, -1, 1), *W = randv ((size_t) out * in, -1, 1);
  float *bias = randv (out, -1, 1), *want = g_new (float, (size_t) rows * out);
  d7_linear (x, rows, in, W, bias, out, want);
  D7Linear L = { W, bias, in, out };
  cl_mem xd = d7cl_upload (cl, x, (size_t) rows * in), yd = d7cl_tmp (cl, (size_t) rows * out);
  d7cl_linear (cl, &L, xd, 0, rows, yd, D7CL_ACT_NONE, 1.f, FALSE);
  float *got = readback (cl, yd, (size_t) rows * out);
  close_to (got, want, (size_t) rows * out, TOL_FP16, "linear 37x130 -> 70, fp16 weights");
  double err = 0;
  for (size_t i = 0; i < (size_t) rows * out; i++)
    err = MAX (err, fabs (got[i] - want[i]));
  /* and not silently fp32: rounding the weights must show */
  expect (err > 1e-6, "linear with fp16 weights differs from fp32 by rounding", NULL);
  d7cl_mem_free (cl, xd); d7cl_release (cl, yd);
  g_free (x); g_free (W); g_free (bias); g_free (want); g_free (got);
  d7cl_forget_weights (cl);
  for (int tile = 32; tile <= 64; tile *= 2) {
    cl->tile = tile;
    test_conv (cl, TOL_FP16);
    d7cl_forget_weights (cl);
  }
  cl->tile = 0;
  test_unet (cl, m, "tiny state mode", 5 * TOL_FP16);   /* stored as F16: exact */
  cl->fp16 = FALSE;
  d7cl_forget_weights (cl);
}

static gboolean
stop_at_2 (int step, int total, const float *preview, gpointer data)
{
  (*(int *) data)++;
  return step < 2;
}

/* a failing or missing device: the CPU's image and a report that says why;
 * cancel on the device: promptly, no image */
static void
test_fallbacks (Dir7Model *m)
{
  Dir7GenerateParams p;
  dir7_generate_params_init (&p);
  p.prompt = "a yellow sun";
  p.width = p.height = dir7_model_native_size (m);
  p.steps = 2;
  p.seed = 5;
  size_t n = (size_t) p.width * p.height * 4;
  float *cpu = dir7_generate (m, &p, NULL);
  static const char *const faults[] = { "build", "alloc", "lost", NULL };
  for (guint f = 0; f < G_N_ELEMENTS (faults); f++) {
    char *rep = NULL;
    GError *e = NULL;
    p.device = faults[f] ? "opencl" : "no-such-device-anywhere";
    if (faults[f])
      g_setenv ("DIR7_CL_FAULT", faults[f], TRUE);
    d7cl_model_release (m);   /* a fresh device start, where builds happen */
    float *img = dir7_generate_ex (m, &p, &rep, &e);
    g_unsetenv ("DIR7_CL_FAULT");
    char what[96];
    snprintf (what, sizeof what, "%s: falls back to the CPU, says why",
              faults[f] ? faults[f] : "unknown device");
    expect (img && rep && g_str_has_prefix (rep, "CPU (OpenCL: ") &&
            memcmp (img, cpu, n * sizeof (float)) == 0, what, rep ? rep : e ? e->message : NULL);
    g_free (img); g_free (rep); g_clear_error (&e);
  }
  /* and the device works again afterwards */
  p.device = "opencl";
  char *rep = NULL;
  float *img = dir7_generate_ex (m, &p, &rep, NULL);
  expect (img && rep && g_str_has_prefix (rep, "OpenCL"), "device usable after the faults", rep);
  g_free (img); g_free (rep);

  int calls = 0;
  GError *e = NULL;
  p.steps = 6;
  p.progress = stop_at_2;
  p.progress_data = &calls;
  img = dir7_generate_ex (m, &p, NULL, &e);
  expect (!img && g_error_matches (e, DIR7_ERROR, DIR7_ERROR_CANCELLED) && calls == 2,
          "cancel from the progress callback on the device", e ? e->message : NULL);
  g_clear_error (&e);
  g_free (img);
  g_free (cpu);
}

/* one of the golden test models in dir, or the test stops */
static Dir7Model *
load_golden (const char *dir, const char *name)
{
  GError *err = NULL;
  char *path = g_build_filename (dir, name, NULL);
  Dir7Model *m = dir7_model_load (path, &err);
  g_assert_no_error (err);
  g_free (path);
  return m;
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
    return 2;
  }
  rng = g_rand_new_with_seed (7);
  GError *err = NULL;
  char **devs = dir7_list_devices (&err);
  if (!devs) {
    printf ("no OpenCL device: %s\n", err->message);
    return g_getenv ("DIR7_REQUIRE_OPENCL") ? 1 : 77;
  }
  for (char **d = devs; *d; d++)
    printf ("device %s\n", *d);
  g_strfreev (devs);
  Dir7Model *m = load_golden (argv[1], "tiny-state.safetensors");
  D7Cl *cl = d7cl_new ("opencl", m->config.head_size, &err);
  if (!cl) {
    printf ("FAIL opening the device: %s\n", err->message);
    return 1;
  }
  printf ("testing on %s\n", cl->name);
  /* both tile sizes, whichever the device would choose */
  for (int tile = 32; tile <= 64; tile *= 2) {
    cl->tile = tile;
    test_gemm (cl);
    d7cl_forget_weights (cl);
    test_conv (cl, TOL);
    d7cl_forget_weights (cl);
  }
  cl->tile = 0;
  test_norms (cl);
  d7cl_forget_weights (cl);
  test_wkv (cl, 70);    /* 4 chunks and a partial one */
  test_wkv (cl, 300);   /* 19 chunks through the state pass */
  test_layers (cl, m);
  test_unet (cl, m, "tiny state mode", 5e-4);
  test_fp16 (cl, m);
  expect (!d7cl_failed (cl), "no OpenCL error in the kernel tests", cl->err_where);
  d7cl_free (cl);
  test_generate (m, "state mode", TRUE);     /* tiny-state.safetensors stores F16 */
  m->config.diffusion.prediction = D7_PREDICT_V;   /* the same weights read as a v-model */
  test_generate (m, "state mode, v-prediction", TRUE);
  m->config.diffusion.prediction = D7_PREDICT_EPSILON;
  test_fallbacks (m);
  dir7_model_free (m);

  m = load_golden (argv[1], "tiny-paper.safetensors");
  cl = d7cl_new ("opencl", m->config.head_size, &err);
  g_assert_no_error (err);
  test_layers (cl, m);
  test_unet (cl, m, "tiny paper mode", 5e-4);
  d7cl_free (cl);
  test_generate (m, "paper mode", FALSE);    /* tiny-paper.safetensors stores BF16 */
  dir7_model_free (m);

  /* I8 weights with per-row scales: dequantised on loading, so the device runs
   * what the CPU runs (fp32 storage: int8 * scale is not exact in fp16) */
  m = load_golden (argv[1], "tiny-state-i8.safetensors");
  test_generate (m, "state mode, I8 weights", FALSE);
  dir7_model_free (m);

  /* three ResBlocks a level (phase 39's grown network, as it would ship: I8):
   * the device's U-Net walks the same skips as the CPU's */
  m = load_golden (argv[1], "tiny-state-r3-i8.safetensors");
  expect (m->config.unet.num_res_blocks == 3, "tiny-state-r3-i8: three ResBlocks a level", NULL);
  cl = d7cl_new ("opencl", m->config.head_size, &err);
  g_assert_no_error (err);
  test_unet (cl, m, "tiny state mode, three ResBlocks a level", 5e-4);
  d7cl_free (cl);
  test_generate (m, "state mode, three ResBlocks a level, I8 weights", FALSE);
  dir7_model_free (m);
  g_rand_free (rng);
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
