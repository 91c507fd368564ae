"""Does a ship test's per-prompt gain follow the text encoder's? For each held-out
prompt of the ship test: how well each of two CLIPs' text towers names its concept's
image among the 379 (tools/clip_retrieval.ranks), against B - A's per-prompt CLIP
score from the committed rows (tools/paired_eval's per-prompt files).

    cd training && python3 -m tools.encoder_gain \\
        --old-clip clip-image-p24.pt --old-text p24.safetensors --new-clip clip-p29.pt \\
        --a ../docs/eval/phase31/paired/per-prompt-p24-measuring-clip.jsonl \\
        --b ../docs/eval/phase31/paired/per-prompt-p31-measuring-clip.jsonl

The encoder's gain on a prompt is log(1 + old rank) - log(1 + new rank). Printed:
each CLIP's top-1 / top-5, the Spearman correlation of that gain with B - A, and
B - A where the new encoder names the image better, the same and worse (paired
bootstrap intervals), with a permutation test of "not worse" against "worse".
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import SHIPPED_MODEL, load_clip               # noqa: E402
from dir7.dataset import as_model_input, english_names, load  # noqa: E402
from tools.clip_retrieval import ranks                       # noqa: E402
from tools.compare_eval import bootstrap_ci, load as load_rows  # noqa: E402
from tools.paired_eval import held_out_concepts              # noqa: E402


def by_encoder_gain(old_rank, new_rank, diff, reps=20000, seed=0):
    """B - A grouped by whether the new encoder ranks the prompt's image better, the
    same or worse; and the permutation p of mean(not worse) - mean(worse)"""
    old_rank, new_rank, diff = (np.asarray(v, dtype=np.float64) for v in (old_rank, new_rank, diff))
    gain = np.log1p(old_rank) - np.log1p(new_rank)
    groups = {}
    for name, m in (("better", gain > 0), ("same", gain == 0), ("worse", gain < 0)):
        ci = bootstrap_ci(diff[m]) if m.sum() > 1 else (float("nan"), float("nan"))
        groups[name] = {"n": int(m.sum()), "b_minus_a": float(diff[m].mean()) if m.any() else float("nan"),
                        "ci95": list(ci)}
    def not_worse_minus_worse(worse):
        return diff[~worse].mean() - diff[worse].mean()
    observed = not_worse_minus_worse(gain < 0)
    rng = np.random.default_rng(seed)
    perm = np.array([not_worse_minus_worse(rng.permutation(gain < 0)) for _ in range(reps)])
    rho, p_rho = spearmanr(gain, diff)
    return {"spearman": float(rho), "spearman_p": float(p_rho), "groups": groups,
            "not_worse_minus_worse": float(observed), "permutation_p": float(np.mean(np.abs(perm) >= abs(observed)))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-clip", required=True)
    ap.add_argument("--old-text", default=SHIPPED_MODEL, help="model file whose text tower --old-clip lacks")
    ap.add_argument("--new-clip", required=True)
    ap.add_argument("--new-text", default=SHIPPED_MODEL)
    ap.add_argument("--a", required=True, help="per-prompt rows of the ship test's A")
    ap.add_argument("--b", required=True)
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    images, meta = load(args.data)
    rows = held_out_concepts(meta)
    names, x = english_names(meta, rows), as_model_input(images[rows])
    (a,), (b,) = load_rows(args.a).values(), load_rows(args.b).values()
    if [r["prompt"] for r in a] != names or [r["prompt"] for r in b] != names:
        sys.exit("encoder_gain: the rows are not the ship test's held-out prompts in order")
    rank = {}
    for side, path, text in (("old", args.old_clip, args.old_text), ("new", args.new_clip, args.new_text)):
        clip, _ = load_clip(path, text_from=text)
        with torch.no_grad():
            rank[side] = ranks(clip, clip.cfg.text.max_len, x, names, "cpu").numpy()
        print(f"{side} encoder ({path}): top-1 {(rank[side] < 1).mean():.3f}, top-5 {(rank[side] < 5).mean():.3f}")
    result = by_encoder_gain(rank["old"], rank["new"], [y["clip_score"] - x_["clip_score"] for x_, y in zip(a, b)])
    print(f"Spearman(encoder gain, B - A) {result['spearman']:+.3f} (p {result['spearman_p']:.3f})")
    for name, g in result["groups"].items():
        print(f"new encoder names it {name}: {g['n']} prompts, B - A {g['b_minus_a']:+.2f} "
              f"({g['ci95'][0]:+.2f}, {g['ci95'][1]:+.2f})")
    print(f"not worse - worse {result['not_worse_minus_worse']:+.2f}, permutation p {result['permutation_p']:.3f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"names": names, "rank_old": rank["old"].tolist(), "rank_new": rank["new"].tolist(),
                       **result}, f, indent=1)


if __name__ == "__main__":
    main()
