/* The safetensors reader: exact values for F32/F16/BF16, and every kind of
 * malformed or hostile file rejected with a message that names the defect.
 * Files are built in memory, each in a buffer of exactly its size so that
 * AddressSanitizer sees any read past the end. */
#include "dir7.h"
#include "safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

static void
check (gboolean ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  if (ok)
    passed++;
  else
    failed++;
}

/* ---- building files -------------------------------------------------------- */

/* raw bytes, copied into a buffer of exactly len bytes */
static GBytes *
raw_file (const void *bytes, size_t len)
{
  return g_bytes_new_take (g_memdup2 (bytes, len), len);
}

/* 8-byte little-endian length, header (space-padded to a multiple of 8, as
 * writers do, so the data region is 8-aligned), then the data */
static GBytes *
make_file (const char *header, const void *data, size_t len)
{
  size_t hlen = strlen (header), padded = (hlen + 7) / 8 * 8;
  size_t total = 8 + padded + len;
  guint8 *buf = g_malloc (total);
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) ((guint64) padded >> (8 * i));
  memcpy (buf + 8, header, hlen);
  memset (buf + 8 + hlen, ' ', padded - hlen);
  if (len)
    memcpy (buf + 8 + padded, data, len);
  return g_bytes_new_take (buf, total);
}

/* a header of one tensor entry; zeros[] is plenty of data for it */
static GBytes *
one_tensor (const char *entry, size_t data_len)
{
  static const guint8 zeros[64];
  g_assert (data_len <= sizeof zeros);
  g_autofree char *header = g_strdup_printf ("{\"unet.conv_in.weight\":%s}", entry);
  return make_file (header, zeros, data_len);
}

static D7Safetensors *
open_gbytes (GBytes *file, GError **error)
{
  gsize n;
  const guint8 *d = g_bytes_get_data (file, &n);
  return d7_safetensors_open_bytes (d, n, error);
}

static gboolean
contains (const GError *err, const char *word)
{
  return err && strstr (err->message, word) != NULL;
}

/* opening must fail with DIR7_ERROR_MODEL_INVALID and a message containing word; takes file */
static void
rejected (const char *what, GBytes *file, const char *word)
{
  GError *err = NULL;
  D7Safetensors *st = open_gbytes (file, &err);
  gboolean ok = !st && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID) && contains (err, word);
  check (ok, what, err ? err->message : "accepted");
  d7_safetensors_close (st);
  g_clear_error (&err);
  g_bytes_unref (file);
}

/* opening must succeed; takes file */
static void
accepted (const char *what, GBytes *file, size_t tensors)
{
  GError *err = NULL;
  D7Safetensors *st = open_gbytes (file, &err);
  check (st && !err && d7_safetensors_count (st) == tensors, what, err ? err->message : NULL);
  d7_safetensors_close (st);
  g_clear_error (&err);
  g_bytes_unref (file);
}

static gboolean
same_bits (const float *a, const float *b, size_t n)
{
  return a && memcmp (a, b, n * sizeof (float)) == 0;
}

/* ---- a valid file ---------------------------------------------------------- */

