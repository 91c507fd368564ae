/* dir7_generate: text-to-image, img2img and inpainting with classifier-free
 * guidance, following training/dir7/diffusion.py:sample step for step. */
#include "dir7.h"
#include "model.h"
#include "philox.h"
#include "sampler.h"
#ifdef DIR7_HAVE_OPENCL
#include "d7cl.h"
#endif

#include <math.h>
#include <string.h>

#define D7_MAX_SIDE 4096
#define D7_MAX_PIXELS (2048 * 2048)
#define D7_PAIR_MAX_PIXELS (128 * 128)

void
dir7_generate_params_init (Dir7GenerateParams *p)
{
  memset (p, 0, sizeof *p);
  p->prompt = "";
  p->steps = 20;
  p->sampler = DIR7_SAMPLER_DPMPP_2M;
  p->guidance = 5.0f;
  p->strength = 1.0f;
}

static const char *const sampler_names[] = { "ddpm", "ddim", "dpmpp-2m" };

const char *
dir7_sampler_name (Dir7Sampler s)
{
  return (unsigned) s < G_N_ELEMENTS (sampler_names) ? sampler_names[s] : "unknown";
}

gboolean
dir7_sampler_from_name (const char *name, Dir7Sampler *s)
{
  for (unsigned i = 0; name && i < G_N_ELEMENTS (sampler_names); i++)
    if (g_ascii_strcasecmp (name, sampler_names[i]) == 0) {
      *s = (Dir7Sampler) i;
      return TRUE;
    }
  return FALSE;
}

/* Bytes one generation of W x H touches at its peak, from the buffers of
 * dir7_generate, d7_unet_forward (passes of it at once) and the layers: a
 * slight overestimate, counted in double so that no size can overflow it. */
static double
generate_bytes (const Dir7Model *m, int W, int H, int passes)
{
  const D7Config *c = &m->config;
  int L = c->unet.n_levels, nres = c->unet.num_res_blocks, C0 = c->unet.base_channels;
  const D7LoraRanks *r = &c->unet.lora;
  double full = (double) W * H, maxc = C0, rank = MAX (MAX (r->w, r->a), MAX (r->v, r->g));
  for (int l = 0; l < L; l++)
    maxc = MAX (maxc, (double) C0 * c->unet.channel_mult[l]);
  double skips = C0 * full, hcat = 0, vfirst = 0, work = 0;
  int hh = H, ww = W;
  for (int l = 0; l < L; l++) {
    double ch = (double) C0 * c->unet.channel_mult[l], p = (double) hh * ww;
    gboolean dir7 = c->unet.dir7_levels[l] || (l == L - 1 && c->unet.mid_dir7);
    skips += nres * ch * p;
    /* the up path concatenates at most maxc channels with a skip of ch */
    hcat = MAX (hcat, (maxc + ch) * p);
    if (dir7)
      vfirst = MAX (vfirst, ch * p);
    /* a ResBlock: h and h2, the im2col band; a DIR-7 block: the tokens,
     * 2 buffers in the block, 10 in the time-mix, the LoRA's hidden layer */
    work = MAX (work, (maxc + 2 * ch) * p + MAX (2.0 * (1 << 20), 9 * (maxc + ch) * 256)
                      + (dir7 ? 13 * ch * p + rank * p : 0));
    if (l < L - 1) {
      hh = (hh + 1) / 2;
      ww = (ww + 1) / 2;
      skips += ch * hh * ww;
    }
  }
  double unet = passes * (2 * hcat + vfirst + skips + work);
  /* x, x0, eps, eps_u, init, prev_x0 and noise; preview and output RGBA;
   * GEMM packing; the prompts' states */
  double pipe = 7.0 * c->unet.image_channels * full + 8 * full + 8.0 * (1 << 20) * 2 * passes
              + 2.0 * m->unet.n_blocks * maxc * c->head_size;
  return sizeof (float) * (unet + pipe);
}

/* generate_bytes plus the model's float32 weights: compared with d7_memory_limit */
static double
memory_needed (const Dir7Model *m, int W, int H, int passes)
{
  return generate_bytes (m, W, H, passes) + (double) m->n_params * sizeof (float);
}

