/* libFuzzer harness: bytes -> a prompt -> what dir7_generate does with it
 * before the denoiser: the UTF-8 check (invalid prompts are refused, no
 * work done), the byte tokenizer, the RWKV-7 text encoder and every DIR-7
 * block's CrossWKV prompt state, on the tiny golden model
 * ($DIR7_FUZZ_MODEL, default tests/golden/tiny-state.safetensors). */
#include "dir7.h"
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef DIR7_GOLDEN_DIR
#define DIR7_GOLDEN_DIR "tests/golden"
#endif

static Dir7Model *model;

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  const char *path = g_getenv ("DIR7_FUZZ_MODEL");
  GError *err = NULL;
  model = dir7_model_load (path ? path : DIR7_GOLDEN_DIR "/tiny-state.safetensors", &err);
  if (!model) {
    fprintf (stderr, "fuzz_prompt: %s\n", err->message);
    abort ();
  }
  return 0;
}

static void
check_finite (const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (x[i]))
      abort ();
}

static void
block_states (D7TextCond *c, D7Block *blocks, int n)
{
  for (int i = 0; blocks && i < n; i++) {
    const D7CrossState *cs = &blocks[i].cross_state;
    if (blocks[i].cross_mode != D7_CROSS_STATE || c->states[blocks[i].index])
      continue;
    size_t len = (size_t) cs->H * cs->N * cs->N;
    float *S = g_new (float, len);
    d7_cross_state_write (cs, c->feats, c->L, S);
    check_finite (S, len);
    c->states[blocks[i].index] = S;     /* freed with c */
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *prompt = g_strndup ((const char *) data, size);   /* a C string ends at NUL */
  const D7Config *cfg = &model->config;

  if (!g_utf8_validate (prompt, -1, NULL)) {
    Dir7GenerateParams p;
    dir7_generate_params_init (&p);
    p.width = p.height = dir7_model_native_size (model);
    p.prompt = (size & 1) ? prompt : "ok";
    p.negative_prompt = (size & 1) ? NULL : prompt;
    GError *err = NULL;
    float *img = dir7_generate (model, &p, &err);
    if (img || !g_error_matches (err, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT))
      abort ();
    g_clear_error (&err);
    g_free (prompt);
    return 0;
  }

  int L;
  int *ids = d7_tokenize (prompt, cfg->text.max_len, &L);
  if (L < 1 || L > cfg->text.max_len + 1 || ids[0] != 256)
    abort ();
  for (int i = 0; i < L; i++)
    if (ids[i] < 0 || ids[i] >= cfg->text.vocab_size)
      abort ();
  g_free (ids);

  D7TextCond *c = d7_text_cond_new (model, prompt);
  if (c->L != L)
    abort ();
  check_finite (c->feats, (size_t) c->L * cfg->text.dim);
  D7UNet *u = &model->unet;
  for (int l = 0; l < cfg->unet.n_levels; l++) {
    block_states (c, u->down[l].dir7, u->down[l].n);
    block_states (c, u->up[l].dir7, u->up[l].n);
  }
  block_states (c, u->mid.dir7, u->mid.n);
  d7_text_cond_free (c, model);
  g_free (prompt);
  return 0;
}