static void
test_valid (void)
{
  /* bf16 [3] at 0, f32 [2,3] at 6 (not 4-aligned), f16 [8] at 30, empty [0,3] at 46 */
  const guint16 bf16[3] = { 0x4049, 0xbf80, 0x0001 };   /* 3.140625, -1, 2^-133 */
  const float f32[6] = { 1.5f, -0.25f, 3.4028234e38f, -0.0f, 1e-45f, 0.1f };
  const guint16 f16[8] = { 0x3c00, 0xc100, 0x7bff, 0x0001,   /* 1, -2.5, 65504, 2^-24 ~ 6e-8 */
                           0x03ff, 0x0400, 0x8000, 0x3555 }; /* max subnormal, min normal, -0, ~1/3 */
  guint8 data[46];
  memcpy (data, bf16, 6);
  memcpy (data + 6, f32, 24);
  memcpy (data + 30, f16, 16);
  GBytes *file = make_file (
    "{\"__metadata__\":{\"dir7.format\":\"1\",\"note\":\"h\\u00e9llo\"},"
    "\"f16\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[30,46]},"
    "\"f32\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[6,30]},"
    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[46,46]},"
    "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]}}",
    data, sizeof data);
  gsize len;
  const guint8 *bytes = g_bytes_get_data (file, &len);
  const guint8 *region = bytes + len - sizeof data;
  GError *err = NULL;
  D7Safetensors *st = d7_safetensors_open_bytes (bytes, len, &err);
  check (st != NULL, "a valid file opens", err ? err->message : NULL);
  if (!st) {
    g_clear_error (&err);
    g_bytes_unref (file);
    return;
  }
  check (d7_safetensors_count (st) == 4, "four tensors, __metadata__ not one of them", NULL);
  check (d7_safetensors_file_size (st) == len, "file size", NULL);
  check (g_strcmp0 (d7_safetensors_metadata (st, "dir7.format"), "1") == 0
         && g_strcmp0 (d7_safetensors_metadata (st, "note"), "h\xc3\xa9llo") == 0
         && d7_safetensors_metadata (st, "absent") == NULL, "metadata read", NULL);

  const D7TensorInfo *ti = d7_safetensors_find (st, "f32");
  check (ti && strcmp (ti->name, "f32") == 0 && ti->dtype == D7_DTYPE_F32 && ti->ndim == 2
         && ti->shape[0] == 2 && ti->shape[1] == 3 && ti->numel == 6 && ti->nbytes == 24
         && ti->data == region + 6, "tensor info: dtype, shape, numel, bytes, data pointer", NULL);
  check (d7_safetensors_find (st, "nope") == NULL, "find of an absent name is NULL", NULL);
  const char *order[] = { "bf16", "f32", "f16", "empty" };
  gboolean in_order = d7_safetensors_nth (st, 4) == NULL;
  for (size_t i = 0; i < 4; i++)
    in_order = in_order && strcmp (d7_safetensors_nth (st, i)->name, order[i]) == 0;
  check (in_order, "nth walks the tensors in data order", NULL);

  float *a = d7_safetensors_get_f32 (st, "f32", 2, (int64_t[]){ 2, 3 }, &err);
  check (same_bits (a, f32, 6), "F32 values bit-exact from an unaligned offset", err ? err->message : NULL);
  g_clear_error (&err);
  float *h = d7_safetensors_get_f32 (st, "f16", 1, (int64_t[]){ 8 }, &err);
  const float want_h[8] = { 1.f, -2.5f, 65504.f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, -0.f, 0.333251953125f };
  check (same_bits (h, want_h, 8), "F16 exact: 1, -2.5, 65504, subnormals 2^-24 and 1023*2^-24, -0",
         err ? err->message : NULL);
  g_clear_error (&err);
  float *b = d7_safetensors_get_f32 (st, "bf16", 1, (int64_t[]){ 3 }, &err);
  const float want_b[3] = { 3.140625f, -1.f, 0x1p-133f };
  check (same_bits (b, want_b, 3), "BF16 exact: 3.140625, -1, subnormal", err ? err->message : NULL);
  g_clear_error (&err);
  float *e = d7_safetensors_get_f32 (st, "empty", 2, (int64_t[]){ 0, 3 }, &err);
  check (e != NULL && !err, "a zero-size tensor converts", err ? err->message : NULL);
  g_clear_error (&err);

  float *bad = d7_safetensors_get_f32 (st, "f32", 2, (int64_t[]){ 3, 2 }, &err);
  check (!bad && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID)
         && contains (err, "[2, 3]") && contains (err, "[3, 2]") && contains (err, "'f32'"),
         "a shape mismatch names the tensor and both shapes", err ? err->message : NULL);
  g_clear_error (&err);
  bad = d7_safetensors_get_f32 (st, "f32", 1, (int64_t[]){ 6 }, &err);
  check (!bad && contains (err, "[2, 3]") && contains (err, "[6]"),
         "a rank mismatch with the same element count is caught", err ? err->message : NULL);
  g_clear_error (&err);
  bad = d7_safetensors_get_f32 (st, "unet.conv_in.weight", 4, (int64_t[]){ 64, 3, 3, 3 }, &err);
  check (!bad && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID)
         && contains (err, "'unet.conv_in.weight'") && contains (err, "missing"),
         "a missing tensor is named", err ? err->message : NULL);
  g_clear_error (&err);

  g_free (a);
  g_free (h);
  g_free (b);
  g_free (e);
  d7_safetensors_close (st);
  g_bytes_unref (file);
}

