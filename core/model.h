/* In-memory DIR-7 weights (float32) and the layer forward passes of the CPU
 * core. One image at a time: feature maps are [C,H,W], token sequences [T,D]. */
#ifndef DIR7_MODEL_H
#define DIR7_MODEL_H

#include "config.h"
#include "dir7.h"
#include "safetensors.h"

typedef struct { const float *w, *b; float eps; } D7Norm;      /* gamma, beta */
typedef struct { const float *w, *b; int cin, cout, k; } D7Conv; /* w NULL = none */
typedef struct { const float *w, *b; int in, out; } D7Linear;
typedef enum { D7_ACT_NONE, D7_ACT_TANH, D7_ACT_SIGMOID } D7Act;
typedef struct { const float *down, *up, *bias; int din, rank, dout; D7Act act; } D7Lora;

/* RWKV-7 time-mix; with r_from_text it is CrossWKV's paper mode. */
typedef struct {
  int dim, H, N, r_in;
  gboolean first, r_from_text;
  const float *x_r, *x_w, *x_k, *x_v, *x_a, *x_g, *k_k, *k_a, *r_k;
  D7Linear r_proj, k_proj, v_proj, o_proj;
  D7Lora w_lora, a_lora, v_lora, g_lora;
  D7Norm g_norm;
} D7TimeMix;

typedef struct { int dim; const float *x_k; D7Linear key, value; } D7ChannelMix;

/* CrossWKV state mode: the prompt writes a state, the image reads it. */
typedef struct {
  int dim, text_dim, H, N;
  const float *x_w, *x_k, *x_v, *x_a, *x_r, *x_g, *k_k, *k_a;
  D7Linear k_proj, v_proj, r_proj, o_proj;
  D7Lora w_lora, a_lora, g_lora;
  D7Norm g_norm;
} D7CrossState;

typedef struct {
  int index;                    /* which state-mode cache slot it uses */
  D7Norm ln1, ln2, ln3;
  D7TimeMix attn;
  D7CrossMode cross_mode;
  D7TimeMix cross_paper;
  D7CrossState cross_state;
  D7ChannelMix ffn;
} D7Block;

typedef struct {
  D7Norm norm1, norm2;
  D7Conv conv1, conv2, skip;
  D7Linear emb_proj;
} D7ResBlock;

typedef struct {
  int n, cout;
  D7ResBlock *res;
  D7Block *dir7;                /* NULL when the stage has no DIR-7 blocks */
  D7Conv resample;              /* down (stride 2) or up (after 2x); w NULL = none */
} D7Stage;

typedef struct {
  D7Norm ln1, ln2;
  D7TimeMix attn;
  D7ChannelMix ffn;
} D7TextBlock;

typedef struct {
  const float *emb;
  D7Norm ln_in, ln_out;
  D7TextBlock *blocks;
} D7TextEncoder;

typedef struct {
  D7Linear te0, te2;
  D7Linear text_embed;          /* .w NULL unless config.unet.text_embed */
  D7Conv conv_in, conv_out;
  D7Norm norm_out;
  D7Stage down[D7_MAX_LEVELS], mid, up[D7_MAX_LEVELS];
  int n_blocks;                 /* DIR-7 blocks in all */
} D7UNet;

struct Dir7Model {
  D7Config config;
  D7Safetensors *file;
  GPtrArray *buffers;           /* every float32 weight, freed with the model */
  size_t n_params;
  D7TextEncoder text;
  D7UNet unet;
  GMutex cl_lock;               /* guards cl: one generation at a time on it */
  gpointer cl;                  /* the OpenCL backend's device state, or NULL */
};

/* The prompt as the denoiser sees it: features of its L real tokens and, in
 * state mode, each DIR-7 block's prompt state (filled on first use). */
typedef struct {
  const float *feats;           /* [L, text_dim] */
  int L;
  float **states;               /* [n_blocks], each [H,N,N] or NULL */
  GCancellable *cancellable;    /* NULL, or: once cancelled, the U-Net skips
                                 * the rest of its blocks (output garbage) */
} D7TextCond;

/* The tensors a config implies, in load order: g_ptr_array_unref() frees. */
typedef struct { char *name; int ndim; int64_t shape[4]; } D7TensorSpec;
GPtrArray *d7_model_tensor_specs (const D7Config *cfg);

/* The most memory a model and a generation may take: $DIR7_MEMORY_LIMIT_MB
 * if set, else the machine's physical memory. Checked before allocating, so
 * an absurd model or size is an error, not an out-of-memory abort. */
guint64 d7_memory_limit (void);

/* layers */
void d7_lora_forward (const D7Lora *l, const float *x, int T, float *y);
void d7_timemix_forward (const D7TimeMix *tm, const float *x, int T,
                         const float *r_text, float *v_first, float *out);
void d7_channelmix_forward (const D7ChannelMix *cm, const float *x, int T, float *out);
void d7_cross_state_write (const D7CrossState *cs, const float *text, int L, float *S);
void d7_cross_state_read (const D7CrossState *cs, const float *x, int T,
                          const float *S, float *out);
void d7_cross_forward (const D7Block *blk, const float *x, int T,
                       D7TextCond *cond, float *out);
void d7_block_forward (const D7Block *blk, float *x, int T, float *v_first,
                       D7TextCond *cond);
void d7_resblock_forward (const D7ResBlock *rb, const D7Config *cfg, const float *x,
                          int H, int W, const float *emb, float *out);
void d7_timestep_embedding (int t, int dim, float *out);
void d7_time_embed (const D7UNet *u, const D7Config *cfg, int t, float *emb);
/* emb += text_embed(the last of the prompt's L token features): a no-op for a
 * model without unet.text_embed */
void d7_text_embed_add (const D7UNet *u, const float *feats, int L, float *emb);
void d7_unet_forward (const Dir7Model *m, const float *x, int H, int W, int t,
                      D7TextCond *cond, float *eps);
/* both passes of a guided step at once, each on half the threads (unet_pair.c) */
gboolean d7_unet_pair_useful (void);
void d7_unet_forward_pair (const Dir7Model *m, const float *x, int H, int W, int t,
                           D7TextCond *cond_a, float *eps_a, D7TextCond *cond_b, float *eps_b);
/* Features [L, dim] of the prompt's tokens (L = 1 + its bytes, cut to max_len). */
float *d7_text_encode (const Dir7Model *m, const char *prompt, int *L);
int *d7_tokenize (const char *prompt, int max_len, int *L);

/* interleaved premultiplied RGBA [H*W][4] in [0,1] <-> planar [C][H*W] in [-1,1] */
void d7_image_to_model (const float *img, int C, int HW, float *x);
void d7_image_from_model (const float *x, int C, int HW, float *img);

D7TextCond *d7_text_cond_new (const Dir7Model *m, const char *prompt);
void d7_text_cond_free (D7TextCond *c, const Dir7Model *m);

#endif
