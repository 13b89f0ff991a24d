#include "seqrec/common/error.h"
// Header-only today; the translation unit keeps the library's source list stable.
