/* Pixels in and out of GIMP: drawable regions and the selection as
 * premultiplied RGBA float, new layers from pixels, resampling with GIMP's
 * interpolation. */
#ifndef DIR7_PLUGIN_LAYERS_H
#define DIR7_PLUGIN_LAYERS_H

#include <libgimp/gimp.h>

/* @channels floats per pixel for a w x h image, or NULL with a
 * DIR7_ERROR_NO_MEMORY error: layers can be far larger than the model. */
float     *layers_alloc (int w, int h, int channels, GError **error);

/* Premultiplied R'G'B'A float, w*h*4, of the drawable-relative rectangle. */
float     *layers_read_region (GimpDrawable *drawable, int x, int y, int w, int h,
                               GError **error);

/* Selection values in [0,1], w*h, of an image rectangle; all 1 when the
 * selection is empty. */
float     *layers_read_selection (GimpImage *image, int x, int y, int w, int h,
                                  GError **error);

/* A new layer at (x, y) in image coordinates holding @rgba (premultiplied,
 * w*h*4), inserted above @above (a layer) or at the top. Not undone here:
 * the caller holds an undo group. */
GimpLayer *layers_insert_new (GimpImage *image, const char *name, const float *rgba,
                              int w, int h, int x, int y, GimpDrawable *above,
                              GError **error);

/* @rgba resampled from w x h to new_w x new_h in a scratch image (never the
 * user's), with NoHalo when enlarging and LoHalo when shrinking. */
float     *layers_scale (const float *rgba, int w, int h, int new_w, int new_h,
                         GError **error);

#endif
