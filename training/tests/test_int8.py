"""I8 weights with a scale per row (dir7/export.py, docs/model-contract.md, section 8):
what is written, what reading gives back, and files that break the convention."""
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.config import tiny_config                                              # noqa: E402
from dir7.export import (SCALE_SUFFIX,  # noqa: E402
                         load_model, quantize_int8, read_safetensors, read_stored,
                         save_model, write_safetensors)
from dir7.unet import Dir7Model                                                 # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_large_weights_become_int8_rows_within_half_a_step():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(8, 4, 3, 3, generator=g) * torch.arange(1, 9).reshape(8, 1, 1, 1)
    w[3] = 0                                     # an all-zero row
    small = torch.randn(8, 4, generator=g)       # under min_numel: kept as it is
    bias = torch.randn(100, generator=g)         # one dimension: kept
    q = quantize_int8({"w": w, "small": small, "bias": bias}, min_numel=64)
    assert set(q) == {"w", "w" + SCALE_SUFFIX, "small", "bias"}
    assert q["w"].dtype == torch.int8 and q["w"].shape == w.shape and q["w"].abs().max() <= 127
    scale = q["w" + SCALE_SUFFIX]
    assert scale.shape == (8,) and scale.dtype == torch.float32
    back = q["w"].float() * scale.reshape(-1, 1, 1, 1)
    rows = w.reshape(8, -1)
    # each value within half a step of its row's scale; each row's largest hits +-127
    assert ((back - w).abs().reshape(8, -1) <= scale[:, None] / 2 + 1e-7).all()
    live = [r for r in range(8) if r != 3]
    assert (q["w"].reshape(8, -1)[live].abs().amax(1) == 127).all()
    assert (back[3] == 0).all() and scale[3] == 1
    assert torch.equal(q["small"], small) and torch.equal(q["bias"], bias)
    assert rows.abs().amax(1)[live].allclose(scale[live] * 127)


def test_a_model_written_as_int8_reads_back_dequantised(tmp_path):
    torch.manual_seed(1)
    m = Dir7Model(tiny_config("state")).eval()
    f16, i8 = str(tmp_path / "f16.safetensors"), str(tmp_path / "i8.safetensors")
    save_model(m, f16, torch.float16)
    save_model(load_model(f16), i8, torch.float16, int8=True)
    stored, _ = read_stored(i8)
    quantised = [k for k, t in stored.items() if t.dtype == torch.int8]
    assert quantised and all(k + SCALE_SUFFIX in stored for k in quantised)
    assert os.path.getsize(i8) < 0.6 * os.path.getsize(f16)
    back, _ = read_safetensors(i8)
    assert not any(k.endswith(SCALE_SUFFIX) for k in back)
    f16_sd, _ = read_safetensors(f16)
    for k in quantised:   # exactly int8 times the row's scale, close to the F16 weight
        s = stored[k + SCALE_SUFFIX].reshape(-1, *[1] * (stored[k].dim() - 1))
        assert torch.equal(back[k], stored[k].float() * s)
        assert (back[k] - f16_sd[k]).abs().max() <= s.max() / 2 + 1e-6
    for k in set(f16_sd) - set(quantised):
        assert torch.equal(back[k], f16_sd[k])
    model = load_model(i8)   # every state-dict name there, scales gone
    assert set(model.state_dict()) == set(f16_sd)


@pytest.mark.parametrize("scale", [None, torch.ones(3), torch.ones(2, 1)])
def test_an_int8_tensor_without_a_fitting_scale_is_refused(tmp_path, scale):
    tensors = {"w": torch.ones(2, 3, dtype=torch.int8)}
    if scale is not None:
        tensors["w" + SCALE_SUFFIX] = scale
    path = str(tmp_path / "bad.safetensors")
    write_safetensors(path, tensors)
    with pytest.raises(ValueError, match="w_scale"):
        read_safetensors(path)


def test_quantize_model_tool_writes_a_loadable_file_and_refuses_one_already_int8(tmp_path):
    torch.manual_seed(2)
    src, out = str(tmp_path / "m.safetensors"), str(tmp_path / "q.safetensors")
    save_model(Dir7Model(tiny_config("state")).eval(), src, torch.float16)
    run = lambda a, b: subprocess.run([sys.executable, "-m", "tools.quantize_model", "--model", a, "--out", b],
                                      cwd=HERE, capture_output=True, text=True, timeout=120)
    r = run(src, out)
    assert r.returncode == 0, r.stderr
    assert "as I8" in r.stdout and os.path.getsize(out) < os.path.getsize(src)
    load_model(out)
    r = run(out, str(tmp_path / "again.safetensors"))
    assert r.returncode != 0 and "already stores I8" in r.stderr
