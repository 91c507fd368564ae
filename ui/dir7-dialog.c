/* GimpProcedureDialog for the three procedures. The widgets are bound to the
 * GimpProcedureConfig, so GIMP keeps the last values and "Repeat" works. */
#include "dir7-dialog.h"
#include "i18n.h"
#include "model.h"
#include "ops.h"
#include "preview.h"

#include <libgimp/gimpui.h>

#define PREVIEW_SIZE 192

struct PlugDialog {
  GtkWidget           *dialog;
  GimpProcedureConfig *config;
  PlugMode             mode;
  GimpImage           *image;
  GimpDrawable        *drawable;
  GtkWidget           *options;
  GtkWidget           *info;
  GtkWidget           *preview;
  GtkWidget           *progress;
  gboolean             running;
  PlugHooks            hooks;
};

static const char *const titles[] = {
  N_("DIR-7: Image from Text"), N_("DIR-7: Image to Image"), N_("DIR-7: Inpaint Selection")
};

/* Says which model is used and at what size it runs, or why it cannot run. */
static void
update_info (PlugDialog *dlg)
{
  PlugArgs args;
  GError *error = NULL;
  char *text = NULL;
  PlugArea area;
  Dir7Model *model = NULL;
  if (plug_params_read (dlg->config, dlg->mode, &args, &error) &&
      plug_ops_area (&args, dlg->image, dlg->drawable, &area, &error) &&
      (model = plug_model_get (args.model_path, &error))) {
    int rw, rh, native = dir7_model_native_size (model);
    char *base = g_path_get_basename (args.model_path);
    plug_model_run_size (model, area.w, area.h, &rw, &rh);
    if (rw == area.w && rh == area.h)
      text = g_strdup_printf (_("Model %s (native size %d × %d). It runs at %d × %d, "
                                "the new layer's size."), base, native, native, rw, rh);
    else
      /* TRANSLATORS: the last %s is NoHalo or LoHalo, GIMP's interpolations */
      text = g_strdup_printf (_("Model %s (native size %d × %d). The new layer is "
                                "%d × %d; the model runs at the nearest size it supports, "
                                "%d × %d, and GIMP scales the result with %s "
                                "interpolation."), base, native, native, area.w, area.h, rw, rh,
                              (gint64) area.w * area.h >= (gint64) rw * rh ? "NoHalo" : "LoHalo");
    g_free (base);
  } else {
    text = g_strdup (error->message);
    g_clear_error (&error);
  }
  gtk_label_set_text (GTK_LABEL (dlg->info), text);
  g_free (text);
  plug_params_clear (&args);
}

static void
on_config_notify (GObject *config, GParamSpec *pspec, PlugDialog *dlg)
{
  const char *name = g_param_spec_get_name (pspec);
  if (!strcmp (name, "model") || !strcmp (name, "width") || !strcmp (name, "height") ||
      !strcmp (name, "device"))
    update_info (dlg);
}

static void
on_new_seed (GtkButton *button, PlugDialog *dlg)
{
  plug_params_new_seed (dlg->config);
}

static void
on_preview (const float *rgba, int w, int h, int step, int total, gpointer data)
{
  PlugDialog *dlg = data;
  plug_preview_show (dlg->preview, rgba, w, h, PREVIEW_SIZE);
}

static void
on_progress (double fraction, int step, int total, gpointer data)
{
  PlugDialog *dlg = data;
  char *text = g_strdup_printf (_("Step %d of %d"), step, total);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (dlg->progress), fraction);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (dlg->progress), text);
  g_free (text);
}

/* While running, Cancel (or closing the window) stops the model. */
static void
on_response (GtkDialog *dialog, int response, PlugDialog *dlg)
{
  if (dlg->running && (response == GTK_RESPONSE_CANCEL || response == GTK_RESPONSE_DELETE_EVENT))
    g_cancellable_cancel (dlg->hooks.cancellable);
}

static void
on_model_set (GtkFileChooserButton *button, PlugDialog *dlg)
{
  char *path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (button));
  g_object_set (dlg->config, "model", path ? path : "", NULL);
  g_free (path);
}

static GtkWidget *
labelled_row (const char *mnemonic, GtkWidget *widget)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new_with_mnemonic (mnemonic);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), widget);
  gtk_box_pack_start (GTK_BOX (box), label, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), widget, TRUE, TRUE, 0);
  gtk_widget_show_all (box);
  return box;
}

/* The model parameter is a path string (see params.c), so a plain file
 * chooser button; it starts at the file that would be used now. */
