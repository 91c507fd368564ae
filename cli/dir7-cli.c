/* dir7: generate, img2img, inpaint and info from the command line. */
#include "dir7.h"
#include "png_io.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef DIR7_DEFAULT_MODEL
#define DIR7_DEFAULT_MODEL "data/models/dir7-default.safetensors"
#endif

static volatile sig_atomic_t interrupted;

static void
on_sigint (int sig)
{
  interrupted = 1;
}

typedef struct {
  char    *prompt, *negative, *sampler, *model, *output, *init, *mask, *seed_str, *device;
  int      steps, width, height;
  double   guidance, strength;
  gboolean quiet, show_bar;     /* bar only on a terminal, never with --quiet */
  char   **rest;
  char    *joined_prompt;       /* owned: the prompt in UTF-8 */
} Options;

static void
options_clear (Options *o, char **rest_all)
{
  g_free (o->prompt); g_free (o->negative); g_free (o->sampler); g_free (o->model);
  g_free (o->output); g_free (o->init); g_free (o->mask); g_free (o->seed_str);
  g_free (o->device);
  g_free (o->joined_prompt);
  g_strfreev (rest_all);
}

static gboolean
progress_bar (int step, int total, const float *preview, gpointer data)
{
  const Options *o = data;
  if (o->show_bar) {
    int w = 30, fill = total ? step * w / total : w;
    fprintf (stderr, "\r[");
    for (int i = 0; i < w; i++)
      fputc (i < fill ? '#' : '.', stderr);
    fprintf (stderr, "] %d/%d", step, total);
    if (step == total)
      fputc ('\n', stderr);
    fflush (stderr);
  }
  return !interrupted;
}

static int
usage_error (GOptionContext *ctx, const char *msg)
{
  fprintf (stderr, "dir7: %s\n", msg);
  fprintf (stderr, "Try 'dir7 --help'.\n");
  (void) ctx;
  return 2;
}

static int
fail (GError *err)
{
  fprintf (stderr, "dir7: %s\n", err->message);
  g_error_free (err);
  return 1;
}

/* Arguments arrive as raw bytes: UTF-8 as it is (the common case, even under
 * LANG=C), otherwise converted from the locale's charset. NULL if neither. */
static char *
arg_to_utf8 (const char *arg)
{
  if (g_utf8_validate (arg, -1, NULL))
    return g_strdup (arg);
  return g_locale_to_utf8 (arg, -1, NULL, NULL, NULL);
}

/* Decimal 0 .. 2^64-1, nothing else: strtoull would wrap "-1" and saturate. */
static gboolean
parse_seed (const char *s, guint64 *seed)
{
  if (!g_ascii_isdigit (*s))
    return FALSE;
  char *end;
  errno = 0;
  *seed = g_ascii_strtoull (s, &end, 10);
  return *end == '\0' && errno == 0;
}

static const char *
model_path (const Options *o)
{
  if (o->model)
    return o->model;
  const char *env = g_getenv ("DIR7_MODEL");
  if (env && *env)
    return env;
#ifdef DIR7_UNINSTALLED_MODEL
  /* not installed yet: the build's own source tree has the model */
  if (!g_file_test (DIR7_DEFAULT_MODEL, G_FILE_TEST_EXISTS) &&
      g_file_test (DIR7_UNINSTALLED_MODEL, G_FILE_TEST_EXISTS))
    return DIR7_UNINSTALLED_MODEL;
#endif
  return DIR7_DEFAULT_MODEL;
}

/* Writes next to the target, then renames: never a partial output file. */
static gboolean
save_atomically (const char *path, const float *img, int w, int h, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.%d.tmp", dir, base, (int) getpid ());
  if (!d7_png_save (tmp, img, w, h, error)) {
    g_unlink (tmp);
    return FALSE;
  }
  if (g_rename (tmp, path) != 0) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT, "cannot write '%s': %s",
                 path, g_strerror (errno));
    g_unlink (tmp);
    return FALSE;
  }
  return TRUE;
}

/* The model, or NULL after a message that says where it was looked for. */
static Dir7Model *
load_model (const Options *o)
{
  const char *path = model_path (o);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    fprintf (stderr, "dir7: no model file at '%s' (not found): pass --model FILE or set DIR7_MODEL\n", path);
    return NULL;
  }
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (path, &err);
  if (!m)
    fail (err);
  return m;
}

static int
cmd_info (const Options *o)
{
  Dir7Model *m = load_model (o);
  if (!m)
    return 1;
  g_autofree char *s = dir7_model_describe (m);
  printf ("model file:       %s\n%s", model_path (o), s);
  dir7_model_free (m);
  return 0;
}

