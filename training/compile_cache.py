"""torch.compile's kernels carried from one lent machine to the next.

Compiling the U-Net's training step takes minutes on a cold machine (10 of a
22-minute run on the H200, training log, phase 19) and about 35 s once Inductor's
cache holds it. Inductor's portable cache (torch.compiler.save_cache_artifacts)
puts every kernel and graph that this process compiled into one blob: train.py
writes it after the first step and loads it, when the file exists, before the
first step. A blob from another torch, Triton or GPU fills entries that no graph
looks up, and one that cannot be read is reported and skipped: either way the run
compiles as if there were none.
"""
import os

import torch


def count(info):
    """How many artifacts a torch CacheInfo lists (none for None)."""
    return sum(len(v) for v in info.artifacts.values()) if info is not None else 0


def load(path):
    """Fill Inductor's caches from path; a short description for the log, or None."""
    if not path or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        blob = f.read()
    try:
        info = torch.compiler.load_cache_artifacts(blob)
    except Exception as e:   # another torch's format, a cut file: compile as if none
        print(f"compile cache: {path} not loaded ({type(e).__name__}: {e}); compiling from scratch", flush=True)
        return None
    n = count(info)
    if n == 0:   # torch reads a foreign blob as an empty one
        print(f"compile cache: {path} held nothing this torch can read; compiling from scratch", flush=True)
        return None
    return f"{n} artifacts from {path} ({len(blob) / 1e6:.1f} MB)"


def load_all(paths):
    """load each of paths in turn: Inductor's caches take the union (one GPU's kernels
    beside another's, phase 43); a short description of those loaded, or None."""
    got = [d for d in (load(p) for p in paths) if d]
    return "; ".join(got) if got else None


def compiled_graphs():
    """How many graphs this process compiled rather than found in Inductor's cache."""
    from torch._dynamo.utils import counters
    return counters["inductor"]["fxgraph_cache_miss"]


def worth_saving(loaded):
    """Save unless a carried cache (loaded: load's answer) already held every graph: a
    run that compiled anything new (another batch size, a changed model) brings it back."""
    return not loaded or compiled_graphs() > 0


def save(path):
    """Write everything compiled (or loaded) so far to path, atomically; a short
    description for the log, or None when nothing was compiled."""
    if not path:
        return None
    got = torch.compiler.save_cache_artifacts()
    if got is None:
        return None
    blob, info = got
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, path)
    return f"{count(info)} artifacts to {path} ({len(blob) / 1e6:.1f} MB)"
