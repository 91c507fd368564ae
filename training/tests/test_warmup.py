"""A continuation's start (docs/training-log.md, phase 16): a fresh Adam moves every weight
by about lr at its first step, so train.py warms the lr up and keeps the EMA at its full
decay when it continues a model file."""
import argparse
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # noqa: E402


def lrs(warm_from, steps, base_lr=5e-4):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    out = []
    for step in steps:
        train.anneal_lr(opt, base_lr, 0.0, train.warm_factor(step, warm_from))
        out.append(opt.param_groups[0]["lr"])
    return out


def test_a_continuation_warms_the_lr_up_linearly():
    first, half, full, after = lrs(0, [0, train.WARM_STEPS // 2 - 1, train.WARM_STEPS - 1, 5000])
    assert first == pytest.approx(5e-4 / train.WARM_STEPS)
    assert half == pytest.approx(5e-4 / 2)
    assert full == after == pytest.approx(5e-4)
    # from a resumed step count (the CLIP's --init-clip keeps its steps)
    assert lrs(1000, [1000])[0] == pytest.approx(5e-4 / train.WARM_STEPS)


def test_a_fresh_run_has_no_lr_warm_up():
    assert lrs(None, [0]) == [pytest.approx(5e-4)]


def test_the_ema_follows_a_fresh_run_but_holds_a_continued_model():
    assert train.ema_decay(0, 0.999, None) == pytest.approx(0.1)
    assert train.ema_decay(0, 0.999, 0) == 0.999
    assert train.ema_decay(10 ** 6, 0.999, None) == 0.999


def test_the_ema_update_is_a_lerp_of_every_tensor():
    g = torch.Generator().manual_seed(3)
    unet = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Conv2d(7, 3, 3))
    ema = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Conv2d(7, 3, 3)).requires_grad_(False)
    for p in list(unet.parameters()) + list(ema.parameters()):
        p.data = torch.randn(p.shape, generator=g)
    want = [0.999 * e + 0.001 * p for e, p in zip(ema.parameters(), unet.parameters())]
    train.ema_update(ema, unet, 0.999)
    for e, w in zip(ema.parameters(), want):
        torch.testing.assert_close(e, w, rtol=1e-6, atol=1e-7)   # fp32 rounding of two formulas
    assert all(not p.requires_grad for p in ema.parameters())


def test_the_anneal_clock_starts_after_the_first_step():
    # a 22-minute run whose first step (compiling) ended at 10 minutes: the cosine
    # runs over the 12 minutes left, not from where the wall clock stands
    t0, first = 1000.0, 1000.0 + 600
    assert train.anneal_fraction(t0 + 590, t0, None, 22, 0, 10 ** 9) == 0
    assert train.anneal_fraction(first, t0, first, 22, 1, 10 ** 9) == pytest.approx(0, abs=1e-6)
    assert train.anneal_fraction(first + 360, t0, first, 22, 2000, 10 ** 9) == pytest.approx(0.5)
    assert train.anneal_fraction(first + 720, t0, first, 22, 4000, 10 ** 9) == pytest.approx(1.0)
    # --max-steps reached first
    assert train.anneal_fraction(first + 60, t0, first, 22, 750, 1000) == pytest.approx(0.75)


def test_anneal_span_chains_chunks_into_one_cosine():
    # two chunks of one schedule (each within one device call): the first covers 0..0.5,
    # the second 0.5..1, so the lr where chunk 1 ends is where chunk 2 starts
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    lrs = []
    for span in ((0.0, 0.5), (0.5, 1.0)):
        for frac in (0.0, 1.0):
            train.anneal_lr(opt, 1.0, train.span_fraction(frac, span))
            lrs.append(opt.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(1.0)
    assert lrs[1] == pytest.approx(0.55) and lrs[2] == pytest.approx(0.55)
    assert lrs[3] == pytest.approx(0.1)
    assert train.span_fraction(2.0, (0.5, 1.0)) == 1.0   # past the run's end: held at B
    assert train.parse_span("0.25,0.75") == (0.25, 0.75)
    for bad in ("0.5,0.5", "-0.1,0.5", "0.5,1.5", "0.5", "a,b"):
        with pytest.raises(argparse.ArgumentTypeError):
            train.parse_span(bad)