static int
cmd_devices (void)
{
  GError *err = NULL;
  char **devs = dir7_list_devices (&err);
  if (!devs) {
    printf ("no OpenCL devices: %s\nGeneration runs on the CPU.\n", err->message);
    g_error_free (err);
    return 0;
  }
  for (char **d = devs; *d; d++)
    printf ("%s\n", *d);
  g_strfreev (devs);
  return 0;
}

static int
cmd_generate (const char *cmd, Options *o, GOptionContext *ctx)
{
  gboolean img2img = g_str_equal (cmd, "img2img"), inpaint = g_str_equal (cmd, "inpaint");
  Dir7GenerateParams p;
  dir7_generate_params_init (&p);

  /* everything is checked before the (slow) model load */
  if (o->prompt && o->rest && o->rest[0])
    return usage_error (ctx, "give the prompt either as --prompt or as arguments, not both");
  g_autofree char *raw = o->prompt ? g_strdup (o->prompt)
                        : o->rest && o->rest[0] ? g_strjoinv (" ", o->rest) : g_strdup ("");
  o->joined_prompt = arg_to_utf8 (raw);
  g_autofree char *negative = o->negative ? arg_to_utf8 (o->negative) : NULL;
  if (!o->joined_prompt || (o->negative && !negative))
    return usage_error (ctx, "the prompt is neither UTF-8 nor in the locale's character set");
  p.prompt = o->joined_prompt;
  p.negative_prompt = negative;
  if (o->steps < 1 || o->steps > 1000)
    return usage_error (ctx, "--steps must be between 1 and 1000");
  p.steps = o->steps;
  if (!dir7_sampler_from_name (o->sampler, &p.sampler))
    return usage_error (ctx, "--sampler must be ddpm, ddim or dpmpp-2m");
  if (!(o->guidance >= 0 && o->guidance <= 50))
    return usage_error (ctx, "--guidance must be between 0 and 50");
  p.guidance = (float) o->guidance;
  if (o->strength < 0)
    o->strength = inpaint ? 1.0 : 0.75;
  if ((img2img || inpaint) && !(o->strength > 0 && o->strength <= 1))
    return usage_error (ctx, "--strength must be in (0, 1]");
  p.strength = (float) o->strength;
  if ((o->width && (o->width < 8 || o->width > 4096)) || (o->height && (o->height < 8 || o->height > 4096)))
    return usage_error (ctx, "--width and --height must be between 8 and 4096");
  if ((img2img || inpaint) && !o->init)
    return usage_error (ctx, "img2img and inpaint need --init IMAGE.png");
  if (inpaint && !o->mask)
    return usage_error (ctx, "inpaint needs --mask MASK.png");
  if (!img2img && !inpaint && (o->init || o->mask))
    return usage_error (ctx, "--init and --mask belong to img2img and inpaint");
  if (o->seed_str) {
    if (!parse_seed (o->seed_str, &p.seed))
      return usage_error (ctx, "--seed must be an integer from 0 to 18446744073709551615");
  } else {
    p.seed = ((guint64) g_random_int () << 32) | g_random_int ();
    if (!o->quiet)
      fprintf (stderr, "seed %" G_GUINT64_FORMAT "\n", p.seed);
  }

  /* a missing output folder should not cost a whole generation */
  g_autofree char *out_dir = g_path_get_dirname (o->output);
  if (!g_file_test (out_dir, G_FILE_TEST_IS_DIR) || g_file_test (o->output, G_FILE_TEST_IS_DIR)) {
    fprintf (stderr, "dir7: cannot write '%s': %s\n", o->output,
             g_file_test (o->output, G_FILE_TEST_IS_DIR) ? "it is a directory" : "no such directory");
    return 1;
  }

  GError *err = NULL;
  g_autofree float *init = NULL, *mask = NULL;
  if (o->init) {
    int w, h;
    if (!(init = d7_png_load (o->init, &w, &h, &err)))
      return fail (err);
    if (w < 8 || w > 4096 || h < 8 || h > 4096) {
      fprintf (stderr, "dir7: '%s' is %d x %d; sides from 8 to 4096 are supported\n", o->init, w, h);
      return 1;
    }
    if ((o->width && o->width != w) || (o->height && o->height != h))
      return usage_error (ctx, "with --init the size is the image's: leave out --width/--height");
    p.width = w;
    p.height = h;
    if (o->mask) {
      int mw, mh;
      if (!(mask = d7_png_load_mask (o->mask, &mw, &mh, &err)))
        return fail (err);
      if (mw != w || mh != h) {
        fprintf (stderr, "dir7: the mask is %d x %d but the image is %d x %d\n", mw, mh, w, h);
        return 1;
      }
    }
    p.init_image = init;
    p.mask = mask;
  }
  Dir7Model *m = load_model (o);
  if (!m)
    return 1;
  if (!o->init) {
    p.width = o->width ? o->width : dir7_model_native_size (m);
    p.height = o->height ? o->height : dir7_model_native_size (m);
  }
  p.progress = progress_bar;
  p.progress_data = o;
  signal (SIGINT, on_sigint);
  p.device = o->device ? o->device : "auto";
  g_autofree char *report = NULL;
  float *img = dir7_generate_ex (m, &p, &report, &err);
  dir7_model_free (m);
  if (report && !o->quiet)
    fprintf (stderr, "ran on %s\n", report);
  if (!img) {
    if (o->show_bar)
      fputc ('\n', stderr);
    return fail (err);
  }
  gboolean ok = save_atomically (o->output, img, p.width, p.height, &err);
  g_free (img);
  if (!ok)
    return fail (err);
  if (!o->quiet)
    fprintf (stderr, "wrote %s (%d x %d)\n", o->output, p.width, p.height);
  return 0;
}

