/* safetensors reader: mmap, validate every offset/shape/dtype, give float32. */
#ifndef DIR7_SAFETENSORS_H
#define DIR7_SAFETENSORS_H

#include <glib.h>
#include <stdint.h>

/* I8: a weight stored as int8 with one scale per row (index of its first
 * dimension) in the tensor "<name>_scale" (F32, F16 or BF16, shape [rows]):
 * value = int8 * scale. Opening checks that every I8 tensor has its scale. */
typedef enum { D7_DTYPE_F32, D7_DTYPE_F16, D7_DTYPE_BF16, D7_DTYPE_I8 } D7Dtype;

typedef struct {
  char    *name;
  D7Dtype  dtype;
  int      ndim;          /* 0 .. 8 */
  int64_t  shape[8];
  size_t   numel;
  const guint8 *data;     /* points into the mapping */
  size_t   nbytes;
} D7TensorInfo;

typedef struct D7Safetensors D7Safetensors;

/* Opens and fully validates the file; NULL with DIR7_ERROR_MODEL_INVALID and
 * a message naming the problem (and the tensor) on any defect. */
D7Safetensors *d7_safetensors_open (const char *path, GError **error);
/* Same, for a file already in memory (tests, fuzzing); data must outlive it. */
D7Safetensors *d7_safetensors_open_bytes (const guint8 *data, size_t len,
                                          GError **error);
void d7_safetensors_close (D7Safetensors *st);

size_t d7_safetensors_count (const D7Safetensors *st);
const D7TensorInfo *d7_safetensors_nth (const D7Safetensors *st, size_t i);
const D7TensorInfo *d7_safetensors_find (const D7Safetensors *st, const char *name);
/* __metadata__ value for key, or NULL. */
const char *d7_safetensors_metadata (const D7Safetensors *st, const char *key);
size_t d7_safetensors_file_size (const D7Safetensors *st);

/* The tensor called name if its shape is exactly shape (ndim dims); else NULL
 * and a DIR7_ERROR_MODEL_INVALID error naming it. Reads no tensor data. */
const D7TensorInfo *d7_safetensors_check (const D7Safetensors *st, const char *name,
                                          int ndim, const int64_t *shape, GError **error);
/* The scale tensor of an I8 tensor ti ("<name>_scale"), else NULL. */
const D7TensorInfo *d7_safetensors_scale_of (const D7Safetensors *st, const D7TensorInfo *ti);
/* Converts a tensor to newly allocated float32 (g_free()); checks that its
 * shape is exactly the expected one (ndim dims) and every value is finite.
 * An I8 tensor comes back dequantised by its scale. */
float *d7_safetensors_get_f32 (const D7Safetensors *st, const char *name,
                               int ndim, const int64_t *shape, GError **error);

#endif
