/* DIR-7 public API: load a model file, generate / img2img / inpaint on the CPU. */
#ifndef DIR7_H
#define DIR7_H

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define DIR7_ERROR (dir7_error_quark ())
GQuark dir7_error_quark (void);

typedef enum {
  DIR7_ERROR_MODEL_INVALID,    /* malformed or hostile model file */
  DIR7_ERROR_INVALID_ARGUMENT, /* bad size, steps, strength, ... */
  DIR7_ERROR_CANCELLED,        /* progress callback or GCancellable asked to stop */
  DIR7_ERROR_NO_MEMORY,        /* an allocation failed */
  DIR7_ERROR_DEVICE            /* no such OpenCL device, or it failed */
} Dir7Error;

typedef enum {
  DIR7_SAMPLER_DDPM,
  DIR7_SAMPLER_DDIM,
  DIR7_SAMPLER_DPMPP_2M
} Dir7Sampler;

typedef struct Dir7Model Dir7Model;

/* Called after each denoising step with the current clean-image estimate
 * (premultiplied RGBA in [0,1], width*height*4 interleaved; valid only during
 * the call). Return FALSE to cancel. */
typedef gboolean (*Dir7ProgressFunc) (int step, int total, const float *preview,
                                      gpointer user_data);

typedef struct {
  const char      *prompt;          /* UTF-8; "" is the unconditional prompt */
  const char      *negative_prompt; /* NULL or "" = unconditional */
  int              steps;           /* 1 .. 1000 */
  Dir7Sampler      sampler;
  float            guidance;        /* classifier-free guidance scale; 1 = off */
  guint64          seed;
  int              width, height;   /* multiples of the model's size step */
  float            strength;        /* img2img / inpaint: 0 < s <= 1 */
  const float     *init_image;      /* NULL, or premultiplied RGBA [0,1], w*h*4 */
  const float     *mask;            /* NULL, or w*h in [0,1]; 1 = regenerate */
  Dir7ProgressFunc progress;
  gpointer         progress_data;
  GCancellable    *cancellable;
  /* where to run: NULL or "cpu"; "auto" (an OpenCL GPU if there is one, else
   * the CPU); "opencl" (a GPU, else any OpenCL device, PoCL's CPU one too);
   * "opencl:N" or part of a device name (`dir7 devices`).
   * A device that is missing or fails falls back to the CPU. */
  const char      *device;
} Dir7GenerateParams;

void        dir7_generate_params_init (Dir7GenerateParams *params);
const char *dir7_sampler_name (Dir7Sampler sampler);
gboolean    dir7_sampler_from_name (const char *name, Dir7Sampler *sampler);

Dir7Model  *dir7_model_load (const char *path, GError **error);
void        dir7_model_free (Dir7Model *model);
/* Human-readable summary: config, parameter count, file size. g_free() it. */
char       *dir7_model_describe (const Dir7Model *model);
int         dir7_model_native_size (const Dir7Model *model);
int         dir7_model_size_step (const Dir7Model *model);

/* Returns a newly allocated premultiplied RGBA image in [0,1]
 * (width*height*4 floats, g_free() it), or NULL with error set. */
float      *dir7_generate (Dir7Model *model, const Dir7GenerateParams *params,
                           GError **error);

/* As dir7_generate; *report (if not NULL) gets where it ran, e.g.
 * "OpenCL: NVIDIA H100 80GB HBM3", "CPU", or "CPU (OpenCL: why not)". */
float      *dir7_generate_ex (Dir7Model *model, const Dir7GenerateParams *params,
                              char **report, GError **error);

/* The OpenCL devices, one line each ("INDEX: NAME (PLATFORM, TYPE, ...)"),
 * NULL-terminated (g_strfreev() it); NULL with an error when there are none
 * or this build has no OpenCL. */
char      **dir7_list_devices (GError **error);
/* Once, early in a program that generates (the CLI, the plug-in): keeps
 * freed buffers in the process instead of handing them back to the kernel
 * (glibc; nothing elsewhere). Process-wide, so the library never calls it. */
void        dir7_process_init (void);

G_END_DECLS

#endif
