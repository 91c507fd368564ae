/* Worker thread for dir7_generate. The worker only touches its own copy of
 * the state under a mutex; every libgimp / GTK call stays on the main thread. */
#include "runner.h"

#include <libgimp/gimp.h>
#include <string.h>

#define PREVIEW_INTERVAL_US (300 * 1000) /* copy a preview at most this often */

typedef struct {
  Dir7Model          *model;
  Dir7GenerateParams  params;
  gboolean            want_preview;
  GMutex              lock;
  int                 step, total;
  gboolean            progress_new;
  float              *preview;
  int                 preview_step;
  gboolean            preview_new;
  gint64              preview_time;
  gboolean            done;
  float              *result;
  GError             *error;
  char               *report;   /* where it ran, and why not on the device */
} Job;

static gboolean
on_progress (int step, int total, const float *preview, gpointer data)
{
  Job *job = data;
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&job->lock);
  job->step = step;
  job->total = total;
  job->progress_new = TRUE;
  if (job->want_preview && preview &&
      (step == total || now - job->preview_time >= PREVIEW_INTERVAL_US)) {
    memcpy (job->preview, preview, sizeof (float) * 4 * job->params.width * job->params.height);
    job->preview_step = step;
    job->preview_new = TRUE;
    job->preview_time = now;
  }
  g_mutex_unlock (&job->lock);
  g_main_context_wakeup (NULL);
  return !(job->params.cancellable && g_cancellable_is_cancelled (job->params.cancellable));
}

static gpointer
worker (gpointer data)
{
  Job *job = data;
  GError *error = NULL;
  char *report = NULL;
  float *out = dir7_generate_ex (job->model, &job->params, &report, &error);
  g_mutex_lock (&job->lock);
  job->report = report;
  job->result = out;
  job->error = error;
  job->done = TRUE;
  g_mutex_unlock (&job->lock);
  g_main_context_wakeup (NULL);
  return NULL;
}

float *
plug_run_generate (Dir7Model *model, const Dir7GenerateParams *params,
                   const PlugHooks *hooks, double base, double span, GError **error)
{
  Job job = { 0 };
  job.model = model;
  job.params = *params;
  job.params.progress = on_progress;
  job.params.progress_data = &job;
  job.params.cancellable = hooks ? hooks->cancellable : NULL;
  job.want_preview = hooks && hooks->preview;
  if (job.want_preview)
    job.preview = g_new (float, (gsize) 4 * params->width * params->height);
  g_mutex_init (&job.lock);

  GThread *thread = g_thread_new ("dir7-generate", worker, &job);
  float *shown = job.want_preview ? g_new (float, (gsize) 4 * params->width * params->height) : NULL;
  for (;;) {
    int step, total, preview_step = 0;
    gboolean progress_new, preview_new, done;
    g_mutex_lock (&job.lock);
    step = job.step;
    total = job.total;
    progress_new = job.progress_new;
    preview_new = job.preview_new;
    done = job.done;
    job.progress_new = job.preview_new = FALSE;
    if (preview_new) {
      memcpy (shown, job.preview, sizeof (float) * 4 * params->width * params->height);
      preview_step = job.preview_step;
    }
    g_mutex_unlock (&job.lock);

    if (progress_new && total > 0) {
      gimp_progress_update (base + span * step / total);
      if (hooks && hooks->progress)
        hooks->progress (base + span * step / total, step, total, hooks->data);
    }
    if (preview_new)
      hooks->preview (shown, params->width, params->height, preview_step, total, hooks->data);
    if (done)
      break;
    g_main_context_iteration (NULL, TRUE); /* woken by the worker */
  }
  g_thread_join (thread);
  g_mutex_clear (&job.lock);
  if (job.report) {
    g_debug ("dir7: ran on %s", job.report);
    /* the user chose a device and did not get it: say so (auto is silent) */
    const char *dev = params->device ? params->device : "auto";
    if (g_str_has_prefix (job.report, "CPU (") && g_ascii_strcasecmp (dev, "auto") != 0)
      gimp_message (job.report);
    g_free (job.report);
  }
  g_free (job.preview);
  g_free (shown);
  if (job.error)
    g_propagate_error (error, job.error);
  return job.result;
}
