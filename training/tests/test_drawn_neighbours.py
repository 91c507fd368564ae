"""tools/drawn_neighbours.py: which rows count as missed, and a drawing's own-image rank
and nearest candidates (exact, from hand-made similarities)."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.drawn_neighbours import missed, nearest              # noqa: E402


def test_missed_reads_either_rows_format():
    enc = [{"prompt": "a", "clip-image.pt": 0, "drawn_rank": 3},
           {"prompt": "b", "clip-image.pt": 2, "drawn_rank": 1},
           {"prompt": "c", "clip-image.pt": 0, "drawn_rank": 0}]
    assert missed(enc) == [0, 1]
    assert missed(enc, "clip-image.pt") == [0]
    paired = [{"prompt": "a", "rank": 0}, {"prompt": "b", "rank": 5}]
    assert missed(paired) == [1]


def test_nearest_ranks_the_own_image_and_names_the_top():
    sims = torch.tensor([0.5, 0.9, 0.7, 0.4, 0.1])
    names = ["duck", "eagle", "duck toy", "owl", "pen"]
    sources = ["emoji", "emoji", "openclipart", "emoji", "emoji"]
    rank, top = nearest(sims, 0, names, sources, top=3)
    assert rank == 2          # eagle and the clip art above the own image, owl below
    assert top == [("eagle", "emoji", 0.9), ("duck toy", "openclipart", 0.7), ("duck", "emoji", 0.5)]
    tie = torch.tensor([0.5, 0.5, 0.1])
    assert nearest(tie, 0, ["a", "b", "c"], ["emoji"] * 3, top=1)[0] == 0   # a tie does not count
    assert nearest(sims, 1, names, sources, top=1) == (0, [("eagle", "emoji", 0.9)])
