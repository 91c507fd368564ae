/* Live preview: the model's current clean-image estimate, scaled to fit. */
#include "preview.h"

static guchar
to_u8 (float v)
{
  return (guchar) (CLAMP (v, 0.f, 1.f) * 255.f + 0.5f);
}

void
plug_preview_show (GtkWidget *image, const float *rgba, int w, int h, int size)
{
  GdkPixbuf *pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, w, h);
  guchar *px = gdk_pixbuf_get_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const float *s = rgba + ((gsize) y * w + x) * 4;
      guchar *d = px + (gsize) y * stride + x * 4;
      float a = s[3], inv = a > 0.f ? 1.f / a : 0.f; /* GdkPixbuf is straight alpha */
      d[0] = to_u8 (s[0] * inv);
      d[1] = to_u8 (s[1] * inv);
      d[2] = to_u8 (s[2] * inv);
      d[3] = to_u8 (a);
    }
  double scale = MIN ((double) size / w, (double) size / h);
  int sw = MAX (1, (int) (w * scale)), sh = MAX (1, (int) (h * scale));
  /* small model outputs are shown as pixels, large ones smoothly */
  GdkPixbuf *shown = gdk_pixbuf_composite_color_simple (
    pb, sw, sh, scale >= 4.0 ? GDK_INTERP_NEAREST : GDK_INTERP_BILINEAR, 255, 8,
    0x999999, 0x666666);
  gtk_image_set_from_pixbuf (GTK_IMAGE (image), shown);
  g_object_unref (shown);
  g_object_unref (pb);
}

void
plug_preview_show_drawable (GtkWidget *image, GimpDrawable *drawable, int x, int y, int w,
                            int h, int size)
{
  /* GEGL reads at a reduced scale from its mipmaps: no full-size copy */
  double scale = MIN (1.0, MIN ((double) size / w, (double) size / h));
  int sw = MAX (1, (int) (w * scale)), sh = MAX (1, (int) (h * scale));
  float *px = g_new (float, (gsize) sw * sh * 4);
  GeglBuffer *buf = gimp_drawable_get_buffer (drawable);
  gegl_buffer_get (buf, GEGL_RECTANGLE ((int) (x * scale), (int) (y * scale), sw, sh), scale,
                   babl_format ("R'aG'aB'aA float"), px, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref (buf);
  plug_preview_show (image, px, sw, sh, size);
  g_free (px);
}
