/* safetensors reader. The whole header is validated before any tensor is
 * used: a hostile file gets an error naming its defect, never a crash. */
#include "safetensors.h"
#include "dir7.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER (100u << 20)
#define MAX_NUMEL ((int64_t) 1 << 31)

struct D7Safetensors {
  GMappedFile  *mapped;
  const guint8 *bytes;
  size_t        len;
  D7TensorInfo *tensors;
  size_t        n;
  GHashTable   *by_name;     /* name -> D7TensorInfo* */
  GHashTable   *metadata;    /* key -> value */
};

static gboolean
fail (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID, msg);
  g_free (msg);
  return FALSE;
}

static gboolean
parse_dtype (const char *s, D7Dtype *dt, size_t *item)
{
  if (g_strcmp0 (s, "F32") == 0) { *dt = D7_DTYPE_F32; *item = 4; return TRUE; }
  if (g_strcmp0 (s, "F16") == 0) { *dt = D7_DTYPE_F16; *item = 2; return TRUE; }
  if (g_strcmp0 (s, "BF16") == 0) { *dt = D7_DTYPE_BF16; *item = 2; return TRUE; }
  return FALSE;
}

static gboolean
json_uint (JsonNode *n, int64_t *out)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return *out >= 0;
}

static gboolean
parse_tensor (const char *name, JsonNode *node, size_t data_len, D7TensorInfo *ti,
              GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, "tensor '%s': header entry is not an object", name);
  JsonObject *o = json_node_get_object (node);
  JsonNode *dn = json_object_get_member (o, "dtype");
  JsonNode *sn = json_object_get_member (o, "shape");
  JsonNode *on = json_object_get_member (o, "data_offsets");
  if (!dn || !JSON_NODE_HOLDS_VALUE (dn) || json_node_get_value_type (dn) != G_TYPE_STRING)
    return fail (error, "tensor '%s': dtype is missing or not a string", name);
  size_t item;
  if (!parse_dtype (json_node_get_string (dn), &ti->dtype, &item))
    return fail (error, "tensor '%s': unsupported dtype \"%s\" (F32, F16 and BF16 are)",
                 name, json_node_get_string (dn));
  if (!sn || !JSON_NODE_HOLDS_ARRAY (sn))
    return fail (error, "tensor '%s': shape is missing or not a list", name);
  JsonArray *sa = json_node_get_array (sn);
  guint nd = json_array_get_length (sa);
  if (nd > 8)
    return fail (error, "tensor '%s': %u dimensions (at most 8)", name, nd);
  ti->ndim = (int) nd;
  int64_t numel = 1;
  for (guint i = 0; i < nd; i++) {
    int64_t d;
    if (!json_uint (json_array_get_element (sa, i), &d))
      return fail (error, "tensor '%s': shape[%u] is not a non-negative integer", name, i);
    ti->shape[i] = d;
    if (d != 0 && numel > MAX_NUMEL / d)
      return fail (error, "tensor '%s': shape overflows (more than 2^31 elements)", name);
    numel *= d;
  }
  if (numel > MAX_NUMEL)
    return fail (error, "tensor '%s': shape overflows (more than 2^31 elements)", name);
  ti->numel = (size_t) numel;
  if (!on || !JSON_NODE_HOLDS_ARRAY (on) || json_array_get_length (json_node_get_array (on)) != 2)
    return fail (error, "tensor '%s': data_offsets must be a list [begin, end]", name);
  int64_t b, e;
  JsonArray *oa = json_node_get_array (on);
  if (!json_uint (json_array_get_element (oa, 0), &b) || !json_uint (json_array_get_element (oa, 1), &e))
    return fail (error, "tensor '%s': data_offsets are not non-negative integers", name);
  if (b > e)
    return fail (error, "tensor '%s': data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] end before they begin",
                 name, b, e);
  if ((uint64_t) e > data_len)
    return fail (error, "tensor '%s': data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] run past the end "
                 "of the data (%zu bytes)", name, b, e, data_len);
  if ((size_t) (e - b) != ti->numel * item)
    return fail (error, "tensor '%s': %" G_GINT64_FORMAT " bytes of data for %zu elements of %zu bytes (size mismatch)",
                 name, e - b, ti->numel, item);
  ti->nbytes = (size_t) (e - b);
  ti->data = (const guint8 *) (uintptr_t) b;   /* made absolute once all are read */
  return TRUE;
}

