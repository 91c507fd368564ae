/* Argument setting and launch geometry for each kernel. */
#include "cl_ops.h"

typedef struct {
  D7Cl *cl;
  cl_kernel k;
  cl_uint i;
} Args;

static void
arg (Args *a, size_t size, const void *value)
{
  if (!a->cl->err)
    d7cl_check (a->cl, clSetKernelArg (a->k, a->i, size, value), "clSetKernelArg");
  a->i++;
}

#define MEM(a, m)  do { cl_mem v_ = (m); arg (a, sizeof v_, &v_); } while (0)
#define INT(a, x)  do { cl_int v_ = (cl_int) (x); arg (a, sizeof v_, &v_); } while (0)
#define FLT(a, x)  do { cl_float v_ = (cl_float) (x); arg (a, sizeof v_, &v_); } while (0)

static void
launch (Args *a, cl_uint dims, const size_t *global, const size_t *local, const char *name)
{
  if (a->cl->err)
    return;
  for (cl_uint d = 0; d < dims; d++)
    if (global[d] == 0)
      return;
  cl_event ev = NULL;
  cl_int err = d7cl_fault ("lost") ? CL_DEVICE_NOT_AVAILABLE
             : clEnqueueNDRangeKernel (a->cl->queue, a->k, dims, NULL, global, local, 0, NULL,
                                       a->cl->profile ? &ev : NULL);
  d7cl_check (a->cl, err, name);
  if (ev) {                      /* profiling: wait and add up the device time */
    cl_ulong t0 = 0, t1 = 0;
    clWaitForEvents (1, &ev);
    clGetEventProfilingInfo (ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
    clGetEventProfilingInfo (ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
    clReleaseEvent (ev);
    D7ClProfile *p = g_hash_table_lookup (a->cl->profile, name);
    if (!p)
      g_hash_table_insert (a->cl->profile, (gpointer) name, p = g_new0 (D7ClProfile, 1));
    p->count++;
    p->ns += t1 - t0;
  }
}

static size_t
round_up (size_t n, size_t m)
{
  return (n + m - 1) / m * m;
}

/* 1-D launch over n items, 256 a work-group */
static void
launch_1d (Args *a, size_t n, const char *name)
{
  size_t g = round_up (n, 256), l = 256;
  launch (a, 1, &g, &l, name);
}

static cl_mem
weight (D7Cl *cl, const float *w, size_t n)
{
  return w ? d7cl_weight (cl, w, n) : NULL;
}

/* GEMM/conv weight matrices: fp16 when the device state says so */
static cl_mem
matrix (D7Cl *cl, const float *w, size_t n)
{
  return w ? d7cl_weight_matrix (cl, w, n) : NULL;
}

/* 64-tiles unless they would leave most of the device idle: a 64x64 image
 * level at batch 2 is 128 work-groups, fewer than two per compute unit of a
 * big GPU, and 32-tiles give it 4x as many */
static int
tile_for (D7Cl *cl, int M, int N, int nz)
{
  if (cl->tile)
    return cl->tile;
  size_t groups64 = (size_t) ((M + 63) / 64) * ((N + 63) / 64) * nz;
  return groups64 < (size_t) 4 * cl->compute_units ? 32 : 64;
}

static void
gemm_launch (D7Cl *cl, int M, int N, int K, int nz, int zdiv,
             cl_mem A, size_t aoff, int lda, int sa1, int sa2,
             cl_mem B, size_t boff, int ldb, int sb1, int sb2,
             cl_mem C, size_t coff, int ldc, int sc1, int sc2,
             cl_mem bias, int act, float alpha, gboolean accumulate, gboolean half_b)
{
  int t = tile_for (cl, M, N, nz);
  Args a = { cl, half_b ? (t == 32 ? cl->k.gemm32_h : cl->k.gemm_h)
                        : (t == 32 ? cl->k.gemm32 : cl->k.gemm), 0 };
  INT (&a, M); INT (&a, N); INT (&a, K);
  MEM (&a, A); INT (&a, aoff); INT (&a, lda); INT (&a, sa1); INT (&a, sa2);
  MEM (&a, B); INT (&a, boff); INT (&a, ldb); INT (&a, sb1); INT (&a, sb2);
  MEM (&a, C); INT (&a, coff); INT (&a, ldc); INT (&a, sc1); INT (&a, sc2);
  INT (&a, zdiv); MEM (&a, bias); INT (&a, bias != NULL); INT (&a, act);
  FLT (&a, alpha); INT (&a, accumulate);
  size_t g[3] = { round_up (N, t) * 16 / t, round_up (M, t) * 16 / t, nz }, l[3] = { 16, 16, 1 };
  launch (&a, 3, g, l, "gemm");
}

void
d7cl_gemm (D7Cl *cl, int M, int N, int K, cl_mem A, size_t aoff, int lda,
           cl_mem B, size_t boff, int ldb, cl_mem C, size_t coff, int ldc,
           cl_mem bias, int act, float alpha, gboolean accumulate)
{
  gemm_launch (cl, M, N, K, 1, 1, A, aoff, lda, 0, 0, B, boff, ldb, 0, 0, C, coff, ldc, 0, 0,
               bias, act, alpha, accumulate, FALSE);
}

/* y = x W^T with W a weight matrix from matrix() */
static void
gemm_weights (D7Cl *cl, int rows, int N, int K, cl_mem x, size_t xoff, cl_mem W, cl_mem y,
              cl_mem bias, int act, float alpha, gboolean accumulate)
{
  gemm_launch (cl, rows, N, K, 1, 1, x, xoff, K, 0, 0, W, 0, K, 0, 0, y, 0, N, 0, 0,
               bias, act, alpha, accumulate, cl->fp16);
}

void
d7cl_gemm_batched (D7Cl *cl, int M, int N, int K, int nz, int zdiv,
                   cl_mem A, int lda, int sa1, int sa2, cl_mem B, int ldb, int sb1, int sb2,
                   cl_mem C, int ldc, int sc1, int sc2)
{
  gemm_launch (cl, M, N, K, nz, zdiv, A, 0, lda, sa1, sa2, B, 0, ldb, sb1, sb2,
               C, 0, ldc, sc1, sc2, NULL, D7CL_ACT_NONE, 1.f, FALSE, FALSE);
}

void
d7cl_linear (D7Cl *cl, const D7Linear *L, cl_mem x, size_t xoff, int rows, cl_mem y,
             int act, float alpha, gboolean accumulate)
{
  cl_mem W = matrix (cl, L->w, (size_t) L->in * L->out), b = weight (cl, L->b, L->out);
  gemm_weights (cl, rows, L->out, L->in, x, xoff, W, y, b, act, alpha, accumulate);
}

void
d7cl_lora (D7Cl *cl, const D7Lora *l, cl_mem x, size_t xoff, int rows, cl_mem y, int act,
           float alpha)
{
  cl_mem h = d7cl_tmp (cl, (size_t) rows * l->rank);
  int act_l = l->act == D7_ACT_TANH ? D7CL_ACT_TANH
            : l->act == D7_ACT_SIGMOID ? D7CL_ACT_SIGMOID : D7CL_ACT_NONE;
  cl_mem down = matrix (cl, l->down, (size_t) l->rank * l->din);
  cl_mem up = matrix (cl, l->up, (size_t) l->dout * l->rank), bias = weight (cl, l->bias, l->dout);
  gemm_weights (cl, rows, l->rank, l->din, x, xoff, down, h, NULL, act_l, 1.f, FALSE);
  gemm_weights (cl, rows, l->dout, l->rank, h, 0, up, y, bias, act, alpha, FALSE);
  d7cl_release (cl, h);
}

void
d7cl_conv (D7Cl *cl, const D7Conv *c, cl_mem x, int in_bstride, int B, int h, int w,
           gboolean upsample, int stride, cl_mem y, gboolean accumulate)
{
  int lh = upsample ? 2 * h : h, lw = upsample ? 2 * w : w, pad = c->k / 2;
  int oh = (lh + 2 * pad - c->k) / stride + 1, ow = (lw + 2 * pad - c->k) / stride + 1;
  cl_mem W = matrix (cl, c->w, (size_t) c->cout * c->cin * c->k * c->k);
  cl_mem b = weight (cl, c->b, c->cout);
  if (c->k != 1 && c->k != 3) {   /* the kernels are built for the model's 3x3 and 1x1 */
    d7cl_check (cl, CL_INVALID_KERNEL_ARGS, "conv2d: kernel size other than 1 or 3");
    return;
  }
  int t = tile_for (cl, c->cout, oh * ow, B);
  cl_kernel k3 = cl->fp16 ? (t == 32 ? cl->k.conv3_32_h : cl->k.conv3_h)
                          : (t == 32 ? cl->k.conv3_32 : cl->k.conv3);
  cl_kernel k1 = cl->fp16 ? (t == 32 ? cl->k.conv1_32_h : cl->k.conv1_h)
                          : (t == 32 ? cl->k.conv1_32 : cl->k.conv1);
  Args a = { cl, c->k == 3 ? k3 : k1, 0 };
  MEM (&a, x); INT (&a, in_bstride); INT (&a, c->cin); INT (&a, h); INT (&a, w);
  INT (&a, upsample); MEM (&a, W); MEM (&a, b); INT (&a, b != NULL);
  INT (&a, c->cout); INT (&a, c->k); INT (&a, stride); INT (&a, pad); INT (&a, oh); INT (&a, ow);
  MEM (&a, y); INT (&a, accumulate);
  size_t g[3] = { round_up ((size_t) oh * ow, t) * 16 / t, round_up (c->cout, t) * 16 / t, B };
  size_t l[3] = { 16, 16, 1 };
  launch (&a, 3, g, l, "conv2d");
}

static size_t
row_group (int n)
{
  return n <= 32 ? 32 : n <= 64 ? 64 : n <= 128 ? 128 : 256;
}

void
d7cl_group_norm (D7Cl *cl, const D7Norm *nm, cl_mem x, cl_mem y, int B, int C, int HW,
                 int groups, cl_mem ss, gboolean ss_per_item, gboolean silu)
{
  Args a = { cl, cl->k.group_norm, 0 };
  MEM (&a, x); MEM (&a, y); INT (&a, C); INT (&a, HW); INT (&a, groups); FLT (&a, nm->eps);
  MEM (&a, weight (cl, nm->w, C)); MEM (&a, weight (cl, nm->b, C));
  MEM (&a, ss); INT (&a, ss != NULL); INT (&a, ss_per_item ? 2 * C : 0); INT (&a, silu);
  size_t l = 256, g = (size_t) B * groups * l;
  launch (&a, 1, &g, &l, "group_norm");
}

void
d7cl_layer_norm (D7Cl *cl, const D7Norm *nm, cl_mem x, cl_mem y, int rows, int D)
{
  Args a = { cl, cl->k.layer_norm, 0 };
  MEM (&a, x); MEM (&a, y); INT (&a, D); FLT (&a, nm->eps);
  MEM (&a, weight (cl, nm->w, D)); MEM (&a, weight (cl, nm->b, D));
  size_t l = row_group (D), g = (size_t) rows * l;
  launch (&a, 1, &g, &l, "layer_norm");
}

void
d7cl_shift_mix (D7Cl *cl, cl_mem x, int rows, int T, int D, cl_mem mu, int nm, cl_mem out)
{
  Args a = { cl, cl->k.shift_mix, 0 };
  MEM (&a, x); INT (&a, rows); INT (&a, T); INT (&a, D); MEM (&a, mu); INT (&a, nm); MEM (&a, out);
  launch_1d (&a, (size_t) rows * D, "shift_mix");
}

void
d7cl_key_update (D7Cl *cl, int rows, int H, int N, cl_mem k, cl_mem lr, cl_mem kk,
                 const float *k_k, const float *k_a)
{
  Args a = { cl, cl->k.key_update, 0 };
  INT (&a, H); MEM (&a, k); MEM (&a, lr); MEM (&a, kk);
  MEM (&a, weight (cl, k_k, (size_t) H * N)); MEM (&a, weight (cl, k_a, (size_t) H * N));
  size_t l = N, g = (size_t) rows * H * N;
  launch (&a, 1, &g, &l, "key_update");
}

void
d7cl_head_out (D7Cl *cl, const D7Norm *nm, int rows, int H, int N, cl_mem o, cl_mem g,
               cl_mem r, cl_mem k, cl_mem v, const float *r_k)
{
  Args a = { cl, cl->k.head_out, 0 };
  INT (&a, H); MEM (&a, o); FLT (&a, nm->eps);
  MEM (&a, weight (cl, nm->w, (size_t) H * N)); MEM (&a, weight (cl, nm->b, (size_t) H * N));
  MEM (&a, g); INT (&a, r_k != NULL); MEM (&a, r); MEM (&a, k); MEM (&a, v);
  MEM (&a, weight (cl, r_k, (size_t) H * N));
  size_t l = N, gs = (size_t) rows * H * N;
  launch (&a, 1, &gs, &l, "head_out");
}

void
d7cl_lerp (D7Cl *cl, size_t n, cl_mem v, cl_mem vf, cl_mem s)
{
  Args a = { cl, cl->k.lerp, 0 };
  INT (&a, n); MEM (&a, v); MEM (&a, vf); MEM (&a, s);
  launch_1d (&a, n, "lerp_to");
}

void
d7cl_activation (D7Cl *cl, size_t n, cl_mem x, int act, float alpha)
{
  Args a = { cl, cl->k.activation, 0 };
  INT (&a, n); MEM (&a, x); INT (&a, act); FLT (&a, alpha);
  launch_1d (&a, n, "activation");
}

void
d7cl_transpose (D7Cl *cl, int B, int rows, int cols, cl_mem x, cl_mem y)
{
  Args a = { cl, cl->k.transpose, 0 };
  MEM (&a, x); MEM (&a, y); INT (&a, rows); INT (&a, cols);
  size_t g[3] = { round_up (cols, 16), round_up (rows, 16), B }, l[3] = { 16, 16, 1 };
  launch (&a, 3, g, l, "transpose");
}

void
d7cl_copy_into (D7Cl *cl, int B, size_t n, cl_mem x, size_t x_bstride, cl_mem y,
                size_t y_off, size_t y_bstride)
{
  Args a = { cl, cl->k.copy_into, 0 };
  INT (&a, n); MEM (&a, x); INT (&a, x_bstride); MEM (&a, y); INT (&a, y_off); INT (&a, y_bstride);
  size_t g[2] = { round_up (n, 256), B }, l[2] = { 256, 1 };
  launch (&a, 2, g, l, "copy_into");
}

void
d7cl_wkv7_recurrent (D7Cl *cl, int nseq, int T, int H, cl_mem r, cl_mem w, cl_mem k, cl_mem v,
                     cl_mem a_, cl_mem b, cl_mem S, cl_mem o)
{
  Args a = { cl, cl->k.wkv7, 0 };
  INT (&a, T); INT (&a, H); MEM (&a, r); MEM (&a, w); MEM (&a, k); MEM (&a, v);
  MEM (&a, a_); MEM (&a, b); MEM (&a, S); INT (&a, S != NULL); MEM (&a, o);
  size_t l = cl->head_n, g = (size_t) nseq * H * l;
  launch (&a, 1, &g, &l, "wkv7_recurrent");
}

gboolean
d7cl_wkv7_chunked (D7Cl *cl, int nseq, int T, int H, cl_mem r, cl_mem w, cl_mem k, cl_mem v,
                   cl_mem a_, cl_mem b, cl_mem S, cl_mem o)
{
  if (!cl->wkv7_prep)
    return FALSE;
  const int C = 16, N = cl->head_n;    /* WKV_C in wkv7_chunked.cl */
  int nch = (T + C - 1) / C, nsh = nseq * H;
  size_t nc = (size_t) nsh * nch;
  cl_mem P = d7cl_tmp (cl, nc * C * N), Q = d7cl_tmp (cl, nc * C * N);
  cl_mem G = d7cl_tmp (cl, nc * N * N), F = d7cl_tmp (cl, nc * N * N);
  cl_mem Sc = d7cl_tmp (cl, nc * N * N);
  size_t l = 256, g = nc * l;
  Args a = { cl, cl->wkv7_prep, 0 };
  INT (&a, T); INT (&a, H); MEM (&a, w); MEM (&a, k); MEM (&a, v); MEM (&a, a_); MEM (&a, b);
  MEM (&a, P); MEM (&a, Q); MEM (&a, G); MEM (&a, F);
  launch (&a, 1, &g, &l, "wkv7_chunk_prep");
  Args s = { cl, cl->wkv7_state, 0 };
  INT (&s, nch); MEM (&s, G); MEM (&s, F); MEM (&s, S ? S : G); INT (&s, S != NULL); MEM (&s, Sc);
  g = (size_t) nsh * (N / 16) * l;          /* WKV_SR rows a work-group */
  launch (&s, 1, &g, &l, "wkv7_chunk_state");
  Args u = { cl, cl->wkv7_out, 0 };
  INT (&u, T); INT (&u, H); MEM (&u, r); MEM (&u, w); MEM (&u, k); MEM (&u, v); MEM (&u, b);
  MEM (&u, P); MEM (&u, Q); MEM (&u, Sc); MEM (&u, o);
  g = nc * l;
  launch (&u, 1, &g, &l, "wkv7_chunk_out");
  d7cl_release (cl, P); d7cl_release (cl, Q); d7cl_release (cl, G); d7cl_release (cl, F);
  d7cl_release (cl, Sc);
  return TRUE;
}

/* On a GPU, as the CPU core does: token by token up to 64 tokens, in chunks
 * beyond, where the chunks run in parallel and only a short state pass is
 * sequential. A CPU device has no idle lanes for the chunks' extra work. */
void
d7cl_wkv7 (D7Cl *cl, int nseq, int T, int H, cl_mem r, cl_mem w, cl_mem k, cl_mem v,
           cl_mem a_, cl_mem b, cl_mem S, cl_mem o)
{
  if (T <= 64 || cl->is_cpu || !d7cl_wkv7_chunked (cl, nseq, T, H, r, w, k, v, a_, b, S, o))
    d7cl_wkv7_recurrent (cl, nseq, T, H, r, w, k, v, a_, b, S, o);
}

void
d7cl_guide_x0 (D7Cl *cl, size_t n, cl_mem eps, gboolean guided, float g, gboolean v_pred,
               cl_mem x, float c1, float c2, cl_mem x0)
{
  Args a = { cl, cl->k.guide_x0, 0 };
  INT (&a, n); MEM (&a, eps); INT (&a, guided); FLT (&a, g); INT (&a, v_pred); MEM (&a, x);
  FLT (&a, c1); FLT (&a, c2); MEM (&a, x0);
  launch_1d (&a, n, "guide_x0");
}

void
d7cl_sampler_step (D7Cl *cl, size_t n, int kind, cl_mem x, cl_mem x0, cl_mem prev,
                   cl_mem z, const float p[4])
{
  Args a = { cl, cl->k.sampler_step, 0 };
  INT (&a, n); INT (&a, kind); MEM (&a, x); MEM (&a, x0); MEM (&a, prev); MEM (&a, z);
  FLT (&a, p[0]); FLT (&a, p[1]); FLT (&a, p[2]); FLT (&a, p[3]);
  launch_1d (&a, n, "sampler_step");
}

void
d7cl_mask_blend (D7Cl *cl, size_t n, int HW, cl_mem x, cl_mem mask, cl_mem init, cl_mem z,
                 float ks, float kn)
{
  Args a = { cl, cl->k.mask_blend, 0 };
  INT (&a, n); INT (&a, HW); MEM (&a, x); MEM (&a, mask); MEM (&a, init); MEM (&a, z);
  INT (&a, z != NULL); FLT (&a, ks); FLT (&a, kn);
  launch_1d (&a, n, "mask_blend");
}
