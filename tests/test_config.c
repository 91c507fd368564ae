/* dir7.config validation and the model loader's checks against the config:
 * absurd or inconsistent sizes, missing, extra and misshapen tensors. */
#include "config.h"
#include "dir7.h"
#include "model_file.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int passed, failed;
static guint8 *model_bytes;
static gsize model_len;

static void
expect (gboolean ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  ok ? passed++ : failed++;
}

/* The real config with one field replaced (a JSON path of two levels at most). */
static char *
config_with (const char *section, const char *key, const char *json_value)
{
  guint64 hlen;
  memcpy (&hlen, model_bytes, 8);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert (json_parser_load_from_data (p, (const char *) model_bytes + 8, (gssize) hlen, NULL));
  JsonObject *meta = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                                    "__metadata__");
  g_autoptr (JsonParser) cp = json_parser_new ();
  g_assert (json_parser_load_from_data (cp, json_object_get_string_member (meta, "dir7.config"), -1, NULL));
  JsonObject *cfg = json_node_get_object (json_parser_get_root (cp));
  JsonObject *target = section ? json_object_get_object_member (cfg, section) : cfg;
  if (json_value) {
    g_autoptr (JsonParser) vp = json_parser_new ();
    g_assert (json_parser_load_from_data (vp, json_value, -1, NULL));
    json_object_set_member (target, key, json_node_copy (json_parser_get_root (vp)));
  } else {
    json_object_remove_member (target, key);
  }
  return json_to_string (json_parser_get_root (cp), FALSE);
}

static void
config_rejected (const char *section, const char *key, const char *value, const char *word)
{
  g_autofree char *json = config_with (section, key, value);
  D7Config c;
  GError *err = NULL;
  gboolean ok = d7_config_parse (json, &c, &err);
  g_autofree char *what = g_strdup_printf ("config %s%s%s = %s is rejected naming '%s'",
                                           section ? section : "", section ? "." : "", key,
                                           value ? value : "(missing)", word);
  expect (!ok && err && strstr (err->message, word), what, err ? err->message : "accepted");
  g_clear_error (&err);
}

/* Writes the model file with its header rewritten by edit(), then loads it. */
typedef void (*HeaderEdit) (JsonObject *header, gpointer data);

static Dir7Model *
load_edited (HeaderEdit edit, gpointer data, GError **err)
{
  guint64 hlen;
  memcpy (&hlen, model_bytes, 8);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert (json_parser_load_from_data (p, (const char *) model_bytes + 8, (gssize) hlen, NULL));
  edit (json_node_get_object (json_parser_get_root (p)), data);
  gsize n;
  g_autofree char *h = json_to_string (json_parser_get_root (p), FALSE);
  n = strlen (h);
  guint64 nl = n;
  GByteArray *out = g_byte_array_new ();
  g_byte_array_append (out, (guint8 *) &nl, 8);
  g_byte_array_append (out, (guint8 *) h, (guint) n);
  g_byte_array_append (out, model_bytes + 8 + hlen, (guint) (model_len - 8 - hlen));
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("dir7-test-XXXXXX.safetensors", &path, NULL);
  close (fd);
  g_assert (g_file_set_contents (path, (char *) out->data, out->len, NULL));
  g_byte_array_unref (out);
  Dir7Model *m = dir7_model_load (path, err);
  g_unlink (path);
  return m;
}

static void
set_config (JsonObject *header, gpointer json)
{
  json_object_set_string_member (json_object_get_object_member (header, "__metadata__"),
                                 "dir7.config", json);
}

static void
rename_tensor (JsonObject *header, gpointer names)
{
  const char *const *n = names;
  JsonNode *node = json_node_copy (json_object_get_member (header, n[0]));
  json_object_remove_member (header, n[0]);
  json_object_set_member (header, n[1], node);
}

