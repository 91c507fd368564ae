/* Writes the seed corpora of the fuzzers: make-seeds fuzz/corpus
 *   model_load/: two small valid models (state and paper mode), damaged
 *                copies of them, tiny hostile safetensors files (I8 ones
 *                with and without their scale among them), configs;
 *   prompt/:     prompts in several languages and scripts, long ones, and
 *                invalid UTF-8.
 * The models are built from the loader's own tensor list, so they stay
 * valid when the model format changes; rerun and commit after such a change. */
#include "model.h"
#include "model_file.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

static const char *out_dir;

static void
put (const char *sub, const char *name, const void *data, gsize len)
{
  g_autofree char *dir = g_build_filename (out_dir, sub, NULL);
  g_mkdir_with_parents (dir, 0755);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GError *err = NULL;
  if (!g_file_set_contents (path, data, (gssize) len, &err)) {
    fprintf (stderr, "%s\n", err->message);
    exit (1);
  }
}

static void
put_str (const char *sub, const char *name, const char *s)
{
  put (sub, name, s, strlen (s));
}

/* a safetensors file from a header and some zero data */
static void
put_st (const char *name, const char *header, gsize data_len)
{
  gsize hl = strlen (header);
  guint8 *buf = g_malloc0 (8 + hl + data_len);
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) ((guint64) hl >> (8 * i));
  memcpy (buf + 8, header, hl);
  put ("model_load", name, buf, 8 + hl + data_len);
  g_free (buf);
}

static void
models (void)
{
  const char *state = D7_TEST_SMALL_CONFIG ("state"), *paper = D7_TEST_SMALL_CONFIG ("paper");
  GBytes *s = d7_test_model_file (state, 1, 0.5f), *p = d7_test_model_file (paper, 2, 0.5f);
  g_assert (s && p);
  gsize n, pn;
  const guint8 *d = g_bytes_get_data (s, &n);
  put ("model_load", "small-state.safetensors", d, n);
  const guint8 *pd = g_bytes_get_data (p, &pn);
  put ("model_load", "small-paper.safetensors", pd, pn);

  guint64 hlen = 0;
  for (int i = 0; i < 8; i++)
    hlen |= (guint64) d[i] << (8 * i);
  put ("model_load", "cut-in-header.safetensors", d, 8 + hlen / 2);
  put ("model_load", "cut-in-data.safetensors", d, n - 6);
  g_autofree guint8 *copy = g_memdup2 (d, n);
  copy[0] ^= 0x40;                                    /* header length off */
  put ("model_load", "bad-length.safetensors", copy, n);
  memcpy (copy, d, n);
  copy[n - 1] = 0x7e;                                 /* last weight: NaN */
  copy[n - 2] = 0x00;
  put ("model_load", "nan-weight.safetensors", copy, n);

  put_str ("model_load", "config-state.json", state);
  put_str ("model_load", "config-paper.json", paper);
  g_bytes_unref (s);
  g_bytes_unref (p);
}

static void
hostile (void)
{
  put_st ("empty-header.safetensors", "{}      ", 0);
  put_st ("no-metadata.safetensors",
          "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
  put_st ("overlap.safetensors",
          "{\"__metadata__\":{\"dir7.format\":\"1\",\"dir7.config\":\"{}\"},"
          "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
          "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}", 8);
  put_st ("offset-past-end.safetensors",
          "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 4);
  put_st ("shape-overflow.safetensors",
          "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4);
  /* I8 weights: one with its per-row scale, one without */
  put_st ("i8-scaled.safetensors",
          "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
          "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
  put_st ("i8-no-scale.safetensors",
          "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 4);
  put_st ("bad-config.safetensors",
          "{\"__metadata__\":{\"dir7.format\":\"1\",\"dir7.config\":\"{\\\"image_size\\\":64}\"}}", 0);
}

static void
prompts (void)
{
  static const struct { const char *name, *text; } p[] = {
    { "en.txt", "a red apple on a wooden table" },
    { "de.txt", "ein gr\xc3\xbcner Apfel, \xc3\x9f\xc3\xa4\xc3\xb6\xc3\xbc" },
    { "fr.txt", "une pomme rouge \xc3\xa0 c\xc3\xb4t\xc3\xa9 d'un caf\xc3\xa9" },
    { "zh.txt", "\xe4\xb8\x80\xe4\xb8\xaa\xe7\xba\xa2\xe8\x8b\xb9\xe6\x9e\x9c" },
    { "ja.txt", "\xe8\xb5\xa4\xe3\x81\x84\xe3\x82\x8a\xe3\x82\x93\xe3\x81\x94" },
    { "ar.txt", "\xd8\xaa\xd9\x81\xd8\xa7\xd8\xad\xd8\xa9 \xd8\xad\xd9\x85\xd8\xb1\xd8\xa7\xd8\xa1" },
    { "ru.txt", "\xd0\xba\xd1\x80\xd0\xb0\xd1\x81\xd0\xbd\xd0\xbe\xd0\xb5 \xd1\x8f\xd0\xb1\xd0\xbb\xd0\xbe\xd0\xba\xd0\xbe" },
    { "emoji.txt", "\xf0\x9f\x8d\x8e\xf0\x9f\x8d\x8f \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7" },
    { "combining.txt", "e\xcc\x81" "e\xcc\x81\xe2\x80\x8b\xef\xbb\xbf" },
    { "control.txt", "tab\there\nnewline\r\x7f\x01" },
    { "empty.txt", "" },
    { "invalid-ff.txt", "\xff\xfe broken" },
    { "invalid-overlong.txt", "\xc0\xaf slash" },
    { "invalid-surrogate.txt", "\xed\xa0\x80 half" },
    { "invalid-cut.txt", "apple \xe4\xb8" },
    { "invalid-beyond.txt", "\xf4\x90\x80\x80 beyond U+10FFFF" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (p); i++)
    put_str ("prompt", p[i].name, p[i].text);
  put ("prompt", "nul-inside.txt", "red\0apple", 9);
  /* longer than every model's max_len: the tokenizer cuts it */
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 40; i++)
    g_string_append (s, "\xe6\x97\xa5 sun ");
  put_str ("prompt", "long.txt", s->str);
  /* cut in the middle of a character exactly at the 32-byte limit */
  put_str ("prompt", "cut-at-limit.txt", "0123456789012345678901234567890\xe6\x97\xa5");
  g_string_free (s, TRUE);
}

int
main (int argc, char **argv)
{
  if (argc != 2) {
    fprintf (stderr, "usage: make-seeds OUTPUT_DIR (fuzz/corpus)\n");
    return 2;
  }
  out_dir = argv[1];
  models ();
  hostile ();
  prompts ();
  return 0;
}
