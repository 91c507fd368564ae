"""tools/with_text_encoder.py: a model file keeps its U-Net and config and takes
a CLIP's text tower; the CLIP's image tower is written alone; a CLIP whose text
encoder is configured otherwise is refused."""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import SHIPPED_MODEL, Clip, load_clip          # noqa: E402
from dir7.config import Dir7Config                            # noqa: E402
from dir7.export import read_safetensors                      # noqa: E402
from tools.with_text_encoder import with_text_encoder         # noqa: E402


def new_clip(meta, path, **text):
    cfg = Dir7Config.from_json(meta["dir7.config"])
    for k, v in text.items():
        setattr(cfg.text, k, v)
    torch.manual_seed(4)
    ck = {"model": {k: v.half() for k, v in Clip(cfg).state_dict().items()}, "config": cfg.to_json(), "step": 9}
    torch.save(ck, path)
    return ck


def test_the_text_tower_is_the_clips_and_the_unet_the_models(tmp_path):
    model, meta = read_safetensors(SHIPPED_MODEL)
    ck = new_clip(meta, tmp_path / "clip.pt")
    with_text_encoder(SHIPPED_MODEL, tmp_path / "clip.pt", tmp_path / "out.safetensors", tmp_path / "image.pt")
    out, out_meta = read_safetensors(tmp_path / "out.safetensors")
    assert out_meta == meta and set(out) == set(model)
    changed = 0
    for k, v in out.items():
        want = ck["model"][k].float() if k.startswith("text.") else model[k]
        assert torch.equal(v, want), k
        changed += k.startswith("text.") and not torch.equal(v, model[k])
    assert changed > 0
    # the image tower alone, judged with the new file's text: the CLIP as trained
    clip, step = load_clip(str(tmp_path / "image.pt"), text_from=str(tmp_path / "out.safetensors"))
    assert step == 9
    for k, v in clip.state_dict().items():
        assert torch.equal(v, ck["model"][k].float()), k


def test_a_text_encoder_configured_otherwise_is_refused(tmp_path):
    _, meta = read_safetensors(SHIPPED_MODEL)
    new_clip(meta, tmp_path / "clip.pt", layers=2)
    with pytest.raises(SystemExit, match="configured unlike"):
        with_text_encoder(SHIPPED_MODEL, tmp_path / "clip.pt", tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_the_image_tower_alone_from_the_command_line(tmp_path):
    # device_train.sh's JUDGE_MIN writes its judge this way: no --model, no --out
    import subprocess
    _, meta = read_safetensors(SHIPPED_MODEL)
    ck = new_clip(meta, tmp_path / "clip.pt")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-m", "tools.with_text_encoder", "--clip", str(tmp_path / "clip.pt"),
                    "--image-tower", str(tmp_path / "image.pt")], cwd=here, check=True)
    image = torch.load(tmp_path / "image.pt")
    assert image["step"] == 9 and image["model"]
    assert set(image["model"]) == {k for k in ck["model"] if not k.startswith("text.")}
    for k, v in image["model"].items():
        assert torch.equal(v, ck["model"][k]), k
    # half a pair of the model arguments is a usage error, and writes nothing
    r = subprocess.run([sys.executable, "-m", "tools.with_text_encoder", "--clip", str(tmp_path / "clip.pt"),
                        "--out", str(tmp_path / "out.safetensors")], cwd=here, capture_output=True, text=True)
    assert r.returncode == 2 and "go together" in r.stderr
    assert not (tmp_path / "out.safetensors").exists()
