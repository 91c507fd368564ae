/* The interactive dialog: the procedure's arguments, a note on the size the
 * model runs at, and while generating a live preview, progress and Stop. */
#ifndef DIR7_UI_DIALOG_H
#define DIR7_UI_DIALOG_H

#include <libgimp/gimp.h>
#include "params.h"
#include "runner.h"

typedef struct PlugDialog PlugDialog;

PlugDialog      *plug_dialog_new (GimpProcedure *procedure, GimpProcedureConfig *config,
                                  PlugMode mode, GimpImage *image, GimpDrawable *drawable);

/* Shows the dialog; TRUE when the user chose OK. The dialog then stays open
 * (inputs locked) to show the preview and progress until freed. */
gboolean         plug_dialog_run (PlugDialog *dlg);

/* Cancellable wired to the dialog's Cancel button, and the preview hook. */
const PlugHooks *plug_dialog_hooks (PlugDialog *dlg);

void             plug_dialog_free (PlugDialog *dlg);

#endif
