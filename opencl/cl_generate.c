/* dir7_generate on an OpenCL device: the prompts are encoded on the CPU
 * (once per generation), then the whole sampling loop runs on the device,
 * following core/pipeline.c and core/sampler.c step for step. The device
 * state (context, kernels, weights) lives with the model, one device at a
 * time, behind the model's lock. */
#include "d7cl.h"
#include "cl_ops.h"
#include "cl_unet.h"
#include "philox.h"
#include "sampler.h"

#include <math.h>
#include <string.h>

enum { STEP_DDIM, STEP_DDPM, STEP_DPM_1, STEP_DPM_2, STEP_FINAL };

/* the sampler step's kernel and coefficients, as d7_sampler_step computes them */
static int
step_coefficients (Dir7Sampler kind, const double *ab, int t, int s, gboolean *have_prev,
                   double *prev_h, float p[4])
{
  memset (p, 0, 4 * sizeof (float));
  if (s < 0)
    return STEP_FINAL;
  double ab_t = ab[t], ab_s = ab[s];
  switch (kind) {
  case DIR7_SAMPLER_DDIM:
    p[0] = (float) sqrt (ab_t);
    p[1] = (float) sqrt (1.0 - ab_t);
    p[2] = (float) sqrt (ab_s);
    p[3] = (float) sqrt (1.0 - ab_s);
    return STEP_DDIM;
  case DIR7_SAMPLER_DDPM: {
    double beta = 1.0 - ab_t / ab_s;
    p[0] = (float) (sqrt (ab_s) * beta / (1.0 - ab_t));
    p[1] = (float) (sqrt (1.0 - beta) * (1.0 - ab_s) / (1.0 - ab_t));
    p[2] = (float) sqrt (beta * (1.0 - ab_s) / (1.0 - ab_t));
    return STEP_DDPM;
  }
  default: {
    double lam_t = 0.5 * log (ab_t / (1.0 - ab_t)), lam_s = 0.5 * log (ab_s / (1.0 - ab_s));
    double h = lam_s - lam_t;
    p[0] = (float) sqrt ((1.0 - ab_s) / (1.0 - ab_t));
    p[1] = (float) (-sqrt (ab_s) * expm1 (-h));
    int k = STEP_DPM_1;
    if (*have_prev) {
      double r = *prev_h / h;
      p[2] = (float) (1.0 + 0.5 / r);
      p[3] = (float) (0.5 / r);
      k = STEP_DPM_2;
    }
    *have_prev = TRUE;
    *prev_h = h;
    return k;
  }
  }
}

