/* Builds a Dir7Model from a validated safetensors file: every tensor the
 * config implies must be there with exactly its shape, and nothing else. */
#include "dir7.h"
#include "model.h"
#ifdef DIR7_HAVE_OPENCL
#include "d7cl.h"
#endif

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* The loaders below walk the config's tensors three ways: list their names
 * and shapes (no file), check that the file has each with its shape and add
 * up the memory they will take (no allocation), and the real load. */
typedef enum { PASS_SPECS, PASS_CHECK, PASS_LOAD } LoadPass;

typedef struct {
  Dir7Model *m;
  GHashTable *used;
  GError **error;
  gboolean ok;
  LoadPass pass;
  guint64 bytes;                /* PASS_CHECK: float32 bytes of the tensors */
  GPtrArray *specs;             /* PASS_SPECS: D7TensorSpec* */
} Loader;

static const float *
get (Loader *ld, int ndim, const int64_t *shape, const char *fmt, ...)
{
  if (!ld->ok)
    return NULL;
  va_list ap;
  va_start (ap, fmt);
  char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (ld->pass == PASS_SPECS) {
    D7TensorSpec *s = g_new0 (D7TensorSpec, 1);
    s->name = name;
    s->ndim = ndim;
    memcpy (s->shape, shape, sizeof (int64_t) * ndim);
    g_ptr_array_add (ld->specs, s);
    return NULL;
  }
  if (ld->pass == PASS_CHECK) {
    const D7TensorInfo *ti = d7_safetensors_check (ld->m->file, name, ndim, shape, ld->error);
    if (!ti) {
      ld->ok = FALSE;
      g_free (name);
      return NULL;
    }
    ld->bytes += (guint64) ti->numel * sizeof (float);
    g_hash_table_add (ld->used, name);
    const D7TensorInfo *scale = d7_safetensors_scale_of (ld->m->file, ti);
    if (scale)                  /* an I8 weight's scale belongs to it */
      g_hash_table_add (ld->used, g_strdup (scale->name));
    return NULL;
  }
  float *data = d7_safetensors_get_f32 (ld->m->file, name, ndim, shape, ld->error);
  if (!data) {
    ld->ok = FALSE;
    g_free (name);
    return NULL;
  }
  g_ptr_array_add (ld->m->buffers, data);
  g_hash_table_add (ld->used, name);
  size_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= (size_t) shape[i];
  ld->m->n_params += n;
  return data;
}

#define V1(a) ((int64_t[]){ (a) })
#define V2(a, b) ((int64_t[]){ (a), (b) })
#define V4(a, b, c, d) ((int64_t[]){ (a), (b), (c), (d) })

static D7Norm
load_norm_eps (Loader *ld, int dim, double eps, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  return (D7Norm){ get (ld, 1, V1 (dim), "%s.weight", p), get (ld, 1, V1 (dim), "%s.bias", p),
                   (float) eps };
}

/* LayerNorm: the config's layer_norm_eps */
static D7Norm
load_norm (Loader *ld, int dim, const char *pre, const char *name)
{
  return load_norm_eps (ld, dim, ld->m->config.layer_norm_eps, pre, name);
}

/* GroupNorm of the convolutional path: unet.norm_eps */
static D7Norm
load_gnorm (Loader *ld, int dim, const char *pre, const char *name)
{
  return load_norm_eps (ld, dim, ld->m->config.unet.norm_eps, pre, name);
}

static D7Linear
load_linear (Loader *ld, int in, int out, gboolean bias, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  D7Linear l = { get (ld, 2, V2 (out, in), "%s.weight", p), NULL, in, out };
  if (bias)
    l.b = get (ld, 1, V1 (out), "%s.bias", p);
  return l;
}

static D7Conv
load_conv (Loader *ld, int cin, int cout, int k, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  return (D7Conv){ get (ld, 4, V4 (cout, cin, k, k), "%s.weight", p),
                   get (ld, 1, V1 (cout), "%s.bias", p), cin, cout, k };
}

static D7Lora
load_lora (Loader *ld, int din, int dout, int rank, D7Act act, gboolean bias, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  D7Lora l = { get (ld, 2, V2 (rank, din), "%s.lora.0.weight", p),
               get (ld, 2, V2 (dout, rank), "%s.lora.2.weight", p), NULL, din, rank, dout, act };
  if (bias)
    l.bias = get (ld, 1, V1 (dout), "%s.lora.2.bias", p);
  return l;
}

