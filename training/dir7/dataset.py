"""The training set in memory: premultiplied RGBA images and caption sampling
with augmentation (flip, scale, position, a named background colour)."""
import json
import os
import random

import numpy as np
import torch

# background colours named in six languages (the augmentation names them)
COLOURS = {
    "red": ((0.85, 0.15, 0.15), {"en": "on a red background", "zh": "红色背景", "es": "sobre fondo rojo",
                                 "fr": "sur fond rouge", "de": "auf rotem Hintergrund", "ja": "赤い背景"}),
    "blue": ((0.15, 0.3, 0.85), {"en": "on a blue background", "zh": "蓝色背景", "es": "sobre fondo azul",
                                 "fr": "sur fond bleu", "de": "auf blauem Hintergrund", "ja": "青い背景"}),
    "green": ((0.2, 0.7, 0.25), {"en": "on a green background", "zh": "绿色背景", "es": "sobre fondo verde",
                                 "fr": "sur fond vert", "de": "auf grünem Hintergrund", "ja": "緑の背景"}),
    "yellow": ((0.95, 0.85, 0.2), {"en": "on a yellow background", "zh": "黄色背景", "es": "sobre fondo amarillo",
                                   "fr": "sur fond jaune", "de": "auf gelbem Hintergrund", "ja": "黄色い背景"}),
    "white": ((1.0, 1.0, 1.0), {"en": "on a white background", "zh": "白色背景", "es": "sobre fondo blanco",
                                "fr": "sur fond blanc", "de": "auf weißem Hintergrund", "ja": "白い背景"}),
    "black": ((0.0, 0.0, 0.0), {"en": "on a black background", "zh": "黑色背景", "es": "sobre fondo negro",
                                "fr": "sur fond noir", "de": "auf schwarzem Hintergrund", "ja": "黒い背景"}),
}
NO_FLIP = ("left", "right", "arrow", "keycap", "letter", "flag", "sign", "text", "number", "clock",
           "digit", "symbol", "logo")


# the sources of every recorded evaluation (model card): evaluate.py and the ship test
# draw their held-out and training concepts from these alone, so that a source added
# later (Tux Paint's stamps, appended in phase 33) leaves their prompts and figures as
# they were
EVAL_SOURCES = ("emoji", "openclipart")
STAND_IN = "stand-in.json"   # tools.carry unpack-probe's list of the rows it filled in


def blank_rows(path, keep):
    """The image indices in keep that are not real images in the data set at path: a
    stand-in data set (tools.carry unpack-probe) has real images only in the rows its
    stand-in.json lists, and blank ones elsewhere that must never be trained on or
    drawn against. Returns (the rows filled, the blank ones of keep); (None, []) for
    a whole data set."""
    marker = os.path.join(path, STAND_IN)
    if not os.path.exists(marker):
        return None, []
    with open(marker) as f:
        filled = set(json.load(f)["filled"])
    return filled, [i for i in keep if i not in filled]


def require_filled(path, keep):
    """Stop unless every image index in keep is a real image in the data set at path
    (blank_rows)."""
    filled, missing = blank_rows(path, keep)
    if missing:
        raise SystemExit(f"{path} is a stand-in data set (tools.carry unpack-probe) with real images "
                         f"in {len(filled)} rows only; {len(missing)} of the {len(keep)} images asked "
                         f"for are blank there (train.py --probe and probe_fit --images {len(filled)} only)")


def load(path):
    images = np.load(os.path.join(path, "images.npy"))
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    return images, meta


def as_model_input(images):
    """uint8 premultiplied RGBA [N, H, W, 4] -> float [N, 4, H, W] in [-1, 1], the denoiser's range."""
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2)


def mean_image(images, chunk=2048):
    """The mean of uint8 images as model input (premultiplied RGBA in [-1, 1]), summed in double."""
    total = 0
    for i in range(0, len(images), chunk):
        total = total + as_model_input(images[i:i + chunk]).double().sum(0)
    return (total / len(images)).float()


