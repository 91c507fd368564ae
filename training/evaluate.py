"""In-domain evaluation of a DIR-7 model file with the in-domain CLIP.

    python3 evaluate.py --model M.safetensors --clip runs/a/clip.pt --data cache/dataset --out eval-state

For 100 held-out concepts (never trained on) it generates one image per
prompt and reports: CLIP score (100 x cosine of image and prompt embeddings),
top-1 / top-5 retrieval of each generated image among the 100 prompts, FID in
the CLIP image-feature space against the held-out real images, the same per
language (en, zh, es, fr) on held-out emoji, and a sample grid PNG. Also the
CLIP's own held-out retrieval accuracy on real images. All in-domain metrics.
"""
import argparse
import json
import math
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dir7 import rwkv7                                     # noqa: E402
from dir7.clip import encode_images, load_clip             # noqa: E402
from dir7.dataset import (EVAL_SOURCES, as_model_input, english_names,  # noqa: E402
                          first_of_each_name, load)
from dir7.diffusion import alphas_cumprod, predicted_x0, timesteps  # noqa: E402
from dir7.export import load_model                         # noqa: E402
from dir7.noise import randn_torch                         # noqa: E402
from dir7.text_encoder import batch_tokens                 # noqa: E402


@torch.no_grad()
def sample_batch(model, prompts, steps=20, guidance=5.0, seed=0, dev="cpu"):
    """DPM-Solver++(2M) as diffusion.sample, a batch at a time; image i uses noise batch index i.
    guidance: a number, or a function of the timestep t (a schedule, for experiments)."""
    cfg = model.cfg
    S = cfg.image_size
    n = len(prompts)
    ab = alphas_cumprod(cfg.diffusion)
    ts = timesteps(cfg.diffusion.timesteps, steps)
    ids, mask = batch_tokens([""] * n + list(prompts), cfg.text.max_len, dev)
    text = model.text(ids, mask)
    x = torch.stack([randn_torch(seed, 0, i, (4, S, S)) for i in range(n)]).to(dev)
    prev_x0 = prev_h = None
    for i, t in enumerate(ts):
        s = ts[i + 1] if i + 1 < steps else -1
        out = model.unet(torch.cat([x, x]), torch.full((2 * n,), t, device=dev), text, mask)
        g = guidance(t) if callable(guidance) else guidance
        out = out[:n] + g * (out[n:] - out[:n])
        x0 = predicted_x0(cfg.diffusion.prediction, out, x, ab[t])
        if s < 0:
            x = x0
            break
        lam_t, lam_s = 0.5 * math.log(ab[t] / (1 - ab[t])), 0.5 * math.log(ab[s] / (1 - ab[s]))
        h = lam_s - lam_t
        d = x0 if prev_x0 is None else (1 + 0.5 * prev_h / h) * x0 - (0.5 * prev_h / h) * prev_x0
        prev_x0, prev_h = x0, h
        x = math.sqrt((1 - ab[s]) / (1 - ab[t])) * x - math.sqrt(ab[s]) * math.expm1(-h) * d
    return x


def sample_all(model, prompts, steps=20, guidance=5.0, seed_base=0, batch=50, dev="cpu"):
    """sample_batch over many prompts, batch at a time; the batch starting at prompt j
    uses noise seed seed_base + j, so an image's noise depends on its place only"""
    return torch.cat([sample_batch(model, prompts[j:j + batch], steps, guidance, seed=seed_base + j, dev=dev)
                      for j in range(0, len(prompts), batch)])


def fid(a, b):
    """Frechet distance between two feature sets (rows)."""
    from scipy import linalg
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(c1 @ c2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean.real))


def ranks_and_scores(img_emb, txt_emb):
    """Per image: the rank of its own prompt among all prompts (0 = first) and its
    CLIP score (100 x cosine with its own prompt)."""
    sims = img_emb @ txt_emb.t()
    return (sims > sims.diag()[:, None]).sum(1), 100 * sims.diag()


def retrieval(img_emb, txt_emb, per_prompt=None, name=None, prompts=None):
    """top-1, top-5 and mean CLIP score; each prompt's rank and score are appended to the
    list per_prompt (for tools/compare_eval.py's paired comparison of two models)"""
    rank, score = ranks_and_scores(img_emb, txt_emb)
    if per_prompt is not None:
        per_prompt += [{"set": name, "i": i, "prompt": p, "rank": int(r), "clip_score": round(float(c), 4)}
                       for i, (p, r, c) in enumerate(zip(prompts, rank, score))]
    return float((rank < 1).float().mean()), float((rank < 5).float().mean()), float(score.mean())


