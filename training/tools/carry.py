"""The files that `device_train.sh continue` carries to the device machine, made
small enough to travel with the working tree (64 MiB in all), and unpacked there.

    python3 -m tools.carry pack [--model M.safetensors]     # here, in training/
    python3 -m tools.carry unpack [--init M.safetensors]    # there (device_train.sh)

pack, in ../.carry/:
  --dataset D      -> images.npy.xz and meta.json.gz from D (as data.build_dataset
                      wrote it; about 100 s for the whole set)
  ds.npz           -> images.npy.xz (lzma -9e; under 16 MB instead of 24.8 MB)
  clip-weights.pt  -> clip-image.pt (without the text tower: that is the shipped
                      model's frozen text encoder, bit for bit)
  --model M        -> init-unet.safetensors (its U-Net tensors only, 13 MB)
  The originals are left where they are; move them out of .carry/ yourself.
  Room: the tree (47 MiB with judges/ and the phase grids by phase 17) and the
  data set's 15.9 MiB (images.npy at xz -9e, as here: at xz -6 the call is
  refused) leave about 1 MiB of the 64 MiB a call carries, too little for
  init-unet.safetensors or the evalset files (move them out of .carry/); to
  go on from an export, copy it over ../data/models/dir7-default.safetensors
  in the working tree for the call instead (the same text encoder).
evalset, here: ../.carry/evalset.npz and evalset-meta.json.gz, the held-out
  images alone (454, 1.2 MB) from cache/dataset: all that evaluate.py reads, so
  a model file can be scored on the device without the 17 MB data set (carry
  those two paths, not .carry); unpack-eval, there, makes cache/dataset of them
  (--dest: another folder, as device_train.sh shiptest does, to leave the training
  set alone; unpack refuses a cache/dataset of held-out images only). evalset also
  writes probe.npz, the 128 training emoji of tools/probe_fit.py --images 128 (0.5 MB;
  --probe-images N: N of them, for a light probe call with PROBES=N);
  unpack-probe, there, makes runs/probe-data of them and .carry/meta.json.gz;
  unpack-ship makes runs/ship-data of meta.json.gz and the held-out images (the
  ship test's prompts, and their images for its drawn measure).
  evaluate.py picks the same prompts and images from it, so the same figures.
  Since phase 24 (a 21 MB default model) the tree leaves under 10 MiB, so
  images.npy.xz travels in parts over several calls (tools/prepare_carry.sh), and
  unpack takes runs/images.npy, their join by carry_parts gather, where none is carried.
unpack: cache/dataset/images.npy and meta.json, runs/b/clip.pt (float32; with an
  untrained image tower when none is carried), and
  runs/init.safetensors: --init as a whole model file, the shipped model's text
  encoder and config added where --init holds U-Net tensors only.
  --no-data: the last two only (a probe call that carries probe.npz instead of the
  data set: unpack-probe makes its stand-in data set, which holds real images in
  probe.npz's rows alone and says so in stand-in.json, so that nothing trains on
  or draws against its blank rows: dir7.dataset.require_filled).
whole, here: --init as such a whole F16 file at --out (prepare_chunk.sh puts it in
  place of the tree's model file for a chunk call).
"""
import argparse
import gzip
import io
import json
import lzma
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dir7.clip import Clip, save_image_tower  # noqa: E402
from dir7.config import Dir7Config  # noqa: E402
from dir7.dataset import STAND_IN, load as load_dataset, probe_indices  # noqa: E402
from dir7.export import read_safetensors, write_safetensors  # noqa: E402
from tools.carry_parts import RUNS as GATHER_DIR  # noqa: E402

CARRY = "../.carry"
GATHERED = os.path.join(GATHER_DIR, "images.npy")   # carry_parts gather's join of images.npy.xz's parts
SHIPPED = "../data/models/dir7-default.safetensors"
PROBE = 128   # evalset's probe images: tools/probe_fit.py --images 128 (training log, phase 32)
JUDGE = "judges/clip-image.pt"   # the committed image tower for SHIPPED's text encoder


def other_text_encoder(sd, tree):
    """True when the model tensors sd hold a text encoder other than tree's (a model
    file's tensors, as read_safetensors gives them)"""
    return any(k.startswith("text.") and not torch.equal(v.half(), tree[k].half()) for k, v in sd.items())


