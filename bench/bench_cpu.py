"""CPU backend vs PyTorch on the CPU: the same model file, prompt, seed, sampler
and thread count, timed in one run. A benchmark, never a test.

    python3 bench/bench_cpu.py [--model data/models/dir7-default.safetensors] [--threads 2]

Prints the median of --repeat runs of each and the ratio (PyTorch / C; > 1
means the C core is faster). Needs torch and a built ./build/cli/dir7.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "models", "dir7-default.safetensors"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir7", default=os.path.join(ROOT, "build", "cli", "dir7"))
    args = ap.parse_args()
    import torch
    from dir7 import diffusion
    from dir7.export import load_model
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    c_times, t_times = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run([args.dir7, "generate", "red apple", "--model", args.model, "--device", "cpu", "--steps", str(args.steps),
                        "--seed", "1", "--quiet", "-o", "/tmp/dir7-bench.png"], check=True, env=env)
        c_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        diffusion.sample(model, "red apple", steps=args.steps, seed=1)
        t_times.append(time.perf_counter() - t0)
    c, t = statistics.median(c_times), statistics.median(t_times)
    print(f"{args.steps} DPM-Solver++ steps, guidance 5, {model.cfg.image_size}x{model.cfg.image_size}, "
          f"{args.threads} threads")
    print(f"C core (whole CLI run, model load included): {c:.2f} s")
    print(f"PyTorch {torch.__version__} eager:                {t:.2f} s")
    print(f"ratio PyTorch / C: {t / c:.2f}x")


if __name__ == "__main__":
    main()
