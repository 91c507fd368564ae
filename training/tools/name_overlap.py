"""Are the everyday names that no file draws first ones whose words other training images
carry in their own names? The drawn-pool measure ranks a name's own image among every
training image of another name (paired_eval.pool_rows), so for "pizza" the clip art
named "pizza slice" or "pizza pepperoni" is in the pool: a drawing nearer one of those
than the emoji counts as a miss, and training teaches the word from all of them.

For each name in the rows: how many training images (not held out) have an English name
(the first caption) other than it that holds it as whole words; then, by that count, the
names and the share of the files drawing them first (tools/first_counts.py's counts).

    cd training && python3 -m tools.name_overlap --data cache/dataset \\
        p55a=../docs/eval/phase55/everyday/per-prompt-p55a-measuring-clip-drawn-pool.jsonl ...
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.first_counts import firsts_per_name, parse_named, read_ranks   # noqa: E402

BINS = ((0, 0), (1, 2), (3, 9), (10, None))


def training_names(meta):
    """the English names (first captions, lower case) of the training images, one per image"""
    return [e["captions"]["en"][0].lower() for e in meta if not e["held_out"] and e["captions"].get("en")]


def others_holding(name, names):
    """how many of names are not name but hold it as whole words"""
    pat = re.compile(r"\b" + re.escape(name.lower()) + r"\b")
    return sum(1 for n in names if n != name.lower() and pat.search(n))


def report(prompts, ranks, names):
    k = len(ranks)
    counts = firsts_per_name(ranks)
    overlap = [others_holding(p, names) for p in prompts]
    lines = [f"{len(prompts)} names, {k} files; other training images whose names hold the name"]
    lines.append("| other images | names | drawn first (share of names x files) | never first | first in all |")
    lines.append("| --- | --- | --- | --- | --- |")
    for lo, hi in BINS:
        idx = [i for i, o in enumerate(overlap) if o >= lo and (hi is None or o <= hi)]
        if not idx:
            continue
        share = sum(counts[i] for i in idx) / (k * len(idx))
        label = f"{lo}+" if hi is None else (f"{lo}" if lo == hi else f"{lo}-{hi}")
        lines.append(f"| {label} | {len(idx)} | {100 * share:.1f}% | {sum(counts[i] == 0 for i in idx)} "
                     f"| {sum(counts[i] == k for i in idx)} |")
    lines.append("never first, holding 3 or more: " + ", ".join(
        f"{prompts[i]} ({overlap[i]})" for i in sorted(range(len(prompts)), key=lambda i: -overlap[i])
        if counts[i] == 0 and overlap[i] >= 3))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="cache/dataset", help="the data set (its meta.json)")
    ap.add_argument("files", nargs="+", metavar="NAME=ROWS", help="as tools/first_counts.py")
    args = ap.parse_args()
    pairs = parse_named(args.files, "name_overlap")
    with open(os.path.join(args.data, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    prompts, ranks = read_ranks(pairs)
    print(report(prompts, ranks, training_names(meta)))


if __name__ == "__main__":
    main()