static gboolean
check_params (const Dir7Model *m, const Dir7GenerateParams *p, GError **error)
{
  int step = dir7_model_size_step (m);
  const char *bad = NULL;
  if (!p->prompt)
    bad = "the prompt is missing (use \"\" for an unconditional image)";
  else if (!g_utf8_validate (p->prompt, -1, NULL) ||
           (p->negative_prompt && !g_utf8_validate (p->negative_prompt, -1, NULL)))
    bad = "the prompt is not valid UTF-8";
  else if (p->steps < 1 || p->steps > m->config.diffusion.timesteps)
    bad = "steps must be between 1 and the model's timesteps";
  else if ((unsigned) p->sampler > DIR7_SAMPLER_DPMPP_2M)
    bad = "unknown sampler";
  else if (!(p->guidance >= 0.f && p->guidance <= 50.f))
    bad = "guidance must be between 0 and 50";
  else if (p->init_image && !(p->strength > 0.f && p->strength <= 1.f))
    bad = "strength must be in (0, 1]";
  else if (p->mask && !p->init_image)
    bad = "inpainting needs an init image as well as a mask";
  if (bad) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT, "%s", bad);
    return FALSE;
  }
  if (p->width < step || p->height < step || p->width > D7_MAX_SIDE || p->height > D7_MAX_SIDE ||
      (gint64) p->width * p->height > D7_MAX_PIXELS || p->width % step || p->height % step) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT,
                 "size %d x %d is not supported: width and height must be multiples of %d "
                 "between %d and %d, at most %d pixels", p->width, p->height, step, step,
                 D7_MAX_SIDE, D7_MAX_PIXELS);
    return FALSE;
  }
  double need = memory_needed (m, p->width, p->height, 1), limit = (double) d7_memory_limit ();
  if (need > limit) {
    g_autofree char *need_s = g_format_size_full ((guint64) need, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *limit_s = g_format_size_full ((guint64) limit, G_FORMAT_SIZE_IEC_UNITS);
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY,
                 "a %d x %d image needs about %s of memory with this model, more than "
                 "the limit of %s: choose a smaller size", p->width, p->height, need_s, limit_s);
    return FALSE;
  }
  return TRUE;
}

void
d7_image_to_model (const float *img, int C, int HW, float *x)
{
  for (int c = 0; c < C; c++)
    for (int i = 0; i < HW; i++)
      x[(size_t) c * HW + i] = img[(size_t) i * 4 + c] * 2.f - 1.f;
}

void
d7_image_from_model (const float *x, int C, int HW, float *img)
{
  for (int i = 0; i < HW; i++) {
    for (int c = 0; c < C; c++)
      img[(size_t) i * 4 + c] = CLAMP ((x[(size_t) c * HW + i] + 1.f) * 0.5f, 0.f, 1.f);
    if (C == 3)
      img[(size_t) i * 4 + 3] = 1.f;
  }
}

static gboolean
cancelled (const Dir7GenerateParams *p)
{
  return p->cancellable && g_cancellable_is_cancelled (p->cancellable);
}

