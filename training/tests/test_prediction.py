"""v-prediction (docs/model.md, "Prediction"): the training target and its
inverses agree, and Min-SNR weighs the clean-image error the same way for
epsilon and v models. Computed in float64: atol 1e-9 for the round trips,
rtol 1e-12 for the weights."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.config import DiffusionConfig                            # noqa: E402
from dir7.diffusion import (alphas_cumprod, min_snr_weight, predicted_noise,  # noqa: E402
                            predicted_x0, training_target)

AB = alphas_cumprod(DiffusionConfig())


def test_exact_target_gives_back_the_image_and_the_noise():
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 8, 8, generator=g) * 1.8 - 0.9      # inside the clamp
    noise = torch.randn(4, 8, 8, generator=g)
    for pred in ("epsilon", "v"):
        for t in (0, 300, 900, 999):
            a = torch.tensor(AB[t], dtype=torch.float64)
            xt = a.sqrt() * x0.double() + (1 - a).sqrt() * noise.double()
            out = training_target(pred, x0.double(), noise.double(), a)
            torch.testing.assert_close(predicted_x0(pred, out, xt, AB[t]), x0.double(), rtol=0, atol=1e-9)
            torch.testing.assert_close(predicted_noise(pred, out, xt, a), noise.double(), rtol=0, atol=1e-9)


def test_v_needs_no_pass_through_at_the_noisy_end():
    # A v-model that knows only the mean image (out = -mean) beats an epsilon model
    # whose output misses its input by 1%, by far, at t = 990: that is the point of v.
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(16, 8, 8, generator=g) * 2 - 1
    noise = torch.randn(16, 8, 8, generator=g)
    a = AB[990]
    xt = a ** 0.5 * x0 + (1 - a) ** 0.5 * noise
    v_mean = predicted_x0("v", -x0.mean(0).expand_as(x0), xt, a)
    eps_1pc = predicted_x0("epsilon", noise * 1.01, xt, a)
    err_v = (v_mean - x0).pow(2).mean()
    err_eps = (eps_1pc - x0).pow(2).mean()
    assert err_v < 0.5 * err_eps, (err_v, err_eps)


def test_min_snr_weighs_the_clean_image_error_alike():
    # loss_eps = SNR * |x0 error|^2, loss_v = (SNR + 1) * |x0 error|^2
    ab = torch.tensor([AB[t] for t in (0, 50, 130, 300, 700, 999)], dtype=torch.float64)
    snr = ab / (1 - ab)
    for gamma in (1.0, 5.0):
        w_eps = min_snr_weight(ab, gamma, "epsilon") * snr
        w_v = min_snr_weight(ab, gamma, "v") * (snr + 1)
        torch.testing.assert_close(w_eps, w_v, rtol=1e-12, atol=0)
        torch.testing.assert_close(w_eps, snr.clamp(max=gamma), rtol=1e-12, atol=0)
