/* The U-Net and its RWKV-7 / CrossWKV blocks on the device, following
 * core/unet.c and core/rwkv7.c step for step (same order of operations
 * where it matters, fused where it does not). */
#include "cl_unet.h"
#include "cl_ops.h"

#include <string.h>

#define W_SCALE (-0.6065306597126334f)

/* time-mix's six token-shift mixes, in the order of D7TimeMix's fields */
enum { MIX_R, MIX_W, MIX_K, MIX_V, MIX_A, MIX_G, N_MIX };

static void
copy (D7Cl *cl, cl_mem src, cl_mem dst, size_t n)
{
  if (!cl->err)
    d7cl_check (cl, clEnqueueCopyBuffer (cl->queue, src, dst, 0, 0, n * sizeof (float),
                                         0, NULL, NULL), "copy");
}

void
d7cl_timemix_forward (D7Cl *cl, const D7TimeMix *tm, cl_mem h, int B, int T,
                      cl_mem r_text, cl_mem v_first, cl_mem resid)
{
  int D = tm->dim, H = tm->H, N = tm->N, rows = B * T;
  size_t n = (size_t) rows * D;
  /* paper mode has no x_r (r comes from the text): a zero row */
  const float *mus[N_MIX] = { tm->x_r, tm->x_w, tm->x_k, tm->x_v, tm->x_a, tm->x_g };
  cl_mem mu = d7cl_weight_cat (cl, &tm->x_r, mus, N_MIX, D);
  cl_mem mix = d7cl_tmp (cl, N_MIX * n);
  cl_mem r = d7cl_tmp (cl, n), w = d7cl_tmp (cl, n), k = d7cl_tmp (cl, n);
  cl_mem v = d7cl_tmp (cl, n), lr = d7cl_tmp (cl, n), g = d7cl_tmp (cl, n);
  cl_mem kk = d7cl_tmp (cl, n), o = d7cl_tmp (cl, n);

  d7cl_shift_mix (cl, h, rows, T, D, mu, N_MIX, mix);
  if (tm->r_from_text)
    d7cl_linear (cl, &tm->r_proj, r_text, 0, rows, r, D7CL_ACT_NONE, 1.f, FALSE);
  else
    d7cl_linear (cl, &tm->r_proj, mix, MIX_R * n, rows, r, D7CL_ACT_NONE, 1.f, FALSE);
  d7cl_lora (cl, &tm->w_lora, mix, MIX_W * n, rows, w, D7CL_ACT_SIGMOID, W_SCALE);
  d7cl_linear (cl, &tm->k_proj, mix, MIX_K * n, rows, k, D7CL_ACT_NONE, 1.f, FALSE);
  d7cl_lora (cl, &tm->a_lora, mix, MIX_A * n, rows, lr, D7CL_ACT_SIGMOID, 1.f);
  d7cl_linear (cl, &tm->v_proj, mix, MIX_V * n, rows, v, D7CL_ACT_NONE, 1.f, FALSE);
  if (tm->first || !v_first) {
    if (v_first)
      copy (cl, v, v_first, n);
  } else {   /* value residual: v = lerp(v, v_first, sigmoid(LoRA_v(x_v))) */
    d7cl_lora (cl, &tm->v_lora, mix, MIX_V * n, rows, o, D7CL_ACT_SIGMOID, 1.f);
    d7cl_lerp (cl, n, v, v_first, o);
  }
  d7cl_lora (cl, &tm->g_lora, mix, MIX_G * n, rows, g, D7CL_ACT_NONE, 1.f);
  d7cl_key_update (cl, rows, H, N, k, lr, kk, tm->k_k, tm->k_a);   /* kk := a, lr := b */
  d7cl_wkv7 (cl, B, T, H, r, w, k, v, kk, lr, NULL, o);
  d7cl_head_out (cl, &tm->g_norm, rows, H, N, o, g, r, k, v, tm->r_k);
  d7cl_linear (cl, &tm->o_proj, o, 0, rows, resid, D7CL_ACT_NONE, 1.f, TRUE);

  cl_mem all[] = { mix, r, w, k, v, lr, g, kk, o };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    d7cl_release (cl, all[i]);
}