static int
by_offset (const void *a, const void *b)
{
  uintptr_t x = (uintptr_t) ((const D7TensorInfo *) a)->data, y = (uintptr_t) ((const D7TensorInfo *) b)->data;
  return x < y ? -1 : x > y;
}

static gboolean
parse (D7Safetensors *st, GError **error)
{
  if (st->len < 8)
    return fail (error, "file is %zu bytes: too short for a safetensors header", st->len);
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | st->bytes[i];
  if (hlen == 0 || hlen > MAX_HEADER)
    return fail (error, "header length %" G_GUINT64_FORMAT " is out of range (1 .. %u)", hlen, MAX_HEADER);
  if (hlen > st->len - 8)
    return fail (error, "header length %" G_GUINT64_FORMAT " runs beyond the file (%zu bytes)", hlen, st->len);
  size_t data_len = st->len - 8 - (size_t) hlen;
  const guint8 *data = st->bytes + 8 + hlen;

  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *jerr = NULL;
  g_autofree char *text = g_strndup ((const char *) st->bytes + 8, (gsize) hlen);
  if (strlen (text) != hlen)
    return fail (error, "header contains a NUL byte: not JSON");
  if (!json_parser_load_from_data (parser, text, (gssize) hlen, &jerr)) {
    fail (error, "header is not valid JSON: %s", jerr->message);
    g_error_free (jerr);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return fail (error, "header is not a JSON object");
  JsonObject *obj = json_node_get_object (root);
  GList *members = json_object_get_members (obj);
  st->tensors = g_new0 (D7TensorInfo, g_list_length (members));
  gboolean ok = TRUE;
  for (GList *l = members; ok && l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (obj, name);
    if (g_strcmp0 (name, "__metadata__") == 0) {
      if (!JSON_NODE_HOLDS_OBJECT (node)) {
        ok = fail (error, "__metadata__ is not an object");
        break;
      }
      JsonObject *mo = json_node_get_object (node);
      GList *keys = json_object_get_members (mo);
      for (GList *k = keys; ok && k; k = k->next) {
        JsonNode *v = json_object_get_member (mo, k->data);
        if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
          ok = fail (error, "__metadata__ value '%s' is not a string", (char *) k->data);
        else
          g_hash_table_insert (st->metadata, g_strdup (k->data), g_strdup (json_node_get_string (v)));
      }
      g_list_free (keys);
      continue;
    }
    D7TensorInfo *ti = &st->tensors[st->n];
    ti->name = g_strdup (name);
    st->n++;
    ok = parse_tensor (name, node, data_len, ti, error);
  }
  g_list_free (members);
  if (!ok)
    return FALSE;

  /* no two tensors may share bytes */
  qsort (st->tensors, st->n, sizeof (D7TensorInfo), by_offset);
  for (size_t i = 1; i < st->n; i++) {
    const D7TensorInfo *p = &st->tensors[i - 1], *c = &st->tensors[i];
    if ((uintptr_t) c->data < (uintptr_t) p->data + p->nbytes && c->nbytes && p->nbytes)
      return fail (error, "tensors '%s' and '%s' overlap in the data", p->name, c->name);
  }
  for (size_t i = 0; i < st->n; i++) {
    D7TensorInfo *ti = &st->tensors[i];
    ti->data = data + (uintptr_t) ti->data;
    if (!g_hash_table_insert (st->by_name, ti->name, ti))
      return fail (error, "tensor '%s' appears twice", ti->name);
  }
  return TRUE;
}

static D7Safetensors *
new_reader (void)
{
  D7Safetensors *st = g_new0 (D7Safetensors, 1);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

D7Safetensors *
d7_safetensors_open_bytes (const guint8 *data, size_t len, GError **error)
{
  D7Safetensors *st = new_reader ();
  st->bytes = data;
  st->len = len;
  if (!parse (st, error)) {
    d7_safetensors_close (st);
    return NULL;
  }
  return st;
}

D7Safetensors *
d7_safetensors_open (const char *path, GError **error)
{
  GError *ferr = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &ferr);
  if (!mf) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID, "cannot open model file: %s", ferr->message);
    g_error_free (ferr);
    return NULL;
  }
  D7Safetensors *st = new_reader ();
  st->mapped = mf;
  st->bytes = (const guint8 *) g_mapped_file_get_contents (mf);
  st->len = g_mapped_file_get_length (mf);
  GError *perr = NULL;
  if (!parse (st, &perr)) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID, "%s: %s", path, perr->message);
    g_error_free (perr);
    d7_safetensors_close (st);
    return NULL;
  }
  return st;
}