def pack(args):
    os.makedirs(CARRY, exist_ok=True)
    if args.dataset:   # straight from a data set built here (data.build_dataset)
        with open(os.path.join(args.dataset, "images.npy"), "rb") as src, \
                lzma.open(os.path.join(CARRY, "images.npy.xz"), "wb", preset=9 | lzma.PRESET_EXTREME) as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
        with open(os.path.join(args.dataset, "meta.json"), "rb") as src, \
                gzip.open(os.path.join(CARRY, "meta.json.gz"), "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
    ds = os.path.join(CARRY, "ds.npz")
    if os.path.exists(ds) and not os.path.exists(os.path.join(CARRY, "images.npy.xz")):
        buf = io.BytesIO()
        np.save(buf, np.load(ds)["images"])
        # -9e: the tree has grown to where -6's extra 1.6 MB is over the limit
        with lzma.open(os.path.join(CARRY, "images.npy.xz"), "wb", preset=9 | lzma.PRESET_EXTREME) as f:
            f.write(buf.getvalue())
    cw = os.path.join(CARRY, "clip-weights.pt")
    if os.path.exists(cw):
        save_image_tower(torch.load(cw, map_location="cpu"), os.path.join(CARRY, "clip-image.pt"))
    if args.model:
        sd, meta = read_safetensors(args.model)
        write_safetensors(os.path.join(CARRY, "init-unet.safetensors"),
                          {k: v.half() for k, v in sd.items() if k.startswith("unet.")}, meta)
    for f in sorted(os.listdir(CARRY)):
        print(f"{f}: {os.path.getsize(os.path.join(CARRY, f)) / 1e6:.1f} MB")


def unpack(args):
    os.makedirs("runs/b", exist_ok=True)
    if not args.no_data:
        unpack_dataset()
    unpack_clip_and_init(args.init)


def unpack_dataset():
    """cache/dataset from what was carried (or kept from an earlier call), checked"""
    os.makedirs("cache/dataset", exist_ok=True)
    xz = os.path.join(CARRY, "images.npy.xz")
    meta_gz = os.path.join(CARRY, "meta.json.gz")
    ds_npz = os.path.join(CARRY, "ds.npz")
    if os.path.exists(xz):
        with lzma.open(xz) as src, open("cache/dataset/images.npy", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
    elif os.path.exists(GATHERED):
        # the tree grew past the room for the whole data set beside it (the grown
        # default model, phase 24): images.npy.xz came in parts over several calls
        shutil.move(GATHERED, "cache/dataset/images.npy")
    elif os.path.exists(ds_npz):
        np.save("cache/dataset/images.npy", np.load(ds_npz)["images"])
    elif all(os.path.exists(f"cache/dataset/{f}") for f in ("images.npy", "meta.json")):
        # an earlier call on this machine unpacked it: a call with no room for the data set
        # (the compile cache's, device_train.sh) carries other things and keeps this one;
        # a meta.json.gz left from that call may still be there
        print("unpack: no data set carried; keeping the one in cache/dataset")
    else:
        sys.exit("unpack: no data set carried (images.npy.xz, its gathered parts or ds.npz) and none in cache/dataset")
    if os.path.exists(meta_gz):
        gunzip(meta_gz, "cache/dataset/meta.json")
    check_training_set("cache/dataset")


def unpack_clip_and_init(init):
    """runs/b/clip.pt (the tree's text encoder, an image tower carried, committed or
    fresh) and runs/init.safetensors from init"""
    shipped, shipped_meta = read_safetensors(SHIPPED)
    ck = None
    for path in (os.path.join(CARRY, "clip-weights.pt"), os.path.join(CARRY, "clip-image.pt"), JUDGE):
        if os.path.exists(path):
            ck = torch.load(path, map_location="cpu")
            print(f"unpack: CLIP image tower from {path}")
            break
    if ck is None:   # no image tower carried: a fresh one, to be trained with train.py clip --freeze-text
        cfg = Dir7Config.from_json(shipped_meta["dir7.config"])
        torch.manual_seed(0)
        ck = {"model": Clip(cfg).state_dict(), "config": cfg.to_json(), "step": 0}
        print("unpack: no CLIP image tower carried; runs/b/clip.pt has an untrained one")
    # the text tower is always the shipped model's frozen text encoder, bit for bit
    model = {k: v.float() for k, v in ck["model"].items() if not k.startswith("text.")}
    model.update({k: v.float() for k, v in shipped.items() if k.startswith("text.")})
    ck["model"] = model
    torch.save(ck, "runs/b/clip.pt")
    sd, meta = read_safetensors(init)
    # the run reads runs/b/clip.pt's text tower (the tree's) and its export ships that one:
    # an init with another encoder would lose it without a word
    if other_text_encoder(sd, shipped):
        sys.exit(f"unpack: {init} has a text encoder other than {SHIPPED}'s; a run that goes on "
                 "with it needs it in the tree's model file for the call (tools/with_text_encoder.py)")
    sd, meta = with_tree_text(sd, meta, shipped, shipped_meta)
    write_safetensors("runs/init.safetensors", {k: v.half() for k, v in sd.items()}, meta)
    print(f"unpacked: {len(model)} CLIP tensors, init from {init} ({len(sd)} tensors)")


def with_tree_text(sd, meta, shipped, shipped_meta):
    """sd and meta as a whole model file: a U-Net kept alone gets the tree's text encoder,
    and the tree's config where it carries none"""
    if not any(k.startswith("text.") for k in sd):
        sd = {**sd, **{k: v for k, v in shipped.items() if k.startswith("text.")}}
        meta = meta if "dir7.config" in meta else shipped_meta
    return sd, meta


def whole(args):
    """--init as a whole F16 model file at --out (prepare_chunk.sh puts it in place of the
    tree's model file for a chunk call)"""
    if not args.out:
        sys.exit("whole: --out FILE is needed")
    shipped, shipped_meta = read_safetensors(SHIPPED)
    sd, meta = with_tree_text(*read_safetensors(args.init), shipped, shipped_meta)
    write_safetensors(args.out, {k: v.half() for k, v in sd.items()}, meta)
    print(f"whole: {args.init} -> {args.out} ({len(sd)} tensors, {os.path.getsize(args.out):,} bytes)")


def gunzip(src, dst):
    with gzip.open(src) as fi, open(dst, "wb") as fo:
        shutil.copyfileobj(fi, fo)


def evalset(args):
    images, meta = load_dataset("cache/dataset")
    held = [i for i, m in enumerate(meta) if m["held_out"]]
    os.makedirs(CARRY, exist_ok=True)
    np.savez_compressed(os.path.join(CARRY, "evalset.npz"), images=np.ascontiguousarray(images[held]))
    with gzip.open(os.path.join(CARRY, "evalset-meta.json.gz"), "wt", encoding="utf-8") as f:
        json.dump([meta[i] for i in held], f, ensure_ascii=False)
    print(f"evalset: {len(held)} held-out images of {len(meta)}")
    # and the training emoji that tools/probe_fit.py draws (PROBE of them, or
    # --probe-images), for unpack-probe
    n = args.probe_images or PROBE
    pick = probe_indices(meta, n, "train", "emoji")
    np.savez_compressed(os.path.join(CARRY, "probe.npz"), index=np.array(pick), images=images[pick])
    print(f"evalset: {len(pick)} probe images (probe_fit --images {len(pick)})")


def unpack_eval(args):
    dest = getattr(args, "dest", None) or "cache/dataset"
    os.makedirs(dest, exist_ok=True)
    np.save(os.path.join(dest, "images.npy"), np.load(os.path.join(CARRY, "evalset.npz"))["images"])
    gunzip(os.path.join(CARRY, "evalset-meta.json.gz"), os.path.join(dest, "meta.json"))


def whole_meta(dest):
    """dest/meta.json from the carried meta.json.gz (the whole data set's), and its entries"""
    os.makedirs(dest, exist_ok=True)
    gunzip(os.path.join(CARRY, "meta.json.gz"), os.path.join(dest, "meta.json"))
    with open(os.path.join(dest, "meta.json"), encoding="utf-8") as f:
        return json.load(f)


def write_stand_in(dest, meta, index, rows):
    """dest/images.npy with rows at index and blank images elsewhere, and the list of the
    rows filled (dir7.dataset.require_filled and blank_rows read it)"""
    images = np.zeros((len(meta),) + rows.shape[1:], np.uint8)
    images[index] = rows
    np.save(os.path.join(dest, "images.npy"), images)
    with open(os.path.join(dest, STAND_IN), "w") as f:
        json.dump({"filled": list(index)}, f)


def unpack_probe(args):
    """dest/meta.json and a stand-in dest/images.npy with only probe.npz's rows filled
    in: all that tools/probe_fit.py --images PROBE reads (the other rows are blank, so
    never train on it)"""
    dest = getattr(args, "dest", None) or "runs/probe-data"
    meta = whole_meta(dest)
    probe = np.load(os.path.join(CARRY, "probe.npz"))
    if probe["index"].tolist() != probe_indices(meta, len(probe["index"]), "train", "emoji"):
        sys.exit("unpack-probe: probe.npz was made from another data set than meta.json.gz")
    write_stand_in(dest, meta, probe["index"].tolist(), probe["images"])


def unpack_ship(args):
    """dest/meta.json and a stand-in dest/images.npy with the held-out rows filled from
    evalset.npz: the ship test's prompts, and for the held-out ones their own images
    (paired_eval's drawn measure) on a machine without the data set; the training rows
    stay blank, so --split train gets the judges' measures alone"""
    dest = getattr(args, "dest", None) or "runs/ship-data"
    meta = whole_meta(dest)
    held = [i for i, m in enumerate(meta) if m["held_out"]]
    with gzip.open(os.path.join(CARRY, "evalset-meta.json.gz"), "rt", encoding="utf-8") as f:
        if json.load(f) != [meta[i] for i in held]:
            sys.exit("unpack-ship: evalset.npz was made from another data set than meta.json.gz")
    write_stand_in(dest, meta, held, np.load(os.path.join(CARRY, "evalset.npz"))["images"])


def check_training_set(folder):
    """Stop unless folder holds a data set to train on: as many images as meta.json
    entries, and some of them not held out. unpack-eval's evaluation set (held-out
    images alone) left in cache/dataset on a warm machine would otherwise be trained
    on by a later call that keeps the data set already there."""
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    n = np.load(os.path.join(folder, "images.npy"), mmap_mode="r").shape[0]
    if n != len(meta):
        sys.exit(f"unpack: {folder} has {n} images but {len(meta)} entries in meta.json: "
                 "carry the data set again")
    if not any(not m["held_out"] for m in meta):
        sys.exit(f"unpack: {folder} holds held-out images only (tools.carry unpack-eval's "
                 "evaluation set), nothing to train on: carry the data set")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verb", choices=["pack", "unpack", "evalset", "unpack-eval", "unpack-probe", "unpack-ship",
                                           "whole"])
    ap.add_argument("--model", default=None, help="pack: carry this model file's U-Net as the next init")
    ap.add_argument("--dataset", default=None,
                    help="pack: the data set folder to carry (images.npy, meta.json; e.g. cache/dataset)")
    ap.add_argument("--init", default=SHIPPED,
                    help="unpack, whole: the model file (or U-Net only file) to continue")
    ap.add_argument("--out", default=None, help="whole: the whole model file to write")
    ap.add_argument("--no-data", action="store_true",
                    help="unpack: the CLIP and the init only, no data set (a probe call on probe.npz: "
                    "unpack-probe makes its data)")
    ap.add_argument("--dest", default=None,
                    help="unpack-eval, unpack-probe, unpack-ship: the folder to write to (evaluate.py's, "
                    "probe_fit.py's or paired_eval's --data; unpack-probe's default is runs/probe-data, "
                    "unpack-ship's runs/ship-data)")
    ap.add_argument("--probe-images", type=int, default=PROBE,
                    help="evalset: how many training emoji probe.npz holds (train.py --probe N and "
                    "probe_fit --images N of a light probe call; default %(default)s)")
    args = ap.parse_args()
    {"pack": pack, "unpack": unpack, "evalset": evalset, "unpack-eval": unpack_eval,
     "unpack-probe": unpack_probe, "unpack-ship": unpack_ship, "whole": whole}[args.verb](args)


if __name__ == "__main__":
    main()
