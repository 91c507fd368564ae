/* dir7.config parsing with json-glib; every number is range-checked so a
 * hostile file cannot ask for absurd allocations. */
#include "config.h"
#include "dir7.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  JsonObject *obj;
  const char *section;
  GError    **error;
  gboolean    ok;
} Reader;

static JsonNode *
field (Reader *r, const char *name)
{
  if (!r->ok)
    return NULL;
  JsonNode *n = r->obj ? json_object_get_member (r->obj, name) : NULL;
  if (!n || !JSON_NODE_HOLDS_VALUE (n)) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s is missing or not a value", r->section, name);
    r->ok = FALSE;
    return NULL;
  }
  return n;
}

static int
read_int (Reader *r, const char *name, int lo, int hi)
{
  JsonNode *n = field (r, name);
  if (!n)
    return lo;
  if (json_node_get_value_type (n) != G_TYPE_INT64) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s is not an integer", r->section, name);
    r->ok = FALSE;
    return lo;
  }
  gint64 v = json_node_get_int (n);
  if (v < lo || v > hi) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s = %" G_GINT64_FORMAT " is outside [%d, %d]",
                 r->section, name, v, lo, hi);
    r->ok = FALSE;
    return lo;
  }
  return (int) v;
}

static double
read_double (Reader *r, const char *name, double lo, double hi)
{
  JsonNode *n = field (r, name);
  if (!n)
    return lo;
  GType t = json_node_get_value_type (n);
  double v = t == G_TYPE_INT64 ? (double) json_node_get_int (n)
           : t == G_TYPE_DOUBLE ? json_node_get_double (n) : -1e300;
  if (!(v >= lo && v <= hi)) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s is not a number in [%g, %g]", r->section, name, lo, hi);
    r->ok = FALSE;
    return lo;
  }
  return v;
}

static gboolean
read_bool (Reader *r, const char *name)
{
  JsonNode *n = field (r, name);
  if (!n)
    return FALSE;
  if (json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s is not true/false", r->section, name);
    r->ok = FALSE;
    return FALSE;
  }
  return json_node_get_boolean (n);
}

/* An optional true/false field: absent is false. */
static gboolean
read_flag (Reader *r, const char *name)
{
  if (!r->ok || !json_object_has_member (r->obj, name))
    return FALSE;
  return read_bool (r, name);
}

/* A string field that must be one of `choices` (NULL-terminated); returns its
 * index. An absent field gives `absent` when that is >= 0. */
static int
read_choice (Reader *r, const char *name, const char *const *choices, int absent)
{
  if (!r->ok)
    return 0;
  if (absent >= 0 && !json_object_has_member (r->obj, name))
    return absent;
  JsonNode *n = field (r, name);
  const char *v = n && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n) : NULL;
  for (int i = 0; v && choices[i]; i++)
    if (g_str_equal (v, choices[i]))
      return i;
  if (r->ok) {
    g_autofree char *list = g_strjoinv ("\", \"", (char **) choices);
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s must be one of \"%s\"", r->section, name, list);
    r->ok = FALSE;
  }
  return 0;
}

static JsonArray *
read_array (Reader *r, const char *name)
{
  if (!r->ok)
    return NULL;
  JsonNode *n = json_object_get_member (r->obj, name);
  if (!n || !JSON_NODE_HOLDS_ARRAY (n)) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s is missing or not a list", r->section, name);
    r->ok = FALSE;
    return NULL;
  }
  return json_node_get_array (n);
}

