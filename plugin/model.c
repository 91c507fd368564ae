/* Model file resolution and a one-entry cache, so the dialog's size note and
 * the run itself load the model once. */
#include "model.h"
#include "i18n.h"

#include <glib/gstdio.h>
#include <math.h>

#ifndef DIR7_DEFAULT_MODEL
#define DIR7_DEFAULT_MODEL "data/models/dir7-default.safetensors"
#endif

static char      *cached_path;
static gint64     cached_mtime;
static Dir7Model *cached_model;

char *
plug_model_path (const char *param)
{
  if (param && *param)
    return g_strdup (param);
  const char *env = g_getenv ("DIR7_MODEL");
  return g_strdup (env && *env ? env : DIR7_DEFAULT_MODEL);
}

Dir7Model *
plug_model_get (const char *path, GError **error)
{
  GStatBuf st;
  if (!path || g_stat (path, &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                 _("There is no model file at “%s”. Choose a model file in the "
                   "dialog, pass it as the “model” argument, or set DIR7_MODEL."),
                 path ? path : "");
    return NULL;
  }
  if (cached_model && g_strcmp0 (cached_path, path) == 0 && cached_mtime == (gint64) st.st_mtime)
    return cached_model;

  GError *err = NULL;
  Dir7Model *m = dir7_model_load (path, &err);
  if (!m) {
    if (g_error_matches (err, DIR7_ERROR, DIR7_ERROR_NO_MEMORY))
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY,
                   _("Not enough memory to load the model “%s”: %s"), path, err->message);
    else
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                   _("“%s” is not a usable DIR-7 model file (damaged, truncated or "
                     "another format): %s"), path, err->message);
    g_error_free (err);
    return NULL;
  }
  dir7_model_free (cached_model);
  g_free (cached_path);
  cached_model = m;
  cached_path = g_strdup (path);
  cached_mtime = st.st_mtime;
  return m;
}

static int
snap (double v, int step, int max)
{
  int n = (int) floor (v / step + 0.5) * step;
  return CLAMP (n, step, max);
}

void
plug_model_run_size (Dir7Model *model, int w, int h, int *run_w, int *run_h)
{
  int step = dir7_model_size_step (model);
  int max = dir7_model_native_size (model) * 4;
  max = MAX (step, MIN (max, 2048) / step * step); /* the core caps at 2048x2048 pixels */
  double s = MIN (1.0, (double) max / MAX (w, h));
  *run_w = snap (w * s, step, max);
  *run_h = snap (h * s, step, max);
}