/* ---- int8 weights with a scale per row -------------------------------------- */

/* "w": I8 [2, 3] at 0 with "w_scale" of dtype scale_dtype and shape scale_shape at 8 */
static GBytes *
int8_file (const char *scale_dtype, const char *scale_shape, const void *scale, size_t scale_len)
{
  const gint8 q[6] = { 127, -127, 0, -128, 1, 64 };
  guint8 data[8 + 16] = { 0 };
  memcpy (data, q, 6);
  memcpy (data + 8, scale, scale_len);
  g_autofree char *header = g_strdup_printf (
    "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]},"
    "\"w_scale\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[8,%zu]}}",
    scale_dtype, scale_shape, 8 + scale_len);
  return make_file (header, data, 8 + scale_len);
}

static void
test_int8 (void)
{
  const float scale[2] = { 0.5f, -0.25f };
  GBytes *file = int8_file ("F32", "[2]", scale, sizeof scale);
  GError *err = NULL;
  D7Safetensors *st = open_gbytes (file, &err);
  check (st != NULL, "an I8 tensor with its F32 scale opens", err ? err->message : NULL);
  if (st) {
    const D7TensorInfo *w = d7_safetensors_find (st, "w");
    check (w && w->dtype == D7_DTYPE_I8 && w->nbytes == 6
           && d7_safetensors_scale_of (st, w) == d7_safetensors_find (st, "w_scale")
           && d7_safetensors_scale_of (st, d7_safetensors_find (st, "w_scale")) == NULL,
           "I8 tensor info: one byte a value, its scale found by name", NULL);
    float *v = d7_safetensors_get_f32 (st, "w", 2, (int64_t[]){ 2, 3 }, &err);
    /* each row times its own scale; every product is exact in float32 */
    const float want[6] = { 63.5f, -63.5f, 0.f, 32.f, -0.25f, -16.f };
    check (same_bits (v, want, 6), "I8 dequantised exactly, row by row (127, -127, 0 | -128, 1, 64)",
           err ? err->message : NULL);
    g_clear_error (&err);
    g_free (v);
    d7_safetensors_close (st);
  }
  g_clear_error (&err);
  g_bytes_unref (file);

  const guint16 f16_scale[2] = { 0x3800, 0xb400 };     /* 0.5, -0.25 */
  accepted ("an I8 tensor with an F16 scale opens", int8_file ("F16", "[2]", f16_scale, 4), 2);
  rejected ("an I8 tensor without its scale", make_file (
              "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,3],\"data_offsets\":[0,6]}}", "\0\0\0\0\0\0", 6),
            "w_scale");
  rejected ("an I8 scale with the wrong number of rows", int8_file ("F32", "[4]", (float[4]){ 1, 1, 1, 1 }, 16),
            "shape [2]");
  rejected ("an I8 scale of two dimensions", int8_file ("F32", "[2,1]", scale, sizeof scale), "[2, 1]");
  rejected ("an I8 scale that is I8 itself", int8_file ("I8", "[2]", "\1\1", 2), "float tensor");
  rejected ("an I8 scalar (no row to scale)", make_file (
              "{\"w\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[0,1]},"
              "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
              "\1\0\0\0\0\0\0\0\0\0\x80\x3f", 12), "no dimensions");

  const float inf_scale[2] = { 1.f, INFINITY };
  file = int8_file ("F32", "[2]", inf_scale, sizeof inf_scale);
  st = open_gbytes (file, &err);
  float *v = st ? d7_safetensors_get_f32 (st, "w", 2, (int64_t[]){ 2, 3 }, &err) : NULL;
  check (st && !v && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID)
         && contains (err, "'w_scale'") && contains (err, "non-finite"),
         "a non-finite scale is refused when read, naming the scale", err ? err->message : "accepted");
  g_clear_error (&err);
  d7_safetensors_close (st);
  g_bytes_unref (file);
}

