"""A file too big to travel in one device call (the tree leaves about 15.8 MiB of
the 64 MiB a call carries), sent in parts over several calls and joined there.

    python3 -m tools.carry_parts split FILE --parts N    # here, in training/
    python3 -m tools.carry_parts gather                  # there, in each call

split writes ../.carry-init/NAME.part00 ... and NAME.manifest.json (size, sha256,
part count) and prints each part's size: `.carry-init` is carried whole, so
move the parts of later calls out of it before each call. gather, on the
device machine, copies what this call carried into runs/stash/ (kept between calls on a warm
machine) and, once every part of a manifest is there, joins them into
runs/NAME, checks size and sha256, and unpacks NAME.xz to runs/NAME less .xz.
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
        print(f"gather: {name}: {n} parts joined and checked -> {dest}")
        joined.append(dest)
    return joined


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verb", choices=["split", "gather"])
    ap.add_argument("file", nargs="?", help="split: the file to cut")
    ap.add_argument("--parts", type=int, default=2)
    ap.add_argument("--out", default=OUT, help="split: where the parts go")
    args = ap.parse_args()
    if args.verb == "split":
        if not args.file:
            sys.exit("split: which file?")
        manifest, written = split(args.file, args.parts, args.out)
        for p in written:
            print(f"{p}: {os.path.getsize(p) / 2**20:.2f} MiB")
        print(f"manifest: {manifest['bytes']} bytes, sha256 {manifest['sha256'][:12]}, {manifest['parts']} parts")
    else:
        gather()


if __name__ == "__main__":
    main()
