"""tools/drawn_ceiling.py: the placed copies are the training augmentation's, seeded per
draw and name; the ranks are the ship test's drawn-pool ranks (hand-made embeddings)."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.drawn_ceiling import placed_copies, ranks_of, report  # noqa: E402

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(3, 64, 64, 4), dtype=np.uint8)
META = [{"captions": {"en": [n]}} for n in ("apple", "left arrow", "cat")]


def test_placed_copies_are_seeded_per_draw():
    a = placed_copies(IMAGES, META, [0, 1, 2], d=0, seed=5)
    assert a.shape == (3, 4, 64, 64) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, placed_copies(IMAGES, META, [0, 1, 2], d=0, seed=5))
    draws = [a] + [placed_copies(IMAGES, META, [0, 1, 2], d=d, seed=5) for d in range(1, 40)]
    assert any(not torch.equal(a, b) for b in draws[1:])
    own = torch.from_numpy(IMAGES.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2)
    # the apple is sometimes the image itself flipped; the arrow never is, though it is
    # sometimes the image itself (a caption naming a direction is not flipped)
    assert any(torch.equal(b[0], own[0].flip(-1)) for b in draws)
    assert not any(torch.equal(b[1], own[1].flip(-1)) for b in draws)
    assert any(torch.equal(b[1], own[1]) for b in draws)


def test_less_detail_keeps_the_range_and_differs():
    full = placed_copies(IMAGES, META, [0, 1, 2], d=0, seed=5)
    less = placed_copies(IMAGES, META, [0, 1, 2], d=0, seed=5, detail=8)
    assert less.shape == full.shape and less.min() >= -1 - 1e-6 and less.max() <= 1 + 1e-6
    assert (less - full).abs().mean() > 0.05


def test_ranks_are_the_drawn_pool_ranks():
    target = torch.eye(4)            # rows 0-2 the prompts' own images, row 3 a pool image
    draws = [torch.tensor([[1.0, 0, 0, 0], [0, 0.2, 0, 0.9], [0, 0, 1.0, 0]])]
    assert ranks_of(draws, target) == [0, 1, 0]
    # a second draw near its own image brings prompt 1 back first (draws are summed)
    draws.append(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]]))
    assert ranks_of(draws, target) == [0, 0, 0]


def test_report_counts_beside_a_model():
    text = report(["apple", "arrow", "cat"], [0, 0, 0], [0, 2, 0], model=[0, 0, 3], model_name="m")
    assert "placed copies (4 draws, the training flip and placement): top-1 66.7%" in text
    assert "m: top-1 66.7%; of the 2 names whose placed copies rank first it draws 1 first (50.0%); " \
           "of the other 1, 1" in text
    assert text.endswith("placed copies below first: arrow")
