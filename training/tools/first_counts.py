"""How steady each name's "drawn first" is over several models tested on the same prompts
and noise (paired_eval's per-prompt rows, e.g. every everyday drawn-pool test against one
reference): for each name, how many of the files draw it first; the names none of them
does; and, in the order given, how many names each file draws first that no file before
it did. A name every file draws first, or none, is settled; the rest is where the sign
test's discordant pairs come from (training log, "The focus on the names p55a misses").

    cd training && python3 -m tools.first_counts \\
        p55a=../docs/eval/phase55/everyday/per-prompt-p55a-measuring-clip-drawn-pool.jsonl \\
        p56=../docs/eval/phase56/everyday/per-prompt-p56-measuring-clip-drawn-pool.jsonl ...
"""
import argparse
import collections
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.compare_eval import one_set, ranks_in_order         # noqa: E402


def parse_named(args, tool):
    """[(name, path)] from NAME=ROWS arguments; tool names the caller in the error"""
    pairs = []
    for a in args:
        name, sep, path = a.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"{tool}: want NAME=ROWS, got {a}")
        pairs.append((name, path))
    return pairs


def read_ranks(named_paths):
    """(prompts, {name: ranks in the prompts' order}); every file must hold the same
    prompts in the same order, or the counts would pair different names"""
    prompts = [r["prompt"] for r in one_set(named_paths[0][1])]
    ranks = {}
    for name, path in named_paths:
        if name in ranks:
            raise SystemExit(f"first_counts: {name} is named twice")
        ranks[name] = ranks_in_order(path, prompts)
        if ranks[name] is None:
            raise SystemExit(f"first_counts: {path} holds other prompts than the first file")
    return prompts, ranks


def firsts_per_name(ranks):
    """for each prompt, how many of the files draw it first (rank 0)"""
    return [sum(r[i] == 0 for r in ranks.values()) for i in range(len(next(iter(ranks.values()))))]


def new_firsts(ranks):
    """{name: the prompts (indices) it draws first that no file before it in ranks' order did}"""
    seen, out = set(), {}
    for name, r in ranks.items():
        firsts = {i for i, x in enumerate(r) if x == 0}
        out[name] = sorted(firsts - seen)
        seen |= firsts
    return out


def report(prompts, ranks):
    n, k = len(prompts), len(ranks)
    counts = firsts_per_name(ranks)
    lines = [f"{n} names, {k} files"]
    for name, r in ranks.items():
        firsts = sum(x == 0 for x in r)
        lines.append(f"  {name}: {firsts} first ({100 * firsts / n:.1f}%)")
    lines.append("drawn first by how many of the files:")
    hist = collections.Counter(counts)
    for c in range(k + 1):
        lines.append(f"  {c} of {k}: {hist.get(c, 0)} names")
    never = [i for i, c in enumerate(counts) if c == 0]
    if never:
        best = [min(r[i] for r in ranks.values()) + 1 for i in never]
        lines.append(f"never first: {len(never)} names; their best rank over the files, median "
                     f"{statistics.median(best)} (1 = first); best rank 2 to 5 for "
                     f"{sum(2 <= b <= 5 for b in best)}")
    lines.append("drawn first here and by no file before it (in the order given):")
    for name, idx in new_firsts(ranks).items():
        lines.append(f"  {name}: {len(idx)}")
    if never:
        lines.append("the names never first: " + ", ".join(prompts[i] for i in never))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", metavar="NAME=ROWS",
                    help="a name and a per-prompt .jsonl of one set, in the order to read them")
    args = ap.parse_args()
    pairs = parse_named(args.files, "first_counts")
    if len(pairs) < 2:
        raise SystemExit("first_counts: want two files or more")
    prompts, ranks = read_ranks(pairs)
    print(report(prompts, ranks))


if __name__ == "__main__":
    main()
