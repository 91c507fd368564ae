"""tools/interpolate_model.py: the U-Net on the line between two files, the rest
the first file's, exact on hand-made tensors; files that differ elsewhere refused."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.export import read_stored, write_safetensors   # noqa: E402
from tools import interpolate_model                       # noqa: E402


def test_the_unet_moves_along_the_line_and_keeps_its_dtype(tmp_path, monkeypatch):
    a = {"unet.w": torch.tensor([1.0, 2.0]).half(), "text.e": torch.tensor([5.0]).half()}
    b = {"unet.w": torch.tensor([3.0, -2.0]).half(), "text.e": torch.tensor([5.0]).half()}
    write_safetensors(str(tmp_path / "a.safetensors"), a, {"dir7.format": "1"})
    write_safetensors(str(tmp_path / "b.safetensors"), b, {"dir7.format": "1"})
    out = str(tmp_path / "mid.safetensors")
    monkeypatch.setattr(sys, "argv", ["interpolate_model", str(tmp_path / "a.safetensors"),
                                      str(tmp_path / "b.safetensors"), "0.25", out])
    interpolate_model.main()
    got, meta = read_stored(out)
    assert got["unet.w"].dtype == torch.float16 and got["unet.w"].tolist() == [1.5, 1.0]
    assert got["text.e"].tolist() == [5.0] and meta == {"dir7.format": "1"}


def test_files_that_differ_outside_the_unet_are_refused():
    a = {"unet.w": torch.zeros(2), "text.e": torch.zeros(1)}
    with pytest.raises(SystemExit, match="outside the U-Net"):
        interpolate_model.interpolate(a, {"unet.w": torch.ones(2), "text.e": torch.ones(1)}, 0.5)
    with pytest.raises(SystemExit, match="different networks"):
        interpolate_model.interpolate(a, {"unet.w": torch.ones(3), "text.e": torch.zeros(1)}, 0.5)
