/* The safetensors reader: exact values for F32/F16/BF16, and every kind of
 * malformed or hostile file rejected with a message that names the defect. */
#include "dir7.h"
#include "safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

static void
expect (gboolean ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  ok ? passed++ : failed++;
}

/* 8-byte length + header + data */
static GBytes *
make_file (const char *header, const void *data, size_t len)
{
  GByteArray *a = g_byte_array_new ();
  guint64 n = strlen (header);
  guint8 le[8];
  for (int i = 0; i < 8; i++)
    le[i] = (guint8) (n >> (8 * i));
  g_byte_array_append (a, le, 8);
  g_byte_array_append (a, (const guint8 *) header, (guint) n);
  if (len)
    g_byte_array_append (a, data, (guint) len);
  return g_byte_array_free_to_bytes (a);
}

static void
rejected (const char *what, GBytes *file, const char *word)
{
  GError *err = NULL;
  gsize n;
  const guint8 *d = g_bytes_get_data (file, &n);
  D7Safetensors *st = d7_safetensors_open_bytes (d, n, &err);
  expect (!st && err && strstr (err->message, word), what, err ? err->message : "accepted");
  d7_safetensors_close (st);
  g_clear_error (&err);
  g_bytes_unref (file);
}

static void
test_valid (void)
{
  /* F32 [2], F16 [4], BF16 [1] (2 bytes padding-free), metadata */
  float f32[2] = { 1.5f, -0.25f };
  guint16 f16[4] = { 0x3c00, 0xc100, 0x7bff, 0x0001 };   /* 1, -2.5, 65504, 2^-24 */
  guint16 bf16[1] = { 0x4049 };                         /* 3.140625 */
  guint8 data[8 + 8 + 2];
  memcpy (data, f32, 8);
  memcpy (data + 8, f16, 8);
  memcpy (data + 16, bf16, 2);
  GBytes *file = make_file ("{\"__metadata__\":{\"dir7.format\":\"1\"},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
                            "\"b\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[16,18]},"
                            "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[18,18]}}",
                            data, sizeof data);
  GError *err = NULL;
  gsize n;
  const guint8 *d = g_bytes_get_data (file, &n);
  D7Safetensors *st = d7_safetensors_open_bytes (d, n, &err);
  expect (st != NULL, "a valid file opens", err ? err->message : NULL);
  if (!st)
    return;
  expect (d7_safetensors_count (st) == 4, "four tensors", NULL);
  expect (g_strcmp0 (d7_safetensors_metadata (st, "dir7.format"), "1") == 0, "metadata read", NULL);
  float *a = d7_safetensors_get_f32 (st, "a", 1, (int64_t[]){ 2 }, &err);
  expect (a && a[0] == 1.5f && a[1] == -0.25f, "F32 values exact", NULL);
  float *h = d7_safetensors_get_f32 (st, "h", 2, (int64_t[]){ 2, 2 }, &err);
  expect (h && h[0] == 1.f && h[1] == -2.5f && h[2] == 65504.f && h[3] == ldexpf (1.f, -24),
          "F16 values exact (normal, max, subnormal)", NULL);
  float *b = d7_safetensors_get_f32 (st, "b", 0, NULL, &err);
  expect (b && b[0] == 3.140625f, "BF16 value exact", NULL);
  float *bad = d7_safetensors_get_f32 (st, "a", 2, (int64_t[]){ 1, 2 }, &err);
  expect (!bad && err && strstr (err->message, "[2]") && strstr (err->message, "[1, 2]"),
          "a shape mismatch names both shapes", err ? err->message : NULL);
  g_clear_error (&err);
  bad = d7_safetensors_get_f32 (st, "nope", 1, (int64_t[]){ 2 }, &err);
  expect (!bad && err && strstr (err->message, "'nope'"), "a missing tensor is named", err ? err->message : NULL);
  g_clear_error (&err);
  g_free (a); g_free (h); g_free (b);
  d7_safetensors_close (st);
  g_bytes_unref (file);
}

