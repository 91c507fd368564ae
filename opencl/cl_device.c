/* OpenCL device discovery: the list for `dir7 devices`, and the choice of
 * one by index, by name, or automatically (a GPU first, then any device). */
#include "cl_runtime.h"
#include "d7cl.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  cl_platform_id platform;
  cl_device_id device;
} Entry;

/* every device of every platform, in platform order */
static GArray *
enumerate (GError **error)
{
  cl_uint np = 0;
  cl_int err = clGetPlatformIDs (0, NULL, &np);
  if (err != CL_SUCCESS || np == 0) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                 "no OpenCL platform found (install an OpenCL driver, e.g. "
                 "pocl-opencl-icd or your GPU vendor's ICD)");
    return NULL;
  }
  cl_platform_id *plats = g_new (cl_platform_id, np);
  clGetPlatformIDs (np, plats, NULL);
  GArray *all = g_array_new (FALSE, FALSE, sizeof (Entry));
  for (cl_uint p = 0; p < np; p++) {
    cl_uint nd = 0;
    if (clGetDeviceIDs (plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || !nd)
      continue;
    cl_device_id *devs = g_new (cl_device_id, nd);
    clGetDeviceIDs (plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL);
    for (cl_uint d = 0; d < nd; d++) {
      Entry e = { plats[p], devs[d] };
      g_array_append_val (all, e);
    }
    g_free (devs);
  }
  g_free (plats);
  if (all->len == 0) {
    g_array_unref (all);
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE, "no OpenCL device found");
    return NULL;
  }
  return all;
}

char *
d7cl_device_string (cl_device_id device, const char *key)
{
  cl_device_info what = g_str_equal (key, "name") ? CL_DEVICE_NAME
                      : g_str_equal (key, "driver") ? CL_DRIVER_VERSION
                      : CL_DEVICE_VERSION;
  size_t n = 0;
  if (clGetDeviceInfo (device, what, 0, NULL, &n) != CL_SUCCESS || n == 0)
    return g_strdup ("?");
  char *s = g_malloc0 (n + 1);
  clGetDeviceInfo (device, what, n, s, NULL);
  return g_strstrip (s);
}

static char *
platform_name (cl_platform_id p)
{
  char buf[256] = "";
  clGetPlatformInfo (p, CL_PLATFORM_NAME, sizeof buf - 1, buf, NULL);
  return g_strstrip (g_strdup (buf));
}

static gboolean
is_gpu (cl_device_id d)
{
  cl_device_type t = 0;
  clGetDeviceInfo (d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
  return (t & CL_DEVICE_TYPE_GPU) != 0;
}

char **
d7cl_list_devices (GError **error)
{
  GArray *all = enumerate (error);
  if (!all)
    return NULL;
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < all->len; i++) {
    Entry *e = &g_array_index (all, Entry, i);
    char *name = d7cl_device_string (e->device, "name"), *plat = platform_name (e->platform);
    char *ver = d7cl_device_string (e->device, "version");
    cl_ulong mem = 0;
    clGetDeviceInfo (e->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    g_ptr_array_add (out, g_strdup_printf ("%u: %s (%s, %s, %s, %lu MiB)", i, name, plat,
                                           is_gpu (e->device) ? "GPU" : "CPU/other", ver,
                                           (unsigned long) (mem >> 20)));
    g_free (name); g_free (plat); g_free (ver);
  }
  g_ptr_array_add (out, NULL);
  g_array_unref (all);
  return (char **) g_ptr_array_free (out, FALSE);
}

gboolean
d7cl_pick_device (const char *spec, cl_platform_id *platform, cl_device_id *device,
                  GError **error)
{
  GArray *all = enumerate (error);
  if (!all)
    return FALSE;
  int pick = -1;
  gboolean gpu_only = g_ascii_strcasecmp (spec, "auto") == 0;
  const char *s = spec;
  if (g_str_has_prefix (s, "opencl"))
    s += 6;
  if (*s == ':')
    s++;
  if (*s == '\0' || g_ascii_strcasecmp (s, "auto") == 0) {
    pick = gpu_only ? -1 : 0;                   /* a GPU first, else the first */
    for (guint i = 0; i < all->len; i++)
      if (is_gpu (g_array_index (all, Entry, i).device)) {
        pick = (int) i;
        break;
      }
  } else if (g_ascii_isdigit (*s)) {
    char *end;
    long i = strtol (s, &end, 10);
    if (*end == '\0' && i >= 0 && i < (long) all->len)
      pick = (int) i;
  } else {                                      /* part of the name, any case */
    char *want = g_utf8_casefold (s, -1);
    for (guint i = 0; i < all->len && pick < 0; i++) {
      char *name = d7cl_device_string (g_array_index (all, Entry, i).device, "name");
      char *have = g_utf8_casefold (name, -1);
      if (strstr (have, want))
        pick = (int) i;
      g_free (name); g_free (have);
    }
    g_free (want);
  }
  if (pick < 0 && gpu_only) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE, "no OpenCL GPU found");
    g_array_unref (all);
    return FALSE;
  }
  if (pick < 0) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                 "no OpenCL device matches \"%s\" (see `dir7 devices`)", spec);
    g_array_unref (all);
    return FALSE;
  }
  *platform = g_array_index (all, Entry, pick).platform;
  *device = g_array_index (all, Entry, pick).device;
  g_array_unref (all);
  return TRUE;
}
