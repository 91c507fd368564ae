/* Shared by every kernel file (prepended when the program is built). HEAD_N,
 * the RWKV-7 head size, comes from the build options. */

/* GEMM and convolution tiles are GT x GT outputs (64, or 32 when a problem
 * is too small to fill the device with 64-tiles), GK deep, computed by 16 x 16
 * work-items with (GT / 16)^2 results each */
#define GK 16

/* weights as stored: fp32, or fp16 read through vload_half (core OpenCL,
 * no cl_khr_fp16 needed; the arithmetic stays fp32) */
#define LOAD_F32(p, i) ((p)[i])
#define LOAD_F16(p, i) vload_half ((i), (p))

/* acc[i][j] += As[kk][ty + 16 i] * Bs[kk][tx + 16 j] over one slab: the
 * inner product of the GEMM and convolution kernels, R x R per work-item */
#define SLAB_MAC(As, Bs, R, acc) \
  for (int kk = 0; kk < GK; kk++) { \
    float a_[R], b_[R]; \
    for (int i = 0; i < R; i++) { \
      a_[i] = As[kk][ty + 16 * i]; \
      b_[i] = Bs[kk][tx + 16 * i]; \
    } \
    for (int i = 0; i < R; i++) \
      for (int j = 0; j < R; j++) \
        acc[i][j] = fma (a_[i], b_[j], acc[i][j]); \
  }

#define ACT_NONE    0
#define ACT_TANH    1
#define ACT_SIGMOID 2
#define ACT_SILU    3
#define ACT_RELU2   4

inline float
activate (float x, int act)
{
  switch (act) {
  case ACT_TANH:    return tanh (x);
  case ACT_SIGMOID: return 1.f / (1.f + exp (-x));
  case ACT_SILU:    return x / (1.f + exp (-x));
  case ACT_RELU2:   { float z = fmax (x, 0.f); return z * z; }
  default:          return x;
  }
}

/* sum of one float per work-item over the work-group (size a power of 2,
 * at most 256); every work-item gets the result */
inline float
group_sum (float v, __local float *scratch)
{
  int lid = get_local_id (0), n = get_local_size (0);
  scratch[lid] = v;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int s = n / 2; s > 0; s >>= 1) {
    if (lid < s)
      scratch[lid] += scratch[lid + s];
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  float r = scratch[0];
  barrier (CLK_LOCAL_MEM_FENCE);
  return r;
}
