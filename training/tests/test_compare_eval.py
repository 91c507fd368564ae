"""tools/compare_eval.py: the paired comparison of two evaluations, and
evaluate.py's per-prompt ranks and scores that feed it. Exact values from
hand-made cases; the sign test against scipy's binomial test."""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from evaluate import ranks_and_scores, retrieval                     # noqa: E402
from tools.compare_eval import (bootstrap_ci, by_label, compare_set, load, prompt_sources,  # noqa: E402
                                one_set, ranks_in_order, sign_test, split_by)


def rows(ranks, scores, prompts=None):
    prompts = prompts or [f"p{i}" for i in range(len(ranks))]
    return [{"set": "s", "i": i, "prompt": p, "rank": r, "clip_score": c}
            for i, (p, r, c) in enumerate(zip(prompts, ranks, scores))]


@pytest.mark.parametrize("wins,losses", [(0, 0), (3, 0), (15, 0), (7, 3), (3, 7), (12, 11), (40, 22)])
def test_the_sign_test_is_scipys_exact_binomial_test(wins, losses):
    binomtest = pytest.importorskip("scipy.stats").binomtest
    want = 1.0 if wins + losses == 0 else binomtest(wins, wins + losses, 0.5).pvalue
    assert sign_test(wins, losses) == pytest.approx(want, rel=1e-12)


def test_a_model_against_itself_shows_no_difference():
    a = rows([0, 3, 9, 1], [60.0, 55.5, 48.25, 70.0])
    c = compare_set(a, a)
    assert c["clip_score_diff"] == 0 and c["ci95"] == [0.0, 0.0] and c["clip_score"] == "no difference"
    assert c["top1"] == {"only_b": 0, "only_a": 0, "p": 1.0, "verdict": "no difference"}


def test_a_constant_gain_is_called_better_and_its_interval_is_exact():
    a = rows([5] * 20, [50.0 + i for i in range(20)])
    b = rows([0] * 20, [51.5 + i for i in range(20)])
    c = compare_set(a, b)
    assert c["clip_score_diff"] == pytest.approx(1.5)
    assert c["ci95"] == [pytest.approx(1.5), pytest.approx(1.5)] and c["clip_score"] == "better"
    # all 20 prompts move into the top 1 and top 5: p = 2 / 2^20
    assert c["top1"]["only_b"] == 20 and c["top1"]["p"] == pytest.approx(2 / 2 ** 20)
    assert c["top1"]["verdict"] == c["top5"]["verdict"] == "better"


def test_a_few_changed_prompts_among_many_are_no_difference():
    a = rows([0] * 50 + [3] * 50, [60.0] * 100)
    b = rows([0] * 48 + [3] * 2 + [0] * 3 + [3] * 47, [60.0] * 100)   # 3 won, 2 lost
    c = compare_set(a, b)
    assert (c["top1"]["only_b"], c["top1"]["only_a"]) == (3, 2)
    assert c["top1"]["verdict"] == "no difference"
    assert (c["top5"]["only_b"], c["top5"]["only_a"]) == (0, 0)   # rank 3 is in the top 5 either way


def test_the_bootstrap_interval_holds_the_mean_and_widens_with_the_spread():
    narrow = bootstrap_ci([1.0, 1.2, 0.8, 1.1, 0.9] * 20)
    wide = bootstrap_ci([5.0, -3.0, 4.0, -2.0, 1.0] * 20)
    assert narrow[0] < 1.0 < narrow[1] and wide[0] < 1.0 < wide[1]
    assert wide[1] - wide[0] > 10 * (narrow[1] - narrow[0])


def test_different_prompts_are_refused():
    with pytest.raises(ValueError, match="same prompts"):
        compare_set(rows([0], [50.0], ["a cat"]), rows([0], [50.0], ["a dog"]))