static GtkWidget *
model_chooser (PlugDialog *dlg)
{
  GtkWidget *button = gtk_file_chooser_button_new (_("Choose a DIR-7 Model"),
                                                   GTK_FILE_CHOOSER_ACTION_OPEN);
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("DIR-7 models (*.safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (button), filter);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("All files"));
  gtk_file_filter_add_pattern (filter, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (button), filter);

  char *param = NULL;
  g_object_get (dlg->config, "model", &param, NULL);
  char *path = plug_model_path (param);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (button), path);
  g_free (path);
  g_free (param);
  g_signal_connect (button, "file-set", G_CALLBACK (on_model_set), dlg);
  return labelled_row (_("_Model file"), button);
}

static GtkWidget *
device_combo (PlugDialog *dlg)
{
  GtkListStore *store = gtk_list_store_new (2, G_TYPE_STRING, G_TYPE_STRING);
  gtk_list_store_insert_with_values (store, NULL, -1, 0, "auto", 1, _("Automatic"), -1);
  gtk_list_store_insert_with_values (store, NULL, -1, 0, "cpu", 1, _("CPU"), -1);
  char **devs = dir7_list_devices (NULL);   /* "N: NAME (...)" */
  for (char **d = devs; d && *d; d++) {
    char *colon = strchr (*d, ':');
    if (!colon)
      continue;
    char *id = g_strdup_printf ("opencl:%.*s", (int) (colon - *d), *d);
    gtk_list_store_insert_with_values (store, NULL, -1, 0, id, 1, colon + 2, -1);
    g_free (id);
  }
  g_strfreev (devs);
  GtkWidget *combo = gimp_prop_string_combo_box_new (G_OBJECT (dlg->config), "device",
                                                     GTK_TREE_MODEL (store), 0, 1);
  g_object_unref (store);
  return labelled_row (_("De_vice"), combo);
}

static GtkWidget *
preview_column (PlugDialog *dlg)
{
  GtkWidget *vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *frame = gimp_frame_new (_("Preview"));
  dlg->preview = gtk_image_new ();
  gtk_widget_set_size_request (dlg->preview, PREVIEW_SIZE, PREVIEW_SIZE);
  gtk_container_add (GTK_CONTAINER (frame), dlg->preview);
  gtk_box_pack_start (GTK_BOX (vbox), frame, FALSE, FALSE, 0);
  /* a plain bar fed by the runner: libgimp 3.0.4's GimpProgressBar did not
   * receive this plug-in's progress calls (they still go to the image window) */
  dlg->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (dlg->progress), TRUE);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (dlg->progress), _("Ready"));
  gtk_box_pack_start (GTK_BOX (vbox), dlg->progress, FALSE, FALSE, 0);
  gtk_widget_show_all (vbox);
  return vbox;
}

