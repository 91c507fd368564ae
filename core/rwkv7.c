/* RWKV-7 time-mix, channel-mix, CrossWKV (both modes) and the DIR-7 block,
 * following training/dir7/rwkv7.py line for line. */
#include "model.h"
#include "ops.h"
#include "wkv7.h"

#include <math.h>
#include <string.h>

#define W_SCALE (-0.6065306597126334f)

void
d7_lora_forward (const D7Lora *l, const float *x, int T, float *y)
{
  float *h = g_new (float, (size_t) T * l->rank);
  d7_linear (x, T, l->din, l->down, NULL, l->rank, h);
  if (l->act == D7_ACT_TANH)
    d7_tanh (h, (size_t) T * l->rank);
  else if (l->act == D7_ACT_SIGMOID)
    d7_sigmoid (h, (size_t) T * l->rank);
  d7_linear (h, T, l->rank, l->up, l->bias, l->dout, y);
  g_free (h);
}

/* y = x + delta * mu, per channel */
static void
mix (const float *x, const float *delta, const float *mu, int T, int D, float *y)
{
  for (size_t t = 0; t < (size_t) T; t++)
    for (int d = 0; d < D; d++)
      y[t * D + d] = x[t * D + d] + delta[t * D + d] * mu[d];
}

/* The shared key path: kk = L2norm_head(k * k_k), k += k (lr - 1) k_a,
 * then a = -kk and b = kk * lr (written over kk and lr). */
static void
key_update (int T, int H, int N, float *k, float *lr, const float *k_k,
            const float *k_a, float *kk)
{
  int D = H * N;
  for (size_t i = 0; i < (size_t) T * D; i++)
    kk[i] = k[i] * k_k[i % D];
  d7_head_l2norm (kk, T, H, N);
  for (size_t i = 0; i < (size_t) T * D; i++) {
    k[i] += k[i] * (lr[i] - 1.f) * k_a[i % D];
    float n = kk[i];
    kk[i] = -n;
    lr[i] = n * lr[i];
  }
}

/* The writing side shared by time-mix and CrossWKV's prompt state: from the
 * stream x[T,Din] and its token-shift delta, the log-decay w, key k, value v
 * and in-context rate lr, each [T,D]. xm is [T,Din] scratch. */
static void
write_inputs (const float *x, const float *delta, int T, int Din, int D,
              const float *x_w, const float *x_k, const float *x_v, const float *x_a,
              const D7Lora *w_lora, const D7Lora *a_lora, const D7Linear *k_proj,
              const D7Linear *v_proj, float *xm, float *w, float *k, float *v, float *lr)
{
  size_t n = (size_t) T * D;
  mix (x, delta, x_w, T, Din, xm);
  d7_lora_forward (w_lora, xm, T, w);
  d7_sigmoid (w, n);
  for (size_t i = 0; i < n; i++)
    w[i] *= W_SCALE;
  mix (x, delta, x_k, T, Din, xm);
  d7_linear (xm, T, Din, k_proj->w, NULL, D, k);
  mix (x, delta, x_a, T, Din, xm);
  d7_lora_forward (a_lora, xm, T, lr);
  d7_sigmoid (lr, n);
  mix (x, delta, x_v, T, Din, xm);   /* last: callers may reuse the x_v mix */
  d7_linear (xm, T, Din, v_proj->w, NULL, D, v);
}

