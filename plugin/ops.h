/* The three operations on an image: generate, img2img and inpaint. Each adds
 * new layers in one undo group and changes nothing else; on any error or
 * cancel the image is left exactly as it was. */
#ifndef DIR7_PLUGIN_OPS_H
#define DIR7_PLUGIN_OPS_H

#include <libgimp/gimp.h>
#include "params.h"
#include "runner.h"

typedef struct {
  int x, y, w, h;   /* the result's rectangle, image coordinates */
  int dx, dy;       /* the same rectangle relative to the drawable */
  gboolean has_selection;
} PlugArea;

/* Where the result goes (generate: explicit size, else the selection bounds,
 * else the image; img2img / inpaint: the drawable inside the selection). */
gboolean    plug_ops_area (const PlugArgs *args, GimpImage *image, GimpDrawable *drawable,
                           PlugArea *area, GError **error);

/* Runs the operation. Returns the new layers (NULL-terminated, g_free() the
 * array) or NULL with @error set; DIR7_ERROR_CANCELLED when stopped. */
GimpLayer **plug_ops_run (const PlugArgs *args, GimpImage *image, GimpDrawable *drawable,
                          const PlugHooks *hooks, GError **error);

/* "a red apple (seed 42)", shortened for the Layers dialog. g_free() it. */
char       *plug_ops_layer_name (const char *prompt, guint64 seed);

#endif