static void
channelmix_forward (D7Cl *cl, const D7ChannelMix *cm, cl_mem h, int B, int T, cl_mem resid)
{
  int D = cm->dim, rows = B * T;
  size_t n = (size_t) rows * D;
  cl_mem mix = d7cl_tmp (cl, n), k = d7cl_tmp (cl, 4 * n);
  d7cl_shift_mix (cl, h, rows, T, D, d7cl_weight (cl, cm->x_k, D), 1, mix);
  d7cl_linear (cl, &cm->key, mix, 0, rows, k, D7CL_ACT_RELU2, 1.f, FALSE);
  d7cl_linear (cl, &cm->value, k, 0, rows, resid, D7CL_ACT_NONE, 1.f, TRUE);
  d7cl_release (cl, mix);
  d7cl_release (cl, k);
}

/* CrossWKV state mode: o_t = S r_t for each head, as one batched GEMM over
 * (image, head) with the prompt's cached state */
static void
cross_state_read (D7Cl *cl, const D7CrossState *cs, cl_mem h, int B, int T, cl_mem S,
                  cl_mem resid)
{
  int D = cs->dim, H = cs->H, N = cs->N, rows = B * T;
  size_t n = (size_t) rows * D;
  cl_mem mix = d7cl_tmp (cl, 2 * n), r = d7cl_tmp (cl, n), g = d7cl_tmp (cl, n);
  cl_mem o = d7cl_tmp (cl, n);
  const float *mus[2] = { cs->x_r, cs->x_g };
  d7cl_shift_mix (cl, h, rows, T, D, d7cl_weight_cat (cl, &cs->x_r, mus, 2, D), 2, mix);
  d7cl_linear (cl, &cs->r_proj, mix, 0, rows, r, D7CL_ACT_NONE, 1.f, FALSE);
  d7cl_lora (cl, &cs->g_lora, mix, n, rows, g, D7CL_ACT_NONE, 1.f);
  d7cl_gemm_batched (cl, T, N, N, B * H, H, r, D, T * D, N, S, N, H * N * N, N * N,
                     o, D, T * D, N);
  d7cl_head_out (cl, &cs->g_norm, rows, H, N, o, g, NULL, NULL, NULL, NULL);
  d7cl_linear (cl, &cs->o_proj, o, 0, rows, resid, D7CL_ACT_NONE, 1.f, TRUE);
  d7cl_release (cl, mix); d7cl_release (cl, r); d7cl_release (cl, g); d7cl_release (cl, o);
}

static cl_mem
paper_q (D7Cl *cl, D7ClCond *cond, int T)
{
  cl_mem q = g_hash_table_lookup (cond->paper_q, GINT_TO_POINTER (T));
  if (q)
    return q;
  int Dq = cond->text_dim;
  float *host = g_new0 (float, (size_t) cond->B * T * Dq);
  for (int b = 0; b < cond->B; b++)
    memcpy (host + (size_t) b * T * Dq, cond->feats[b], sizeof (float) * MIN (cond->L[b], T) * Dq);
  q = d7cl_upload (cl, host, (size_t) cond->B * T * Dq);
  g_free (host);
  if (q)
    g_hash_table_insert (cond->paper_q, GINT_TO_POINTER (T), q);
  return q;
}

void
d7cl_block_forward (D7Cl *cl, const D7Block *blk, cl_mem x, int B, int T, cl_mem v_first,
                    D7ClCond *cond)
{
  int D = blk->attn.dim, rows = B * T;
  cl_mem h = d7cl_tmp (cl, (size_t) rows * D);
  d7cl_layer_norm (cl, &blk->ln1, x, h, rows, D);
  d7cl_timemix_forward (cl, &blk->attn, h, B, T, NULL, v_first, x);
  d7cl_layer_norm (cl, &blk->ln2, x, h, rows, D);
  if (blk->cross_mode == D7_CROSS_STATE)
    cross_state_read (cl, &blk->cross_state, h, B, T, cond->states[blk->index], x);
  else
    d7cl_timemix_forward (cl, &blk->cross_paper, h, B, T, paper_q (cl, cond, T), NULL, x);
  d7cl_layer_norm (cl, &blk->ln3, x, h, rows, D);
  channelmix_forward (cl, &blk->ffn, h, B, T, x);
  d7cl_release (cl, h);
}