def grid(images, cols=10):
    from PIL import Image
    x = ((images.clamp(-1, 1) + 1) / 2).cpu()
    a = x[:, 3:4]
    # over mid grey, to show transparency; clamped, because a generated pixel may be
    # brighter than its alpha allows (r > a), and uint8 would wrap 256 round to 0
    rgb = (x[:, :3] + (1 - a) * 0.5).clamp(0, 1)
    n, _, h, w = rgb.shape
    rows = (n + cols - 1) // cols
    g = torch.full((3, rows * h, cols * w), 0.5)
    for i in range(n):
        g[:, (i // cols) * h:(i // cols + 1) * h, (i % cols) * w:(i % cols + 1) * w] = rgb[i]
    return Image.fromarray((g.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def pick_concepts(meta, split="held_out"):
    """The split's images (indices into meta), 100 of them with distinct English
    names in a seeded order (the English set), and 100 emoji with distinct names
    (the per-language sets: the first ones held out; for the training split, in the
    same seeded order, since the first training emoji are nearly all faces), all of
    EVAL_SOURCES. Only the split's entries and their order matter, so a data set of
    the held-out images alone gives the same held-out prompts."""
    pool = [i for i, m in enumerate(meta) if m["held_out"] == (split == "held_out")
            and m["source"] in EVAL_SOURCES]
    order = random.Random(0).sample(pool, len(pool))

    def distinct(indices, source=None):
        of_source = [i for i in indices if source is None or meta[i]["source"] == source]
        return first_of_each_name(meta, of_source)[:100]

    return pool, distinct(order), distinct(pool if split == "held_out" else order, "emoji")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--out", default="eval")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--split", default="held_out", choices=["held_out", "train"],
                    help="prompts and real images from the held-out concepts (the metrics) or from "
                         "the training set (how closely the model draws what it was trained on)")
    ap.add_argument("--languages", default="en,zh,es,fr",
                    help="emoji sets to evaluate, comma-separated; '' for the English set alone")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rwkv7.WKV_IMPL = "batched"
    os.makedirs(args.out, exist_ok=True)
    model = load_model(args.model).to(dev)
    clip, _ = load_clip(args.clip, dev)
    images, meta = load(args.data)
    held, concepts, em = pick_concepts(meta, args.split)
    real = as_model_input(images[held]).to(dev)

    def emb_text(prompts):
        ids, mask = batch_tokens(prompts, model.cfg.text.max_len, dev)
        return clip.encode_text(ids, mask)

    res, per = {}, []

    def save(done):
        """metrics.json and per-prompt.jsonl of the sets done so far: a long CPU run
        cut short keeps them (written again, whole, after each set)"""
        with open(os.path.join(args.out, "metrics.json"), "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)
        with open(os.path.join(args.out, "per-prompt.jsonl"), "w") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in per)
        print(f"evaluate: {done} done", file=sys.stderr, flush=True)

    with torch.no_grad():
        # the CLIP itself on real held-out images
        prompts = english_names(meta, concepts)
        xr = real[[held.index(i) for i in concepts]]
        t1, t5, cs = retrieval(encode_images(clip, xr, dev), emb_text(prompts))
        real_feats = encode_images(clip, real, dev).cpu().numpy()   # FID's reference, for every set
        res[f"clip_real_{args.split.replace('_', '')}"] = {"top1": t1, "top5": t5, "clip_score": cs, "n": len(prompts)}
        gen = sample_all(model, prompts, args.steps, args.guidance, dev=dev)
        gi = encode_images(clip, gen, dev)
        t1, t5, cs = retrieval(gi, emb_text(prompts), per, "generated_en", prompts)
        res["generated_en"] = {"top1": t1, "top5": t5, "clip_score": cs, "n": len(prompts),
                               "fid_clip_features": fid(gi.cpu().numpy(), real_feats)}
        grid(gen[:50]).save(os.path.join(args.out, "samples.png"))
        with open(os.path.join(args.out, "prompts.txt"), "w") as f:
            f.write("\n".join(prompts[:50]) + "\n")
        save("generated_en")
        for lang in [x for x in args.languages.split(",") if x]:
            p = [meta[i]["captions"][lang][0] for i in em]
            gl = encode_images(clip, sample_all(model, p, args.steps, args.guidance, dev=dev), dev)
            t1, t5, cs = retrieval(gl, emb_text(p), per, f"emoji_{lang}", p)
            res[f"emoji_{lang}"] = {"top1": t1, "top5": t5, "clip_score": cs, "n": len(p),
                                    "fid_clip_features": fid(gl.cpu().numpy(), real_feats)}
            save(f"emoji_{lang}")
    print(json.dumps(res, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
