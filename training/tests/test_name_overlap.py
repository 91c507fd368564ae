"""tools/name_overlap.py: other training names holding a name as whole words, and the
share drawn first by that count, on hand-made names and ranks."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.name_overlap import others_holding, report, training_names  # noqa: E402


def test_whole_words_only_and_not_the_name_itself():
    names = ["pizza", "pizza slice", "pizza pepperoni", "pizzas", "pizzeria sign", "cat"]
    assert others_holding("pizza", names) == 2       # not "pizza" itself, "pizzas", "pizzeria"
    assert others_holding("Cat", names) == 0
    assert others_holding("red apple", ["red apple core", "apple red"]) == 1


def test_training_names_leave_held_out_and_nameless_images_out():
    meta = [{"captions": {"en": ["Pizza Slice", "food"]}, "held_out": False},
            {"captions": {"en": ["cat"]}, "held_out": True},
            {"captions": {"zh": ["猫"]}, "held_out": False}]
    assert training_names(meta) == ["pizza slice"]


def test_report_bins_the_names_by_overlap():
    prompts = ["pizza", "cat", "dog"]
    names = ["pizza"] + [f"pizza {i}" for i in range(3)] + ["hot dog"]
    ranks = {"a": [1, 0, 0], "b": [2, 0, 1]}          # pizza never first, cat in both, dog in one
    text = report(prompts, ranks, names)
    assert "| 0 | 1 | 100.0% | 0 | 1 |" in text         # cat
    assert "| 1-2 | 1 | 50.0% | 0 | 0 |" in text        # dog: "hot dog"
    assert "| 3-9 | 1 | 0.0% | 1 | 0 |" in text         # pizza: three others
    assert text.endswith("never first, holding 3 or more: pizza (3)")
