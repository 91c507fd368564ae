"""The denoiser's training step on one device (never a test): where a step's time
goes, and how the image rate scales with the batch. It times train.py's own step
(denoiser_loss, backward, clipping, AdamW, EMA) on the shipped model's config and
weights, with random images and captions: speed does not depend on the data.
Prints JSON lines.

    python3 bench/bench_train.py steps   [--batches 128,256,512,1024] [--wkv ours|fla] [--compile] [--text-cache]
    python3 bench/bench_train.py profile [--batch 256] [--wkv ours|fla] [--compile] [--text-cache]

--wkv fla swaps fla's chunk_rwkv7 (Triton) in for training's batched chunked WKV,
as the peer in the same run; its first loss is printed beside ours so that a
wrong swap shows. --compile runs the U-Net through torch.compile, as train.py
--compile does: this measures whether it pays. Runs on the CPU too, slowly (a dry
run: --batches 4 --steps 2).
"""
import argparse
import copy
import os
import random
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))

import torch  # noqa: E402

import train  # noqa: E402
from bench_gpu import emit, median_ms, sync  # noqa: E402
from dir7 import rwkv7  # noqa: E402
from dir7.diffusion import alphas_cumprod  # noqa: E402
from dir7.export import load_model  # noqa: E402
from dir7.text_cache import TextFeatureCache  # noqa: E402

WORDS = ("red apple green cat face grinning dog tram van laptop notebook egg house star heart "
         "blue background flag of police car classical building pile smiling").split()


def fla_wkv(r, w, k, v, a, b, H, N, state=None):
    """rwkv7.wkv's contract on fla's chunk_rwkv7: fla keeps the state as [K, V],
    training as [V, K]; both in fp32 with autocast off, as training's WKV is."""
    from fla.ops.rwkv7 import chunk_rwkv7
    B, T, _ = r.shape
    args = [x.reshape(B, T, H, N).float().contiguous() for x in (r, w, k, v, a, b)]
    init = None if state is None else state.float().transpose(-1, -2).contiguous()
    with torch.autocast(r.device.type, enabled=False):
        o, S = chunk_rwkv7(*args, scale=1.0, initial_state=init, output_final_state=True)
    return o.reshape(B, T, H * N).to(r.dtype), S.transpose(-1, -2)


def setup(batch, dev, compiled=False, seed=1, text_cache=False):
    """The shipped model, its optimiser and EMA, and a step function like train.py's loop
    (with text_cache, train.py --text-cache-gb's lookup; the bench's captions repeat, so
    every step after the first finds them all: the most that lookup can save)."""
    model = load_model(os.path.join(ROOT, "data", "models", "dir7-default.safetensors")).to(dev)
    model.text.requires_grad_(False).eval()
    opt = torch.optim.AdamW(model.unet.parameters(), lr=1e-4, weight_decay=0.0)
    ema = copy.deepcopy(model.unet).requires_grad_(False)
    unet = torch.compile(model.unet) if compiled else model.unet
    ab = torch.tensor(alphas_cumprod(model.cfg.diffusion), dtype=torch.float32, device=dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    args = types.SimpleNamespace(t_min=0, min_snr=5.0, fp32=False, compile=compiled)   # the shipped recipe's step
    rng = random.Random(seed)
    x = torch.rand(batch, 4, 64, 64, generator=torch.Generator().manual_seed(seed)).to(dev) * 2 - 1
    caps = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8))) for _ in range(batch)]
    cache = TextFeatureCache(model, dev, 2 ** 30) if text_cache else None

    def step():
        loss = train.denoiser_loss(model, unet, x, caps, ab, gen, args, text_cache=cache)
        train.denoiser_update(model.unet, opt, ema, loss, 0.999)
        return loss
    return step


def use_wkv(name):
    rwkv7.WKV_IMPL = "batched"   # what train.py uses
    if name == "fla":
        rwkv7.wkv = fla_wkv


def bench_steps(a, dev, name):
    for batch in (int(b) for b in a.batches.split(",")):
        torch.manual_seed(1234)
        try:
            step = setup(batch, dev, a.compile, text_cache=a.text_cache)
            t0 = time.perf_counter()
            first = step().item()
            first_s = time.perf_counter() - t0   # with torch.compile: the compilation
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            ms = median_ms(step, reps=a.steps, warm=2)
            mib = torch.cuda.max_memory_allocated() / 2 ** 20 if dev.type == "cuda" else -1
            emit(bench="train-step", wkv=a.wkv, compiled=a.compile, text_cache=a.text_cache, device=name,
                 batch=batch, ms=round(ms, 2),
                 images_per_s=round(batch / ms * 1e3, 1), peak_device_mib=round(mib, 1),
                 first_loss=round(first, 6), first_step_s=round(first_s, 1), steps=a.steps,
                 torch=torch.__version__)
        except torch.cuda.OutOfMemoryError as e:
            emit(bench="train-step", wkv=a.wkv, compiled=a.compile, device=name, batch=batch, ms=-1,
                 error=str(e)[:200])
            torch.cuda.empty_cache()


def bench_profile(a, dev, name):
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    torch.manual_seed(1234)
    step = setup(a.batch, dev, a.compile, text_cache=a.text_cache)
    for _ in range(3):
        step()
    sync()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    t0 = time.perf_counter()
    with profile(activities=acts) as prof:
        for _ in range(a.steps):
            step()
        sync()
    wall_ms = (time.perf_counter() - t0) * 1e3 / a.steps
    on_dev = dev.type == "cuda"
    events = prof.key_averages()
    if on_dev:   # kernels are events of their own; ops carry the device time of the kernels they launch
        busy = sum(e.self_device_time_total for e in events if e.device_type == DeviceType.CUDA)
        ops = [e for e in events if e.device_type == DeviceType.CPU]
        key = lambda e: e.self_device_time_total  # noqa: E731
    else:
        ops, key = list(events), (lambda e: e.self_cpu_time_total)
        busy = sum(key(e) for e in ops)
    launches = sum(e.count for e in events
                   if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC"))
    # wall time per step against the device's busy time per step: far apart means the
    # host (Python, kernel launches) is the limit, not the GPU
    emit(bench="train-profile", wkv=a.wkv, compiled=a.compile, device=name, batch=a.batch,
         wall_ms_per_step=round(wall_ms, 2), busy_ms_per_step=round(busy / 1e3 / a.steps, 2),
         kernel_launches_per_step=launches // a.steps)
    for e in sorted(ops, key=key, reverse=True)[:a.top]:
        emit(bench="train-profile-op", op=e.key[:80], calls_per_step=e.count // a.steps,
             ms_per_step=round(key(e) / 1e3 / a.steps, 3), share=round(key(e) / max(busy, 1), 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["steps", "profile"])
    ap.add_argument("--batches", default="128,256,512,1024")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--wkv", default="ours", choices=["ours", "fla"])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--text-cache", action="store_true", help="look the captions' features up (train.py --text-cache-gb)")
    a = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True   # as train.py
    torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    use_wkv(a.wkv)
    {"steps": bench_steps, "profile": bench_profile}[a.part](a, dev, name)


if __name__ == "__main__":
    main()