/* ---- non-finite values ----------------------------------------------------- */

static void
nonfinite (const char *what, const char *dtype, const void *data, size_t nbytes, int64_t numel,
           const char *index)
{
  g_autofree char *header = g_strdup_printf ("{\"w\":{\"dtype\":\"%s\",\"shape\":[%" G_GINT64_FORMAT "],"
                                             "\"data_offsets\":[0,%zu]}}", dtype, numel, nbytes);
  GBytes *file = make_file (header, data, nbytes);
  GError *err = NULL;
  D7Safetensors *st = open_gbytes (file, &err);
  float *x = st ? d7_safetensors_get_f32 (st, "w", 1, &numel, &err) : NULL;
  check (st && !x && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID)
         && contains (err, "non-finite") && contains (err, "'w'") && contains (err, index),
         what, err ? err->message : "accepted");
  g_free (x);
  g_clear_error (&err);
  d7_safetensors_close (st);
  g_bytes_unref (file);
}

static void
test_nonfinite (void)
{
  const float nan_f32[4] = { 1.f, NAN, 2.f, INFINITY };
  nonfinite ("F32 NaN rejected at its index", "F32", nan_f32, 16, 4, "index 1");
  const float inf_f32[3] = { 1.f, 2.f, INFINITY };
  nonfinite ("F32 Inf rejected at its index", "F32", inf_f32, 12, 3, "index 2");
  const float ninf_f32[1] = { -INFINITY };
  nonfinite ("F32 -Inf rejected", "F32", ninf_f32, 4, 1, "index 0");
  const guint16 inf_f16[3] = { 0x3c00, 0x3c00, 0x7c00 };
  nonfinite ("F16 Inf rejected", "F16", inf_f16, 6, 3, "index 2");
  const guint16 nan_f16[2] = { 0x7e00, 0 };
  nonfinite ("F16 NaN rejected", "F16", nan_f16, 4, 2, "index 0");
  const guint16 nan_bf16[2] = { 0x3f80, 0x7fc0 };
  nonfinite ("BF16 NaN rejected", "BF16", nan_bf16, 4, 2, "index 1");
  const guint16 ninf_bf16[1] = { 0xff80 };
  nonfinite ("BF16 -Inf rejected", "BF16", ninf_bf16, 2, 1, "index 0");
}

/* ---- hostile files --------------------------------------------------------- */

static GBytes *
with_length (guint64 hlen, const char *rest)
{
  size_t n = strlen (rest);
  guint8 *buf = g_malloc (8 + n);
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) (hlen >> (8 * i));
  memcpy (buf + 8, rest, n);
  return g_bytes_new_take (buf, 8 + n);
}

static void
test_hostile_framing (void)
{
  rejected ("empty file", raw_file ("", 0), "too short");
  rejected ("3-byte file", raw_file ("abc", 3), "too short");
  rejected ("7-byte file", raw_file ("\x02\0\0\0\0\0\0", 7), "too short");
  rejected ("header length 0", with_length (0, "{}"), "header length");
  rejected ("header length 2^63", with_length ((guint64) 1 << 63, "{}"), "header length");
  rejected ("header length 2^64-1", with_length (G_MAXUINT64, "{}"), "header length");
  rejected ("header length just over 100 MiB", with_length ((100u << 20) + 1, "{}"), "limit");
  rejected ("header length beyond the file", with_length (100, "{}  "), "beyond the end");
  rejected ("header length one past the file", with_length (3, "{}"), "beyond the end");
  rejected ("NUL inside the header", raw_file ("\x04\0\0\0\0\0\0\0{\0} ", 12), "NUL");
  rejected ("JSON garbage", make_file ("{\"a\": [1, 2", NULL, 0), "not valid JSON");
  rejected ("not UTF-8", make_file ("{\"\xc3\x28\":1}", NULL, 0), "not valid JSON");
  rejected ("trailing garbage after the object", make_file ("{} x", NULL, 0), "not valid JSON");
  rejected ("JSON array instead of object", make_file ("[1, 2, 3]", NULL, 0), "not a JSON object");
  rejected ("JSON string instead of object", make_file ("\"x\"", NULL, 0), "not a JSON object");

  /* json-glib's parser recurses per level: this would overflow its stack */
  GString *deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  rejected ("200000-deep nesting", make_file (deep->str, NULL, 0), "nested");
  g_string_free (deep, TRUE);
  accepted ("nesting in an ignored field, moderately deep",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],"
                       "\"x\":[[[[[[[[[[{\"y\":\"[[[[\"}]]]]]]]]]]}}", "\0\0\0\0", 4), 1);
}