void
d7_timemix_forward (const D7TimeMix *tm, const float *x, int T,
                    const float *r_text, float *v_first, float *out)
{
  int D = tm->dim, H = tm->H, N = tm->N;
  size_t n = (size_t) T * D;
  float *delta = g_new (float, n), *xm = g_new (float, n);
  float *r = g_new (float, n), *w = g_new (float, n), *k = g_new (float, n);
  float *v = g_new (float, n), *lr = g_new (float, n), *g = g_new (float, n);
  float *kk = g_new (float, n), *o = g_new (float, n);

  d7_token_shift_delta (x, T, D, delta);
  if (tm->r_from_text) {
    d7_linear (r_text, T, tm->r_in, tm->r_proj.w, NULL, D, r);
  } else {
    mix (x, delta, tm->x_r, T, D, xm);
    d7_linear (xm, T, D, tm->r_proj.w, NULL, D, r);
  }
  write_inputs (x, delta, T, D, D, tm->x_w, tm->x_k, tm->x_v, tm->x_a, &tm->w_lora,
                &tm->a_lora, &tm->k_proj, &tm->v_proj, xm, w, k, v, lr);
  if (tm->first || !v_first) {
    if (v_first)
      memcpy (v_first, v, n * sizeof (float));
  } else {
    /* value residual: v = lerp(v, v_first, sigmoid(LoRA_v(x_v))) */
    d7_lora_forward (&tm->v_lora, xm, T, o);
    d7_sigmoid (o, n);
    for (size_t i = 0; i < n; i++)
      v[i] += (v_first[i] - v[i]) * o[i];
  }
  mix (x, delta, tm->x_g, T, D, xm);
  d7_lora_forward (&tm->g_lora, xm, T, g);

  key_update (T, H, N, k, lr, tm->k_k, tm->k_a, kk);  /* kk := a, lr := b */
  float *S = g_new0 (float, (size_t) H * N * N);
  d7_wkv7 (T, H, N, r, w, k, v, kk, lr, S, o);
  g_free (S);
  d7_head_norm (o, T, H, N, tm->g_norm.eps, tm->g_norm.w, tm->g_norm.b);
  /* bonus: o += sum_j(r k r_k) v, per head */
  for (size_t t = 0; t < (size_t) T; t++)
    for (int h = 0; h < H; h++) {
      size_t off = t * D + (size_t) h * N;
      float s = 0.f;
      for (int j = 0; j < N; j++)
        s += r[off + j] * k[off + j] * tm->r_k[h * N + j];
      for (int j = 0; j < N; j++)
        o[off + j] = (o[off + j] + s * v[off + j]) * g[off + j];
    }
  d7_linear (o, T, D, tm->o_proj.w, NULL, D, out);

  g_free (delta); g_free (xm); g_free (r); g_free (w); g_free (k);
  g_free (v); g_free (lr); g_free (g); g_free (kk); g_free (o);
}

void
d7_channelmix_forward (const D7ChannelMix *cm, const float *x, int T, float *out)
{
  int D = cm->dim;
  size_t n = (size_t) T * D;
  float *delta = g_new (float, n), *h = g_new (float, n * 4);
  d7_token_shift_delta (x, T, D, delta);
  mix (x, delta, cm->x_k, T, D, delta);
  d7_linear (delta, T, D, cm->key.w, NULL, 4 * D, h);
  for (size_t i = 0; i < n * 4; i++) {
    float z = h[i] > 0.f ? h[i] : 0.f;
    h[i] = z * z;
  }
  d7_linear (h, T, 4 * D, cm->value.w, NULL, D, out);
  g_free (delta);
  g_free (h);
}

void
d7_cross_state_write (const D7CrossState *cs, const float *text, int L, float *S)
{
  int Dq = cs->text_dim, D = cs->dim, H = cs->H, N = cs->N;
  size_t nq = (size_t) L * Dq, n = (size_t) L * D;
  float *delta = g_new (float, nq), *xm = g_new (float, nq);
  float *w = g_new (float, n), *k = g_new (float, n), *v = g_new (float, n);
  float *lr = g_new (float, n), *kk = g_new (float, n), *r = g_new0 (float, n);
  float *o = g_new (float, n);

  d7_token_shift_delta (text, L, Dq, delta);
  write_inputs (text, delta, L, Dq, D, cs->x_w, cs->x_k, cs->x_v, cs->x_a, &cs->w_lora,
                &cs->a_lora, &cs->k_proj, &cs->v_proj, xm, w, k, v, lr);
  key_update (L, H, N, k, lr, cs->k_k, cs->k_a, kk);
  memset (S, 0, sizeof (float) * H * N * N);
  d7_wkv7 (L, H, N, r, w, k, v, kk, lr, S, o);  /* only the final state matters */

  g_free (delta); g_free (xm); g_free (w); g_free (k); g_free (v);
  g_free (lr); g_free (kk); g_free (r); g_free (o);
}

