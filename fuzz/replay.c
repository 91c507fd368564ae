/* Runs a libFuzzer harness over files and directories of inputs without
 * libFuzzer: the seed corpus becomes an ordinary test in every build
 * (gcc, AddressSanitizer, valgrind). */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
  gchar *data;
  gsize len;
  GError *err = NULL;
  if (!g_file_get_contents (path, &data, &len, &err)) {
    fprintf (stderr, "%s\n", err->message);
    g_error_free (err);
    return 1;
  }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  g_free (data);
  return 0;
}

int
main (int argc, char **argv)
{
  LLVMFuzzerInitialize (&argc, &argv);
  int n = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      GDir *dir = g_dir_open (argv[i], 0, NULL);
      GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
      for (const char *name; dir && (name = g_dir_read_name (dir));)
        g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      if (dir)
        g_dir_close (dir);
      for (guint j = 0; j < names->len; j++, n++)
        bad += run_file (g_ptr_array_index (names, j));
      g_ptr_array_unref (names);
    } else {
      bad += run_file (argv[i]);
      n++;
    }
  }
  printf ("%d inputs replayed, %d unreadable\n", n, bad);
  return bad != 0 || n == 0;
}
