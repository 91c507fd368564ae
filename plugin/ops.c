/* generate / img2img / inpaint: read pixels, run the model at a size it
 * supports, scale back with GIMP's interpolation, insert new layers. All the
 * computing happens before the image is touched. */
#include "ops.h"
#include "i18n.h"
#include "layers.h"
#include "model.h"

#include <string.h>

#define NAME_CHARS 48

gboolean
plug_ops_area (const PlugArgs *args, GimpImage *image, GimpDrawable *drawable,
               PlugArea *a, GError **error)
{
  memset (a, 0, sizeof *a);
  a->has_selection = !gimp_selection_is_empty (image);
  if (args->mode == PLUG_GENERATE) {
    gboolean non_empty;
    int x1, y1, x2, y2;
    if (a->has_selection && gimp_selection_bounds (image, &non_empty, &x1, &y1, &x2, &y2) &&
        non_empty) {
      a->x = x1, a->y = y1, a->w = x2 - x1, a->h = y2 - y1;
    } else {
      a->w = gimp_image_get_width (image);
      a->h = gimp_image_get_height (image);
    }
    if (args->width > 0)
      a->w = args->width;
    if (args->height > 0)
      a->h = args->height;
    return TRUE;
  }
  if (!drawable) {
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0, _("Select one layer to work on."));
    return FALSE;
  }
  if (args->mode == PLUG_INPAINT && !a->has_selection) {
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                 _("Inpainting regenerates the selected area: select it first."));
    return FALSE;
  }
  if (!gimp_drawable_mask_intersect (drawable, &a->dx, &a->dy, &a->w, &a->h) ||
      a->w <= 0 || a->h <= 0) {
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                 _("The selection does not touch the layer “%s”."),
                 gimp_item_get_name (GIMP_ITEM (drawable)));
    return FALSE;
  }
  int ox = 0, oy = 0;
  gimp_drawable_get_offsets (drawable, &ox, &oy);
  a->x = ox + a->dx;
  a->y = oy + a->dy;
  return TRUE;
}

char *
plug_ops_layer_name (const char *prompt, guint64 seed)
{
  char *text = g_strstrip (g_strdup (prompt ? prompt : ""));
  for (char *p = text; *p; p++)  /* one line in the Layers dialog */
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  if (g_utf8_strlen (text, -1) > NAME_CHARS) {
    char *cut = g_utf8_substring (text, 0, NAME_CHARS);
    g_free (text);
    text = g_strconcat (cut, "…", NULL);
    g_free (cut);
  }
  char *num = g_strdup_printf ("%" G_GUINT64_FORMAT, seed);
  /* TRANSLATORS: a new layer's name: the prompt, then the seed */
  char *name = g_strdup_printf (_("%s (seed %s)"), *text ? text : _("DIR-7"), num);
  g_free (num);
  g_free (text);
  return name;
}

/* The mask resampled through the RGBA scaler (grey in R, G, B). */
static float *
scale_mask (const float *m, int w, int h, int nw, int nh, GError **error)
{
  float *rgba = layers_alloc (w, h, 4, error);
  if (!rgba)
    return NULL;
  for (gsize i = 0; i < (gsize) w * h; i++)
    rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = m[i], rgba[i * 4 + 3] = 1.f;
  float *s = layers_scale (rgba, w, h, nw, nh, error);
  g_free (rgba);
  if (!s)
    return NULL;
  float *out = g_new (float, (gsize) nw * nh);
  for (gsize i = 0; i < (gsize) nw * nh; i++)
    out[i] = CLAMP (s[i * 4], 0.f, 1.f);
  g_free (s);
  return out;
}

/* Outside the mask the original pixels, exactly; inside the model's. */
static void
composite (float *out, const float *orig, const float *mask, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    float m = mask[i];
    for (int c = 0; c < 4; c++)
      out[i * 4 + c] = m >= 1.f ? out[i * 4 + c]
                     : m <= 0.f ? orig[i * 4 + c]
                     : m * out[i * 4 + c] + (1.f - m) * orig[i * 4 + c];
  }
}

static void
apply_mask (float *rgba, const float *mask, gsize n)
{
  for (gsize i = 0; i < n; i++)
    for (int c = 0; c < 4; c++)
      rgba[i * 4 + c] *= mask[i];
}

static void
set_run_error (GError **error, GError *err, int w, int h)
{
  if (g_error_matches (err, DIR7_ERROR, DIR7_ERROR_NO_MEMORY))
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY,
                 _("Not enough memory to run the model at %d × %d pixels. Try a smaller "
                   "selection or fewer steps, or close other programs. (%s)"),
                 w, h, err->message);
  else if (g_error_matches (err, DIR7_ERROR, DIR7_ERROR_CANCELLED))
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_CANCELLED, _("Cancelled; the image is unchanged."));
  else
    g_set_error (error, err->domain, err->code, _("The model could not run: %s"), err->message);
  g_error_free (err);
}

