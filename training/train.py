"""Trains DIR-7 in resumable chunks: `clip` (the in-domain CLIP, whose text
tower becomes the frozen text encoder), then `denoiser`; `export` writes the
model file. One GPU, or several through torchrun (DDP).

    python3 train.py clip     --data cache/dataset --run runs/a --minutes 8
    python3 train.py denoiser --data cache/dataset --run runs/a --minutes 9 [--cross-mode paper]
    python3 train.py export   --run runs/a --out ../data/models/dir7-default.safetensors
    torchrun --standalone --nproc_per_node 8 -- train.py denoiser ...   # --batch per GPU

("--": without it torchrun takes --run for an abbreviation of its own --run-path.)

Each call trains for at most --minutes and leaves a checkpoint in --run, so a
run continues across calls (the device machine's command limit). `export` writes
the EMA's weights; a run that starts from a model file (--init-model) starts its
EMA there at full decay, so after a short run the export still holds much of its
start (0.999^n after n steps): `export --weights raw` writes the optimiser's own.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compile_cache                                       # noqa: E402
from data.everyday import is_listed, read_list             # noqa: E402
from dir7 import rwkv7                                     # noqa: E402
from dir7.clip import Clip                                 # noqa: E402
from dir7.config import Dir7Config                         # noqa: E402
from dir7.dataset import TrainSet                          # noqa: E402
from dir7.diffusion import PREDICTIONS, TimestepNorm, alphas_cumprod, min_snr_weight, training_target  # noqa: E402
from dir7.export import load_model, save_model             # noqa: E402
from dir7.grow import grow_unet                            # noqa: E402
from dir7.ranks import RunClock, check_ranks_agree, setup  # noqa: E402
from dir7.text_encoder import batch_tokens                 # noqa: E402
from dir7.text_cache import TextFeatureCache, text_features  # noqa: E402
from dir7.unet import Dir7Model                            # noqa: E402


def log(rank, *a):
    if rank == 0:
        print(*a, flush=True)


def source_weights(meta, emoji_weight=1.0, stamp_weight=None):
    """Each image's draw weight by its source, or None when all are 1 (plain shuffling).
    Emoji (and Tux Paint's stamps, unless stamp_weight says otherwise) weigh emoji_weight:
    the cleanest images, captioned in many languages (clip art: English titles, often
    file-like, weighs 1). stamp_weight 0 leaves the stamps out: every run that drew them
    lost on the ship test (training log, phases 34 and 37)."""
    by_source = {"emoji": emoji_weight, "tuxpaint": emoji_weight if stamp_weight is None else stamp_weight}
    w = [by_source.get(m["source"], 1.0) for m in meta]
    if all(x == 1.0 for x in w):
        return None
    if min(w) < 0 or max(w) == 0:
        raise SystemExit("train.py: source weights must be >= 0 and leave some image to draw")
    return torch.tensor(w, dtype=torch.double)


def focus_weights(meta, w, focus, share, keep=None):
    """w (None: all 1) with the emoji whose ids are in focus scaled to take share of the
    draws together; the other images keep their weights relative to each other. A model
    aimed at drawing fewer, everyday concepts well (data/everyday.py; training log,
    phase 42) still draws the rest, so that unseen prompts keep what they had.
    keep: a source whose unfocused images keep the share of the draws they had without
    the focus, so that the focus takes its share from the other images alone. The focus
    on everyday emoji took its draws from the clip art too, and the held-out clip art
    lost (training log, phases 45 to 48); phase 50 kept "openclipart"."""
    if not 0 < share < 1:
        raise SystemExit("train.py: --focus-share must be between 0 and 1")
    w = torch.ones(len(meta), dtype=torch.double) if w is None else w.clone()
    mask = torch.tensor([is_listed(m, focus) for m in meta])
    fw, rw = w[mask].sum(), w[~mask].sum()
    if fw == 0 or rw == 0:
        raise SystemExit("train.py: --focus must name some training emoji and leave others to draw")
    if keep is None:
        w[mask] *= share / (1 - share) * rw / fw
        return w
    # the total stays as it was, so the kept images keep their weights and their share
    total = w.sum()
    kept = torch.tensor([m["source"] == keep for m in meta]) & ~mask
    rest = ~mask & ~kept
    share_kept = w[kept].sum() / total
    left = 1 - share - share_kept
    if share_kept == 0 or w[rest].sum() == 0 or left <= 0:
        raise SystemExit(f"train.py: --focus-keep {keep}: its share ({share_kept:.0%}) and the focus's "
                         "must leave some draws to the other images")
    w[mask] *= share * total / fw
    w[rest] *= left * total / w[rest].sum()
    return w


def loader(data, batch, rank, world, seed, emoji_weight=1.0, probe=0, stamp_weight=None, focus=None,
           focus_keep=None):
    """focus: (emoji ids, share of the draws) or None; focus_keep: a source whose images keep
    their share of the draws under the focus (focus_weights' keep), or None."""
    ds = TrainSet(data, "train", augment=True, seed=seed + rank, probe=probe)
    w = None if probe else source_weights(ds.meta, emoji_weight, stamp_weight)
    if focus and not probe:
        w = focus_weights(ds.meta, w, *focus, keep=focus_keep)
    if probe:   # a few images: draw with replacement, 100 batches an epoch, so a batch may exceed
        # the set and the loader does not restart its workers every step
        sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=100 * batch,
                                                 generator=torch.Generator().manual_seed(seed + rank))
    elif w is not None:
        sampler = torch.utils.data.WeightedRandomSampler(w, len(ds) // world, replacement=True,
                                                         generator=torch.Generator().manual_seed(seed + rank))
    elif world > 1:
        sampler = torch.utils.data.DistributedSampler(ds, world, rank, seed=seed)
    else:
        sampler = None
    return ds, torch.utils.data.DataLoader(ds, batch_size=batch, sampler=sampler, shuffle=sampler is None,
                                           num_workers=args_workers(), drop_last=True,
                                           persistent_workers=args_workers() > 0)


def set_epoch(dl, epoch):
    """A DistributedSampler shuffles by its epoch: without this each epoch repeats the first's order."""
    if hasattr(dl.sampler, "set_epoch"):
        dl.sampler.set_epoch(epoch)


def args_workers():
    return min(6, (os.cpu_count() or 2) - 1)


def config_for(args):
    cfg = Dir7Config()
    cfg.unet.cross_mode = args.cross_mode
    cfg.diffusion.prediction = args.prediction
    if getattr(args, "dir7_levels", None):
        cfg.unet.dir7_levels = [c == "1" for c in args.dir7_levels.split(",")]
        if len(cfg.unet.dir7_levels) != len(cfg.unet.channel_mult):
            raise SystemExit(f"--dir7-levels needs {len(cfg.unet.channel_mult)} values, one per U-Net level")
    cfg.unet.text_embed = bool(getattr(args, "text_embed", False))
    cfg.unet.num_res_blocks = getattr(args, "res_blocks", None) or cfg.unet.num_res_blocks
    return cfg


def save_ckpt(path, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def anneal_lr(opt, base_lr, frac, warm=1.0):
    """Cosine from base_lr down to a tenth of it as frac goes from 0 to 1, times warm."""
    frac = min(1.0, frac)
    for g in opt.param_groups:
        g["lr"] = warm * base_lr * (0.1 + 0.45 * (1 + math.cos(math.pi * frac)))


def anneal_fraction(now, t0, t_first, minutes, step, max_steps):
    """How far --anneal's cosine has gone: the time since the first step ended over the
    run's time left then, or the share of --max-steps done, whichever is further. The
    clock starts after the first step because torch.compile spends it compiling, 10
    minutes once on the H200, and those must not use up the schedule (t_first None:
    no step yet)."""
    if t_first is None:
        return step / max_steps
    left = max(minutes * 60 - (t_first - t0), 1e-9)
    return max((now - t_first) / left, step / max_steps)


def span_fraction(frac, span):
    """--anneal-span A,B: this run covers the part A..B of one cosine that several runs
    share (chunks of one schedule, each within one device call), so its own fraction
    0..1 maps to A..B."""
    a, b = span
    return a + (b - a) * min(1.0, frac)


WARM_STEPS = 200


def warm_factor(step, warm_from):
    """The lr's linear warm-up over WARM_STEPS steps from warm_from (None: none). A fresh
    Adam moves every weight by about lr at once: 2 steps at the full 5e-4 halved a trained
    CLIP's held-out top-1, and one denoiser step from the shipped file (lr 1e-4, batch 16)
    tripled its loss at t = 300."""
    return 1.0 if warm_from is None else min(1.0, (step - warm_from + 1) / WARM_STEPS)


def ema_decay(step, ema, warm_from):
    """The EMA's decay at this step: warming up with the step count from scratch, its full
    value from the first step when continuing a model file (warm_from set), whose weights
    are already an average."""
    return ema if warm_from is not None else min(ema, (1 + step) / (10 + step))


def train_clip(args, rank, world, control, dev):
    cfg = config_for(args)
    path = os.path.join(args.run, "clip.pt")
    model = Clip(cfg).to(dev)
    if args.freeze_text:   # an image tower (and projection) for a given text encoder, e.g. the shipped one
        if not (args.init_clip or os.path.exists(path)):
            raise SystemExit("--freeze-text needs --init-clip: the CLIP whose text tower stays as it is")
        model.text.requires_grad_(False)
    base_lr = args.lr or 5e-4
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=base_lr, weight_decay=0.05)
    step, warm_from = 0, None
    if os.path.exists(path):
        ck = torch.load(path, map_location=dev)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); step = ck["step"]
    elif args.init_clip:   # continue a CLIP's weights (a shipped text encoder's), fresh optimiser
        ck = torch.load(args.init_clip, map_location=dev)
        model.load_state_dict({k: v.float() for k, v in ck["model"].items()}); step = ck["step"]
        log(rank, f"clip: initialised from {args.init_clip} ({step} steps)")
        warm_from = step
    ddp = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    ds, dl = loader(args.data, args.batch, rank, world, step)
    clock, elapsed, epoch = RunClock(world, control), 0.0, 0
    t_snap = time.time()
    while elapsed < args.minutes * 60:
        set_epoch(dl, epoch)
        epoch += 1
        for x, caps in dl:
            warm = warm_factor(step, warm_from)
            if args.anneal or warm < 1:
                anneal_lr(opt, base_lr, elapsed / (args.minutes * 60) if args.anneal else 0, warm)
            ids, mask = batch_tokens(caps, cfg.text.max_len, dev)
            with torch.autocast(dev.type, torch.bfloat16):
                loss = ddp(x.to(dev), ids, mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            step += 1
            elapsed = clock.elapsed()
            if step % 50 == 0:
                log(rank, f"clip step {step} loss {loss.item():.3f} {elapsed:.0f}s")
            if elapsed > args.minutes * 60:
                break
            if rank == 0 and args.save_minutes and time.time() - t_snap > args.save_minutes * 60:
                t_snap = time.time()   # weights only: to measure retrieval along the run
                save_ckpt(os.path.join(args.run, f"clip-{step}.pt"), model=model.state_dict(), step=step,
                          config=cfg.to_json())
    if rank == 0:
        save_ckpt(path, model=model.state_dict(), opt=opt.state_dict(), step=step, config=cfg.to_json())
    log(rank, f"clip: {step} steps, checkpoint {path}")
    check_ranks_agree(model, world, control)


def denoiser_loss(model, unet, x, caps, ab, gen, args, tnorm=None, text_cache=None):
    """One batch's training loss (bench/bench_train.py times this and denoiser_update): 10%
    caption dropout, the frozen text encoder's features (looked up in text_cache when
    given), a random timestep and noise per image, and the U-Net's squared error against
    the prediction target, weighted by Min-SNR or --t-norm. unet is model.unet, or its
    DDP wrapper."""
    cfg, dev = model.cfg, x.device
    caps = ["" if torch.rand(1).item() < 0.1 else c for c in caps]   # caption dropout
    if text_cache is not None:
        text, mask = text_cache(caps)
    else:
        # compiled, every batch gets the one longest shape: with a dynamic caption length the
        # H200 spent 10 of a 22-minute run compiling (training log, phase 19)
        ids, mask = batch_tokens(caps, cfg.text.max_len, dev, fixed=args.compile)
        text = text_features(model, ids, mask)
    t = torch.randint(args.t_min, cfg.diffusion.timesteps, (x.shape[0],), device=dev, generator=gen)
    noise = torch.randn(x.shape, device=dev, generator=gen)
    a = ab[t].view(-1, 1, 1, 1)
    xt = a.sqrt() * x + (1 - a).sqrt() * noise
    target = training_target(cfg.diffusion.prediction, x, noise, a)   # float32, as x and noise
    with torch.autocast(dev.type, torch.bfloat16, enabled=not args.fp32):
        err = (unet(xt, t, text, mask).float() - target).pow(2).mean((1, 2, 3))
    if args.min_snr:
        err = err * min_snr_weight(a.view(-1), args.min_snr, cfg.diffusion.prediction)
    if tnorm:
        err = tnorm(err, t)
    return err.mean()


def denoiser_update(unet, opt, ema, loss, decay):
    """One optimiser step on loss (gradients clipped to norm 1), then the EMA."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
    opt.step()
    ema_update(ema, unet, decay)


@torch.no_grad()
def ema_update(ema, unet, decay):
    """ema <- decay * ema + (1 - decay) * unet, in one foreach call rather than one
    small kernel per tensor"""
    torch._foreach_lerp_(list(ema.parameters()), list(unet.parameters()), 1 - decay)


def train_denoiser(args, rank, world, control, dev):
    cfg = config_for(args)
    path = os.path.join(args.run, f"denoiser-{args.cross_mode}.pt")
    clip = torch.load(os.path.join(args.run, "clip.pt"), map_location=dev)
    model = Dir7Model(cfg).to(dev)
    model.text.load_state_dict({k[5:]: v for k, v in clip["model"].items() if k.startswith("text.")})
    model.text.requires_grad_(False).eval()
    base_lr = args.lr or 1e-4
    opt = torch.optim.AdamW(model.unet.parameters(), lr=base_lr, weight_decay=0.0)
    ema = copy.deepcopy(model.unet).requires_grad_(False)
    tnorm = TimestepNorm(cfg.diffusion.timesteps, device=dev) if args.t_norm else None
    step, warm_from = 0, None
    if os.path.exists(path):
        ck = torch.load(path, map_location=dev)
        was = Dir7Config.from_json(ck["config"]).diffusion.prediction
        if was != cfg.diffusion.prediction:   # resuming with the other target would quietly retrain
            raise SystemExit(f"{path} is a {was}-prediction run: resume it with --prediction {was}")
        model.unet.load_state_dict(ck["unet"]); ema.load_state_dict(ck["ema"]); opt.load_state_dict(ck["opt"])
        step = ck["step"]
        if tnorm and "tnorm" in ck:
            tnorm.load_state_dict(ck["tnorm"])
    elif args.init_model:   # continue from a model file's weights, fresh optimiser
        init = load_model(args.init_model)
        new = grow_unet(model.unet, init.unet.state_dict())   # none when the configs agree
        ema.load_state_dict(model.unet.state_dict())
        log(rank, f"denoiser: initialised from {args.init_model}" + (f", new parts {new}" if new else ""))
        # a fresh optimiser: warm the lr up, and keep the EMA at its full decay from the
        # start, since the init is already an average (the EMA's own warm-up would make it
        # follow the first, warming steps)
        warm_from = 0
    unet = torch.nn.parallel.DistributedDataParallel(model.unet) if world > 1 else model.unet
    if args.compile:   # the step's speed either way: bench/bench_train.py (run_device.sh train-compile)
        unet = torch.compile(unet)
    loaded = compile_cache.load_all([args.compile_cache] + args.compile_cache_also) if args.compile else None
    if loaded:
        log(rank, f"denoiser: compile cache: {loaded}")
    ab = torch.tensor(alphas_cumprod(cfg.diffusion), dtype=torch.float32, device=dev)
    text_cache = TextFeatureCache(model, dev, args.text_cache_gb * 2 ** 30) if args.text_cache_gb else None
    focus = (read_list(args.focus), args.focus_share) if args.focus else None
    if args.focus_keep and not focus:
        raise SystemExit("train.py: --focus-keep needs --focus")
    ds, dl = loader(args.data, args.batch, rank, world, step, args.emoji_weight, args.probe, args.stamp_weight, focus,
                    args.focus_keep)
    gen = torch.Generator(device=dev).manual_seed(1000 + step * world + rank)
    log(rank, f"denoiser: {sum(p.numel() for p in model.unet.parameters())} parameters, {len(ds)} images")
    if focus:
        n = sum(is_listed(m, focus[0]) for m in ds.meta)
        log(rank, f"denoiser: focus: {n} emoji of {args.focus} take {focus[1]:.0%} of the draws"
            + (f"; {args.focus_keep} keeps its share" if args.focus_keep else ""))

    def checkpoint(step):
        save_ckpt(path, unet=model.unet.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                  config=cfg.to_json(), **({"tnorm": tnorm.state_dict()} if tnorm else {}))

    # elapsed: the ranks' shared clock (dir7/ranks.py), read once a step
    clock, elapsed, epoch = RunClock(world, control), 0.0, 0
    t_saved = time.time()
    t_first = None   # when this run's first step ended (the anneal's clock starts there)
    while elapsed < args.minutes * 60:
        set_epoch(dl, epoch)
        epoch += 1
        for x, caps in dl:
            warm = warm_factor(step, warm_from)
            if args.anneal or warm < 1:
                frac = span_fraction(anneal_fraction(elapsed, 0, t_first, args.minutes, step, args.max_steps),
                                     args.anneal_span) if args.anneal else 0
                anneal_lr(opt, base_lr, frac, warm)
            x = x.to(dev, non_blocking=True)
            loss = denoiser_loss(model, unet, x, caps, ab, gen, args, tnorm, text_cache)
            denoiser_update(model.unet, opt, ema, loss, ema_decay(step, args.ema, warm_from))
            step += 1
            elapsed = clock.elapsed()
            if t_first is None:
                t_first = elapsed
                log(rank, f"denoiser: first step done at {t_first:.0f}s")
                # the first step compiled forward and backward
                if args.compile and rank == 0 and compile_cache.worth_saving(loaded):
                    saved = compile_cache.save(args.compile_cache)
                    if saved:
                        log(rank, f"denoiser: compile cache: {saved}")
            if step % 100 == 0:
                cached = f" text cache {len(text_cache)} captions held, {text_cache.encoded} encoded" \
                    if text_cache is not None and step % 1000 == 0 else ""
                log(rank, f"denoiser[{args.cross_mode}] step {step} loss {loss.item():.4f} {elapsed:.0f}s"
                    + cached)
            if elapsed > args.minutes * 60 or step >= args.max_steps:
                break
            # a lent machine can go away mid-run: keep a recent checkpoint on disk
            if rank == 0 and (step % 2000 == 0 or
                              (args.save_minutes and time.time() - t_saved > args.save_minutes * 60)):
                t_saved = time.time()
                checkpoint(step)
        if step >= args.max_steps:
            break
    if rank == 0:
        checkpoint(step)
    log(rank, f"denoiser: {step} steps, checkpoint {path}")
    check_ranks_agree(model.unet, world, control)


def export(args):
    ck = torch.load(os.path.join(args.run, f"denoiser-{args.cross_mode}.pt"), map_location="cpu")
    clip = torch.load(os.path.join(args.run, "clip.pt"), map_location="cpu")
    cfg = Dir7Config.from_json(ck["config"])
    model = Dir7Model(cfg)
    model.text.load_state_dict({k[5:]: v for k, v in clip["model"].items() if k.startswith("text.")})
    # the EMA ships; the raw weights show what a short call fitted (an EMA at 0.999 that
    # starts at full decay still holds 0.999^450 = 64% of its init after 450 steps)
    model.unet.load_state_dict(ck["ema" if args.weights == "ema" else "unet"])
    save_model(model, args.out, torch.float16)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB, {ck['step']} denoiser steps, "
          f"{args.weights} weights)")


def parse_span(text):
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--anneal-span {text}: want two numbers A,B") from None
    if not 0 <= a < b <= 1:
        raise argparse.ArgumentTypeError(f"--anneal-span {text}: want 0 <= A < B <= 1")
    return a, b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["clip", "denoiser", "export"])
    ap.add_argument("--data", default="cache/dataset")
    ap.add_argument("--run", default="runs/default")
    ap.add_argument("--minutes", type=float, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--init-model", default=None, help="denoiser: start from this model file's weights")
    ap.add_argument("--init-clip", default=None, help="clip: start from this CLIP checkpoint's weights")
    ap.add_argument("--freeze-text", action="store_true",
                    help="clip: train the image tower, text projection and scale only; --init-clip's text "
                         "tower (the shipped text encoder) stays bit for bit")
    ap.add_argument("--save-minutes", type=float, default=0,
                    help="denoiser: also checkpoint this often; clip: keep its weights this often as clip-STEP.pt")
    ap.add_argument("--anneal", action="store_true",
                    help="cosine lr decay to lr/10 over --minutes (denoiser: or --max-steps, whichever ends first)")
    ap.add_argument("--anneal-span", type=parse_span, default=(0.0, 1.0), metavar="A,B",
                    help="denoiser: with --anneal, this run is the part A..B of the cosine (resumable chunks)")
    ap.add_argument("--min-snr", type=float, default=0, help="denoiser: Min-SNR-gamma loss weight (0: plain MSE)")
    ap.add_argument("--emoji-weight", type=float, default=1.0,
                    help="denoiser: sampling weight of emoji images and Tux Paint stamps (clip art: 1)")
    ap.add_argument("--stamp-weight", type=float, default=None,
                    help="denoiser: sampling weight of Tux Paint stamps alone (default: --emoji-weight's; "
                         "0 leaves them out, the data set and its held-out split unchanged)")
    ap.add_argument("--focus", default=None, metavar="FILE",
                    help="denoiser: emoji drawn more often, one per line (data/everyday-emoji.txt)")
    ap.add_argument("--focus-share", type=float, default=0.5,
                    help="denoiser: with --focus, the share of all draws that go to those emoji")
    ap.add_argument("--focus-keep", default=None, choices=["openclipart", "emoji", "tuxpaint"],
                    help="denoiser: with --focus, this source's unfocused images keep the share of the draws "
                         "they had without it; the other unfocused images give the focus its share")
    ap.add_argument("--t-min", type=int, default=0,
                    help="denoiser: draw timesteps from [t-min, T) only (the noisy end, where the prompt decides)")
    ap.add_argument("--t-norm", action="store_true",
                    help="denoiser: divide each sample's loss by the running mean loss at its noise level "
                         "(20 levels), so the noisy end counts as much as the rest")
    ap.add_argument("--fp32", action="store_true",
                    help="denoiser: run the U-Net in float32 (TF32 on a GPU), not bfloat16: at the noisy end "
                         "the noise must pass through to better than bfloat16's 0.4%%")
    ap.add_argument("--probe", type=int, default=0,
                    help="denoiser: train only on the N emoji that tools/caption_gain.py measures on "
                         "(can the prompt path tell them apart?)")
    ap.add_argument("--max-steps", type=int, default=10 ** 9, help="stop at this step (equal budgets)")
    ap.add_argument("--compile", action="store_true",
                    help="denoiser: run the U-Net's forward and backward through torch.compile (minutes to "
                         "compile; checkpoints and exports are the same module's weights)")
    ap.add_argument("--compile-cache", default=None, metavar="FILE",
                    help="denoiser, with --compile: load torch.compile's kernels from FILE when it exists, "
                         "and write them there after the first step (carried to the next lent machine)")
    ap.add_argument("--compile-cache-also", action="append", default=[], metavar="FILE",
                    help="denoiser, with --compile: load these kernels too, never written (another GPU's: "
                         "what an H100 compiled beside the H200's cache, training log phase 43)")
    ap.add_argument("--text-cache-gb", type=float, default=0, metavar="GIB",
                    help="denoiser: keep the frozen text encoder's features of each caption seen, in up to "
                         "GIB GiB of device memory, and look them up instead of encoding again (0: off; 66 KB a "
                         "caption)")
    ap.add_argument("--cross-mode", default="state", choices=["state", "paper"])
    ap.add_argument("--prediction", default="epsilon", choices=PREDICTIONS,
                    help="denoiser: what the U-Net outputs, the noise or v (docs/model.md); "
                         "--init-model may be an epsilon model")
    ap.add_argument("--dir7-levels", default=None,
                    help="denoiser: which U-Net levels carry DIR-7 blocks, e.g. 0,1,1 (default: the config's); "
                         "blocks new to --init-model start as the identity")
    ap.add_argument("--res-blocks", type=int, default=None,
                    help="denoiser: ResBlocks per U-Net level (default: the config's); blocks new to "
                         "--init-model start as the identity (dir7/grow.py)")
    ap.add_argument("--text-embed", action="store_true",
                    help="denoiser: add the prompt's last-token feature to the time embedding (GLIDE's "
                         "global conditioning; docs/model.md); new to --init-model, it starts at zero")
    ap.add_argument("--out", default="../data/models/dir7-default.safetensors")
    ap.add_argument("--weights", choices=["ema", "raw"], default="ema",
                    help="export: the EMA's weights (what ships) or the optimiser's own (raw)")
    args = ap.parse_args()
    if not 0 <= args.t_min < Dir7Config().diffusion.timesteps:
        ap.error(f"--t-min must lie in [0, {Dir7Config().diffusion.timesteps})")
    if args.t_norm and args.min_snr:
        ap.error("--t-norm replaces --min-snr's weighting: use one of them")
    if args.stage == "export":
        return export(args)
    os.makedirs(args.run, exist_ok=True)
    rwkv7.WKV_IMPL = "batched"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    rank, world, control = setup()
    dev = (torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available()
           else torch.device("cpu"))
    torch.manual_seed(1234 + rank)
    {"clip": train_clip, "denoiser": train_denoiser}[args.stage](args, rank, world, control, dev)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
