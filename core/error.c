/* The DIR-7 error domain (dir7.h). */
#include "dir7.h"

G_DEFINE_QUARK (dir7-error-quark, dir7_error)
