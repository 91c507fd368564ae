/* dir7.config validation and the model loader's checks against the config:
 * absurd or inconsistent sizes, missing, extra and misshapen tensors. */
#include "config.h"
#include "dir7.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
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

  g_free (model_bytes);
  printf ("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