static const float *
vec (Loader *ld, int dim, const char *p, const char *name)
{
  return get (ld, 1, V1 (dim), "%s.%s", p, name);
}

/* r_in > 0: CrossWKV paper mode, r comes from text of that width. */
static void
load_timemix (Loader *ld, D7TimeMix *tm, int dim, gboolean first, int r_in,
              const D7LoraRanks *r, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  int N = ld->m->config.head_size;
  tm->dim = dim; tm->H = dim / N; tm->N = N;
  tm->first = first;
  tm->r_from_text = r_in > 0;
  tm->r_in = r_in > 0 ? r_in : dim;
  if (!tm->r_from_text)
    tm->x_r = vec (ld, dim, p, "x_r");
  tm->x_w = vec (ld, dim, p, "x_w");
  tm->x_k = vec (ld, dim, p, "x_k");
  tm->x_v = vec (ld, dim, p, "x_v");
  tm->x_a = vec (ld, dim, p, "x_a");
  tm->x_g = vec (ld, dim, p, "x_g");
  tm->k_k = vec (ld, dim, p, "k_k");
  tm->k_a = vec (ld, dim, p, "k_a");
  tm->r_k = get (ld, 2, V2 (tm->H, N), "%s.r_k", p);
  tm->r_proj = load_linear (ld, tm->r_in, dim, FALSE, p, "r_proj");
  tm->k_proj = load_linear (ld, dim, dim, FALSE, p, "k_proj");
  tm->v_proj = load_linear (ld, dim, dim, FALSE, p, "v_proj");
  tm->o_proj = load_linear (ld, dim, dim, FALSE, p, "o_proj");
  tm->w_lora = load_lora (ld, dim, dim, r->w, D7_ACT_TANH, TRUE, p, "w_lora");
  tm->a_lora = load_lora (ld, dim, dim, r->a, D7_ACT_NONE, TRUE, p, "a_lora");
  if (!first) {
    tm->v_lora = load_lora (ld, dim, dim, r->v, D7_ACT_NONE, TRUE, p, "v_lora");
  }
  tm->g_lora = load_lora (ld, dim, dim, r->g, D7_ACT_SIGMOID, FALSE, p, "g_lora");
  tm->g_norm = load_norm_eps (ld, dim, N * 1e-5, p, "g_norm");
}

static void
load_channelmix (Loader *ld, D7ChannelMix *cm, int dim, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  cm->dim = dim;
  cm->x_k = vec (ld, dim, p, "x_k");
  cm->key = load_linear (ld, dim, 4 * dim, FALSE, p, "key");
  cm->value = load_linear (ld, 4 * dim, dim, FALSE, p, "value");
}

static void
load_cross_state (Loader *ld, D7CrossState *cs, int dim, int tdim, const D7LoraRanks *r, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  cs->dim = dim; cs->text_dim = tdim;
  cs->N = ld->m->config.head_size; cs->H = dim / cs->N;
  cs->x_w = vec (ld, tdim, p, "x_w");
  cs->x_k = vec (ld, tdim, p, "x_k");
  cs->x_v = vec (ld, tdim, p, "x_v");
  cs->x_a = vec (ld, tdim, p, "x_a");
  cs->x_r = vec (ld, dim, p, "x_r");
  cs->x_g = vec (ld, dim, p, "x_g");
  cs->k_k = vec (ld, dim, p, "k_k");
  cs->k_a = vec (ld, dim, p, "k_a");
  cs->k_proj = load_linear (ld, tdim, dim, FALSE, p, "k_proj");
  cs->v_proj = load_linear (ld, tdim, dim, FALSE, p, "v_proj");
  cs->r_proj = load_linear (ld, dim, dim, FALSE, p, "r_proj");
  cs->o_proj = load_linear (ld, dim, dim, FALSE, p, "o_proj");
  cs->w_lora = load_lora (ld, tdim, dim, r->w, D7_ACT_TANH, TRUE, p, "w_lora");
  cs->a_lora = load_lora (ld, tdim, dim, r->a, D7_ACT_NONE, TRUE, p, "a_lora");
  cs->g_lora = load_lora (ld, dim, dim, r->g, D7_ACT_SIGMOID, FALSE, p, "g_lora");
  cs->g_norm = load_norm_eps (ld, dim, cs->N * 1e-5, p, "g_norm");
}