static void
test_hostile_entries (void)
{
  rejected ("entry not an object", make_file ("{\"unet.conv_in.weight\": 5}", NULL, 0), "not an object");
  rejected ("unknown dtype is named", one_tensor ("{\"dtype\":\"F64X\",\"shape\":[1],\"data_offsets\":[0,8]}", 8),
            "\"F64X\"");
  rejected ("unknown dtype names the tensor", one_tensor ("{\"dtype\":\"F64X\",\"shape\":[1],\"data_offsets\":[0,8]}", 8),
            "'unet.conv_in.weight'");
  rejected ("missing dtype", one_tensor ("{\"shape\":[1],\"data_offsets\":[0,4]}", 4), "dtype");
  rejected ("dtype not a string", one_tensor ("{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}", 4), "dtype");
  rejected ("missing shape", one_tensor ("{\"dtype\":\"F32\",\"data_offsets\":[0,4]}", 4), "shape");
  rejected ("shape not a list", one_tensor ("{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}", 4), "shape");
  rejected ("negative dimension", one_tensor ("{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}", 4),
            "negative");
  rejected ("fractional dimension", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}", 4),
            "not an integer");
  rejected ("string dimension", one_tensor ("{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}", 4),
            "not an integer");
  rejected ("nine dimensions", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}", 4),
            "dimensions");
  rejected ("shape product overflows 64 bits",
            one_tensor ("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}", 4),
            "overflow");
  rejected ("a zero dimension does not hide an overflow",
            one_tensor ("{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296],\"data_offsets\":[0,0]}", 0),
            "overflow");
  rejected ("2^32 elements", one_tensor ("{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,4]}", 4),
            "elements");
  rejected ("2^31 elements (indices are int)",
            one_tensor ("{\"dtype\":\"BF16\",\"shape\":[2,1073741824],\"data_offsets\":[0,4]}", 4), "elements");
  rejected ("missing data_offsets", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1]}", 4), "data_offsets");
  rejected ("data_offsets not a pair", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}", 4),
            "data_offsets");
  rejected ("negative data_offsets", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}", 4),
            "negative");
  rejected ("fractional data_offsets", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}", 4),
            "not integers");
  rejected ("offsets end before begin", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}", 8),
            "end is before begin");
  rejected ("offsets past the end", one_tensor ("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", 8),
            "past the end");
  rejected ("offsets past the end name the tensor",
            one_tensor ("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", 8), "'unet.conv_in.weight'");
  rejected ("zero-size tensor past the end", one_tensor ("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[9,9]}", 8),
            "past the end");
  rejected ("offset beyond 2^64", one_tensor ("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}", 8),
            "64 bits");
  rejected ("offset below -2^63 (json-glib would read INT64_MAX)",
            one_tensor ("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,-9223372036854775809]}", 8), "64 bits");
  rejected ("dimension 2^64 + 4 (json-glib would wrap it)",
            one_tensor ("{\"dtype\":\"F32\",\"shape\":[18446744073709551620],\"data_offsets\":[0,16]}", 16), "64 bits");
  rejected ("byte size mismatch", one_tensor ("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}", 8),
            "size mismatch");
  rejected ("byte size mismatch of a narrow dtype", one_tensor ("{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,12]}", 12),
            "size mismatch");
}