void
d7cl_resblock_forward (D7Cl *cl, const D7ResBlock *rb, const D7Config *cfg, cl_mem x,
                       int B, int H, int W, cl_mem se, int se_rows, cl_mem out)
{
  int cin = rb->conv1.cin, cout = rb->conv1.cout, HW = H * W;
  int groups = cfg->unet.norm_groups;
  cl_mem h = d7cl_tmp (cl, (size_t) B * cin * HW), h2 = d7cl_tmp (cl, (size_t) B * cout * HW);
  cl_mem ss = d7cl_tmp (cl, 2 * (size_t) cout * se_rows);
  d7cl_group_norm (cl, &rb->norm1, x, h, B, cin, HW, groups, NULL, FALSE, TRUE);
  d7cl_conv (cl, &rb->conv1, h, cin * HW, B, H, W, FALSE, 1, h2, FALSE);
  d7cl_linear (cl, &rb->emb_proj, se, 0, se_rows, ss, D7CL_ACT_NONE, 1.f, FALSE);
  d7cl_group_norm (cl, &rb->norm2, h2, h2, B, cout, HW, groups, ss, se_rows > 1, TRUE);
  if (rb->skip.w)
    d7cl_conv (cl, &rb->skip, x, cin * HW, B, H, W, FALSE, 1, out, FALSE);
  else
    copy (cl, x, out, (size_t) B * cout * HW);
  d7cl_conv (cl, &rb->conv2, h2, cout * HW, B, H, W, FALSE, 1, out, TRUE);
  d7cl_release (cl, h); d7cl_release (cl, h2); d7cl_release (cl, ss);
}

/* ResBlock i of a stage, then its DIR-7 block over raster-order tokens */
static void
stage_block (D7Cl *cl, const D7Stage *st, const D7Config *cfg, int i, cl_mem x, int B,
             int H, int W, cl_mem se, cl_mem v_first, D7ClCond *cond, cl_mem out)
{
  d7cl_resblock_forward (cl, &st->res[i], cfg, x, B, H, W, se, cond->temb_add ? B : 1, out);
  if (st->dir7) {
    int C = st->cout, T = H * W;
    cl_mem tok = d7cl_tmp (cl, (size_t) B * T * C);
    d7cl_transpose (cl, B, C, T, out, tok);
    d7cl_block_forward (cl, &st->dir7[i], tok, B, T, v_first, cond);
    d7cl_transpose (cl, B, T, C, tok, out);
    d7cl_release (cl, tok);
  }
}

typedef struct {
  cl_mem mem;
  int c;
} Skip;

