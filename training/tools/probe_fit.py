"""Does a model draw the training images it was shown? Each of n training images
(the probe set of train.py --probe n, tools/caption_gain.py's images) is generated
from its English name, and the judge CLIP's image tower says which of the n real
images each generated one is nearest to. drawn_top1 / drawn_top5: how often its own
image is the nearest / among the 5 nearest (chance 1/n, 5/n). text_top1 / text_top5:
retrieval of the generated image among the n names, as evaluate.py does it.

    cd training && python3 -m tools.probe_fit --model M --clip judges/clip-image.pt --images 64 --out F.json

A model trained on these images alone (device_train.sh probe) shows what the
architecture and its prompt path can learn when compute is no limit; the shipped
model on the same images shows how far the whole data set's training got.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7 import rwkv7                                      # noqa: E402
from dir7.clip import load_clip                             # noqa: E402
from dir7.dataset import (as_model_input, english_names, load, probe_indices,  # noqa: E402
                          require_filled)
from dir7.export import load_model                          # noqa: E402
from dir7.text_encoder import batch_tokens                  # noqa: E402
from evaluate import grid, retrieval, sample_all            # noqa: E402


def drawn_scores(gen_emb, real_emb, txt_emb):
    """The figures of the module doc from unit-norm image and text embeddings: the
    drawn figures are evaluate.retrieval with the real images in the texts' place."""
    d1, d5, _ = retrieval(gen_emb, real_emb)
    t1, t5, cs = retrieval(gen_emb, txt_emb)
    return {"drawn_top1": d1, "drawn_top5": d5, "text_top1": t1, "text_top5": t5, "clip_score": cs,
            "n": len(gen_emb)}


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--images", type=int, default=64, help="the probe set's size (train.py --probe)")
    ap.add_argument("--source", default="emoji")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--grid", default=None, help="also a PNG: real images above, generated below, 32 a row")
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rwkv7.WKV_IMPL = "batched"
    model = load_model(args.model).to(dev)
    clip, _ = load_clip(args.clip, dev)
    images, meta = load(args.data)
    pick = probe_indices(meta, args.images, "train", args.source)
    require_filled(args.data, pick)
    names = english_names(meta, pick)
    real = as_model_input(images[pick]).to(dev)
    gen = sample_all(model, names, args.steps, args.guidance, batch=64, dev=dev)
    ids, mask = batch_tokens(names, model.cfg.text.max_len, dev)
    res = drawn_scores(clip.encode_image(gen), clip.encode_image(real), clip.encode_text(ids, mask))
    res.update(model=os.path.basename(args.model), source=args.source,
               pixel_mse=float((gen.clamp(-1, 1) - real).pow(2).mean()))
    print(json.dumps(res), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    if args.grid:
        def row(x):   # padded with transparent cells to a full row
            return torch.cat([x, -torch.ones((32 - len(x),) + x.shape[1:], device=dev)])
        rows = []
        for j in range(0, min(len(names), 64), 32):
            rows += [row(real[j:j + 32]), row(gen[j:j + 32])]
        grid(torch.cat(rows), cols=32).save(args.grid)


if __name__ == "__main__":
    main()
