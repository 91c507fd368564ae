"""Are the names a model fails to draw the ones whose own image looks like another? For
each prompt of a paired_eval --drawn-pool test, the judge's cosine similarity between the
prompt's own image and its nearest neighbour among the images that measure ranks against
(the other prompts' own images and the pool), and the drawn top-1 by quartile of it.

    cd training && python3 -m tools.pool_neighbours --split everyday \\
        --drawn ../docs/eval/phase42/everyday/per-prompt-p42-measuring-clip-drawn-pool.jsonl

If the failures gathered where the nearest neighbour is close, the measure, not the
model, would hold those names back, and a focus list should leave them out (phase 45).
"""
import argparse
import os
import sys

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import load_clip                                 # noqa: E402
from dir7.dataset import english_names, load                    # noqa: E402
from tools.compare_eval import ranks_in_order                   # noqa: E402
from tools.paired_eval import encode_rows, pool_rows, split_concepts  # noqa: E402


def nearest_similarity(own, pool):
    """For own image k (unit rows), the largest cosine similarity to any other own image
    or any pool image."""
    s = own @ torch.cat([own, pool]).t()
    s[torch.arange(len(own)), torch.arange(len(own))] = -float("inf")
    return s.max(1).values.numpy()


def by_quartile(similarity, drawn_rank):
    """Drawn top-1 in each quartile of the similarity, and the Spearman correlation."""
    sim, d = np.asarray(similarity), np.asarray(drawn_rank)
    edges = np.quantile(sim, [0, 0.25, 0.5, 0.75, 1])
    q = np.clip(np.searchsorted(edges[1:-1], sim, side="right"), 0, 3)
    rho, p = spearmanr(sim, d)
    return {"quartiles": [{"from": float(edges[k]), "to": float(edges[k + 1]), "n": int((q == k).sum()),
                           "drawn_top1": float(np.mean(d[q == k] == 0))} for k in range(4)],
            "spearman": float(rho), "spearman_p": float(p)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default="judges/measuring-clip.pt", help="the judge of the drawn measure")
    ap.add_argument("--split", default="everyday", choices=("held_out", "train", "everyday"))
    ap.add_argument("--drawn", nargs="+", required=True, help="per-prompt J-drawn-pool rows of that split")
    ap.add_argument("--data", default="cache/dataset")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    images, meta = load(args.data)
    concepts = split_concepts(meta, args.split)
    prompts = english_names(meta, concepts)
    clip, _ = load_clip(args.clip)
    own = encode_rows(clip, images, list(concepts), "cpu")
    sim = nearest_similarity(own, encode_rows(clip, images, pool_rows(meta, prompts), "cpu"))
    closest = np.argsort(-sim)[:8]
    print(f"{args.split}: {len(prompts)} prompts; nearest neighbour's similarity median {np.median(sim):.3f}; "
          "closest: " + ", ".join(f"{prompts[i]} {sim[i]:.3f}" for i in closest))
    for path in args.drawn:
        ranks = ranks_in_order(path, prompts)
        if ranks is None:
            sys.exit(f"pool_neighbours: {path} does not hold the {args.split} prompts in order")
        r = by_quartile(sim, ranks)
        print(f"{os.path.basename(path)}: Spearman(similarity, drawn rank) {r['spearman']:+.3f} "
              f"(p {r['spearman_p']:.2f})")
        for b in r["quartiles"]:
            print(f"    similarity {b['from']:.3f}-{b['to']:.3f}: {b['n']} prompts, drawn top-1 {b['drawn_top1']:.0%}")


if __name__ == "__main__":
    main()
