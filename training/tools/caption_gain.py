"""How much a model uses its prompt, measured without a CLIP: the denoising loss
of images noised to timestep t, predicted with their own caption, with the
empty prompt and with another image's caption (the same noise for all three).

    cd training && python3 -m tools.caption_gain --model ../data/models/dir7-default.safetensors

gain = 1 - loss(own caption) / loss(empty prompt): 0 when the prompt is
ignored; a wrong caption should do no better than the empty prompt.
loss_mean_image is a floor to read the rest against: the loss of a predictor
that passes the noise through exactly and knows only the data set's mean
image, SNR(t) * mean (x0 - mean image)^2; at the noisy end a model that beats
it knows something about the image. The *_layout figures are the same losses
of the error's 8 x 8 block means alone: the low frequencies, where the
composition is, without the pixel-level error of passing the noise through.
Captions are each image's English name, with no augmentation.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.dataset import (as_model_input, english_names, load, mean_image,  # noqa: E402
                          probe_indices)
from dir7.diffusion import alphas_cumprod, predicted_noise # noqa: E402
from dir7.export import load_model                         # noqa: E402
from dir7.text_encoder import batch_tokens                 # noqa: E402


def layout(err):
    """The low frequencies of an error image: its 8 x 8 block means."""
    return F.avg_pool2d(err, 8)


def losses(model, x0, captions, t, ab_t, noise):
    """Per-image noise MSE at timestep t (alpha-bar ab_t) for each caption list in
    `captions`, and the same of the error's layout part."""
    xt = ab_t.sqrt() * x0 + (1 - ab_t).sqrt() * noise
    tt = torch.full((len(x0),), t)
    out = []
    for caps in captions:
        ids, mask = batch_tokens(caps, model.cfg.text.max_len)
        pred = model.unet(xt, tt, model.text(ids, mask), mask)
        err = predicted_noise(model.cfg.diffusion.prediction, pred, xt, ab_t) - noise   # v models too
        out.append((err.pow(2).mean((1, 2, 3)), layout(err).pow(2).mean((1, 2, 3))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--split", default="train", choices=["train", "held_out"])
    ap.add_argument("--source", default="emoji",
                    help="emoji, openclipart, tuxpaint, eval (emoji and clip art: what all was "
                         "before phase 33 added the stamps) or all")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--timesteps", default="300,500,700")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the result as JSON here")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    model = load_model(args.model).eval()
    images, meta = load(args.data)
    pick = probe_indices(meta, args.images, args.split, args.source, args.seed)
    x0 = as_model_input(images[pick])
    own = english_names(meta, pick)
    other = own[1:] + own[:1]          # each image gets its neighbour's caption
    empty = [""] * len(own)
    ab = torch.tensor(alphas_cumprod(model.cfg.diffusion), dtype=torch.float32)
    off = x0 - mean_image(images)
    spread, spread_layout = off.pow(2).mean().item(), layout(off).pow(2).mean().item()
    g = torch.Generator().manual_seed(args.seed)
    result = {"model": os.path.basename(args.model), "split": args.split, "source": args.source,
              "images": len(pick), "per_timestep": {}}
    for t in (int(s) for s in args.timesteps.split(",")):
        noise = torch.randn(x0.shape, generator=g)
        sums = torch.zeros(3, 2)
        for i in range(0, len(pick), 16):   # 16 images at a time keep memory small
            per = losses(model, x0[i:i + 16], [c[i:i + 16] for c in (own, empty, other)], t, ab[t],
                         noise[i:i + 16])
            sums += torch.tensor([[whole.sum(), low.sum()] for whole, low in per])
        (lo, lo_l), (le, le_l), (lw, _) = (sums / len(pick)).tolist()
        snr = (ab[t] / (1 - ab[t])).item()
        r = {"loss_own": lo, "loss_empty": le, "loss_other": lw, "gain": 1 - lo / le, "gain_other": 1 - lw / le,
             "loss_mean_image": snr * spread, "layout_own": lo_l, "layout_empty": le_l,
             "layout_mean_image": snr * spread_layout}
        result["per_timestep"][t] = r
        print(f"t {t}: loss own {lo:.5f} empty {le:.5f} other {lw:.5f}  gain {r['gain']:+.3f} "
              f"(other caption {r['gain_other']:+.3f}); mean image alone {snr * spread:.5f}; "
              f"layout: own {lo_l:.2e} empty {le_l:.2e} mean image {snr * spread_layout:.2e}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
