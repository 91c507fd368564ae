"""Regenerates the C core's golden vectors in tests/golden/ from the PyTorch reference.

    cd training && python3 -m tools.make_goldens

Writes: tiny-{state,paper}.safetensors (random tiny models, F16 / BF16; the state
one with unet.text_embed),
wkv.safetensors (the recurrence), layers-{state,paper}.safetensors (each layer's
input and output on one forward pass) and samples-{state,paper}.safetensors
(short sampler runs; the cases' parameters are in the "cases" metadata), and
samples-state-v.safetensors: the same runs with tiny-state's weights read as a
v-prediction model (the C test loads tiny-state and sets prediction to v);
tiny-state-i8.safetensors (tiny-state's large weights as I8 with per-row scales),
layers-state-i8.safetensors and samples-state-i8.safetensors, its forward pass and runs;
tiny-state-r3-i8.safetensors and samples-state-r3-i8.safetensors: a state-mode model with
three ResBlocks a level, stored as I8 (the shape of a grown network as it would ship), and
its runs. `--only r3` writes those two alone.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.config import tiny_config                    # noqa: E402
from dir7.unet import Dir7Model, timestep_embedding     # noqa: E402
from dir7.export import save_model, load_model, write_safetensors  # noqa: E402
from dir7.text_encoder import batch_tokens             # noqa: E402
from dir7.wkv import wkv7_recurrent                     # noqa: E402
from dir7 import diffusion                              # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden")


def perturbed_model(mode, seed, num_res_blocks=None):
    """Random weights with every norm, bias and mix off its default, so each path counts.
    The state-mode model (the shipped mode) also has the text embedding."""
    torch.manual_seed(seed)
    cfg = tiny_config(mode)
    if num_res_blocks:
        cfg.unet.num_res_blocks = num_res_blocks
    cfg.unet.text_embed = mode == "state"
    m = Dir7Model(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m.eval()


def wkv_golden():
    g = torch.Generator().manual_seed(1)
    B, T, H, N = 1, 100, 2, 64
    r, k, v = (torch.randn(B, T, H, N, generator=g) for _ in range(3))
    w = -0.6065306597126334 * torch.sigmoid(torch.randn(B, T, H, N, generator=g))
    kk = torch.nn.functional.normalize(torch.randn(B, T, H, N, generator=g), dim=-1)
    lr = torch.sigmoid(torch.randn(B, T, H, N, generator=g))
    s0 = 0.1 * torch.randn(B, H, N, N, generator=g)
    a, b = -kk, kk * lr
    o, s = wkv7_recurrent(r, w, k, v, a, b, s0)
    write_safetensors(os.path.join(OUT, "wkv.safetensors"),
                      dict(r=r, w=w, k=k, v=v, a=a, b=b, s0=s0, o=o, s=s))


PROMPTS = ["a red apple", "生日蛋糕 🎂"]


def layer_golden(model, mode):
    """Each traced module's inputs and outputs on one forward pass of batch 2."""
    cfg = model.cfg
    ids, mask = batch_tokens(PROMPTS, cfg.text.max_len)
    x = torch.randn(2, 4, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([999, 123])
    out = {"text.ids": ids.float(), "text.mask": mask}
    traced = ["unet.down.0.res.0", "unet.down.0.dir7.0", "unet.down.0.dir7.0.attn",
              "unet.down.0.dir7.0.cross", "unet.down.0.dir7.0.ffn", "unet.down.0.down",
              "unet.up.1.res.0", "unet.up.1.dir7.1", "unet.up.1.up", "unet.time_embed"]
    if cfg.unet.text_embed:
        traced.append("unet.text_embed")
    mods = dict(model.named_modules())
    hooks = []

    def save(name):
        def hook(mod, args, result):
            for i, a in enumerate(args):
                if torch.is_tensor(a):
                    out[f"{name}.in{i}"] = a
            res = result if isinstance(result, tuple) else (result,)
            for i, r in enumerate(res):
                if torch.is_tensor(r):
                    out[f"{name}.out{i}"] = r
        return hook
    for n in traced:
        hooks.append(mods[n].register_forward_hook(save(n)))
    with torch.no_grad():
        text = model.text(ids, mask)
        out["text.out"] = text
        out["unet.x"], out["unet.t"] = x, t.float()
        out["unet.temb"] = timestep_embedding(t, cfg.unet.base_channels)
        out["unet.out"] = model.unet(x, t, text, mask)
    for h in hooks:
        h.remove()
    write_safetensors(os.path.join(OUT, f"layers-{mode}.safetensors"),
                      {k: v.float().contiguous() for k, v in out.items()})


def test_image(H, W):
    """A smooth premultiplied RGBA pattern in [-1, 1], [4, H, W]."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing="ij")
    a = 0.25 + 0.75 * xx
    rgb = torch.stack([yy, 1 - yy, 0.5 * xx * yy]) * a
    return torch.cat([rgb, a[None]]) * 2 - 1


CASES = [
    dict(name="ddim", sampler="ddim", steps=4, guidance=3.0, seed=42),
    dict(name="ddpm", sampler="ddpm", steps=4, guidance=3.0, seed=7, negative="blurry"),
    dict(name="dpmpp", sampler="dpmpp-2m", steps=5, guidance=4.0, seed=42),
    dict(name="noguide", sampler="dpmpp-2m", steps=3, guidance=1.0, seed=3),
    dict(name="img2img", sampler="dpmpp-2m", steps=6, guidance=3.0, seed=11, init=True, strength=0.5),
    dict(name="inpaint", sampler="ddim", steps=4, guidance=3.0, seed=5, init=True, mask=True),
    dict(name="wide", sampler="ddim", steps=2, guidance=2.0, seed=9, width=24, height=8),
]


def sample_golden(model, mode):
    cfg = model.cfg
    out, cases = {}, []
    for c in CASES:
        W, H = c.get("width", cfg.image_size), c.get("height", cfg.image_size)
        init = test_image(H, W) if c.get("init") else None
        mask = None
        if c.get("mask"):
            mask = torch.zeros(H, W)
            mask[H // 4: 3 * H // 4, W // 4: W // 2] = 1
            out[c["name"] + ".mask"] = mask
        if init is not None:
            out[c["name"] + ".init"] = ((init + 1) / 2).permute(1, 2, 0).contiguous()
        img = diffusion.sample(model, "a red apple", negative=c.get("negative", ""), steps=c["steps"],
                               sampler=c["sampler"], guidance=c["guidance"], seed=c["seed"],
                               width=W, height=H, init=init, strength=c.get("strength", 1.0), mask=mask)
        out[c["name"] + ".out"] = ((img + 1) / 2).permute(1, 2, 0).contiguous()
        cases.append(dict(c, prompt="a red apple", width=W, height=H))
    write_safetensors(os.path.join(OUT, f"samples-{mode}.safetensors"), out,
                      {"cases": json.dumps(cases)})


def r3_golden():
    """Three ResBlocks a level (up: four), so the C core's block order and skip
    bookkeeping are checked beyond the one and two of the other goldens."""
    m = perturbed_model("state", 300, num_res_blocks=3)
    path = os.path.join(OUT, "tiny-state-r3-i8.safetensors")
    save_model(m, path, torch.float16, int8=True)
    sample_golden(load_model(path), "state-r3-i8")


def main():
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["--only", "r3"]:
        r3_golden()
        return
    wkv_golden()
    for mode, seed, dtype in (("state", 100, torch.float16), ("paper", 200, torch.bfloat16)):
        path = os.path.join(OUT, f"tiny-{mode}.safetensors")
        save_model(perturbed_model(mode, seed), path, dtype)
        model = load_model(path)          # the goldens use exactly the stored weights
        layer_golden(model, mode)
        sample_golden(model, mode)
    model = load_model(os.path.join(OUT, "tiny-state.safetensors"))
    model.cfg.diffusion.prediction = "v"
    sample_golden(model, "state-v")
    # tiny-state with its large weights stored as I8 and a scale per row; the goldens
    # run the weights as read back (dequantised), which the C core must match
    path = os.path.join(OUT, "tiny-state-i8.safetensors")
    save_model(load_model(os.path.join(OUT, "tiny-state.safetensors")), path, torch.float16, int8=True)
    model = load_model(path)
    layer_golden(model, "state-i8")
    sample_golden(model, "state-i8")
    r3_golden()


if __name__ == "__main__":
    main()
