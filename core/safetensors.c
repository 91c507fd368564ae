/* safetensors reader. The whole header is validated when the file is opened,
 * before any tensor is used: a malformed or hostile file gets an error that
 * names its defect (and the tensor), never a crash or an out-of-bounds read.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON (an
 * object: name -> {dtype, shape, data_offsets}, plus an optional
 * "__metadata__" of string -> string), then the data region that every
 * data_offsets pair is relative to. An I8 tensor needs its per-row scale
 * "<name>_scale" (docs/model-contract.md, section 8). */
#include "safetensors.h"
#include "dir7.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER   ((guint64) 100 << 20)
#define MAX_NDIM     8
/* consumers index tensors with int, so a tensor's elements must fit in one */
#define MAX_NUMEL    ((guint64) G_MAXINT)
/* a real header nests 3 deep; json-glib recurses per level, so cap it */
#define MAX_DEPTH    64
/* error messages quote names from the file: keep them readable */
#define MAX_SHOWN    200

struct D7Safetensors {
  GMappedFile  *mapped;      /* NULL for open_bytes */
  const guint8 *bytes;
  size_t        len;
  D7TensorInfo *tensors;     /* sorted by data offset */
  size_t        n;
  GHashTable   *by_name;     /* name (owned by tensors) -> D7TensorInfo* */
  GHashTable   *metadata;    /* key -> value, both owned */
};

/* ---- errors ------------------------------------------------------------ */

static gboolean invalid (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
static gboolean tensor_invalid (GError **error, const char *name, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
invalid (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID, msg);
  return FALSE;
}

/* A name from the file, fit for a message: valid UTF-8 and not megabytes long. */
static char *
shown (const char *name)
{
  size_t len = strlen (name);
  g_autofree char *valid = g_utf8_make_valid (name, (gssize) MIN (len, MAX_SHOWN));
  return len > MAX_SHOWN ? g_strconcat (valid, "...", NULL) : g_steal_pointer (&valid);
}

static gboolean
tensor_invalid (GError **error, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *who = shown (name);
  g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID, "tensor '%s': %s", who, msg);
  return FALSE;
}

/* "[64, 3, 3, 3]"; g_free() it */
static char *
format_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* ---- raw header text ----------------------------------------------------- */

/* Checks the JSON number starting at text[*i] and leaves *i on its last
 * character. json-glib silently saturates integers beyond 64 bits (so
 * -9223372036854775809 reads as INT64_MAX), which must not pass. */
static gboolean
check_number (const char *text, size_t len, size_t *i, GError **error)
{
  size_t start = *i, p = start;
  gboolean negative = text[p] == '-';
  if (negative)
    p++;
  guint64 mag = 0;
  gboolean too_big = FALSE;
  for (; p < len && g_ascii_isdigit (text[p]); p++)
    too_big = too_big || !g_uint64_checked_mul (&mag, mag, 10)
                      || !g_uint64_checked_add (&mag, mag, (guint64) (text[p] - '0'));
  gboolean integral = !(p < len && (text[p] == '.' || text[p] == 'e' || text[p] == 'E'));
  while (p < len && (g_ascii_isdigit (text[p]) || text[p] == '.' || text[p] == 'e'
                     || text[p] == 'E' || text[p] == '+' || text[p] == '-'))
    p++;
  *i = p - 1;
  guint64 limit = negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64;
  if (integral && (too_big || mag > limit))
    return invalid (error, "header: integer %.*s does not fit in 64 bits",
                    (int) MIN (p - start, 40), text + start);
  return TRUE;
}

/* What json-glib would get wrong rather than reject: nesting deep enough to
 * overflow its recursive parser's stack, and out-of-range integers. Only
 * needs to be right for valid JSON; anything else the parser rejects. */
static gboolean
check_header_text (const char *text, size_t len, GError **error)
{
  int depth = 0;
  gboolean in_string = FALSE;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;                    /* the escaped character cannot end the string */
      else if (c == '"')
        in_string = FALSE;
      continue;
    }
    if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_DEPTH)
        return invalid (error, "header: JSON nested more than %d levels deep", MAX_DEPTH);
    } else if (c == ']' || c == '}') {
      depth--;
    } else if (c == '-' || g_ascii_isdigit (c)) {
      if (!check_number (text, len, &i, error))
        return FALSE;
    }
  }
  return TRUE;
}

