"""tools/rank_summary.py: the absolute top-k figures and the everyday groups."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import rank_summary as rs   # noqa: E402


def rows(ranks, prompts=None, set_name="english_all"):
    prompts = prompts or [f"p{i}" for i in range(len(ranks))]
    return [{"set": set_name, "prompt": p, "rank": r} for p, r in zip(prompts, ranks)]


def test_summary_counts_rank_zero_as_first():
    s = rs.summary(rows([0, 0, 3, 4, 5, 19, 20, 100]))
    assert s["top1"] == pytest.approx(25.0) and s["top5"] == pytest.approx(50.0)
    assert s["top20"] == pytest.approx(75.0) and s["median_rank"] == pytest.approx(5.5) and s["n"] == 8


def test_sets_are_kept_apart(tmp_path):
    path = tmp_path / "per-prompt.jsonl"
    lines = [dict(r, i=i) for i, r in enumerate(rows([0, 1]))]
    lines += [dict(r, i=0) for r in rows([7], set_name="emoji_zh")]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    sets = rs.load(str(path))    # compare_eval's reader
    assert list(sets) == ["english_all", "emoji_zh"] and len(sets["english_all"]) == 2


def test_top1_by_everyday_group(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("# header\n🍎\tFood & Drink\tfood-fruit\n🦊\tAnimals & Nature\tanimal-mammal\n"
                      "👓\tSmileys & People\tclothing\n", encoding="utf-8")
    meta = [{"source": "emoji", "id": i, "captions": {"en": [n]}} for i, n in
            [("🍎", "red apple"), ("🦊", "fox"), ("👓", "glasses"), ("😀", "grinning face")]]
    groups = rs.everyday_groups(meta, str(listed))
    assert groups == {"red apple": "Food & Drink", "fox": "Animals & Nature", "glasses": "clothing"}
    got = rs.top1_by_group(rows([0, 3, 0, 0], ["red apple", "fox", "glasses", "grinning face"]), groups)
    assert got == {"Food & Drink": (1, 100.0), "Animals & Nature": (1, 0.0), "clothing": (1, 100.0)}


def test_split_by_a_reference_labels_names_by_its_rank():
    ref = rows([0, 2, 0, 1], prompts=["a", "b", "c", "d"])
    groups = rs.split_by(ref)
    cand = rows([1, 0, 0, 0, 3], prompts=["a", "b", "c", "d", "e"])   # "e": not in the reference
    out = rs.top1_by_group(cand, groups)
    assert out["drawn first by the reference"] == (2, 50.0)
    assert out["below first by the reference"] == (2, 100.0)
