"""Does the text encoder know the everyday names the model fails to draw? Each of the
668 everyday prompts' own training image is ranked among the drawn-pool test's images
(every prompt's own image and every training image of another name, paired_eval
--drawn-pool) by a CLIP's text tower, from the prompt's text alone. Beside a model's
filed drawn-pool rows (the generated image's rank among the same images) this splits
the names the model misses into those its text tower already confuses and those it
names well but the denoiser does not draw.

    cd training && python3 -m tools.everyday_encoder --clip judges/clip-image.pt \\
        --clip judges/measuring-clip.pt \\
        --rows ../docs/eval/phase55/everyday/per-prompt-p55a-measuring-clip-drawn-pool.jsonl

clip-image.pt's text tower is the shipped model's own text encoder (load_clip fills it
from data/models/dir7-default.safetensors), so its ranks say what the denoiser can learn
from the prompt; the measuring judge's say how separable the names are to an independent
CLIP. Written in stop 63 to choose what phase 61 trains.
"""
import argparse
import json
import os
import sys

import torch
from scipy.stats import fisher_exact

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import load_clip                                # noqa: E402
from dir7.dataset import english_names, load                   # noqa: E402
from dir7.text_encoder import batch_tokens                     # noqa: E402
from tools.compare_eval import ranks_in_order                  # noqa: E402
from tools.paired_eval import encode_rows, everyday_concepts, pool_rows  # noqa: E402


def text_ranks(clip, prompts, image_feats, dev, chunk=256):
    """For each prompt k, how many images score above its own image (column k) by its text."""
    out = []
    for i in range(0, len(prompts), chunk):
        ids, mask = batch_tokens(prompts[i:i + chunk], clip.cfg.text.max_len, dev)
        s = clip.encode_text(ids, mask) @ image_feats.t()              # [prompt, image]
        own = s[torch.arange(s.shape[0]), torch.arange(i, i + s.shape[0])]
        out.append((s > own[:, None]).sum(1).cpu())
    return torch.cat(out)


def cross_table(encoder_hit, drawn_hit):
    """counts[(encoder top-1, drawn first)] over the prompts"""
    t = {(e, d): 0 for e in (True, False) for d in (True, False)}
    for e, d in zip(encoder_hit, drawn_hit):
        t[(e, d)] += 1
    return t


def report(name, ranks, drawn):
    hit = [int(r) == 0 for r in ranks]
    lines = [f"## {name}: the prompt's own image ranked by its text among {len(ranks)} prompts' images "
             f"and the pool",
             f"text top-1 {sum(hit) / len(hit):.1%}, top-5 {sum(int(r) < 5 for r in ranks) / len(ranks):.1%}, "
             f"median rank {int(torch.median(ranks))}"]
    if drawn is not None:
        d = [drawn[k] == 0 for k in range(len(ranks))]
        t = cross_table(hit, d)
        a, b, c, e = t[(True, True)], t[(True, False)], t[(False, True)], t[(False, False)]
        lines += ["| text top-1 | drawn first | drawn below first | drawn first, share |",
                  "| --- | --- | --- | --- |",
                  f"| yes ({a + b}) | {a} | {b} | {a / max(1, a + b):.1%} |",
                  f"| no ({c + e}) | {c} | {e} | {c / max(1, c + e):.1%} |",
                  f"Fisher's exact test, two-sided: p {fisher_exact([[a, b], [c, e]])[1]:.3g}; "
                  f"of the {b + e} names drawn below first, {e} ({e / max(1, b + e):.1%}) are names "
                  f"the text tower does not rank first"]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", action="append", required=True, help="a CLIP checkpoint; may repeat")
    ap.add_argument("--rows", default=None, help="a model's filed everyday drawn-pool rows (jsonl)")
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--out", default=None, help="also write each prompt's ranks here (jsonl)")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    images, meta = load(args.data)
    concepts = everyday_concepts(meta)
    prompts = english_names(meta, concepts)
    drawn = ranks_in_order(args.rows, prompts) if args.rows else None
    if args.rows and drawn is None:
        sys.exit(f"everyday_encoder: {args.rows} holds other prompts than the {len(prompts)} everyday names")
    candidates = list(concepts) + pool_rows(meta, prompts)      # the prompts' own images first
    per = {}
    for path in args.clip:
        clip, _ = load_clip(path, dev)
        feats = encode_rows(clip, images, candidates, dev)
        per[path] = text_ranks(clip, prompts, feats, dev)
        print(report(path, per[path], drawn), flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for k, p in enumerate(prompts):
                row = {"prompt": p} | {os.path.basename(c): int(per[c][k]) for c in args.clip}
                if drawn is not None:
                    row["drawn_rank"] = drawn[k]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
