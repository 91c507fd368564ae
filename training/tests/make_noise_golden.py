"""Writes tests/golden/noise.bin: float32 normals from dir7.noise for the C test.

    cd training && python3 tests/make_noise_golden.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from dir7.noise import randn  # noqa: E402

out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "noise.bin")
z = np.concatenate([randn(1234567890123, 3, 1, 1000), randn(0, 0, 0, 13)]).astype("<f4")
z.tofile(out)