/* ---- JSON --------------------------------------------------------------- */

typedef struct {
  GHashTable *seen;        /* JsonObject* -> members parsed so far */
  char       *duplicate;   /* first repeated key */
} DuplicateCheck;

/* json-glib keeps the last of two equal keys without a word; a name given
 * twice is ambiguous, so count members as they are parsed: an object that
 * did not grow with a member had that key already. Stops at the first hit,
 * as the replaced value (maybe an object we counted) is freed by then. */
static void
on_object_member (G_GNUC_UNUSED JsonParser *parser, JsonObject *object, const char *name, gpointer user_data)
{
  DuplicateCheck *dc = user_data;
  if (dc->duplicate)
    return;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (dc->seen, object)) + 1;
  g_hash_table_insert (dc->seen, object, GUINT_TO_POINTER (count));
  if (json_object_get_size (object) < count)
    dc->duplicate = g_strdup (name);
}

/* The header's root object (owned by parser), or NULL with error set. */
static JsonObject *
load_header (JsonParser *parser, const char *text, size_t len, GError **error)
{
  if (memchr (text, '\0', len)) {
    invalid (error, "header contains a NUL byte: not JSON text");
    return NULL;
  }
  if (!check_header_text (text, len, error))
    return NULL;
  DuplicateCheck dc = { g_hash_table_new (NULL, NULL), NULL };
  gulong id = g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dc);
  GError *jerr = NULL;
  gboolean parsed = json_parser_load_from_data (parser, text, (gssize) len, &jerr);
  g_signal_handler_disconnect (parser, id);
  g_hash_table_unref (dc.seen);
  g_autofree char *duplicate = dc.duplicate;

  if (!parsed) {
    invalid (error, "header is not valid JSON: %s", jerr->message);
    g_error_free (jerr);
    return NULL;
  }
  if (duplicate) {
    g_autofree char *who = shown (duplicate);
    invalid (error, "header: key '%s' appears twice", who);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    invalid (error, "header is not a JSON object");
    return NULL;
  }
  return json_node_get_object (root);
}

