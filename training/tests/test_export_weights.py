"""train.py export --weights: the EMA's weights by default (what ships), the optimiser's own
with raw (to see what a short call fitted apart from the EMA's lag; training log, phase 36)."""
import argparse
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # noqa: E402
from dir7.config import tiny_config  # noqa: E402
from dir7.export import load_model  # noqa: E402
from dir7.unet import Dir7Model  # noqa: E402


def test_export_writes_the_ema_or_the_raw_weights(tmp_path):
    cfg = tiny_config("state")
    torch.manual_seed(0)
    raw, ema = Dir7Model(cfg), Dir7Model(cfg)
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"model": {f"text.{k}": v for k, v in raw.text.state_dict().items()}}, run / "clip.pt")
    torch.save({"config": cfg.to_json(), "unet": raw.unet.state_dict(), "ema": ema.unet.state_dict(),
                "step": 7}, run / "denoiser-state.pt")
    for weights, want in (("ema", ema), ("raw", raw)):
        out = tmp_path / f"{weights}.safetensors"
        train.export(argparse.Namespace(run=str(run), cross_mode="state", out=str(out), weights=weights))
        got = load_model(str(out)).unet.state_dict()
        for k, v in want.unet.state_dict().items():
            # F16 in the file: equal to the chosen weights at half precision, not the other's
            assert torch.equal(got[k].float(), v.half().float()), k
        other = raw if weights == "ema" else ema
        assert any(not torch.equal(got[k].float(), v.half().float()) for k, v in other.unet.state_dict().items())
