"""tools/carry.py unpack and dir7.clip.load_clip: a CLIP used to train or judge
the default model always has the shipped model's text encoder, bit for bit,
whatever text tower the carried or committed CLIP file holds (a fresh CLIP's
random one, or none), and keeps that file's image tower."""
import argparse
import gzip
import json
import lzma
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import SHIPPED_MODEL, Clip, load_clip   # noqa: E402
from dir7.config import Dir7Config                     # noqa: E402
from dir7.export import read_safetensors, write_safetensors   # noqa: E402
from tools import carry                                # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    sd, meta = read_safetensors(SHIPPED_MODEL)
    return {k: v for k, v in sd.items() if k.startswith("text.")}, meta


def random_clip(meta, seed):
    torch.manual_seed(seed)
    return Clip(Dir7Config.from_json(meta["dir7.config"])).state_dict()


def fake_carry(root):
    """A two-image data set in root/.carry, as tools.carry pack leaves it."""
    os.makedirs(os.path.join(root, ".carry"))
    with lzma.open(os.path.join(root, ".carry", "images.npy.xz"), "wb") as f:
        np.save(f, np.zeros((2, 64, 64, 4), np.uint8))
    with gzip.open(os.path.join(root, ".carry", "meta.json.gz"), "wt") as f:
        json.dump([{"source": "emoji", "id": str(i), "captions": {"en": ["x"]}, "held_out": False}
                   for i in range(2)], f)


def unpack_in(tmp_path, monkeypatch, judge="none.pt", init=SHIPPED_MODEL, no_data=False):
    work = tmp_path / "training"
    work.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(carry, "CARRY", str(tmp_path / ".carry"))
    monkeypatch.setattr(carry, "SHIPPED", SHIPPED_MODEL)
    monkeypatch.setattr(carry, "JUDGE", str(tmp_path / judge))
    carry.unpack(type("Args", (), {"init": init, "no_data": no_data})())
    return torch.load(work / "runs" / "b" / "clip.pt")["model"]


def assert_text_is_shipped(model, text):
    for k, v in text.items():
        assert torch.equal(model[k], v.float()), k


def test_unpack_replaces_a_carried_clips_text_tower(tmp_path, monkeypatch, shipped):
    text, meta = shipped
    fake_carry(tmp_path)
    carried = random_clip(meta, 1)   # its text tower is random: it must not survive
    torch.save({"model": carried, "config": meta["dir7.config"], "step": 5},
               tmp_path / ".carry" / "clip-weights.pt")
    model = unpack_in(tmp_path, monkeypatch)
    assert_text_is_shipped(model, text)
    for k, v in carried.items():
        if not k.startswith("text."):
            assert torch.equal(model[k], v.float()), k


def test_unpack_stops_for_an_init_with_another_text_encoder(tmp_path, monkeypatch, shipped):
    # the run would train on the tree's encoder and export that one: the init's would be
    # lost without a word
    text, meta = shipped
    fake_carry(tmp_path)
    sd, _ = read_safetensors(SHIPPED_MODEL)
    k = sorted(text)[0]
    sd[k] = sd[k] + 0.5
    write_safetensors(str(tmp_path / "other.safetensors"), {n: v.half() for n, v in sd.items()}, meta)
    with pytest.raises(SystemExit, match="text encoder other than"):
        unpack_in(tmp_path, monkeypatch, init=str(tmp_path / "other.safetensors"))
    assert not (tmp_path / "training" / "runs" / "init.safetensors").exists()


def test_unpack_without_an_image_tower_gives_an_untrained_one(tmp_path, monkeypatch, shipped):
    text, meta = shipped
    fake_carry(tmp_path)
    model = unpack_in(tmp_path, monkeypatch)
    assert_text_is_shipped(model, text)
    assert set(model) == set(random_clip(meta, 0))


def test_unpack_takes_the_committed_judge(tmp_path, monkeypatch, shipped):
    text, meta = shipped
    fake_carry(tmp_path)
    image_side = {k: v.half() for k, v in random_clip(meta, 2).items() if not k.startswith("text.")}
    torch.save({"model": image_side, "config": meta["dir7.config"], "step": 7}, tmp_path / "judge.pt")
    model = unpack_in(tmp_path, monkeypatch, judge="judge.pt")
    assert_text_is_shipped(model, text)
    for k, v in image_side.items():
        assert torch.equal(model[k], v.float()), k