static void
test_hostile_layout (void)
{
  const guint8 zeros[16] = { 0 };
  rejected ("two overlapping tensors",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", zeros, 12), "overlap");
  rejected ("a tensor inside another",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros, 16), "overlap");
  rejected ("an overlap behind a zero-size tensor",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                       "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", zeros, 16), "overlap");
  rejected ("the same range twice",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros, 4), "overlap");
  rejected ("a tensor name given twice",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros, 8), "twice");
  rejected ("names equal once json-glib cuts them at \\u0000",
            make_file ("{\"a\\u0000x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\\u0000y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros, 8), "twice");
  rejected ("a metadata key given twice", make_file ("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", NULL, 0), "twice");
  rejected ("metadata not an object", make_file ("{\"__metadata__\":[\"x\"]}", NULL, 0), "__metadata__");
  rejected ("metadata value not a string", make_file ("{\"__metadata__\":{\"x\":1}}", NULL, 0), "not a string");
  rejected ("metadata value null", make_file ("{\"__metadata__\":{\"x\":null}}", NULL, 0), "not a string");

  /* a megabyte-long name must not make a megabyte-long message */
  g_autofree char *name = g_strnfill (1 << 20, 'n');
  g_autofree char *header = g_strdup_printf ("{\"%s\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", name);
  GError *err = NULL;
  GBytes *file = make_file (header, zeros, 8);
  D7Safetensors *st = open_gbytes (file, &err);
  check (!st && contains (err, "dtype") && strlen (err->message) < 1000, "a huge tensor name is shortened in the message",
         NULL);
  g_clear_error (&err);
  g_bytes_unref (file);

  accepted ("zero-size tensors may share an offset, also inside another",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"z\":{\"dtype\":\"F16\",\"shape\":[0,5],\"data_offsets\":[4,4]},"
                       "\"y\":{\"dtype\":\"BF16\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
                       "\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", zeros, 8), 4);
  accepted ("adjacent tensors, gaps and unused trailing data",
            make_file ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                       "\"c\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[10,12]}}", zeros, 16), 3);
  accepted ("a header with no tensors", make_file ("{}", NULL, 0), 0);
  accepted ("empty metadata and an unknown extra field",
            make_file ("{\"__metadata__\":{},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":null}}",
                       zeros, 4), 1);
}

/* ---- no crash on damaged files ------------------------------------------ */

/* an opened file must convert every tensor or say why not */
static gboolean
consistent (const guint8 *d, size_t n)
{
  GError *err = NULL;
  D7Safetensors *st = d7_safetensors_open_bytes (d, n, &err);
  gboolean ok = (st == NULL) == (err != NULL);
  g_clear_error (&err);
  for (size_t i = 0; st && i < d7_safetensors_count (st); i++) {
    const D7TensorInfo *ti = d7_safetensors_nth (st, i);
    float *x = d7_safetensors_get_f32 (st, ti->name, ti->ndim, ti->shape, &err);
    ok = ok && (x == NULL) == (err != NULL) && d7_safetensors_find (st, ti->name) == ti;
    g_free (x);
    g_clear_error (&err);
  }
  d7_safetensors_close (st);
  return ok;
}