void
d7cl_unet_forward (D7Cl *cl, const Dir7Model *m, cl_mem x, int H, int W, cl_mem te,
                   size_t te_off, D7ClCond *cond, cl_mem eps)
{
  const D7Config *cfg = &m->config;
  const D7UNet *u = &m->unet;
  int L = cfg->unet.n_levels, C0 = cfg->unet.base_channels, td = cfg->unet.time_dim;
  int B = cond->B, maxc = C0;
  for (int i = 0; i < L; i++)
    maxc = MAX (maxc, C0 * cfg->unet.channel_mult[i]);
  size_t full = (size_t) H * W;

  /* the time embedding, then its SiLU that every ResBlock's projection reads: one
   * row for the batch, or with a text embedding one per prompt (its own row added) */
  cl_mem e1 = d7cl_tmp (cl, td), se;
  d7cl_linear (cl, &u->te0, te, te_off, 1, e1, D7CL_ACT_SILU, 1.f, FALSE);
  if (cond->temb_add) {
    cl_mem e1b = d7cl_tmp (cl, (size_t) B * td);
    se = d7cl_tmp (cl, (size_t) B * td);
    d7cl_copy_into (cl, B, td, e1, 0, e1b, 0, td);
    copy (cl, cond->temb_add, se, (size_t) B * td);
    d7cl_linear (cl, &u->te2, e1b, 0, B, se, D7CL_ACT_NONE, 1.f, TRUE);
    d7cl_activation (cl, (size_t) B * td, se, D7CL_ACT_SILU, 1.f);
    d7cl_release (cl, e1b);
  } else {
    se = d7cl_tmp (cl, td);
    d7cl_linear (cl, &u->te2, e1, 0, 1, se, D7CL_ACT_SILU, 1.f, FALSE);
  }
  d7cl_release (cl, e1);

  GArray *skips = g_array_new (FALSE, FALSE, sizeof (Skip));
  cl_mem h = d7cl_tmp (cl, (size_t) B * C0 * full);
  cl_mem v_first = d7cl_tmp (cl, (size_t) B * maxc * full);
  int c = C0, hh = H, ww = W;
  d7cl_conv (cl, &u->conv_in, x, 0, B, hh, ww, FALSE, 1, h, FALSE);
  /* every skip keeps its own buffer; h moves on to a new one */
#define PUSH() do { Skip s_ = { h, c }; g_array_append_val (skips, s_); } while (0)
  PUSH ();
  for (int l = 0; l < L; l++) {
    const D7Stage *st = &u->down[l];
    for (int i = 0; i < st->n; i++) {
      cl_mem out = d7cl_tmp (cl, (size_t) B * st->cout * hh * ww);
      stage_block (cl, st, cfg, i, h, B, hh, ww, se, v_first, cond, out);
      h = out;
      c = st->cout;
      PUSH ();
    }
    if (st->resample.w) {
      int nh = (hh + 1) / 2, nw = (ww + 1) / 2;
      cl_mem out = d7cl_tmp (cl, (size_t) B * c * nh * nw);
      d7cl_conv (cl, &st->resample, h, c * hh * ww, B, hh, ww, FALSE, 2, out, FALSE);
      h = out;
      hh = nh; ww = nw;
      PUSH ();
    }
  }
#undef PUSH
  gboolean h_is_skip = TRUE;    /* h is the last skip: not ours to release */
  for (int i = 0; i < 2; i++) {
    cl_mem out = d7cl_tmp (cl, (size_t) B * u->mid.cout * hh * ww);
    stage_block (cl, &u->mid, cfg, i, h, B, hh, ww, se, v_first, cond, out);
    if (!h_is_skip)
      d7cl_release (cl, h);
    h = out;
    h_is_skip = FALSE;
    c = u->mid.cout;
  }
  for (int l = L - 1; l >= 0; l--) {
    const D7Stage *st = &u->up[l];
    for (int i = 0; i < st->n; i++) {
      /* concatenate [h, skip] along channels */
      Skip s = g_array_index (skips, Skip, skips->len - 1);
      g_array_set_size (skips, skips->len - 1);
      size_t hw = (size_t) hh * ww, cc = (size_t) (c + s.c) * hw;
      cl_mem cat = d7cl_tmp (cl, B * cc);
      d7cl_copy_into (cl, B, c * hw, h, c * hw, cat, 0, cc);
      d7cl_copy_into (cl, B, s.c * hw, s.mem, s.c * hw, cat, c * hw, cc);
      d7cl_release (cl, s.mem);
      d7cl_release (cl, h);
      cl_mem out = d7cl_tmp (cl, (size_t) B * st->cout * hw);
      stage_block (cl, st, cfg, i, cat, B, hh, ww, se, v_first, cond, out);
      d7cl_release (cl, cat);
      h = out;
      c = st->cout;
    }
    if (st->resample.w) {
      cl_mem out = d7cl_tmp (cl, (size_t) B * c * 4 * hh * ww);
      d7cl_conv (cl, &st->resample, h, c * hh * ww, B, hh, ww, TRUE, 1, out, FALSE);
      d7cl_release (cl, h);
      h = out;
      hh *= 2; ww *= 2;
    }
  }
  cl_mem hn = d7cl_tmp (cl, (size_t) B * c * hh * ww);
  d7cl_group_norm (cl, &u->norm_out, h, hn, B, c, hh * ww, cfg->unet.norm_groups, NULL, FALSE, TRUE);
  d7cl_conv (cl, &u->conv_out, hn, c * hh * ww, B, hh, ww, FALSE, 1, eps, FALSE);
  d7cl_release (cl, hn);
  d7cl_release (cl, h);
  for (guint i = 0; i < skips->len; i++)     /* none left unless the config is odd */
    d7cl_release (cl, g_array_index (skips, Skip, i).mem);
  g_array_unref (skips);
  d7cl_release (cl, v_first);
  d7cl_release (cl, se);
}