static void
load_block (Loader *ld, D7Block *b, int dim, gboolean first, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  const D7Config *c = &ld->m->config;
  b->index = ld->m->unet.n_blocks++;
  b->cross_mode = c->unet.cross_mode;
  b->ln1 = load_norm (ld, dim, p, "ln1");
  b->ln2 = load_norm (ld, dim, p, "ln2");
  b->ln3 = load_norm (ld, dim, p, "ln3");
  load_timemix (ld, &b->attn, dim, first, 0, &c->unet.lora, p, "attn");
  if (b->cross_mode == D7_CROSS_PAPER) {
    load_timemix (ld, &b->cross_paper, dim, TRUE, c->text.dim, &c->unet.lora,
                  p, "cross.tm");
  } else {
    load_cross_state (ld, &b->cross_state, dim, c->text.dim, &c->unet.lora,
                      p, "cross");
  }
  load_channelmix (ld, &b->ffn, dim, p, "ffn");
}

static void
load_resblock (Loader *ld, D7ResBlock *rb, int cin, int cout, const char *pre, const char *name)
{
  g_autofree char *p = g_strdup_printf ("%s.%s", pre, name);
  const D7Config *c = &ld->m->config;
  rb->norm1 = load_gnorm (ld, cin, p, "norm1");
  rb->conv1 = load_conv (ld, cin, cout, 3, p, "conv1");
  rb->emb_proj = load_linear (ld, c->unet.time_dim, 2 * cout, TRUE, p, "emb_proj");
  rb->norm2 = load_gnorm (ld, cout, p, "norm2");
  rb->conv2 = load_conv (ld, cout, cout, 3, p, "conv2");
  if (cin != cout) {
    rb->skip = load_conv (ld, cin, cout, 1, p, "skip");
  }
}

static void
load_stage (Loader *ld, D7Stage *st, const int *cins, int n, int cout, gboolean dir7, const char *p)
{
  st->n = n;
  st->cout = cout;
  st->res = g_new0 (D7ResBlock, n);
  g_ptr_array_add (ld->m->buffers, st->res);
  if (dir7) {
    st->dir7 = g_new0 (D7Block, n);
    g_ptr_array_add (ld->m->buffers, st->dir7);
  }
  for (int i = 0; i < n; i++) {
    char idx[32];
    g_snprintf (idx, sizeof idx, "res.%d", i);
    load_resblock (ld, &st->res[i], cins[i], cout, p, idx);
    if (dir7) {
      g_snprintf (idx, sizeof idx, "dir7.%d", i);
      load_block (ld, &st->dir7[i], cout, i == 0, p, idx);
    }
  }
}

static void
load_text (Loader *ld)
{
  const D7Config *c = &ld->m->config;
  int D = c->text.dim;
  D7TextEncoder *te = &ld->m->text;
  te->emb = get (ld, 2, V2 (c->text.vocab_size, D), "text.emb.weight");
  te->ln_in = load_norm (ld, D, "text", "ln_in");
  te->ln_out = load_norm (ld, D, "text", "ln_out");
  te->blocks = g_new0 (D7TextBlock, MAX (1, c->text.layers));
  g_ptr_array_add (ld->m->buffers, te->blocks);
  for (int i = 0; i < c->text.layers; i++) {
    D7TextBlock *b = &te->blocks[i];
    g_autofree char *p = g_strdup_printf ("text.blocks.%d", i);
    b->ln1 = load_norm (ld, D, p, "ln1");
    b->ln2 = load_norm (ld, D, p, "ln2");
    load_timemix (ld, &b->attn, D, i == 0, 0, &c->text.lora, p, "attn");
    load_channelmix (ld, &b->ffn, D, p, "ffn");
  }
}

