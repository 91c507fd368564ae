/* The device state: context, queue, kernels, weights, scratch buffers, and
 * the sticky error every launch checks. */
#include "cl_runtime.h"

#include <stdlib.h>
#include <string.h>

gboolean
d7cl_fault (const char *what)
{
  const char *f = g_getenv ("DIR7_CL_FAULT");
  return f && g_str_equal (f, what);
}

gboolean
d7cl_check (D7Cl *cl, cl_int err, const char *where)
{
  if (err == CL_SUCCESS)
    return TRUE;
  if (cl->err == CL_SUCCESS) {
    cl->err = err;
    cl->err_where = g_strdup (where);
  }
  return FALSE;
}

gboolean
d7cl_failed (D7Cl *cl)
{
  return cl->err != CL_SUCCESS;
}

void
d7cl_set_error (D7Cl *cl, GError **error)
{
  const char *why;
  switch (cl->err) {
  case CL_MEM_OBJECT_ALLOCATION_FAILURE:
  case CL_OUT_OF_RESOURCES:
  case CL_OUT_OF_HOST_MEMORY:
  case CL_INVALID_BUFFER_SIZE:
    why = "out of device memory"; break;
  case CL_DEVICE_NOT_AVAILABLE:
    why = "device not available"; break;
  default:
    why = "device error"; break;
  }
  g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE, "OpenCL on %s: %s (error %d in %s)",
               cl->name ? cl->name : "?", why, cl->err, cl->err_where ? cl->err_where : "?");
}

static const char *const kernel_names[] = {
  "gemm_nt", "gemm_nt_32", "conv2d_k3", "conv2d_k1", "conv2d_k3_32", "conv2d_k1_32", "group_norm", "layer_norm", "key_update", "head_out", "shift_mix",
  "lerp_to", "transpose", "activation", "copy_into", "wkv7_recurrent", "guide_x0",
  "sampler_step", "mask_blend", "to_half", "gemm_nt_h", "gemm_nt_32_h", "conv2d_k3_h",
  "conv2d_k1_h", "conv2d_k3_32_h", "conv2d_k1_32_h",
};

D7Cl *
d7cl_new (const char *spec, int head_n, GError **error)
{
  D7Cl *cl = g_new0 (D7Cl, 1);
  cl_int err;
  cl->spec = g_strdup (spec);
  cl->head_n = head_n;
  cl->weights = g_hash_table_new (NULL, NULL);
  cl->weights_h = g_hash_table_new (NULL, NULL);
  /* fp32 weight matrices unless the caller decides (cl_generate.c does) */
  cl->fp16 = FALSE;
  cl->scratch = g_array_new (FALSE, TRUE, sizeof (D7ClScratch));
  if (g_strcmp0 (g_getenv ("DIR7_CL_PROFILE"), "1") == 0)   /* benchmarks: slows every launch */
    cl->profile = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  if (!d7cl_pick_device (spec, &cl->platform, &cl->device, error))
    goto fail;
  cl->name = d7cl_device_string (cl->device, "name");
  cl_uint cus = 1;
  clGetDeviceInfo (cl->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
  cl->compute_units = MAX (1, (int) cus);
  cl_device_type type = 0;
  clGetDeviceInfo (cl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  cl->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
  /* DIR7_CL_TILE=32|64 fixes the GEMM/conv tile (benchmarks and tests) */
  const char *tile = g_getenv ("DIR7_CL_TILE");
  cl->tile = tile && (atoi (tile) == 32 || atoi (tile) == 64) ? atoi (tile) : 0;
  if (head_n < 1 || head_n > 256 || (head_n & (head_n - 1))) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                 "head size %d is not supported by the OpenCL kernels", head_n);
    goto fail;
  }
  cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties) cl->platform, 0 };
  cl->ctx = clCreateContext (props, 1, &cl->device, NULL, NULL, &err);
  if (err == CL_SUCCESS)
    cl->queue = clCreateCommandQueue (cl->ctx, cl->device,
                                      cl->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
  if (err != CL_SUCCESS) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                 "could not open OpenCL device %s (error %d)", cl->name, err);
    goto fail;
  }
  cl->program = d7cl_build_program (cl->ctx, cl->device, head_n, error);
  if (!cl->program)
    goto fail;
  cl_kernel *ks = (cl_kernel *) &cl->k;
  G_STATIC_ASSERT (sizeof cl->k == G_N_ELEMENTS (kernel_names) * sizeof (cl_kernel));
  for (guint i = 0; i < G_N_ELEMENTS (kernel_names); i++) {
    ks[i] = clCreateKernel (cl->program, kernel_names[i], &err);
    if (err != CL_SUCCESS) {
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                   "OpenCL kernel %s is missing (error %d)", kernel_names[i], err);
      goto fail;
    }
  }
  if (head_n >= 16 && head_n <= 64) {
    cl->wkv7_prep = clCreateKernel (cl->program, "wkv7_chunk_prep", &err);
    if (err == CL_SUCCESS)
      cl->wkv7_state = clCreateKernel (cl->program, "wkv7_chunk_state", &err);
    if (err == CL_SUCCESS)
      cl->wkv7_out = clCreateKernel (cl->program, "wkv7_chunk_out", &err);
    if (err != CL_SUCCESS) {
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_DEVICE,
                   "OpenCL chunked WKV-7 kernels are missing (error %d)", err);
      goto fail;
    }
  }
  return cl;
