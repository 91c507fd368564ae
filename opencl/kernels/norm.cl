/* Normalisations. Two passes (mean, then variance about it) like the CPU
 * core, in float with work-group tree sums. */

/* GroupNorm of x[b][C][HW] -> y (may equal x), one work-group per (b, group);
 * then, when has_ss, the timestep's scale/shift h * (1 + ss[c]) + ss[C + c],
 * and SiLU when silu. */
__kernel void
group_norm (__global const float *x, __global float *y, int C, int HW, int groups,
            float eps, __global const float *gamma, __global const float *beta,
            __global const float *ss, int has_ss, int ss_bstride, int silu)
{
  __local float scratch[256];
  int g = get_group_id (0) % groups, b = get_group_id (0) / groups;
  int cpg = C / groups, n = cpg * HW, lid = get_local_id (0), ls = get_local_size (0);
  size_t base = ((size_t) b * C + (size_t) g * cpg) * HW;
  float s = 0.f;
  for (int i = lid; i < n; i += ls)
    s += x[base + i];
  float mean = group_sum (s, scratch) / n;
  float q = 0.f;
  for (int i = lid; i < n; i += ls) {
    float d = x[base + i] - mean;
    q += d * d;
  }
  float rstd = rsqrt (group_sum (q, scratch) / n + eps);
  __global const float *ssb = ss + (size_t) b * ss_bstride;   /* 0: one row for the batch */
  for (int i = lid; i < n; i += ls) {
    int ch = g * cpg + i / HW;
    float v = (x[base + i] - mean) * rstd * gamma[ch] + beta[ch];
    if (has_ss)
      v = v * (1.f + ssb[ch]) + ssb[C + ch];
    if (silu)
      v = v / (1.f + exp (-v));
    y[base + i] = v;
  }
}

/* LayerNorm over rows of D: one work-group per row; y may equal x. */
__kernel void
layer_norm (__global const float *x, __global float *y, int D, float eps,
            __global const float *gamma, __global const float *beta)
{
  __local float scratch[256];
  size_t row = (size_t) get_group_id (0) * D;
  int lid = get_local_id (0), ls = get_local_size (0);
  float s = 0.f;
  for (int i = lid; i < D; i += ls)
    s += x[row + i];
  float mean = group_sum (s, scratch) / D;
  float q = 0.f;
  for (int i = lid; i < D; i += ls) {
    float d = x[row + i] - mean;
    q += d * d;
  }
  float rstd = rsqrt (group_sum (q, scratch) / D + eps);
  for (int i = lid; i < D; i += ls)
    y[row + i] = (x[row + i] - mean) * rstd * gamma[i] + beta[i];
}

/* The key path of RWKV-7, one work-group of HEAD_N per (token, head):
 * kk = L2norm(k * k_k), k += k (lr - 1) k_a, then a = -kk (into kk) and
 * b = kk * lr (into lr). */
__kernel void
key_update (int H, __global float *k, __global float *lr, __global float *kk,
            __global const float *k_k, __global const float *k_a)
{
  __local float scratch[HEAD_N];
  int j = get_local_id (0), h = get_group_id (0) % H;
  size_t i = (size_t) get_group_id (0) * HEAD_N + j;
  int c = h * HEAD_N + j;
  float kv = k[i], q = kv * k_k[c];
  float nrm = fmax (sqrt (group_sum (q * q, scratch)), 1e-12f);
  float n = q / nrm, l = lr[i];
  k[i] = kv + kv * (l - 1.f) * k_a[c];
  kk[i] = -n;
  lr[i] = n * l;
}

/* The output of time-mix / CrossWKV for one (token, head): per-head norm of
 * o, then with bonus o = (o + sum(r k r_k) v) * g, else o = o * g. */
__kernel void
head_out (int H, __global float *o, float eps, __global const float *gamma,
          __global const float *beta, __global const float *g, int bonus,
          __global const float *r, __global const float *k, __global const float *v,
          __global const float *r_k)
{
  __local float scratch[HEAD_N];
  int j = get_local_id (0), h = get_group_id (0) % H;
  size_t i = (size_t) get_group_id (0) * HEAD_N + j;
  int c = h * HEAD_N + j;
  float x = o[i];
  float mean = group_sum (x, scratch) / HEAD_N;
  float d = x - mean;
  float rstd = rsqrt (group_sum (d * d, scratch) / HEAD_N + eps);
  float y = d * rstd * gamma[c] + beta[c];
  if (bonus) {
    float s = group_sum (r[i] * k[i] * r_k[c], scratch);
    y += s * v[i];
  }
  o[i] = y * g[i];
}
