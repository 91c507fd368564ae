"""tools/clip_retrieval.py's ranks: how many images with another name score
above an image's own; images that share the query's name are never counted
against it. Exact integer ranks from hand-made embeddings."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.clip_retrieval import ranks, summary                # noqa: E402


class FakeClip:
    """Image i's embedding is row i of `images`; a name's is `names[name]`."""

    def __init__(self, images, names):
        self.images, self.names = images, names

    def encode_image(self, x):
        return self.images[x[:, 0, 0, 0].long()]

    def encode_text(self, ids, mask):
        out = []
        for row, m in zip(ids, mask):
            text = bytes(row[1:int(m.sum())].tolist()).decode()   # drop the leading <|endoftext|>
            out.append(self.names[text])
        return torch.stack(out)


def test_ranks_count_only_other_names():
    e = torch.eye(3)
    images = torch.stack([e[0], e[0] * 0.4 + e[1] * 0.7, e[1], e[2]])
    # "a" names images 0 and 1 (a skin-tone pair), "b" image 2, "c" image 3
    names = {"a": e[0] * 0.5 + e[1] * 0.5, "b": e[1], "c": e[0] * 0.6 + e[2] * 0.4}
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 4, 2, 2).contiguous()
    r = ranks(FakeClip(images, names), 32, x, ["a", "a", "b", "c"], "cpu", chunk=3)
    # a/img0 scores 0.5; img1 (0.55) is above but also "a", img2 (0.5) ties: rank 0
    # a/img1 scores 0.55: nothing with another name above: rank 0
    # b/img2 scores 1.0: nothing above: rank 0
    # c/img3 scores 0.4; img0 (0.6) is above, img1 (0.24) is not: rank 1
    assert r.tolist() == [0, 0, 0, 1]
    s = summary(r)
    assert s["top1"] == 0.75 and s["top5"] == 1.0 and s["n"] == 4


def test_paired_counts_the_images_only_one_clip_ranks_high():
    from tools.clip_retrieval import paired
    first = torch.tensor([0, 0, 3, 7, 2, 0])
    other = torch.tensor([0, 1, 0, 0, 9, 0])
    got = paired(first, other)
    # top 1: other alone hits images 2 and 3, first alone image 1 (image 4 neither)
    assert (got["top1"]["only_other"], got["top1"]["only_first"]) == (2, 1)
    # top 5: other alone hits image 3 (rank 0 against 7), first alone image 4 (2 against 9)
    assert (got["top5"]["only_other"], got["top5"]["only_first"]) == (1, 1)
    assert got["top1"]["p"] == 1.0
    lopsided = paired(torch.full((8,), 6), torch.zeros(8, dtype=torch.long))
    assert lopsided["top5"] == {"only_other": 8, "only_first": 0, "p": 2 / 2 ** 8}


def test_the_gate_wants_held_out_better_and_no_training_set_worse():
    from tools.clip_retrieval import gate

    def sets(held, emoji, art):
        return {name: {"top1": {"only_other": w, "only_first": l, "p": p}}
                for name, (w, l, p) in (("held_out", held), ("train_emoji", emoji), ("train_clipart", art))}
    # phase 29's CLIP against its start (docs/eval/phase41/gate-check-phase29-clip.json)
    assert gate(sets((37, 16, 0.0055), (837, 101, 0.0), (369, 71, 0.0))) == (True, [])
    ok, why = gate(sets((20, 16, 0.62), (30, 30, 1.0), (5, 5, 1.0)))
    assert not ok and why[0].startswith("held-out top-1 not better")
    ok, why = gate(sets((40, 10, 0.0001), (10, 60, 0.0001), (5, 6, 1.0)))
    assert not ok and why == ["train_emoji top-1 worse (10 / 60, p 0.0001)"]
    # a training set a little worse, but not by the test, does not stop it
    assert gate(sets((40, 10, 0.0001), (20, 25, 0.55), (5, 6, 1.0)))[0]
