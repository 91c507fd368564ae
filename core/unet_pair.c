/* The two U-Net passes of a guided step (prompt and negative prompt) side by
 * side, each on half the threads: the layers scale less than linearly with
 * threads (small GEMMs, fork/join per layer, the sequential WKV scan), two
 * independent passes scale almost perfectly. The results are the same as
 * one after the other: no layer's arithmetic depends on its thread count. */
#include "model.h"

#ifdef _OPENMP
#include <omp.h>
#endif

gboolean
d7_unet_pair_useful (void)
{
#ifdef _OPENMP
  const char *mode = g_getenv ("DIR7_CPU_GUIDED");   /* serial | concurrent */
  if (mode && g_strcmp0 (mode, "serial") == 0)
    return FALSE;
  return omp_get_max_threads () >= 2;
#else
  return FALSE;
#endif
}

void
d7_unet_forward_pair (const Dir7Model *m, const float *x, int H, int W, int t,
                      D7TextCond *cond_a, float *eps_a, D7TextCond *cond_b, float *eps_b)
{
#ifdef _OPENMP
  int threads = omp_get_max_threads ();
  int levels = omp_get_max_active_levels ();
  if (threads > 2 && levels < 2)
    omp_set_max_active_levels (2);   /* let each half fork its own threads */
  /* sections, not thread numbers: with one thread granted, it runs both */
#pragma omp parallel sections num_threads (2)
  {
#pragma omp section
    {
      omp_set_num_threads (omp_get_num_threads () == 1 ? threads : (threads + 1) / 2);
      d7_unet_forward (m, x, H, W, t, cond_a, eps_a);
    }
#pragma omp section
    {
      omp_set_num_threads (omp_get_num_threads () == 1 ? threads : MAX (1, threads / 2));
      d7_unet_forward (m, x, H, W, t, cond_b, eps_b);
    }
  }
  if (threads > 2 && levels < 2)
    omp_set_max_active_levels (levels);
#else
  d7_unet_forward (m, x, H, W, t, cond_a, eps_a);
  d7_unet_forward (m, x, H, W, t, cond_b, eps_b);
#endif
}