static void
test_nonfinite (void)
{
  float v[2] = { 1.f, NAN };
  float w[1] = { INFINITY };
  guint8 data[12];
  memcpy (data, v, 8);
  memcpy (data + 8, w, 4);
  GBytes *file = make_file ("{\"n\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"i\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", data, 12);
  gsize n;
  const guint8 *d = g_bytes_get_data (file, &n);
  GError *err = NULL;
  D7Safetensors *st = d7_safetensors_open_bytes (d, n, &err);
  float *x = st ? d7_safetensors_get_f32 (st, "n", 1, (int64_t[]){ 2 }, &err) : NULL;
  expect (!x && err && strstr (err->message, "non-finite") && strstr (err->message, "index 1"),
          "NaN weight rejected with its index", err ? err->message : NULL);
  g_clear_error (&err);
  x = st ? d7_safetensors_get_f32 (st, "i", 1, (int64_t[]){ 1 }, &err) : NULL;
  expect (!x && err && strstr (err->message, "non-finite"), "Inf weight rejected", err ? err->message : NULL);
  g_clear_error (&err);
  d7_safetensors_close (st);
  g_bytes_unref (file);
}

static void
test_hostile (void)
{
  guint8 zeros[64] = { 0 };
  rejected ("shorter than 8 bytes", g_bytes_new ("abc", 3), "too short");
  guint8 big[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}' };
  rejected ("header length 2^63", g_bytes_new (big, 16), "header length");
  guint8 beyond[12] = { 100, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ' };
  rejected ("header length beyond the file", g_bytes_new (beyond, 12), "beyond the file");
  guint8 nul[12] = { 4, 0, 0, 0, 0, 0, 0, 0, '{', 0, '}', ' ' };
  rejected ("NUL inside the header", g_bytes_new (nul, 12), "header");
  rejected ("JSON garbage", make_file ("{\"a\": [1, 2", NULL, 0), "not valid JSON");
  rejected ("JSON array, not object", make_file ("[1, 2, 3]", NULL, 0), "not a JSON object");
  rejected ("entry not an object", make_file ("{\"a\": 5}", NULL, 0), "not an object");
  rejected ("unknown dtype", make_file ("{\"a\":{\"dtype\":\"F64X\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8), "dtype");
  rejected ("missing dtype", make_file ("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4), "dtype");
  rejected ("negative dimension", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", zeros, 4), "shape");
  rejected ("shape that overflows", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", zeros, 4), "overflow");
  rejected ("2^31 elements", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,4]}}", zeros, 4), "overflow");
  rejected ("nine dimensions", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", zeros, 4), "dimensions");
  rejected ("offsets end before begin", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", zeros, 8), "end before");
  rejected ("offsets past the end", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", zeros, 8), "past the end");
  rejected ("offsets past 2^64", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", zeros, 8), "data_offsets");
  rejected ("byte size mismatch", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", zeros, 8), "size mismatch");
  rejected ("overlapping tensors", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", zeros, 12), "overlap");
  rejected ("metadata not strings", make_file ("{\"__metadata__\":{\"x\":1}}", NULL, 0), "not a string");
  rejected ("offsets not a pair", make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", zeros, 4), "data_offsets");
}

static void
test_files (void)
{
  GError *err = NULL;
  D7Safetensors *st = d7_safetensors_open ("/nonexistent/dir7.safetensors", &err);
  expect (!st && err && strstr (err->message, "cannot open"), "a missing file is a clear error", err ? err->message : NULL);
  g_clear_error (&err);
  float v = 2.f;
  GBytes *file = make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &v, 4);
  char *path = NULL;
  int fd = g_file_open_tmp ("dir7-st-XXXXXX", &path, NULL);
  gsize n;
  const char *d = g_bytes_get_data (file, &n);
  g_assert (write (fd, d, n) == (ssize_t) n);
  close (fd);
  st = d7_safetensors_open (path, &err);
  float *a = st ? d7_safetensors_get_f32 (st, "a", 1, (int64_t[]){ 1 }, &err) : NULL;
  expect (a && a[0] == 2.f && d7_safetensors_file_size (st) == n, "a file on disk is mapped and read", NULL);
  g_free (a);
  d7_safetensors_close (st);
  g_unlink (path);
  g_free (path);
  g_bytes_unref (file);
}

int
main (void)
{
  test_valid ();
  test_nonfinite ();
  test_hostile ();
  test_files ();
  printf ("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