def probe_indices(meta, n, split="train", source="emoji", seed=0):
    """n images (indices into meta) with English captions, drawn with a fixed seed:
    the images tools/caption_gain.py measures on (and train.py --probe trains on).
    source: one source, "eval" (EVAL_SOURCES: the images "all" meant before the stamps
    were appended, so figures recorded with "all" then are reproduced with it) or
    "all" (every source)."""
    sources = EVAL_SOURCES if source == "eval" else None if source == "all" else (source,)
    pick = [i for i, m in enumerate(meta) if m["held_out"] == (split == "held_out")
            and (sources is None or m["source"] in sources) and "en" in m["captions"]]
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(pick, min(n, len(pick)), replace=False).tolist())


def english_names(meta, rows):
    """Each row's first English caption: the name its prompt and its measures go by."""
    return [meta[i]["captions"]["en"][0] for i in rows]


def first_of_each_name(meta, rows):
    """The rows, in their order, less any whose English name an earlier one has."""
    seen, out = set(), []
    for i, name in zip(rows, english_names(meta, rows)):
        if name not in seen:
            seen.add(name)
            out.append(i)
    return out


def caption(meta, rng, lang=None):
    """(caption, language) for one image: its name, or name plus keywords."""
    caps = meta["captions"]
    if lang is None:   # English four times in ten, else any language the image has
        lang = "en" if rng.random() < 0.4 and "en" in caps else rng.choice(sorted(caps))
    elif lang not in caps:
        lang = "en"
    words = caps[lang]
    u = rng.random()
    if u < 0.6 or len(words) == 1:
        text = words[0]
    else:
        extra = rng.sample(words[1:], min(len(words) - 1, rng.randint(1, 2)))
        text = ", ".join([words[0]] + extra)
    return text, lang


def flippable(meta):
    if meta.get("flip") is False:   # a Tux Paint stamp whose .dat forbids it
        return False
    text = " ".join(meta["captions"].get("en", [])).lower()
    return not any(w in text for w in NO_FLIP)


def augment_geometry(x, m, rng):
    """The training augmentation's flip and placement of one image x ([4, 64, 64],
    premultiplied, in [0, 1]) whose meta is m, drawn from rng (random.Random)."""
    if flippable(m) and rng.random() < 0.5:
        x = x.flip(-1)
    if rng.random() < 0.5:   # smaller, somewhere else on the canvas
        s = rng.uniform(0.6, 1.0)
        size = max(8, int(round(64 * s)))
        small = torch.nn.functional.interpolate(x[None], size=(size, size), mode="bilinear",
                                                antialias=True, align_corners=False)[0]
        canvas = torch.zeros_like(x)
        oy, ox = rng.randint(0, 64 - size), rng.randint(0, 64 - size)
        canvas[:, oy:oy + size, ox:ox + size] = small
        x = canvas
    return x


class TrainSet(torch.utils.data.Dataset):
    """Yields (image [4,64,64] in [-1,1], caption str). Held-out concepts excluded."""

    def __init__(self, path, split="train", augment=True, seed=0, probe=0):
        images, meta = load(path)
        if probe:   # only the probe_indices images (they are all of the train split)
            keep = probe_indices(meta, probe)
        else:
            keep = [i for i, m in enumerate(meta) if m["held_out"] == (split == "held_out")]
        require_filled(path, keep)
        self.images = images[keep]
        self.meta = [meta[i] for i in keep]
        self.augment = augment
        self.rng = random.Random(seed)

    def __len__(self):
        return len(self.meta)

    def __getitem__(self, i):
        rng = self.rng
        m = self.meta[i]
        x = torch.from_numpy(self.images[i].astype(np.float32) / 255.0).permute(2, 0, 1)  # premultiplied
        text, lang = caption(m, rng)
        if self.augment:
            x = augment_geometry(x, m, rng)
            if lang in ("en", "zh", "es", "fr", "de", "ja") and rng.random() < 0.2:
                name = rng.choice(sorted(COLOURS))
                rgb, phrase = COLOURS[name]
                bg = torch.tensor(rgb).view(3, 1, 1)
                a = x[3:4]
                x = torch.cat([x[:3] + (1 - a) * bg, torch.ones_like(a)])
                sep = "，" if lang in ("zh", "ja") else ", "
                text = text + sep + phrase[lang]
        return x * 2 - 1, text
