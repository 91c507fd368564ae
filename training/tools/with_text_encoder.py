"""A model file with another text encoder: MODEL's U-Net and config, the text
tower of the CLIP checkpoint CLIP (device_train.sh clip's clip-weights.pt), so
that a denoiser run can go on from MODEL's weights while it learns the new
encoder's features; and that CLIP's image tower alone, the judge that belongs
with the new encoder (as training/judges/clip-image.pt belongs with the
shipped one).

    cd training && python3 -m tools.with_text_encoder --model M.safetensors \\
        --clip clip-weights.pt --out M-text.safetensors [--image-tower clip-image.pt]
    cd training && python3 -m tools.with_text_encoder --clip C.pt --image-tower clip-image.pt

The text encoder's configuration must be the same (only its weights change):
the U-Net's cross-attention reads features of the width it was built for.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import save_image_tower                           # noqa: E402
from dir7.config import Dir7Config                               # noqa: E402
from dir7.export import read_safetensors, write_safetensors      # noqa: E402


def with_text_encoder(model_path, clip_path, out, image_tower=None):
    sd, meta = read_safetensors(model_path)
    ck = torch.load(clip_path, map_location="cpu")
    clip_text = {k: v for k, v in ck["model"].items() if k.startswith("text.")}
    if not clip_text:
        raise SystemExit(f"{clip_path}: no text tower (an image tower alone?)")
    model_text = {k for k in sd if k.startswith("text.")}
    if Dir7Config.from_json(ck["config"]).text != Dir7Config.from_json(meta["dir7.config"]).text:
        raise SystemExit(f"{clip_path}: its text encoder is configured unlike {model_path}'s")
    if set(clip_text) != model_text or any(clip_text[k].shape != sd[k].shape for k in model_text):
        raise SystemExit(f"{clip_path}: its text tower's tensors differ from {model_path}'s")
    # the model file's dtype (F16 when shipped), as train.py export writes it
    out_sd = {k: v.half() for k, v in sd.items() if not k.startswith("text.")}
    out_sd.update({k: v.half() for k, v in clip_text.items()})
    write_safetensors(out, out_sd, meta)
    if image_tower:
        save_image_tower(ck, image_tower)
    return out_sd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="the model file whose U-Net and config to keep")
    ap.add_argument("--clip", required=True, help="the CLIP checkpoint whose text tower to put in")
    ap.add_argument("--out")
    ap.add_argument("--image-tower", default=None,
                    help="also write that CLIP's image tower alone here (alone: without --model and --out)")
    args = ap.parse_args()
    if not args.model and not args.out and args.image_tower:
        save_image_tower(torch.load(args.clip, map_location="cpu"), args.image_tower)
        print(f"wrote {args.image_tower}: the image tower of {args.clip}")
        return
    if not args.model or not args.out:
        ap.error("--model and --out go together (or --image-tower alone)")
    sd = with_text_encoder(args.model, args.clip, args.out, args.image_tower)
    n = sum(1 for k in sd if k.startswith("text."))
    print(f"wrote {args.out}: {len(sd)} tensors, {n} of them the text encoder from {args.clip}")


if __name__ == "__main__":
    main()
