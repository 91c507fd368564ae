/* The sampling loop's element-wise steps, with the coefficients computed on
 * the host in double exactly as core/sampler.c does. */

/* guidance and the clean-image estimate: e = eu + g (ec - eu) (ec alone when
 * not guided; eps is [ec | eu]), x0 = clamp((x - c1 e) / c2, -1, 1), or for a
 * v-prediction model clamp(c2 x - c1 e, -1, 1) */
__kernel void
guide_x0 (int n, __global const float *eps, int guided, float g, int v_pred,
          __global const float *x, float c1, float c2, __global float *x0)
{
  int i = get_global_id (0);
  if (i >= n)
    return;
  float e = eps[i];
  if (guided) {
    float eu = eps[n + i];
    e = eu + g * (e - eu);
  }
  x0[i] = clamp (v_pred ? c2 * x[i] - c1 * e : (x[i] - c1 * e) / c2, -1.f, 1.f);
}

#define STEP_DDIM     0
#define STEP_DDPM     1
#define STEP_DPM_1    2   /* DPM-Solver++(2M)'s first step */
#define STEP_DPM_2    3
#define STEP_FINAL    4

/* one sampler step on x (n floats); z is DDPM's noise, prev the previous x0
 * (written with this x0 for the next DPM-Solver++ step) */
__kernel void
sampler_step (int n, int kind, __global float *x, __global const float *x0,
              __global float *prev, __global const float *z,
              float p0, float p1, float p2, float p3)
{
  int i = get_global_id (0);
  if (i >= n)
    return;
  float xv = x[i], x0v = x0[i];
  switch (kind) {
  case STEP_DDIM: {            /* p0 = sqrt(ab_t), p1 = sqrt(1-ab_t), p2 = cs, p3 = ce */
    float e = (xv - p0 * x0v) / p1;
    x[i] = p2 * x0v + p3 * e;
    break;
  }
  case STEP_DDPM:              /* p0 = c0, p1 = ct, p2 = sigma */
    x[i] = p0 * x0v + p1 * xv + p2 * z[i];
    break;
  case STEP_DPM_1:             /* p0 = ratio, p1 = cd */
    x[i] = p0 * xv + p1 * x0v;
    prev[i] = x0v;
    break;
  case STEP_DPM_2: {           /* p2 = c1, p3 = c2 */
    float d = p2 * x0v - p3 * prev[i];
    x[i] = p0 * xv + p1 * d;
    prev[i] = x0v;
    break;
  }
  default:
    x[i] = x0v;
  }
}

/* inpainting: keep the known region, the init image noised to the next level
 * (known = ks init + kn z; with has_noise 0, the init image itself) */
__kernel void
mask_blend (int n, int HW, __global float *x, __global const float *mask,
            __global const float *init, __global const float *z, int has_noise,
            float ks, float kn)
{
  int i = get_global_id (0);
  if (i >= n)
    return;
  float m = mask[i % HW];
  float known = has_noise ? ks * init[i] + kn * z[i] : init[i];
  x[i] = m * x[i] + (1.f - m) * known;
}
