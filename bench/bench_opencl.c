/* Benchmarks of the OpenCL backend (never a test): timings on whatever
 * device --device names, printed as JSON lines for bench/report.py.
 *
 *   bench-opencl wkv      [--device D]        WKV-7 kernel, T x heads grid
 *   bench-opencl generate MODEL [--device D] [--quick]
 *                  20 DPM-Solver++ steps, guidance 5: 64x64, then (not --quick)
 *                  resolution and prompt scaling. DIR7_CL_PROFILE=1 adds each
 *                  kernel's device time (and waits after each launch).
 */
#include "cl_ops.h"
#include "d7cl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static cl_mem
random_buffer (D7Cl *cl, size_t n, float lo, float hi, GRand *rng)
{
  float *h = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    h[i] = (float) g_rand_double_range (rng, lo, hi);
  cl_mem m = d7cl_upload (cl, h, n);
  g_free (h);
  return m;
}

static int
bench_wkv (const char *device)
{
  GError *err = NULL;
  D7Cl *cl = d7cl_new (device, 64, &err);
  if (!cl) {
    fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  GRand *rng = g_rand_new_with_seed (1);
  static const int Ts[] = { 64, 256, 1024, 4096 }, Hs[] = { 2, 4, 8, 16 };
  for (guint ti = 0; ti < G_N_ELEMENTS (Ts); ti++)
    for (guint hi = 0; hi < G_N_ELEMENTS (Hs); hi++) {
      int T = Ts[ti], H = Hs[hi], N = 64;
      size_t n = (size_t) T * H * N;
      /* a = -kk, b = kk * lr need not be unit here: only time is measured */
      cl_mem r = random_buffer (cl, n, -1, 1, rng), w = random_buffer (cl, n, -1, -0.01f, rng);
      cl_mem k = random_buffer (cl, n, -0.1f, 0.1f, rng), v = random_buffer (cl, n, -1, 1, rng);
      cl_mem a = random_buffer (cl, n, -0.1f, 0, rng), b = random_buffer (cl, n, 0, 0.1f, rng);
      cl_mem o = d7cl_tmp (cl, n);
      for (int form = 0; form < 2; form++) {
        int reps = 20;
        double t[20];
        for (int i = 0; i < 3 + reps; i++) {
          gint64 t0 = g_get_monotonic_time ();
          if (form == 0)
            d7cl_wkv7_recurrent (cl, 1, T, H, r, w, k, v, a, b, NULL, o);
          else
            d7cl_wkv7_chunked (cl, 1, T, H, r, w, k, v, a, b, NULL, o);
          clFinish (cl->queue);
          if (i >= 3)
            t[i - 3] = (g_get_monotonic_time () - t0) / 1000.0;
        }
        printf ("{\"bench\": \"wkv\", \"impl\": \"opencl-%s\", \"device\": \"%s\", \"B\": 1, "
                "\"T\": %d, \"H\": %d, \"N\": %d, \"ms\": %.4f, \"ok\": %s}\n",
                form ? "chunked" : "recurrent", cl->name, T, H, N, median (t, reps),
                d7cl_failed (cl) ? "false" : "true");
        fflush (stdout);
      }
      cl_mem all[] = { r, w, k, v, a, b };
      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        d7cl_mem_free (cl, all[i]);
      d7cl_release (cl, o);
    }
  g_rand_free (rng);
  d7cl_free (cl);
  return 0;
}

static void
time_generation (Dir7Model *m, const char *device, int size, int prompt_bytes, int reps)
{
  char *prompt = g_malloc0 (prompt_bytes + 1);
  const char *base = "a red apple on a blue plate, ";
  for (int i = 0; i < prompt_bytes; i++)
    prompt[i] = base[i % strlen (base)];
  Dir7GenerateParams p;
  dir7_generate_params_init (&p);
  p.prompt = prompt;
  p.width = p.height = size;
  p.steps = 20;
  p.seed = 1;
  p.device = device;
  double t[16];
  char *report = NULL;
  GError *err = NULL;
  gboolean ok = TRUE;
  for (int i = 0; i < 1 + reps && ok; i++) {   /* the first run uploads the weights */
    g_free (report);
    report = NULL;
    gint64 t0 = g_get_monotonic_time ();
    float *img = dir7_generate_ex (m, &p, &report, &err);
    if (i > 0)
      t[i - 1] = (g_get_monotonic_time () - t0) / 1e6;
    ok = img != NULL;
    g_free (img);
  }
  D7Cl *cl = m->cl;
  if (cl && cl->profile) {      /* device time per kernel over all the runs */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init (&it, cl->profile);
    while (g_hash_table_iter_next (&it, &k, &v)) {
      D7ClProfile *pr = v;
      printf ("{\"bench\": \"profile\", \"size\": %d, \"kernel\": \"%s\", \"launches_per_run\": %.1f, "
              "\"ms_per_run\": %.3f}\n", size, (const char *) k, pr->count / (double) (1 + reps),
              pr->ns / 1e6 / (1 + reps));
    }
    g_hash_table_remove_all (cl->profile);
  }
  printf ("{\"bench\": \"generate\", \"impl\": \"dir7-opencl\", \"ran_on\": \"%s\", \"size\": %d, "
          "\"prompt_bytes\": %d, \"steps\": 20, \"guidance\": 5, \"s\": %.4f, "
          "\"peak_device_mib\": %.2f}\n", report ? report : (err ? err->message : "?"), size,
          prompt_bytes, ok ? median (t, reps) : -1.0,
          cl ? cl->bytes_peak / 1048576.0 : -1.0);
  fflush (stdout);
  if (cl)
    cl->bytes_peak = cl->bytes_now;
  g_clear_error (&err);
  g_free (report);
  g_free (prompt);
}

static int
bench_generate (const char *path, const char *device, gboolean quick)
{
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (path, &err);
  if (!m) {
    fprintf (stderr, "%s\n", err->message);
    return 1;
  }
  time_generation (m, device, 64, 16, quick ? 3 : 10);
  if (quick) {
    dir7_model_free (m);
    return 0;
  }
  static const int sizes[] = { 128, 256 }, prompts[] = { 64, 256, 1024 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    time_generation (m, device, sizes[i], 16, 3);
  for (guint i = 0; i < G_N_ELEMENTS (prompts); i++)
    time_generation (m, device, 64, prompts[i], 3);
  dir7_model_free (m);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *device = "opencl";
  for (int i = 1; i + 1 < argc; i++)
    if (g_str_equal (argv[i], "--device"))
      device = argv[i + 1];
  if (argc >= 2 && g_str_equal (argv[1], "devices")) {
    GError *err = NULL;
    char **devs = dir7_list_devices (&err);
    for (char **d = devs; d && *d; d++)
      printf ("%s\n", *d);
    if (!devs)
      printf ("%s\n", err->message);
    g_strfreev (devs);
    return devs ? 0 : 1;
  }
  if (argc >= 2 && g_str_equal (argv[1], "wkv"))
    return bench_wkv (device);
  if (argc >= 3 && g_str_equal (argv[1], "generate"))
    return bench_generate (argv[2], device, argc >= 4 && g_str_equal (argv[argc - 1], "--quick"));
  fprintf (stderr, "usage: %s wkv [--device D] | generate MODEL [--device D]\n", argv[0]);
  return 2;
}