static void
reshape_tensor (JsonObject *header, gpointer name)
{
  /* same byte count, other shape: [a,b] -> [b,a] style swap of a 2-D weight */
  JsonObject *t = json_object_get_object_member (header, name);
  JsonArray *s = json_object_get_array_member (t, "shape");
  gint64 a = json_array_get_int_element (s, 0), b = json_array_get_int_element (s, 1);
  JsonArray *ns = json_array_new ();
  json_array_add_int_element (ns, b);
  json_array_add_int_element (ns, a);
  json_object_set_array_member (t, "shape", ns);
}

static void
drop_metadata (JsonObject *header, gpointer unused)
{
  json_object_remove_member (header, "__metadata__");
}

static void
model_rejected (const char *what, HeaderEdit edit, gpointer data, const char *word)
{
  GError *err = NULL;
  Dir7Model *m = load_edited (edit, data, &err);
  expect (!m && err && strstr (err->message, word), what, err ? err->message : "loaded");
  dir7_model_free (m);
  g_clear_error (&err);
}

static void
set_offsets (JsonObject *header, gpointer spec)
{
  /* "name:begin:end" */
  g_auto (GStrv) f = g_strsplit (spec, ":", 3);
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, g_ascii_strtoll (f[1], NULL, 10));
  json_array_add_int_element (a, g_ascii_strtoll (f[2], NULL, 10));
  json_object_set_array_member (json_object_get_object_member (header, f[0]), "data_offsets", a);
}

static void
set_shape (JsonObject *header, gpointer name)
{
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, G_GINT64_CONSTANT (4294967296));
  json_array_add_int_element (a, G_GINT64_CONSTANT (4294967296));
  json_array_add_int_element (a, 16);
  json_object_set_array_member (json_object_get_object_member (header, name), "shape", a);
}

static void
add_tensor (JsonObject *header, gpointer name)
{
  /* a copy of an existing entry (same bytes would overlap: an empty one) */
  JsonObject *t = json_object_new ();
  json_object_set_string_member (t, "dtype", "F16");
  JsonArray *shape = json_array_new ();
  json_array_add_int_element (shape, 0);
  json_object_set_array_member (t, "shape", shape);
  JsonArray *off = json_array_new ();
  json_array_add_int_element (off, 0);
  json_array_add_int_element (off, 0);
  json_object_set_array_member (t, "data_offsets", off);
  json_object_set_object_member (header, name, t);
}

/* data offset (in the data region) of a tensor of the test model */
static gint64
tensor_begin (const char *name)
{
  guint64 hlen;
  memcpy (&hlen, model_bytes, 8);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert (json_parser_load_from_data (p, (const char *) model_bytes + 8, (gssize) hlen, NULL));
  JsonObject *t = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), name);
  return json_array_get_int_element (json_object_get_array_member (t, "data_offsets"), 0);
}

static char *
temp_path (void)
{
  char *path = NULL;
  int fd = g_file_open_tmp ("dir7-test-XXXXXX.safetensors", &path, NULL);
  g_assert (fd >= 0);
  close (fd);
  return path;
}

static Dir7Model *
load_bytes (const guint8 *bytes, gsize len, GError **err)
{
  g_autofree char *path = temp_path ();
  g_assert (g_file_set_contents (path, (const char *) bytes, (gssize) len, NULL));
  Dir7Model *m = dir7_model_load (path, err);
  g_unlink (path);
  return m;
}

/* The test model with one F16 value replaced: a NaN or Inf weight. */
static void
nonfinite_weight (const char *what, const char *name, int index, guint16 half)
{
  guint64 hlen;
  memcpy (&hlen, model_bytes, 8);
  g_autofree guint8 *copy = g_memdup2 (model_bytes, model_len);
  size_t at = 8 + hlen + (size_t) tensor_begin (name) + 2 * (size_t) index;
  copy[at] = (guint8) half;
  copy[at + 1] = (guint8) (half >> 8);
  GError *err = NULL;
  Dir7Model *m = load_bytes (copy, model_len, &err);
  g_autofree char *idx = g_strdup_printf ("index %d", index);
  expect (!m && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_MODEL_INVALID) && strstr (err->message, name)
          && strstr (err->message, "non-finite") && strstr (err->message, idx),
          what, err ? err->message : "loaded");
  dir7_model_free (m);
  g_clear_error (&err);
}

