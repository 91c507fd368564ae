"""Two models' evaluations compared prompt by prompt: is B's difference from A
more than the 100 prompts' own spread? Reads the per-prompt.jsonl that
evaluate.py writes beside metrics.json; both evaluations must use the same
judge, prompts, seeds and machine (a GPU's and a CPU's samples differ).

    cd training && python3 -m tools.compare_eval EVAL_DIR_A EVAL_DIR_B
    cd training && python3 -m tools.compare_eval A B --by-source cache/dataset/meta.json

--by-source: the same comparison again within each group of prompts by the sources
whose held-out images carry that English name (emoji, openclipart, or both): whether
a change is the emoji's or the clip art's (training log, phases 34 and 37). With
--seen, the sources of the training images instead, for the seen test's rows
(training log, phases 53 and 54).
--split-by REF: within the names a reference's rows drew first and the rest: whether
a change on a list chosen by those rows (tools/hard_names.py) cost the other names
(training log, phase 45).

    cd training && python3 -m tools.compare_eval A B --split-by REF_DRAWN_POOL.jsonl

Per set: the mean CLIP score difference (B - A) with a paired bootstrap 95%
interval; for top-1 and top-5, the prompts that only B hits and only A hits,
with an exact two-sided sign test on them (McNemar's test). A difference is
called only where the interval excludes 0 or p < 0.05.
"""
import argparse
import json
import math
import os

import numpy as np

BOOTSTRAP = 10000


def load(path):
    """{set name: [rows in prompt order]} from an evaluation directory or its per-prompt.jsonl"""
    if os.path.isdir(path):
        path = os.path.join(path, "per-prompt.jsonl")
    sets = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            sets.setdefault(r["set"], []).append(r)
    return {k: sorted(v, key=lambda r: r["i"]) for k, v in sets.items()}


def one_set(path):
    """The rows of a per-prompt file that holds one set (paired_eval's, a reference's);
    a file of several sets (evaluate.py's) is refused, since which to read is not said"""
    sets = load(path)
    if len(sets) != 1:
        raise SystemExit(f"{path}: want the rows of one set, found {len(sets)}: {', '.join(sorted(sets))}")
    (rows,) = sets.values()
    return rows


def ranks_in_order(path, prompts):
    """The ranks of a one-set per-prompt file whose rows hold exactly prompts, in order;
    None when they do not (a file from another split or data set)."""
    rows = one_set(path)
    return [r["rank"] for r in rows] if [r["prompt"] for r in rows] == prompts else None


def sign_test(wins, losses):
    """Two-sided exact binomial p of wins against losses at 1/2 (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def sign_verdict(wins, losses, p, alpha=0.05):
    """"better" / "worse" where the sign test's p is below alpha, else "no difference"."""
    return "no difference" if p >= alpha else "better" if wins > losses else "worse"


def bootstrap_ci(diffs, reps=BOOTSTRAP, seed=0):
    """95% percentile interval of the mean of diffs, resampling prompts"""
    d = np.asarray(diffs, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, len(d), (reps, len(d)))
    lo, hi = np.percentile(d[idx].mean(1), [2.5, 97.5])
    return float(lo), float(hi)


def compare_set(a, b):
    """One set's comparison; the two lists must hold the same prompts in the same order."""
    if [r["prompt"] for r in a] != [r["prompt"] for r in b]:
        raise ValueError("the two evaluations did not use the same prompts")
    diffs = [y["clip_score"] - x["clip_score"] for x, y in zip(a, b)]
    lo, hi = bootstrap_ci(diffs)
    out = {"n": len(a), "clip_score_diff": sum(diffs) / len(diffs), "ci95": [lo, hi],
           "clip_score": "better" if lo > 0 else "worse" if hi < 0 else "no difference"}
    for k in (1, 5):
        wins = sum(y["rank"] < k <= x["rank"] for x, y in zip(a, b))
        losses = sum(x["rank"] < k <= y["rank"] for x, y in zip(a, b))
        p = sign_test(wins, losses)
        out[f"top{k}"] = {"only_b": wins, "only_a": losses, "p": p,
                          "verdict": sign_verdict(wins, losses, p)}
    return out


def prompt_sources(meta, held_out=True):
    """{English name: "emoji", "openclipart", "emoji+openclipart", ...}: the sources of
    the held-out images whose first English caption it is (the ship test's prompts), or
    with held_out False of the training images (the seen test's, --split train)"""
    by_name = {}
    for m in meta:
        if m["held_out"] == held_out:
            by_name.setdefault(m["captions"]["en"][0], set()).add(m["source"])
    return {name: "+".join(sorted(s)) for name, s in by_name.items()}


def split_by(ref_rows):
    """English name -> whether the reference drew it first, as a group label"""
    return {r["prompt"]: "drawn first by the reference" if r["rank"] == 0 else "below first by the reference"
            for r in ref_rows}


def by_label(a, b, labels):
    """{label: (a rows, b rows)} of one set's prompts, in label order; a prompt that
    labels lacks (for sources: no held-out image names it) goes to "other"."""
    groups = {}
    for x, y in zip(a, b):
        ga, gb = groups.setdefault(labels.get(x["prompt"], "other"), ([], []))
        ga.append(x)
        gb.append(y)
    return dict(sorted(groups.items()))


def row(name, c):
    t1, t5 = c["top1"], c["top5"]
    return (f"| {name} | {c['clip_score_diff']:+.2f} ({c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}): "
            f"{c['clip_score']} | {t1['only_b']} / {t1['only_a']} ({t1['p']:.3f}): {t1['verdict']} "
            f"| {t5['only_b']} / {t5['only_a']} ({t5['p']:.3f}): {t5['verdict']} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="evaluation directory (or per-prompt.jsonl) of the reference model")
    ap.add_argument("b", help="the same for the candidate")
    labels = ap.add_mutually_exclusive_group()
    labels.add_argument("--by-source", metavar="META_JSON",
                        help="also compare within each group of prompts by source (the data set's meta.json)")
    labels.add_argument("--split-by", metavar="REF_JSONL",
                        help="also compare within the names a reference's rows drew first and the rest")
    ap.add_argument("--seen", action="store_true",
                    help="with --by-source: the prompts are the seen test's, named by training images")
    args = ap.parse_args()
    if args.seen and not args.by_source:
        ap.error("--seen goes with --by-source")
    A, B = load(args.a), load(args.b)
    groups = None
    if args.by_source:
        with open(args.by_source) as f:
            groups = prompt_sources(json.load(f), held_out=not args.seen)
    if args.split_by:
        groups = split_by(one_set(args.split_by))
    print("| set | CLIP score B - A (95% CI) | top-1 only B / only A (p) | top-5 only B / only A (p) |")
    print("| --- | --- | --- | --- |")
    for name in [k for k in A if k in B]:
        print(row(name, compare_set(A[name], B[name])))
        if groups is not None:
            for g, (ga, gb) in by_label(A[name], B[name], groups).items():
                print(row(f"{name}, {g} ({len(ga)} prompt{'s' * (len(ga) != 1)})", compare_set(ga, gb)))


if __name__ == "__main__":
    main()
