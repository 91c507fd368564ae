"""evaluate.grid: the sample grid shows each image over mid grey. A generated pixel
can break premultiplication (colour above alpha); it must show saturated, not wrap
round to dark (uint8 of 256 is 0), which drew green and cyan specks on orange and
pink in the grids before phase 15."""
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from evaluate import grid   # noqa: E402


def test_grid_saturates_colour_above_alpha():
    x = torch.full((1, 4, 2, 2), -1.0)          # transparent: mid grey
    x[0, :, 0, 0] = torch.tensor([1.0, 0.0, -1.0, 0.8])   # orange, r = 1 > a = 0.9
    g = np.asarray(grid(x, cols=1))
    assert tuple(g[0, 0]) == (255, 140, 13)   # r 1.05 clamps to 255 (wrapped: 12); g 0.5 + 0.05 grey; b 0.05
    assert tuple(g[1, 1]) == (128, 128, 128)