def test_load_clip_fills_an_image_only_file_with_the_shipped_text(tmp_path, shipped):
    text, meta = shipped
    image_side = {k: v for k, v in random_clip(meta, 3).items() if not k.startswith("text.")}
    torch.save({"model": image_side, "config": meta["dir7.config"], "step": 11}, tmp_path / "image.pt")
    clip, step = load_clip(str(tmp_path / "image.pt"))
    assert step == 11
    sd = clip.state_dict()
    assert_text_is_shipped(sd, text)
    for k, v in image_side.items():
        assert torch.equal(sd[k], v), k


def evalset_made_here(tmp_path, monkeypatch, images, meta, probe_images=None):
    """cache/dataset of images and meta in tmp_path, tools.carry evalset run on it, then
    the working folder moved to tmp_path/there (the device, where only .carry is)"""
    monkeypatch.chdir(tmp_path)
    os.makedirs("cache/dataset")
    np.save("cache/dataset/images.npy", images)
    with open("cache/dataset/meta.json", "w") as f:
        json.dump(meta, f)
    monkeypatch.setattr(carry, "CARRY", str(tmp_path / ".carry"))
    carry.evalset(argparse.Namespace(probe_images=probe_images))
    os.makedirs(tmp_path / "there")
    monkeypatch.chdir(tmp_path / "there")


def test_evalset_gives_evaluate_the_same_prompts_and_images(tmp_path, monkeypatch):
    from evaluate import pick_concepts
    rng = np.random.default_rng(0)
    n = 300
    images = rng.integers(0, 256, (n, 64, 64, 4), dtype=np.uint8)
    meta = [{"source": "emoji" if i % 3 else "openclipart", "id": str(i),
             "captions": {"en": [f"thing {i % 150}"], "zh": [f"物 {i % 150}"]}, "held_out": i % 4 == 1}
            for i in range(n)]
    evalset_made_here(tmp_path, monkeypatch, images, meta)
    carry.unpack_eval(None)
    small = json.load(open("cache/dataset/meta.json"))
    small_images = np.load("cache/dataset/images.npy")
    held, concepts, em = pick_concepts(meta)
    s_held, s_concepts, s_em = pick_concepts(small)
    assert len(small) == len(held) == 75
    assert np.array_equal(small_images, images[held])
    for full_ix, small_ix in ((concepts, s_concepts), (em, s_em)):
        assert len(full_ix) > 10
        assert [meta[i]["captions"] for i in full_ix] == [small[i]["captions"] for i in small_ix]
        assert np.array_equal(images[full_ix], small_images[small_ix])


def test_unpack_keeps_a_data_set_already_there_when_none_is_carried(tmp_path, monkeypatch, shipped):
    # device_train.sh's two calls: the first carries the data set, the second the
    # compile cache, with no room for both
    fake_carry(tmp_path)
    unpack_in(tmp_path, monkeypatch)
    data = tmp_path / "training" / "cache" / "dataset"
    before = (data / "images.npy").read_bytes(), (data / "meta.json").read_bytes()
    for f in ("images.npy.xz", "meta.json.gz"):
        os.remove(tmp_path / ".carry" / f)
    unpack_in(tmp_path, monkeypatch)
    assert ((data / "images.npy").read_bytes(), (data / "meta.json").read_bytes()) == before
    os.remove(data / "meta.json")   # nothing there and nothing carried: a clear failure
    with pytest.raises(SystemExit, match="no data set carried"):
        unpack_in(tmp_path, monkeypatch)


def test_pack_from_a_built_data_set_unpacks_to_the_same_files(tmp_path, monkeypatch):
    built = tmp_path / "built"
    built.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 4), dtype=np.uint8)
    np.save(built / "images.npy", images)
    meta = [{"source": "emoji", "id": str(i), "captions": {"en": ["x"]}, "held_out": False} for i in range(3)]
    (built / "meta.json").write_text(json.dumps(meta))
    monkeypatch.setattr(carry, "CARRY", str(tmp_path / ".carry"))
    carry.pack(type("Args", (), {"dataset": str(built), "model": None})())
    unpack_in(tmp_path, monkeypatch)
    out = tmp_path / "training" / "cache" / "dataset"
    assert np.array_equal(np.load(out / "images.npy"), images)
    assert json.loads((out / "meta.json").read_text()) == meta