static float *
run (D7Cl *cl, Dir7Model *m, const Dir7GenerateParams *p, GError **error)
{
  const D7Config *cfg = &m->config;
  int C = cfg->unet.image_channels, H = p->height, W = p->width, HW = H * W;
  int C0 = cfg->unet.base_channels, T = cfg->diffusion.timesteps, steps = p->steps;
  size_t n = (size_t) C * HW;
  gboolean guided = p->guidance != 1.0f;
  int B = guided ? 2 : 1;
  int start = p->init_image ? d7_first_step (steps, p->strength) : 0;
  double *ab = d7_alphas_cumprod (T, cfg->diffusion.beta_start, cfg->diffusion.beta_end);
  D7TextCond *tc[2] = { d7_text_cond_new (m, p->prompt), NULL };
  if (guided)
    tc[1] = d7_text_cond_new (m, p->negative_prompt ? p->negative_prompt : "");
  D7ClCond dc;
  d7cl_cond_init (cl, m, tc, B, &dc);

  /* host-side inputs, made exactly as the CPU path makes them */
  float *host = g_new (float, n), *init = NULL, *out = NULL;
  float *te = g_new (float, (size_t) steps * C0);
  for (int i = 0; i < steps; i++)
    d7_timestep_embedding (d7_timestep (T, steps, i), C0, te + (size_t) i * C0);
  init = d7_start_latent (p->init_image, C, HW, p->seed, ab[d7_timestep (T, steps, start)], host);
  cl_mem x = d7cl_upload (cl, host, n), ted = d7cl_upload (cl, te, (size_t) steps * C0);
  cl_mem x0 = d7cl_tmp (cl, n), eps = d7cl_tmp (cl, B * n), prev = d7cl_tmp (cl, n);
  cl_mem z = d7cl_tmp (cl, n);
  cl_mem maskd = p->mask ? d7cl_upload (cl, p->mask, HW) : NULL;
  cl_mem initd = p->mask ? d7cl_upload (cl, init, n) : NULL;
  float *preview = p->progress ? g_new (float, (size_t) HW * 4) : NULL;
  gboolean have_prev = FALSE, cancelled = FALSE;
  double prev_h = 0;

  for (int i = start; i < steps && !d7cl_failed (cl); i++) {
    if (p->cancellable && g_cancellable_is_cancelled (p->cancellable)) {
      cancelled = TRUE;
      break;
    }
    int t = d7_timestep (T, steps, i), s = i + 1 < steps ? d7_timestep (T, steps, i + 1) : -1;
    d7cl_unet_forward (cl, m, x, H, W, ted, (size_t) i * C0, &dc, eps);
    d7cl_guide_x0 (cl, n, eps, guided, p->guidance, cfg->diffusion.prediction == D7_PREDICT_V, x,
                   (float) sqrt (1.0 - ab[t]), (float) sqrt (ab[t]), x0);
    float c[4];
    int kind = step_coefficients (p->sampler, ab, t, s, &have_prev, &prev_h, c);
    if (kind == STEP_DDPM) {
      d7_randn (p->seed, D7_STREAM_DDPM + (uint32_t) i, 0, host, n);
      d7cl_write (cl, z, host, n);
    }
    d7cl_sampler_step (cl, n, kind, x, x0, prev, z, c);
    if (p->mask) {
      float ks = 1.f, kn = 0.f;
      if (s >= 0) {
        d7_randn (p->seed, D7_STREAM_KNOWN + (uint32_t) i, 0, host, n);
        d7cl_write (cl, z, host, n);
        ks = (float) sqrt (ab[s]);
        kn = (float) sqrt (1.0 - ab[s]);
      }
      d7cl_mask_blend (cl, n, HW, x, maskd, initd, s >= 0 ? z : NULL, ks, kn);
    }
    if (p->progress) {
      d7cl_read (cl, x0, host, n);
      if (d7cl_failed (cl))
        break;
      d7_image_from_model (host, C, HW, preview);
      if (!p->progress (i - start + 1, steps - start, preview, p->progress_data)) {
        cancelled = TRUE;
        break;
      }
    } else if (!cl->err) {
      /* one step in flight at most, so a cancel is seen within a step */
      d7cl_check (cl, clFinish (cl->queue), "clFinish");
    }
  }
  if (cancelled) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_CANCELLED, "generation cancelled");
  } else {
    d7cl_read (cl, x, host, n);
    if (d7cl_failed (cl)) {
      d7cl_set_error (cl, error);
    } else {
      out = g_new (float, (size_t) HW * 4);
      d7_image_from_model (host, C, HW, out);
    }
  }
  if (!cl->err)
    clFinish (cl->queue);
  cl_mem bufs[] = { x, ted, maskd, initd };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    if (bufs[i])
      d7cl_mem_free (cl, bufs[i]);
  d7cl_release (cl, x0); d7cl_release (cl, eps); d7cl_release (cl, prev); d7cl_release (cl, z);
  d7cl_cond_clear (cl, m, &dc);
  d7_text_cond_free (tc[0], m);
  d7_text_cond_free (tc[1], m);
  g_free (host); g_free (init); g_free (te); g_free (preview); g_free (ab);
  return out;
}

/* fp16 storage of the weight matrices loses nothing when the file stores
 * them as F16 (the shipped model does): then it is the default.
 * DIR7_CL_WEIGHTS=fp16 or fp32 overrides. */
static gboolean
weights_fp16 (const Dir7Model *m)
{
  const char *env = g_getenv ("DIR7_CL_WEIGHTS");
  if (g_strcmp0 (env, "fp16") == 0 || g_strcmp0 (env, "fp32") == 0)
    return g_str_equal (env, "fp16");
  for (size_t i = 0; i < d7_safetensors_count (m->file); i++) {
    const D7TensorInfo *t = d7_safetensors_nth (m->file, i);
    if (t->ndim >= 2 && t->dtype != D7_DTYPE_F16)
      return FALSE;
  }
  return TRUE;
}

float *
d7cl_generate (Dir7Model *m, const Dir7GenerateParams *p, const char *spec, char **used,
               GError **error)
{
  g_mutex_lock (&m->cl_lock);
  D7Cl *cl = m->cl;
  if (cl && g_strcmp0 (cl->spec, spec) != 0) {
    d7cl_free (cl);
    cl = m->cl = NULL;
  }
  if (!cl) {
    if (!(cl = m->cl = d7cl_new (spec, m->config.head_size, error))) {
      g_mutex_unlock (&m->cl_lock);
      return NULL;
    }
    cl->fp16 = weights_fp16 (m);
  }
  if (used)
    *used = g_strdup (cl->name);
  float *out = run (cl, m, p, error);
  if (d7cl_failed (cl)) {      /* after a device error nothing on it is trusted */
    d7cl_free (cl);
    m->cl = NULL;
  } else {                     /* keep the weights, give the scratch memory back */
    d7cl_scratch_free (cl);
  }
  g_mutex_unlock (&m->cl_lock);
  return out;
}

void
d7cl_model_release (Dir7Model *m)
{
  g_clear_pointer ((D7Cl **) &m->cl, d7cl_free);
}
