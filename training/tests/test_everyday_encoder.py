"""tools/everyday_encoder.py: each prompt's own image ranked by the prompt's text among
all candidate images (exact integer ranks from hand-made embeddings), the cross table
against a model's drawn ranks, and the report's Fisher's exact test (two-sided, the
tables' known p values to the 3 digits the report prints)."""
import os
import sys
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.everyday_encoder import cross_table, report, text_ranks  # noqa: E402


class FakeText:
    """A name's text embedding is `names[name]`."""

    def __init__(self, names):
        self.names = names
        self.cfg = SimpleNamespace(text=SimpleNamespace(max_len=32))

    def encode_text(self, ids, mask):
        return torch.stack([self.names[bytes(row[1:int(m.sum())].tolist()).decode()]
                            for row, m in zip(ids, mask)])


def test_text_ranks_count_images_above_the_own_one_across_chunks():
    e = torch.eye(3)
    # candidates: the three prompts' own images first, then two pool images
    feats = torch.stack([e[0], e[1], e[2], e[0] * 0.9 + e[1] * 0.1, e[2] * 0.5])
    names = {"a": e[0], "b": e[0] * 0.6 + e[1] * 0.4, "c": e[2] * 0.2 + e[1] * 0.8}
    r = text_ranks(FakeText(names), ["a", "b", "c"], feats, "cpu", chunk=2)
    # a: own 1.0, nothing above -> 0
    # b: own 0.4; image 0 (0.6) and pool 3 (0.58) above -> 2
    # c: own 0.2; image 1 (0.8), pool 3 (0.08) not, pool 4 (0.1) not -> 1
    assert r.tolist() == [0, 2, 1]


def test_cross_table_and_report():
    t = cross_table([True, True, False, False, True], [True, False, False, True, True])
    assert t == {(True, True): 2, (True, False): 1, (False, True): 1, (False, False): 1}
    text = report("x", torch.tensor([0, 0, 3, 1, 0]), [0, 2, 5, 0, 0])
    assert "| yes (3) | 2 | 1 | 66.7% |" in text
    assert "| no (2) | 1 | 1 | 50.0% |" in text
    assert "of the 2 names drawn below first, 1 (50.0%)" in text


@pytest.mark.parametrize("table,p", [((3, 1, 1, 3), 0.48571428571428565),
                                     ((8, 2, 1, 5), 0.034965034965034975),
                                     ((363, 201, 58, 46), 0.09853868721887193),
                                     ((0, 5, 5, 0), 0.007936507936507938)])
def test_report_gives_fishers_p(table, p):
    a, b, c, d = table
    # text top-1 (rank 0) and drawn first (rank 0) laid out as the table's four cells
    text = [0] * (a + b) + [1] * (c + d)
    drawn = [0] * a + [1] * b + [0] * c + [1] * d
    assert f"Fisher's exact test, two-sided: p {p:.3g};" in report("x", torch.tensor(text), drawn)
