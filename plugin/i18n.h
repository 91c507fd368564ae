/* gettext for the plug-in: every user-visible string goes through _() or N_(). */
#ifndef DIR7_PLUGIN_I18N_H
#define DIR7_PLUGIN_I18N_H

#ifndef GETTEXT_PACKAGE
#define GETTEXT_PACKAGE "gimp30-dir7"
#endif
#include <glib/gi18n-lib.h>

#endif
