/* Generations in threads: two at once on one model (and on two models) give
 * the very images they give one at a time, and a GCancellable cancelled from
 * another thread stops a generation within a fraction of a step. Run under
 * AddressSanitizer / valgrind by tests/sanitize/run.sh, which also checks
 * that a cancelled generation frees everything. */
#include "dir7.h"

#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int passed, failed;

static void
expect (gboolean ok, const char *what, const char *detail)
{
  printf ("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
  ok ? passed++ : failed++;
}

typedef struct {
  Dir7Model *model;
  Dir7GenerateParams params;
  float *image;
  GError *error;
} Job;

static gpointer
run_job (gpointer data)
{
  Job *j = data;
  j->image = dir7_generate (j->model, &j->params, &j->error);
  return NULL;
}

static void
job_clear (Job *j)
{
  g_clear_pointer (&j->image, g_free);
  g_clear_error (&j->error);
}

static size_t
image_bytes (const Job *j)
{
  return sizeof (float) * 4 * (size_t) j->params.width * j->params.height;
}

static gboolean
same_image (const Job *a, const Job *b)
{
  return a->image && b->image && image_bytes (a) == image_bytes (b)
         && memcmp (a->image, b->image, image_bytes (a)) == 0;
}

static Dir7GenerateParams
params (Dir7Model *m, const char *prompt, guint64 seed, Dir7Sampler sampler, int steps)
{
  Dir7GenerateParams p;
  dir7_generate_params_init (&p);
  p.width = p.height = dir7_model_native_size (m);
  p.prompt = prompt;
  p.seed = seed;
  p.sampler = sampler;
  p.steps = steps;
  return p;
}

/* runs the jobs one at a time into ref[], then all at once into par[] */
static void
compare (const char *what, Job *ref, Job *par, int n)
{
  for (int i = 0; i < n; i++)
    run_job (&ref[i]);
  GThread *t[8];
  for (int i = 0; i < n; i++)
    t[i] = g_thread_new ("dir7-job", run_job, &par[i]);
  for (int i = 0; i < n; i++)
    g_thread_join (t[i]);
  gboolean ok = TRUE;
  for (int i = 0; i < n; i++)
    ok = ok && !ref[i].error && !par[i].error && same_image (&ref[i], &par[i]);
  const GError *e = NULL;
  for (int i = 0; i < n && !e; i++)
    e = ref[i].error ? ref[i].error : par[i].error;
  expect (ok, what, e ? e->message : NULL);
  for (int i = 0; i < n; i++) {
    job_clear (&ref[i]);
    job_clear (&par[i]);
  }
}

/* ---- a guided step's two passes side by side (core/unet_pair.c) ---------- */

static void
test_guided_pair (Dir7Model *m)
{
#ifdef _OPENMP
  Job serial = { m, params (m, "a red apple", 21, DIR7_SAMPLER_DPMPP_2M, 4), NULL, NULL };
  serial.params.negative_prompt = "blue";
  serial.params.width = 2 * serial.params.width;
  g_setenv ("DIR7_CPU_GUIDED", "serial", TRUE);
  run_job (&serial);
  g_unsetenv ("DIR7_CPU_GUIDED");
  int threads = omp_get_max_threads ();
  /* 2 threads: one per pass; 3: uneven halves, nested parallel regions */
  for (int n = 2; n <= 3; n++) {
    Job pair = serial;
    pair.image = NULL;
    pair.error = NULL;
    omp_set_num_threads (n);
    run_job (&pair);
    g_autofree char *what = g_strdup_printf ("a guided generation with both passes at once on %d threads "
                                             "equals the passes one after the other", n);
    expect (!serial.error && !pair.error && same_image (&serial, &pair), what,
            pair.error ? pair.error->message : serial.error ? serial.error->message : NULL);
    job_clear (&pair);
  }
  omp_set_num_threads (threads);
  job_clear (&serial);
#else
  printf ("SKIP guided passes side by side: built without OpenMP\n");
#endif
}

/* ---- cancelling from another thread -------------------------------------- */

typedef struct {
  GMutex lock;
  GCond cond;
  int steps_done;
  gint64 step1, step2;          /* monotonic microseconds */
} Watch;

static gboolean
on_step (int step, int total, const float *preview, gpointer data)
{
  Watch *w = data;
  g_mutex_lock (&w->lock);
  w->steps_done = step;
  if (step == 1)
    w->step1 = g_get_monotonic_time ();
  if (step == 2)
    w->step2 = g_get_monotonic_time ();
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  return TRUE;
}

static void
test_cancel_from_thread (Dir7Model *m)
{
  Watch w = { 0 };
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  GCancellable *cancel = g_cancellable_new ();
  Job j = { m, params (m, "a blue circle", 5, DIR7_SAMPLER_DPMPP_2M, 50), NULL, NULL };
  /* big enough that a step is long next to one block of the U-Net */
  j.params.width = j.params.height = 4 * dir7_model_native_size (m);
  j.params.progress = on_step;
  j.params.progress_data = &w;
  j.params.cancellable = cancel;

  GThread *t = g_thread_new ("dir7-cancel", run_job, &j);
  g_mutex_lock (&w.lock);
  while (w.steps_done < 2)
    g_cond_wait (&w.cond, &w.lock);
  g_mutex_unlock (&w.lock);
  gint64 step = w.step2 - w.step1;  /* step 2's length */
  g_usleep (step / 5);          /* well inside step 3 */
  gint64 t0 = g_get_monotonic_time ();
  g_cancellable_cancel (cancel);
  g_thread_join (t);
  gint64 latency = g_get_monotonic_time () - t0;

  g_autofree char *detail = g_strdup_printf ("returned %.3f s after the cancel; a step takes %.3f s, "
                                             "%d of 50 steps ran", latency / 1e6, step / 1e6, w.steps_done);
  expect (!j.image && g_error_matches (j.error, DIR7_ERROR, DIR7_ERROR_CANCELLED),
          "a GCancellable cancelled from another thread stops the generation", j.error ? j.error->message : "finished");
  /* cancelled a fifth into step 3: a check only at step ends would return after
   * about 0.8 of a step; half a step leaves room for a loaded machine (a CI run
   * with other tests in parallel took 0.116 s of a 0.462 s step) */
  expect (w.steps_done < 50 && latency < step / 2,
          "cancelled mid-step, it returns within half a step", detail);
  job_clear (&j);

  /* cancelled before it starts: no step runs */
  Watch w2 = { 0 };
  g_mutex_init (&w2.lock);
  g_cond_init (&w2.cond);
  j.params.progress_data = &w2;
  run_job (&j);
  expect (!j.image && g_error_matches (j.error, DIR7_ERROR, DIR7_ERROR_CANCELLED) && w2.steps_done == 0,
          "an already cancelled GCancellable runs no step", NULL);
  job_clear (&j);
  g_mutex_clear (&w2.lock);
  g_cond_clear (&w2.cond);

  g_object_unref (cancel);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
}

/* one of two concurrent generations cancelled: the other is unaffected */
static gboolean
cancel_at_2 (int step, int total, const float *preview, gpointer data)
{
  if (step == 2)
    g_cancellable_cancel (data);
  return TRUE;
}

static void
test_cancel_one_of_two (Dir7Model *m)
{
  GCancellable *cancel = g_cancellable_new ();
  Job ref = { m, params (m, "green", 11, DIR7_SAMPLER_DDIM, 6), NULL, NULL };
  Job keep = ref;
  Job stop = { m, params (m, "red", 12, DIR7_SAMPLER_DDPM, 6), NULL, NULL };
  stop.params.progress = cancel_at_2;
  stop.params.progress_data = cancel;
  stop.params.cancellable = cancel;
  run_job (&ref);
  GThread *a = g_thread_new ("dir7-keep", run_job, &keep);
  GThread *b = g_thread_new ("dir7-stop", run_job, &stop);
  g_thread_join (a);
  g_thread_join (b);
  expect (same_image (&ref, &keep) && g_error_matches (stop.error, DIR7_ERROR, DIR7_ERROR_CANCELLED),
          "cancelling one of two concurrent generations leaves the other's image as it was",
          keep.error ? keep.error->message : NULL);
  job_clear (&ref);
  job_clear (&keep);
  job_clear (&stop);
  g_object_unref (cancel);
}

int
main (int argc, char **argv)
{
  g_assert (argc > 2);
  GError *err = NULL;
  Dir7Model *m = dir7_model_load (argv[1], &err);
  g_assert_no_error (err);
  Dir7Model *m2 = dir7_model_load (argv[2], &err);
  g_assert_no_error (err);

  {
    Job ref[2] = { { m, params (m, "a red apple", 42, DIR7_SAMPLER_DPMPP_2M, 4), NULL, NULL },
                   { m, params (m, "a red apple", 42, DIR7_SAMPLER_DPMPP_2M, 4), NULL, NULL } };
    Job par[2] = { ref[0], ref[1] };
    compare ("two identical generations at once on one model equal one alone", ref, par, 2);
  }
  {
    /* different prompts, seeds, samplers and sizes, all sharing the model */
    Job ref[4] = { { m, params (m, "a red apple", 1, DIR7_SAMPLER_DDPM, 3), NULL, NULL },
                   { m, params (m, "\xe7\x8c\xab", 2, DIR7_SAMPLER_DDIM, 4), NULL, NULL },
                   { m, params (m, "", 3, DIR7_SAMPLER_DPMPP_2M, 5), NULL, NULL },
                   { m, params (m, "blue", 4, DIR7_SAMPLER_DPMPP_2M, 3), NULL, NULL } };
    ref[3].params.width = 2 * ref[3].params.width;
    ref[3].params.negative_prompt = "red";
    ref[2].params.guidance = 1.f;
    Job par[4] = { ref[0], ref[1], ref[2], ref[3] };
    compare ("four different generations at once on one model equal each alone", ref, par, 4);
  }
  {
    Job ref[2] = { { m, params (m, "a tree", 7, DIR7_SAMPLER_DDIM, 4), NULL, NULL },
                   { m2, params (m2, "a tree", 7, DIR7_SAMPLER_DDIM, 4), NULL, NULL } };
    Job par[2] = { ref[0], ref[1] };
    compare ("generations on two models at once equal each alone", ref, par, 2);
  }
  {
    /* img2img and inpainting read caller-owned buffers shared by both */
    Job base = { m, params (m, "sun", 9, DIR7_SAMPLER_DDIM, 3), NULL, NULL };
    run_job (&base);
    g_assert (base.image);
    int n = base.params.width * base.params.height;
    float *mask = g_new (float, n);
    for (int i = 0; i < n; i++)
      mask[i] = i % 3 == 0;
    Job ref[2] = { { m, params (m, "moon", 10, DIR7_SAMPLER_DDIM, 4), NULL, NULL },
                   { m, params (m, "moon", 10, DIR7_SAMPLER_DPMPP_2M, 4), NULL, NULL } };
    ref[0].params.init_image = ref[1].params.init_image = base.image;
    ref[0].params.strength = 0.6f;
    ref[1].params.mask = mask;
    Job par[2] = { ref[0], ref[1] };
    compare ("img2img and inpainting at once equal each alone", ref, par, 2);
    g_free (mask);
    job_clear (&base);
  }
  test_cancel_one_of_two (m);
  test_guided_pair (m);
  test_cancel_from_thread (m);

  dir7_model_free (m2);
  dir7_model_free (m);
  printf ("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
