"""How much of a continued run's progress its EMA export holds: a model of the lag.

A run that continues a model file (train.py --init-model) starts its EMA at that
file's weights at full decay, and `train.py export` writes the EMA. Taking the
learning rate summed over the steps as the run's progress (train.py's own warm-up
and cosine, --anneal-span A,B), the EMA sits at a weighted mean of that progress;
this prints the share of the run's progress it holds (training log, phase 36). On
phase 36's 450-step probe it gives 0.22; measured there, the EMA's MSE drop was 0.27
of the raw weights'.

    python3 -m tools.ema_lag --steps 1700 --span 0,0.5 --ema 0.999 0.995
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # noqa: E402


def lr_schedule(steps, span=(0.0, 1.0), base_lr=5e-4):
    """the lr of each step of a continued, step-annealed run (train.py's formulas)"""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    out = []
    for step in range(steps):
        frac = train.span_fraction(step / steps, span)
        train.anneal_lr(opt, base_lr, frac, train.warm_factor(step, 0))
        out.append(opt.param_groups[0]["lr"])
    return out


def ema_share(lrs, decay):
    """the share of sum(lrs) at which an EMA of decay, started at 0 with full decay, ends
    (the position after k steps being the sum of the first k)"""
    pos, ema = 0.0, 0.0
    for lr in lrs:
        pos += lr
        ema = decay * ema + (1 - decay) * pos
    return ema / pos


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--span", default="0,1", help="--anneal-span A,B of the run")
    ap.add_argument("--ema", type=float, nargs="+", default=[0.999])
    args = ap.parse_args()
    lrs = lr_schedule(args.steps, train.parse_span(args.span))
    for d in args.ema:
        print(f"{args.steps} steps, span {args.span}, EMA {d}: the export holds "
              f"{ema_share(lrs, d):.2f} of the run's progress")


if __name__ == "__main__":
    main()
