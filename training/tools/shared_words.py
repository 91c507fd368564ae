"""Two models' held-out rows compared within groups of prompts by the words they share
with the everyday names: whether a focus on the names a reference model drew below
first (tools/hard_names.py) cost the other prompts that use the same words. Phase 45's
held-out loss sat most on the 60 of 379 prompts that use "star" (59 of them one
clip-art series of star polygons, "star NNptNNstep"), after the emoji "star" was among
the focused names (training log, phase 45).

    cd training && python3 -m tools.shared_words --drawn EVERYDAY_DRAWN_POOL.jsonl A B \
        [--by-source cache/dataset/meta.json] [--min-prompts 5]

The groups: prompts sharing a word with a name --drawn ranks below first ("hard"), those
sharing words only with names it drew first ("easy"), and the rest ("none"); then one
row for each hard word that at least --min-prompts prompts use. Rows as compare_eval's.
"""
import argparse
import json
import re

from tools.compare_eval import by_label, compare_set, load, one_set, prompt_sources, row
from tools.hard_names import hard_names

# grammar, not content: "cloud with rain" and "man with a hat" share nothing
STOP = {"a", "an", "and", "at", "for", "in", "of", "on", "the", "to", "with"}


def words(text):
    """The lower-case content words of a prompt (letters only: "star 25pt11step" -> star, pt, step)"""
    return set(re.findall(r"[a-z]+", text.lower())) - STOP


def name_words(drawn_rows):
    """(words of the names drawn below first, as hard_names lists them for a focus,
    words of the names drawn first)"""
    hard = set(hard_names(drawn_rows))
    hard_words, easy_words = set(), set()
    for r in drawn_rows:
        (hard_words if r["prompt"] in hard else easy_words).update(words(r["prompt"]))
    return hard_words, easy_words


def group_of(prompt, hard, easy):
    w = words(prompt)
    return "hard" if w & hard else "easy" if w & easy else "none"


def word_groups(rows, hard, easy):
    """{prompt: "hard" / "easy" / "none"}, the labels compare_eval.by_label groups by"""
    return {r["prompt"]: group_of(r["prompt"], hard, easy) for r in rows}


def by_hard_word(a, b, hard, min_prompts):
    """{word: (a rows, b rows)} for each hard word that min_prompts or more prompts use,
    most used first (a prompt may fall under several words)"""
    out = {}
    for x, y in zip(a, b):
        for w in words(x["prompt"]) & hard:
            ga, gb = out.setdefault(w, ([], []))
            ga.append(x)
            gb.append(y)
    kept = [(w, g) for w, g in out.items() if len(g[0]) >= min_prompts]
    return dict(sorted(kept, key=lambda t: (-len(t[1][0]), t[0])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drawn", required=True,
                    help="the reference model's everyday drawn-pool per-prompt file (which names it drew first)")
    ap.add_argument("a", help="per-prompt file of the reference model (held out)")
    ap.add_argument("b", help="the same for the candidate")
    ap.add_argument("--by-source", metavar="META_JSON",
                    help="also split each group by source (the data set's meta.json)")
    ap.add_argument("--min-prompts", type=int, default=5,
                    help="list a hard word's own row when this many prompts use it")
    args = ap.parse_args()
    drawn = one_set(args.drawn)
    hard, easy = name_words(drawn)
    sources = None
    if args.by_source:
        with open(args.by_source) as f:
            sources = prompt_sources(json.load(f))
    A, B = load(args.a), load(args.b)
    print("| prompts | CLIP score B - A (95% CI) | top-1 only B / only A (p) | top-5 only B / only A (p) |")
    print("| --- | --- | --- | --- |")
    for name in [k for k in A if k in B]:
        a, b = A[name], B[name]
        print(row(f"{name} ({len(a)})", compare_set(a, b)))
        for g, (ga, gb) in by_label(a, b, word_groups(a, hard, easy)).items():
            print(row(f"{g} ({len(ga)})", compare_set(ga, gb)))
            if sources is not None:
                for s, (sa, sb) in by_label(ga, gb, sources).items():
                    print(row(f"{g}, {s} ({len(sa)})", compare_set(sa, sb)))
        for w, (wa, wb) in by_hard_word(a, b, hard, args.min_prompts).items():
            print(row(f'"{w}" ({len(wa)})', compare_set(wa, wb)))


if __name__ == "__main__":
    main()
