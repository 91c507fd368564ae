/* The prompts of one generation on the device: each DIR-7 block's prompt states
 * (state mode) and each prompt's text embedding, made once on the CPU and
 * uploaded; paper mode's r from the text is made on first use (cl_unet.c). */
#include "d7cl.h"
#include "cl_ops.h"
#include "cl_unet.h"

#include <string.h>

/* every DIR-7 block of the U-Net */
static GPtrArray *
all_blocks (const Dir7Model *m)
{
  const D7UNet *u = &m->unet;
  GPtrArray *out = g_ptr_array_new ();
  const D7Stage *stages[2 * D7_MAX_LEVELS + 1];
  int ns = 0;
  for (int l = 0; l < m->config.unet.n_levels; l++) {
    stages[ns++] = &u->down[l];
    stages[ns++] = &u->up[l];
  }
  stages[ns++] = &u->mid;
  for (int s = 0; s < ns; s++)
    if (stages[s]->dir7)
      for (int i = 0; i < stages[s]->n; i++)
        g_ptr_array_add (out, &stages[s]->dir7[i]);
  return out;
}

void
d7cl_cond_init (D7Cl *cl, const Dir7Model *m, D7TextCond *const *tc, int B, D7ClCond *dc)
{
  memset (dc, 0, sizeof *dc);
  dc->B = B;
  dc->text_dim = m->config.text.dim;
  dc->paper_q = g_hash_table_new (NULL, NULL);
  for (int b = 0; b < B; b++) {
    dc->feats[b] = tc[b]->feats;
    dc->L[b] = tc[b]->L;
  }
  dc->states = g_new0 (cl_mem, MAX (1, m->unet.n_blocks));
  if (m->unet.text_embed.w) {   /* constant over the steps: made once, here */
    int td = m->config.unet.time_dim;
    float *add = g_new0 (float, (size_t) B * td);
    for (int b = 0; b < B; b++)
      d7_text_embed_add (&m->unet, tc[b]->feats, tc[b]->L, add + (size_t) b * td);
    dc->temb_add = d7cl_upload (cl, add, (size_t) B * td);
    g_free (add);
  }
  if (m->config.unet.cross_mode != D7_CROSS_STATE)
    return;
  GPtrArray *blocks = all_blocks (m);
  for (guint i = 0; i < blocks->len; i++) {
    const D7Block *blk = blocks->pdata[i];
    const D7CrossState *cs = &blk->cross_state;
    size_t hnn = (size_t) cs->H * cs->N * cs->N;
    float *S = g_new (float, B * hnn);
    for (int b = 0; b < B; b++)
      d7_cross_state_write (cs, tc[b]->feats, tc[b]->L, S + b * hnn);
    dc->states[blk->index] = d7cl_upload (cl, S, B * hnn);
    g_free (S);
  }
  g_ptr_array_unref (blocks);
}

void
d7cl_cond_clear (D7Cl *cl, const Dir7Model *m, D7ClCond *dc)
{
  for (int i = 0; i < m->unet.n_blocks; i++)
    if (dc->states[i])
      d7cl_mem_free (cl, dc->states[i]);
  g_free (dc->states);
  if (dc->temb_add)
    d7cl_mem_free (cl, dc->temb_add);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, dc->paper_q);
  while (g_hash_table_iter_next (&it, &k, &v))
    d7cl_mem_free (cl, v);
  g_hash_table_destroy (dc->paper_q);
}
