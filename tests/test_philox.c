/* The noise generator: Random123's known answers for Philox4x32-10, and the
 * same normals as training/dir7/noise.py (golden written by
 * training/tests/make_noise_golden.py; tolerance 1e-6 absolute, the float
 * rounding of a double Box-Muller). */
#include "philox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int passed, failed;

static void
expect (int ok, const char *what)
{
  printf ("%s %s\n", ok ? "PASS" : "FAIL", what);
  ok ? passed++ : failed++;
}

int
main (int argc, char **argv)
{
  static const struct { uint32_t ctr[4], key[2], out[4]; } kat[] = {
    { { 0, 0, 0, 0 }, { 0, 0 }, { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 } },
    { { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, { 0xffffffff, 0xffffffff },
      { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd } },
    { { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, { 0xa4093822, 0x299f31d0 },
      { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 } },
  };
  for (int i = 0; i < 3; i++) {
    uint32_t out[4];
    d7_philox4x32_10 (kat[i].ctr, kat[i].key, out);
    char what[64];
    snprintf (what, sizeof what, "Philox4x32-10 known answer %d", i);
    expect (out[0] == kat[i].out[0] && out[1] == kat[i].out[1] && out[2] == kat[i].out[2] &&
            out[3] == kat[i].out[3], what);
  }

  /* agreement with Python */
  FILE *f = argc > 1 ? fopen (argv[1], "rb") : NULL;
  expect (f != NULL, "golden noise file opens");
  if (f) {
    float ref[1013], got[1013];
    size_t n = fread (ref, sizeof (float), 1013, f);
    fclose (f);
    expect (n == 1013, "golden noise file has 1013 values");
    d7_randn (1234567890123ull, 3, 1, got, 1000);
    d7_randn (0, 0, 0, got + 1000, 13);
    double err = 0;
    for (size_t i = 0; i < n; i++)
      err = fmax (err, fabs (got[i] - ref[i]));
    printf ("     max |C - Python| = %.3g\n", err);
    expect (n == 1013 && err <= 1e-6, "same normals as training/dir7/noise.py");
  }

  /* statistics, and streams/batches/seeds that differ */
  size_t n = 100000;
  float *z = malloc (n * sizeof (float)), *z2 = malloc (n * sizeof (float));
  d7_randn (42, 0, 0, z, n);
  double s = 0, q = 0;
  for (size_t i = 0; i < n; i++) {
    s += z[i];
    q += (double) z[i] * z[i];
  }
  double mean = s / n, var = q / n - mean * mean;
  printf ("     mean %.4f var %.4f\n", mean, var);
  expect (fabs (mean) < 0.02 && fabs (var - 1) < 0.02, "mean 0 and variance 1 over 1e5 samples");
  d7_randn (42, 1, 0, z2, n);
  expect (z[0] != z2[0] && z[7] != z2[7], "another stream, other numbers");
  d7_randn (42, 0, 1, z2, n);
  expect (z[0] != z2[0], "another batch index, other numbers");
  d7_randn (42ull | (1ull << 32), 0, 0, z2, n);
  expect (z[0] != z2[0], "the seed's high word counts");
  d7_randn (42, 0, 0, z2, 7);
  expect (z2[6] == z[6] && z2[3] == z[3], "a prefix is the same sequence");
  free (z);
  free (z2);
  printf ("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
