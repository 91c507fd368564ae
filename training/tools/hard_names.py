"""The everyday emoji a model does not yet draw: a focus list for train.py --focus made
from a paired_eval --split everyday --drawn-pool test's per-prompt rows. A name whose
drawing ranks below first (rank >= --min-rank) goes in, with every listed training emoji
of that English name, in the committed list's format and order.

    cd training && python3 -m tools.hard_names \\
        --rows ../docs/eval/phase42/everyday/per-prompt-p42-measuring-clip-drawn-pool.jsonl \\
        --out data/everyday-hard-p42.txt

Phase 42 gave all 668 everyday names half the draws; this gives that half to the ones
still drawn wrong (training log, phase 45).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data.everyday import default_list, read_entries           # noqa: E402
from tools.compare_eval import one_set                         # noqa: E402


def hard_names(rows, min_rank=1):
    """The English names whose rank is at least min_rank, in the rows' order."""
    return [r["prompt"] for r in rows if r["rank"] >= min_rank]


def listed_ids_of(meta, entries, names):
    """The listed emoji ids (in the list's order) of the training emoji whose first
    English caption is one of names."""
    wanted = set(names)
    ids = {m["id"] for m in meta if m["source"] == "emoji" and not m["held_out"]
           and m["id"] in entries and m["captions"]["en"][0] in wanted}
    return [c for c in entries if c in ids]


def write(out, entries, ids, made_from):
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# everyday emoji still drawn wrong ({made_from}): char<TAB>group<TAB>subgroup\n")
        for c in ids:
            group, sub = entries[c]
            f.write(f"{c}\t{group}\t{sub}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", required=True, help="per-prompt .jsonl of an everyday --drawn-pool test")
    ap.add_argument("--data", default="cache/dataset", help="the data set (its meta.json)")
    ap.add_argument("--list", default=default_list(), help="the everyday list the test drew from")
    ap.add_argument("--min-rank", type=int, default=1, help="a name goes in from this rank (0 = first)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(args.data, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    entries = read_entries(args.list)
    rows = one_set(args.rows)
    names = hard_names(rows, args.min_rank)
    ids = listed_ids_of(meta, entries, names)
    if not ids:
        raise SystemExit("hard_names: no listed training emoji has any of those names")
    made_from = f"tools/hard_names.py, rank >= {args.min_rank} in {os.path.basename(args.rows)}"
    write(args.out, entries, ids, made_from)
    print(f"hard_names: {len(names)} of {len(rows)} names, {len(ids)} emoji -> {args.out}")


if __name__ == "__main__":
    main()