static void
test_damaged (void)
{
  const float v[6] = { 1, 2, 3, 4, 5, 6 };
  GBytes *file = make_file ("{\"__metadata__\":{\"k\":\"v\"},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                            "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
                            "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}", v, sizeof v);
  gsize len;
  const guint8 *orig = g_bytes_get_data (file, &len);

  /* every proper prefix, each in a buffer of exactly that size */
  gboolean all_rejected = TRUE;
  for (size_t n = 0; n < len; n++) {
    g_autofree guint8 *copy = g_memdup2 (orig, n);
    GError *err = NULL;
    D7Safetensors *st = d7_safetensors_open_bytes (copy ? copy : (const guint8 *) "", n, &err);
    all_rejected = all_rejected && !st && err;
    d7_safetensors_close (st);
    g_clear_error (&err);
  }
  check (all_rejected, "every truncation of a valid file is rejected", NULL);

  /* random byte changes: open or an error, never a crash (ASan watches) */
  GRand *rng = g_rand_new_with_seed (7);
  gboolean ok = TRUE;
  int opened = 0;
  for (int iter = 0; iter < 4000; iter++) {
    g_autofree guint8 *copy = g_memdup2 (orig, len);
    int flips = g_rand_int_range (rng, 1, 5);
    for (int f = 0; f < flips; f++) {
      size_t at = (size_t) g_rand_int_range (rng, 0, (gint32) len);
      static const char pool[] = "0123456789-[]{}\",: .eE";
      copy[at] = g_rand_boolean (rng) ? (guint8) g_rand_int_range (rng, 0, 256)
                                      : (guint8) pool[g_rand_int_range (rng, 0, sizeof pool - 1)];
    }
    GError *err = NULL;
    D7Safetensors *st = d7_safetensors_open_bytes (copy, len, &err);
    opened += st != NULL;
    d7_safetensors_close (st);
    g_clear_error (&err);
    ok = ok && consistent (copy, len);
  }
  g_rand_free (rng);
  g_autofree char *detail = g_strdup_printf ("%d of 4000 still opened", opened);
  check (ok, "4000 randomly damaged files: opened or rejected, error set iff NULL", detail);
  g_bytes_unref (file);
}

/* ---- real files ------------------------------------------------------------ */

static char *
write_temp (GBytes *file)
{
  char *path = NULL;
  int fd = g_file_open_tmp ("dir7-st-XXXXXX.safetensors", &path, NULL);
  g_assert (fd >= 0);
  gsize n;
  const char *d = g_bytes_get_data (file, &n);
  g_assert (write (fd, d, n) == (ssize_t) n);
  close (fd);
  return path;
}

static void
test_files (void)
{
  GError *err = NULL;
  D7Safetensors *st = d7_safetensors_open ("/nonexistent/dir7.safetensors", &err);
  check (!st && g_error_matches (err, G_FILE_ERROR, G_FILE_ERROR_NOENT) && contains (err, "cannot open"),
         "a missing file is a clear error", err ? err->message : NULL);
  g_clear_error (&err);

  st = d7_safetensors_open (g_get_tmp_dir (), &err);
  check (!st && err, "a directory is an error", err ? err->message : NULL);
  g_clear_error (&err);

  const float v[2] = { 2.f, -7.5f };
  GBytes *file = make_file ("{\"__metadata__\":{\"dir7.format\":\"1\"},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", v, 8);
  g_autofree char *path = write_temp (file);
  st = d7_safetensors_open (path, &err);
  float *a = st ? d7_safetensors_get_f32 (st, "a", 1, (int64_t[]){ 2 }, &err) : NULL;
  check (same_bits (a, v, 2) && d7_safetensors_file_size (st) == g_bytes_get_size (file)
         && g_strcmp0 (d7_safetensors_metadata (st, "dir7.format"), "1") == 0,
         "a file on disk is mapped and read", err ? err->message : NULL);
  g_clear_error (&err);
  g_free (a);
  d7_safetensors_close (st);
  g_unlink (path);
  g_bytes_unref (file);

  file = one_tensor ("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", 8);
  g_autofree char *bad = write_temp (file);
  st = d7_safetensors_open (bad, &err);
  check (!st && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID)
         && g_str_has_prefix (err->message, bad) && contains (err, "past the end"),
         "a damaged file on disk: the error names the path and the defect", err ? err->message : NULL);
  g_clear_error (&err);
  g_unlink (bad);
  g_bytes_unref (file);

  file = g_bytes_new_static ("", 0);
  g_autofree char *empty = write_temp (file);
  g_bytes_unref (file);
  st = d7_safetensors_open (empty, &err);
  check (!st && contains (err, "too short"), "an empty file on disk", err ? err->message : NULL);
  g_clear_error (&err);
  g_unlink (empty);
}

int
main (void)
{
  test_valid ();
  test_nonfinite ();
  test_int8 ();
  test_hostile_framing ();
  test_hostile_entries ();
  test_hostile_layout ();
  test_damaged ();
  test_files ();
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
