/* DDPM / DDIM / DPM-Solver++(2M) steps; coefficients in double, as in Python. */
#include "sampler.h"
#include "philox.h"
#include "model.h"

#include <math.h>
#include <string.h>

double *
d7_alphas_cumprod (int T, double beta_start, double beta_end)
{
  double *ab = g_new (double, T), acc = 1.0;
  for (int i = 0; i < T; i++) {
    double beta = beta_start + (beta_end - beta_start) * i / (T - 1);
    acc *= 1.0 - beta;
    ab[i] = acc;
  }
  return ab;
}

int
d7_timestep (int T, int steps, int i)
{
  return (int) (((int64_t) (T - 1) * (steps - i)) / steps);
}

int
d7_first_step (int steps, float strength)
{
  int run = (int) ((double) steps * (double) strength);  /* Python: int(steps * strength) */
  run = CLAMP (run, 1, steps);
  return steps - run;
}

float *
d7_start_latent (const float *init_image, int C, int HW, uint64_t seed, double ab_start, float *x)
{
  size_t n = (size_t) C * HW;
  d7_randn (seed, D7_STREAM_INIT, 0, x, n);
  if (!init_image)
    return NULL;
  float *init = g_new (float, n);
  d7_image_to_model (init_image, C, HW, init);
  float ca = (float) sqrt (ab_start), cn = (float) sqrt (1.0 - ab_start);
  for (size_t j = 0; j < n; j++)
    x[j] = ca * init[j] + cn * x[j];
  return init;
}

void
d7_predicted_x0 (D7Prediction pred, double ab_t, const float *x, const float *out,
                 size_t n, float *x0)
{
  float c1 = (float) sqrt (1.0 - ab_t), c2 = (float) sqrt (ab_t);
  if (pred == D7_PREDICT_V) {
    for (size_t j = 0; j < n; j++)
      x0[j] = CLAMP (c2 * x[j] - c1 * out[j], -1.f, 1.f);
  } else {
    for (size_t j = 0; j < n; j++)
      x0[j] = CLAMP ((x[j] - c1 * out[j]) / c2, -1.f, 1.f);
  }
}

void
d7_sampler_step (D7SamplerState *st, int i, float *x, const float *x0, size_t n, int t, int s)
{
  double ab_t = st->ab[t], ab_s = s >= 0 ? st->ab[s] : 1.0;
  if (s < 0) {
    memcpy (x, x0, n * sizeof (float));
    return;
  }
  switch (st->kind) {
  case DIR7_SAMPLER_DDIM: {
    double st_ = sqrt (ab_t), s1t = sqrt (1.0 - ab_t);
    float cs = (float) sqrt (ab_s), ce = (float) sqrt (1.0 - ab_s);
    for (size_t j = 0; j < n; j++) {
      float eps = (x[j] - (float) st_ * x0[j]) / (float) s1t;
      x[j] = cs * x0[j] + ce * eps;
    }
    break;
  }
  case DIR7_SAMPLER_DDPM: {
    double beta = 1.0 - ab_t / ab_s;
    float c0 = (float) (sqrt (ab_s) * beta / (1.0 - ab_t));
    float ct = (float) (sqrt (1.0 - beta) * (1.0 - ab_s) / (1.0 - ab_t));
    float sg = (float) sqrt (beta * (1.0 - ab_s) / (1.0 - ab_t));
    float *z = g_new (float, n);
    d7_randn (st->seed, D7_STREAM_DDPM + (uint32_t) i, 0, z, n);
    for (size_t j = 0; j < n; j++)
      x[j] = c0 * x0[j] + ct * x[j] + sg * z[j];
    g_free (z);
    break;
  }
  case DIR7_SAMPLER_DPMPP_2M: {
    double lam_t = 0.5 * log (ab_t / (1.0 - ab_t));
    double lam_s = 0.5 * log (ab_s / (1.0 - ab_s));
    double h = lam_s - lam_t;
    float ratio = (float) sqrt ((1.0 - ab_s) / (1.0 - ab_t));
    float cd = (float) (-sqrt (ab_s) * expm1 (-h));
    if (st->prev_x0) {
      double r = st->prev_h / h;
      float c1 = (float) (1.0 + 0.5 / r), c2 = (float) (0.5 / r);
      for (size_t j = 0; j < n; j++) {
        float d = c1 * x0[j] - c2 * st->prev_x0[j];
        x[j] = ratio * x[j] + cd * d;
      }
    } else {
      st->prev_x0 = g_new (float, n);
      for (size_t j = 0; j < n; j++)
        x[j] = ratio * x[j] + cd * x0[j];
    }
    memcpy (st->prev_x0, x0, n * sizeof (float));
    st->prev_h = h;
    break;
  }
  }
}

void
d7_sampler_clear (D7SamplerState *st)
{
  g_clear_pointer (&st->prev_x0, g_free);
}
