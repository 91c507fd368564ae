"""A model file with its large weights stored as I8 with a scale per row (about half the
F16 file's size; docs/model-contract.md, section 8), the rest as in the input. The 25 MB
limit on the shipped file then holds about twice the weights (the training log, phase 35).

    cd training && python3 -m tools.quantize_model --model IN.safetensors --out OUT.safetensors

Prints both sizes and the largest change of any weight relative to its row's largest.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.export import (INT8_MIN_NUMEL, SCALE_SUFFIX, quantize_int8, read_safetensors,  # noqa: E402
                         read_stored, TORCH_TO_NAME, write_safetensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-numel", type=int, default=INT8_MIN_NUMEL,
                    help="quantise tensors of two or more dimensions with at least this many values")
    args = ap.parse_args()
    tensors, meta = read_stored(args.model)
    stored_i8 = [name for name, t in tensors.items() if TORCH_TO_NAME[t.dtype] == "I8"]
    if stored_i8:
        raise SystemExit(f"{args.model} already stores I8 tensors ({stored_i8[0]})")
    q = quantize_int8(tensors, args.min_numel)
    write_safetensors(args.out, q, meta)
    back, _ = read_safetensors(args.out)
    worst = 0.0
    for name, t in tensors.items():
        if name + SCALE_SUFFIX in q:
            rows = t.float().reshape(t.shape[0], -1)
            err = (back[name].reshape(rows.shape) - rows).abs().amax(1) / rows.abs().amax(1).clamp_min(1e-30)
            worst = max(worst, err.max().item())
    n_q = sum(t.numel() for name, t in tensors.items() if name + SCALE_SUFFIX in q)
    print(f"{args.out}: {os.path.getsize(args.out)} bytes (from {os.path.getsize(args.model)}); "
          f"{n_q} of {sum(t.numel() for t in tensors.values())} weights as I8; "
          f"largest change {worst:.2e} of its row's largest weight")


if __name__ == "__main__":
    main()
