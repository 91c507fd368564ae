"""What does a model draw for the everyday names it misses? A seeded sample of the names
a drawn-pool test ranks below first (optionally only those the text encoder ranks
first, tools/everyday_encoder.py --out), one new draw each, and beside each drawing its
own training image and the nearest image among those the drawn-pool measure ranks
against, by the judge: a report and a grid (drawn | own image | nearest), to tell a
drawing of another object from a weaker drawing of the right one.

    cd training && python3 -m tools.drawn_neighbours --model ../data/models/dir7-default.safetensors \\
        --rows ../docs/eval/everyday-encoder/ranks-p55a.jsonl --text-first judges/clip-image.pt \\
        --n 24 --out ../docs/eval/everyday-encoder/neighbours-p55a

About 40 s a drawing on a 2-core CPU (20 sampler steps).
"""
import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import encode_images, load_clip                  # noqa: E402
from dir7.dataset import as_model_input, english_names, load    # noqa: E402
from dir7.export import load_model                              # noqa: E402
from evaluate import grid, sample_all                           # noqa: E402
from tools.paired_eval import encode_rows, everyday_concepts, pool_rows  # noqa: E402


def missed(rows, text_first=None):
    """Indices of the rows drawn below first (drawn_rank, or rank in paired_eval's rows);
    with text_first, a key of the rows, only those whose text rank under it is 0."""
    out = []
    for k, r in enumerate(rows):
        drawn = r["drawn_rank"] if "drawn_rank" in r else r["rank"]
        if drawn > 0 and (text_first is None or r[text_first] == 0):
            out.append(k)
    return out


def nearest(sims, own, names, sources, top=3):
    """For one drawing's similarities to the candidates: its own image's rank (how many
    candidates score above it) and the top candidates as (name, source, similarity)."""
    rank = int((sims > sims[own]).sum())
    v, j = torch.topk(sims, top)
    return rank, [(names[i], sources[i], round(float(s), 3)) for s, i in zip(v, j.tolist())]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--rows", required=True, help="the everyday drawn-pool rows, or everyday_encoder's --out")
    ap.add_argument("--text-first", default=None,
                    help="only names this CLIP's text ranks first (a column of everyday_encoder's --out)")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0, help="which names are sampled")
    ap.add_argument("--noise-seed", type=int, default=7)
    ap.add_argument("--judge", default="judges/measuring-clip.pt")
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    images, meta = load(args.data)
    concepts = everyday_concepts(meta)
    prompts = english_names(meta, concepts)
    with open(args.rows, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    if [r["prompt"] for r in rows] != prompts:
        sys.exit(f"drawn_neighbours: {args.rows} holds other prompts than the {len(prompts)} everyday names")
    col = None if args.text_first is None else os.path.basename(args.text_first)
    group = missed(rows, col)
    pick = sorted(random.Random(args.seed).sample(group, min(args.n, len(group))))
    model = load_model(args.model)
    drawn = sample_all(model, [prompts[k] for k in pick], 20, 5.0, args.noise_seed, len(pick), "cpu")
    judge, _ = load_clip(args.judge, "cpu")
    cand = list(concepts) + pool_rows(meta, prompts)       # the prompts' own images first
    sims = encode_images(judge, drawn, "cpu") @ encode_rows(judge, images, cand, "cpu").t()
    names = english_names(meta, cand)
    sources = [meta[i]["source"] for i in cand]
    os.makedirs(args.out, exist_ok=True)
    lines = [f"# python3 -m tools.drawn_neighbours --model {args.model} --rows {args.rows}"
             + (f" --text-first {args.text_first}" if args.text_first else "")
             + f" --n {args.n} --seed {args.seed} --noise-seed {args.noise_seed} (training/)",
             f"{len(pick)} of the {len(group)} names drawn below first"
             + (f" that {col}'s text ranks first" if col else "")
             + f"; one new draw each (noise seed {args.noise_seed}), judged by {args.judge}",
             "| name | own image's rank | nearest three (name, source, similarity) |",
             "| --- | --- | --- |"]
    triples, first, other_emoji = [], 0, 0
    for i, k in enumerate(pick):
        rank, top = nearest(sims[i], k, names, sources)
        first += rank == 0
        other_emoji += rank > 0 and top[0][1] == "emoji"
        lines.append(f"| {prompts[k]} | {rank} | " + "; ".join(f"{n} ({s}, {v})" for n, s, v in top) + " |")
        nn = cand[int(torch.argmax(sims[i]))]
        triples += [drawn[i:i + 1], as_model_input(images[[concepts[k]]]), as_model_input(images[[nn]])]
    lines.append(f"this draw: {first} of {len(pick)} drawn first; of the others the nearest image is "
                 f"another emoji for {other_emoji}, another source's for {len(pick) - first - other_emoji}")
    with open(os.path.join(args.out, "neighbours.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    grid(torch.cat(triples), cols=6).save(os.path.join(args.out, "neighbours.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
