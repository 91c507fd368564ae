/* The U-Net denoiser on one image, following training/dir7/unet.py. */
#include "model.h"
#include "ops.h"

#include <math.h>
#include <string.h>

void
d7_timestep_embedding (int t, int dim, float *out)
{
  /* float32 throughout, in the same order of operations as PyTorch's */
  int half = dim / 2;
  float c = (float) -log (10000.0);
  for (int i = 0; i < half; i++) {
    float f = expf (c * (float) i / (float) half);
    float arg = (float) t * f;
    out[i] = cosf (arg);
    out[half + i] = sinf (arg);
  }
}

void
d7_time_embed (const D7UNet *u, const D7Config *cfg, int t, float *emb)
{
  int C0 = cfg->unet.base_channels, td = cfg->unet.time_dim;
  float *te = g_new (float, C0), *h = g_new (float, td);
  d7_timestep_embedding (t, C0, te);
  d7_linear (te, 1, C0, u->te0.w, u->te0.b, td, h);
  d7_silu (h, td);
  d7_linear (h, 1, td, u->te2.w, u->te2.b, td, emb);
  g_free (te);
  g_free (h);
}

void
d7_text_embed_add (const D7UNet *u, const float *feats, int L, float *emb)
{
  const D7Linear *l = &u->text_embed;
  if (!l->w || L < 1)
    return;
  /* the RWKV state has read the whole prompt at its last token */
  float *add = g_new (float, l->out);
  d7_linear (feats + (size_t) (L - 1) * l->in, 1, l->in, l->w, l->b, l->out, add);
  for (int i = 0; i < l->out; i++)
    emb[i] += add[i];
  g_free (add);
}

static void
conv (const D7Conv *c, const float *x, int H, int W, int stride, float *y)
{
  d7_conv2d (x, c->cin, H, W, c->w, c->b, c->cout, c->k, stride, c->k / 2, y);
}

void
d7_resblock_forward (const D7ResBlock *rb, const D7Config *cfg, const float *x,
                     int H, int W, const float *emb, float *out)
{
  int cin = rb->conv1.cin, cout = rb->conv1.cout, HW = H * W;
  int groups = cfg->unet.norm_groups, td = cfg->unet.time_dim;
  float *h = g_new (float, (size_t) MAX (cin, cout) * HW);
  float *h2 = g_new (float, (size_t) cout * HW);
  float *se = g_new (float, td), *ss = g_new (float, 2 * cout);

  memcpy (h, x, sizeof (float) * cin * HW);
  d7_group_norm (h, cin, HW, groups, rb->norm1.eps, rb->norm1.w, rb->norm1.b);
  d7_silu (h, (size_t) cin * HW);
  conv (&rb->conv1, h, H, W, 1, h2);
  memcpy (se, emb, sizeof (float) * td);
  d7_silu (se, td);
  d7_linear (se, 1, td, rb->emb_proj.w, rb->emb_proj.b, 2 * cout, ss);
  d7_group_norm (h2, cout, HW, groups, rb->norm2.eps, rb->norm2.w, rb->norm2.b);
  for (int c = 0; c < cout; c++) {            /* scale/shift from the timestep */
    float sc = 1.f + ss[c], sh = ss[cout + c];
    float *p = h2 + (size_t) c * HW;
    for (int i = 0; i < HW; i++)
      p[i] = p[i] * sc + sh;
  }
  d7_silu (h2, (size_t) cout * HW);
  conv (&rb->conv2, h2, H, W, 1, out);
  if (rb->skip.w) {
    conv (&rb->skip, x, H, W, 1, h2);
    for (size_t i = 0; i < (size_t) cout * HW; i++)
      out[i] += h2[i];
  } else {
    for (size_t i = 0; i < (size_t) cout * HW; i++)
      out[i] += x[i];
  }
  g_free (h); g_free (h2); g_free (se); g_free (ss);
}

/* ResBlock i of a stage, then its DIR-7 block over raster-order tokens.
 * x [cin,H,W] -> out [cout,H,W]. */
