"""tools/ema_lag.py: the share of a run's progress that its EMA export holds."""
import math
import os
import sys

import pytest

pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools.ema_lag import ema_share, lr_schedule  # noqa: E402


def test_constant_progress_matches_the_closed_form():
    # steady progress, one unit a step: the EMA ends at
    # sum_j (1-d) d^j (n-j) / n = 1 - d (1 - d^n) / (n (1 - d))
    for n, d in ((450, 0.999), (1700, 0.999), (50, 0.9)):
        want = 1 - d * (1 - d ** n) / (n * (1 - d))
        assert ema_share([1.0] * n, d) == pytest.approx(want, rel=1e-9)


def test_a_short_continued_run_keeps_little_of_its_progress():
    lrs = lr_schedule(450)
    assert lrs[0] == pytest.approx(5e-4 / 200)          # train.py's warm-up
    # warm from step 200 on: the cosine's own value (already past its top)
    assert lrs[199] == pytest.approx(5e-4 * (0.1 + 0.45 * (1 + math.cos(math.pi * 199 / 450))))
    assert lrs[-1] == pytest.approx(5e-5, rel=0.01)     # the cosine to a tenth
    short, long_ = ema_share(lrs, 0.999), ema_share(lr_schedule(1700), 0.999)
    assert 0.15 < short < 0.3 < long_ < 0.7             # phase 36: 0.22 and 0.63
    assert ema_share(lrs, 0.995) > short                # a faster EMA lags less