fail:
  d7cl_free (cl);
  return NULL;
}

void
d7cl_free (D7Cl *cl)
{
  if (!cl)
    return;
  if (cl->queue)
    clFinish (cl->queue);
  cl_kernel *ks = (cl_kernel *) &cl->k;
  for (guint i = 0; i < G_N_ELEMENTS (kernel_names); i++)
    if (ks[i])
      clReleaseKernel (ks[i]);
  cl_kernel chunked[] = { cl->wkv7_prep, cl->wkv7_state, cl->wkv7_out };
  for (guint i = 0; i < G_N_ELEMENTS (chunked); i++)
    if (chunked[i])
      clReleaseKernel (chunked[i]);
  d7cl_forget_weights (cl);
  g_hash_table_destroy (cl->weights);
  g_hash_table_destroy (cl->weights_h);
  d7cl_scratch_free (cl);
  g_array_unref (cl->scratch);
  if (cl->program)
    clReleaseProgram (cl->program);
  if (cl->queue)
    clReleaseCommandQueue (cl->queue);
  if (cl->ctx)
    clReleaseContext (cl->ctx);
  if (cl->profile)
    g_hash_table_destroy (cl->profile);
  g_free (cl->name);
  g_free (cl->spec);
  g_free (cl->err_where);
  g_free (cl);
}

static cl_mem
create (D7Cl *cl, size_t bytes, const char *where)
{
  if (cl->err)
    return NULL;
  cl_int err = CL_SUCCESS;
  cl_mem m = NULL;
  if (d7cl_fault ("alloc"))
    err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
  else
    m = clCreateBuffer (cl->ctx, CL_MEM_READ_WRITE, MAX (bytes, 4), NULL, &err);
  d7cl_check (cl, err, where);
  if (err == CL_SUCCESS) {
    cl->bytes_now += MAX (bytes, 4);
    cl->bytes_peak = MAX (cl->bytes_peak, cl->bytes_now);
  }
  return err == CL_SUCCESS ? m : NULL;
}

void
d7cl_write (D7Cl *cl, cl_mem m, const float *host, size_t n)
{
  if (!cl->err)
    d7cl_check (cl, clEnqueueWriteBuffer (cl->queue, m, CL_TRUE, 0, n * sizeof (float), host,
                                          0, NULL, NULL), "write");
}

void
d7cl_read (D7Cl *cl, cl_mem m, float *host, size_t n)
{
  if (!cl->err)
    d7cl_check (cl, clEnqueueReadBuffer (cl->queue, m, CL_TRUE, 0, n * sizeof (float), host,
                                         0, NULL, NULL), "read");
}

cl_mem
d7cl_upload (D7Cl *cl, const float *host, size_t n)
{
  cl_mem m = create (cl, n * sizeof (float), "upload");
  if (m)
    d7cl_write (cl, m, host, n);
  return m;
}

cl_mem
d7cl_weight (D7Cl *cl, const float *host, size_t n)
{
  cl_mem m = g_hash_table_lookup (cl->weights, host);
  if (!m && (m = d7cl_upload (cl, host, n)))
    g_hash_table_insert (cl->weights, (gpointer) host, m);
  return m;
}

