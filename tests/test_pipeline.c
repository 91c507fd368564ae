/* dir7_generate's contract beyond the numbers: argument checks, progress
 * reporting, cancellation (callback and GCancellable) and determinism. */
#include "dir7.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

static void
expect (gboolean ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  ok ? passed++ : failed++;
}

typedef struct { int calls, last_step, total, stop_at; GCancellable *cancel_at_2; } Count;

static gboolean
count_progress (int step, int total, const float *preview, gpointer data)
{
  Count *c = data;
  c->calls++;
  c->last_step = step;
  c->total = total;
  gboolean sane = preview != NULL;
  if (c->cancel_at_2 && step == 2)
    g_cancellable_cancel (c->cancel_at_2);
  return sane && step != c->stop_at;
}

static void
rejects (Dir7Model *m, Dir7GenerateParams *p, const char *what, const char *word)
{
  GError *err = NULL;
  float *img = dir7_generate (m, p, &err);
  expect (!img && err && err->code == DIR7_ERROR_INVALID_ARGUMENT && strstr (err->message, word),
          what, err ? err->message : "accepted");
  g_free (img);
  g_clear_error (&err);
}

int
main (int argc, char **argv)
{
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (argv[1], &err);
  g_assert_no_error (err);
  Dir7GenerateParams p;
  dir7_generate_params_init (&p);
  p.width = p.height = dir7_model_native_size (m);
  p.steps = 4;
  p.prompt = "a red apple";
  p.seed = 99;

  Count c = { 0 };
  p.progress = count_progress;
  p.progress_data = &c;
  float *a = dir7_generate (m, &p, &err);
  expect (a != NULL, "generates", err ? err->message : NULL);
  expect (c.calls == 4 && c.last_step == 4 && c.total == 4, "progress once per step, 1..steps", NULL);
  float *b = dir7_generate (m, &p, &err);
  expect (a && b && memcmp (a, b, sizeof (float) * 4 * p.width * p.height) == 0,
          "same seed, bit-identical image", NULL);
  gboolean in_range = a != NULL;
  for (int i = 0; a && i < 4 * p.width * p.height; i++)
    in_range &= a[i] >= 0.f && a[i] <= 1.f;
  expect (in_range, "output in [0,1]", NULL);
  g_free (b);

  /* img2img with strength 0.5 runs half the steps */
  Count c2 = { 0 };
  p.progress_data = &c2;
  p.init_image = a;
  p.strength = 0.5f;
  b = dir7_generate (m, &p, &err);
  expect (b && c2.calls == 2 && c2.total == 2, "img2img at strength 0.5 runs 2 of 4 steps", NULL);
  g_free (b);

  /* inpainting keeps the unmasked pixels exactly (up to 8-bit-free float) */
  float *mask = g_new0 (float, p.width * p.height);
  for (int i = 0; i < p.width * p.height / 2; i++)
    mask[i] = 1.f;
  p.mask = mask;
  p.strength = 1.f;
  b = dir7_generate (m, &p, &err);
  double keep_err = 0;
  for (int i = p.width * p.height / 2; b && i < p.width * p.height; i++)
    for (int ch = 0; ch < 4; ch++)
      keep_err = MAX (keep_err, ABS (b[4 * i + ch] - a[4 * i + ch]));
  expect (b && keep_err < 1e-6, "inpainting leaves the unmasked half as it was", NULL);
  g_free (b);
  p.mask = NULL;
  p.init_image = NULL;
  g_free (mask);

  /* cancellation: by the callback, and by a GCancellable midway */
  Count c3 = { .stop_at = 2 };
  p.progress_data = &c3;
  b = dir7_generate (m, &p, &err);
  expect (!b && err && err->code == DIR7_ERROR_CANCELLED && c3.calls == 2,
          "progress returning FALSE cancels at once", err ? err->message : NULL);
  g_clear_error (&err);
  GCancellable *cancel = g_cancellable_new ();
  Count c4 = { .cancel_at_2 = cancel };
  p.progress_data = &c4;
  p.cancellable = cancel;
  b = dir7_generate (m, &p, &err);
  expect (!b && err && err->code == DIR7_ERROR_CANCELLED && c4.calls == 2,
          "a GCancellable cancelled midway stops before the next step", err ? err->message : NULL);
  g_clear_error (&err);
  g_object_unref (cancel);
  p.cancellable = NULL;
  p.progress = NULL;

  /* an empty prompt is the unconditional image, not an error */
  p.prompt = "";
  b = dir7_generate (m, &p, &err);
  expect (b != NULL, "empty prompt generates (unconditional)", err ? err->message : NULL);
  g_free (b);
  p.prompt = "a red apple";

  Dir7GenerateParams q = p;
  q.width = 17;
  rejects (m, &q, "width not a multiple of the size step", "multiples");
  q = p; q.width = 100000;
  rejects (m, &q, "absurd width", "size");
  q = p; q.width = 4096; q.height = 4096;
  rejects (m, &q, "too many pixels", "pixels");
  q = p; q.steps = 0;
  rejects (m, &q, "zero steps", "steps");
  q = p; q.guidance = 1e9f;
  rejects (m, &q, "absurd guidance", "guidance");
  q = p; q.init_image = a; q.strength = 0.f;
  rejects (m, &q, "strength 0", "strength");
  q = p; q.mask = a;
  rejects (m, &q, "a mask without an init image", "init image");
  q = p; q.prompt = "\xff\xfe broken";
  rejects (m, &q, "invalid UTF-8 prompt", "UTF-8");
  q = p; q.prompt = NULL;
  rejects (m, &q, "NULL prompt", "prompt");
  q = p; q.sampler = (Dir7Sampler) 42;
  rejects (m, &q, "unknown sampler", "sampler");

  /* sizes within the bounds that need more memory than allowed: an error
   * before anything is allocated, not an abort in the middle */
  g_setenv ("DIR7_MEMORY_LIMIT_MB", "200", TRUE);
  q = p; q.width = q.height = 512;
  b = dir7_generate (m, &q, &err);
  expect (!b && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_NO_MEMORY) && strstr (err->message, "512 x 512")
          && strstr (err->message, "smaller size"), "a size needing more memory than the limit is refused",
          err ? err->message : "accepted");
  g_clear_error (&err);
  g_free (b);
  q = p; q.steps = 1;
  b = dir7_generate (m, &q, &err);
  expect (b != NULL, "the native size fits in the same limit", err ? err->message : NULL);
  g_clear_error (&err);
  g_free (b);
  g_unsetenv ("DIR7_MEMORY_LIMIT_MB");

  Dir7Sampler s;
  expect (dir7_sampler_from_name ("DDIM", &s) && s == DIR7_SAMPLER_DDIM &&
          !dir7_sampler_from_name ("euler", &s) && g_str_equal (dir7_sampler_name (DIR7_SAMPLER_DPMPP_2M), "dpmpp-2m"),
          "sampler names", NULL);
  g_free (a);
  dir7_model_free (m);
  printf ("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
