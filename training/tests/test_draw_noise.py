"""tools/draw_noise.py: the draws' spread told from the prompts' own (fp64; tolerances are
the sampling error of 4,000 synthetic prompts)."""
import json
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.draw_noise import components, half_width, report   # noqa: E402


def synthetic(prompts, draws, tau, sigma, seed=0):
    """a and b scores where prompt p's true difference is N(0.5, tau) and each draw adds N(0, sigma)"""
    rng = np.random.default_rng(seed)
    a = rng.normal(60, 5, (draws, prompts))
    true = rng.normal(0.5, tau, prompts)
    return a, a + true + rng.normal(0, sigma, (draws, prompts))


def test_the_two_spreads_are_recovered():
    a, b = synthetic(4000, 8, tau=1.5, sigma=3.0)
    c = components(a, b)
    assert (c["prompts"], c["draws"]) == (4000, 8)
    assert math.sqrt(c["sigma2"]) == pytest.approx(3.0, rel=0.03)
    assert math.sqrt(c["tau2"]) == pytest.approx(1.5, rel=0.1)
    assert c["mean"] == pytest.approx(0.5, abs=0.1)


def test_at_the_runs_own_draws_the_half_width_is_the_prompt_means_normal_interval():
    a, b = synthetic(400, 8, tau=1.0, sigma=2.0, seed=1)
    c = components(a, b)
    assert half_width(c, 8) == pytest.approx(1.96 * c["means"].std(ddof=1) / math.sqrt(400), rel=1e-9)
    assert half_width(c, 32) < half_width(c, 8) < half_width(c, 4)
    # what no number of draws removes: the prompts' own spread
    assert half_width(c, 10 ** 9) == pytest.approx(1.96 * math.sqrt(c["tau2"] / 400), rel=1e-6)


def test_draws_alone_give_no_prompt_spread():
    a, b = synthetic(4000, 4, tau=0.0, sigma=2.0, seed=2)
    assert components(a, b)["tau2"] < 0.05


def test_one_draw_is_refused():
    with pytest.raises(ValueError, match="at least two draws"):
        components([[1.0, 2.0]], [[1.5, 2.5]])


def test_report_reads_paired_evals_file(tmp_path):
    a, b = synthetic(50, 4, tau=1.0, sigma=2.0, seed=3)
    path = tmp_path / "per-draw-measuring-clip.json"
    path.write_text(json.dumps({"prompts": [f"p{i}" for i in range(50)], "a": a.tolist(), "b": b.tolist()}))
    text = report(str(path), [4, 16])
    assert text.startswith("per-draw-measuring-clip.json: 50 prompts x 4 draws, b - a ")
    assert "4 draws: half-width" in text and "16 draws: half-width" in text
