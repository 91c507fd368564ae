/* Argument declarations shared by the three procedures. Names are the
 * Script-Fu keywords: (plug-in-dir7-generate #:prompt "..." #:seed 42 ...). */
#include "params.h"
#include "i18n.h"
#include "model.h"

#include <string.h>

void
plug_params_add (GimpProcedure *procedure, PlugMode mode)
{
  gimp_procedure_add_string_argument (procedure, "prompt", _("_Prompt"),
                                      _("What to paint (UTF-8, any language)"),
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "negative-prompt", _("Negat_ive prompt"),
                                      _("What to steer away from (classifier-free guidance)"),
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "steps", _("S_teps"),
                                   _("Denoising steps (more is slower and finer)"),
                                   1, 1000, 20, G_PARAM_READWRITE);

  GimpChoice *samplers = gimp_choice_new_with_values (
    "ddpm", DIR7_SAMPLER_DDPM, _("DDPM"), _("Ancestral sampling, needs many steps"),
    "ddim", DIR7_SAMPLER_DDIM, _("DDIM"), _("Deterministic, eta = 0"),
    "dpmpp-2m", DIR7_SAMPLER_DPMPP_2M, _("DPM-Solver++ (2M)"), _("Good results in few steps"),
    NULL);
  gimp_procedure_add_choice_argument (procedure, "sampler", _("S_ampler"),
                                      _("Sampling method"), samplers, "dpmpp-2m",
                                      G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "guidance", _("G_uidance"),
                                      _("Classifier-free guidance scale; 1 turns it off"),
                                      0.0, 50.0, 5.0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "seed", _("See_d"),
                                   _("Noise seed; the same seed gives the same image. "
                                     "-1 picks one at random"),
                                   -1, G_MAXINT, 0, G_PARAM_READWRITE);
  if (mode != PLUG_GENERATE)
    gimp_procedure_add_double_argument (procedure, "strength", _("Str_ength"),
                                        _("How much of the image is regenerated, (0, 1]"),
                                        0.01, 1.0, mode == PLUG_INPAINT ? 1.0 : 0.75,
                                        G_PARAM_READWRITE);
  if (mode == PLUG_GENERATE) {
    gimp_procedure_add_int_argument (procedure, "width", _("_Width"),
                                     _("Width of the new layer; 0 = the selection bounds "
                                       "or the image"),
                                     0, GIMP_MAX_IMAGE_SIZE, 0, G_PARAM_READWRITE);
    gimp_procedure_add_int_argument (procedure, "height", _("H_eight"),
                                     _("Height of the new layer; 0 = the selection bounds "
                                       "or the image"),
                                     0, GIMP_MAX_IMAGE_SIZE, 0, G_PARAM_READWRITE);
  }
  gimp_procedure_add_int_argument (procedure, "batch-count", _("_Batch count"),
                                   _("How many layers to make (seed, seed + 1, ...)"),
                                   1, 64, 1, G_PARAM_READWRITE);
  /* a path string, not a GFile: GIMP rejects a missing GFile before the
   * plug-in runs, with a message that does not say what is wrong */
  gimp_procedure_add_string_argument (procedure, "model", _("_Model file"),
                                      _("Path of a DIR-7 model (.safetensors); \"\" = "
                                        "$DIR7_MODEL or the installed default model"),
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_string_argument (procedure, "device", _("De_vice"),
                                      _("Compute device: \"auto\" (an OpenCL GPU, else the CPU), \"cpu\", "
                                        "\"opencl\", \"opencl:N\" or part of an OpenCL device's name"),
                                      "auto", G_PARAM_READWRITE);
  /* dialog-only: not part of the PDB signature */
  gimp_procedure_add_boolean_aux_argument (procedure, "randomize", _("Random seed ever_y run"),
                                           _("Pick a new seed every time"),
                                           TRUE, G_PARAM_READWRITE);

  gimp_procedure_add_core_object_array_return_value (procedure, "layers", _("Layers"),
                                                     _("The new layers"), GIMP_TYPE_LAYER,
                                                     G_PARAM_READWRITE);
  gimp_procedure_add_int_return_value (procedure, "seed", _("Seed"),
                                       _("The seed of the first new layer"),
                                       0, G_MAXINT, 0, G_PARAM_READWRITE);
}

/* "auto", "cpu", "opencl", or an OpenCL device by index or name part (the
 * library falls back to the CPU if that device then fails) */
static gboolean
device_known (const char *dev)
{
  if (!g_ascii_strcasecmp (dev, "auto") || !g_ascii_strcasecmp (dev, "cpu") ||
      !g_ascii_strcasecmp (dev, "opencl"))
    return TRUE;
  char **devs = dir7_list_devices (NULL);
  const char *want = g_str_has_prefix (dev, "opencl:") ? dev + 7 : dev;
  gboolean found = FALSE;
  for (char **d = devs; d && *d && !found; d++) {
    const char *colon = strchr (*d, ':');
    char *index = g_strndup (*d, colon ? (gsize) (colon - *d) : 0);
    char *name = g_utf8_casefold (colon ? colon + 2 : *d, -1), *w = g_utf8_casefold (want, -1);
    found = g_str_equal (index, want) || (*w && strstr (name, w));
    g_free (index); g_free (name); g_free (w);
  }
  g_strfreev (devs);
  return found;
}

gboolean
plug_params_read (GimpProcedureConfig *config, PlugMode mode, PlugArgs *args, GError **error)
{
  char *model = NULL;
  int seed = 0;
  memset (args, 0, sizeof *args);
  args->mode = mode;
  g_object_get (config,
                "prompt", &args->prompt,
                "negative-prompt", &args->negative,
                "steps", &args->steps,
                "guidance", &args->guidance,
                "seed", &seed,
                "batch-count", &args->batch,
                "model", &model,
                "device", &args->device,
                NULL);
  args->seed = seed;
  args->sampler = gimp_procedure_config_get_choice_id (config, "sampler");
  if (mode != PLUG_GENERATE)
    g_object_get (config, "strength", &args->strength, NULL);
  else
    g_object_get (config, "width", &args->width, "height", &args->height, NULL);
  args->model_path = plug_model_path (model);
  g_free (model);
  if (!args->prompt)
    args->prompt = g_strdup ("");

  const char *dev = args->device && *args->device ? args->device : "auto";
  if (!device_known (dev)) {
    g_set_error (error, GIMP_PLUG_IN_ERROR, 0,
                 _("Unknown compute device “%s”: use \"auto\", \"cpu\", \"opencl\" or "
                   "one of the OpenCL devices (dir7 devices lists them)."), dev);
    return FALSE;
  }
  return TRUE;
}

void
plug_params_clear (PlugArgs *args)
{
  g_free (args->prompt);
  g_free (args->negative);
  g_free (args->model_path);
  g_free (args->device);
  memset (args, 0, sizeof *args);
}

void
plug_params_new_seed (GimpProcedureConfig *config)
{
  g_object_set (config, "seed", g_random_int_range (0, G_MAXINT), NULL);
}