void
d7_cross_state_read (const D7CrossState *cs, const float *x, int T,
                     const float *S, float *out)
{
  int D = cs->dim, H = cs->H, N = cs->N;
  size_t n = (size_t) T * D;
  float *delta = g_new (float, n), *xm = g_new (float, n);
  float *r = g_new (float, n), *g = g_new (float, n), *o = g_new (float, n);
  d7_token_shift_delta (x, T, D, delta);
  mix (x, delta, cs->x_r, T, D, xm);
  d7_linear (xm, T, D, cs->r_proj.w, NULL, D, r);
  mix (x, delta, cs->x_g, T, D, xm);
  d7_lora_forward (&cs->g_lora, xm, T, g);
  /* o_t = S_h r_t for every head: one GEMM per head, [T,N] x S_h^T */
  for (int h = 0; h < H; h++)
    d7_gemm (T, N, N, r + (size_t) h * N, D, S + (size_t) h * N * N, N, 1,
             o + (size_t) h * N, D, 0);
  d7_head_norm (o, T, H, N, cs->g_norm.eps, cs->g_norm.w, cs->g_norm.b);
  for (size_t i = 0; i < n; i++)
    o[i] *= g[i];
  d7_linear (o, T, D, cs->o_proj.w, NULL, D, out);
  g_free (delta); g_free (xm); g_free (r); g_free (g); g_free (o);
}

void
d7_cross_forward (const D7Block *blk, const float *x, int T, D7TextCond *cond, float *out)
{
  if (blk->cross_mode == D7_CROSS_STATE) {
    const D7CrossState *cs = &blk->cross_state;
    float **S = &cond->states[blk->index];
    if (!*S) {   /* the prompt's state: once per prompt, reused every step */
      *S = g_new (float, (size_t) cs->H * cs->N * cs->N);
      d7_cross_state_write (cs, cond->feats, cond->L, *S);
    }
    d7_cross_state_read (cs, x, T, *S, out);
  } else {
    /* paper mode: r from the text, zero-padded or cut to T tokens */
    const D7TimeMix *tm = &blk->cross_paper;
    float *q = g_new0 (float, (size_t) T * tm->r_in);
    int L = MIN (cond->L, T);
    memcpy (q, cond->feats, sizeof (float) * L * tm->r_in);
    d7_timemix_forward (tm, x, T, q, NULL, out);
    g_free (q);
  }
}

void
d7_block_forward (const D7Block *blk, float *x, int T, float *v_first, D7TextCond *cond)
{
  int D = blk->attn.dim;
  size_t n = (size_t) T * D;
  float *h = g_new (float, n), *y = g_new (float, n);
  d7_layer_norm (x, T, D, blk->ln1.eps, blk->ln1.w, blk->ln1.b, h);
  d7_timemix_forward (&blk->attn, h, T, NULL, v_first, y);
  for (size_t i = 0; i < n; i++)
    x[i] += y[i];
  d7_layer_norm (x, T, D, blk->ln2.eps, blk->ln2.w, blk->ln2.b, h);
  d7_cross_forward (blk, h, T, cond, y);
  for (size_t i = 0; i < n; i++)
    x[i] += y[i];
  d7_layer_norm (x, T, D, blk->ln3.eps, blk->ln3.w, blk->ln3.b, h);
  d7_channelmix_forward (&blk->ffn, h, T, y);
  for (size_t i = 0; i < n; i++)
    x[i] += y[i];
  g_free (h);
  g_free (y);
}