/* Mirrors UNet.__init__ in training/dir7/unet.py, channel bookkeeping included. */
static void
load_unet (Loader *ld)
{
  const D7Config *c = &ld->m->config;
  D7UNet *u = &ld->m->unet;
  int L = c->unet.n_levels, nres = c->unet.num_res_blocks, C0 = c->unet.base_channels;
  int skips[1 + D7_MAX_LEVELS * 17], ns = 0, ch = C0;
  int cins[17];
  u->te0 = load_linear (ld, C0, c->unet.time_dim, TRUE, "unet", "time_embed.0");
  u->te2 = load_linear (ld, c->unet.time_dim, c->unet.time_dim, TRUE, "unet", "time_embed.2");
  if (c->unet.text_embed)
    u->text_embed = load_linear (ld, c->text.dim, c->unet.time_dim, TRUE, "unet", "text_embed");
  u->conv_in = load_conv (ld, c->unet.image_channels, C0, 3, "unet", "conv_in");
  skips[ns++] = C0;
  for (int i = 0; i < L; i++) {
    int cc = C0 * c->unet.channel_mult[i];
    for (int j = 0; j < nres; j++)
      cins[j] = j == 0 ? ch : cc;
    char *p = g_strdup_printf ("unet.down.%d", i);
    load_stage (ld, &u->down[i], cins, nres, cc, c->unet.dir7_levels[i], p);
    ch = cc;
    for (int j = 0; j < nres; j++)
      skips[ns++] = cc;
    if (i < L - 1) {
      u->down[i].resample = load_conv (ld, cc, cc, 3, p, "down.op");
      skips[ns++] = cc;
    }
    g_free (p);
  }
  cins[0] = cins[1] = ch;
  load_stage (ld, &u->mid, cins, 2, ch, c->unet.mid_dir7, "unet.mid");
  for (int i = L - 1; i >= 0; i--) {
    int cc = C0 * c->unet.channel_mult[i];
    for (int j = 0; j < nres + 1; j++) {
      cins[j] = ch + skips[--ns];
      ch = cc;
    }
    char *p = g_strdup_printf ("unet.up.%d", i);
    load_stage (ld, &u->up[i], cins, nres + 1, cc, c->unet.dir7_levels[i], p);
    if (i > 0) {
      u->up[i].resample = load_conv (ld, cc, cc, 3, p, "up.conv");
    }
    g_free (p);
  }
  u->norm_out = load_gnorm (ld, ch, "unet", "norm_out");
  u->conv_out = load_conv (ld, ch, c->unet.image_channels, 3, "unet", "conv_out");
}

Dir7Model *
dir7_model_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  D7Safetensors *st = d7_safetensors_open (path, error);
  if (!st)
    return NULL;
  const char *fmt = d7_safetensors_metadata (st, "dir7.format");
  const char *json = d7_safetensors_metadata (st, "dir7.config");
  if (!fmt || strcmp (fmt, "1") != 0 || !json) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "%s: not a DIR-7 model file (needs __metadata__ dir7.format = \"1\" and dir7.config)",
                 path);
    d7_safetensors_close (st);
    return NULL;
  }
  Dir7Model *m = g_new0 (Dir7Model, 1);
  g_mutex_init (&m->cl_lock);
  m->file = st;
  m->buffers = g_ptr_array_new_with_free_func (g_free);
  if (!d7_config_parse (json, &m->config, error)) {
    dir7_model_free (m);
    return NULL;
  }
  /* every tensor there with its shape, nothing else, and the total within
   * the memory limit: all checked before the first weight is allocated */
  Loader ld = { m, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), error, TRUE,
                PASS_CHECK, 0, NULL };
  load_text (&ld);
  load_unet (&ld);
  for (size_t i = 0; ld.ok && i < d7_safetensors_count (st); i++) {
    const D7TensorInfo *ti = d7_safetensors_nth (st, i);
    if (!g_hash_table_contains (ld.used, ti->name)) {
      g_autofree char *who = g_utf8_make_valid (ti->name, MIN (strlen (ti->name), 200));
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                   "tensor '%s' is not part of the model its dir7.config describes", who);
      ld.ok = FALSE;
    }
  }
  guint64 limit = d7_memory_limit ();
  if (ld.ok && ld.bytes > limit) {
    g_autofree char *need_s = g_format_size_full (ld.bytes, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *limit_s = g_format_size_full (limit, G_FORMAT_SIZE_IEC_UNITS);
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY,
                 "%s: the model's weights need %s of memory, more than the limit of %s",
                 path, need_s, limit_s);
    ld.ok = FALSE;
  }
  if (ld.ok) {
    g_ptr_array_set_size (m->buffers, 0);
    memset (&m->text, 0, sizeof m->text);
    memset (&m->unet, 0, sizeof m->unet);
    ld.pass = PASS_LOAD;
    load_text (&ld);
    load_unet (&ld);
  }
  g_hash_table_unref (ld.used);
  if (!ld.ok) {
    dir7_model_free (m);
    return NULL;
  }
  return m;
}

