/* libFuzzer harness: bytes -> a model file -> dir7_model_load (the real
 * mmap path, through a memfd) -> describe, one tiny generation when the
 * model is small, free. The same bytes are also parsed as a dir7.config.
 * Any outcome but "a model" or "a GError" (crash, leak, UB, a GLib
 * critical, a huge allocation) is a finding. */
#include "config.h"
#include "dir7.h"
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* a generation the fuzzer's memory limit would kill must be refused first */
  g_setenv ("DIR7_MEMORY_LIMIT_MB", "768", FALSE);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  fd = memfd_create ("dir7-fuzz", MFD_CLOEXEC);
  if (fd < 0) {
    perror ("memfd_create");
    abort ();
  }
  g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  return 0;
}

static void
write_all (const uint8_t *data, size_t size)
{
  if (ftruncate (fd, 0) != 0)
    abort ();
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite (fd, data + done, size - done, (off_t) done);
    if (n <= 0)
      abort ();
    done += (size_t) n;
  }
}

static void
try_generate (Dir7Model *m, const uint8_t *data, size_t size)
{
  /* cheap only: a few hundred thousand weights, the smallest size, 1 step */
  if (m->n_params > 300000)
    return;
  Dir7GenerateParams p;
  dir7_generate_params_init (&p);
  p.width = p.height = dir7_model_size_step (m);
  p.steps = 1;
  p.prompt = "fuzz";
  p.guidance = size & 1 ? 1.f : 3.f;   /* with and without the uncond branch */
  p.sampler = (Dir7Sampler) (size % 3);
  p.seed = size;
  GError *err = NULL;
  float *img = dir7_generate (m, &p, &err);
  if (!img == !err)
    abort ();
  for (int i = 0; img && i < 4 * p.width * p.height; i++)
    if (!(img[i] >= 0.f && img[i] <= 1.f) && img[i] == img[i])
      abort ();                   /* clamped, or NaN from NaN-making weights */
  g_free (img);
  g_clear_error (&err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  write_all (data, size);
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (path, &err);
  if (!m == !err)
    abort ();
  if (m) {
    g_free (dir7_model_describe (m));
    try_generate (m, data, size);
    dir7_model_free (m);
  }
  g_clear_error (&err);

  /* the bytes as the config JSON (up to a NUL), and its tensor list */
  char *json = g_strndup ((const char *) data, size);
  D7Config cfg;
  if (d7_config_parse (json, &cfg, &err)) {
    if (err)
      abort ();
    g_ptr_array_unref (d7_model_tensor_specs (&cfg));
  } else if (!err) {
    abort ();
  }
  g_clear_error (&err);
  g_free (json);
  return 0;
}
