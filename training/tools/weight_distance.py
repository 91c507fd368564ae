"""How far model files' U-Nets lie from a reference file's: the relative distance
||w - w_ref|| / ||w_ref|| over all unet.* tensors together. How much a continued run
moved its start says whether a tie on the ship test means "trained the same" or
"hardly moved" (training log, phase 37).

    cd training && python3 -m tools.weight_distance REF.safetensors A.safetensors [B ...]
"""
import argparse

import torch

from dir7.export import read_safetensors


def unet_tensors(path):
    sd, _ = read_safetensors(path)
    return {k: v.double() for k, v in sd.items() if k.startswith("unet.")}


def relative_distance(ref, other):
    """||other - ref|| / ||ref|| over the U-Net tensors; the two must hold the same ones"""
    if ref.keys() != other.keys() or any(ref[k].shape != other[k].shape for k in ref):
        raise SystemExit("weight_distance: the two files' U-Nets differ in their tensors or shapes")
    diff = sum(float(((other[k] - ref[k]) ** 2).sum()) for k in ref)
    norm = sum(float((ref[k] ** 2).sum()) for k in ref)
    return (diff / norm) ** 0.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ref")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    ref = unet_tensors(args.ref)
    for f in args.files:
        print(f"{f}: {relative_distance(ref, unet_tensors(f)):.4f} of {args.ref}'s U-Net norm")


if __name__ == "__main__":
    main()