static void
spec_free (gpointer p)
{
  D7TensorSpec *s = p;
  g_free (s->name);
  g_free (s);
}

GPtrArray *
d7_model_tensor_specs (const D7Config *cfg)
{
  Dir7Model m = { .config = *cfg, .buffers = g_ptr_array_new_with_free_func (g_free) };
  Loader ld = { &m, NULL, NULL, TRUE, PASS_SPECS, 0, g_ptr_array_new_with_free_func (spec_free) };
  load_text (&ld);
  load_unet (&ld);
  g_ptr_array_unref (m.buffers);
  return ld.specs;
}

guint64
d7_memory_limit (void)
{
  const char *env = g_getenv ("DIR7_MEMORY_LIMIT_MB");
  guint64 mb;
  if (env && g_ascii_string_to_unsigned (env, 10, 1, G_MAXUINT64 >> 20, &mb, NULL))
    return mb << 20;
  long pages = sysconf (_SC_PHYS_PAGES), size = sysconf (_SC_PAGESIZE);
  if (pages > 0 && size > 0)
    return (guint64) pages * (guint64) size;
  return (guint64) 16 << 30;
}

void
dir7_model_free (Dir7Model *m)
{
  if (!m)
    return;
#ifdef DIR7_HAVE_OPENCL
  d7cl_model_release (m);
#endif
  g_mutex_clear (&m->cl_lock);
  if (m->buffers)
    g_ptr_array_unref (m->buffers);
  if (m->file)
    d7_safetensors_close (m->file);
  g_free (m);
}

int
dir7_model_native_size (const Dir7Model *m)
{
  return m->config.image_size;
}

int
dir7_model_size_step (const Dir7Model *m)
{
  return 1 << (m->config.unet.n_levels - 1);
}

char *
dir7_model_describe (const Dir7Model *m)
{
  const D7Config *c = &m->config;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "DIR-7 model, format 1\n");
  g_string_append_printf (s, "file size:        %zu bytes\n", d7_safetensors_file_size (m->file));
  g_string_append_printf (s, "parameters:       %zu\n", m->n_params);
  g_string_append_printf (s, "native size:      %d x %d, %d channels (%s)\n", c->image_size, c->image_size,
                          c->unet.image_channels, c->unet.image_channels == 4 ? "premultiplied RGBA" : "RGB");
  g_string_append_printf (s, "head size:        %d\n", c->head_size);
  g_string_append_printf (s, "text encoder:     %d RWKV-7 layers, width %d, %d bytes max, vocab %d\n",
                          c->text.layers, c->text.dim, c->text.max_len, c->text.vocab_size);
  g_string_append_printf (s, "U-Net:            base %d, channel_mult [", c->unet.base_channels);
  for (int i = 0; i < c->unet.n_levels; i++)
    g_string_append_printf (s, "%s%d%s", i ? ", " : "", c->unet.channel_mult[i],
                            c->unet.dir7_levels[i] ? "*" : "");
  g_string_append_printf (s, "] (* = DIR-7 blocks), %d res blocks/level, mid DIR-7 %s\n",
                          c->unet.num_res_blocks, c->unet.mid_dir7 ? "yes" : "no");
  g_string_append_printf (s, "DIR-7 blocks:     %d, CrossWKV %s mode\n", m->unet.n_blocks,
                          c->unet.cross_mode == D7_CROSS_STATE ? "state" : "paper");
  g_string_append_printf (s, "text embedding:   %s\n", c->unet.text_embed
                          ? "yes (the prompt's last token joins the time embedding)" : "no");
  g_string_append_printf (s, "diffusion:        %d steps, linear beta %g .. %g, %s-prediction\n",
                          c->diffusion.timesteps, c->diffusion.beta_start, c->diffusion.beta_end,
                          c->diffusion.prediction == D7_PREDICT_V ? "v" : "epsilon");
  return g_string_free (s, FALSE);
}
