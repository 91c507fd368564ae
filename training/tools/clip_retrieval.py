"""How well a CLIP's text tower names the data set's images: each image's
English name retrieves it among all images of the same set (top-1 / top-5 /
top-20). Since the text tower is DIR-7's frozen text encoder, this is the most
the denoiser can learn from a prompt about which object it names.

    cd training && python3 -m tools.clip_retrieval --clip runs/b/clip.pt [--clip OTHER.pt ...]

Sets: the training emoji, the training clip art (a fixed sample of --images),
and every held-out image (unseen concepts). An image whose name equals the
query's (skin-tone variants, clip art with one title) counts as a hit, so
rank = the number of images with another name that score above the own one.

Given several CLIPs, each later one is also compared with the first on the same
images: per set, the images only it ranks in the top 1 / top 5 and those only the
first does, with the exact sign test of tools/compare_eval (a continued CLIP against
the one it started from: phase 41's gate, training/checkpoints/README.md).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import encode_images, load_clip             # noqa: E402
from dir7.dataset import as_model_input, english_names, load  # noqa: E402
from dir7.text_encoder import batch_tokens                 # noqa: E402
from tools.compare_eval import sign_test, sign_verdict     # noqa: E402


def ranks(clip, max_len, x, names, dev, chunk=256):
    """For each image, how many images with a different name its own name scores higher."""
    fi = encode_images(clip, x, dev, chunk)
    ft = []
    for i in range(0, len(names), chunk):
        ids, mask = batch_tokens(names[i:i + chunk], max_len, dev)
        ft.append(clip.encode_text(ids, mask))
    s = torch.cat(ft) @ fi.t()                                   # [query name, image]
    codes = {n: k for k, n in enumerate(sorted(set(names)))}
    c = torch.tensor([codes[n] for n in names], device=dev)
    other = c[:, None] != c[None, :]
    return ((s > s.diag()[:, None]) & other).sum(1).cpu()


def summary(r):
    return {"top1": (r < 1).float().mean().item(), "top5": (r < 5).float().mean().item(),
            "top20": (r < 20).float().mean().item(), "n": len(r)}


def paired(first, other):
    """other's hits against first's, image by image: {top1, top5: only_other, only_first, p}"""
    out = {}
    for k in (1, 5):
        wins = int(((other < k) & (first >= k)).sum())
        losses = int(((first < k) & (other >= k)).sum())
        out[f"top{k}"] = {"only_other": wins, "only_first": losses, "p": sign_test(wins, losses)}
    return out


def gate(against_first, alpha=0.05):
    """Phase 41's gate (docs/eval/phase41/ship-rule.md) for a continued CLIP against its
    start: held-out top-1 better by the sign test, neither training set's top-1 worse.
    Returns (passes, reasons)."""
    def top1(name):
        t = against_first[name]["top1"]
        return (sign_verdict(t["only_other"], t["only_first"], t["p"], alpha),
                f"({t['only_other']} / {t['only_first']}, p {t['p']:.3g})")
    why = []
    verdict, counts = top1("held_out")
    if verdict != "better":
        why.append(f"held-out top-1 not better {counts}")
    for name in ("train_emoji", "train_clipart"):
        verdict, counts = top1(name)
        if verdict == "worse":
            why.append(f"{name} top-1 worse {counts}")
    return not why, why


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", action="append", required=True, help="a CLIP checkpoint; may repeat")
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--images", type=int, default=2000, help="training clip art sampled (all emoji are used)")
    ap.add_argument("--out", default=None, help="also write the result as JSON here")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    images, meta = load(args.data)
    rng = np.random.default_rng(0)
    art = [i for i, m in enumerate(meta) if not m["held_out"] and m["source"] == "openclipart"]
    sets = {
        "train_emoji": [i for i, m in enumerate(meta) if not m["held_out"] and m["source"] == "emoji"],
        "train_clipart": sorted(rng.choice(art, min(args.images, len(art)), replace=False).tolist()),
        "held_out": [i for i, m in enumerate(meta) if m["held_out"]],
    }
    result, first = {}, None
    for path in args.clip:
        clip, step = load_clip(path, dev)
        max_len = clip.cfg.text.max_len
        res, rk = {"step": step}, {}
        for name, idx in sets.items():
            rk[name] = ranks(clip, max_len, as_model_input(images[idx]), english_names(meta, idx), dev)
            res[name] = summary(rk[name])
        if first is None:
            first = rk
        else:
            res["against_first"] = {name: paired(first[name], rk[name]) for name in sets}
        result[path] = res
        print(path, json.dumps(res), flush=True)
        if "against_first" in res:
            ok, why = gate(res["against_first"])
            print(f"{path} against {args.clip[0]}: phase 41's gate "
                  + ("passes" if ok else "fails: " + "; ".join(why)), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
