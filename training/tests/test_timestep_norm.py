"""The per-noise-level loss normalisation of train.py --t-norm (dir7/diffusion.py)."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.diffusion import TimestepNorm                     # noqa: E402


def level_losses(t):
    """A loss that falls 1000x from the clean end to the noisy end, like the epsilon loss."""
    return 10.0 ** (-1 - 3 * (t // 50).float() / 19)


def test_every_level_weighs_the_same_and_the_scale_is_kept():
    norm = TimestepNorm(1000, buckets=20, decay=0.9)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        t = torch.randint(0, 1000, (256,), generator=g)
        out = norm(level_losses(t), t)
    t = torch.arange(0, 1000, 50)
    weighted = norm(level_losses(t), t)
    # a constant loss per level: the running means are exact, so to float32 rounding
    torch.testing.assert_close(weighted, weighted.mean().expand(20), rtol=1e-5, atol=0)
    torch.testing.assert_close(weighted.mean(), level_losses(t).mean(), rtol=1e-5, atol=0)
    assert out.shape == (256,)


def test_weights_carry_no_gradient_and_unseen_levels_are_skipped():
    norm = TimestepNorm(1000, buckets=20)
    t = torch.tensor([10, 960])            # two levels seen, eighteen not
    err = torch.tensor([0.1, 0.001], requires_grad=True)
    out = norm(err, t)
    assert int(norm.seen.sum()) == 2
    torch.testing.assert_close(out.detach(), torch.full((2,), 0.0505), rtol=1e-6, atol=0)
    out.sum().backward()                   # d out / d err = the weights alone
    torch.testing.assert_close(err.grad, torch.tensor([0.505, 50.5]), rtol=1e-6, atol=0)


def test_state_round_trip():
    a = TimestepNorm(1000)
    t = torch.tensor([5, 505, 995])
    a(torch.tensor([1.0, 0.5, 0.25]), t)
    b = TimestepNorm(1000)
    b.load_state_dict(a.state_dict())
    x = torch.tensor([0.3, 0.2, 0.1])
    torch.testing.assert_close(a(x.clone(), t), b(x.clone(), t), rtol=0, atol=0)
