"""evaluate.py writes metrics.json and per-prompt.jsonl after each set, so a long
CPU run cut short keeps the sets it finished (phase 31: five sets take about two
hours on this 2-core machine)."""
import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import evaluate                               # noqa: E402
from dir7.clip import Clip                    # noqa: E402
from dir7.config import tiny_config           # noqa: E402
from dir7.unet import Dir7Model               # noqa: E402


class Cut(Exception):
    pass


def test_a_run_cut_after_the_english_set_keeps_that_set(tmp_path, monkeypatch):
    torch.manual_seed(0)
    cfg = tiny_config("state")
    model, clip = Dir7Model(cfg).eval(), Clip(cfg).eval()
    names = [f"thing {i}" for i in range(12)]
    meta = [{"captions": {lang: [f"{n} {lang}"] for lang in ("en", "zh", "es", "fr")},
             "held_out": True, "source": "emoji"} for n in names]
    images = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 4), dtype=np.uint8)
    monkeypatch.setattr(evaluate, "load_model", lambda path: model)
    monkeypatch.setattr(evaluate, "load_clip", lambda path, dev: (clip, 0))
    monkeypatch.setattr(evaluate, "load", lambda path: (images, meta))
    calls = []

    def sample_all(m, prompts, steps, guidance, dev="cpu"):
        calls.append(list(prompts))
        if len(calls) > 1:            # the machine goes away during the second set
            raise Cut()
        return torch.zeros(len(prompts), 4, 16, 16)
    monkeypatch.setattr(evaluate, "sample_all", sample_all)
    out = tmp_path / "eval"
    monkeypatch.setattr(sys, "argv", ["evaluate.py", "--model", "m", "--clip", "c", "--out", str(out)])
    with pytest.raises(Cut):
        evaluate.main()
    assert len(calls) == 2 and calls[1][0].endswith(" en")       # cut in emoji_en
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"clip_real_heldout", "generated_en"}
    assert metrics["generated_en"]["n"] == 12
    rows = [json.loads(x) for x in (out / "per-prompt.jsonl").read_text().splitlines()]
    assert [r["set"] for r in rows] == ["generated_en"] * 12
    assert [r["prompt"] for r in rows] == calls[0]
    assert (out / "samples.png").exists()
