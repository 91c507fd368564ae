/* Private state of the OpenCL backend: one device, its context, queue,
 * program and kernels, the model's weights on it, and a pool of scratch
 * buffers. Errors are sticky (darktable-like): every launch after the first
 * failure is skipped and the caller checks d7cl_failed() at sync points. */
#ifndef DIR7_CL_RUNTIME_H
#define DIR7_CL_RUNTIME_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "model.h"

typedef struct {
  cl_mem mem;
  size_t size;                  /* bytes */
  gboolean busy;
} D7ClScratch;

typedef struct {
  guint64 count, ns;            /* launches, device time */
} D7ClProfile;

typedef struct {
  cl_platform_id platform;
  cl_device_id device;
  cl_context ctx;
  cl_command_queue queue;
  cl_program program;
  char *name;                   /* the device's name, for messages */
  char *spec;                   /* what the caller asked for */
  int head_n;                   /* the program was built for this head size */
  int compute_units;
  gboolean is_cpu;              /* a CPU device (PoCL): no chunked WKV, it only adds work */
  int tile;                     /* GEMM/conv tile: 0 chooses per launch, or 32 / 64 */
  struct {
    cl_kernel gemm, gemm32, conv3, conv1, conv3_32, conv1_32, group_norm, layer_norm, key_update, head_out, shift_mix,
              lerp, transpose, activation, copy_into, wkv7, guide_x0, sampler_step,
              mask_blend, to_half, gemm_h, gemm32_h, conv3_h, conv1_h, conv3_32_h, conv1_32_h;
  } k;
  /* the chunked WKV-7 kernels, NULL for head sizes they are not built for */
  cl_kernel wkv7_prep, wkv7_state, wkv7_out;
  GHashTable *weights;          /* host pointer -> cl_mem (uploaded once) */
  GHashTable *weights_h;        /* the same for matrices stored as fp16 */
  gboolean fp16;                /* GEMM/conv weight matrices stored in fp16 */
  GArray *scratch;              /* D7ClScratch */
  size_t bytes_now, bytes_peak; /* device memory of our buffers (benchmarks) */
  GHashTable *profile;          /* DIR7_CL_PROFILE=1: kernel name -> D7ClProfile */
  cl_int err;                   /* first OpenCL error, CL_SUCCESS while none */
  char *err_where;
} D7Cl;

/* cl_device.c: the platform/device list and the choice among it */
gboolean d7cl_pick_device (const char *spec, cl_platform_id *platform,
                           cl_device_id *device, GError **error);
char *d7cl_device_string (cl_device_id device, const char *key);

/* cl_program.c: builds (or loads from the user's cache) the program */
cl_program d7cl_build_program (cl_context ctx, cl_device_id device, int head_n,
                               GError **error);

/* cl_context.c */
D7Cl *d7cl_new (const char *spec, int head_n, GError **error);
void d7cl_free (D7Cl *cl);
gboolean d7cl_check (D7Cl *cl, cl_int err, const char *where);
gboolean d7cl_failed (D7Cl *cl);
/* sets error from the sticky failure: DIR7_ERROR_DEVICE, naming the call */
void d7cl_set_error (D7Cl *cl, GError **error);
/* a weight uploaded once and cached under its host address, so valid while
 * that array lives (the model's); forget them before freeing such an array */
cl_mem d7cl_weight (D7Cl *cl, const float *host, size_t n);
/* a GEMM/conv weight matrix: fp16 on the device when cl->fp16, else as d7cl_weight */
cl_mem d7cl_weight_matrix (D7Cl *cl, const float *host, size_t n);
/* vectors concatenated [nm][D] (NULL ones as zeros), uploaded once under
 * key: an address inside the model's layer struct, distinct from weights */
cl_mem d7cl_weight_cat (D7Cl *cl, gconstpointer key, const float *const *host, int nm, int D);
/* drops the uploaded weights (the tests, whose host arrays come and go) */
void d7cl_forget_weights (D7Cl *cl);
cl_mem d7cl_tmp (D7Cl *cl, size_t nfloats);
void d7cl_scratch_free (D7Cl *cl);                             /* the whole pool */
void d7cl_release (D7Cl *cl, cl_mem m);
cl_mem d7cl_upload (D7Cl *cl, const float *host, size_t n);   /* a new buffer */
void d7cl_mem_free (D7Cl *cl, cl_mem m);                       /* frees one of those */
void d7cl_write (D7Cl *cl, cl_mem m, const float *host, size_t n);
void d7cl_read (D7Cl *cl, cl_mem m, float *host, size_t n);   /* blocking */
/* fault injection for the tests: DIR7_CL_FAULT=build|alloc|lost */
gboolean d7cl_fault (const char *what);

#endif