cl_mem
d7cl_weight_matrix (D7Cl *cl, const float *host, size_t n)
{
  if (!cl->fp16)
    return d7cl_weight (cl, host, n);
  cl_mem m = g_hash_table_lookup (cl->weights_h, host);
  if (m)
    return m;
  cl_mem f = d7cl_upload (cl, host, n);
  m = create (cl, n * sizeof (cl_half), "fp16 weights");
  if (f && m) {                 /* converted on the device: its own rounding */
    cl_int ni = (cl_int) n;
    size_t l = 256, g = (n + 255) / 256 * 256;
    d7cl_check (cl, clSetKernelArg (cl->k.to_half, 0, sizeof ni, &ni), "clSetKernelArg");
    d7cl_check (cl, clSetKernelArg (cl->k.to_half, 1, sizeof f, &f), "clSetKernelArg");
    d7cl_check (cl, clSetKernelArg (cl->k.to_half, 2, sizeof m, &m), "clSetKernelArg");
    if (!cl->err)
      d7cl_check (cl, clEnqueueNDRangeKernel (cl->queue, cl->k.to_half, 1, NULL, &g, &l, 0,
                                              NULL, NULL), "to_half");
    g_hash_table_insert (cl->weights_h, (gpointer) host, m);
  } else {
    d7cl_mem_free (cl, m);
    m = NULL;
  }
  d7cl_mem_free (cl, f);        /* OpenCL keeps it until the conversion has run */
  return m;
}

cl_mem
d7cl_weight_cat (D7Cl *cl, gconstpointer key, const float *const *host, int nm, int D)
{
  cl_mem m = g_hash_table_lookup (cl->weights, key);
  if (m)
    return m;
  float *cat = g_new0 (float, (size_t) nm * D);
  for (int i = 0; i < nm; i++)
    if (host[i])
      memcpy (cat + (size_t) i * D, host[i], sizeof (float) * D);
  if ((m = d7cl_upload (cl, cat, (size_t) nm * D)))
    g_hash_table_insert (cl->weights, (gpointer) key, m);
  g_free (cat);
  return m;
}

void
d7cl_mem_free (D7Cl *cl, cl_mem m)
{
  size_t bytes = 0;
  if (!m)
    return;
  if (clGetMemObjectInfo (m, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) == CL_SUCCESS)
    cl->bytes_now -= MIN (bytes, cl->bytes_now);
  clReleaseMemObject (m);
}

static void
free_uploads (D7Cl *cl, GHashTable *uploads)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, uploads);
  while (g_hash_table_iter_next (&it, &k, &v))
    d7cl_mem_free (cl, v);
  g_hash_table_remove_all (uploads);
}

void
d7cl_forget_weights (D7Cl *cl)
{
  free_uploads (cl, cl->weights);
  free_uploads (cl, cl->weights_h);
}

void
d7cl_scratch_free (D7Cl *cl)
{
  for (guint i = 0; i < cl->scratch->len; i++)
    d7cl_mem_free (cl, g_array_index (cl->scratch, D7ClScratch, i).mem);
  g_array_set_size (cl->scratch, 0);
}

cl_mem
d7cl_tmp (D7Cl *cl, size_t nfloats)
{
  size_t bytes = MAX (nfloats, 1) * sizeof (float);
  int best = -1;
  for (guint i = 0; i < cl->scratch->len; i++) {
    D7ClScratch *s = &g_array_index (cl->scratch, D7ClScratch, i);
    if (!s->busy && s->size >= bytes &&
        (best < 0 || s->size < g_array_index (cl->scratch, D7ClScratch, best).size))
      best = (int) i;
  }
  if (best >= 0) {
    g_array_index (cl->scratch, D7ClScratch, best).busy = TRUE;
    return g_array_index (cl->scratch, D7ClScratch, best).mem;
  }
  cl_mem m = create (cl, bytes, "scratch buffer");
  if (!m)
    return NULL;
  D7ClScratch s = { m, bytes, TRUE };
  g_array_append_val (cl->scratch, s);
  return m;
}

void
d7cl_release (D7Cl *cl, cl_mem m)
{
  for (guint i = 0; i < cl->scratch->len; i++)
    if (g_array_index (cl->scratch, D7ClScratch, i).mem == m)
      g_array_index (cl->scratch, D7ClScratch, i).busy = FALSE;
}
