/* Launch wrappers for the kernels in kernels/, mirroring core/ops.h.
 * Buffers are cl_mem; "off" arguments are offsets in floats. All launches go
 * into the device's in-order queue; none waits. */
#ifndef DIR7_CL_OPS_H
#define DIR7_CL_OPS_H

#include "cl_runtime.h"

enum { D7CL_ACT_NONE, D7CL_ACT_TANH, D7CL_ACT_SIGMOID, D7CL_ACT_SILU, D7CL_ACT_RELU2 };

/* C[M,N] (ldc) = act(A[M,K] (lda) * B[N,K]^T (ldb) + bias) * alpha, or += */
void d7cl_gemm (D7Cl *cl, int M, int N, int K, cl_mem A, size_t aoff, int lda,
                cl_mem B, size_t boff, int ldb, cl_mem C, size_t coff, int ldc,
                cl_mem bias, int act, float alpha, gboolean accumulate);
/* the same over nz = n1 * zdiv problems, problem z = (z1, z2) offset by
 * z1 * s?1 + z2 * s?2 in each matrix */
void d7cl_gemm_batched (D7Cl *cl, int M, int N, int K, int nz, int zdiv,
                        cl_mem A, int lda, int sa1, int sa2,
                        cl_mem B, int ldb, int sb1, int sb2,
                        cl_mem C, int ldc, int sc1, int sc2);
/* y[rows, out] = act(x[rows, in] W^T + b) * alpha (or +=) */
void d7cl_linear (D7Cl *cl, const D7Linear *L, cl_mem x, size_t xoff, int rows,
                  cl_mem y, int act, float alpha, gboolean accumulate);
/* RWKV-7 LoRA: up(act_l(down(x))) + bias, then act/alpha */
void d7cl_lora (D7Cl *cl, const D7Lora *l, cl_mem x, size_t xoff, int rows, cl_mem y,
                int act, float alpha);
/* B images [cin,h,w] (read as 2x when upsample) -> y [B][cout,oh,ow] (or +=) */
void d7cl_conv (D7Cl *cl, const D7Conv *c, cl_mem x, int in_bstride, int B, int h, int w,
                gboolean upsample, int stride, cl_mem y, gboolean accumulate);
/* ss: NULL, or scale/shift rows [2C] after the norm: one for the batch, or one per
 * item when ss_per_item */
void d7cl_group_norm (D7Cl *cl, const D7Norm *nm, cl_mem x, cl_mem y, int B, int C, int HW,
                      int groups, cl_mem ss, gboolean ss_per_item, gboolean silu);
void d7cl_layer_norm (D7Cl *cl, const D7Norm *nm, cl_mem x, cl_mem y, int rows, int D);
void d7cl_shift_mix (D7Cl *cl, cl_mem x, int rows, int T, int D, cl_mem mu, int nm, cl_mem out);
void d7cl_key_update (D7Cl *cl, int rows, int H, int N, cl_mem k, cl_mem lr, cl_mem kk,
                      const float *k_k, const float *k_a);
void d7cl_head_out (D7Cl *cl, const D7Norm *nm, int rows, int H, int N, cl_mem o, cl_mem g,
                    cl_mem r, cl_mem k, cl_mem v, const float *r_k);
void d7cl_lerp (D7Cl *cl, size_t n, cl_mem v, cl_mem vf, cl_mem s);
void d7cl_activation (D7Cl *cl, size_t n, cl_mem x, int act, float alpha);
void d7cl_transpose (D7Cl *cl, int B, int rows, int cols, cl_mem x, cl_mem y);
void d7cl_copy_into (D7Cl *cl, int B, size_t n, cl_mem x, size_t x_bstride, cl_mem y,
                     size_t y_off, size_t y_bstride);
/* nseq sequences of T tokens [nseq][T][H*N]; S [nseq][H][N][N] or NULL.
 * d7cl_wkv7 picks the form; the chunked one returns FALSE (and does nothing)
 * for head sizes its kernels are not built for. */
void d7cl_wkv7 (D7Cl *cl, int nseq, int T, int H, cl_mem r, cl_mem w, cl_mem k, cl_mem v,
                cl_mem a, cl_mem b, cl_mem S, cl_mem o);
void d7cl_wkv7_recurrent (D7Cl *cl, int nseq, int T, int H, cl_mem r, cl_mem w, cl_mem k,
                          cl_mem v, cl_mem a, cl_mem b, cl_mem S, cl_mem o);
gboolean d7cl_wkv7_chunked (D7Cl *cl, int nseq, int T, int H, cl_mem r, cl_mem w, cl_mem k,
                            cl_mem v, cl_mem a, cl_mem b, cl_mem S, cl_mem o);
/* x0 from the U-Net's output (noise, or v when v_pred), guided when asked */
void d7cl_guide_x0 (D7Cl *cl, size_t n, cl_mem eps, gboolean guided, float g, gboolean v_pred,
                    cl_mem x, float c1, float c2, cl_mem x0);
void d7cl_sampler_step (D7Cl *cl, size_t n, int kind, cl_mem x, cl_mem x0, cl_mem prev,
                        cl_mem z, const float p[4]);
void d7cl_mask_blend (D7Cl *cl, size_t n, int HW, cl_mem x, cl_mem mask, cl_mem init,
                      cl_mem z, float ks, float kn);

#endif
