"""tools/hard_names.py: the names drawn below first, mapped back to the listed training
emoji of those names, written in the everyday list's format (read back by read_list, as
train.py --focus reads it)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data.everyday import read_entries, read_list               # noqa: E402
from tools.hard_names import hard_names, listed_ids_of           # noqa: E402

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emoji(i, name, held_out=False, source="emoji"):
    return {"source": source, "id": i, "held_out": held_out, "captions": {"en": [name, "x"]}}


META = [
    emoji("A", "apple"), emoji("B", "banana"), emoji("B2", "banana"),
    emoji("C", "cat"), emoji("D", "dog", held_out=True), emoji("E", "eel", source="openclipart"),
    emoji("F", "fox"),
]
ENTRIES = {"F": ("Animals", "mammal"), "B2": ("Food", "fruit"), "A": ("Food", "fruit"),
           "B": ("Food", "fruit"), "D": ("Animals", "mammal"), "E": ("Animals", "fish")}
ROWS = [{"set": "english_all", "i": k, "prompt": p, "rank": r, "clip_score": 0.0, "draws": 4}
        for k, (p, r) in enumerate([("apple", 0), ("banana", 3), ("fox", 1), ("dog", 5), ("eel", 2)])]


def test_names_from_the_rank_on():
    assert hard_names(ROWS) == ["banana", "fox", "dog", "eel"]
    assert hard_names(ROWS, min_rank=3) == ["banana", "dog"]


def test_only_listed_training_emoji_in_the_list_order():
    # C is not listed, D is held out, E is not an emoji, A was drawn first
    assert listed_ids_of(META, ENTRIES, hard_names(ROWS)) == ["F", "B2", "B"]


def run_tool(tmp_path, rows, listed, out):
    """tools.hard_names as a command on rows, the meta above and the list at listed"""
    (tmp_path / "meta.json").write_text(json.dumps(META), encoding="utf-8")
    with open(tmp_path / "rows.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return subprocess.run([sys.executable, "-m", "tools.hard_names", "--rows", str(tmp_path / "rows.jsonl"),
                           "--data", str(tmp_path), "--list", str(listed), "--out", str(out)],
                          cwd=TRAINING, capture_output=True, text=True)


def test_the_file_is_a_focus_list(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("# list\n" + "".join(f"{c}\t{g}\t{s}\n" for c, (g, s) in ENTRIES.items()),
                      encoding="utf-8")
    out = tmp_path / "hard.txt"
    run = run_tool(tmp_path, ROWS, listed, out)
    assert run.returncode == 0, run.stderr
    assert "4 of 5 names, 3 emoji" in run.stdout
    assert read_list(out) == {"F", "B2", "B"}
    assert read_entries(out)["B2"] == ("Food", "fruit")
    # nothing to focus on: an error, not an empty list that train.py would refuse later
    run = run_tool(tmp_path, [dict(r, rank=0) for r in ROWS], listed, tmp_path / "none.txt")
    assert run.returncode != 0 and "no listed training emoji" in run.stderr
