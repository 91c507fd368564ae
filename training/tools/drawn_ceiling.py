"""How high the everyday drawn-pool top-1 can go: the ship test's drawn-pool measure
(paired_eval --split everyday --drawn-pool) with each prompt's draws replaced by its own
training image, placed as training places it (a stand-in for a denoiser that draws
its training images exactly). Each draw is the image flipped and shrunk and moved as
train.py's augmentation does (dir7.dataset.augment_geometry, seeded), and ranked, like a
drawing, among every prompt's own image and the pool. Unplaced copies must rank first
for every name but those whose image another name's training image duplicates; placed
copies show what the measure asks of a drawing that is right but not where the own
image is. --detail N also takes the placed copies' detail away (down to N x N and back,
antialiased): a drawing with the right shape and colours but less detail. Beside a
model's filed rows it counts the names the model draws first among those its placed
copies rank first.

    cd training && python3 -m tools.drawn_ceiling --clip judges/measuring-clip.pt \\
        --rows ../docs/eval/phase55/everyday/per-prompt-p55a-measuring-clip-drawn-pool.jsonl
"""
import argparse
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import encode_images, load_clip                 # noqa: E402
from dir7.dataset import augment_geometry, english_names, load  # noqa: E402
from tools.compare_eval import ranks_in_order                  # noqa: E402
from tools.paired_eval import encode_rows, everyday_concepts, pool_rows, rows  # noqa: E402


def placed_copies(images, meta, concepts, d, seed, detail=None):
    """draw d: each concept's own image placed by the training augmentation, as model
    input [N, 4, 64, 64] in [-1, 1]; the placement depends on the seed, the draw and the
    concept's index only; detail: resized to detail x detail and back"""
    out = []
    for k, c in enumerate(concepts):
        rng = random.Random(f"{seed}/{d}/{k}")
        x = torch.from_numpy(images[c].astype("float32") / 255.0).permute(2, 0, 1)
        out.append(augment_geometry(x, meta[c], rng))
    x = torch.stack(out)
    if detail:
        size = x.shape[-1]
        x = F.interpolate(F.interpolate(x, size=(detail, detail), mode="bilinear", antialias=True,
                                        align_corners=False),
                          size=(size, size), mode="bilinear", align_corners=False)
    return x * 2 - 1


def ranks_of(draw_embs, target):
    """the drawn-pool rank of each prompt: draw_embs is a list of [N, D] embeddings (one
    per draw, row k prompt k's), target [N + pool, D] with prompt k's own image in row k"""
    sims = sum(e @ target.t() for e in draw_embs).double()
    return [r["rank"] for r in rows([str(k) for k in range(len(draw_embs[0]))], sims, len(draw_embs))]


def top(ranks, k=1):
    return sum(r < k for r in ranks) / len(ranks)


def report(prompts, exact, placed, model=None, model_name=None, draws=4, detail=None):
    how = "the training flip and placement" + (f", detail {detail} x {detail}" if detail else "")
    lines = [f"{len(prompts)} everyday names, measuring the drawn-pool rank of each name's own image",
             f"unplaced copies (the own image itself): top-1 {top(exact):.1%}, top-5 {top(exact, 5):.1%}",
             f"placed copies ({draws} draws, {how}): top-1 {top(placed):.1%}, top-5 {top(placed, 5):.1%}"]
    miss_exact = [p for p, r in zip(prompts, exact) if r > 0]
    if miss_exact:
        lines.append("unplaced copies below first: " + ", ".join(miss_exact))
    if model is not None:
        first = [r == 0 for r in placed]
        got = [r == 0 for r in model]
        both = sum(f and g for f, g in zip(first, got))
        lines.append(f"{model_name}: top-1 {top(model):.1%}; of the {sum(first)} names whose placed copies "
                     f"rank first it draws {both} first ({both / max(1, sum(first)):.1%}); of the other "
                     f"{len(first) - sum(first)}, {sum(g for f, g in zip(first, got) if not f)}")
    lines.append("placed copies below first: " + ", ".join(p for p, r in zip(prompts, placed) if r > 0))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--clip", default="judges/measuring-clip.pt", help="the judge")
    ap.add_argument("--draws", type=int, default=4, help="placed copies per name (the ship test's draws)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detail", type=int, help="placed copies resized to this size and back (less detail)")
    ap.add_argument("--rows", help="a model's per-prompt rows of the same test, to count beside")
    ap.add_argument("--ranks-out", help="write each name's ranks (unplaced, placed) as .jsonl")
    args = ap.parse_args()
    images, meta = load(args.data)
    concepts = everyday_concepts(meta)
    prompts = english_names(meta, concepts)
    model = ranks_in_order(args.rows, prompts) if args.rows else None
    if args.rows and model is None:
        raise SystemExit(f"drawn_ceiling: {args.rows} holds other prompts than the everyday test")
    clip, _ = load_clip(args.clip)
    with torch.no_grad():
        own = encode_rows(clip, images, concepts, "cpu")
        target = torch.cat([own, encode_rows(clip, images, pool_rows(meta, prompts), "cpu")])
        exact = ranks_of([own], target)
        placed = ranks_of([encode_images(clip, placed_copies(images, meta, concepts, d, args.seed, args.detail),
                                         "cpu") for d in range(args.draws)], target)
    if args.ranks_out:
        with open(args.ranks_out, "w", encoding="utf-8") as f:
            for p, e, q in zip(prompts, exact, placed):
                f.write(json.dumps({"prompt": p, "unplaced": e, "placed": q}, ensure_ascii=False) + "\n")
    name = os.path.basename(args.rows).removeprefix("per-prompt-").removesuffix(".jsonl") if args.rows else None
    print(f"# python3 -m tools.drawn_ceiling --clip {args.clip} --draws {args.draws} --seed {args.seed}"
          + (f" --detail {args.detail}" if args.detail else "") + (f" --rows {args.rows}" if args.rows else ""))
    print(report(prompts, exact, placed, model, name, args.draws, args.detail))


if __name__ == "__main__":
    main()
