/* libpng's simplified API does the decoding; this file only converts
 * between 8-bit straight alpha and premultiplied floats. */
#include "png_io.h"
#include "dir7.h"

#include <math.h>
#include <png.h>
#include <string.h>

static guint8 *
read_rgba8 (const char *path, int *width, int *height, GError **error)
{
  png_image img;
  memset (&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file (&img, path)) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT, "cannot read PNG '%s': %s",
                 path, img.message);
    return NULL;
  }
  if (img.width == 0 || img.height == 0 || img.width > D7_PNG_MAX_SIDE || img.height > D7_PNG_MAX_SIDE) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT,
                 "PNG '%s' is %u x %u: sizes from 1 to %d are supported", path, img.width,
                 img.height, D7_PNG_MAX_SIDE);
    png_image_free (&img);
    return NULL;
  }
  img.format = PNG_FORMAT_RGBA;
  guint8 *buf = g_try_malloc (PNG_IMAGE_SIZE (img));
  if (!buf || !png_image_finish_read (&img, NULL, buf, 0, NULL)) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT, "cannot decode PNG '%s': %s",
                 path, buf ? img.message : "out of memory");
    png_image_free (&img);
    g_free (buf);
    return NULL;
  }
  *width = (int) img.width;
  *height = (int) img.height;
  return buf;
}

float *
d7_png_load (const char *path, int *width, int *height, GError **error)
{
  guint8 *px = read_rgba8 (path, width, height, error);
  if (!px)
    return NULL;
  size_t n = (size_t) *width * *height;
  float *out = g_new (float, n * 4);
  for (size_t i = 0; i < n; i++) {
    float a = px[4 * i + 3] / 255.f;
    for (int c = 0; c < 3; c++)
      out[4 * i + c] = px[4 * i + c] / 255.f * a;
    out[4 * i + 3] = a;
  }
  g_free (px);
  return out;
}

float *
d7_png_load_mask (const char *path, int *width, int *height, GError **error)
{
  guint8 *px = read_rgba8 (path, width, height, error);
  if (!px)
    return NULL;
  size_t n = (size_t) *width * *height;
  float *out = g_new (float, n);
  for (size_t i = 0; i < n; i++) {
    float y = (0.2126f * px[4 * i] + 0.7152f * px[4 * i + 1] + 0.0722f * px[4 * i + 2]) / 255.f;
    out[i] = CLAMP (y * px[4 * i + 3] / 255.f, 0.f, 1.f);
  }
  g_free (px);
  return out;
}

static guint8
to8 (float v)
{
  return (guint8) lrintf (CLAMP (v, 0.f, 1.f) * 255.f);
}

gboolean
d7_png_save (const char *path, const float *premul, int width, int height, GError **error)
{
  size_t n = (size_t) width * height;
  guint8 *px = g_new (guint8, n * 4);
  for (size_t i = 0; i < n; i++) {
    float a = CLAMP (premul[4 * i + 3], 0.f, 1.f);
    for (int c = 0; c < 3; c++)
      px[4 * i + c] = a > 0.f ? to8 (premul[4 * i + c] / a) : 0;
    px[4 * i + 3] = to8 (a);
  }
  png_image img;
  memset (&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = (png_uint_32) width;
  img.height = (png_uint_32) height;
  img.format = PNG_FORMAT_RGBA;
  gboolean ok = png_image_write_to_file (&img, path, 0, px, 0, NULL) != 0;
  if (!ok)
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_INVALID_ARGUMENT, "cannot write PNG '%s': %s",
                 path, img.message);
  png_image_free (&img);
  g_free (px);
  return ok;
}