PlugDialog *
plug_dialog_new (GimpProcedure *procedure, GimpProcedureConfig *config, PlugMode mode,
                 GimpImage *image, GimpDrawable *drawable)
{
  PlugDialog *dlg = g_new0 (PlugDialog, 1);
  dlg->config = config;
  dlg->mode = mode;
  dlg->image = image;
  dlg->drawable = drawable;
  dlg->hooks.cancellable = g_cancellable_new ();
  dlg->hooks.preview = on_preview;
  dlg->hooks.progress = on_progress;
  dlg->hooks.data = dlg;

  /* a string argument left out by a script is NULL; GTK entries want "" */
  static const char *const strings[] = { "prompt", "negative-prompt", "model", "device" };
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++) {
    char *v = NULL;
    g_object_get (config, strings[i], &v, NULL);
    if (!v)
      g_object_set (config, strings[i], "", NULL);
    g_free (v);
  }

  gimp_ui_init ("dir7");
  dlg->dialog = gimp_procedure_dialog_new (procedure, config, _(titles[mode]));
  GimpProcedureDialog *pd = GIMP_PROCEDURE_DIALOG (dlg->dialog);
  gimp_procedure_dialog_set_ok_label (pd, _("_Generate"));

  /* multi-line prompt */
  gimp_procedure_dialog_get_label (pd, "prompt-label", _("_Prompt"), FALSE, TRUE);
  GtkWidget *text = gimp_procedure_dialog_get_widget (pd, "prompt", GTK_TYPE_TEXT_VIEW);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (text), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_accepts_tab (GTK_TEXT_VIEW (text), FALSE);
  GtkWidget *scrolled = gimp_procedure_dialog_fill_scrolled_window (pd, "prompt-scrolled", "prompt");
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_set_size_request (scrolled, 320, 72);
  GtkWidget *plabel = gimp_procedure_dialog_get_widget (pd, "prompt-label", G_TYPE_NONE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (plabel), text);
  gtk_label_set_xalign (GTK_LABEL (plabel), 0.0);

  gimp_procedure_dialog_get_spin_scale (pd, "steps", 1.0);
  gimp_procedure_dialog_get_spin_scale (pd, "guidance", 1.0);
  if (mode != PLUG_GENERATE)
    gimp_procedure_dialog_get_spin_scale (pd, "strength", 1.0);

  /* seed, a "new seed" button and the randomise toggle on one row */
  GtkWidget *seed_box = gimp_procedure_dialog_fill_box (pd, "seed-box", "seed", "randomize", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (seed_box), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (seed_box), 6);
  GtkWidget *dice = gtk_button_new_with_mnemonic (_("_New Seed"));
  gtk_widget_set_tooltip_text (dice, _("Pick a random seed now"));
  g_signal_connect (dice, "clicked", G_CALLBACK (on_new_seed), dlg);
  gtk_box_pack_start (GTK_BOX (seed_box), dice, FALSE, FALSE, 0);
  gtk_box_reorder_child (GTK_BOX (seed_box), dice, 1);
  gtk_widget_show (dice);
  gimp_procedure_dialog_set_sensitive (pd, "seed", TRUE, G_OBJECT (config), "randomize", TRUE);

  GList *ids = NULL;
  ids = g_list_append (ids, "prompt-label");
  ids = g_list_append (ids, "prompt-scrolled");
  ids = g_list_append (ids, "negative-prompt");
  ids = g_list_append (ids, "steps");
  ids = g_list_append (ids, "guidance");
  if (mode != PLUG_GENERATE)
    ids = g_list_append (ids, "strength");
  ids = g_list_append (ids, "sampler");
  ids = g_list_append (ids, "seed-box");
  if (mode == PLUG_GENERATE) {
    GtkWidget *size = gimp_procedure_dialog_fill_box (pd, "size-box", "width", "height", NULL);
    gtk_orientable_set_orientation (GTK_ORIENTABLE (size), GTK_ORIENTATION_HORIZONTAL);
    gtk_box_set_spacing (GTK_BOX (size), 12);
    ids = g_list_append (ids, "size-box");
  }
  ids = g_list_append (ids, "batch-count");
  dlg->options = gimp_procedure_dialog_fill_box_list (pd, "options", ids);
  g_list_free (ids);
  gtk_box_set_spacing (GTK_BOX (dlg->options), 4);
  gtk_box_pack_start (GTK_BOX (dlg->options), model_chooser (dlg), FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (dlg->options), device_combo (dlg), FALSE, FALSE, 0);

  dlg->info = gtk_label_new (NULL);
  gtk_label_set_line_wrap (GTK_LABEL (dlg->info), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (dlg->info), 48);
  gtk_label_set_xalign (GTK_LABEL (dlg->info), 0.0);
  gimp_label_set_attributes (GTK_LABEL (dlg->info), PANGO_ATTR_STYLE, PANGO_STYLE_ITALIC, -1);
  gtk_box_pack_start (GTK_BOX (dlg->options), dlg->info, FALSE, FALSE, 0);
  gtk_widget_show (dlg->info);

  GtkWidget *main_box = gimp_procedure_dialog_fill_box (pd, "main-box", "options", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (main_box), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (main_box), 12);
  gtk_box_pack_start (GTK_BOX (main_box), preview_column (dlg), FALSE, FALSE, 0);
  gimp_procedure_dialog_fill (pd, "main-box", NULL);

  int x, y, w, h;  /* img2img / inpaint: start with the input in the preview */
  if (drawable && mode != PLUG_GENERATE && gimp_drawable_mask_intersect (drawable, &x, &y, &w, &h))
    plug_preview_show_drawable (dlg->preview, drawable, x, y, w, h, PREVIEW_SIZE);

  g_signal_connect (config, "notify", G_CALLBACK (on_config_notify), dlg);
  g_signal_connect (dlg->dialog, "response", G_CALLBACK (on_response), dlg);
  update_info (dlg);
  return dlg;
}

gboolean
plug_dialog_run (PlugDialog *dlg)
{
  gtk_widget_show (dlg->dialog);
  if (!gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dlg->dialog)))
    return FALSE;
  /* keep the window for the preview; only Cancel stays active */
  dlg->running = TRUE;
  gtk_widget_set_sensitive (dlg->options, FALSE);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (dlg->dialog), GTK_RESPONSE_OK, FALSE);
  return TRUE;
}

const PlugHooks *
plug_dialog_hooks (PlugDialog *dlg)
{
  return &dlg->hooks;
}

void
plug_dialog_free (PlugDialog *dlg)
{
  if (!dlg)
    return;
  g_signal_handlers_disconnect_by_data (dlg->config, dlg);
  gtk_widget_destroy (dlg->dialog);
  g_object_unref (dlg->hooks.cancellable);
  g_free (dlg);
}
