/* DIR-7 for GIMP: the GimpPlugIn with three procedures, text to image,
 * image to image and inpainting, all running libdir7 on the CPU. */
#include <libgimp/gimp.h>

#include "dir7-dialog.h"
#include "i18n.h"
#include "ops.h"
#include "params.h"

#define PROC_GENERATE "plug-in-dir7-generate"
#define PROC_IMG2IMG  "plug-in-dir7-img2img"
#define PROC_INPAINT  "plug-in-dir7-inpaint"

typedef struct { GimpPlugIn parent_instance; } Dir7PlugIn;
typedef struct { GimpPlugInClass parent_class; } Dir7PlugInClass;

GType dir7_plug_in_get_type (void) G_GNUC_CONST;
G_DEFINE_TYPE (Dir7PlugIn, dir7_plug_in, GIMP_TYPE_PLUG_IN)

static GList *
query_procedures (GimpPlugIn *plug_in)
{
  GList *l = NULL;
  l = g_list_append (l, g_strdup (PROC_GENERATE));
  l = g_list_append (l, g_strdup (PROC_IMG2IMG));
  l = g_list_append (l, g_strdup (PROC_INPAINT));
  return l;
}

/* Catalogs live in the plug-in's own folder: GIMP 3 rejects others. */
static gboolean
set_i18n (GimpPlugIn *plug_in, const gchar *procedure_name, gchar **gettext_domain,
          gchar **catalog_dir)
{
  *gettext_domain = g_strdup (GETTEXT_PACKAGE);
  *catalog_dir = g_strdup ("locale");
  return TRUE;
}

static GimpValueArray *
run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
     GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data)
{
  PlugMode mode = GPOINTER_TO_INT (run_data);
  GError *error = NULL;
  gsize n = gimp_core_object_array_get_length ((GObject **) drawables);
  GimpDrawable *drawable = n == 1 ? drawables[0] : NULL;

  gegl_init (NULL, NULL);
  dir7_process_init ();
  if (mode != PLUG_GENERATE && n != 1) {
    g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                 _("Procedure '%s' works on exactly one layer."),
                 gimp_procedure_get_name (procedure));
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
  }
  if (gimp_image_get_base_type (image) == GIMP_INDEXED) {
    g_set_error (&error, GIMP_PLUG_IN_ERROR, 0,
                 _("DIR-7 works on RGB and grayscale images; convert this indexed image "
                   "first (Image ▸ Mode)."));
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  }

  PlugDialog *dlg = NULL;
  if (run_mode == GIMP_RUN_INTERACTIVE) {
    dlg = plug_dialog_new (procedure, config, mode, image, drawable);
    if (!plug_dialog_run (dlg)) {
      plug_dialog_free (dlg);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
  }
  gboolean randomize = FALSE;
  g_object_get (config, "randomize", &randomize, NULL);
  if (run_mode != GIMP_RUN_NONINTERACTIVE && randomize)
    plug_params_new_seed (config); /* stored, so the values kept are the ones used */

  PlugArgs args;
  GimpLayer **layers = NULL;
  if (plug_params_read (config, mode, &args, &error)) {
    if (args.seed < 0)
      args.seed = g_random_int_range (0, G_MAXINT);
    layers = plug_ops_run (&args, image, drawable, dlg ? plug_dialog_hooks (dlg) : NULL, &error);
  }
  plug_dialog_free (dlg);

  if (!layers) {
    plug_params_clear (&args);
    if (g_error_matches (error, DIR7_ERROR, DIR7_ERROR_CANCELLED)) {
      g_clear_error (&error);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  }
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

  GimpValueArray *ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_CORE_OBJECT_ARRAY (ret, 1, layers);
  GIMP_VALUES_SET_INT (ret, 2, (int) args.seed);
  g_free (layers);
  plug_params_clear (&args);
  return ret;
}

static GimpProcedure *
create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  PlugMode mode;
  if (!strcmp (name, PROC_GENERATE))
    mode = PLUG_GENERATE;
  else if (!strcmp (name, PROC_IMG2IMG))
    mode = PLUG_IMG2IMG;
  else if (!strcmp (name, PROC_INPAINT))
    mode = PLUG_INPAINT;
  else
    return NULL;

  GimpProcedure *procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                       run, GINT_TO_POINTER (mode), NULL);
  switch (mode) {
  case PLUG_GENERATE:
    gimp_procedure_set_image_types (procedure, "*");
    gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                         GIMP_PROCEDURE_SENSITIVE_DRAWABLES |
                                         GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
    gimp_procedure_set_menu_label (procedure, _("_Image from Text (DIR-7)..."));
    gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Generate");
    gimp_procedure_set_documentation (procedure,
      _("Paint a new layer from a text prompt"),
      _("Runs the DIR-7 diffusion model on the CPU and adds the picture as a new layer "
        "over the selection bounds, or the whole image, keeping the model's transparency. "
        "The model runs at the nearest size it supports and GIMP scales the result. "
        "Existing layers are not changed; the new layers are one undo step."), name);
    break;
  case PLUG_IMG2IMG:
    gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label (procedure, _("Image to Image (_DIR-7)..."));
    gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");
    gimp_procedure_set_documentation (procedure,
      _("Redraw a layer towards a text prompt"),
      _("Noises the layer (inside the selection, if any) by the strength and lets the "
        "DIR-7 model denoise it towards the prompt. The result is a new layer above the "
        "original, which is not changed."), name);
    break;
  case PLUG_INPAINT:
    gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label (procedure, _("_Inpaint Selection (DIR-7)..."));
    gimp_procedure_add_menu_path (procedure, "<Image>/Filters/Enhance");
    gimp_procedure_set_documentation (procedure,
      _("Regenerate the selected area of a layer"),
      _("The DIR-7 model repaints the selected area to fit the prompt and the "
        "surroundings. The result is a new layer above the original: outside the "
        "selection it holds the original pixels; the original layer is not changed."),
      name);
    break;
  }
  gimp_procedure_set_attribution (procedure, "DIR-7 for GIMP authors",
                                  "DIR-7 for GIMP authors, GPL-3.0-or-later", "2025");
  plug_params_add (procedure, mode);
  return procedure;
}

static void
dir7_plug_in_class_init (Dir7PlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);
  plug_in_class->query_procedures = query_procedures;
  plug_in_class->create_procedure = create_procedure;
  plug_in_class->set_i18n = set_i18n;
}

static void
dir7_plug_in_init (Dir7PlugIn *self)
{
}

GIMP_MAIN (dir7_plug_in_get_type ())
