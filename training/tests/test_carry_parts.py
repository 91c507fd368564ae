"""tools/carry_parts.py: a file split here and gathered over several device calls
comes back byte for byte (an .xz one unpacked); a part that changed on the way
is refused, and nothing half-joined is left behind."""
import lzma
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tools import carry_parts   # noqa: E402


def call(tmp_path, parts):
    """One device call: carried holds just these parts (and the manifest)."""
    carried = tmp_path / "carried"
    if carried.exists():
        for f in carried.iterdir():
            f.unlink()
    carried.mkdir(exist_ok=True)
    for p in parts:
        (carried / os.path.basename(p)).write_bytes(open(p, "rb").read())
    return carry_parts.gather(str(carried), str(tmp_path / "runs" / "stash"), str(tmp_path / "runs"))


def test_split_then_gather_over_two_calls_gives_the_file_back(tmp_path):
    data = os.urandom(100_003)
    src = tmp_path / "model.safetensors.xz"
    with lzma.open(src, "wb") as f:
        f.write(data)
    manifest, parts = carry_parts.split(str(src), 3, str(tmp_path / "out"))
    assert len(parts) == 3 and manifest["bytes"] == os.path.getsize(src)
    assert sum(os.path.getsize(p) for p in parts) == manifest["bytes"]
    mf = str(tmp_path / "out" / "model.safetensors.xz.manifest.json")
    assert call(tmp_path, [mf, parts[0]]) == []          # first call: not all parts yet
    joined = call(tmp_path, parts[1:])                   # second call: the rest
    assert joined == [str(tmp_path / "runs" / "model.safetensors")]
    assert open(joined[0], "rb").read() == data


def test_a_changed_part_is_refused(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(5000))
    _, parts = carry_parts.split(str(src), 2, str(tmp_path / "out"))
    with open(parts[1], "r+b") as f:
        f.write(b"\0\0\0\0")
    with pytest.raises(ValueError, match="sha256"):
        call(tmp_path, [str(tmp_path / "out" / "blob.bin.manifest.json")] + parts)
    assert not (tmp_path / "runs" / "blob.bin").exists()


def test_absurd_part_counts_are_refused(tmp_path):
    src = tmp_path / "tiny.bin"
    src.write_bytes(b"abc")
    for n in (0, 4):
        with pytest.raises(ValueError):
            carry_parts.split(str(src), n, str(tmp_path / "out"))


def test_stage_deals_two_files_into_calls_that_fit_and_gather_joins_each_once(tmp_path):
    # prepare_carry.sh's plan: the data set and a U-Net to go on from, more than
    # one call can carry beside the tree, dealt into call folders of `room` bytes
    images, unet = os.urandom(30_000), os.urandom(25_000)
    with lzma.open(tmp_path / "images.npy.xz", "wb", preset=0) as f:
        f.write(images)
    with lzma.open(tmp_path / "unet.safetensors.xz", "wb", preset=0) as f:
        f.write(unet)
    room = 16_000
    calls = carry_parts.stage([str(tmp_path / "images.npy.xz"), str(tmp_path / "unet.safetensors.xz")],
                              room, str(tmp_path / "calls"))
    folders = [tmp_path / "calls" / str(n) for n in range(1, len(calls) + 1)]
    assert sorted(os.listdir(tmp_path / "calls")) == sorted(str(n) for n in range(1, len(calls) + 1))
    for folder in folders:
        assert 0 < sum(f.stat().st_size for f in folder.iterdir()) <= room
    joined = []
    for folder in folders:
        joined += call(tmp_path, [str(f) for f in sorted(folder.iterdir())])
    runs = tmp_path / "runs"
    assert joined == [str(runs / "images.npy"), str(runs / "unet.safetensors")]
    assert (runs / "images.npy").read_bytes() == images and (runs / "unet.safetensors").read_bytes() == unet
    # carry unpack moves runs/images.npy away; a later call's gather leaves it gone
    (runs / "images.npy").unlink()
    assert call(tmp_path, []) == [] and not (runs / "images.npy").exists()


def test_stage_refuses_a_room_too_small_for_a_manifest(tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(b"x" * 100)
    with pytest.raises(ValueError, match="room"):
        carry_parts.stage([str(src)], 100, str(tmp_path / "calls"))
