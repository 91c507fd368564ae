/* Element-wise and data-movement kernels of the denoiser. Token sequences
 * are [b][T][D] (rows b*T + t), feature maps [b][C][HW]. */

/* Token shift and its nm mixes: out[m][row][d] = x + (x[row-1] - x) mu[m][d],
 * with x[-1] = 0 at the start of each sequence of T tokens. */
__kernel void
shift_mix (__global const float *x, int rows, int T, int D,
           __global const float *mu, int nm, __global float *out)
{
  size_t i = get_global_id (0), n = (size_t) rows * D;
  if (i >= n)
    return;
  int row = (int) (i / D), d = (int) (i % D);
  float xv = x[i], prev = (row % T) ? x[i - D] : 0.f, delta = prev - xv;
  for (int m = 0; m < nm; m++)
    out[(size_t) m * n + i] = xv + delta * mu[m * D + d];
}

/* v += (v_first - v) * s: RWKV-7's value residual (s already a sigmoid) */
__kernel void
lerp_to (int n, __global float *v, __global const float *vf, __global const float *s)
{
  int i = get_global_id (0);
  if (i < n)
    v[i] += (vf[i] - v[i]) * s[i];
}

/* per image: y[b][c][r] = x[b][r][c] for x [b][rows][cols] */
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void transpose (__global const float *x, __global float *y, int rows, int cols)
{
  __local float tile[16][17];
  int b = get_global_id (2);
  x += (size_t) b * rows * cols;
  y += (size_t) b * rows * cols;
  int c = get_group_id (0) * 16 + get_local_id (0), r = get_group_id (1) * 16 + get_local_id (1);
  if (r < rows && c < cols)
    tile[get_local_id (1)][get_local_id (0)] = x[(size_t) r * cols + c];
  barrier (CLK_LOCAL_MEM_FENCE);
  int oc = get_group_id (1) * 16 + get_local_id (0), orow = get_group_id (0) * 16 + get_local_id (1);
  if (orow < cols && oc < rows)
    y[(size_t) orow * rows + oc] = tile[get_local_id (0)][get_local_id (1)];
}

/* x[i] = act(x[i]) * alpha */
__kernel void
activation (int n, __global float *x, int act, float alpha)
{
  int i = get_global_id (0);
  if (i < n)
    x[i] = activate (x[i], act) * alpha;
}

/* y[b][off + i] = x[b][i]: copies an image's channels into a wider one
 * (the U-Net's concatenation with its skips) */
__kernel void
copy_into (int n, __global const float *x, int x_bstride, __global float *y,
           int y_off, int y_bstride)
{
  int i = get_global_id (0), b = get_global_id (1);
  if (i < n)
    y[(size_t) b * y_bstride + y_off + i] = x[(size_t) b * x_bstride + i];
}

/* weights to fp16 storage, rounded to nearest even (once, at upload) */
__kernel void
to_half (int n, __global const float *x, __global half *y)
{
  int i = get_global_id (0);
  if (i < n)
    vstore_half_rte (x[i], i, y);
}
