"""tools/encoder_gain.py's grouping: prompts split by whether the new encoder ranks
their image better, the same or worse, and the permutation test between them."""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.encoder_gain import by_encoder_gain   # noqa: E402


def test_groups_follow_the_rank_change():
    old = [3, 0, 5, 0, 2, 9]
    new = [0, 0, 5, 4, 7, 1]      # better, same, same, worse, worse, better
    diff = [1.0, 2.0, 4.0, -1.0, -3.0, 5.0]
    r = by_encoder_gain(old, new, diff, reps=200)
    assert {k: g["n"] for k, g in r["groups"].items()} == {"better": 2, "same": 2, "worse": 2}
    assert r["groups"]["better"]["b_minus_a"] == 3.0
    assert r["groups"]["same"]["b_minus_a"] == 3.0
    assert r["groups"]["worse"]["b_minus_a"] == -2.0
    assert r["not_worse_minus_worse"] == 5.0


def test_a_clear_link_is_found_and_none_is_not_invented():
    rng = np.random.default_rng(1)
    old = rng.integers(0, 50, 300)
    new = rng.integers(0, 50, 300)
    gain = np.log1p(old) - np.log1p(new)
    linked = by_encoder_gain(old, new, 2 * np.sign(gain) + rng.normal(0, 1, 300), reps=2000)
    assert linked["permutation_p"] < 0.001 and linked["spearman"] > 0.5
    unlinked = by_encoder_gain(old, new, rng.normal(0, 1, 300), reps=2000)
    assert unlinked["permutation_p"] > 0.01 and abs(unlinked["spearman"]) < 0.2
