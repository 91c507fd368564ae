/* The procedures' arguments: declaring them (so the PDB browser documents
 * them and Script-Fu can pass them) and reading them back from the config. */
#ifndef DIR7_PLUGIN_PARAMS_H
#define DIR7_PLUGIN_PARAMS_H

#include <libgimp/gimp.h>
#include "dir7.h"

typedef enum {
  PLUG_GENERATE,
  PLUG_IMG2IMG,
  PLUG_INPAINT
} PlugMode;

typedef struct {
  PlugMode    mode;
  char       *prompt;
  char       *negative;
  int         steps;
  Dir7Sampler sampler;
  double      guidance;
  gint64      seed;        /* -1: pick one at random */
  double      strength;    /* img2img / inpaint */
  int         width;       /* generate: 0 = selection bounds or image */
  int         height;
  int         batch;
  char       *model_path;  /* resolved: argument, $DIR7_MODEL or the default */
  char       *device;
} PlugArgs;

void     plug_params_add (GimpProcedure *procedure, PlugMode mode);

/* Fills @args from @config; FALSE with @error for values the PDB spec cannot
 * rule out (unknown device). */
gboolean plug_params_read (GimpProcedureConfig *config, PlugMode mode, PlugArgs *args,
                           GError **error);
void     plug_params_clear (PlugArgs *args);

/* A new random seed for the "randomize" toggle, stored back into @config. */
void     plug_params_new_seed (GimpProcedureConfig *config);

#endif
