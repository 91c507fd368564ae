/* PNG in and out through libpng: straight alpha on disk, premultiplied
 * RGBA floats in [0,1] in memory. */
#ifndef DIR7_PNG_IO_H
#define DIR7_PNG_IO_H

#include <glib.h>

#define D7_PNG_MAX_SIDE 8192

float   *d7_png_load (const char *path, int *width, int *height, GError **error);
gboolean d7_png_save (const char *path, const float *premul_rgba, int width, int height,
                      GError **error);
/* One value per pixel in [0,1]: luminance times alpha (white = regenerate). */
float   *d7_png_load_mask (const char *path, int *width, int *height, GError **error);

#endif
