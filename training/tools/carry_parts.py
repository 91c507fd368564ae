"""A file too big to travel in one device call (since phase 24 the tree leaves
under 10 MiB of the 64 MiB a call carries), sent in parts over several calls and
joined there.

    python3 -m tools.carry_parts split FILE --parts N    # here, in training/
    python3 -m tools.carry_parts stage FILE... --room BYTES --out DIR
    python3 -m tools.carry_parts gather                  # there, in each call

split writes ../.carry-init/NAME.part00 ... and NAME.manifest.json (size, sha256,
part count) and prints each part's size: `.carry-init` is carried whole, so
move the parts of later calls out of it before each call. gather, on the
device machine, copies what this call carried into runs/stash/ (kept between calls on a warm
machine) and, once every part of a manifest is there, joins them into
runs/NAME, checks size and sha256, and unpacks NAME.xz to runs/NAME less .xz
(once: a later call's gather leaves a joined file alone).

stage does the splitting for several files at once and deals their parts out
into DIR/1, DIR/2, ..., one folder per call, none over BYTES (the room the tree
leaves a call): before call N, `rm -rf ../.carry-init && cp -r DIR/N ../.carry-init`
(tools/prepare_carry.sh prints the calls).
"""
import argparse
import hashlib
import json
import lzma
import os
import shutil
import sys

OUT = "../.carry-init"
STASH = "runs/stash"
RUNS = "runs"


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def split(path, parts, out=OUT):
    """Cut path into `parts` nearly equal pieces in out/, beside a manifest."""
    size = os.path.getsize(path)
    if parts < 1 or parts > size:
        raise ValueError(f"split: {parts} parts of a {size}-byte file")
    name = os.path.basename(path)
    os.makedirs(out, exist_ok=True)
    step = -(-size // parts)
    written = []
    with open(path, "rb") as f:
        for i in range(parts):
            part = os.path.join(out, f"{name}.part{i:02d}")
            with open(part, "wb") as p:
                p.write(f.read(step))
            written.append(part)
    manifest = {"name": name, "bytes": size, "sha256": sha256_of(path), "parts": parts}
    with open(os.path.join(out, f"{name}.manifest.json"), "w") as f:
        json.dump(manifest, f)
    return manifest, written


def stage(paths, room, out):
    """Split each file in parts that fit `room` bytes beside a manifest, then deal
    the parts, in order, into out/1, out/2, ...: a new folder whenever the next
    part would overfill the current one. Returns the folders' contents."""
    manifest_room = 4096
    if room <= manifest_room:
        raise ValueError(f"stage: {room} bytes of room leave nothing for the parts")
    calls, used = [[]], [0]
    tmp = os.path.join(out, "parts")
    for path in paths:
        size = os.path.getsize(path)
        parts = -(-size // (room - manifest_room))
        _, written = split(path, parts, tmp)
        name = os.path.basename(path)
        for i, part in enumerate(written):
            files = [part] + ([os.path.join(tmp, f"{name}.manifest.json")] if i == 0 else [])
            need = sum(os.path.getsize(f) for f in files)
            if used[-1] + need > room:
                calls.append([])
                used.append(0)
            calls[-1] += files
            used[-1] += need
    for n, files in enumerate(calls, 1):
        folder = os.path.join(out, str(n))
        os.makedirs(folder, exist_ok=True)
        for f in files:
            shutil.move(f, os.path.join(folder, os.path.basename(f)))
    os.rmdir(tmp)
    return [[os.path.basename(f) for f in files] for files in calls]


def gather(carried=OUT, stash=STASH, runs=RUNS):
    """Move carried parts into the stash; join every manifest whose parts are all
    there. Returns the paths joined in this call."""
    os.makedirs(stash, exist_ok=True)
    if os.path.isdir(carried):
        for f in sorted(os.listdir(carried)):
            shutil.copy(os.path.join(carried, f), os.path.join(stash, f))
    joined = []
    for m in sorted(f for f in os.listdir(stash) if f.endswith(".manifest.json")):
        with open(os.path.join(stash, m)) as f:
            manifest = json.load(f)
        name, n = manifest["name"], manifest["parts"]
        if os.path.basename(name) != name:
            raise ValueError(f"gather: manifest {m} names a path, not a file: {name!r}")
        done = os.path.join(stash, f"{name}.joined")
        if os.path.exists(done):   # joined by an earlier call (and perhaps used since)
            continue
        parts = [os.path.join(stash, f"{name}.part{i:02d}") for i in range(n)]
        missing = [os.path.basename(p) for p in parts if not os.path.exists(p)]
        if missing:
            print(f"gather: {name}: waiting for {', '.join(missing)}")
            continue
        dest = os.path.join(runs, name)
        with open(dest, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out)
        got_bytes, got_sha = os.path.getsize(dest), sha256_of(dest)
        if (got_bytes, got_sha) != (manifest["bytes"], manifest["sha256"]):
            os.remove(dest)
            raise ValueError(f"gather: {name} joined to {got_bytes} bytes, sha256 {got_sha[:12]}, "
                             f"not the manifest's {manifest['bytes']}, {manifest['sha256'][:12]}")
        if name.endswith(".xz"):
            with lzma.open(dest) as src, open(dest[:-3], "wb") as out:
                shutil.copyfileobj(src, out, 1 << 24)
            os.remove(dest)
            dest = dest[:-3]
        open(done, "w").close()
        print(f"gather: {name}: {n} parts joined and checked -> {dest}")
        joined.append(dest)
    return joined


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verb", choices=["split", "stage", "gather"])
    ap.add_argument("file", nargs="*", help="split: the file to cut; stage: the files")
    ap.add_argument("--parts", type=int, default=2)
    ap.add_argument("--room", type=int, help="stage: the bytes one call can carry beside the tree")
    ap.add_argument("--out", default=OUT, help="split, stage: where the parts go")
    args = ap.parse_args()
    if args.verb == "stage":
        if not args.file or not args.room:
            sys.exit("stage: which files, and how much --room?")
        if os.path.exists(args.out):
            sys.exit(f"stage: {args.out} exists; remove it first")
        for n, files in enumerate(stage(args.file, args.room, args.out), 1):
            size = sum(os.path.getsize(os.path.join(args.out, str(n), f)) for f in files)
            print(f"{args.out}/{n}: {size / 2**20:.2f} MiB: {', '.join(files)}")
    elif args.verb == "split":
        if len(args.file) != 1:
            sys.exit("split: which file (one)?")
        args.file = args.file[0]
        manifest, written = split(args.file, args.parts, args.out)
        for p in written:
            print(f"{p}: {os.path.getsize(p) / 2**20:.2f} MiB")
        print(f"manifest: {manifest['bytes']} bytes, sha256 {manifest['sha256'][:12]}, {manifest['parts']} parts")
    else:
        gather()


if __name__ == "__main__":
    main()
