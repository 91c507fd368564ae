"""DDPM schedule, samplers, guidance, img2img and inpainting (contract section 7).

The C core (core/sampler.c, core/pipeline.c) follows this file step for step:
same timesteps, same coefficients (computed in double), same noise streams.
"""
import math
import torch

from .noise import randn_torch
from .text_encoder import batch_tokens

STREAM_INIT = 0           # the starting latent noise
STREAM_DDPM = 1           # + step index: DDPM's per-step noise
STREAM_KNOWN = 0x10000    # + step index: inpainting's re-noised known region
SAMPLERS = ("ddpm", "ddim", "dpmpp-2m")
PREDICTIONS = ("epsilon", "v")   # what the U-Net outputs (config diffusion.prediction)


def alphas_cumprod(dcfg):
    """Linear betas beta_start..beta_end over `timesteps`, cumulative product in double."""
    T = dcfg.timesteps
    ab, out = 1.0, []
    for i in range(T):
        beta = dcfg.beta_start + (dcfg.beta_end - dcfg.beta_start) * i / (T - 1)
        ab *= 1.0 - beta
        out.append(ab)
    return out


def training_target(prediction, x0, noise, ab_t):
    """What the U-Net learns to output for x_t = sqrt(ab) x0 + sqrt(1-ab) noise:
    the noise, or v = sqrt(ab) noise - sqrt(1-ab) x0. Near pure noise v is about
    -x0, so a v-model need not pass its input through to get the noise right."""
    if prediction == "v":
        return ab_t.sqrt() * noise - (1 - ab_t).sqrt() * x0
    return noise


def predicted_x0(prediction, out, x, ab_t):
    """The clean estimate from the U-Net's output at x (alpha-bar ab_t, a float),
    clamped to [-1, 1]; core/sampler.c's d7_predicted_x0 is its twin."""
    c1, c2 = math.sqrt(1.0 - ab_t), math.sqrt(ab_t)
    x0 = c2 * x - c1 * out if prediction == "v" else (x - c1 * out) / c2
    return x0.clamp(-1.0, 1.0)


def predicted_noise(prediction, out, x, ab_t):
    """The noise estimate from the U-Net's output (ab_t: a float or a tensor), so
    epsilon and v models can be measured with the same epsilon loss."""
    if prediction == "v":
        return (1 - ab_t) ** 0.5 * x + ab_t ** 0.5 * out
    return out


def min_snr_weight(ab_t, gamma, prediction="epsilon"):
    """Min-SNR-gamma loss weight at alpha-bar ab_t (training only), Hang et al.
    2023: the clean-image error counts min(SNR, gamma) times, so steps with
    little noise, where the prompt cannot change the picture any more, count
    less. An epsilon loss already weighs that error by SNR, a v loss by SNR + 1."""
    snr = ab_t / (1 - ab_t)
    return snr.clamp(max=gamma) / (snr + 1 if prediction == "v" else snr)