void
d7_safetensors_close (D7Safetensors *st)
{
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++)
    g_free (st->tensors[i].name);
  g_free (st->tensors);
  g_hash_table_unref (st->by_name);
  g_hash_table_unref (st->metadata);
  if (st->mapped)
    g_mapped_file_unref (st->mapped);
  g_free (st);
}

size_t d7_safetensors_count (const D7Safetensors *st) { return st->n; }
const D7TensorInfo *d7_safetensors_nth (const D7Safetensors *st, size_t i) { return i < st->n ? &st->tensors[i] : NULL; }
const D7TensorInfo *d7_safetensors_find (const D7Safetensors *st, const char *name) { return g_hash_table_lookup (st->by_name, name); }
const char *d7_safetensors_metadata (const D7Safetensors *st, const char *key) { return g_hash_table_lookup (st->metadata, key); }
size_t d7_safetensors_file_size (const D7Safetensors *st) { return st->len; }

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {                                   /* subnormal: normalise */
      int e = -1;
      do { e++; man <<= 1; } while (!(man & 0x400));
      bits = sign | ((guint32) (127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);   /* inf / nan */
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

static char *
shape_str (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

float *
d7_safetensors_get_f32 (const D7Safetensors *st, const char *name, int ndim,
                        const int64_t *shape, GError **error)
{
  const D7TensorInfo *ti = d7_safetensors_find (st, name);
  if (!ti) {
    fail (error, "tensor '%s' is missing from the model file", name);
    return NULL;
  }
  gboolean same = ti->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = ti->shape[i] == shape[i];
  if (!same) {
    g_autofree char *want = shape_str (ndim, shape), *have = shape_str (ti->ndim, ti->shape);
    fail (error, "tensor '%s' has shape %s, the config needs %s", name, have, want);
    return NULL;
  }
  float *out = g_try_malloc (MAX (ti->numel, 1) * sizeof (float));
  if (!out) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY, "out of memory loading tensor '%s' (%zu values)",
                 name, ti->numel);
    return NULL;
  }
  for (size_t i = 0; i < ti->numel; i++) {
    const guint8 *p = ti->data;
    guint32 bits;
    switch (ti->dtype) {
    case D7_DTYPE_F32:
      bits = (guint32) p[4 * i] | (guint32) p[4 * i + 1] << 8 | (guint32) p[4 * i + 2] << 16 | (guint32) p[4 * i + 3] << 24;
      memcpy (&out[i], &bits, 4);
      break;
    case D7_DTYPE_F16:
      out[i] = half_to_float ((guint16) (p[2 * i] | p[2 * i + 1] << 8));
      break;
    case D7_DTYPE_BF16:
      bits = ((guint32) p[2 * i] | (guint32) p[2 * i + 1] << 8) << 16;
      memcpy (&out[i], &bits, 4);
      break;
    }
    if (!isfinite (out[i])) {
      fail (error, "tensor '%s' holds a non-finite value (%g) at index %zu", name, out[i], i);
      g_free (out);
      return NULL;
    }
  }
  return out;
}