/* A JSON integer (not a float, bool, string, ...) */
static gboolean
get_int (JsonNode *node, int64_t *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static const char *
get_string (JsonNode *node)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* ---- one header entry ---------------------------------------------------- */

static gboolean
parse_dtype (const char *name, JsonNode *node, D7TensorInfo *ti, size_t *itemsize, GError **error)
{
  static const struct { const char *name; D7Dtype dtype; size_t size; } known[] = {
    { "F32", D7_DTYPE_F32, 4 }, { "F16", D7_DTYPE_F16, 2 }, { "BF16", D7_DTYPE_BF16, 2 },
    { "I8", D7_DTYPE_I8, 1 },
  };
  const char *s = get_string (node);
  if (!s)
    return tensor_invalid (error, name, "dtype is missing or not a string");
  for (size_t i = 0; i < G_N_ELEMENTS (known); i++)
    if (strcmp (s, known[i].name) == 0) {
      ti->dtype = known[i].dtype;
      *itemsize = known[i].size;
      return TRUE;
    }
  g_autofree char *what = shown (s);
  return tensor_invalid (error, name, "unsupported dtype \"%s\" (F32, F16, BF16 and I8 are read)", what);
}

/* Fills ndim, shape and numel. Zero-sized tensors are fine, but even then the
 * product of the other dimensions must stay in range, so that no sub-product
 * a consumer computes can overflow. */
static gboolean
parse_shape (const char *name, JsonNode *node, D7TensorInfo *ti, GError **error)
{
  if (!node || !JSON_NODE_HOLDS_ARRAY (node))
    return tensor_invalid (error, name, "shape is missing or not a list");
  JsonArray *a = json_node_get_array (node);
  guint ndim = json_array_get_length (a);
  if (ndim > MAX_NDIM)
    return tensor_invalid (error, name, "shape has %u dimensions (at most %d)", ndim, MAX_NDIM);
  ti->ndim = (int) ndim;
  for (guint i = 0; i < ndim; i++) {
    if (!get_int (json_array_get_element (a, i), &ti->shape[i]))
      return tensor_invalid (error, name, "shape[%u] is not an integer", i);
    if (ti->shape[i] < 0)
      return tensor_invalid (error, name, "shape[%u] is negative (%" G_GINT64_FORMAT ")",
                             i, ti->shape[i]);
  }
  guint64 nonzero = 1;           /* product of the non-zero dimensions */
  gboolean overflow = FALSE, empty = FALSE;
  for (guint i = 0; i < ndim; i++) {
    guint64 d = (guint64) ti->shape[i];
    empty = empty || d == 0;
    overflow = overflow || !g_uint64_checked_mul (&nonzero, nonzero, MAX (d, 1));
  }
  if (overflow || nonzero > MAX_NUMEL) {
    g_autofree char *s = format_shape (ti->ndim, ti->shape);
    if (overflow)
      return tensor_invalid (error, name, "shape %s: element count overflows 64 bits", s);
    return tensor_invalid (error, name, "shape %s has %" G_GUINT64_FORMAT " elements (at most %"
                           G_GUINT64_FORMAT ")", s, nonzero, MAX_NUMEL);
  }
  ti->numel = empty ? 0 : (size_t) nonzero;
  return TRUE;
}

static gboolean
parse_offsets (const char *name, JsonNode *node, int64_t *begin, int64_t *end, GError **error)
{
  JsonArray *a = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (!a || json_array_get_length (a) != 2)
    return tensor_invalid (error, name, "data_offsets is missing or not a list [begin, end]");
  if (!get_int (json_array_get_element (a, 0), begin) || !get_int (json_array_get_element (a, 1), end))
    return tensor_invalid (error, name, "data_offsets are not integers");
  if (*begin < 0 || *end < 0)
    return tensor_invalid (error, name, "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                           "] are negative", *begin, *end);
  return TRUE;
}

static gboolean
parse_tensor (const char *name, JsonNode *node, const guint8 *region, size_t region_len,
              D7TensorInfo *ti, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return tensor_invalid (error, name, "header entry is not an object");
  JsonObject *o = json_node_get_object (node);
  size_t itemsize = 0;
  int64_t begin = 0, end = 0;
  if (!parse_dtype (name, json_object_get_member (o, "dtype"), ti, &itemsize, error)
      || !parse_shape (name, json_object_get_member (o, "shape"), ti, error)
      || !parse_offsets (name, json_object_get_member (o, "data_offsets"), &begin, &end, error))
    return FALSE;
  if (begin > end)
    return tensor_invalid (error, name, "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                           "]: end is before begin", begin, end);
  if ((guint64) end > region_len)
    return tensor_invalid (error, name, "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                           "] run past the end of the data (%zu bytes)", begin, end, region_len);
  size_t nbytes;
  if (!g_size_checked_mul (&nbytes, ti->numel, itemsize))
    return tensor_invalid (error, name, "byte size overflows");
  if ((guint64) (end - begin) != nbytes) {
    g_autofree char *s = format_shape (ti->ndim, ti->shape);
    return tensor_invalid (error, name, "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                           "] hold %" G_GINT64_FORMAT " bytes but shape %s needs %zu (size mismatch)",
                           begin, end, end - begin, s, nbytes);
  }
  ti->data = region + begin;
  ti->nbytes = nbytes;
  return TRUE;
}

static gboolean
parse_metadata (D7Safetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "__metadata__ is not an object");
  JsonObject *o = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (o);
  for (GList *k = keys; k; k = k->next) {
    const char *value = get_string (json_object_get_member (o, k->data));
    if (!value) {
      g_autofree char *who = shown (k->data);
      return invalid (error, "__metadata__ value for '%s' is not a string", who);
    }
    g_hash_table_insert (st->metadata, g_strdup (k->data), g_strdup (value));
  }
  return TRUE;
}

/* ---- the whole file ------------------------------------------------------ */

