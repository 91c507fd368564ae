"""Does the denoiser draw what its text encoder can name? For each prompt of a
paired_eval --drawn-pool test, the rank of the prompt's own image under the prompt's
text, by a CLIP whose text tower is the model's encoder (judges/clip-image.pt), among
the same images the drawn-pool measure ranks against: the prompts' own images and
every training image of another name. Beside it, the drawn-pool rank from the test's
per-prompt rows: how often the drawing comes first, by how well the encoder names it.

    cd training && python3 -m tools.encoder_named --split everyday \\
        --drawn ../docs/eval/phase42/everyday/per-prompt-p42-measuring-clip-drawn-pool.jsonl

If drawings fail where the encoder names the image first, the denoiser, not the
encoder, is what holds those prompts back (training log, phase 43).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import SHIPPED_MODEL, load_clip                # noqa: E402
from dir7.dataset import english_names, load                  # noqa: E402
from dir7.text_encoder import batch_tokens                    # noqa: E402
from tools.compare_eval import ranks_in_order                  # noqa: E402
from tools.paired_eval import encode_rows, pool_rows, split_concepts  # noqa: E402

BINS = ((0, 1), (1, 5), (5, 20), (20, None))


def text_ranks(clip, prompts, image_features, dev, chunk=256):
    """For prompt k, how many images score above image k (its own; the rest of
    image_features are the other prompts' images and the pool) under its text."""
    out = []
    for i in range(0, len(prompts), chunk):
        ids, mask = batch_tokens(prompts[i:i + chunk], clip.cfg.text.max_len, dev)
        s = clip.encode_text(ids, mask) @ image_features.t()
        own = s[torch.arange(len(s)), torch.arange(i, i + len(s))]
        out.append((s > own[:, None]).sum(1).cpu())
    return torch.cat(out).numpy()


def by_encoder_rank(encoder_rank, drawn_rank):
    """Drawn top-1 / top-5 among the prompts in each bin of the encoder's rank, and the
    Spearman correlation of the two ranks."""
    e, d = np.asarray(encoder_rank), np.asarray(drawn_rank)
    bins = []
    for lo, hi in BINS:
        m = (e >= lo) & (e < hi if hi is not None else True)
        bins.append({"encoder_rank": f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}" if hi else f"{lo}+",
                     "n": int(m.sum()),
                     "drawn_top1": float(np.mean(d[m] == 0)) if m.any() else None,
                     "drawn_top5": float(np.mean(d[m] < 5)) if m.any() else None})
    rho, p = spearmanr(e, d) if len(e) > 2 else (float("nan"), float("nan"))
    return {"bins": bins, "spearman": float(rho), "spearman_p": float(p),
            "encoder_top1": float(np.mean(e == 0)), "drawn_top1": float(np.mean(d == 0))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default="judges/clip-image.pt",
                    help="a CLIP whose text tower is the model's encoder (an image tower alone takes --text's)")
    ap.add_argument("--text", default=SHIPPED_MODEL, help="the model file whose text encoder --clip lacks")
    ap.add_argument("--split", default="everyday", choices=("held_out", "train", "everyday"))
    ap.add_argument("--drawn", nargs="+", required=True, help="per-prompt J-drawn-pool rows of that split")
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--out", default=None, help="also write the result and each prompt's ranks as JSON here")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    images, meta = load(args.data)
    concepts = split_concepts(meta, args.split)
    prompts = english_names(meta, concepts)
    drawn = {}
    for path in args.drawn:
        drawn[path] = ranks_in_order(path, prompts)
        if drawn[path] is None:
            sys.exit(f"encoder_named: {path} does not hold the {args.split} prompts in order")
    clip, _ = load_clip(args.clip, text_from=args.text)
    features = encode_rows(clip, images, list(concepts) + pool_rows(meta, prompts), "cpu")
    enc = text_ranks(clip, prompts, features, "cpu")
    result = {"clip": args.clip, "text": args.text, "split": args.split, "prompts": len(prompts),
              "pool": len(features), "by_file": {}}
    print(f"{args.split}: {len(prompts)} prompts among {len(features)} images; encoder ({args.clip}) "
          f"names the own image first for {np.mean(enc == 0):.1%}, in the first five for {np.mean(enc < 5):.1%}")
    for path, d in drawn.items():
        r = by_encoder_rank(enc, d)
        result["by_file"][path] = r
        print(f"{os.path.basename(path)}: drawn top-1 {r['drawn_top1']:.1%}; "
              f"Spearman(encoder rank, drawn rank) {r['spearman']:+.3f} (p {r['spearman_p']:.3f})")
        for b in r["bins"]:
            if b["n"]:
                print(f"    encoder rank {b['encoder_rank']:>5}: {b['n']:4d} prompts, drawn top-1 "
                      f"{b['drawn_top1']:.0%}, top-5 {b['drawn_top5']:.0%}")
    if args.out:
        result["per_prompt"] = [{"prompt": p, "encoder_rank": int(e), **{os.path.basename(k): v[i]
                                 for k, v in drawn.items()}} for i, (p, e) in enumerate(zip(prompts, enc))]
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
