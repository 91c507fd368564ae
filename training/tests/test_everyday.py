"""data/everyday.py: the committed everyday emoji list is what CLDR's labels.txt gives."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data import everyday   # noqa: E402


def test_unicode_set_ranges_and_singles():
    assert everyday.unicode_set("[🐀-🐂🐎]") == ["🐀", "🐁", "🐂", "🐎"]
    assert everyday.unicode_set("[a-]") == ["a", "-"]
    with pytest.raises(ValueError):
        everyday.unicode_set("🐀")


def test_groups_picked(tmp_path):
    lab = tmp_path / "labels.txt"
    lab.write_text("# a comment; with a semicolon\n"
                   "[🐀-🐁]  ;\tAnimals & Nature\t;\tanimal-mammal\n"
                   "[😀]  ;\tSmileys & People\t;\tface-positive\n"
                   "[👓]  ;\tSmileys & People\t;\tclothing\n"
                   "[⌚]  ;\tTravel & Places\t;\ttime\n"
                   "[⛺]  ;\tTravel & Places\t;\tplace-other\n", encoding="utf-8")
    out = tmp_path / "list.txt"
    everyday.write_list(out, lab)
    assert everyday.read_list(out) == {"🐀", "🐁", "👓", "⛺"}


@pytest.mark.skipif(not os.path.exists(everyday.LABELS), reason="unicode-cldr-core not installed")
def test_committed_list_is_cldrs(tmp_path):
    everyday.write_list(tmp_path / "list.txt")
    with open(tmp_path / "list.txt", encoding="utf-8") as a, open(everyday.default_list(), encoding="utf-8") as b:
        assert a.read() == b.read()
    # none is a face, a flag or a sequence
    assert all(len(c) == 1 for c in everyday.read_list(everyday.default_list()))
    assert "😀" not in everyday.read_list(everyday.default_list())
