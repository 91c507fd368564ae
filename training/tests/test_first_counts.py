"""tools/first_counts.py: per-name counts of the files drawing it first, the names none
draws first, and each file's firsts that no earlier file had, on hand-made rows."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.first_counts import firsts_per_name, new_firsts, read_ranks, report  # noqa: E402

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = ["apple", "banana", "cat", "dog"]


def write_rows(path, ranks, prompts=PROMPTS):
    with open(path, "w", encoding="utf-8") as f:
        for i, (p, r) in enumerate(zip(prompts, ranks)):
            f.write(json.dumps({"set": "english_all", "i": i, "prompt": p, "rank": r,
                                "clip_score": 0.0, "draws": 4}) + "\n")
    return str(path)


RANKS = {"a": [0, 3, 0, 2], "b": [0, 0, 1, 4], "c": [0, 1, 0, 6]}


def test_counts_never_and_new_firsts():
    assert firsts_per_name(RANKS) == [3, 1, 2, 0]
    # b adds banana; c adds nothing a had not drawn first already
    assert new_firsts(RANKS) == {"a": [0, 2], "b": [1], "c": []}
    text = report(PROMPTS, RANKS)
    assert "0 of 3: 1 names" in text and "3 of 3: 1 names" in text
    # dog's best rank is a's 2 (0 = first), printed counted from 1: 3
    assert "never first: 1 names; their best rank over the files, median 3" in text
    assert text.endswith("the names never first: dog")


def test_files_of_other_prompts_are_refused(tmp_path):
    a = write_rows(tmp_path / "a.jsonl", [0, 1, 0, 0])
    b = write_rows(tmp_path / "b.jsonl", [0, 1, 0, 0], prompts=["apple", "banana", "dog", "cat"])
    with pytest.raises(SystemExit, match="other prompts"):
        read_ranks([("a", a), ("b", b)])


def test_the_command_line(tmp_path):
    paths = [f"{n}=" + write_rows(tmp_path / f"{n}.jsonl", r) for n, r in RANKS.items()]
    out = subprocess.run([sys.executable, "-m", "tools.first_counts", *paths], cwd=TRAINING,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "4 names, 3 files"
    assert "  b: 2 first (50.0%)" in out
    bad = subprocess.run([sys.executable, "-m", "tools.first_counts", paths[0]], cwd=TRAINING,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "two files or more" in bad.stderr
