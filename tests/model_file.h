/* Builds DIR-7 model files for any config, from the loader's own list of the
 * tensors a config implies (d7_model_tensor_specs): every tensor F16, in load
 * order, packed. Used by test_config.c (hostile sizes, as sparse files) and
 * fuzz/make-seeds.c (small valid models for the seed corpus). */
#ifndef DIR7_TEST_MODEL_FILE_H
#define DIR7_TEST_MODEL_FILE_H

#include "model.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* A small config with every kind of layer: two levels, a DIR-7 level and a
 * DIR-7 middle, one text block; about 5,000 parameters. */
#define D7_TEST_SMALL_CONFIG(cross_mode)                                              \
  "{\"image_size\":4,\"head_size\":2,\"layer_norm_eps\":1e-5,"                        \
  "\"text\":{\"vocab_size\":257,\"dim\":2,\"layers\":1,\"max_len\":8,"                \
  "\"lora\":{\"w\":1,\"a\":1,\"v\":1,\"g\":1}},"                                      \
  "\"unet\":{\"image_channels\":4,\"base_channels\":2,\"num_res_blocks\":1,"          \
  "\"mid_dir7\":true,\"norm_groups\":1,\"norm_eps\":1e-5,\"time_dim\":4,"             \
  "\"lora\":{\"w\":1,\"a\":1,\"v\":1,\"g\":1},\"channel_mult\":[1,2],"                \
  "\"dir7_levels\":[false,true],\"cross_mode\":\"" cross_mode "\"},"                  \
  "\"diffusion\":{\"timesteps\":10,\"beta_start\":0.0001,\"beta_end\":0.02}}"

/* The first 8 + N bytes of the file (length and JSON header, space-padded to
 * a multiple of 8) for config_json, which must parse; *data_len gets the
 * size of the data region that follows. NULL if the config does not parse. */
static inline GBytes *
d7_test_model_header (const char *config_json, guint64 *data_len)
{
  D7Config cfg;
  if (!d7_config_parse (config_json, &cfg, NULL))
    return NULL;
  GPtrArray *specs = d7_model_tensor_specs (&cfg);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "dir7.format");
  json_builder_add_string_value (b, "1");
  json_builder_set_member_name (b, "dir7.config");
  json_builder_add_string_value (b, config_json);
  json_builder_end_object (b);
  guint64 off = 0;
  for (guint i = 0; i < specs->len; i++) {
    const D7TensorSpec *s = g_ptr_array_index (specs, i);
    guint64 n = 1;
    json_builder_set_member_name (b, s->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, "F16");
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < s->ndim; d++) {
      json_builder_add_int_value (b, s->shape[d]);
      n *= (guint64) s->shape[d];
    }
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) off);
    json_builder_add_int_value (b, (gint64) (off + 2 * n));
    json_builder_end_array (b);
    json_builder_end_object (b);
    off += 2 * n;
  }
  json_builder_end_object (b);
  g_ptr_array_unref (specs);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize hlen;
  g_autofree char *text = json_generator_to_data (gen, &hlen);
  json_node_unref (root);
  gsize padded = (hlen + 7) / 8 * 8;
  guint8 *buf = g_malloc (8 + padded);
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) ((guint64) padded >> (8 * i));
  memcpy (buf + 8, text, hlen);
  memset (buf + 8 + hlen, ' ', padded - hlen);
  *data_len = off;
  return g_bytes_new_take (buf, 8 + padded);
}

/* A whole small model file: the header and F16 weights drawn from seed
 * (uniform in [-scale, scale]; norm weights too, which is fine for tests). */
static inline GBytes *
d7_test_model_file (const char *config_json, guint32 seed, float scale)
{
  guint64 data_len;
  GBytes *header = d7_test_model_header (config_json, &data_len);
  if (!header)
    return NULL;
  gsize hl;
  const guint8 *h = g_bytes_get_data (header, &hl);
  guint8 *buf = g_malloc (hl + data_len);
  memcpy (buf, h, hl);
  GRand *rng = g_rand_new_with_seed (seed);
  for (guint64 i = 0; i < data_len / 2; i++) {
    /* float -> half for |x| <= 1: enough precision for test weights */
    float x = (float) g_rand_double_range (rng, -scale, scale);
    guint32 bits;
    memcpy (&bits, &x, 4);
    guint16 sign = (bits >> 16) & 0x8000;
    int e = (int) ((bits >> 23) & 0xff) - 127 + 15;
    guint16 half = e <= 0 ? sign : (guint16) (sign | e << 10 | ((bits >> 13) & 0x3ff));
    buf[hl + 2 * i] = (guint8) half;
    buf[hl + 2 * i + 1] = (guint8) (half >> 8);
  }
  g_rand_free (rng);
  g_bytes_unref (header);
  return g_bytes_new_take (buf, hl + data_len);
}

#endif
