"""One rank of tests/test_ddp.py's torchrun runs: train.py's own main() on the tests' tiny
network, with rank 1's clock running DDP_SKEW times as fast as rank 0's (the drift between
a real machine's ranks, made large) and, with DDP_PERTURB=1, one of rank 1's weights moved
just before the ranks' final check."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # noqa: E402
from dir7.config import tiny_config  # noqa: E402


def tiny_config_for(args):
    cfg = tiny_config(args.cross_mode)
    cfg.diffusion.prediction = args.prediction
    return cfg


def skew_clock(factor):
    real, start = time.time, time.time()
    time.time = lambda: start + (real() - start) * factor


def perturb_before_check():
    agree = train.check_ranks_agree

    def perturbed(module, world, group=None):
        with torch.no_grad():
            next(module.parameters()).view(-1)[0] += 1e-3
        agree(module, world, group)

    train.check_ranks_agree = perturbed


if __name__ == "__main__":
    train.config_for = tiny_config_for
    if int(os.environ.get("RANK", 0)) == 1:
        skew_clock(float(os.environ.get("DDP_SKEW", "1")))
        if os.environ.get("DDP_PERTURB"):
            perturb_before_check()
    train.main()