int
main (int argc, char **argv)
{
  dir7_process_init ();
  Options o = { .steps = 20, .guidance = 5.0, .strength = -1, .output = NULL };
  GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_FILENAME, &o.prompt, "The prompt (UTF-8, any language)", "TEXT" },
    { "negative", 0, 0, G_OPTION_ARG_FILENAME, &o.negative, "Negative prompt", "TEXT" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &o.steps, "Denoising steps, 1-1000 (20)", "N" },
    { "sampler", 0, 0, G_OPTION_ARG_STRING, &o.sampler, "ddpm, ddim or dpmpp-2m (dpmpp-2m)", "NAME" },
    { "guidance", 0, 0, G_OPTION_ARG_DOUBLE, &o.guidance, "Classifier-free guidance scale (5.0)", "G" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &o.seed_str, "Noise seed (random, printed)", "N" },
    { "width", 0, 0, G_OPTION_ARG_INT, &o.width, "Width (the model's native size)", "PX" },
    { "height", 0, 0, G_OPTION_ARG_INT, &o.height, "Height (the model's native size)", "PX" },
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &o.strength, "img2img/inpaint strength in (0,1] (0.75 / 1.0)", "S" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &o.init, "Input image for img2img and inpaint", "PNG" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &o.mask, "Inpainting mask: white = regenerate", "PNG" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &o.model, "Model file ($DIR7_MODEL, else " DIR7_DEFAULT_MODEL ")", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.output, "Output PNG (out.png)", "PNG" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &o.device,
      "cpu, auto (an OpenCL GPU, else the CPU), opencl, opencl:N or part of a device name (auto)", "DEV" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "No progress output", NULL },
    /* raw bytes (FILENAME): arg_to_utf8 decides the encoding, see there */
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.rest, NULL, "COMMAND [PROMPT...]" },
    { NULL }
  };
  setlocale (LC_ALL, "");  /* for g_locale_to_utf8 and translated GOption messages */
  GOptionContext *ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
    "DIR-7: text-to-image diffusion with CrossWKV (RWKV-7) text conditioning.\n\n"
    "Commands:\n"
    "  generate [PROMPT]                          text to image\n"
    "  img2img  [PROMPT] --init IN.png            denoise an image towards the prompt\n"
    "  inpaint  [PROMPT] --init IN.png --mask M   regenerate the mask's white area\n"
    "  info                                       the model's config and size\n"
    "  devices                                    the OpenCL devices --device can name");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    int rc = usage_error (ctx, err->message);
    g_error_free (err);
    return rc;
  }
  if (!o.sampler)
    o.sampler = g_strdup ("dpmpp-2m");
  if (!o.output)
    o.output = g_strdup ("out.png");
  o.show_bar = !o.quiet && isatty (STDERR_FILENO);
  /* the command is the first remaining argument */
  if (!o.rest || !o.rest[0])
    return usage_error (ctx, "no command given (generate, img2img, inpaint, info or devices)");
  char **rest_all = o.rest;
  const char *cmd = o.rest[0];
  o.rest = o.rest + 1;
  int rc;
  if (g_str_equal (cmd, "info"))
    rc = cmd_info (&o);
  else if (g_str_equal (cmd, "devices"))
    rc = cmd_devices ();
  else if (g_str_equal (cmd, "generate") || g_str_equal (cmd, "img2img") || g_str_equal (cmd, "inpaint"))
    rc = cmd_generate (cmd, &o, ctx);
  else
    rc = usage_error (ctx, "unknown command (generate, img2img, inpaint, info or devices)");
  g_option_context_free (ctx);
  options_clear (&o, rest_all);
  return rc;
}
