"""What the ranks of a torchrun (DDP) run must agree on beyond their gradients.

DDP averages the gradients; everything else each rank decides for itself. train.py
stops after --minutes and sets its cosine lr from the clock, and each rank's clock is
its own: a rank that stops one step early leaves the others waiting in their next
gradient all-reduce for ever, and ranks whose lr differs drift apart although their
gradients agree. So the ranks share one clock (the largest of theirs, agreed each
step over a gloo group, which never waits for a GPU), and at the end they check
that their weights are still the same.
"""
import os
import time

import torch
import torch.distributed as dist


def setup():
    """(rank, world, control group) of this process: under torchrun NCCL on the GPUs
    (gloo without one: the tests), plus a gloo group for RunClock; (0, 1, None) alone."""
    if int(os.environ.get("WORLD_SIZE", 1)) <= 1:
        return 0, 1, None
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if cuda else "gloo")
    control = dist.new_group(backend="gloo") if cuda else dist.group.WORLD
    return dist.get_rank(), dist.get_world_size(), control


class RunClock:
    """Seconds since the run began, the same on every rank: call elapsed() at the same
    place in every rank's loop (it is a collective)."""

    def __init__(self, world=1, group=None):
        self.world, self.group = world, group
        self.t0 = time.time()

    def elapsed(self):
        local = time.time() - self.t0
        if self.world == 1:
            return local
        t = torch.tensor([local], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.group)
        return float(t)


def fingerprint(module):
    """Two numbers that any change to any weight changes: the sum of |w| and a sum
    weighted by each value's place (a swap of two values changes it)."""
    with torch.no_grad():
        v = torch.cat([p.detach().reshape(-1).double().cpu() for p in module.parameters()])
        place = torch.arange(1, v.numel() + 1, dtype=torch.float64) / v.numel()
        return torch.stack([v.abs().sum(), (v * place).sum()])


def check_ranks_agree(module, world, group=None):
    """Raise on any rank whose weights differ from rank 0's (a broken run: its checkpoint,
    rank 0's, is still one network, but not the one DDP trained). Every rank must call it."""
    if world == 1:
        return
    mine = fingerprint(module)
    every = [torch.zeros_like(mine) for _ in range(world)]
    dist.all_gather(every, mine, group=group)
    differ = [r for r, f in enumerate(every) if not torch.equal(f, every[0])]
    if differ:
        raise SystemExit(f"train.py: the weights of rank(s) {differ} differ from rank 0's after training: "
                         f"the ranks did not take the same steps")
