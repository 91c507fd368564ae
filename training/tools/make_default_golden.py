"""Samples the shipped default model with the PyTorch reference, for the C test
that checks the C core gives the same images for the same seed.

    cd training && python3 -m tools.make_default_golden
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7 import diffusion                          # noqa: E402
from dir7.export import load_model, write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CASES = [
    dict(name="apple", prompt="red apple", negative="", steps=20, sampler="dpmpp-2m", guidance=5.0, seed=42),
    dict(name="cat_zh", prompt="猫脸", negative="", steps=10, sampler="ddim", guidance=4.0, seed=7),
]


def main():
    torch.set_num_threads(2)
    model = load_model(os.path.join(ROOT, "data", "models", "dir7-default.safetensors"))
    out = {}
    for c in CASES:
        img = diffusion.sample(model, c["prompt"], negative=c["negative"], steps=c["steps"],
                               sampler=c["sampler"], guidance=c["guidance"], seed=c["seed"])
        out[c["name"] + ".out"] = ((img + 1) / 2).permute(1, 2, 0).contiguous()
        c.update(width=model.cfg.image_size, height=model.cfg.image_size)
    write_safetensors(os.path.join(ROOT, "tests", "golden", "default-samples.safetensors"), out,
                      {"cases": json.dumps(CASES, ensure_ascii=False)})


if __name__ == "__main__":
    main()
