"""tools/pool_neighbours.py: each own image's nearest neighbour among the other own images
and the pool (never itself), and the drawn top-1 by quartile of that similarity."""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("scipy")
torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.pool_neighbours import by_quartile, nearest_similarity   # noqa: E402


def unit(*rows):
    t = torch.tensor(rows, dtype=torch.float32)
    return t / t.norm(dim=1, keepdim=True)


def test_the_nearest_is_another_image_never_itself():
    own = unit([1, 0, 0], [0, 1, 0], [0.6, 0.8, 0])
    pool = unit([0, 0, 1], [1, 0.1, 0])
    sim = nearest_similarity(own, pool)
    assert sim[0] == pytest.approx(1 / np.sqrt(1.01), abs=1e-6)   # the pool's [1, 0.1, 0]
    assert sim[1] == pytest.approx(0.8, abs=1e-6)                 # own image 2
    assert sim[2] == pytest.approx(0.8, abs=1e-6)                 # own image 1, not itself (1.0)


def test_quartiles_split_the_prompts_and_count_rank_zero():
    sim = np.arange(8, dtype=float)          # two prompts a quartile
    ranks = [0, 0, 0, 3, 5, 0, 2, 2]
    r = by_quartile(sim, ranks)
    assert [b["n"] for b in r["quartiles"]] == [2, 2, 2, 2]
    assert [b["drawn_top1"] for b in r["quartiles"]] == [1.0, 0.5, 0.5, 0.0]
    assert r["spearman"] > 0                  # failures gather at the close end here
