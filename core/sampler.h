/* DDPM schedule and the three samplers, as training/dir7/diffusion.py. */
#ifndef DIR7_SAMPLER_H
#define DIR7_SAMPLER_H

#include "dir7.h"
#include "config.h"
#include <stddef.h>
#include <stdint.h>

#define D7_STREAM_INIT  0u
#define D7_STREAM_DDPM  1u        /* + step index */
#define D7_STREAM_KNOWN 0x10000u  /* + step index: inpainting's known region */

/* alpha_bar[0..T-1] for linear betas, in double. g_free() it. */
double *d7_alphas_cumprod (int T, double beta_start, double beta_end);
/* t_i = (T-1)(steps-i) / steps, integer division, i < steps */
int d7_timestep (int T, int steps, int i);
/* img2img: index of the first step that runs (at least one runs) */
int d7_first_step (int steps, float strength);

/* The first latent x (C * HW floats): Philox noise of stream D7_STREAM_INIT; for
 * img2img (init_image, straight RGBA, not NULL) that image noised to alpha-bar
 * ab_start, sqrt(ab) x0 + sqrt(1-ab) noise, as training's add_noise. The CPU and
 * OpenCL paths both start here, so they start alike. Returns the image in model
 * space (g_free() it; inpainting keeps its known region), or NULL. */
float *d7_start_latent (const float *init_image, int C, int HW, uint64_t seed,
                        double ab_start, float *x);

/* The clean estimate from the U-Net's (guided) output at alpha-bar ab_t,
 * clamped to [-1, 1]: epsilon: (x - sqrt(1-ab) out) / sqrt(ab);
 * v: sqrt(ab) x - sqrt(1-ab) out. */
void d7_predicted_x0 (D7Prediction pred, double ab_t, const float *x, const float *out,
                      size_t n, float *x0);

typedef struct {
  Dir7Sampler kind;
  const double *ab;
  uint64_t seed;
  float *prev_x0;               /* DPM-Solver++(2M) history */
  double prev_h;
} D7SamplerState;

/* Moves x (n floats) from timestep t to s (s < 0: the clean image), given the
 * clean estimate x0; i is the step index (DDPM's noise stream). */
void d7_sampler_step (D7SamplerState *st, int i, float *x, const float *x0,
                      size_t n, int t, int s);
void d7_sampler_clear (D7SamplerState *st);

#endif