static int
compare_by_offset (const void *pa, const void *pb)
{
  const D7TensorInfo *a = pa, *b = pb;
  if (a->data != b->data)
    return a->data < b->data ? -1 : 1;
  if (a->nbytes != b->nbytes)
    return a->nbytes < b->nbytes ? -1 : 1;
  return strcmp (a->name, b->name);     /* a stable order for nth() */
}

/* Sorts by begin; then a tensor overlaps an earlier one exactly when it
 * begins before the furthest end so far. Empty tensors own no bytes. */
static gboolean
check_overlaps (D7Safetensors *st, const guint8 *region, GError **error)
{
  if (st->n > 1)                        /* tensors is NULL when there are none */
    qsort (st->tensors, st->n, sizeof *st->tensors, compare_by_offset);
  const D7TensorInfo *reach = NULL;     /* the non-empty tensor ending furthest */
  for (size_t i = 0; i < st->n; i++) {
    const D7TensorInfo *t = &st->tensors[i];
    if (t->nbytes == 0)
      continue;
    if (reach && t->data < reach->data + reach->nbytes) {
      g_autofree char *a = shown (reach->name), *b = shown (t->name);
      return invalid (error, "tensors '%s' [%td, %td] and '%s' [%td, %td] overlap in the data",
                      a, reach->data - region, reach->data + reach->nbytes - region,
                      b, t->data - region, t->data + t->nbytes - region);
    }
    if (!reach || t->data + t->nbytes > reach->data + reach->nbytes)
      reach = t;
  }
  return TRUE;
}