class TimestepNorm:
    """Per-noise-level loss normalisation (training only). Each sample's epsilon loss
    is divided by a running mean of the loss at its noise level (`buckets` equal
    ranges of timesteps) and multiplied by the mean over levels, so every level
    counts the same relative to its own error while the loss keeps its plain
    scale. The epsilon loss falls with the SNR (about 40x from t = 300 to 900), so
    plain MSE all but ignores the noisy end, where the object is decided.
    Under DDP each rank keeps its own running means (from its own samples)."""

    def __init__(self, T, buckets=20, decay=0.99, device=None):
        self.width = -(-T // buckets)
        self.decay = decay
        self.mean = torch.zeros(buckets, device=device)
        self.seen = torch.zeros(buckets, dtype=torch.bool, device=device)

    @torch.no_grad()
    def update(self, err, t):
        b = t // self.width
        sums = torch.zeros_like(self.mean).index_add_(0, b, err.detach().float())
        counts = torch.bincount(b, minlength=len(self.mean))
        hit = counts > 0
        batch_mean = sums[hit] / counts[hit]
        old = self.mean[hit]
        self.mean[hit] = torch.where(self.seen[hit], self.decay * old + (1 - self.decay) * batch_mean, batch_mean)
        self.seen |= hit

    def __call__(self, err, t):
        """err: per-sample losses at timesteps t; returns them reweighted (the
        weights carry no gradient)."""
        self.update(err, t)
        with torch.no_grad():
            w = self.mean[self.seen].mean() / self.mean[t // self.width].clamp(min=1e-12)
        return err * w

    def state_dict(self):
        return {"mean": self.mean.cpu(), "seen": self.seen.cpu()}

    def load_state_dict(self, sd):
        self.mean.copy_(sd["mean"])
        self.seen.copy_(sd["seen"])


def timesteps(T, steps):
    """Descending integer timesteps: t_i = (T-1)(steps-i) // steps, i < steps."""
    return [((T - 1) * (steps - i)) // steps for i in range(steps)]


def first_step(steps, strength):
    """img2img starts this many steps in; at least one step always runs."""
    return steps - max(1, min(steps, int(steps * strength)))


class Sampler:
    def __init__(self, name, ab, seed):
        assert name in SAMPLERS, name
        self.name, self.ab, self.seed = name, ab, seed
        self.prev_x0 = None
        self.prev_h = None

    def step(self, i, x, x0, t, s):
        """Move x from timestep t to s (s = -1: the clean image) given x0(x, t)."""
        ab_t = self.ab[t]
        ab_s = self.ab[s] if s >= 0 else 1.0
        if s < 0:
            return x0
        if self.name == "ddim":
            eps = (x - math.sqrt(ab_t) * x0) / math.sqrt(1.0 - ab_t)
            return math.sqrt(ab_s) * x0 + math.sqrt(1.0 - ab_s) * eps
        if self.name == "ddpm":
            beta = 1.0 - ab_t / ab_s
            c0 = math.sqrt(ab_s) * beta / (1.0 - ab_t)
            ct = math.sqrt(1.0 - beta) * (1.0 - ab_s) / (1.0 - ab_t)
            sigma = math.sqrt(beta * (1.0 - ab_s) / (1.0 - ab_t))
            z = randn_torch(self.seed, STREAM_DDPM + i, 0, x.shape).to(x.device)
            return c0 * x0 + ct * x + sigma * z
        # DPM-Solver++(2M), data prediction
        lam_t = 0.5 * math.log(ab_t / (1.0 - ab_t))
        lam_s = 0.5 * math.log(ab_s / (1.0 - ab_s))
        h = lam_s - lam_t
        d = x0
        if self.prev_x0 is not None:
            r = self.prev_h / h
            d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * self.prev_x0
        self.prev_x0, self.prev_h = x0, h
        sig_ratio = math.sqrt((1.0 - ab_s) / (1.0 - ab_t))
        return sig_ratio * x - math.sqrt(ab_s) * math.expm1(-h) * d


@torch.no_grad()
def sample(model, prompt, negative="", steps=20, sampler="dpmpp-2m", guidance=5.0,
           seed=0, width=None, height=None, init=None, strength=1.0, mask=None,
           progress=None, unet=None):
    """One image. init: [C,H,W] in [-1,1]; mask: [H,W], 1 = regenerate.
    Returns [C,H,W] in [-1,1] (premultiplied RGBA for 4 channels). Runs on
    the model's device; unet may replace model.unet (a torch.compile'd one)."""
    cfg = model.cfg
    dev = next(model.parameters()).device
    net = model.unet if unet is None else unet
    C = cfg.unet.image_channels
    H = height or cfg.image_size
    W = width or cfg.image_size
    ab = alphas_cumprod(cfg.diffusion)
    ts = timesteps(cfg.diffusion.timesteps, steps)
    start = first_step(steps, strength) if init is not None else 0

    prompts = [prompt] if guidance == 1.0 else [negative or "", prompt]
    ids, tmask = batch_tokens(prompts, cfg.text.max_len)
    ids, tmask = ids.to(dev), tmask.to(dev)
    text = model.text(ids, tmask)
    cache = {}  # state mode: each block's prompt state, computed once

    noise = randn_torch(seed, STREAM_INIT, 0, (C, H, W)).to(dev)
    if init is not None:
        init = init.to(dev)
    if mask is not None:
        mask = mask.to(dev)
    if init is not None:
        a = ab[ts[start]]
        x = math.sqrt(a) * init + math.sqrt(1.0 - a) * noise
    else:
        x = noise
    smp = Sampler(sampler, ab, seed)
    for i in range(start, steps):
        t = ts[i]
        s = ts[i + 1] if i + 1 < steps else -1
        xb = x[None].expand(len(prompts), -1, -1, -1)
        tb = torch.full((len(prompts),), t, dtype=torch.long, device=dev)
        out = net(xb, tb, text, tmask, cache)
        out = out[0] if len(prompts) == 1 else out[0] + guidance * (out[1] - out[0])
        x0 = predicted_x0(cfg.diffusion.prediction, out, x, ab[t])
        x = smp.step(i, x, x0, t, s)
        if mask is not None:
            if s >= 0:
                z = randn_torch(seed, STREAM_KNOWN + i, 0, (C, H, W)).to(dev)
                known = math.sqrt(ab[s]) * init + math.sqrt(1.0 - ab[s]) * z
            else:
                known = init
            x = mask * x + (1.0 - mask) * known
        if progress is not None:
            progress(i - start + 1, steps - start, x0)
    return x
