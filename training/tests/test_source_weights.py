"""train.py's draw weights by source (--emoji-weight, --stamp-weight): the stamps follow
the emoji unless told otherwise, and weight 0 leaves them out of the batches."""
import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train   # noqa: E402

SOURCES = ["emoji", "openclipart", "tuxpaint", "openclipart"]


def meta(n=40):
    return [{"source": SOURCES[i % 4], "id": str(i), "captions": {"en": [f"{SOURCES[i % 4]} {i}"]},
             "held_out": False} for i in range(n)]


def test_weights_by_source():
    m = meta(4)
    assert train.source_weights(m) is None                      # all 1: plain shuffling
    assert train.source_weights(m, 2.0).tolist() == [2, 1, 2, 1]   # stamps follow the emoji
    assert train.source_weights(m, 2.0, 0.0).tolist() == [2, 1, 0, 1]
    assert train.source_weights(m, 1.0, 0.5).tolist() == [1, 1, 0.5, 1]
    with pytest.raises(SystemExit, match=">= 0"):
        train.source_weights(m, -1.0)
    with pytest.raises(SystemExit, match="leave some image"):
        train.source_weights([{"source": "tuxpaint"}], 1.0, 0.0)


def tiny_data(tmp_path, monkeypatch):
    """meta()'s 40 images as a data set at tmp_path, loaded without worker processes"""
    np.save(tmp_path / "images.npy", np.zeros((40, 64, 64, 4), np.uint8))
    with open(tmp_path / "meta.json", "w") as f:
        json.dump(meta(), f)
    monkeypatch.setattr(train, "args_workers", lambda: 0)
    return str(tmp_path)


def test_stamp_weight_zero_draws_no_stamp(tmp_path, monkeypatch):
    data = tiny_data(tmp_path, monkeypatch)
    drawn = {True: set(), False: set()}   # indices the sampler gives over five epochs
    for zero in (True, False):
        ds, dl = train.loader(data, 8, 0, 1, 0, emoji_weight=2.0, stamp_weight=0.0 if zero else None)
        assert isinstance(dl.sampler, torch.utils.data.WeightedRandomSampler)
        for _ in range(5):
            drawn[zero].update(int(i) for i in dl.sampler)
    assert {SOURCES[i % 4] for i in drawn[True]} == {"emoji", "openclipart"}
    assert "tuxpaint" in {SOURCES[i % 4] for i in drawn[False]}


def test_focus_takes_its_share():
    m = meta(8)   # emoji at 0 and 4
    w = train.focus_weights(m, None, {"0"}, 0.5)
    assert w[0] == pytest.approx(w.sum() / 2) and w[4] == 1 and w[1] == 1
    # with source weights: the focus emoji take the share, the rest keep their ratios
    w = train.focus_weights(m, train.source_weights(m, 2.0, 0.0), {"0", "4"}, 0.75)
    assert (w[0] + w[4]) / w.sum() == pytest.approx(0.75)
    assert w[2] == 0 and w[1] == w[3] == 1
    with pytest.raises(SystemExit, match="some training emoji"):
        train.focus_weights(m, None, {"1"}, 0.5)        # clip art only: no emoji to focus on
    with pytest.raises(SystemExit, match="between 0 and 1"):
        train.focus_weights(m, None, {"0"}, 1.0)


def test_focus_keep_gives_a_source_its_share_back():
    m = meta(40)   # 10 emoji, 20 clip art, 10 stamps
    before = train.source_weights(m, 2.0, 1.0)   # emoji 20, clip art 20, stamps 10 of 50
    w = train.focus_weights(m, before, {"0", "4"}, 0.5, keep="openclipart")
    clip = [i for i in range(40) if SOURCES[i % 4] == "openclipart"]
    rest = [i for i in range(40) if i not in clip and i not in (0, 4)]
    assert (w[0] + w[4]) / w.sum() == pytest.approx(0.5)          # the focus keeps its share
    assert w[clip].sum() / w.sum() == pytest.approx(0.4)          # clip art: its share before
    assert w[rest].sum() / w.sum() == pytest.approx(0.1)          # the rest: what is left
    assert w[8] / w[2] == pytest.approx(2.0)                      # emoji 2 : stamp 1, as before
    assert len(set(w[clip].tolist())) == 1
    with pytest.raises(SystemExit, match="leave some draws"):      # 0.4 + 0.7 > 1
        train.focus_weights(m, before, {"0"}, 0.7, keep="openclipart")


def test_focus_keep_draws_its_shares(tmp_path, monkeypatch):
    data = tiny_data(tmp_path, monkeypatch)
    ds, dl = train.loader(data, 8, 0, 1, 0, focus=({"0", "4"}, 0.3), focus_keep="openclipart")
    drawn = [int(i) for _ in range(50) for i in dl.sampler]   # 2,000 draws
    clip = sum(SOURCES[i % 4] == "openclipart" for i in drawn) / len(drawn)
    focus = sum(i in (0, 4) for i in drawn) / len(drawn)
    assert 0.45 < clip < 0.55 and 0.25 < focus < 0.35   # without keep, clip art would be 35%


def test_focus_draws_its_share(tmp_path, monkeypatch):
    data = tiny_data(tmp_path, monkeypatch)
    ds, dl = train.loader(data, 8, 0, 1, 0, focus=({"0", "4"}, 0.5))
    drawn = [int(i) for _ in range(50) for i in dl.sampler]   # 2,000 draws
    share = sum(i in (0, 4) for i in drawn) / len(drawn)
    assert 0.45 < share < 0.55     # two of forty images: 5% without the focus