static gboolean
parse_entries (D7Safetensors *st, JsonObject *root, const guint8 *region, size_t region_len,
               GError **error)
{
  st->tensors = g_new0 (D7TensorInfo, json_object_get_size (root));
  g_autoptr (GList) names = json_object_get_members (root);
  for (GList *l = names; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (root, name);
    if (strcmp (name, "__metadata__") == 0) {
      if (!parse_metadata (st, node, error))
        return FALSE;
      continue;
    }
    D7TensorInfo *ti = &st->tensors[st->n++];
    ti->name = g_strdup (name);
    if (!parse_tensor (name, node, region, region_len, ti, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
index_names (D7Safetensors *st, GError **error)
{
  for (size_t i = 0; i < st->n; i++)
    if (!g_hash_table_insert (st->by_name, st->tensors[i].name, &st->tensors[i])) {
      /* load_header already catches repeats; a cheap backstop in case a
       * json-glib version reports members differently */
      g_autofree char *who = shown (st->tensors[i].name);
      return invalid (error, "tensor '%s' appears twice", who);
    }
  return TRUE;
}

#define SCALE_SUFFIX "_scale"

static const D7TensorInfo *
scale_of (const D7Safetensors *st, const D7TensorInfo *ti)
{
  if (ti->dtype != D7_DTYPE_I8)
    return NULL;
  g_autofree char *name = g_strconcat (ti->name, SCALE_SUFFIX, NULL);
  return g_hash_table_lookup (st->by_name, name);
}

/* Every I8 tensor has at least one dimension and a float scale per row. */
static gboolean
check_scales (D7Safetensors *st, GError **error)
{
  for (size_t i = 0; i < st->n; i++) {
    const D7TensorInfo *t = &st->tensors[i], *s = scale_of (st, t);
    if (t->dtype != D7_DTYPE_I8)
      continue;
    if (t->ndim == 0)
      return tensor_invalid (error, t->name, "I8 tensor has no dimensions (its scale is per row)");
    if (!s) {
      g_autofree char *want = shown (t->name);
      return tensor_invalid (error, t->name, "I8 tensor has no scale tensor '%s" SCALE_SUFFIX "'", want);
    }
    if (s->dtype == D7_DTYPE_I8 || s->ndim != 1 || s->shape[0] != t->shape[0]) {
      g_autofree char *have = format_shape (s->ndim, s->shape);
      return tensor_invalid (error, s->name, "scale of an I8 tensor with %" G_GINT64_FORMAT
                             " rows must be a float tensor of shape [%" G_GINT64_FORMAT "], not %s%s",
                             t->shape[0], t->shape[0], s->dtype == D7_DTYPE_I8 ? "I8 " : "", have);
    }
  }
  return TRUE;
}

static gboolean
parse (D7Safetensors *st, GError **error)
{
  if (st->len < 8)
    return invalid (error, "file is %zu bytes: too short for a safetensors header", st->len);
  guint64 hlen;
  memcpy (&hlen, st->bytes, 8);
  hlen = GUINT64_FROM_LE (hlen);
  if (hlen == 0)
    return invalid (error, "header length is 0: no header");
  if (hlen > MAX_HEADER)
    return invalid (error, "header length %" G_GUINT64_FORMAT " exceeds the limit of %"
                    G_GUINT64_FORMAT " bytes", hlen, MAX_HEADER);
  if (hlen > st->len - 8)
    return invalid (error, "header length %" G_GUINT64_FORMAT " runs beyond the end of the file "
                    "(%zu bytes)", hlen, st->len);
  const char *text = (const char *) st->bytes + 8;
  const guint8 *region = st->bytes + 8 + hlen;
  size_t region_len = st->len - 8 - (size_t) hlen;

  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = load_header (parser, text, (size_t) hlen, error);
  return root
         && parse_entries (st, root, region, region_len, error)
         && check_overlaps (st, region, error)
         && index_names (st, error)
         && check_scales (st, error);
}

/* ---- public API ---------------------------------------------------------- */

static D7Safetensors *
reader_new (void)
{
  D7Safetensors *st = g_new0 (D7Safetensors, 1);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

D7Safetensors *
d7_safetensors_open_bytes (const guint8 *data, size_t len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  D7Safetensors *st = reader_new ();
  st->bytes = data;
  st->len = len;
  if (!parse (st, error)) {
    d7_safetensors_close (st);
    return NULL;
  }
  return st;
}

/* Note: the mapping is shared, so a file truncated by someone else while it is
 * open can still raise SIGBUS on access; validation cannot guard that. */
D7Safetensors *
d7_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  GError *ferr = NULL;
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &ferr);
  if (!mapped) {
    /* keeps G_FILE_ERROR and its code (NOENT, ACCES, ...) */
    g_propagate_prefixed_error (error, ferr, "cannot open model file: ");
    return NULL;
  }
  D7Safetensors *st = reader_new ();
  st->mapped = mapped;
  st->bytes = (const guint8 *) g_mapped_file_get_contents (mapped);
  st->len = g_mapped_file_get_length (mapped);
  if (!parse (st, error)) {
    g_autofree char *shown_path = g_filename_display_name (path);
    g_prefix_error (error, "%s: ", shown_path);
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
  g_clear_pointer (&st->mapped, g_mapped_file_unref);
  g_free (st);
}

size_t
d7_safetensors_count (const D7Safetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->n;
}

/* in data-offset order */
const D7TensorInfo *
d7_safetensors_nth (const D7Safetensors *st, size_t i)
{
  g_return_val_if_fail (st != NULL, NULL);
  return i < st->n ? &st->tensors[i] : NULL;
}

const D7TensorInfo *
d7_safetensors_find (const D7Safetensors *st, const char *name)
{
  g_return_val_if_fail (st != NULL && name != NULL, NULL);
  return g_hash_table_lookup (st->by_name, name);
}

const char *
d7_safetensors_metadata (const D7Safetensors *st, const char *key)
{
  g_return_val_if_fail (st != NULL && key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

size_t
d7_safetensors_file_size (const D7Safetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->len;
}

/* ---- conversion to float32 ---------------------------------------------- */

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    float f = (float) man * 0x1p-24f;   /* zero or subnormal; exact in float32 */
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | man << 13;          /* inf, nan */
  else
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

/* The data is little-endian and may sit at any alignment in the file. */
static void
convert (const D7TensorInfo *ti, float *out)
{
  const guint8 *p = ti->data;
  switch (ti->dtype) {
  case D7_DTYPE_F32:
    memcpy (out, p, ti->nbytes);
#if G_BYTE_ORDER == G_BIG_ENDIAN
    for (size_t i = 0; i < ti->numel; i++) {
      guint32 bits;
      memcpy (&bits, &out[i], 4);
      bits = GUINT32_SWAP_LE_BE (bits);
      memcpy (&out[i], &bits, 4);
    }
#endif
    break;
  case D7_DTYPE_F16:
    for (size_t i = 0; i < ti->numel; i++) {
      guint16 h;
      memcpy (&h, p + 2 * i, 2);
      out[i] = half_to_float (GUINT16_FROM_LE (h));
    }
    break;
  case D7_DTYPE_BF16:
    for (size_t i = 0; i < ti->numel; i++) {
      guint16 h;
      memcpy (&h, p + 2 * i, 2);
      guint32 bits = (guint32) GUINT16_FROM_LE (h) << 16;
      memcpy (&out[i], &bits, 4);
    }
    break;
  case D7_DTYPE_I8:                     /* the raw integers; get_f32 scales them */
    for (size_t i = 0; i < ti->numel; i++)
      out[i] = (float) (p[i] < 128 ? (int) p[i] : (int) p[i] - 256);   /* two's complement */
    break;
  }
}

/* out (ti's integers as floats) times ti's per-row scale; FALSE (error set)
 * when a scale is not finite or memory runs out */
static gboolean
dequantise (const D7Safetensors *st, const D7TensorInfo *ti, float *out, GError **error)
{
  const D7TensorInfo *s = scale_of (st, ti);      /* check_scales made sure it is there */
  /* a float tensor (check_scales), read as any other: its shape and finiteness checked */
  float *scale = d7_safetensors_get_f32 (st, s->name, 1, s->shape, error);
  if (!scale)
    return FALSE;
  size_t row = s->numel ? ti->numel / s->numel : 0;
  for (size_t r = 0; r < s->numel; r++)
    for (size_t i = r * row; i < (r + 1) * row; i++)
      out[i] *= scale[r];
  g_free (scale);
  return TRUE;
}

const D7TensorInfo *
d7_safetensors_scale_of (const D7Safetensors *st, const D7TensorInfo *ti)
{
  g_return_val_if_fail (st != NULL && ti != NULL, NULL);
  return scale_of (st, ti);
}

static gboolean
same_shape (const D7TensorInfo *ti, int ndim, const int64_t *shape)
{
  if (ti->ndim != ndim)
    return FALSE;
  for (int i = 0; i < ndim; i++)
    if (ti->shape[i] != shape[i])
      return FALSE;
  return TRUE;
}

const D7TensorInfo *
d7_safetensors_check (const D7Safetensors *st, const char *name, int ndim,
                      const int64_t *shape, GError **error)
{
  g_return_val_if_fail (st != NULL && name != NULL, NULL);
  g_return_val_if_fail (ndim >= 0 && (ndim == 0 || shape != NULL), NULL);
  const D7TensorInfo *ti = d7_safetensors_find (st, name);
  if (!ti) {
    invalid (error, "tensor '%s' is missing from the model file", name);
    return NULL;
  }
  if (!same_shape (ti, ndim, shape)) {
    g_autofree char *have = format_shape (ti->ndim, ti->shape), *want = format_shape (ndim, shape);
    tensor_invalid (error, name, "shape is %s, expected %s", have, want);
    return NULL;
  }
  return ti;
}

float *
d7_safetensors_get_f32 (const D7Safetensors *st, const char *name, int ndim,
                        const int64_t *shape, GError **error)
{
  const D7TensorInfo *ti = d7_safetensors_check (st, name, ndim, shape, error);
  if (!ti)
    return NULL;
  /* numel <= G_MAXINT, but 4 * that is 8 GiB: fail softly */
  float *out = g_try_malloc_n (MAX (ti->numel, 1), sizeof (float));
  if (!out) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_NO_MEMORY,
                 "out of memory for tensor '%s' (%zu values)", name, ti->numel);
    return NULL;
  }
  convert (ti, out);
  if (ti->dtype == D7_DTYPE_I8 && !dequantise (st, ti, out, error)) {
    g_free (out);
    return NULL;
  }
  for (size_t i = 0; i < ti->numel; i++)
    if (!isfinite (out[i])) {
      tensor_invalid (error, name, "non-finite value (%g) at index %zu", (double) out[i], i);
      g_free (out);
      return NULL;
    }
  return out;
}
