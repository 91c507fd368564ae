"""The in-domain CLIP: the byte-level RWKV-7 text tower (DIR-7's text encoder)
and a small convolutional image tower, trained contrastively."""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .text_encoder import TextEncoder


class ImageTower(nn.Module):
    def __init__(self, channels=4, width=64, embed=256):
        super().__init__()
        layers, c = [], channels
        for mult in (1, 2, 4, 4):
            layers += [nn.Conv2d(c, width * mult, 3, stride=2, padding=1), nn.GroupNorm(8, width * mult), nn.SiLU(),
                       nn.Conv2d(width * mult, width * mult, 3, padding=1), nn.GroupNorm(8, width * mult), nn.SiLU()]
            c = width * mult
        self.body = nn.Sequential(*layers)
        self.proj = nn.Linear(c, embed)

    def forward(self, x):
        return self.proj(self.body(x).mean(dim=(2, 3)))


class Clip(nn.Module):
    def __init__(self, cfg, embed=256):
        super().__init__()
        self.cfg = cfg
        self.text = TextEncoder(cfg)
        self.text_proj = nn.Linear(cfg.text.dim, embed)
        self.image = ImageTower(cfg.unet.image_channels, embed=embed)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, ids, mask):
        return F.normalize(self.text_proj(self.text.pooled(ids, mask)), dim=-1)

    def encode_image(self, x):
        return F.normalize(self.image(x), dim=-1)

    def forward(self, x, ids, mask):
        """The symmetric contrastive loss of a batch of (image, caption) pairs."""
        ti, tt = self.encode_image(x), self.encode_text(ids, mask)
        logits = self.logit_scale.exp().clamp(max=100) * ti @ tt.t()
        target = torch.arange(x.shape[0], device=x.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def encode_images(clip, x, dev, chunk=256):
    """clip.encode_image over many images, chunk at a time, each chunk moved to dev
    (the CLIP's device; x may stay on the CPU)"""
    return torch.cat([clip.encode_image(x[i:i + chunk].to(dev)) for i in range(0, len(x), chunk)])


SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "models",
                             "dir7-default.safetensors")


def load_clip(path, dev="cpu", text_from=SHIPPED_MODEL):
    """A CLIP checkpoint, in float32, for measuring; returns (clip, step). A file that
    holds the image side only (training/judges/clip-image.pt) takes its text tower
    from the model file text_from: the text encoder it was trained against."""
    from .config import Dir7Config
    from .export import read_safetensors
    ck = torch.load(path, map_location="cpu")
    sd = {k: v.float() for k, v in ck["model"].items()}
    if not any(k.startswith("text.") for k in sd):
        model_sd, _ = read_safetensors(text_from)
        sd.update({k: v.float() for k, v in model_sd.items() if k.startswith("text.")})
    clip = Clip(Dir7Config.from_json(ck["config"]))
    clip.load_state_dict(sd)
    return clip.to(dev).eval(), ck.get("step")


def save_image_tower(ck, path):
    """The CLIP checkpoint ck's image side alone (no text.* tensors), in float16: a
    judge that load_clip completes with the text encoder of the model it judges."""
    torch.save({"model": {k: v.half().cpu() for k, v in ck["model"].items() if not k.startswith("text.")},
                "config": ck["config"], "step": ck.get("step")}, path)
