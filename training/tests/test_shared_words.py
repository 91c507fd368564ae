"""tools/shared_words.py: held-out prompts grouped by the words they share with the
everyday names a reference drew below first or first, and a row per much-used hard word."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.compare_eval import by_label                                             # noqa: E402
from tools.shared_words import by_hard_word, group_of, name_words, word_groups, words  # noqa: E402

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rows(pairs, score=None):
    return [{"set": "english_all", "i": k, "prompt": p, "rank": r,
             "clip_score": 50.0 if score is None else score(p), "draws": 8}
            for k, (p, r) in enumerate(pairs)]


DRAWN = rows([("star", 2), ("glowing star", 0), ("red apple", 0), ("cloud with rain", 1)])
HELD = [("star 25pt11step", 0), ("star 35pt16step", 3), ("apple pie", 1), ("rain drop", 0),
        ("anchor", 4), ("red star", 2)]


def test_words_are_content_words_of_letters():
    assert words("Star 25pt11step") == {"star", "pt", "step"}
    assert words("cloud with a rain") == {"cloud", "rain"}


def test_a_word_of_a_hard_name_makes_the_prompt_hard_even_if_an_easy_name_has_it_too():
    hard, easy = name_words(DRAWN)
    assert hard == {"star", "cloud", "rain"} and easy == {"glowing", "star", "red", "apple"}
    got = [group_of(p, hard, easy) for p, _ in HELD]
    assert got == ["hard", "hard", "easy", "hard", "none", "hard"]


def test_groups_and_word_rows_keep_the_pairs_together():
    a = rows(HELD)
    b = rows(HELD, score=lambda p: 40.0 if "star" in p else 50.0)
    hard, easy = name_words(DRAWN)
    g = by_label(a, b, word_groups(a, hard, easy))
    assert list(g) == ["easy", "hard", "none"]
    assert [x["prompt"] for x in g["hard"][1]] == ["star 25pt11step", "star 35pt16step", "rain drop", "red star"]
    w = by_hard_word(a, b, hard, min_prompts=2)
    assert list(w) == ["star"]          # "rain" is used once
    assert [y["clip_score"] - x["clip_score"] for x, y in zip(*w["star"])] == [-10.0] * 3


def test_the_command_prints_one_row_a_group_and_the_star_row(tmp_path):
    def write(name, rs):
        p = tmp_path / name
        p.write_text("".join(json.dumps(r) + "\n" for r in rs))
        return str(p)
    a = write("a.jsonl", rows(HELD))
    b = write("b.jsonl", rows(HELD, score=lambda p: 40.0 if "star" in p else 50.0))
    drawn = write("drawn.jsonl", DRAWN)
    out = subprocess.run([sys.executable, "-m", "tools.shared_words", "--drawn", drawn, a, b,
                          "--min-prompts", "3"], cwd=TRAINING, capture_output=True, text=True, check=True).stdout
    lines = [x for x in out.splitlines() if x.startswith("| ") and not x.startswith(("| prompts", "| ---"))]
    assert [x.split(" | ")[0] for x in lines] == ["| english_all (6)", "| easy (1)", "| hard (4)", "| none (1)",
                                                  '| "star" (3)']
    assert "| -10.00 (-10.00, -10.00): worse |" in lines[-1]