static float *
cpu_generate (Dir7Model *m, const Dir7GenerateParams *p, GError **error)
{
  const D7Config *cfg = &m->config;
  int C = cfg->unet.image_channels, H = p->height, W = p->width, HW = H * W;
  size_t n = (size_t) C * HW;
  gboolean guided = p->guidance != 1.0f;
  double *ab = d7_alphas_cumprod (cfg->diffusion.timesteps, cfg->diffusion.beta_start,
                                  cfg->diffusion.beta_end);
  int T = cfg->diffusion.timesteps, steps = p->steps;
  int start = p->init_image ? d7_first_step (steps, p->strength) : 0;

  D7TextCond *cond = d7_text_cond_new (m, p->prompt);
  D7TextCond *uncond = guided ? d7_text_cond_new (m, p->negative_prompt ? p->negative_prompt : "") : NULL;
  cond->cancellable = p->cancellable;   /* checked between blocks too */
  if (uncond)
    uncond->cancellable = p->cancellable;
  float *x = g_new (float, n), *x0 = g_new (float, n), *eps = g_new (float, n);
  float *eps_u = guided ? g_new (float, n) : NULL;
  float *init = NULL, *preview = g_new (float, (size_t) HW * 4), *out = NULL;
  D7SamplerState smp = { p->sampler, ab, p->seed, NULL, 0.0 };
  /* both guided passes at once on small images, where one pass cannot keep
   * the threads busy (2 cores: 64 x 64 10% faster, 128 x 128 3%); beyond that
   * it would only double the U-Net's memory */
  gboolean pair = guided && HW <= D7_PAIR_MAX_PIXELS && d7_unet_pair_useful () &&
                  memory_needed (m, W, H, 2) <= (double) d7_memory_limit ();

  init = d7_start_latent (p->init_image, C, HW, p->seed, ab[d7_timestep (T, steps, start)], x);
  for (int i = start; i < steps; i++) {
    if (cancelled (p))
      goto cancel;
    int t = d7_timestep (T, steps, i), s = i + 1 < steps ? d7_timestep (T, steps, i + 1) : -1;
    if (pair) {
      d7_unet_forward_pair (m, x, H, W, t, cond, eps, uncond, eps_u);
    } else {
      d7_unet_forward (m, x, H, W, t, cond, eps);
      if (guided && !cancelled (p))
        d7_unet_forward (m, x, H, W, t, uncond, eps_u);
    }
    if (cancelled (p))
      goto cancel;
    if (guided) {
      for (size_t j = 0; j < n; j++)
        eps[j] = eps_u[j] + p->guidance * (eps[j] - eps_u[j]);
    }
    d7_predicted_x0 (cfg->diffusion.prediction, ab[t], x, eps, n, x0);
    d7_sampler_step (&smp, i, x, x0, n, t, s);
    if (p->mask) {
      /* keep the known region: the init image noised to the next level */
      float *z = eps;   /* eps is free until the next step */
      float ks = 1.f, kn = 0.f;
      if (s >= 0) {
        d7_randn (p->seed, D7_STREAM_KNOWN + (uint32_t) i, 0, z, n);
        ks = (float) sqrt (ab[s]);
        kn = (float) sqrt (1.0 - ab[s]);
      }
      for (int c = 0; c < C; c++)
        for (int q = 0; q < HW; q++) {
          size_t j = (size_t) c * HW + q;
          float known = s >= 0 ? ks * init[j] + kn * z[j] : init[j];
          x[j] = p->mask[q] * x[j] + (1.f - p->mask[q]) * known;
        }
    }
    if (p->progress) {
      d7_image_from_model (x0, C, HW, preview);
      if (!p->progress (i - start + 1, steps - start, preview, p->progress_data))
        goto cancel;
    }
  }
  out = g_new (float, (size_t) HW * 4);
  d7_image_from_model (x, C, HW, out);
  goto done;

cancel:
  g_set_error (error, DIR7_ERROR, DIR7_ERROR_CANCELLED, "generation cancelled");
done:
  d7_sampler_clear (&smp);
  d7_text_cond_free (cond, m);
  d7_text_cond_free (uncond, m);
  g_free (x); g_free (x0); g_free (eps); g_free (eps_u); g_free (init);
  g_free (preview); g_free (ab);
  return out;
}

static gboolean
wants_cpu (const char *device)
{
  return !device || !*device || g_ascii_strcasecmp (device, "cpu") == 0;
}

float *
dir7_generate_ex (Dir7Model *m, const Dir7GenerateParams *p, char **report, GError **error)
{
  g_return_val_if_fail (m != NULL && p != NULL, NULL);
  if (report)
    *report = NULL;
  if (!check_params (m, p, error))
    return NULL;
  char *why = NULL;
  if (!wants_cpu (p->device)) {
#ifdef DIR7_HAVE_OPENCL
    GError *e = NULL;
    char *used = NULL;
    float *out = d7cl_generate (m, p, p->device, &used, &e);
    if (out || !g_error_matches (e, DIR7_ERROR, DIR7_ERROR_DEVICE)) {
      if (out && report)
        *report = g_strdup_printf ("OpenCL: %s", used);
      if (e)
        g_propagate_error (error, e);
      g_free (used);
      return out;
    }
    why = g_strdup (e->message);
    g_error_free (e);
    g_free (used);
#else
    why = g_strdup ("this build of DIR-7 has no OpenCL support");
#endif
  }
  float *out = cpu_generate (m, p, error);
  if (report)
    *report = why ? g_strdup_printf ("CPU (OpenCL: %s)", why) : g_strdup ("CPU");
  g_free (why);
  return out;
}

float *
dir7_generate (Dir7Model *m, const Dir7GenerateParams *p, GError **error)
{
  return dir7_generate_ex (m, p, NULL, error);
}

char **
dir7_list_devices (GError **error)
{
#ifdef DIR7_HAVE_OPENCL
  return d7cl_list_devices (error);
#else
  g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE, "this build of DIR-7 has no OpenCL support");
  return NULL;
#endif
}
