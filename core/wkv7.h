/* The WKV-7 recurrence on the CPU (contract section 1). Inputs are token-major
 * [T, H*N] as the projections produce them; w is the log-decay; the state
 * S[H][N][N] (rows value dim i, columns key dim j) is read and updated. */
#ifndef DIR7_WKV7_H
#define DIR7_WKV7_H

void d7_wkv7_recurrent (int T, int H, int N, const float *r, const float *w,
                        const float *k, const float *v, const float *a,
                        const float *b, float *S, float *o);

/* Chunked UT-transform form (chunk <= 64); equal to the recurrent one up to
 * fp32 rounding and O(T N^2 + T C N) instead of a long serial chain. */
void d7_wkv7_chunked (int T, int H, int N, int chunk, const float *r,
                      const float *w, const float *k, const float *v,
                      const float *a, const float *b, float *S, float *o);

/* The recurrent form for T <= 64 (as the paper does), chunked beyond. */
void d7_wkv7 (int T, int H, int N, const float *r, const float *w, const float *k,
              const float *v, const float *a, const float *b, float *S, float *o);

#endif
