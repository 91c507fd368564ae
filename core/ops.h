/* Dense float32 kernels of the CPU core. Row-major arrays, no allocation
 * visible to the caller; multithreaded with OpenMP where it pays. */
#ifndef DIR7_OPS_H
#define DIR7_OPS_H

#include <stddef.h>

/* C[M,N] = A[M,K] * op(B) (+ C when accumulate). op(B) = B[K,N] (ldb >= N)
 * or, when trans_b, B is stored [N,K] (ldb >= K) and used transposed. */
void d7_gemm (int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, int trans_b, float *C, int ldc, int accumulate);

/* For tests: which micro-kernel d7_gemm may pick at run time. 0: the
 * portable C one, 1: up to AVX2+FMA, 2 (the default): the best the CPU has.
 * Not thread-safe: call it while no d7_gemm is running. */
void d7_gemm_use_simd (int level);

/* y[T,out] = x[T,in] W^T + bias; W is PyTorch's [out,in]; bias may be NULL. */
void d7_linear (const float *x, int T, int in, const float *W,
                const float *bias, int out, float *y);

/* 2-D convolution of one image x[cin,h,w] with W[cout,cin,k,k], bias[cout]
 * (may be NULL), zero padding pad, stride 1 or 2. y is [cout,oh,ow] with
 * oh = (h + 2 pad - k) / stride + 1. */
void d7_conv2d (const float *x, int cin, int h, int w, const float *W,
                const float *bias, int cout, int k, int stride, int pad,
                float *y);

/* GroupNorm in place on x[C,HW]: groups over channels, eps, affine. */
void d7_group_norm (float *x, int C, int HW, int groups, float eps,
                    const float *gamma, const float *beta);

/* LayerNorm over the last dim: y[T,D] = LN(x[T,D]); y may equal x. */
void d7_layer_norm (const float *x, int T, int D, float eps,
                    const float *gamma, const float *beta, float *y);

/* Per-head norm on x[T,H*N] in place: each (t,h) slice of N normalised,
 * then gamma/beta[H*N] (RWKV-7's GroupNorm with H groups). */
void d7_head_norm (float *x, int T, int H, int N, float eps,
                   const float *gamma, const float *beta);

/* Per-head L2 normalisation in place: x / max(||x||, 1e-12), as F.normalize. */
void d7_head_l2norm (float *x, int T, int H, int N);

void d7_silu (float *x, size_t n);
void d7_sigmoid (float *x, size_t n);
void d7_tanh (float *x, size_t n);

/* Nearest-neighbour 2x upsampling: x[C,H,W] -> y[C,2H,2W]. */
void d7_upsample_nearest2x (const float *x, int C, int H, int W, float *y);

/* delta[t] = x[t-1] - x[t], with x[-1] = 0 (fla's token shift), x,delta [T,D]. */
void d7_token_shift_delta (const float *x, int T, int D, float *delta);

/* [C,T] <-> [T,C] transposes (feature map <-> token sequence). */
void d7_transpose (const float *x, int rows, int cols, float *y);

#endif
