/* Which model file to use, loading it (cached), and the size it runs at. */
#ifndef DIR7_PLUGIN_MODEL_H
#define DIR7_PLUGIN_MODEL_H

#include <gio/gio.h>
#include "dir7.h"

/* The model parameter if set, else $DIR7_MODEL, else DIR7_DEFAULT_MODEL. g_free() it. */
char      *plug_model_path (const char *param);

/* Loads @path, or returns the model loaded for the same path and file
 * modification time before (owned by this module; do not free). The errors
 * say what the user can do. */
Dir7Model *plug_model_get (const char *path, GError **error);

/* The size the model runs at for a @w x @h result: the same aspect ratio,
 * sides multiples of the model's size step, at most 4x the native size. */
void       plug_model_run_size (Dir7Model *model, int w, int h, int *run_w, int *run_h);

#endif