def test_unpack_takes_the_images_gathered_from_parts(tmp_path, monkeypatch):
    # phase 24's tree leaves no room for images.npy.xz in one call: carry_parts
    # splits it here and gathers it there into runs/images.npy, meta.json.gz
    # travels in .carry as before
    from tools import carry_parts
    fake_carry(tmp_path)
    xz = tmp_path / "images.npy.xz"
    os.replace(tmp_path / ".carry" / "images.npy.xz", xz)
    _, parts = carry_parts.split(str(xz), 2, str(tmp_path / "parts"))
    work = tmp_path / "training"
    work.mkdir()
    monkeypatch.chdir(work)
    joined = carry_parts.gather(str(tmp_path / "parts"))
    assert joined == ["runs/images.npy"]
    unpack_in(tmp_path, monkeypatch)
    assert np.array_equal(np.load(work / "cache" / "dataset" / "images.npy"), np.zeros((2, 64, 64, 4), np.uint8))
    assert not (work / "runs" / "images.npy").exists()
    assert len(json.loads((work / "cache" / "dataset" / "meta.json").read_text())) == 2
    # phase 25's bg call: the device kept .carry (ignored, not named in that call's carry)
    # with meta.json.gz but nothing gathered; the data set unpacked before stays
    unpack_in(tmp_path, monkeypatch)
    assert np.array_equal(np.load(work / "cache" / "dataset" / "images.npy"), np.zeros((2, 64, 64, 4), np.uint8))


def run_device_train(tmp_path, *verb):
    """device_train.sh VERB in a copy of tools/ with nothing carried: (result, training dir)"""
    import shutil
    import subprocess
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tmp_path / "training"
    shutil.copytree(os.path.join(here, "tools"), work / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "out").mkdir()
    env = dict(os.environ, OUT=str(tmp_path / "out"), INIT="runs/none.safetensors", PYTHONPATH=here)
    r = subprocess.run(["bash", "tools/device_train.sh", *verb], cwd=work, env=env,
                       capture_output=True, text=True, timeout=120)
    return r, work


def test_device_train_bg_starts_nothing_when_unpack_fails(tmp_path):
    # phase 26's first bg call on a fresh machine had no data set: unpack said so,
    # and the call still started a run that failed minutes later in its export
    r, work = run_device_train(tmp_path, "bg", "1")
    assert r.returncode != 0
    assert "no data set carried" in r.stdout + r.stderr
    assert "nothing started" in r.stderr
    assert not (work / "runs" / "b.name").exists()
    assert not (work / "runs" / "b.args").exists()


def test_device_train_chunk_trains_nothing_when_nothing_was_carried(tmp_path):
    # a chunk call stands alone: on a machine with no carried parts it must stop at
    # its set-up, not train from nothing and export that
    r, work = run_device_train(tmp_path, "chunk")
    assert r.returncode != 0
    assert "no data set carried" in r.stdout + r.stderr and "nothing started" in r.stderr
    assert not (work / "runs" / "b.log").exists()
    assert os.listdir(tmp_path / "out") == []


def test_device_train_dataset_stops_when_nothing_was_carried(tmp_path):
    # the data-set-only call before a test-only session: with nothing carried it must say
    # so and leave no cache/dataset a later shiptest would take for the data set
    r, work = run_device_train(tmp_path, "dataset")
    assert r.returncode != 0
    assert "no data set carried" in r.stdout + r.stderr and "nothing started" in r.stderr
    assert not (work / "cache" / "dataset" / "images.npy").exists()


