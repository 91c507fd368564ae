"""compile_cache.py: torch.compile's kernels saved by one process fill a fresh
process's empty Inductor cache, so it compiles nothing (what train.py
--compile-cache does from one lent machine to the next). Inductor on the CPU
needs a C++ compiler; each process has its own empty cache directory."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

torch = pytest.importorskip("torch")

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TRAINING)
import compile_cache  # noqa: E402

# a small module compiled forward and backward, as train.py compiles the U-Net
SCRIPT = r"""
import json, sys, torch
from torch._dynamo.utils import counters
import compile_cache
loaded = compile_cache.load(sys.argv[1])
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 1))
x = torch.randn(4, 8)
torch.compile(net)(x).pow(2).mean().backward()
worth = compile_cache.worth_saving(loaded)
saved = compile_cache.save(sys.argv[1]) if sys.argv[2] == "save" else None
print(json.dumps({"loaded": loaded, "saved": saved, "worth": worth, "grad": net[0].weight.grad.sum().item(),
                  "hits": counters["inductor"]["fxgraph_cache_hit"],
                  "misses": counters["inductor"]["fxgraph_cache_miss"]}))
"""


def run(tmp_path, name, *argv, script=SCRIPT):
    """script in a fresh process with an empty Inductor cache of its own; its JSON line"""
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=str(tmp_path / f"inductor-{name}"),
               PYTHONPATH=TRAINING, TORCHINDUCTOR_FX_GRAPH_CACHE="1")
    out = subprocess.run([sys.executable, "-c", script, *map(str, argv)], env=env, cwd=TRAINING,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# Inductor's CPU kernels are C++ built against Python's headers
CAN_COMPILE = shutil.which("g++") is not None and \
    os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))


@pytest.mark.skipif(not CAN_COMPILE, reason="torch.compile on the CPU needs g++ and Python.h (python3-dev)")
def test_a_saved_cache_spares_a_fresh_process_the_compiling(tmp_path):
    blob = tmp_path / "compile-cache.bin"
    first = run(tmp_path, "first", blob, "save")
    assert first["loaded"] is None                     # nothing to load yet
    assert first["misses"] >= 2 and first["hits"] == 0  # forward and backward compiled
    assert first["worth"] and first["saved"] and blob.stat().st_size > 0
    second = run(tmp_path, "second", blob, "keep")     # an empty cache directory of its own
    assert second["loaded"] and second["loaded"].startswith(f"{first['saved'].split()[0]} artifacts")
    assert second["hits"] == first["misses"] and second["misses"] == 0
    assert not second["worth"]   # nothing new to bring back
    assert second["grad"] == first["grad"]             # the same kernels, the same numbers


# two processes, each compiling its own module (as an H200 and then an H100 compiled
# kernels the other lacked), then one that loads both blobs and needs neither
SCRIPT_WIDTHS = r"""
import json, sys, torch
from torch._dynamo.utils import counters
import compile_cache
loaded = compile_cache.load_all([p for p in sys.argv[1].split(",") if p])
for width in map(int, sys.argv[3].split(",")):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, width), torch.nn.GELU(), torch.nn.Linear(width, 1))
    torch.compile(net)(torch.randn(4, 8)).pow(2).mean().backward()
saved = compile_cache.save(sys.argv[2]) if sys.argv[2] != "-" else None
print(json.dumps({"loaded": loaded, "saved": saved, "hits": counters["inductor"]["fxgraph_cache_hit"],
                  "misses": counters["inductor"]["fxgraph_cache_miss"]}))
"""


def run_widths(tmp_path, name, load, save, widths):
    return run(tmp_path, name, ",".join(map(str, load)), save, widths, script=SCRIPT_WIDTHS)


@pytest.mark.skipif(not CAN_COMPILE, reason="torch.compile on the CPU needs g++ and Python.h (python3-dev)")
def test_two_blobs_loaded_together_hold_both_sets_of_kernels(tmp_path):
    a, b = tmp_path / "compile-cache.bin", tmp_path / "compile-cache-h100.bin"
    first = run_widths(tmp_path, "a", [], a, "16")
    second = run_widths(tmp_path, "b", [], b, "24")
    assert first["misses"] >= 2 and second["misses"] >= 2
    one = run_widths(tmp_path, "one", [a], "-", "16,24")   # the first blob alone lacks width 24
    assert one["misses"] == second["misses"]
    both = run_widths(tmp_path, "both", [a, b, tmp_path / "absent.bin"], "-", "16,24")
    assert both["misses"] == 0 and both["hits"] == first["misses"] + second["misses"]
    assert both["loaded"].count("artifacts from") == 2   # the absent third is skipped


def test_a_run_that_compiles_something_new_is_worth_saving(monkeypatch):
    from torch._dynamo.utils import counters
    monkeypatch.setitem(counters["inductor"], "fxgraph_cache_miss", 0)
    assert compile_cache.worth_saving(None)            # nothing carried: always
    assert not compile_cache.worth_saving("3 artifacts from f")
    monkeypatch.setitem(counters["inductor"], "fxgraph_cache_miss", 2)
    assert compile_cache.worth_saving("3 artifacts from f")


def test_no_file_no_cache(tmp_path):
    assert compile_cache.load(None) is None
    assert compile_cache.load_all([]) is None
    assert compile_cache.load_all([None, str(tmp_path / "absent.bin")]) is None
    assert compile_cache.load(str(tmp_path / "absent.bin")) is None
    assert compile_cache.save(None) is None


def test_a_cut_or_foreign_file_is_skipped(tmp_path, capsys):
    bad = tmp_path / "compile-cache.bin"
    bad.write_bytes(b"not a cache" * 10)
    assert compile_cache.load(str(bad)) is None
    assert "compiling from scratch" in capsys.readouterr().out