GimpLayer **
plug_ops_run (const PlugArgs *args, GimpImage *image, GimpDrawable *drawable,
              const PlugHooks *hooks, GError **error)
{
  PlugArea area;
  if (!plug_ops_area (args, image, drawable, &area, error))
    return NULL;
  Dir7Model *model = plug_model_get (args->model_path, error);
  if (!model)
    return NULL;
  int rw, rh;
  plug_model_run_size (model, area.w, area.h, &rw, &rh);
  gboolean scaled = rw != area.w || rh != area.h;
  gsize n = (gsize) area.w * area.h;

  /* Fail before the slow part when the full-size results cannot fit: the
   * untouched probe costs nothing, but the kernel refuses absurd sizes. */
  float *probe = layers_alloc (area.w, area.h, 4 * (args->batch + 2), error);
  if (!probe)
    return NULL;
  g_free (probe);

  float *orig = NULL, *mask = NULL, *init = NULL, *mask_run = NULL;
  GPtrArray *results = g_ptr_array_new_with_free_func (g_free);
  GimpLayer **layers = NULL;
  GError *err = NULL;

  gimp_progress_init (args->mode == PLUG_GENERATE ? _("DIR-7: generating")
                      : args->mode == PLUG_IMG2IMG ? _("DIR-7: image to image")
                      : _("DIR-7: inpainting"));
  if (args->mode != PLUG_GENERATE) {
    if (!(orig = layers_read_region (drawable, area.dx, area.dy, area.w, area.h, error)) ||
        !(mask = layers_read_selection (image, area.x, area.y, area.w, area.h, error)))
      goto out;
    init = scaled ? layers_scale (orig, area.w, area.h, rw, rh, error) : g_memdup2 (orig, n * 16);
    if (!init)
      goto out;
    if (args->mode == PLUG_INPAINT) {
      mask_run = scaled ? scale_mask (mask, area.w, area.h, rw, rh, error)
                        : g_memdup2 (mask, n * sizeof (float));
      if (!mask_run)
        goto out;
    }
  }

  for (int b = 0; b < args->batch; b++) {
    Dir7GenerateParams p;
    dir7_generate_params_init (&p);
    p.prompt = args->prompt;
    p.negative_prompt = args->negative;
    p.steps = args->steps;
    p.sampler = args->sampler;
    p.guidance = (float) args->guidance;
    p.seed = (guint64) args->seed + b;
    p.width = rw;
    p.height = rh;
    p.device = args->device;
    if (args->mode != PLUG_GENERATE) {
      p.strength = (float) args->strength;
      p.init_image = init;
      p.mask = mask_run;
    }
    if (args->batch > 1)
      gimp_progress_set_text_printf (_("DIR-7: image %d of %d"), b + 1, args->batch);
    g_debug ("dir7: run %d x %d, batch %d/%d", rw, rh, b + 1, args->batch);
    float *res = plug_run_generate (model, &p, hooks, (double) b / args->batch,
                                    1.0 / args->batch, &err);
    if (!res) {
      set_run_error (error, err, rw, rh);
      goto out;
    }
    if (scaled) {
      float *up = layers_scale (res, rw, rh, area.w, area.h, error);
      g_free (res);
      if (!(res = up))
        goto out;
    }
    if (args->mode == PLUG_INPAINT)
      composite (res, orig, mask, n);
    else if (args->mode == PLUG_IMG2IMG && area.has_selection)
      apply_mask (res, mask, n); /* only inside the selection, feathering kept */
    g_ptr_array_add (results, res);
  }
  gimp_progress_update (1.0);

  g_debug ("dir7: computed, inserting layers");
  /* everything computed: now the one undoable change to the image */
  layers = g_new0 (GimpLayer *, args->batch + 1);
  gimp_image_undo_group_start (image);
  for (int b = 0; b < args->batch; b++) {
    char *name = plug_ops_layer_name (args->prompt, (guint64) args->seed + b);
    layers[b] = layers_insert_new (image, name, results->pdata[b], area.w, area.h,
                                   area.x, area.y, drawable, error);
    g_free (name);
    if (!layers[b]) {
      for (int i = 0; i < b; i++)  /* back out, inside the same group */
        gimp_image_remove_layer (image, layers[i]);
      g_clear_pointer (&layers, g_free);
      break;
    }
  }
  gimp_image_undo_group_end (image);

out:
  gimp_progress_end ();
  g_ptr_array_free (results, TRUE);
  g_free (orig);
  g_free (mask);
  g_free (init);
  g_free (mask_run);
  return layers;
}