def test_evaluate_writes_the_ranks_and_scores_that_make_its_figures(tmp_path):
    # 3 images against 3 prompts: image 0 ranks its prompt first, image 1 second,
    # image 2 third (unit vectors, so the scores are 100 x the diagonal)
    txt = torch.eye(3)
    img = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8], [0.8, 0.6, 0.0]])
    rank, score = ranks_and_scores(img, txt)
    assert rank.tolist() == [0, 1, 2]
    per = []
    t1, t5, cs = retrieval(img, txt, per, "generated_en", ["a", "b", "c"])
    assert (t1, t5) == (pytest.approx(1 / 3), 1.0) and cs == pytest.approx((100 + 60 + 0) / 3)
    assert [(r["prompt"], r["rank"], r["clip_score"]) for r in per] == [("a", 0, 100.0), ("b", 1, 60.0),
                                                                       ("c", 2, 0.0)]
    with open(tmp_path / "per-prompt.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in per)
    assert load(str(tmp_path))["generated_en"] == per


def test_prompts_grouped_by_the_sources_that_hold_them_out():
    meta = [{"source": "emoji", "held_out": True, "captions": {"en": ["cat", "pet"]}},
            {"source": "openclipart", "held_out": True, "captions": {"en": ["cat"]}},
            {"source": "openclipart", "held_out": True, "captions": {"en": ["tree"]}},
            {"source": "tuxpaint", "held_out": False, "captions": {"en": ["tree"]}},   # trained on: no say
            {"source": "emoji", "held_out": True, "captions": {"en": ["sun"]}}]
    sources = prompt_sources(meta)
    assert sources == {"cat": "emoji+openclipart", "tree": "openclipart", "sun": "emoji"}
    assert prompt_sources(meta, held_out=False) == {"tree": "tuxpaint"}   # the seen test's prompts
    prompts = ["sun", "cat", "tree", "moon"]
    a = rows([0, 1, 2, 3], [50.0, 51.0, 52.0, 53.0], prompts)
    b = rows([0, 0, 9, 3], [52.0, 51.0, 49.0, 53.0], prompts)
    groups = by_label(a, b, sources)
    assert list(groups) == ["emoji", "emoji+openclipart", "openclipart", "other"]
    assert [r["prompt"] for r in groups["other"][0]] == ["moon"]
    assert compare_set(*groups["emoji"])["clip_score_diff"] == 2.0
    assert compare_set(*groups["openclipart"])["clip_score_diff"] == -3.0


def test_ranks_in_order_only_for_the_same_prompts_in_the_same_order(tmp_path):
    path = tmp_path / "per-prompt.jsonl"
    path.write_text("".join(json.dumps({"set": "english_all", "i": i, "prompt": p, "rank": r}) + "\n"
                            for i, (p, r) in enumerate([("sun", 2), ("moon", 0)])))
    assert ranks_in_order(str(path), ["sun", "moon"]) == [2, 0]
    assert ranks_in_order(str(path), ["moon", "sun"]) is None
    assert ranks_in_order(str(path), ["sun"]) is None


def test_a_reference_file_of_several_sets_is_refused_with_their_names(tmp_path):
    path = tmp_path / "per-prompt.jsonl"
    path.write_text("".join(json.dumps({"set": s, "i": 0, "prompt": "sun", "rank": 0}) + "\n"
                            for s in ("english_all", "chinese_emoji")))
    with pytest.raises(SystemExit, match="want the rows of one set, found 2: chinese_emoji, english_all"):
        one_set(str(path))
    path.write_text(json.dumps({"set": "english_all", "i": 0, "prompt": "sun", "rank": 1}) + "\n")
    assert [r["rank"] for r in one_set(str(path))] == [1]


def test_split_by_compares_within_the_names_a_reference_drew_first_and_the_rest(tmp_path):
    ref = rows([0, 2, 0, 1], [0.0] * 4, prompts=["a", "b", "c", "d"])
    assert split_by(ref) == {"a": "drawn first by the reference", "b": "below first by the reference",
                             "c": "drawn first by the reference", "d": "below first by the reference"}
    a = rows([0, 2, 0, 1], [60.0, 50.0, 60.0, 50.0], prompts=["a", "b", "c", "d"])
    b = rows([3, 0, 4, 0], [58.0, 53.0, 58.0, 53.0], prompts=["a", "b", "c", "d"])
    for path, r in (("ref", ref), ("a", a), ("b", b)):
        (tmp_path / f"{path}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in r))
    out = subprocess.run([sys.executable, "-m", "tools.compare_eval", str(tmp_path / "a.jsonl"),
                          str(tmp_path / "b.jsonl"), "--split-by", str(tmp_path / "ref.jsonl")],
                         cwd=TRAINING, capture_output=True, text=True, check=True).stdout
    lines = {x.split(" | ")[0]: x for x in out.splitlines()}
    assert "| -2.00 (-2.00, -2.00): worse | 0 / 2" in lines["| s, drawn first by the reference (2 prompts)"]
    assert "| +3.00 (+3.00, +3.00): better | 2 / 0" in lines["| s, below first by the reference (2 prompts)"]
