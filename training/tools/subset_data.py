"""A data set of a few named training images, for a fitting check: can the network
draw these objects from their names when it trains on them alone? (Phase 34 fitted
the eight everyday-grid emoji this way: docs/training-log.md, phase 34.)

    cd training && python3 -m tools.subset_data --names "banana,red apple,fox" --out /tmp/few
    python3 train.py denoiser --data /tmp/few --probe 3 ...   # all of them: probe_indices
    python3 -m tools.probe_fit --data /tmp/few --images 3 ...

Each name is an image's first English caption; the first training image of --source
with that name is taken. The images keep their order in the names, their captions in
every language and their flip flag; all are marked as training images.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.dataset import load     # noqa: E402


def pick_named(meta, names, source="emoji"):
    """Indices of the first training image of source named each of names, in order."""
    first = {}
    for i, m in enumerate(meta):
        en = m["captions"].get("en")
        if m["source"] == source and not m["held_out"] and en and en[0] not in first:
            first[en[0]] = i
    missing = [n for n in names if n not in first]
    if missing:
        raise SystemExit(f"subset_data: no {source} training image named {', '.join(missing)}")
    return [first[n] for n in names]


def write_subset(data, names, out, source="emoji"):
    images, meta = load(data)
    idx = pick_named(meta, names, source)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "images.npy"), images[idx])
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump([meta[i] for i in idx], f, ensure_ascii=False)
    return idx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--names", required=True, help="comma-separated English names")
    ap.add_argument("--source", default="emoji")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    idx = write_subset(args.data, names, args.out, args.source)
    print(f"subset_data: {len(idx)} images (rows {idx}) -> {args.out}")


if __name__ == "__main__":
    main()