/* A config within every field's bounds whose tensors add up to far more
 * memory than allowed, in a sparse file that really holds them all: the
 * loader must refuse before it allocates (or reads) any of it. */
static void
huge_model (const char *what, int dim, int layers, const char *limit_mb)
{
  g_autofree char *json = g_strdup_printf (
    "{\"image_size\":4,\"head_size\":2,\"layer_norm_eps\":1e-5,"
    "\"text\":{\"vocab_size\":65536,\"dim\":%d,\"layers\":%d,\"max_len\":8,"
    "\"lora\":{\"w\":1,\"a\":1,\"v\":1,\"g\":1}},"
    "\"unet\":{\"image_channels\":4,\"base_channels\":2,\"num_res_blocks\":1,"
    "\"mid_dir7\":false,\"norm_groups\":1,\"norm_eps\":1e-5,\"time_dim\":4,"
    "\"lora\":{\"w\":1,\"a\":1,\"v\":1,\"g\":1},\"channel_mult\":[1],"
    "\"dir7_levels\":[false],\"cross_mode\":\"state\"},"
    "\"diffusion\":{\"timesteps\":10,\"beta_start\":0.0001,\"beta_end\":0.02}}", dim, layers);
  guint64 data_len;
  GBytes *header = d7_test_model_header (json, &data_len);
  g_assert (header);
  g_autofree char *path = temp_path ();
  gsize hl;
  const guint8 *h = g_bytes_get_data (header, &hl);
  FILE *f = fopen (path, "wb");
  g_assert (f && fwrite (h, 1, hl, f) == hl);
  gboolean sparse = fflush (f) == 0 && ftruncate (fileno (f), (off_t) (hl + data_len)) == 0;
  fclose (f);
  g_bytes_unref (header);
  if (!sparse) {
    g_autofree char *skip = g_strdup_printf ("%s: SKIPPED, no sparse file of %.1f GiB here", what,
                                             data_len / 1073741824.0);
    printf ("%s\n", skip);
    g_unlink (path);
    return;
  }
  if (limit_mb)
    g_setenv ("DIR7_MEMORY_LIMIT_MB", limit_mb, TRUE);
  struct rusage before, after;
  getrusage (RUSAGE_SELF, &before);
  gint64 t0 = g_get_monotonic_time ();
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (path, &err);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  getrusage (RUSAGE_SELF, &after);
  g_unsetenv ("DIR7_MEMORY_LIMIT_MB");
  g_unlink (path);
  long grew_mb = (after.ru_maxrss - before.ru_maxrss) / 1024;
  g_autofree char *detail = g_strdup_printf ("%s (%.1f GiB file, %.2f s, peak memory +%ld MiB)",
                                             err ? err->message : "loaded", data_len / 1073741824.0,
                                             secs, grew_mb);
  expect (!m && g_error_matches (err, DIR7_ERROR, DIR7_ERROR_NO_MEMORY) && strstr (err->message, "limit")
          && secs < 10 && grew_mb < 256, what, detail);
  dir7_model_free (m);
  g_clear_error (&err);
}

static void
test_built_models (void)
{
  /* the file builder of the hostile-size test makes loadable models */
  const char *modes[2] = { D7_TEST_SMALL_CONFIG ("state"), D7_TEST_SMALL_CONFIG ("paper") };
  for (int i = 0; i < 2; i++) {
    GBytes *file = d7_test_model_file (modes[i], 1, 0.5f);
    gsize n;
    const guint8 *d = g_bytes_get_data (file, &n);
    GError *err = NULL;
    Dir7Model *m = load_bytes (d, n, &err);
    expect (m != NULL, i ? "a small paper-mode model built from the tensor list loads"
                         : "a small state-mode model built from the tensor list loads",
            err ? err->message : NULL);
    dir7_model_free (m);
    g_clear_error (&err);
    g_bytes_unref (file);
  }
}

