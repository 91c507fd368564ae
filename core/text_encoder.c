/* The byte-level RWKV-7 text encoder and the per-prompt conditioning. */
#include "model.h"
#include "ops.h"

#include <string.h>

#define D7_EOT 256  /* <|endoftext|>, prepended to every prompt */

int *
d7_tokenize (const char *prompt, int max_len, int *L)
{
  size_t n = prompt ? strlen (prompt) : 0;
  if (n > (size_t) max_len)
    n = (size_t) max_len;
  int *ids = g_new (int, n + 1);
  ids[0] = D7_EOT;
  for (size_t i = 0; i < n; i++)
    ids[i + 1] = (unsigned char) prompt[i];
  *L = (int) n + 1;
  return ids;
}

float *
d7_text_encode (const Dir7Model *m, const char *prompt, int *Lout)
{
  const D7Config *c = &m->config;
  const D7TextEncoder *te = &m->text;
  int D = c->text.dim, L;
  int *ids = d7_tokenize (prompt, c->text.max_len, &L);
  size_t n = (size_t) L * D;
  float *x = g_new (float, n), *h = g_new (float, n), *y = g_new (float, n);
  float *v_first = g_new (float, n);
  for (int t = 0; t < L; t++)
    memcpy (x + (size_t) t * D, te->emb + (size_t) ids[t] * D, sizeof (float) * D);
  d7_layer_norm (x, L, D, te->ln_in.eps, te->ln_in.w, te->ln_in.b, x);
  for (int i = 0; i < c->text.layers; i++) {
    const D7TextBlock *b = &te->blocks[i];
    d7_layer_norm (x, L, D, b->ln1.eps, b->ln1.w, b->ln1.b, h);
    d7_timemix_forward (&b->attn, h, L, NULL, v_first, y);
    for (size_t j = 0; j < n; j++)
      x[j] += y[j];
    d7_layer_norm (x, L, D, b->ln2.eps, b->ln2.w, b->ln2.b, h);
    d7_channelmix_forward (&b->ffn, h, L, y);
    for (size_t j = 0; j < n; j++)
      x[j] += y[j];
  }
  d7_layer_norm (x, L, D, te->ln_out.eps, te->ln_out.w, te->ln_out.b, x);
  g_free (ids); g_free (h); g_free (y); g_free (v_first);
  *Lout = L;
  return x;
}

D7TextCond *
d7_text_cond_new (const Dir7Model *m, const char *prompt)
{
  D7TextCond *c = g_new0 (D7TextCond, 1);
  c->feats = d7_text_encode (m, prompt, &c->L);
  c->states = g_new0 (float *, MAX (1, m->unet.n_blocks));
  return c;
}

void
d7_text_cond_free (D7TextCond *c, const Dir7Model *m)
{
  if (!c)
    return;
  for (int i = 0; i < m->unet.n_blocks; i++)
    g_free (c->states[i]);
  g_free (c->states);
  g_free ((float *) c->feats);
  g_free (c);
}
