/* The denoiser on an OpenCL device, B images at once (classifier-free
 * guidance runs the conditional and unconditional passes as one batch). */
#ifndef DIR7_CL_UNET_H
#define DIR7_CL_UNET_H

#include "cl_runtime.h"

/* The prompts as the device sees them: batch item b uses prompt b. */
typedef struct {
  int B;
  cl_mem *states;               /* [n_blocks], each [B][H][N][N] (state mode) */
  /* paper mode: r from the text, [B][T][text_dim] zero-padded or cut to T
   * tokens, made from the prompts' features on first use for each T */
  const float *feats[2];
  int L[2], text_dim;
  GHashTable *paper_q;          /* T -> cl_mem */
  cl_mem temb_add;              /* [B][time_dim]: each prompt's text embedding, or NULL */
} D7ClCond;

/* dc for prompts tc[0..B-1] (B <= 2); cleared with d7cl_cond_clear */
void d7cl_cond_init (D7Cl *cl, const Dir7Model *m, D7TextCond *const *tc, int B, D7ClCond *dc);
void d7cl_cond_clear (D7Cl *cl, const Dir7Model *m, D7ClCond *dc);

/* te: the sinusoidal timestep embedding [base_channels] on the device at
 * te_off; x: one image [C][H][W] shared by the batch; eps: [B][C][H][W] */
void d7cl_unet_forward (D7Cl *cl, const Dir7Model *m, cl_mem x, int H, int W,
                        cl_mem te, size_t te_off, D7ClCond *cond, cl_mem eps);

/* layers, for the tests: x and out are [B*T][D] token rows */
void d7cl_timemix_forward (D7Cl *cl, const D7TimeMix *tm, cl_mem h, int B, int T,
                           cl_mem r_text, cl_mem v_first, cl_mem resid);
void d7cl_block_forward (D7Cl *cl, const D7Block *blk, cl_mem x, int B, int T,
                         cl_mem v_first, D7ClCond *cond);
/* se: SiLU of the time embedding, se_rows rows of [time_dim] (1 for the batch, or B) */
void d7cl_resblock_forward (D7Cl *cl, const D7ResBlock *rb, const D7Config *cfg, cl_mem x,
                            int B, int H, int W, cl_mem se, int se_rows, cl_mem out);

#endif
