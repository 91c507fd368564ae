"""A model file on the straight line between two with the same network and text
encoder: U-Net weights a + t (b - a), everything else a's, each tensor stored in a's
dtype. t = 0.63 puts the end of a continued run where its EMA at 0.999 would have left
it (tools/ema_lag.py): whether a candidate lost on the ship test by the direction it
moved or by how far (training log, phase 37).

    cd training && python3 -m tools.interpolate_model A.safetensors B.safetensors T OUT.safetensors
"""
import argparse

from dir7.export import read_safetensors, read_stored, write_safetensors


def interpolate(a, b, t):
    """{name: a + t (b - a)} for unet.* tensors, a's elsewhere; float tensors in, float out"""
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise SystemExit("interpolate_model: the two files hold different networks")
    other = [k for k in a if not k.startswith("unet.") and not a[k].equal(b[k])]
    if other:
        raise SystemExit(f"interpolate_model: the files differ outside the U-Net ({other[0]}, ...)")
    return {k: a[k] + t * (b[k] - a[k]) if k.startswith("unet.") else a[k] for k in a}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("t", type=float)
    ap.add_argument("out")
    args = ap.parse_args()
    stored, meta = read_stored(args.a)
    if any(not v.is_floating_point() for v in stored.values()):
        raise SystemExit("interpolate_model: an I8 file; interpolate the F16 files, then quantise")
    # a's floats from what was read once (no I8 to dequantise); b's may be any stored kind
    a = {k: v.float() for k, v in stored.items()}
    out = interpolate(a, read_safetensors(args.b)[0], args.t)
    write_safetensors(args.out, {k: v.to(stored[k].dtype) for k, v in out.items()}, meta)
    print(f"wrote {args.out}: {args.a} + {args.t} ({args.b} - {args.a}) in the U-Net")


if __name__ == "__main__":
    main()
