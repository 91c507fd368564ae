/* GEGL buffer I/O for the plug-in. Pixels travel as premultiplied non-linear
 * RGBA float, which is what libdir7 takes and returns. */
#include "layers.h"
#include "dir7.h"
#include "i18n.h"

#define RGBA_PREMUL "R'aG'aB'aA float"

/* The drawable's own colour space for RGB images, so the values pass through
 * unconverted; sRGB for grey images (GEGL converts to grey). */
static const Babl *
rgba_format (GimpDrawable *drawable)
{
  if (gimp_drawable_is_rgb (drawable))
    return babl_format_with_space (RGBA_PREMUL, gimp_drawable_get_format (drawable));
  return babl_format (RGBA_PREMUL);
}

static void
set_pdb_error (GError **error, const char *what)
{
  const char *msg = gimp_pdb_get_last_error (gimp_get_pdb ());
  g_set_error (error, GIMP_PLUG_IN_ERROR, 0, "%s: %s", what, msg ? msg : "?");
}

float *
layers_alloc (int w, int h, int channels, GError **error)
{
  float *p = g_try_new (float, (gsize) w * h * channels);
  if (!p)
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY,
                 _("Not enough memory for a %d × %d image. Try a smaller selection or "
                   "layer size."), w, h);
  return p;
}

float *
layers_read_region (GimpDrawable *drawable, int x, int y, int w, int h, GError **error)
{
  float *px = layers_alloc (w, h, 4, error);
  if (!px)
    return NULL;
  GeglBuffer *buf = gimp_drawable_get_buffer (drawable);
  gegl_buffer_get (buf, GEGL_RECTANGLE (x, y, w, h), 1.0, rgba_format (drawable), px,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buf);
  return px;
}

float *
layers_read_selection (GimpImage *image, int x, int y, int w, int h, GError **error)
{
  float *m = layers_alloc (w, h, 1, error);
  if (!m)
    return NULL;
  if (gimp_selection_is_empty (image)) {
    for (gsize i = 0; i < (gsize) w * h; i++)
      m[i] = 1.f;
    return m;
  }
  GeglBuffer *buf = gimp_drawable_get_buffer (GIMP_DRAWABLE (gimp_image_get_selection (image)));
  gegl_buffer_get (buf, GEGL_RECTANGLE (x, y, w, h), 1.0, babl_format ("Y float"), m,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buf);
  return m;
}

static GimpImageType
layer_type (GimpImage *image)
{
  return gimp_image_get_base_type (image) == GIMP_GRAY ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
}

GimpLayer *
layers_insert_new (GimpImage *image, const char *name, const float *rgba,
                   int w, int h, int x, int y, GimpDrawable *above, GError **error)
{
  GimpLayer *layer = gimp_layer_new (image, name, w, h, layer_type (image), 100.0,
                                     gimp_image_get_default_new_layer_mode (image));
  if (!layer) {
    set_pdb_error (error, _("Could not create a layer"));
    return NULL;
  }
  GimpLayer *parent = NULL;
  int position = 0;
  if (above && GIMP_IS_LAYER (above)) {
    parent = GIMP_LAYER (gimp_item_get_parent (GIMP_ITEM (above)));
    position = gimp_image_get_item_position (image, GIMP_ITEM (above));
  }
  if (!gimp_image_insert_layer (image, layer, parent, position)) {
    set_pdb_error (error, _("Could not add the layer to the image"));
    gimp_item_delete (GIMP_ITEM (layer));
    return NULL;
  }
  gimp_layer_set_offsets (layer, x, y);

  GeglBuffer *buf = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_set (buf, GEGL_RECTANGLE (0, 0, w, h), 0, rgba_format (GIMP_DRAWABLE (layer)),
                   rgba, GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buf); /* flushes the tiles to GIMP */
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, w, h);
  return layer;
}

float *
layers_scale (const float *rgba, int w, int h, int new_w, int new_h, GError **error)
{
  /* float precision so nothing is quantised on the way through */
  GimpImage *tmp = gimp_image_new_with_precision (w, h, GIMP_RGB, GIMP_PRECISION_FLOAT_NON_LINEAR);
  if (!tmp) {
    set_pdb_error (error, _("Could not create a scratch image for scaling"));
    return NULL;
  }
  gimp_image_undo_disable (tmp);
  GimpLayer *layer = gimp_layer_new (tmp, "scale", w, h, GIMP_RGBA_IMAGE, 100.0,
                                     GIMP_LAYER_MODE_NORMAL);
  float *out = NULL;
  if (!layer || !gimp_image_insert_layer (tmp, layer, NULL, 0)) {
    set_pdb_error (error, _("Could not create a scratch image for scaling"));
    goto done;
  }
  GeglBuffer *buf = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  gegl_buffer_set (buf, GEGL_RECTANGLE (0, 0, w, h), 0, babl_format (RGBA_PREMUL), rgba,
                   GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buf);

  gimp_context_push ();
  gimp_context_set_interpolation ((gint64) new_w * new_h >= (gint64) w * h
                                  ? GIMP_INTERPOLATION_NOHALO : GIMP_INTERPOLATION_LOHALO);
  gboolean ok = gimp_layer_scale (layer, new_w, new_h, FALSE);
  gimp_context_pop ();
  if (!ok) {
    set_pdb_error (error, _("Could not scale the image"));
    goto done;
  }
  if (!(out = layers_alloc (new_w, new_h, 4, error)))
    goto done;
  buf = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  /* the scaled layer may be offset by rounding: read from its own origin */
  gegl_buffer_get (buf, GEGL_RECTANGLE (0, 0, new_w, new_h), 1.0, babl_format (RGBA_PREMUL), out,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_CLAMP);
  g_object_unref (buf);
done:
  gimp_image_delete (tmp);
  return out;
}