def test_unpack_refuses_an_evaluation_set_left_in_cache_dataset(tmp_path, monkeypatch, shipped):
    # phase 32's ship-test call unpacked the held-out images into cache/dataset on a
    # warm machine; a later call that keeps the data set already there must not train
    # on them
    fake_carry(tmp_path)
    unpack_in(tmp_path, monkeypatch)
    data = tmp_path / "training" / "cache" / "dataset"
    held = [{"source": "emoji", "id": str(i), "captions": {"en": ["x"]}, "held_out": True} for i in range(3)]
    np.savez_compressed(tmp_path / ".carry" / "evalset.npz", images=np.zeros((3, 64, 64, 4), np.uint8))
    with gzip.open(tmp_path / ".carry" / "evalset-meta.json.gz", "wt") as f:
        json.dump(held, f)
    # --dest elsewhere leaves the training set as it was
    carry.unpack_eval(type("Args", (), {"dest": "runs/eval-data"})())
    assert len(np.load(tmp_path / "training" / "runs" / "eval-data" / "images.npy")) == 3
    assert len(json.loads((data / "meta.json").read_text())) == 2
    for f in ("images.npy.xz", "meta.json.gz"):
        os.remove(tmp_path / ".carry" / f)
    unpack_in(tmp_path, monkeypatch)   # the training set kept there still unpacks
    carry.unpack_eval(None)            # the documented default: into cache/dataset
    with pytest.raises(SystemExit, match="held-out images only"):
        unpack_in(tmp_path, monkeypatch)


def test_unpack_refuses_images_and_meta_that_disagree(tmp_path, monkeypatch, shipped):
    fake_carry(tmp_path)
    with gzip.open(tmp_path / ".carry" / "meta.json.gz", "wt") as f:
        json.dump([{"source": "emoji", "id": "0", "captions": {"en": ["x"]}, "held_out": False}], f)
    with pytest.raises(SystemExit, match="2 images but 1 entries"):
        unpack_in(tmp_path, monkeypatch)


def probe_source_set(n, seed):
    """n random images, two thirds emoji and a fifth held out, each with an English name"""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 64, 64, 4), dtype=np.uint8)
    meta = [{"source": "emoji" if i % 3 else "openclipart", "id": str(i),
             "captions": {"en": [f"thing {i}"]}, "held_out": i % 5 == 1} for i in range(n)]
    return images, meta


def carried_there(tmp_path, monkeypatch, seed, probe_images=None):
    """a probe-source data set made here, with its evalset and meta.json.gz carried,
    the working folder then on the device; returns (images, meta)"""
    images, meta = probe_source_set(400, seed=seed)
    evalset_made_here(tmp_path, monkeypatch, images, meta, probe_images)
    carry_meta(tmp_path, meta)
    return images, meta


def carry_meta(tmp_path, meta):
    with gzip.open(tmp_path / ".carry" / "meta.json.gz", "wt") as f:
        json.dump(meta, f)


