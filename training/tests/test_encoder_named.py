"""tools/encoder_named.py: the encoder's rank of each prompt's own image (the k-th
image for the k-th prompt, among every image given), and the drawn top-1 / top-5 by
bins of that rank."""
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("scipy")
torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.text_encoder import batch_tokens                    # noqa: E402
from tools.encoder_named import by_encoder_rank, text_ranks   # noqa: E402


class FirstByteClip:
    """A stand-in CLIP: a prompt's feature is one-hot at its first byte's token id (after
    the start token), so it scores the image whose feature has that index highest."""
    cfg = SimpleNamespace(text=SimpleNamespace(max_len=16))

    def encode_text(self, ids, mask):
        return torch.nn.functional.one_hot(ids[:, 1], 300).float()


def test_the_own_image_is_the_kth_and_the_rank_counts_images_above_it():
    prompts = ["a", "b", "c"]
    clip = FirstByteClip()
    first = batch_tokens(prompts, 16)[0][:, 1].tolist()
    ids = {p: t for p, t in zip(prompts, first)}
    feats = torch.zeros(5, 300)
    feats[0, ids["a"]] = 1.0                      # "a": its own image on top: rank 0
    feats[1, ids["b"]] = 0.5
    feats[3, ids["b"]] = 0.9                      # "b": one pool image above its own: rank 1
    feats[2, ids["c"]] = 0.2
    feats[0, ids["c"]] = 0.3
    feats[4, ids["c"]] = 0.4                      # "c": two above: rank 2
    assert text_ranks(clip, prompts, feats, "cpu", chunk=2).tolist() == [0, 1, 2]


def test_bins_count_and_rate_the_drawings():
    enc = [0, 0, 0, 0, 2, 3, 7, 40]
    drawn = [0, 0, 3, 9, 0, 6, 1, 0]
    r = by_encoder_rank(enc, drawn)
    bins = {b["encoder_rank"]: b for b in r["bins"]}
    assert [b["encoder_rank"] for b in r["bins"]] == ["0", "1-4", "5-19", "20+"]
    assert bins["0"]["n"] == 4 and bins["0"]["drawn_top1"] == 0.5 and bins["0"]["drawn_top5"] == 0.75
    assert bins["1-4"]["n"] == 2 and bins["1-4"]["drawn_top1"] == 0.5 and bins["1-4"]["drawn_top5"] == 0.5
    assert bins["5-19"]["drawn_top1"] == 0.0 and bins["5-19"]["drawn_top5"] == 1.0
    assert bins["20+"]["n"] == 1 and bins["20+"]["drawn_top1"] == 1.0
    assert r["encoder_top1"] == 0.5 and r["drawn_top1"] == 0.5


def test_a_linked_pair_correlates_and_an_empty_bin_has_no_rate():
    rng = np.random.default_rng(0)
    enc = rng.integers(0, 5, 200)
    r = by_encoder_rank(enc, enc * 3 + rng.integers(0, 2, 200))
    assert r["spearman"] > 0.8 and r["spearman_p"] < 1e-6
    assert {b["encoder_rank"]: b["drawn_top1"] for b in r["bins"]}["20+"] is None
