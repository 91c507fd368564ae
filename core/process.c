/* Process-wide settings for programs that run generations (the CLI, the
 * plug-in). Not called by the library itself: they change the whole process. */
#include "dir7.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

void
dir7_process_init (void)
{
#ifdef __GLIBC__
  /* A generation allocates and frees the same large buffers (GEMM panels,
   * im2col bands, activations) thousands of times. With glibc's defaults
   * they go back to the kernel and return as fresh zeroed pages, and the
   * page faults took a quarter of a 2-core CPU generation. Keep them. */
  mallopt (M_MMAP_THRESHOLD, 256 << 20);
  mallopt (M_TRIM_THRESHOLD, 512 << 20);
#endif
}
