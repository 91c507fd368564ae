"""tools/weight_distance.py: the relative distance between two U-Nets, exact on
hand-made tensors."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.export import write_safetensors                        # noqa: E402
from tools.weight_distance import relative_distance, unet_tensors  # noqa: E402


def test_distance_is_exact_and_reads_the_unet_alone(tmp_path):
    ref = {"unet.a": torch.tensor([3.0, 0.0]), "unet.b": torch.tensor([[4.0]]), "text.x": torch.ones(3)}
    moved = {"unet.a": torch.tensor([3.0, 1.0]), "unet.b": torch.tensor([[4.0]]), "text.x": torch.zeros(3)}
    write_safetensors(str(tmp_path / "ref.safetensors"), ref, {})
    write_safetensors(str(tmp_path / "moved.safetensors"), moved, {})
    r, m = unet_tensors(str(tmp_path / "ref.safetensors")), unet_tensors(str(tmp_path / "moved.safetensors"))
    assert set(r) == {"unet.a", "unet.b"}
    assert relative_distance(r, r) == 0
    assert relative_distance(r, m) == pytest.approx(1 / 5)   # |(0, 1)| / |(3, 0, 4)|


def test_different_networks_are_refused():
    with pytest.raises(SystemExit, match="differ"):
        relative_distance({"unet.a": torch.zeros(2)}, {"unet.a": torch.zeros(3)})
