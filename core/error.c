#include "dir7.h"

G_DEFINE_QUARK (dir7-error-quark, dir7_error)
