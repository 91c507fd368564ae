/* Builds the kernels for a device, keeping the binary in the user's cache
 * directory ($XDG_CACHE_HOME/dir7/opencl) under a key made of the device,
 * its driver, the build options and the source, so a driver update or a new
 * release rebuilds. A cache that cannot be read or written only costs time. */
#include "cl_runtime.h"

#include <string.h>

extern const char d7cl_source[];   /* the kernels directory, embedded at build time */

static char *
cache_path (cl_device_id device, const char *options)
{
  char *name = d7cl_device_string (device, "name"), *drv = d7cl_device_string (device, "driver");
  char *ver = d7cl_device_string (device, "version");
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *parts[] = { name, drv, ver, options, d7cl_source };
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    g_checksum_update (sum, (const guchar *) parts[i], strlen (parts[i]) + 1);
  char *path = g_build_filename (g_get_user_cache_dir (), "dir7", "opencl",
                                 g_checksum_get_string (sum), NULL);
  g_checksum_free (sum);
  g_free (name); g_free (drv); g_free (ver);
  return path;
}

static cl_program
from_cache (cl_context ctx, cl_device_id device, const char *path, const char *options)
{
  gchar *bin = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &bin, &len, NULL) || len == 0) {
    g_free (bin);
    return NULL;
  }
  const unsigned char *b = (const unsigned char *) bin;
  cl_int st = CL_SUCCESS, err;
  cl_program prog = clCreateProgramWithBinary (ctx, 1, &device, &len, &b, &st, &err);
  g_free (bin);
  if (err != CL_SUCCESS || st != CL_SUCCESS)
    return NULL;
  if (clBuildProgram (prog, 1, &device, options, NULL, NULL) != CL_SUCCESS) {
    clReleaseProgram (prog);
    return NULL;
  }
  return prog;
}

static void
to_cache (cl_program prog, const char *path)
{
  size_t len = 0;
  if (clGetProgramInfo (prog, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || !len)
    return;
  unsigned char *bin = g_malloc (len);
  if (clGetProgramInfo (prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
    char *dir = g_path_get_dirname (path);
    if (g_mkdir_with_parents (dir, 0700) == 0)
      g_file_set_contents (path, (const char *) bin, (gssize) len, NULL);   /* atomic */
    g_free (dir);
  }
  g_free (bin);
}

cl_program
d7cl_build_program (cl_context ctx, cl_device_id device, int head_n, GError **error)
{
  char *options = g_strdup_printf ("-cl-std=CL1.2 -DHEAD_N=%d", head_n);
  char *path = cache_path (device, options);
  cl_program prog = d7cl_fault ("build") ? NULL : from_cache (ctx, device, path, options);
  if (!prog) {
    cl_int err;
    const char *src = d7cl_source;
    prog = clCreateProgramWithSource (ctx, 1, &src, NULL, &err);
    if (err == CL_SUCCESS && !d7cl_fault ("build"))
      err = clBuildProgram (prog, 1, &device, options, NULL, NULL);
    else if (err == CL_SUCCESS)
      err = CL_BUILD_PROGRAM_FAILURE;
    if (err != CL_SUCCESS) {
      size_t n = 0;
      char *log = NULL;
      if (prog && clGetProgramBuildInfo (prog, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) == CL_SUCCESS && n) {
        log = g_malloc0 (n + 1);
        clGetProgramBuildInfo (prog, device, CL_PROGRAM_BUILD_LOG, n, log, NULL);
      }
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                   "the OpenCL kernels failed to build on this device (error %d)%s%.2000s",
                   err, log && *log ? ":\n" : "", log ? log : "");
      g_free (log);
      if (prog)
        clReleaseProgram (prog);
      prog = NULL;
    } else {
      to_cache (prog, path);
    }
  }
  g_free (options);
  g_free (path);
  return prog;
}
