"""Two model files' denoising loss on the ship test's own concepts, image by image,
with the same noise for both: a CPU check of whether a loss difference shows where
the ship test (tools/paired_eval.py, a GPU's drawing) later finds one.

    cd training && python3 -m tools.paired_loss --a ../data/models/dir7-default.safetensors \\
        --b CANDIDATE.safetensors --split train --out /tmp/loss

Each concept's first image (paired_eval's held-out prompts, or evaluate.py's 100
training concepts with --split train), unaugmented, noised at each timestep, is
predicted with its English name and with the empty prompt (tools/caption_gain.losses).
Per timestep and prompt: B's mean loss against A's in percent of A's, with a paired
bootstrap 95% interval over the images (tools/compare_eval.bootstrap_ci); and the
name's gain, 1 - loss(name) / loss(empty), averaged over the timesteps. Per-image
losses go to OUT/loss-NAME.npz, so a third file can be compared later with --a/--b
pointing at the saved files.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.dataset import as_model_input, english_names, load  # noqa: E402
from dir7.diffusion import alphas_cumprod                     # noqa: E402
from dir7.export import load_model                            # noqa: E402
from tools.caption_gain import losses                         # noqa: E402
from tools.compare_eval import bootstrap_ci                   # noqa: E402
from tools.paired_eval import split_concepts                  # noqa: E402

CAPTIONS = ("name", "empty")


@torch.no_grad()
def model_losses(model, x0, names, timesteps, seed=0, batch=32):
    """[caption kind, timestep, image] noise MSE; the noise depends on seed, the
    timestep and the image's place only, so two models see the same noise"""
    ab = torch.tensor(alphas_cumprod(model.cfg.diffusion), dtype=torch.float32)
    out = np.zeros((len(CAPTIONS), len(timesteps), len(x0)), np.float64)
    for j, t in enumerate(timesteps):
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed * 1000 + t))
        for i in range(0, len(x0), batch):
            part = slice(i, i + batch)
            caps = (names[part], [""] * len(names[part]))
            for k, (whole, _) in enumerate(losses(model, x0[part], caps, t, ab[t], noise[part])):
                out[k, j, part] = whole.numpy()
    return out


def file_name(path):
    """a model file's or saved losses' short name: p31 for p31.safetensors or loss-p31.npz"""
    name = os.path.basename(path).removesuffix(".safetensors").removesuffix(".npz")
    return name.removeprefix("loss-")


def measured(path, x0, names, timesteps, seed, out_dir):
    """a model file's losses, or those saved earlier (an .npz from this tool)"""
    if path.endswith(".npz"):
        saved = np.load(path)
        if list(saved["timesteps"]) != list(timesteps) or int(saved["seed"]) != seed \
                or list(saved["names"]) != list(names):
            sys.exit(f"{path}: saved for other timesteps, seed or prompts")
        return saved["loss"]
    model = load_model(path).eval()
    loss = model_losses(model, x0, names, timesteps, seed)
    if out_dir:
        np.savez(os.path.join(out_dir, f"loss-{file_name(path)}.npz"), loss=loss, timesteps=np.array(timesteps),
                 seed=seed, names=np.array(names))
    return loss


def compare(la, lb, timesteps):
    """B against A per caption kind and timestep (percent of A's mean), and the name's gain"""
    rows = []
    for k, kind in enumerate(CAPTIONS):
        for j, t in enumerate(timesteps):
            d = (lb[k, j] - la[k, j]) / la[k, j].mean() * 100
            lo, hi = bootstrap_ci(d)
            rows.append({"caption": kind, "t": t, "a": la[k, j].mean(), "b": lb[k, j].mean(),
                         "b_minus_a_pct": d.mean(), "ci95": [lo, hi]})

    def gain(loss):   # per image, each timestep relative to its mean empty-prompt loss
        return ((loss[1] - loss[0]) / loss[1].mean(1, keepdims=True)).mean(0)

    ga, gb = gain(la), gain(lb)
    lo, hi = bootstrap_ci(gb - ga)
    return rows, {"a": ga.mean(), "b": gb.mean(), "b_minus_a": (gb - ga).mean(), "ci95": [lo, hi]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="model file, or an .npz this tool saved")
    ap.add_argument("--b", required=True)
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--split", default="held_out", choices=["held_out", "train"])
    ap.add_argument("--timesteps", default="100,300,500,700,900")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="folder for the per-image losses and compare-A-B-SPLIT.json")
    args = ap.parse_args()
    timesteps = [int(s) for s in args.timesteps.split(",")]
    images, meta = load(args.data)
    rows = split_concepts(meta, args.split)
    x0, names = as_model_input(images[rows]), english_names(meta, rows)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    la, lb = (measured(p, x0, names, timesteps, args.seed, args.out) for p in (args.a, args.b))
    per_t, gain = compare(la, lb, timesteps)
    for r in per_t:
        lo, hi = r["ci95"]
        print(f"{r['caption']:5s} t {r['t']:3d}: a {r['a']:.3e} b {r['b']:.3e}  "
              f"b - a {r['b_minus_a_pct']:+.2f}% ({lo:+.2f}, {hi:+.2f})")
    lo, hi = gain["ci95"]
    print(f"name's gain over the empty prompt: a {gain['a']:.4f} b {gain['b']:.4f}  "
          f"b - a {gain['b_minus_a']:+.4f} ({lo:+.4f}, {hi:+.4f}); {len(rows)} images, {args.split}")
    if args.out:
        # named by the pair, so that a second comparison in the same folder keeps the first
        pair = f"compare-{file_name(args.a)}-{file_name(args.b)}-{args.split}.json"
        with open(os.path.join(args.out, pair), "w") as f:
            json.dump({"a": args.a, "b": args.b, "split": args.split, "images": len(rows),
                       "per_timestep": per_t, "gain": gain}, f, indent=1)


if __name__ == "__main__":
    main()
