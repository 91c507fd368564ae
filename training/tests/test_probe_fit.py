"""The pieces of the fitting probes (docs/training-log.md, phase 15): tools/probe_fit.py's
scores, evaluate.py's training-split prompts, and train.py's probe loader."""
import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train                                  # noqa: E402
from dir7.dataset import english_names, load, probe_indices  # noqa: E402
from evaluate import pick_concepts            # noqa: E402
from tools.probe_fit import drawn_scores      # noqa: E402
from tools.subset_data import write_subset    # noqa: E402


def unit(x):
    return torch.nn.functional.normalize(x, dim=-1)


def test_drawn_scores_count_each_image_nearest_its_own():
    real = unit(torch.eye(8))
    # generated image i lies nearest real image i, except 6 and 7, which swap places
    gen = unit(torch.eye(8)[[0, 1, 2, 3, 4, 5, 7, 6]] + 0.1)
    s = drawn_scores(gen, real, real)
    assert s["drawn_top1"] == pytest.approx(6 / 8)
    assert s["drawn_top5"] == 1.0
    assert s["text_top1"] == pytest.approx(6 / 8)
    assert s["n"] == 8


def synthetic_meta(n=1000):
    return [{"source": "emoji" if i % 3 else "openclipart", "id": str(i),
             "captions": {"en": [f"thing {i % 400}"]}, "held_out": i % 4 == 1} for i in range(n)]


def test_training_split_prompts_are_distinct_training_concepts():
    meta = synthetic_meta()
    pool, concepts, em = pick_concepts(meta, "train")
    assert not any(meta[i]["held_out"] for i in pool)
    assert len(pool) == 750
    for ix in (concepts, em):
        names = english_names(meta, ix)
        assert len(names) == len(set(names)) == 100
        assert set(ix) <= set(pool)
    assert all(meta[i]["source"] == "emoji" for i in em)
    # the held-out split, the default, draws only held-out images
    held, h_concepts, _ = pick_concepts(meta)
    assert held == [i for i in range(1000) if i % 4 == 1] and set(h_concepts) <= set(held)


def test_probe_loader_gives_full_batches_larger_than_the_set(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "images.npy", rng.integers(0, 256, (40, 64, 64, 4), dtype=np.uint8))
    meta = [dict(m, source="emoji", held_out=False) for m in synthetic_meta(40)]
    with open(tmp_path / "meta.json", "w") as f:
        json.dump(meta, f)
    monkeypatch.setattr(train, "args_workers", lambda: 0)
    ds, dl = train.loader(str(tmp_path), 16, 0, 1, 0, emoji_weight=2.0, probe=8)
    assert len(ds) == 8 and len(dl) == 100
    x, caps = next(iter(dl))
    assert x.shape == (16, 4, 64, 64) and len(caps) == 16


def test_subset_data_takes_the_named_training_images_in_the_names_order(tmp_path):
    src = tmp_path / "all"
    src.mkdir()
    names = ["fox", "fox", "camera", "fish", "banana"]
    meta = [{"source": "emoji", "captions": {"en": [n, "kw"], "fr": [n + " fr"]}, "held_out": h, "flip": True}
            for n, h in zip(names, [True, False, False, False, False])]
    meta.append({"source": "openclipart", "captions": {"en": ["tree"]}, "held_out": False})
    images = np.arange(6, dtype=np.uint8)[:, None, None, None] * np.ones((6, 2, 2, 4), np.uint8)
    np.save(src / "images.npy", images)
    (src / "meta.json").write_text(json.dumps(meta))
    # the held-out fox (row 0) is never taken; the order is the names'
    assert write_subset(str(src), ["banana", "fox", "camera"], str(tmp_path / "few")) == [4, 1, 2]
    few, got = load(str(tmp_path / "few"))
    assert few[:, 0, 0, 0].tolist() == [4, 1, 2]
    assert got == [meta[4], meta[1], meta[2]]
    # train.py --probe 3 and probe_fit --images 3 take all of them
    assert probe_indices(got, 3) == [0, 1, 2]
    with pytest.raises(SystemExit, match="tree"):
        write_subset(str(src), ["fox", "tree"], str(tmp_path / "none"))