static Reader
sub (Reader *r, const char *name, const char *section)
{
  Reader s = { NULL, section, r->error, r->ok };
  if (!r->ok)
    return s;
  JsonNode *n = json_object_get_member (r->obj, name);
  if (!n || !JSON_NODE_HOLDS_OBJECT (n)) {
    g_set_error (r->error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: %s%s is missing or not an object", r->section, name);
    r->ok = s.ok = FALSE;
    return s;
  }
  s.obj = json_node_get_object (n);
  return s;
}

static void
read_lora (Reader *r, const char *section, D7LoraRanks *l)
{
  Reader s = sub (r, "lora", section);
  l->w = read_int (&s, "w", 1, 4096);
  l->a = read_int (&s, "a", 1, 4096);
  l->v = read_int (&s, "v", 1, 4096);
  l->g = read_int (&s, "g", 1, 4096);
  r->ok = s.ok;
}

gboolean
d7_config_parse (const char *json, D7Config *cfg, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *perr = NULL;
  memset (cfg, 0, sizeof *cfg);
  if (!json_parser_load_from_data (parser, json, -1, &perr)) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config is not valid JSON: %s", perr->message);
    g_error_free (perr);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID, "dir7.config is not a JSON object");
    return FALSE;
  }
  Reader r = { json_node_get_object (root), "", error, TRUE };
  cfg->image_size = read_int (&r, "image_size", 1, 4096);
  cfg->head_size = read_int (&r, "head_size", 1, 1024);
  cfg->layer_norm_eps = read_double (&r, "layer_norm_eps", 0.0, 1.0);

  Reader t = sub (&r, "text", "text.");
  cfg->text.vocab_size = read_int (&t, "vocab_size", 257, 65536);
  cfg->text.dim = read_int (&t, "dim", 1, 8192);
  cfg->text.layers = read_int (&t, "layers", 0, 256);
  cfg->text.max_len = read_int (&t, "max_len", 1, 65536);
  read_lora (&t, "text.lora.", &cfg->text.lora);
  r.ok = t.ok;

  Reader u = sub (&r, "unet", "unet.");
  cfg->unet.image_channels = read_int (&u, "image_channels", 3, 4);
  cfg->unet.base_channels = read_int (&u, "base_channels", 1, 4096);
  cfg->unet.num_res_blocks = read_int (&u, "num_res_blocks", 1, 16);
  cfg->unet.mid_dir7 = read_bool (&u, "mid_dir7");
  cfg->unet.text_embed = read_flag (&u, "text_embed");
  cfg->unet.norm_groups = read_int (&u, "norm_groups", 1, 4096);
  cfg->unet.norm_eps = read_double (&u, "norm_eps", 0.0, 1.0);
  cfg->unet.time_dim = read_int (&u, "time_dim", 2, 16384);
  read_lora (&u, "unet.lora.", &cfg->unet.lora);
  JsonArray *mult = read_array (&u, "channel_mult");
  JsonArray *lev = read_array (&u, "dir7_levels");
  static const char *const cross_modes[] = { "paper", "state", NULL };
  cfg->unet.cross_mode = (D7CrossMode) read_choice (&u, "cross_mode", cross_modes, -1);
  r.ok = u.ok;
  if (r.ok) {
    guint n = json_array_get_length (mult);
    if (n < 1 || n > D7_MAX_LEVELS || json_array_get_length (lev) != n) {
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                   "dir7.config: unet.channel_mult needs 1..%d entries and dir7_levels as many",
                   D7_MAX_LEVELS);
      return FALSE;
    }
    cfg->unet.n_levels = (int) n;
    for (guint i = 0; i < n; i++) {
      JsonNode *m = json_array_get_element (mult, i), *l = json_array_get_element (lev, i);
      if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_INT64 ||
          json_node_get_int (m) < 1 || json_node_get_int (m) > 64 ||
          !JSON_NODE_HOLDS_VALUE (l) || json_node_get_value_type (l) != G_TYPE_BOOLEAN) {
        g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                     "dir7.config: unet.channel_mult[%u] or dir7_levels[%u] is malformed", i, i);
        return FALSE;
      }
      cfg->unet.channel_mult[i] = (int) json_node_get_int (m);
      cfg->unet.dir7_levels[i] = json_node_get_boolean (l);
    }
  }

  Reader d = sub (&r, "diffusion", "diffusion.");
  cfg->diffusion.timesteps = read_int (&d, "timesteps", 2, 100000);
  cfg->diffusion.beta_start = read_double (&d, "beta_start", 1e-12, 0.999);
  cfg->diffusion.beta_end = read_double (&d, "beta_end", 1e-12, 0.999);
  /* what the U-Net outputs; files without the field are epsilon models (contract section 7) */
  static const char *const predictions[] = { "epsilon", "v", NULL };
  cfg->diffusion.prediction = (D7Prediction) read_choice (&d, "prediction", predictions, D7_PREDICT_EPSILON);
  r.ok = d.ok;
  if (!r.ok)
    return FALSE;

  /* Cross-field checks: heads must tile every width that carries RWKV. */
  int widest = 0;
  for (int i = 0; i < cfg->unet.n_levels; i++) {
    int c = cfg->unet.base_channels * cfg->unet.channel_mult[i];
    widest = MAX (widest, c);
    if (c > 8192 || c % cfg->unet.norm_groups != 0 ||
        ((cfg->unet.dir7_levels[i] || cfg->unet.mid_dir7) && c % cfg->head_size != 0)) {
      g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                   "dir7.config: level %d has %d channels, which norm_groups (%d) and "
                   "head_size (%d) must divide", i, c, cfg->unet.norm_groups, cfg->head_size);
      return FALSE;
    }
  }
  if (cfg->unet.base_channels % cfg->unet.norm_groups != 0 || cfg->text.dim % cfg->head_size != 0 ||
      cfg->unet.base_channels % 2 != 0) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: base_channels (%d) / text.dim (%d) do not fit norm_groups (%d) / head_size (%d)",
                 cfg->unet.base_channels, cfg->text.dim, cfg->unet.norm_groups, cfg->head_size);
    return FALSE;
  }
  int step = 1 << (cfg->unet.n_levels - 1);
  if (cfg->image_size % step != 0) {
    g_set_error (error, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID,
                 "dir7.config: image_size %d is not a multiple of %d", cfg->image_size, step);
    return FALSE;
  }
  (void) widest;
  return TRUE;
}
