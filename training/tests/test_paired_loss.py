"""tools/paired_loss.py: both models see the same noise, a file against itself differs
by exactly nothing, and saved losses stand in for their model file."""
import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tools.paired_loss as pl   # noqa: E402


@pytest.fixture()
def tiny(monkeypatch):
    """two random tiny models ("a", and "b" = a with one weight nudged) and six held-out
    images with distinct names"""
    from dir7.config import tiny_config
    from dir7.unet import Dir7Model
    torch.manual_seed(0)
    a = Dir7Model(tiny_config("state")).eval()
    b = Dir7Model(tiny_config("state")).eval()
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        next(b.unet.parameters()).add_(0.05)
    meta = [{"captions": {"en": [f"thing {i}"]}, "held_out": True, "source": "emoji"} for i in range(6)]
    images = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 4), dtype=np.uint8)
    monkeypatch.setattr(pl, "load_model", lambda path: {"a.safetensors": a, "b.safetensors": b}[path])
    monkeypatch.setattr(pl, "load", lambda path: (images, meta))
    return a, images, meta


def run_main(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["paired_loss.py", "--timesteps", "200,800", *argv])
    pl.main()
    assert torch.is_grad_enabled()   # the tool leaves later tests' autograd as it found it


def test_the_noise_is_the_images_not_the_batchs(tiny):
    a, images, meta = tiny
    x0 = pl.as_model_input(images)
    names = pl.english_names(meta, list(range(6)))
    whole = pl.model_losses(a, x0, names, [200, 800], seed=1, batch=6)
    parts = pl.model_losses(a, x0, names, [200, 800], seed=1, batch=4)
    other = pl.model_losses(a, x0, names, [200, 800], seed=2, batch=6)
    assert whole.shape == (2, 2, 6)
    np.testing.assert_allclose(parts, whole, rtol=1e-5)   # fp32 batch-size rounding only
    assert not np.allclose(other, whole)


def test_a_file_against_itself_differs_by_nothing(tmp_path, monkeypatch, tiny, capsys):
    run_main(monkeypatch, "--a", "a.safetensors", "--b", "a.safetensors", "--out", str(tmp_path))
    result = json.loads((tmp_path / "compare-a-a-held_out.json").read_text())
    assert all(r["b_minus_a_pct"] == 0 and r["ci95"] == [0, 0] for r in result["per_timestep"])
    assert result["gain"]["b_minus_a"] == 0


def test_saved_losses_stand_in_for_their_file(tmp_path, monkeypatch, tiny):
    run_main(monkeypatch, "--a", "a.safetensors", "--b", "b.safetensors", "--out", str(tmp_path / "files"))
    from_files = json.loads((tmp_path / "files" / "compare-a-b-held_out.json").read_text())
    assert any(r["b_minus_a_pct"] != 0 for r in from_files["per_timestep"])
    saved = [str(tmp_path / "files" / f"loss-{n}.npz") for n in "ab"]
    run_main(monkeypatch, "--a", saved[0], "--b", saved[1], "--out", str(tmp_path / "saved"))
    assert json.loads((tmp_path / "saved" / "compare-a-b-held_out.json").read_text())["per_timestep"] == \
        from_files["per_timestep"]
    # a second comparison in the same folder keeps the first
    run_main(monkeypatch, "--a", "a.safetensors", "--b", "a.safetensors", "--out", str(tmp_path / "files"))
    assert sorted(p.name for p in (tmp_path / "files").glob("compare-*.json")) == \
        ["compare-a-a-held_out.json", "compare-a-b-held_out.json"]
    # losses saved at other timesteps are refused, not compared
    monkeypatch.setattr(sys, "argv", ["paired_loss.py", "--timesteps", "200,700",
                                      "--a", saved[0], "--b", saved[1]])
    with pytest.raises(SystemExit, match="other timesteps"):
        pl.main()