int
main (int argc, char **argv)
{
  g_assert (argc > 1);
  g_assert (g_file_get_contents (argv[1], (char **) &model_bytes, &model_len, NULL));

  /* the untouched file loads */
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (argv[1], &err);
  expect (m != NULL, "the test model loads", err ? err->message : NULL);
  dir7_model_free (m);

  config_rejected (NULL, "image_size", "1000000000", "image_size");
  config_rejected (NULL, "head_size", "-64", "head_size");
  config_rejected (NULL, "head_size", "48", "head_size");
  config_rejected (NULL, "image_size", "\"sixty-four\"", "image_size");
  config_rejected (NULL, "image_size", NULL, "image_size");
  config_rejected ("unet", "base_channels", "99999999", "base_channels");
  config_rejected ("unet", "norm_groups", "7", "norm_groups");
  config_rejected ("unet", "channel_mult", "[1,2,4,8,16,32,64,128,256]", "channel_mult");
  config_rejected ("unet", "channel_mult", "[1, 100000]", "channel_mult");
  config_rejected ("unet", "dir7_levels", "[true]", "dir7_levels");
  config_rejected ("unet", "cross_mode", "\"telepathy\"", "cross_mode");
  config_rejected ("text", "layers", "1000000", "layers");
  config_rejected ("text", "max_len", "0", "max_len");
  config_rejected ("diffusion", "beta_end", "5", "beta_end");
  config_rejected ("diffusion", "timesteps", "1e300", "timesteps");
  config_rejected ("diffusion", "prediction", "\"x0\"", "prediction");
  config_rejected ("diffusion", "prediction", "1", "prediction");
  config_rejected ("unet", "cross_mode", NULL, "cross_mode");
  config_rejected ("unet", "text_embed", "1", "text_embed");
  config_rejected ("unet", "text_embed", "\"yes\"", "text_embed");

  /* text_embed: true and false are read; a file without the field has none */
  {
    struct { const char *value; gboolean want; const char *what; } cases[] = {
      { "true", TRUE, "text_embed true is read" },
      { "false", FALSE, "text_embed false is read" },
      { NULL, FALSE, "a config without text_embed has no text embedding" },
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
      g_autofree char *json = config_with ("unet", "text_embed", cases[i].value);
      D7Config c;
      gboolean ok = d7_config_parse (json, &c, &err);
      expect (ok && c.unet.text_embed == cases[i].want, cases[i].what, err ? err->message : NULL);
      g_clear_error (&err);
    }
  }

  /* prediction: "v" is read; a file without the field is an epsilon model */
  {
    struct { const char *value; D7Prediction want; const char *what; } cases[] = {
      { "\"v\"", D7_PREDICT_V, "prediction \"v\" is read as v" },
      { "\"epsilon\"", D7_PREDICT_EPSILON, "prediction \"epsilon\" is read as epsilon" },
      { NULL, D7_PREDICT_EPSILON, "a config without prediction is an epsilon model" },
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
      g_autofree char *json = config_with ("diffusion", "prediction", cases[i].value);
      D7Config c;
      gboolean ok = d7_config_parse (json, &c, &err);
      expect (ok && c.diffusion.prediction == cases[i].want, cases[i].what, err ? err->message : NULL);
      g_clear_error (&err);
    }
  }

  {
    D7Config c;
    expect (!d7_config_parse ("{not json", &c, &err) && err && strstr (err->message, "JSON"),
            "garbage config is rejected", err ? err->message : NULL);
    g_clear_error (&err);
  }

  g_autofree char *more_layers = config_with ("text", "layers", "3");
  model_rejected ("a config asking for a layer the file lacks", set_config, more_layers, "text.blocks.2");
  g_autofree char *paper = config_with ("unet", "cross_mode", "\"paper\"");
  model_rejected ("state-mode weights under a paper-mode config", set_config, paper, "cross");
  const char *ren[2] = { "unet.conv_in.bias", "unet.conv_in.bias_extra" };
  model_rejected ("a missing tensor is named", rename_tensor, (gpointer) ren, "unet.conv_in.bias");
  model_rejected ("a misshapen tensor is named", reshape_tensor,
                  (gpointer) "unet.down.0.dir7.0.attn.w_lora.lora.0.weight", "w_lora");
  model_rejected ("a file without DIR-7 metadata", drop_metadata, NULL, "not a DIR-7 model");
  /* tiny-state has a text embedding: a config that denies it leaves its tensors over,
   * and one that asks for it needs them */
  g_autofree char *no_te = config_with ("unet", "text_embed", "false");
  model_rejected ("text-embedding weights under a config without one", set_config, no_te,
                  "unet.text_embed");
  const char *ren_te[2] = { "unet.text_embed.weight", "unet.text_embed.weight_x" };
  model_rejected ("a missing text-embedding weight is named", rename_tensor, (gpointer) ren_te,
                  "unet.text_embed.weight");

  /* the header's framing and layout, through the model loader */
  {
    g_autofree guint8 *copy = g_memdup2 (model_bytes, model_len);
    guint64 hlen;
    memcpy (&hlen, copy, 8);
    hlen = GUINT64_TO_LE (model_len);       /* the header as long as the file */
    memcpy (copy, &hlen, 8);
    Dir7Model *bad = load_bytes (copy, model_len, &err);
    expect (!bad && err && strstr (err->message, "beyond the end"),
            "a header length beyond the file is rejected", err ? err->message : "loaded");
    dir7_model_free (bad);
    g_clear_error (&err);
    bad = load_bytes (copy, 5, &err);
    expect (!bad && err && strstr (err->message, "too short"),
            "a 5-byte model file is rejected", err ? err->message : "loaded");
    dir7_model_free (bad);
    g_clear_error (&err);
  }
  gint64 b0 = tensor_begin ("unet.conv_in.bias");
  g_autofree char *overlap = g_strdup_printf ("unet.conv_in.bias:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                                              b0 - 64, b0 + 64);
  model_rejected ("overlapping data_offsets are rejected", set_offsets, overlap, "overlap");
  g_autofree char *past = g_strdup_printf ("unet.conv_in.bias:%" G_GSIZE_FORMAT ":%" G_GSIZE_FORMAT,
                                           model_len, model_len + 128);
  model_rejected ("data_offsets beyond the file are rejected", set_offsets, past, "past the end");
  model_rejected ("a shape whose size overflows 64 bits is rejected", set_shape,
                  (gpointer) "unet.conv_in.bias", "overflow");
  model_rejected ("a tensor the config does not describe is named", add_tensor,
                  (gpointer) "unet.extra.weight", "unet.extra.weight");

  nonfinite_weight ("a NaN weight is rejected naming tensor and index", "unet.conv_in.bias", 3, 0x7e00);
  nonfinite_weight ("an Inf weight is rejected naming tensor and index", "text.emb.weight", 100, 0x7c00);
  nonfinite_weight ("a -Inf weight is rejected naming tensor and index", "unet.conv_out.weight", 0, 0xfc00);

  test_built_models ();
  /* 8 text layers of width 4096: 1.6 G parameters, 6 GiB as float32 */
  huge_model ("a config within every field's bounds but 6 GiB of weights is refused before loading",
              4096, 8, "1024");
  /* and one larger than the machine's memory, with no limit set:
   * 16 layers of width 8192 take 52 GiB; more layers where there is more memory */
  {
    guint64 ram = (guint64) sysconf (_SC_PHYS_PAGES) * (guint64) sysconf (_SC_PAGESIZE);
    guint64 per_layer = (guint64) 12 * 8192 * 8192 * 4;
    guint64 layers = MAX (16, 2 * ram / per_layer + 1);
    if (layers <= 256)
      huge_model ("a config needing twice this machine's memory is refused before loading",
                  8192, (int) layers, NULL);
  }

  g_free (model_bytes);
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
