/* Shows a premultiplied RGBA float image in a GtkImage, over a checkerboard:
 * the model's live estimate, or the input of img2img / inpaint. */
#ifndef DIR7_UI_PREVIEW_H
#define DIR7_UI_PREVIEW_H

#include <libgimp/gimp.h>
#include <gtk/gtk.h>

void plug_preview_show (GtkWidget *image, const float *rgba, int w, int h, int size);

/* The drawable-relative rectangle, read already scaled down to @size. */
void plug_preview_show_drawable (GtkWidget *image, GimpDrawable *drawable,
                                 int x, int y, int w, int h, int size);

#endif
