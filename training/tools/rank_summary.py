"""Each model's own figures from per-prompt files (paired_eval's, evaluate.py's): the
share of prompts whose own image or name ranks first, in the first 5 and the first 20,
and the median rank (1 = first); --by-group: top-1 by the everyday emoji group of each
prompt's name (data/everyday-emoji.txt; training log, phase 42); --split-by REF: top-1
over the names that REF's rows drew first and over the rest (phase 45 trains on the rest,
tools/hard_names.py). compare_eval pairs two files; this gives the absolute figures beside it.

    cd training && python3 -m tools.rank_summary ../docs/eval/phase42/everyday/per-prompt-*-measuring-clip-drawn-pool.jsonl
"""
import argparse
import collections
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data.everyday import default_list, is_listed, read_entries  # noqa: E402
from tools.compare_eval import load, one_set, split_by   # noqa: E402


def summary(rows):
    """top-1 / top-5 / top-20 in % and the median rank counted from 1 (rank 0 is first)"""
    ranks = [r["rank"] for r in rows]
    return {f"top{k}": 100 * sum(x < k for x in ranks) / len(ranks) for k in (1, 5, 20)} | \
        {"median_rank": statistics.median(ranks) + 1, "n": len(ranks)}


def everyday_groups(meta, path=None):
    """English name -> the everyday group of its emoji, for the listed training emoji"""
    entries = read_entries(path or default_list())
    group = {c: "clothing" if sub == "clothing" else g for c, (g, sub) in entries.items()}
    return {m["captions"]["en"][0]: group[m["id"]] for m in meta if is_listed(m, group)}


def top1_by_group(rows, groups):
    """{group: (names, top-1 %)} over the rows whose prompt has a group"""
    count, first = collections.Counter(), collections.Counter()
    for r in rows:
        g = groups.get(r["prompt"])
        if g:
            count[g] += 1
            first[g] += r["rank"] == 0
    return {g: (n, 100 * first[g] / n) for g, n in count.most_common()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", help="per-prompt .jsonl files")
    labels = ap.add_mutually_exclusive_group()
    labels.add_argument("--by-group", metavar="META_JSON", default=None,
                        help="the data set's meta.json: also top-1 by everyday group")
    labels.add_argument("--split-by", metavar="REF_JSONL", default=None,
                        help="per-prompt rows of a reference: also top-1 over the names it drew first and the rest")
    args = ap.parse_args()
    groups = None
    if args.by_group:
        with open(args.by_group, encoding="utf-8") as f:
            groups = everyday_groups(json.load(f))
    if args.split_by:
        groups = split_by(one_set(args.split_by))
    for path in args.files:
        sets = load(path)   # {set: rows}: evaluate.py writes several sets to one file
        for name, rows in sets.items():
            s = summary(rows)
            label = os.path.basename(path) + (f" [{name}]" if len(sets) > 1 else "")
            print(f"{label}: top-1 {s['top1']:.1f}% / top-5 {s['top5']:.1f}% / "
                  f"top-20 {s['top20']:.1f}%, median rank {s['median_rank']:g} (n={s['n']})")
            if groups:
                for g, (n, t) in top1_by_group(rows, groups).items():
                    print(f"    {g}: {n} names, top-1 {t:.0f}%")


if __name__ == "__main__":
    main()