static void
stage_block (const D7Stage *st, const D7Config *cfg, int i, const float *x, int H,
             int W, const float *emb, float *v_first, D7TextCond *cond, float *out)
{
  if (cond && cond->cancellable && g_cancellable_is_cancelled (cond->cancellable)) {
    /* the caller throws this step away: finish it quickly */
    memset (out, 0, sizeof (float) * st->cout * H * W);
    return;
  }
  d7_resblock_forward (&st->res[i], cfg, x, H, W, emb, out);
  if (st->dir7) {
    int C = st->cout, T = H * W;
    float *tok = g_new (float, (size_t) T * C);
    d7_transpose (out, C, T, tok);
    d7_block_forward (&st->dir7[i], tok, T, v_first, cond);
    d7_transpose (tok, T, C, out);
    g_free (tok);
  }
}

void
d7_unet_forward (const Dir7Model *m, const float *x, int H, int W, int t,
                 D7TextCond *cond, float *eps)
{
  const D7Config *cfg = &m->config;
  const D7UNet *u = &m->unet;
  int L = cfg->unet.n_levels, C0 = cfg->unet.base_channels;
  int maxc = C0;
  for (int i = 0; i < L; i++)
    maxc = MAX (maxc, C0 * cfg->unet.channel_mult[i]);
  size_t full = (size_t) H * W;
  float *emb = g_new (float, cfg->unet.time_dim);
  d7_time_embed (u, cfg, t, emb);
  d7_text_embed_add (u, cond->feats, cond->L, emb);

  /* skips keep their own buffers; h / tmp hold up to 2*maxc channels (concat) */
  GPtrArray *skips = g_ptr_array_new_with_free_func (g_free);
  GArray *skip_c = g_array_new (FALSE, FALSE, sizeof (int));
  float *h = g_new (float, 2 * maxc * full), *tmp = g_new (float, 2 * maxc * full);
  float *v_first = g_new (float, maxc * full);
  int c = C0, hh = H, ww = W;

  conv (&u->conv_in, x, hh, ww, 1, h);
#define PUSH() do { g_ptr_array_add (skips, g_memdup2 (h, sizeof (float) * c * hh * ww)); \
                    g_array_append_val (skip_c, c); } while (0)
  PUSH ();
  for (int l = 0; l < L; l++) {
    const D7Stage *st = &u->down[l];
    for (int i = 0; i < st->n; i++) {
      stage_block (st, cfg, i, h, hh, ww, emb, v_first, cond, tmp);
      float *sw = h; h = tmp; tmp = sw;
      c = st->cout;
      PUSH ();
    }
    if (st->resample.w) {
      conv (&st->resample, h, hh, ww, 2, tmp);
      float *sw = h; h = tmp; tmp = sw;
      hh = (hh + 1) / 2; ww = (ww + 1) / 2;
      PUSH ();
    }
  }
#undef PUSH
  for (int i = 0; i < 2; i++) {
    stage_block (&u->mid, cfg, i, h, hh, ww, emb, v_first, cond, tmp);
    float *sw = h; h = tmp; tmp = sw;
  }
  for (int l = L - 1; l >= 0; l--) {
    const D7Stage *st = &u->up[l];
    for (int i = 0; i < st->n; i++) {
      /* concatenate [h, skip] along channels */
      guint top = skips->len - 1;
      int sc = g_array_index (skip_c, int, top);
      memcpy (h + (size_t) c * hh * ww, g_ptr_array_index (skips, top), sizeof (float) * sc * hh * ww);
      g_ptr_array_remove_index (skips, top);
      g_array_remove_index (skip_c, top);
      stage_block (st, cfg, i, h, hh, ww, emb, v_first, cond, tmp);
      float *sw = h; h = tmp; tmp = sw;
      c = st->cout;
    }
    if (st->resample.w) {
      d7_upsample_nearest2x (h, c, hh, ww, tmp);
      hh *= 2; ww *= 2;
      conv (&st->resample, tmp, hh, ww, 1, h);
    }
  }
  d7_group_norm (h, c, hh * ww, cfg->unet.norm_groups, u->norm_out.eps, u->norm_out.w, u->norm_out.b);
  d7_silu (h, (size_t) c * hh * ww);
  conv (&u->conv_out, h, hh, ww, 1, eps);

  g_ptr_array_unref (skips);
  g_array_unref (skip_c);
  g_free (h); g_free (tmp); g_free (v_first); g_free (emb);
}