def test_unpack_probe_gives_probe_fit_the_real_probe_images(tmp_path, monkeypatch):
    # the ship-test call carries meta.json.gz and evalset's probe.npz, not the data set:
    # probe_fit --images PROBE must find the same images there as here
    from dir7.dataset import load, probe_indices
    n = 400
    images, meta = carried_there(tmp_path, monkeypatch, seed=1)
    carry.unpack_probe(None)
    got, got_meta = load("runs/probe-data")
    pick = probe_indices(meta, carry.PROBE, "train", "emoji")
    assert got_meta == meta and len(pick) == carry.PROBE
    assert np.array_equal(got[pick], images[pick])
    others = np.setdiff1d(np.arange(n), pick)
    assert not got[others].any()   # a stand-in: nothing else is there
    # so it may train only the probe run on those images (train.py --probe PROBE), never
    # a run on the whole split or another probe size, which would take blank images
    from dir7.dataset import TrainSet
    assert len(TrainSet("runs/probe-data", probe=carry.PROBE)) == carry.PROBE
    for probe in (0, carry.PROBE // 2):
        with pytest.raises(SystemExit, match="stand-in data set"):
            TrainSet("runs/probe-data", probe=probe)
    # a probe.npz from another data set is refused, not silently mismatched
    carry_meta(tmp_path, meta[:-7])
    with pytest.raises(SystemExit, match="another data set"):
        carry.unpack_probe(None)


def test_evalset_probe_images_carries_a_larger_probe(tmp_path, monkeypatch):
    # a light probe call on N emoji (PROBES=N): probe.npz holds the N of train.py --probe N,
    # and the stand-in data set trains that probe and no other size
    from dir7.dataset import TrainSet, load, probe_indices
    images, meta = carried_there(tmp_path, monkeypatch, seed=2, probe_images=200)
    carry.unpack_probe(None)
    got, _ = load("runs/probe-data")
    pick = probe_indices(meta, 200, "train", "emoji")
    assert len(pick) == 200 and np.array_equal(got[pick], images[pick])
    assert len(TrainSet("runs/probe-data", probe=200)) == 200
    with pytest.raises(SystemExit, match="stand-in data set"):
        TrainSet("runs/probe-data", probe=carry.PROBE)


def test_unpack_without_data_makes_the_clip_and_init_alone(tmp_path, monkeypatch, shipped):
    # a probe call carries probe.npz and meta.json.gz, not the data set: unpack --no-data
    # must not stop for the missing data set, nor leave a cache/dataset behind
    text, _ = shipped
    with pytest.raises(SystemExit, match="no data set carried"):
        unpack_in(tmp_path, monkeypatch)
    os.rmdir(tmp_path / "training" / "cache" / "dataset")
    model = unpack_in(tmp_path, monkeypatch, no_data=True)
    assert_text_is_shipped(model, text)
    assert (tmp_path / "training" / "runs" / "init.safetensors").exists()
    assert not (tmp_path / "training" / "cache" / "dataset").exists()


def test_whole_gives_a_kept_unet_the_tree_text_and_config(tmp_path, monkeypatch, shipped):
    """prepare_chunk.sh puts this file in place of the tree's model file for a chunk call:
    the U-Net exactly as kept (F16), the tree's encoder, the U-Net file's own config (a grown
    network's), and a whole file with its own encoder left whole"""
    text, meta = shipped
    sd, _ = read_safetensors(SHIPPED_MODEL)
    cfg = json.loads(meta["dir7.config"])
    cfg["unet"]["num_res_blocks"] = 3      # a grown network's config, which must survive
    unet = {k: (v.float() + 1).half() for k, v in sd.items() if k.startswith("unet.")}
    src, out = tmp_path / "unet.safetensors", tmp_path / "whole.safetensors"
    write_safetensors(str(src), unet, {**meta, "dir7.config": json.dumps(cfg)})
    monkeypatch.setattr(carry, "SHIPPED", SHIPPED_MODEL)
    carry.whole(argparse.Namespace(init=str(src), out=str(out)))
    got, got_meta = read_safetensors(str(out))
    assert set(got) == set(unet) | set(text)
    assert all(torch.equal(got[k], v) for k, v in unet.items())
    assert_text_is_shipped({k: got[k].float() for k in text}, text)
    assert json.loads(got_meta["dir7.config"])["unet"]["num_res_blocks"] == 3
    # a file with an encoder of its own keeps it
    other = {**unet, **{k: (v.float() * 2).half() for k, v in text.items()}}
    write_safetensors(str(src), other, meta)
    carry.whole(argparse.Namespace(init=str(src), out=str(out)))
    got, _ = read_safetensors(str(out))
    assert all(torch.equal(got[k], v) for k, v in other.items())


def test_unpack_ship_gives_the_ship_test_the_held_out_prompts_images(tmp_path, monkeypatch):
    # a ship-test call on a machine without the data set: the held-out prompts get their
    # own images (the drawn measure), the training concepts none (blank rows)
    import tools.paired_eval as pe
    from dir7.dataset import load
    images, meta = carried_there(tmp_path, monkeypatch, seed=3)
    carry.unpack_ship(None)
    got, got_meta = load("runs/ship-data")
    assert got_meta == meta
    held = pe.held_out_concepts(meta)
    assert len(held) > 50
    real = pe.prompt_images("runs/ship-data", got, got_meta, held)
    assert real is not None and torch.equal(real, pe.as_model_input(images[held]))
    assert pe.prompt_images("runs/ship-data", got, got_meta, pe.training_concepts(meta)) is None
    carry_meta(tmp_path, meta[:-7])
    with pytest.raises(SystemExit, match="another data set"):
        carry.unpack_ship(None)
