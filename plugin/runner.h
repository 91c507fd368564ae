/* Runs dir7_generate off the main thread so GIMP's progress bar, the dialog's
 * live preview and its Stop button keep working while the model computes. */
#ifndef DIR7_PLUGIN_RUNNER_H
#define DIR7_PLUGIN_RUNNER_H

#include "dir7.h"

typedef void (*PlugPreviewFunc) (const float *rgba, int w, int h, int step, int total,
                                 gpointer data);

/* @fraction covers the whole batch; step / total is the current image's */
typedef void (*PlugProgressFunc) (double fraction, int step, int total, gpointer data);

typedef struct {
  GCancellable    *cancellable;  /* NULL: cannot be stopped (except by GIMP) */
  PlugPreviewFunc  preview;      /* NULL: no live preview */
  PlugProgressFunc progress;     /* NULL: only GIMP's progress */
  gpointer         data;         /* for preview and progress */
} PlugHooks;

/* dir7_generate on a worker thread; the calling (main) thread keeps iterating
 * the default main context and reports progress as base + span * fraction.
 * @params->progress / cancellable are set here. */
float *plug_run_generate (Dir7Model *model, const Dir7GenerateParams *params,
                          const PlugHooks *hooks, double base, double span,
                          GError **error);

#endif
