"""The PyTorch peers of bench-opencl on the same GPU, in the same run (never a
test). Prints JSON lines like bench-opencl's; bench/report.py makes the table.

    python3 bench/bench_gpu.py wkv        fla's chunk_rwkv7 and fused_recurrent_rwkv7
    python3 bench/bench_gpu.py generate   the PyTorch reference sampler (eager,
                                          then torch.compile) on the default model
"""
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))

import torch  # noqa: E402


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median_ms(fn, reps=20, warm=3):
    """fn's median wall time in ms, each run ended by a GPU synchronise (none on a
    CPU-only machine, where bench_train.py's dry runs use it too)"""
    for _ in range(warm):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def emit(**kw):
    print(json.dumps(kw), flush=True)


def bench_wkv():
    from fla.ops.rwkv7 import chunk_rwkv7, fused_recurrent_rwkv7
    g = torch.Generator(device="cuda").manual_seed(1)
    name = torch.cuda.get_device_name()
    for T in (64, 256, 1024, 4096):
        for H in (2, 4, 8, 16):
            N = 64
            shape = (1, T, H, N)
            r = torch.rand(shape, device="cuda", generator=g) * 2 - 1
            w = -torch.rand(shape, device="cuda", generator=g) * 0.99 - 0.01
            k = (torch.rand(shape, device="cuda", generator=g) * 2 - 1) * 0.1
            v = torch.rand(shape, device="cuda", generator=g) * 2 - 1
            kk = torch.nn.functional.normalize(torch.randn(shape, device="cuda", generator=g), dim=-1)
            a, b = -kk, kk * torch.rand(shape, device="cuda", generator=g)
            for impl, fn in (("fla-chunk", chunk_rwkv7), ("fla-fused-recurrent", fused_recurrent_rwkv7)):
                try:
                    ms = median_ms(lambda: fn(r, w, k, v, a, b, scale=1.0, output_final_state=False))
                    emit(bench="wkv", impl=impl, device=name, B=1, T=T, H=H, N=N, ms=round(ms, 4), ok=True)
                except Exception as e:   # report, go on with the grid
                    emit(bench="wkv", impl=impl, device=name, B=1, T=T, H=H, N=N, ms=-1, ok=False,
                         error=str(e)[:200])


def bench_generate():
    from dir7 import diffusion, rwkv7
    from dir7.export import load_model
    path = os.environ.get("DIR7_BENCH_MODEL", os.path.join(ROOT, "data", "models", "dir7-default.safetensors"))
    model = load_model(path).cuda().eval()
    base = "a red apple on a blue plate, "
    gpu = torch.cuda.get_device_name()

    def run(size, nbytes, reps, unet=None):
        prompt = (base * (nbytes // len(base) + 1))[:nbytes]
        fn = lambda: diffusion.sample(model, prompt, steps=20, seed=1, width=size, height=size,  # noqa: E731
                                      unet=unet)
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        first = time.perf_counter() - t0
        torch.cuda.reset_peak_memory_stats()
        ms = median_ms(fn, reps=reps, warm=0)
        return ms / 1e3, torch.cuda.max_memory_allocated() / 2 ** 20, first

    # the reference's token-by-token WKV (what the tests compare against) ...
    rwkv7.WKV_IMPL = "reference"
    s, mib, _ = run(64, 16, 2)
    emit(bench="generate", impl="pytorch-eager-reference-wkv", ran_on=gpu, size=64, prompt_bytes=16,
         s=round(s, 4), peak_device_mib=round(mib, 2), torch=torch.__version__)
    # ... and the batched chunked WKV that training uses on the GPU: the fair peer
    rwkv7.WKV_IMPL = "batched"
    for size, nbytes, reps in ((64, 16, 10), (128, 16, 3), (256, 16, 3), (64, 64, 3), (64, 256, 3),
                               (64, 1024, 3)):
        s, mib, _ = run(size, nbytes, reps)
        emit(bench="generate", impl="pytorch-eager", ran_on=gpu, size=size, prompt_bytes=nbytes,
             s=round(s, 4), peak_device_mib=round(mib, 2))
    compiled = torch.compile(model.unet)
    try:
        s, mib, first = run(64, 16, 10, unet=compiled)
        emit(bench="generate", impl="pytorch-compiled", ran_on=gpu, size=64, prompt_bytes=16,
             s=round(s, 4), peak_device_mib=round(mib, 2), compile_and_first_run_s=round(first, 1))
    except Exception as e:
        emit(bench="generate", impl="pytorch-compiled", size=64, prompt_bytes=16, s=-1, error=str(e)[:300])


if __name__ == "__main__":
    {"wkv": bench_wkv, "generate": bench_generate}[sys.argv[1]]()
