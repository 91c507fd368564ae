/* The OpenCL backend as the rest of libdir7 sees it. Everything else in
 * opencl/ is private to it (cl_runtime.h). */
#ifndef DIR7_D7CL_H
#define DIR7_D7CL_H

#include "dir7.h"

/* One line per OpenCL device: "INDEX: NAME (PLATFORM, TYPE, MEM MiB)". */
char **d7cl_list_devices (GError **error);

/* Runs the whole generation on the OpenCL device that spec names ("auto": a
 * GPU; "opencl": a GPU, else any device; "opencl:N", "N" or part of a
 * device name). On a device failure
 * it returns NULL with DIR7_ERROR_DEVICE, on cancel DIR7_ERROR_CANCELLED.
 * *used gets the device's name. */
float *d7cl_generate (Dir7Model *m, const Dir7GenerateParams *p, const char *spec,
                      char **used, GError **error);

/* Frees the model's device state (weights on the device, programs). */
void d7cl_model_release (Dir7Model *m);

#endif
